/**
 * Per-image 4-shot ResAD inference (backbone + matching + constraintor + flow
 * + map) on the three engines, for the cpu preset and for the paper preset's
 * shapes: onnxruntime (the model exported in memory) vs tfjs-wasm vs PyTorch
 * (bench/inference_torch.py, skipped with a message when torch is missing).
 * Times are process CPU time per image (robust to other load on the
 * machine), after two warm-up images; weights are random (timing does not
 * depend on them). Then memory over 1000 onnxruntime images.
 *
 * ```sh
 * npx tsx bench/run.ts inference            # both presets
 * npx tsx bench/run.ts inference --quick    # cpu preset only, fewer images
 * ```
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/index';
import { createBackbone, createResNet, encodeSafetensors, RESNET_ARCHS, resnetWeightKeys } from '../src/backbones/index';
import type { Backbone, SafetensorsTensorInput } from '../src/backbones/index';
import { PAPER_CONFIG, ResADConfig } from '../src/resad/config';
import { availablePreset } from '../src/resad/presets';
import { ResADModel } from '../src/resad/model';
import type { PreprocessedImage } from '../src/data/transforms';
import { onnxRuntime, onnxRuntimeProblem, OnnxResADRunner } from '../src/onnx/index';
import { Rng } from '../src/util/rng';

export const description = 'per-image ResAD inference: onnxruntime vs tfjs-wasm vs PyTorch (cpu and paper preset shapes), memory over 1000 images';

interface Row {
  preset: string;
  engine: string;
  msPerImage: number | null;
  images: number;
  note: string;
}

function cpuMs(fn: () => void | Promise<void>): Promise<number> {
  const t0 = process.cpuUsage();
  return Promise.resolve(fn()).then(() => {
    const d = process.cpuUsage(t0);
    return (d.user + d.system) / 1000;
  });
}

function noiseImages(n: number, size: number, seed: number): PreprocessedImage[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => ({ width: size, height: size, normalized: false, data: Float32Array.from({ length: size * size * 3 }, () => rng.uniform()) }));
}

/** A random WideResNet50-2 checkpoint (layer1..3) in a temp file: the paper's backbone shapes without its 270 MB download. */
function randomWrnCheckpoint(dir: string): string {
  const rng = new Rng(1);
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const { key, shape } of resnetWeightKeys(RESNET_ARCHS.wide_resnet50_2, 3)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length === 4 ? shape[1] * shape[2] * shape[3] : 1;
    const value = (): number =>
      key.endsWith('running_var') || (key.endsWith('.weight') && shape.length === 1) ? 1 : shape.length === 4 ? rng.normal() * Math.sqrt(2 / fanIn) : 0;
    tensors[key] = { dtype: 'F32', shape, data: Float32Array.from({ length: n }, value) };
  }
  const file = path.join(dir, 'wrn50_random.safetensors');
  fs.writeFileSync(file, encodeSafetensors(tensors, { format: 'pt' }));
  return file;
}

