/**
 * Image grids in notebooks: images, anomaly-map overlays (jet over the
 * image, ground truth outlined, via src/report/overlay) and captions, as ONE
 * HTML block of PNG data URIs, so a gallery is a single output that survives
 * nbconvert and works offline.
 *
 * ```ts
 * await showImages([[{ image, caption: 'query' }, { image, map, mask, range, caption: 'score 0.91' }]], { cellWidth: 160 });
 * ```
 */
import type { BinaryMask, RgbImage } from '../data/image';
import type { ScoreMap } from '../scoring/anomaly-map';
import { mapRange, overlayAnomalyMap } from '../report/overlay';
import { pngDataUri } from '../report/demo-report';
import { currentBackend, escapeHtml } from './display';

/** One tile: an image, optionally with a score map blended over it. */
export interface ImageTile {
  image: RgbImage;
  /** Anomaly map of the image's size; drawn with the jet colormap. */
  map?: ScoreMap;
  /** Ground truth, outlined in white over the map. */
  mask?: BinaryMask;
  /** Colour range of the map; default: shared range of all maps in the grid. */
  range?: readonly [number, number];
  /** Map opacity (default 0.5). */
  alpha?: number;
  caption?: string;
}

export interface ShowImagesOptions {
  title?: string;
  /** Displayed width of each tile in CSS px (images are scaled, pixelated). Default 160. */
  cellWidth?: number;
}

/** The grid's HTML (rows of tiles); exposed for reports and tests. */
export async function imagesHtml(grid: ReadonlyArray<ReadonlyArray<ImageTile>>, options: ShowImagesOptions = {}): Promise<string> {
  const maps = grid.flat().map((t) => t.map).filter((m): m is ScoreMap => m !== undefined);
  const shared = maps.length > 0 ? mapRange(maps) : ([0, 1] as [number, number]);
  const width = options.cellWidth ?? 160;
  const rows: string[] = [];
  for (const row of grid) {
    const cells: string[] = [];
    for (const tile of row) {
      const rgb = tile.map ? overlayAnomalyMap(tile.image, tile.map, { range: tile.range ?? shared, mask: tile.mask, alpha: tile.alpha }) : tile.image;
      const uri = await pngDataUri(rgb);
      cells.push(
        `<figure style="margin:4px;display:inline-block;text-align:center;vertical-align:top">` +
          `<img src="${uri}" style="width:${width}px;image-rendering:pixelated">` +
          (tile.caption ? `<figcaption style="font-size:12px;max-width:${width}px;white-space:normal;overflow-wrap:anywhere">${escapeHtml(tile.caption)}</figcaption>` : '') +
          `</figure>`,
      );
    }
    rows.push(`<div class="resad-image-row" style="white-space:nowrap">${cells.join('')}</div>`);
  }
  const title = options.title ? `<div style="font-weight:bold">${escapeHtml(options.title)}</div>` : '';
  return `<div class="resad-images">${title}${rows.join('\n')}</div>`;
}

/** Shows a grid (rows of tiles) as one HTML output; the console gets the captions. */
export async function showImages(grid: ReadonlyArray<ReadonlyArray<ImageTile>>, options: ShowImagesOptions = {}): Promise<void> {
  const backend = currentBackend();
  const text = [options.title ?? '[images]', ...grid.map((r) => r.map((t) => t.caption ?? `${t.image.width}x${t.image.height}`).join(' | '))].join('\n');
  if (backend.name === 'console') {
    backend.show({ 'text/plain': text });
    return;
  }
  backend.show({ 'text/plain': text, 'text/html': await imagesHtml(grid, options) });
}
