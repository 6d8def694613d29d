/**
 * Compares backbones and layer choices by few-shot nearest-neighbour patch
 * matching, the measurement behind DEFAULT_BACKBONE (docs/BACKBONES.md).
 *
 * What it computes, per candidate backbone and layer set:
 * - For each class and reference seed: K = 4 training normals (data/references
 *   drawReferences) form a per-level bank of L2-normalised patch features.
 * - Each test image: per level, the cosine distance of every patch to its
 *   nearest bank patch (1 - max cosine); the level maps are upsampled
 *   (bilinear) to 112x112 (half of 224, to keep pixel AUROC cheap), averaged
 *   over the levels of the set, Gaussian-smoothed (sigma 2 at 112 = 4 at 224,
 *   reflect borders). Image score = max of the map.
 * - Image AUROC and pixel AUROC (masks nearest-downsampled to 112) per class
 *   and seed; the table shows the mean over seeds and classes (and per class).
 * - ms/img: extract() of one 224x224 image (default levels), median of 5 after
 *   a warm-up, wall time and this process's CPU time (the machine is shared).
 *   WideResNet50-2 is timed with random weights when no real ones are set
 *   (timing does not depend on the values); its AUROC needs the real weights
 *   (RESAD_WRN50_WEIGHTS) and is skipped without them.
 * Preprocessing: shorter side to 224 (bicubic), centre crop 224, values in
 * [0,1]; each backbone applies its own normalisation.
 * Test images: at most --max-test per class (default 24), picked evenly from
 * the normal and the anomalous images separately (deterministic). Reference
 * images are never test images (they are training normals).
 *
 * Usage:
 *   npx tsx scripts/compare-backbones.ts [--data /work/shared/datasets] [--seeds 0,1,2]
 *     [--shots 4] [--max-test 24] [--only mobilenetv2,inceptionv3] [--json out.json]
 * With the defaults: ~640 s of CPU (656 s wall on a quiet 2-core machine);
 * nearest-neighbour search at the stride-4 level dominates.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, describeEngine } from '../src/engine/index';
import { createBackbone, encodeSafetensors, resnetWeightKeys, RESNET_ARCHS } from '../src/backbones/index';
import type { Backbone, BackboneOptions } from '../src/backbones/index';
import { readDataset } from '../src/data/readers/index';
import { loadSample, resizeMaskNearest } from '../src/data/transforms';
import { drawReferences } from '../src/data/references';
import type { Sample } from '../src/data/sample';
import { auroc, aurocChunks } from '../src/metrics/index';

const SIZE = 224;
const MAP = 112;
const SIGMA = 2;

interface Candidate {
  label: string;
  backbone: string;
  options?: BackboneOptions;
  /** Union of the layers needed by the sets (extracted once). */
  layers: string[];
  /** Set label -> layers. The first set is the backbone's default. */
  sets: Record<string, string[]>;
}