function torchPeer(preset: string, images: number, size: number): Row {
  const script = path.join(__dirname, 'inference_torch.py');
  try {
    const out = execFileSync('/usr/bin/python3', [script, '--preset', preset, '--images', String(images), '--size', String(size)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { ms_per_image: number; torch: string };
    return { preset, engine: 'torch', msPerImage: r.ms_per_image, images, note: `PyTorch ${r.torch}, 1 thread` };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; message: string };
    const why = e.status === 3 && e.stdout ? (JSON.parse(e.stdout.trim()) as { skipped: string }).skipped : e.message.split('\n')[0];
    console.log(`  torch: skipped (${why})`);
    return { preset, engine: 'torch', msPerImage: null, images: 0, note: `skipped: ${why}` };
  }
}

async function measurePreset(name: string, config: ResADConfig, backbone: Backbone, images: number): Promise<Row[]> {
  const rows: Row[] = [];
  const model = await ResADModel.create(config, { backbone });
  model.scoreStats = model.flows.map(() => ({ nll: { mean: 1, std: 0.1 }, distance: { mean: 1, std: 0.5 } }));
  const size = config.imageSize;
  const refs = noiseImages(4, size, 2);
  const queries = noiseImages(images + 2, size, 3);
  console.log(`- ${name}: ${backbone.name} ${size} px, ${config.flowBlocks} flow blocks, ${images} images`);

  const pool = model.buildPool(refs);
  for (const q of queries.slice(0, 2)) model.predict([q], pool);
  const tfMs = await cpuMs(() => {
    for (const q of queries.slice(2)) model.predict([q], pool);
  });
  pool.dispose();
  rows.push({ preset: name, engine: 'tfjs-wasm', msPerImage: tfMs / images, images, note: 'resad predict path, 1 thread' });
  console.log(`  tfjs-wasm: ${(tfMs / images).toFixed(1)} ms/image`);

  if (onnxRuntime() !== null) {
    const runner = await OnnxResADRunner.fromModel(model);
    const ortPool = await runner.pool(refs);
    await runner.score(queries.slice(0, 2), ortPool);
    const ortMs = await cpuMs(async () => {
      await runner.score(queries.slice(2), ortPool);
    });
    rows.push({ preset: name, engine: 'onnxruntime', msPerImage: ortMs / images, images, note: 'exported in memory, 1 thread' });
    console.log(`  onnxruntime: ${(ortMs / images).toFixed(1)} ms/image`);
    await runner.release();
  } else {
    rows.push({ preset: name, engine: 'onnxruntime', msPerImage: null, images: 0, note: `skipped: ${onnxRuntimeProblem()}` });
  }
  rows.push(torchPeer(name, images, config.imageSize));
  model.dispose({ keepBackbone: true });
  return rows;
}

/** RSS and tfjs tensors before and after `count` onnxruntime images (cpu preset). */
async function memoryRun(config: ResADConfig, backbone: Backbone, count: number): Promise<{ rssStartMiB: number; rssEndMiB: number; tensorsStart: number; tensorsEnd: number; ms: number }> {
  const model = await ResADModel.create(config, { backbone });
  model.scoreStats = model.flows.map(() => ({ nll: { mean: 1, std: 0.1 }, distance: { mean: 1, std: 0.5 } }));
  const runner = await OnnxResADRunner.fromModel(model);
  const pool = await runner.pool(noiseImages(4, config.imageSize, 2));
  const images = noiseImages(8, config.imageSize, 4);
  await runner.score(images, pool); // warm-up: allocations settle
  const tensorsStart = tf.memory().numTensors;
  const rssStart = process.memoryUsage().rss;
  const t0 = Date.now();
  for (let i = 0; i < count; i += images.length) await runner.score(images.slice(0, Math.min(images.length, count - i)), pool);
  const out = { rssStartMiB: rssStart / 2 ** 20, rssEndMiB: process.memoryUsage().rss / 2 ** 20, tensorsStart, tensorsEnd: tf.memory().numTensors, ms: Date.now() - t0 };
  await runner.release();
  model.dispose({ keepBackbone: true });
  return out;
}

export async function main(args: string[]): Promise<{ failed: number }> {
  const quick = args.includes('--quick');
  await initEngine({ quiet: true });
  const rows: Row[] = [];
  // The cpu preset as this machine runs it (ImageNet MobileNetV2, or the packaged one with the same channels offline).
  const cpu = availablePreset('cpu').config;
  const mobilenet = await createBackbone(cpu.backbone);
  rows.push(...(await measurePreset('cpu', cpu, mobilenet, quick ? 5 : 20)));
  if (!quick) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-bench-wrn-'));
    try {
      const wrn = createResNet('wide_resnet50_2', { weights: randomWrnCheckpoint(dir) });
      rows.push(...(await measurePreset('paper', { ...PAPER_CONFIG, scoring: 'nll+distance' }, wrn, 5)));
      wrn.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log('\n| preset | engine | ms / image (CPU time) | images | note |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.preset} | ${r.engine} | ${r.msPerImage === null ? '-' : r.msPerImage.toFixed(1)} | ${r.images} | ${r.note} |`);

  let failed = 0;
  const get = (preset: string, engine: string): number | null => rows.find((r) => r.preset === preset && r.engine === engine)?.msPerImage ?? null;
  const check = (text: string, ratio: number | null, ok: (r: number) => boolean): void => {
    if (ratio === null) {
      console.log(`SKIP  ${text} (not measured)`);
      return;
    }
    if (!ok(ratio)) failed++;
    console.log(`${ok(ratio) ? 'PASS' : 'FAIL'}  ${text}: measured ${ratio.toFixed(2)}x`);
  };
  for (const preset of quick ? ['cpu'] : ['cpu', 'paper']) {
    const ort = get(preset, 'onnxruntime');
    const tfjs = get(preset, 'tfjs-wasm');
    const torch = get(preset, 'torch');
    console.log('');
    check(`${preset}: onnxruntime >= 3x faster than tfjs-wasm per image`, ort !== null && tfjs !== null ? tfjs / ort : null, (r) => r >= 3);
    check(`${preset}: onnxruntime <= 1.0x torch per image`, ort !== null && torch !== null ? ort / torch : null, (r) => r <= 1);
  }
  if (onnxRuntime() !== null) {
    const m = await memoryRun(cpu, mobilenet, quick ? 200 : 1000);
    const growth = m.rssEndMiB - m.rssStartMiB;
    console.log(`\nmemory over ${quick ? 200 : 1000} onnxruntime images (cpu preset): RSS ${m.rssStartMiB.toFixed(0)} -> ${m.rssEndMiB.toFixed(0)} MiB, tfjs tensors ${m.tensorsStart} -> ${m.tensorsEnd}, ${(m.ms / 1000).toFixed(0)} s`);
    check('memory flat: RSS growth <= 64 MiB and no tfjs tensor left behind', growth <= 64 && m.tensorsEnd === m.tensorsStart ? 1 : 0, (r) => r === 1);
  }
  mobilenet.dispose();
  return { failed };
}

if (require.main === module) {
  main(process.argv.slice(2)).then((r) => {
    process.exitCode = r.failed > 0 ? 1 : 0;
  });
}
