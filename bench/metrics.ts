/**
 * Timing of the pixel-level metrics on a benchmark-sized class: 100 anomaly
 * maps of 224x224 = 5,017,600 pixels (float32 scores, ~half the images with
 * random elliptical defects), the size one MVTec class produces.
 *
 * Why: pixel AUROC/AP/AUPRO run once per class per evaluation; they must stay
 * around a second each so evaluation is not dominated by metrics.
 *
 * ```ts
 * import { run } from './metrics';
 * await run(); // prints one line per metric with its time
 * ```
 * Imported by the bench dispatcher (bench/run.ts), or run directly:
 * `npx tsx bench/metrics.ts`.
 * Reference: none (timing only; correctness is in test/metrics).
 */
import { aupro, auroc, averagePrecision, computeMetrics, f1MaxFromSorted, SortedScores } from '../src/metrics/index';
import { aurocFromSorted } from '../src/metrics/auroc';
import { averagePrecisionFromSorted } from '../src/metrics/average-precision';
import { Rng } from '../src/util/rng';

interface Synthetic {
  maps: { width: number; height: number; data: Float32Array }[];
  masks: { width: number; height: number; data: Uint8Array }[];
}

function synthesize(nImages: number, size: number, seed: number): Synthetic {
  const rng = new Rng(seed);
  const maps: Synthetic['maps'] = [];
  const masks: Synthetic['masks'] = [];
  for (let m = 0; m < nImages; m++) {
    const mask = new Uint8Array(size * size);
    if (m % 2 === 0) {
      const blobs = 1 + rng.int(3);
      for (let b = 0; b < blobs; b++) {
        const cy = rng.range(0, size);
        const cx = rng.range(0, size);
        const ry = rng.range(2, size / 8);
        const rx = rng.range(2, size / 8);
        for (let y = Math.max(0, Math.floor(cy - ry)); y < Math.min(size, Math.ceil(cy + ry)); y++) {
          for (let x = Math.max(0, Math.floor(cx - rx)); x < Math.min(size, Math.ceil(cx + rx)); x++) {
            if (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1) mask[y * size + x] = 1;
          }
        }
      }
    }
    const data = new Float32Array(size * size);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() + (mask[i] === 1 ? 1.5 : 0);
    maps.push({ width: size, height: size, data });
    masks.push({ width: size, height: size, data: mask });
  }
  return { maps, masks };
}

function time<T>(label: string, f: () => T): T {
  const t0 = process.hrtime.bigint();
  const v = f();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const shown = typeof v === 'number' ? v.toFixed(6) : '';
  console.log(`  ${label.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms  ${shown}`);
  return v;
}

export const description = "pixel AUROC / AP / AUPRO on 5M pixels (one MVTec-sized class)";

export async function run(): Promise<void> {
  const nImages = 100;
  const size = 224;
  const { maps, masks } = synthesize(nImages, size, 2024);
  const n = nImages * size * size;
  const flatScores = new Float32Array(n);
  const flatLabels = new Uint8Array(n);
  maps.forEach((m, i) => flatScores.set(m.data, i * size * size));
  masks.forEach((m, i) => flatLabels.set(m.data, i * size * size));
  let anomalous = 0;
  for (let i = 0; i < n; i++) anomalous += flatLabels[i];
  console.log(`metrics bench: ${nImages} maps ${size}x${size} = ${n} pixels, ${anomalous} anomalous`);
  time('pixel AUROC (validate + sort + sweep)', () => auroc(flatScores, flatLabels));
  time('pixel AP (validate + sort + sweep)', () => averagePrecision(flatScores, flatLabels));
  const chunks = maps.map((m, i) => ({ scores: m.data, labels: masks[i].data }));
  const sorted = time('shared sort (SortedScores.fromChunks)', () => SortedScores.fromChunks(chunks));
  time('  AUROC sweep on the shared sort', () => aurocFromSorted(sorted));
  time('  AP sweep on the shared sort', () => averagePrecisionFromSorted(sorted));
  time('  F1-max sweep on the shared sort', () => f1MaxFromSorted(sorted).f1);
  time('pixel AUPRO@0.3 (components + sort + sweep)', () => aupro(maps, masks));
  time('computeMetrics (image + all pixel metrics)', () => {
    const imageScores = maps.map((m) => m.data.reduce((a, b) => Math.max(a, b), -Infinity));
    const imageLabels = masks.map((m) => (m.data.includes(1) ? 1 : 0));
    return computeMetrics({ imageScores, imageLabels, pixelMaps: maps, pixelMasks: masks }).pixelAUPRO;
  });
}

if (require.main === module) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