const CANDIDATES: Candidate[] = [
  {
    label: 'mobilenetv2',
    backbone: 'mobilenetv2',
    layers: ['block_2_add', 'block_3_expand_relu', 'block_5_add', 'block_6_expand_relu', 'block_12_add', 'block_13_expand_relu'],
    sets: {
      'expand_relu 3/6/13 (default)': ['block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'],
      'expand_relu 6/13': ['block_6_expand_relu', 'block_13_expand_relu'],
      'expand_relu 3/6': ['block_3_expand_relu', 'block_6_expand_relu'],
      'add 2/5/12 (24/32/96 ch)': ['block_2_add', 'block_5_add', 'block_12_add'],
    },
  },
  {
    label: 'mobilenetv2, input [-1,1]',
    backbone: 'mobilenetv2',
    options: { input: { scale: 2, mean: [1, 1, 1], std: [1, 1, 1] } },
    // Only the cheap stride-8/16 set: compare with 'expand_relu 6/13' above.
    layers: ['block_6_expand_relu', 'block_13_expand_relu'],
    sets: { 'expand_relu 6/13': ['block_6_expand_relu', 'block_13_expand_relu'] },
  },
  {
    label: 'mobilenetv2_mid',
    backbone: 'mobilenetv2_mid',
    layers: ['expanded_conv_3/expand/Relu6', 'expanded_conv_6/expand/Relu6', 'expanded_conv_13/expand/Relu6'],
    sets: {
      'expand 3/6/13 (default)': ['expanded_conv_3/expand/Relu6', 'expanded_conv_6/expand/Relu6', 'expanded_conv_13/expand/Relu6'],
      'expand 6/13': ['expanded_conv_6/expand/Relu6', 'expanded_conv_13/expand/Relu6'],
    },
  },
  {
    label: 'inceptionv3',
    backbone: 'inceptionv3',
    layers: ['activation_5', 'mixed1', 'mixed2', 'mixed5', 'mixed7'],
    sets: {
      'activation_5/mixed2/mixed7 (default)': ['activation_5', 'mixed2', 'mixed7'],
      'mixed2/mixed7': ['mixed2', 'mixed7'],
      'activation_5/mixed2': ['activation_5', 'mixed2'],
      'mixed1/mixed5': ['mixed1', 'mixed5'],
    },
  },
  {
    label: 'wide_resnet50_2',
    backbone: 'wide_resnet50_2',
    layers: ['layer1', 'layer2', 'layer3'],
    sets: { 'layer1/2/3 (paper)': ['layer1', 'layer2', 'layer3'], 'layer2/3': ['layer2', 'layer3'] },
  },
];

const CLASSES: Array<[string, string]> = [
  ['mvtec_ad', 'bottle'],
  ['mvtec_ad', 'grid'],
  ['hazelnut_toy', 'hazelnut'],
  ['mpdd', 'metal_plate'],
];

interface Args {
  data: string;
  seeds: number[];
  shots: number;
  maxTest: number;
  only: string[] | null;
  json: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { data: path.resolve(__dirname, '..', '..', 'shared', 'datasets'), seeds: [0, 1, 2], shots: 4, maxTest: 24, only: null, json: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--data') a.data = v;
    else if (k === '--seeds') a.seeds = v.split(',').map(Number);
    else if (k === '--shots') a.shots = Number(v);
    else if (k === '--max-test') a.maxTest = Number(v);
    else if (k === '--only') a.only = v.split(',');
    else if (k === '--json') a.json = v;
    else throw new Error(`unknown argument ${k}`);
    i++;
  }
  return a;
}

/** n items spread evenly over arr (all of them when n >= length). */
function pickEvenly<T>(arr: readonly T[], n: number): T[] {
  if (arr.length <= n) return [...arr];
  return Array.from({ length: n }, (_, i) => arr[Math.floor((i * arr.length) / n)]);
}

interface TestItem {
  image: Float32Array;
  label: 0 | 1;
  mask: Uint8Array;
  hasMask: boolean;
}

interface ClassData {
  name: string;
  test: TestItem[];
  /** seed -> reference images (HWC [0,1] at 224). */
  refs: Map<number, Float32Array[]>;
}

async function loadImage(sample: Sample): Promise<{ image: Float32Array; mask: Uint8Array; hasMask: boolean }> {
  const l = await loadSample(sample, { size: SIZE, mode: 'resize-crop', normalize: false });
  const small = resizeMaskNearest(l.mask, MAP, MAP);
  return { image: l.image.data, mask: small.data, hasMask: l.hasMask };
}

