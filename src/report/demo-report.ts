/**
 * A small self-contained HTML page for one evaluation: the per-class table
 * with the mean and a gallery of anomaly-map overlays (PNG data URIs, so the
 * page works offline and can be mailed around).
 */
import sharp from 'sharp';
import type { EvaluationResult } from '../evaluation/index';
import { METRIC_KEYS } from '../metrics/index';
import { mapRange, overlayAnomalyMap } from './overlay';
import type { RgbImage } from '../data/image';
import { writeFileAtomic } from '../util/atomic-write';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

export async function pngDataUri(image: RgbImage): Promise<string> {
  const bytes = Buffer.alloc(image.width * image.height * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(255 * Math.max(0, Math.min(1, image.data[i])));
  const png = await sharp(bytes, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

export interface ReportText {
  title: string;
  /** Lines shown under the title (what was run). */
  description: string[];
}

export function resultsTableHtml(result: Pick<EvaluationResult, 'perClass' | 'mean'>): string {
  const fmt = (v: number | undefined): string => (v === undefined ? '-' : (100 * v).toFixed(1));
  const head = `<tr><th>class</th>${METRIC_KEYS.map((k) => `<th>${k}</th>`).join('')}</tr>`;
  const rows = result.perClass.map((r) => `<tr><td>${escapeHtml(r.class)}</td>${METRIC_KEYS.map((k) => `<td>${fmt(r[k])}</td>`).join('')}</tr>`);
  const mean = `<tr class="mean"><td>mean</td>${METRIC_KEYS.map((k) => `<td>${fmt(result.mean[k])}</td>`).join('')}</tr>`;
  return `<table>${head}${rows.join('')}${mean}</table>`;
}

export async function writeEvaluationReport(file: string, result: EvaluationResult, text: ReportText): Promise<void> {
  const galleries: string[] = [];
  for (const [cls, examples] of Object.entries(result.examples)) {
    if (examples.length === 0) continue;
    const range = mapRange(examples.map((e) => e.map));
    const cells: string[] = [];
    for (const e of examples) {
      const overlay = overlayAnomalyMap(e.image, e.map, { range, mask: e.mask });
      const name = e.path.split(/[\\/]/).slice(-2).join('/');
      cells.push(
        `<figure><img src="${await pngDataUri(e.image)}"><img src="${await pngDataUri(overlay)}">` +
          `<figcaption>${escapeHtml(name)} — ${e.label ? 'anomalous' : 'normal'}, score ${e.score.toFixed(3)}</figcaption></figure>`,
      );
    }
    galleries.push(`<h3>${escapeHtml(cls)}</h3><div class="gallery">${cells.join('')}</div>`);
  }
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(text.title)}</title><style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}tr.mean{font-weight:bold}.gallery{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}figure img{width:160px;height:160px;image-rendering:pixelated;margin-right:2px}figcaption{font-size:12px;max-width:330px}
</style></head><body><h1>${escapeHtml(text.title)}</h1>${text.description.map((d) => `<p>${escapeHtml(d)}</p>`).join('')}
<h2>Results (%)</h2>${resultsTableHtml(result)}<h2>Anomaly maps</h2><p>Left: input; right: anomaly map (jet, shared scale per class) with the ground truth outlined in white.</p>${galleries.join('')}
</body></html>`;
  await writeFileAtomic(file, html);
}
