/**
 * Backbones from TensorFlow.js models: Keras-style layers models and
 * converted graph models, from files (`layers:PATH`, `graph:PATH`) or from
 * artifacts already in memory (the packaged nsfwjs models, see packaged.ts).
 *
 * Why: any tfjs model with named intermediate feature maps can serve as a
 * frozen feature extractor. Levels are picked by name (Keras layer names, or
 * graph node names; a unique '/'-suffix of a node name is accepted), or, when
 * no names are given, automatically: the last feature-producing layer at each
 * of the strides 4, 8 and 16. Channels and strides are read off one probe run
 * (zeros, probeSize x probeSize, or the model's fixed input size).
 *
 * Loading details that matter:
 * - Plain @tensorflow/tfjs has no file IO handler in Node, so model.json and
 *   its weight files are read here and handed to `tf.io.fromMemory`.
 * - The input's height/width are made free (null / -1) so any image size
 *   works; a layers model is cut after the last requested layer so heads that
 *   need a fixed size (Flatten, Dense, fixed-size pooling) are not built. If the
 *   cut model still fails to load with a free input size, the original input
 *   shape is kept.
 * - Layers models are set non-trainable; they run in inference mode (BatchNorm
 *   uses moving statistics, dropout off). Graph models have no variables.
 * - The input normalisation is the caller's `input` option (default identity:
 *   the model receives [0,1]); e.g. { scale: 255 } for models trained on bytes.
 * - Models must take and produce NHWC tensors.
 *
 * ```ts
 * const bb = await loadTfjsBackbone('layers', '/models/my_cnn/model.json', { layers: ['relu2', 'relu3', 'relu4'] });
 * const g = await loadTfjsBackbone('graph', '/models/frozen/model.json');   // automatic levels
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { BaseBackbone, probeLevels, resolveNormalization } from './common';
import type { BackboneOptions, FeatureLevelInfo, InputNormalization } from './types';

export type TfjsModelKind = 'layers' | 'graph';

/** model.json as written by tfjs (converter or model.save). Only the fields used here are typed. */
export interface ModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  [key: string]: unknown;
}

/** Strides tried by the automatic level choice. */
export const AUTO_STRIDES: readonly number[] = [4, 8, 16];