async function loadClasses(args: Args): Promise<ClassData[]> {
  const out: ClassData[] = [];
  for (const [dataset, cls] of CLASSES) {
    const root = path.join(args.data, dataset);
    if (!fs.existsSync(path.join(root, cls))) {
      console.error(`skip ${dataset}/${cls}: not found under ${args.data}`);
      continue;
    }
    const samples = readDataset(root, { classes: [cls] });
    const tests = samples.filter((s) => s.split === 'test');
    const normals = pickEvenly(tests.filter((s) => s.label === 0), Math.round((args.maxTest * tests.filter((s) => s.label === 0).length) / tests.length));
    const anomalies = pickEvenly(tests.filter((s) => s.label === 1), args.maxTest - normals.length);
    const test: TestItem[] = [];
    for (const s of [...normals, ...anomalies]) {
      const l = await loadImage(s);
      test.push({ image: l.image, label: s.label, mask: l.mask, hasMask: l.hasMask });
    }
    const refs = new Map<number, Float32Array[]>();
    for (const seed of args.seeds) {
      const set = drawReferences(samples, { shots: args.shots, seed, classes: [cls] });
      const imgs: Float32Array[] = [];
      for (const p of set.classes[cls]) {
        const s = samples.find((x) => path.resolve(x.imagePath) === p);
        if (!s) throw new Error(`reference ${p} not among the samples`);
        imgs.push((await loadImage(s)).image);
      }
      refs.set(seed, imgs);
    }
    console.error(`${dataset}/${cls}: ${test.length} test images (${anomalies.length} anomalous) of ${tests.length}, refs for seeds ${args.seeds.join(',')}`);
    out.push({ name: `${dataset}/${cls}`, test, refs });
  }
  return out;
}

function batchTensor(images: Float32Array[]): tf.Tensor4D {
  const data = new Float32Array(images.length * SIZE * SIZE * 3);
  images.forEach((im, i) => data.set(im, i * SIZE * SIZE * 3));
  return tf.tensor4d(data, [images.length, SIZE, SIZE, 3]);
}

/** Per level: L2-normalised features flattened to [N*h*w, C]. */
function extractNormalized(bb: Backbone, images: Float32Array[]): { feats: tf.Tensor2D[]; hw: Array<[number, number]> } {
  const x = batchTensor(images);
  const outs = bb.extract(x);
  x.dispose();
  const hw = outs.map((o) => [o.shape[1], o.shape[2]] as [number, number]);
  const feats = outs.map((o) =>
    tf.tidy(() => {
      const flat = o.reshape([-1, o.shape[3]]) as tf.Tensor2D;
      return tf.div(flat, tf.add(tf.norm(flat, 'euclidean', 1, true), 1e-8)) as tf.Tensor2D;
    }),
  );
  tf.dispose(outs);
  return { feats, hw };
}

/** 1 - max cosine of each query row against the bank [C, M] (queries in chunks to bound memory). */
function nnDistance(q: tf.Tensor2D, bankT: tf.Tensor2D): Float32Array {
  const n = q.shape[0];
  const out = new Float32Array(n);
  const chunk = 1024;
  for (let s = 0; s < n; s += chunk) {
    const len = Math.min(chunk, n - s);
    const best = tf.tidy(() => tf.max(tf.matMul(q.slice([s, 0], [len, -1]), bankT), 1));
    const v = best.dataSync();
    best.dispose();
    for (let i = 0; i < len; i++) out[s + i] = 1 - v[i];
  }
  return out;
}

function gaussianKernel(sigma: number): Float32Array {
  const r = Math.ceil(4 * sigma);
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  return k.map((v) => v / sum);
}

/** Level maps -> combined, smoothed 112x112 maps [N, 112, 112] and image scores. */
function combine(levelMaps: Array<{ data: Float32Array[]; hw: [number, number] }>): { maps: Float32Array; scores: Float32Array } {
  const n = levelMaps[0].data.length;
  const k = gaussianKernel(SIGMA);
  const r = (k.length - 1) / 2;
  return tf.tidy(() => {
    let sum: tf.Tensor4D | null = null;
    for (const lm of levelMaps) {
      const flat = new Float32Array(n * lm.hw[0] * lm.hw[1]);
      lm.data.forEach((d, i) => flat.set(d, i * d.length));
      const up = tf.image.resizeBilinear(tf.tensor4d(flat, [n, lm.hw[0], lm.hw[1], 1]), [MAP, MAP], false, true);
      sum = sum ? (tf.add(sum, up) as tf.Tensor4D) : up;
    }
    const mean = tf.div(sum as tf.Tensor4D, levelMaps.length) as tf.Tensor4D;
    const padded = tf.mirrorPad(mean, [[0, 0], [r, r], [r, r], [0, 0]], 'reflect');
    const sm = tf.conv2d(tf.conv2d(padded, tf.tensor4d(k, [k.length, 1, 1, 1]), 1, 'valid'), tf.tensor4d(k, [1, k.length, 1, 1]), 1, 'valid');
    const scores = tf.max(sm, [1, 2, 3]);
    return { maps: sm.dataSync() as Float32Array, scores: scores.dataSync() as Float32Array };
  });
}

