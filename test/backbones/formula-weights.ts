/**
 * Deterministic "formula" weights for ResNets, identical to the ones in
 * scripts/gen_wrn_fixture.py (see its docstring for the formula). They let the
 * tests compare resad's tfjs ResNet with torchvision without committing a
 * checkpoint: the weights are written to a temporary safetensors file and
 * loaded through the real loader.
 *
 * ```ts
 * const file = writeFormulaCheckpoint(RESNET_ARCHS.wide_resnet50_2, 3, dir);
 * const wrn = createResNet('wide_resnet50_2', { weights: file });
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import { encodeSafetensors } from '../../src/backbones/safetensors';
import type { SafetensorsTensorInput } from '../../src/backbones/safetensors';
import { resnetWeightKeys } from '../../src/backbones/resnet';
import type { ResNetArch } from '../../src/backbones/resnet';

export function fnv1a32(name: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** u(i) in [0,1) for the tensor whose name hashes to h. */
function formulaU(i: number, h: number): number {
  let x = (Math.imul(i, 0x9e3779b1) + h) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 4294967296; // ^= yields a signed int32
}

export function formulaRange(name: string, shape: readonly number[]): [number, number] {
  if (shape.length === 4) {
    const b = Math.sqrt(6 / (shape[1] * shape[2] * shape[3]));
    return [-b, b];
  }
  if (name.endsWith('running_var')) return [0.5, 2];
  if (name.endsWith('running_mean') || name.endsWith('.bias')) return [-0.2, 0.2];
  if (name.endsWith('.weight')) return [0.5, 1];
  // The ONNX model zoo's names (scripts/gen_imagenet_fixture.py): BN gamma / beta, conv bias.
  if (name.endsWith('_gamma')) return [0.5, 1];
  if (name.endsWith('_beta') || name.endsWith('_bias')) return [-0.2, 0.2];
  throw new Error(`no formula range for ${name}`);
}

export function formulaValues(name: string, count: number, lo: number, hi: number): Float32Array {
  const h = fnv1a32(name);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * formulaU(i, h);
  return out;
}

export function formulaTensor(name: string, shape: readonly number[]): Float32Array {
  const [lo, hi] = formulaRange(name, shape);
  return formulaValues(name, shape.reduce((a, b) => a * b, 1), lo, hi);
}

/** The deterministic NHWC input image in [0,1] of the fixture. */
export function formulaInput(height: number, width: number): Float32Array {
  return formulaValues('input', height * width * 3, 0, 1);
}

/**
 * Writes stem..layer`lastLayer` formula weights as a safetensors file in `dir`
 * (keys optionally prefixed, e.g. 'model.' as some checkpoints do) and returns
 * its path plus the float64 sum of each tensor (to compare with the fixture).
 */
export function writeFormulaCheckpoint(
  arch: ResNetArch,
  lastLayer: number,
  dir: string,
  options: { prefix?: string; dtype?: 'F32' | 'F16' | 'BF16' } = {},
): { file: string; sums: Record<string, number> } {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  const sums: Record<string, number> = {};
  for (const { key, shape } of resnetWeightKeys(arch, lastLayer)) {
    const data = formulaTensor(key, shape);
    let s = 0;
    for (let i = 0; i < data.length; i++) s += data[i];
    sums[key] = s;
    tensors[(options.prefix ?? '') + key] = { dtype: options.dtype ?? 'F32', shape, data };
  }
  const file = path.join(dir, `${arch.name}_formula.safetensors`);
  fs.writeFileSync(file, encodeSafetensors(tensors, { format: 'pt' }));
  return { file, sums };
}

/** Formula tensors for a list of (name, shape), with the float64 sum of each (to compare with a fixture). */
export function formulaTensors(keys: ReadonlyArray<{ name: string; shape: readonly number[] }>): { tensors: Record<string, SafetensorsTensorInput>; sums: Record<string, number> } {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  const sums: Record<string, number> = {};
  for (const { name, shape } of keys) {
    const data = formulaTensor(name, shape);
    let s = 0;
    for (let i = 0; i < data.length; i++) s += data[i];
    sums[name] = s;
    tensors[name] = { dtype: 'F32', shape, data };
  }
  return { tensors, sums };
}

/** One level of a backbone fixture (scripts/gen_*_fixture.py): channel-subsampled values of the full map. */
export interface FixtureLevel {
  name: string;
  fullShape: number[];
  storedShape: number[];
  channelStep: number;
  offset: number;
  count: number;
  maxAbs: number;
  fractionZero: number;
}

export interface BackboneFixture {
  arch?: string;
  inputShape: number[];
  levels: FixtureLevel[];
  weightSums: Record<string, number>;
}

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'backbones');

/** test/fixtures/backbones/BASE.json and BASE.f32. */
export function loadBackboneFixture(base: string): { meta: BackboneFixture; data: Float32Array } {
  const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${base}.json`), 'utf8')) as BackboneFixture;
  const raw = fs.readFileSync(path.join(FIXTURES, `${base}.f32`));
  return { meta, data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
}

/** max |ours - ref| / max |ref| over the stored (channel-subsampled) values of one level. */
export function fixtureLevelError(ours: Float32Array, oursChannels: number, level: FixtureLevel, ref: Float32Array): number {
  const stored = level.storedShape[3];
  let diff = 0;
  let scale = 0;
  for (let p = 0; p < level.count; p++) {
    const pix = Math.floor(p / stored);
    const c = (p % stored) * level.channelStep;
    const r = ref[level.offset + p];
    diff = Math.max(diff, Math.abs(ours[pix * oursChannels + c] - r));
    scale = Math.max(scale, Math.abs(r));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}