/** Reads model.json and its weight files (paths relative to model.json) into memory. Errors name the file. */
export function readModelJsonFiles(modelJsonPath: string): { json: ModelJson; weightData: ArrayBuffer } {
  let json: ModelJson;
  try {
    json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8')) as ModelJson;
  } catch (err) {
    throw new Error(`tfjs model: cannot read ${modelJsonPath}: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new Error(`tfjs model: ${modelJsonPath} is not a tfjs model.json (needs modelTopology and weightsManifest)`);
  }
  const dir = path.dirname(modelJsonPath);
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const file = path.join(dir, p);
      try {
        buffers.push(fs.readFileSync(file));
      } catch (err) {
        throw new Error(`tfjs model: weight file ${file} (listed in ${modelJsonPath}) cannot be read: ${(err as Error).message}`);
      }
    }
  }
  const all = Buffer.concat(buffers);
  return { json, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer };
}

// ---------------------------------------------------------------------------
// Keras topology surgery

interface KerasLayerJson {
  class_name: string;
  name?: string;
  config: { name?: string; batch_input_shape?: Array<number | null>; [k: string]: unknown };
  inbound_nodes?: unknown;
}

interface KerasModelJson {
  class_name: string;
  config: { layers?: KerasLayerJson[]; input_layers?: unknown; output_layers?: unknown; name?: string; [k: string]: unknown } | KerasLayerJson[];
}

/** The Keras model config inside a tfjs modelTopology (tfjs-saved or converted from .h5). */
function kerasModel(topology: unknown, where: string): { holder: Record<string, unknown>; key: string; model: KerasModelJson } {
  const t = topology as Record<string, unknown>;
  if (t && typeof t === 'object' && t.model_config && typeof t.model_config === 'object') {
    return { holder: t, key: 'model_config', model: t.model_config as KerasModelJson };
  }
  if (t && typeof t === 'object' && typeof t.class_name === 'string') return { holder: { root: t }, key: 'root', model: t as unknown as KerasModelJson };
  throw new Error(`${where}: modelTopology is not a Keras model (no class_name / model_config); is it a graph model? use graph:PATH`);
}

function layerList(model: KerasModelJson): KerasLayerJson[] {
  const c = model.config;
  return Array.isArray(c) ? c : c.layers ?? [];
}

function layerName(l: KerasLayerJson): string {
  return (l.config?.name ?? l.name ?? '') as string;
}

/** Names of the layers feeding layer `l` (Keras list format of inbound_nodes). */
function inboundNames(l: KerasLayerJson): string[] | null {
  const nodes = l.inbound_nodes;
  if (!Array.isArray(nodes)) return [];
  const out: string[] = [];
  for (const node of nodes) {
    if (!Array.isArray(node)) return null;
    for (const entry of node) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') return null;
      out.push(entry[0]);
    }
  }
  return out;
}

/**
 * A copy of a Keras topology keeping only what the wanted layers need, with
 * the wanted layers as outputs, and (if `free`) a free input height/width.
 */
export function cutKerasTopology(topology: unknown, wanted: readonly string[], free: boolean, where: string): unknown {
  const copy = JSON.parse(JSON.stringify(topology)) as unknown;
  const { holder, key, model } = kerasModel(copy, where);
  delete (copy as Record<string, unknown>).training_config; // optimizer configs of old Keras need not deserialise
  const layers = layerList(model);
  const byName = new Map(layers.map((l) => [layerName(l), l]));
  for (const w of wanted) if (!byName.has(w)) throw new Error(`${where}: no layer named '${w}'${suggest(w, [...byName.keys()])}`);
  const setFree = (l: KerasLayerJson): void => {
    const s = l.config.batch_input_shape;
    if (free && Array.isArray(s) && s.length === 4) l.config.batch_input_shape = [s[0] ?? null, null, null, s[3]];
  };
  if (model.class_name === 'Sequential') {
    const cfgLayers = layerList(model);
    const last = Math.max(...wanted.map((w) => cfgLayers.findIndex((l) => layerName(l) === w)));
    const kept = cfgLayers.slice(0, last + 1);
    if (kept.length) setFree(kept[0]);
    if (Array.isArray(model.config)) holder[key] = { ...model, config: kept };
    else model.config.layers = kept;
    return key === 'root' ? holder.root : copy;
  }
  // Functional: walk back from the wanted layers.
  const needed = new Set<string>();
  const stack = [...wanted];
  let walkable = true;
  while (stack.length) {
    const n = stack.pop() as string;
    if (needed.has(n)) continue;
    needed.add(n);
    const l = byName.get(n);
    const ins = l ? inboundNames(l) : [];
    if (ins === null) {
      walkable = false; // unknown inbound format: keep every layer
      break;
    }
    stack.push(...ins);
  }
  const cfg = model.config as { layers: KerasLayerJson[]; output_layers?: unknown };
  if (walkable) cfg.layers = layers.filter((l) => needed.has(layerName(l)));
  cfg.output_layers = wanted.map((w) => [w, 0, 0]);
  for (const l of cfg.layers) if (l.class_name === 'InputLayer') setFree(l);
  return key === 'root' ? holder.root : copy;
}

function suggest(name: string, names: readonly string[]): string {
  const lower = name.toLowerCase();
  const tail = lower.split('/').pop() ?? lower;
  const close = names.filter((n) => n.toLowerCase().includes(tail) || tail.includes(n.toLowerCase().split('/').pop() ?? '')).slice(0, 8);
  const shown = close.length ? close : names.slice(0, 8);
  return ` (${close.length ? 'similar' : 'some'} names: ${shown.join(', ')}${names.length > shown.length ? ', ...' : ''})`;
}

const FEATURE_LAYER_CLASSES = new Set([
  'Activation', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax',
  'Add', 'Concatenate', 'Multiply', 'Average', 'Maximum',
  'BatchNormalization', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'MaxPooling2D', 'AveragePooling2D',
]);

const FEATURE_GRAPH_OPS = new Set([
  'Relu', 'Relu6', 'Elu', 'Selu', 'LeakyRelu', 'Sigmoid', 'Swish', 'Add', 'AddV2', 'AddN', 'ConcatV2', 'Concat', 'Mul',
  'Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative', 'FusedBatchNorm', 'FusedBatchNormV3',
  'MaxPool', 'AvgPool',
]);

/** Last candidate at each target stride, from probed [name, channels, height, width] rows in network order. */
export function pickLevelsByStride(
  rows: ReadonlyArray<{ name: string; height: number; width: number }>,
  probeSize: number,
  strides: readonly number[] = AUTO_STRIDES,
): string[] {
  const last = new Map<number, string>();
  for (const r of rows) {
    const s = 2 ** Math.round(Math.log2(probeSize / Math.min(r.height, r.width)));
    last.set(s, r.name);
  }
  return strides.filter((s) => last.has(s)).map((s) => last.get(s) as string);
}

// ---------------------------------------------------------------------------
// Backbone classes

class LayersBackbone extends BaseBackbone {
  constructor(
    readonly name: string,
    readonly levels: readonly FeatureLevelInfo[],
    readonly inputNormalization: InputNormalization,
    readonly model: tf.LayersModel,
  ) {
    super();
  }

  protected forward(x: tf.Tensor4D): tf.Tensor4D[] {
    const out = this.model.apply(x, { training: false });
    return (Array.isArray(out) ? out : [out]) as tf.Tensor4D[];
  }

  protected release(): void {
    this.model.dispose();
  }
}

/** The TensorFlow graph behind a backbone loaded from one: model (weights), level node names and the node list; else null. For exporters. */
export function graphModelOf(backbone: object): { model: tf.GraphModel; nodes: readonly string[]; topology: readonly GraphNodeJson[] } | null {
  return backbone instanceof GraphBackbone ? backbone : null;
}

/** The Keras layers model behind a backbone loaded from one (cut at its levels), else null. For exporters. */
export function layersModelOf(backbone: object): tf.LayersModel | null {
  return backbone instanceof LayersBackbone ? backbone.model : null;
}

class GraphBackbone extends BaseBackbone {
  constructor(
    readonly name: string,
    readonly levels: readonly FeatureLevelInfo[],
    readonly inputNormalization: InputNormalization,
    readonly model: tf.GraphModel,
    readonly nodes: readonly string[],
    readonly topology: readonly GraphNodeJson[],
  ) {
    super();
  }

  protected forward(x: tf.Tensor4D): tf.Tensor4D[] {
    const out = this.model.execute(x, [...this.nodes]);
    return (Array.isArray(out) ? out : [out]) as tf.Tensor4D[];
  }

  protected release(): void {
    this.model.dispose();
  }
}

export interface TfjsBackboneSource {
  /** Backbone name (registry name or 'layers:PATH'). */
  name: string;
  kind: TfjsModelKind;
  json: ModelJson;
  weightData: ArrayBuffer;
  /** Where the model came from, for error messages. */
  origin: string;
}

/** Creates a backbone from an in-memory model.json + weights. */
export async function backboneFromArtifacts(src: TfjsBackboneSource, options: BackboneOptions = {}): Promise<BaseBackbone> {
  const norm = resolveNormalization(options.input, src.name);
  const probe = options.probeSize ?? 224;
  if (!Number.isInteger(probe) || probe < 32) throw new Error(`${src.name}: probeSize must be an integer >= 32, got ${probe}`);
  return src.kind === 'layers' ? layersBackbone(src, options, norm, probe) : graphBackbone(src, options, norm, probe);
}

function weightSpecs(json: ModelJson): tf.io.WeightsManifestEntry[] {
  return json.weightsManifest.flatMap((g) => g.weights);
}

async function loadLayers(src: TfjsBackboneSource, topology: unknown): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topology as object, weightSpecs: weightSpecs(src.json), weightData: src.weightData }), {
    strict: false, // the cut topology leaves the head's weights unused
  });
}

/** Fixed [H, W] of a Keras model's input, or null when free. */
function fixedInputSize(model: tf.LayersModel): [number, number] | null {
  const s = model.inputs[0]?.shape;
  return s && s.length === 4 && typeof s[1] === 'number' && typeof s[2] === 'number' ? [s[1], s[2]] : null;
}

async function layersBackbone(src: TfjsBackboneSource, options: BackboneOptions, norm: InputNormalization, probe: number): Promise<BaseBackbone> {
  const where = `${src.name} (${src.origin})`;
  let wanted = options.layers ? [...options.layers] : null;
  if (!wanted) {
    // Automatic choice: probe every feature layer of the whole model at its own input size.
    const full = await loadLayers(src, src.json.modelTopology).catch((err: Error) => {
      throw new Error(`${where}: cannot load the layers model: ${err.message}`);
    });
    try {
      const fixed = fixedInputSize(full);
      const cands = full.layers.filter((l) => {
        if (!FEATURE_LAYER_CLASSES.has(l.getClassName())) return false;
        try {
          return (l.output as tf.SymbolicTensor).shape?.length === 4;
        } catch {
          return false; // a shared layer (several outputs) cannot be a single level
        }
      });
      const sub = tf.model({ inputs: full.inputs, outputs: cands.map((l) => l.output as tf.SymbolicTensor) });
      const [h, w] = fixed ?? [probe, probe];
      const outs = tf.tidy(() => {
        const r = sub.predict(tf.zeros([1, h, w, 3]));
        return Array.isArray(r) ? r : [r];
      });
      const rows = cands.map((l, i) => ({ name: l.name, height: outs[i].shape[1] as number, width: outs[i].shape[2] as number }));
      tf.dispose(outs);
      wanted = pickLevelsByStride(rows, Math.min(h, w));
    } finally {
      full.dispose();
    }
    if (wanted.length === 0) throw new Error(`${where}: found no 4-D feature layer to use as a level; pass layer names`);
  }
  if (wanted.length === 0) throw new Error(`${where}: the list of layers is empty`);
  let model: tf.LayersModel;
  try {
    model = await loadLayers(src, cutKerasTopology(src.json.modelTopology, wanted, true, where));
  } catch (errFree) {
    if ((errFree as Error).message.startsWith(where)) throw errFree;
    try {
      model = await loadLayers(src, cutKerasTopology(src.json.modelTopology, wanted, false, where));
    } catch (err) {
      throw new Error(`${where}: cannot load the layers model with outputs ${wanted.join(', ')}: ${(err as Error).message}`);
    }
  }
  model.trainable = false;
  const fixed = fixedInputSize(model);
  const [ph, pw] = fixed ?? [probe, probe];
  try {
    const levels = probeLevels(where, wanted, (x) => {
      const r = model.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      return Array.isArray(r) ? r : [r];
    }, ph, pw);
    return new LayersBackbone(src.name, Object.freeze(levels.map((l) => Object.freeze(l))), norm, model);
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** A node of a converted TensorFlow graph (model.json `modelTopology.node`). */
export interface GraphNodeJson {
  name: string;
  op: string;
  input?: string[];
  attr?: { shape?: { shape?: { dim?: Array<{ size?: string | number }> } }; [key: string]: unknown };
}

function graphNodes(json: ModelJson, where: string): GraphNodeJson[] {
  const nodes = (json.modelTopology as { node?: GraphNodeJson[] })?.node;
  if (!Array.isArray(nodes)) throw new Error(`${where}: modelTopology has no 'node' list; is it a layers model? use layers:PATH`);
  return nodes;
}

/** Exact node name, or the unique node whose name ends with '/' + name. */
function resolveNode(name: string, nodes: readonly GraphNodeJson[], where: string): string {
  const bare = name.replace(/:0$/, '');
  if (nodes.some((n) => n.name === bare)) return bare;
  const tails = nodes.filter((n) => n.name.endsWith('/' + bare));
  if (tails.length === 1) return tails[0].name;
  const names = nodes.filter((n) => n.op !== 'Const').map((n) => n.name);
  if (tails.length > 1) throw new Error(`${where}: node name '${name}' is ambiguous: ${tails.slice(0, 5).map((n) => n.name).join(', ')}`);
  throw new Error(`${where}: no graph node named '${name}'${suggest(bare, names)}`);
}

async function graphBackbone(src: TfjsBackboneSource, options: BackboneOptions, norm: InputNormalization, probe: number): Promise<BaseBackbone> {
  const where = `${src.name} (${src.origin})`;
  const json = JSON.parse(JSON.stringify(src.json)) as ModelJson;
  const nodes = graphNodes(json, where);
  const inputs = nodes.filter((n) => n.op === 'Placeholder');
  if (inputs.length !== 1) throw new Error(`${where}: expected one input (Placeholder) node, found ${inputs.length}`);
  // Free height/width: the converter records the export size, which execute() would enforce.
  const dims = inputs[0].attr?.shape?.shape?.dim;
  if (Array.isArray(dims) && dims.length === 4) {
    dims[1] = { size: '-1' };
    dims[2] = { size: '-1' };
  }
  let requested = options.layers ? options.layers.map((n) => resolveNode(n, nodes, where)) : null;
  let model: tf.GraphModel;
  try {
    model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: weightSpecs(json), weightData: src.weightData }));
  } catch (err) {
    throw new Error(`${where}: cannot load the graph model: ${(err as Error).message}`);
  }
  try {
    if (!requested) {
      const cands = nodes.filter((n) => FEATURE_GRAPH_OPS.has(n.op)).map((n) => n.name);
      const outs = tf.tidy(() => {
        const r = model.execute(tf.zeros([1, probe, probe, 3]), cands);
        return Array.isArray(r) ? r : [r];
      });
      const rows = cands.map((name, i) => ({ name, rank: outs[i].rank, height: outs[i].shape[1] as number, width: outs[i].shape[2] as number }));
      tf.dispose(outs);
      requested = pickLevelsByStride(rows.filter((r) => r.rank === 4), probe);
      if (requested.length === 0) throw new Error(`${where}: found no 4-D feature node to use as a level; pass node names`);
    }
    const names = options.layers ? [...options.layers] : requested;
    const nodeNames = requested;
    const levels = probeLevels(where, names, (x) => {
      const r = model.execute(x, [...nodeNames]);
      return Array.isArray(r) ? r : [r];
    }, probe, probe);
    return new GraphBackbone(src.name, Object.freeze(levels.map((l) => Object.freeze(l))), norm, model, nodeNames, nodes);
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Loads `layers:PATH` / `graph:PATH` models from disk. */
export async function loadTfjsBackbone(kind: TfjsModelKind, modelJsonPath: string, options: BackboneOptions = {}, name = `${kind}:${modelJsonPath}`): Promise<BaseBackbone> {
  const { json, weightData } = readModelJsonFiles(modelJsonPath);
  return backboneFromArtifacts({ name, kind, json, weightData, origin: modelJsonPath }, options);
}