interface Row {
  candidate: string;
  set: string;
  perClass: Record<string, { image: number[]; pixel: number[] }>;
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function std(v: number[]): number {
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1));
}

async function evaluate(cand: Candidate, classes: ClassData[], args: Args): Promise<Row[]> {
  const bb = await createBackbone(cand.backbone, { ...cand.options, layers: cand.layers });
  const rows: Row[] = Object.keys(cand.sets).map((set) => ({ candidate: cand.label, set, perClass: {} }));
  try {
    for (const cls of classes) {
      const t0 = Date.now();
      // banks[seed][level] = [C, K*h*w]
      const banks = new Map<number, tf.Tensor2D[]>();
      for (const seed of args.seeds) {
        const { feats } = extractNormalized(bb, cls.refs.get(seed) as Float32Array[]);
        banks.set(seed, feats.map((f) => tf.tidy(() => f.transpose() as tf.Tensor2D)));
        tf.dispose(feats);
      }
      // dist[seed][level][image]
      const dist = new Map<number, Float32Array[][]>(args.seeds.map((s) => [s, cand.layers.map(() => [])]));
      let hw: Array<[number, number]> = [];
      for (let i = 0; i < cls.test.length; i += 4) {
        const r = extractNormalized(bb, cls.test.slice(i, i + 4).map((t) => t.image));
        hw = r.hw;
        r.feats.forEach((f, l) => {
          const per = r.hw[l][0] * r.hw[l][1];
          for (let j = 0; j * per < f.shape[0]; j++) {
            const q = f.slice([j * per, 0], [per, -1]);
            for (const seed of args.seeds) (dist.get(seed) as Float32Array[][])[l].push(nnDistance(q, (banks.get(seed) as tf.Tensor2D[])[l]));
            q.dispose();
          }
        });
        tf.dispose(r.feats);
      }
      for (const b of banks.values()) tf.dispose(b);
      const labels = cls.test.map((t) => t.label);
      const withMask = cls.test.map((t, i) => (t.label === 0 || t.hasMask ? i : -1)).filter((i) => i >= 0);
      Object.entries(cand.sets).forEach(([set, layers], si) => {
        const row = rows[si];
        const entry = (row.perClass[cls.name] = { image: [] as number[], pixel: [] as number[] });
        for (const seed of args.seeds) {
          const d = dist.get(seed) as Float32Array[][];
          const { maps, scores } = combine(layers.map((name) => {
            const l = cand.layers.indexOf(name);
            return { data: d[l], hw: hw[l] };
          }));
          entry.image.push(auroc(scores, labels));
          const chunks = withMask.map((i) => ({ scores: maps.subarray(i * MAP * MAP, (i + 1) * MAP * MAP), labels: cls.test[i].mask }));
          entry.pixel.push(aurocChunks(chunks));
        }
      });
      console.error(`  ${cand.label} ${cls.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    bb.dispose();
  }
  return rows;
}

/** Median wall and CPU ms of extract() for one 224 image, default levels. */
async function timeBackbone(name: string, options: BackboneOptions = {}): Promise<{ wall: number; cpu: number }> {
  const bb = await createBackbone(name, options);
  try {
    const x = tf.randomUniform([1, SIZE, SIZE, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    tf.dispose(bb.extract(x).map((t) => t.dataSync()));
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let r = 0; r < 5; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const outs = bb.extract(x);
      for (const o of outs) o.dataSync();
      walls.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpus.push((c.user + c.system) / 1000);
      tf.dispose(outs);
    }
    x.dispose();
    const med = (v: number[]): number => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
    return { wall: med(walls), cpu: med(cpus) };
  } finally {
    bb.dispose();
  }
}

/** A random-weight WRN50-2 checkpoint for timing only (the values do not change the cost). */
function randomWrnCheckpoint(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'resad-wrn-timing-')), 'wrn50_random.safetensors');
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  let seed = 1;
  for (const { key, shape } of resnetWeightKeys(RESNET_ARCHS.wide_resnet50_2, 3)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      data[i] = key.endsWith('running_var') ? 1 : (seed / 2 ** 32 - 0.5) * 0.1;
    }
    tensors[key] = { dtype: 'F32', shape, data };
  }
  fs.writeFileSync(file, encodeSafetensors(tensors));
  return file;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const info = await initEngine({ quiet: true });
  console.error(`engine: ${describeEngine(info)}; cores: ${os.cpus().length}; load avg ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const wrnWeights = process.env.RESAD_WRN50_WEIGHTS && fs.existsSync(process.env.RESAD_WRN50_WEIGHTS) ? process.env.RESAD_WRN50_WEIGHTS : null;
  const cands = CANDIDATES.filter((c) => (args.only ? args.only.includes(c.label) || args.only.includes(c.backbone) : true)).filter((c) => {
    if (c.backbone === 'wide_resnet50_2' && !wrnWeights) {
      console.error('wide_resnet50_2: no RESAD_WRN50_WEIGHTS, AUROC skipped (timed with random weights below)');
      return false;
    }
    return true;
  });

  // Timing first, before the datasets occupy memory.
  const timings: Record<string, { wall: number; cpu: number }> = {};
  for (const name of ['mobilenetv2', 'mobilenetv2_mid', 'inceptionv3']) timings[name] = await timeBackbone(name);
  const timingWeights = wrnWeights ?? randomWrnCheckpoint();
  try {
    timings.wide_resnet50_2 = await timeBackbone('wide_resnet50_2', { weights: timingWeights });
  } finally {
    if (!wrnWeights) fs.rmSync(path.dirname(timingWeights), { recursive: true, force: true });
  }
  console.error('ms/img', JSON.stringify(timings));

  const classes = await loadClasses(args);
  console.error(`data loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const rows: Row[] = [];
  for (const c of cands) rows.push(...(await evaluate(c, classes, args)));

  const names = classes.map((c) => c.name);
  const lines: string[] = [];
  lines.push(`| backbone | levels | image AUROC (mean ± sd over seeds) | pixel AUROC | ${names.map((n) => n.split('/')[1]).join(' | ')} |`);
  lines.push(`|---|---|---|---|${names.map(() => '---|').join('')}`);
  for (const r of rows) {
    const perSeedImage = args.seeds.map((_, s) => mean(names.map((n) => r.perClass[n].image[s])));
    const perSeedPixel = args.seeds.map((_, s) => mean(names.map((n) => r.perClass[n].pixel[s])));
    const cells = names.map((n) => `${(100 * mean(r.perClass[n].image)).toFixed(1)} / ${(100 * mean(r.perClass[n].pixel)).toFixed(1)}`);
    lines.push(
      `| ${r.candidate} | ${r.set} | ${(100 * mean(perSeedImage)).toFixed(1)} ± ${(100 * std(perSeedImage)).toFixed(1)} | ${(100 * mean(perSeedPixel)).toFixed(1)} ± ${(100 * std(perSeedPixel)).toFixed(1)} | ${cells.join(' | ')} |`,
    );
  }
  lines.push('');
  lines.push('| backbone | ms/img wall (224, batch 1) | ms/img CPU |');
  lines.push('|---|---|---|');
  for (const [n, t] of Object.entries(timings)) lines.push(`| ${n} | ${t.wall.toFixed(0)} | ${t.cpu.toFixed(0)} |`);
  console.log(lines.join('\n'));
  const cpu = process.cpuUsage(cpu0);
  console.error(`total ${((Date.now() - t0) / 1000).toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU; per-class cells: image / pixel AUROC (%), mean over seeds`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ args, engine: describeEngine(info), timings, rows }, null, 1));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
