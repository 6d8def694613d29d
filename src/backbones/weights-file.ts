/**
 * One reader for the two weight formats backbones load from: safetensors
 * (what timm publishes, and what `../shared/backbones` holds) and ONNX model
 * files (what the ONNX model zoo publishes: the tensors are the graph's
 * initializers, or `Constant` nodes in older exports).
 *
 * Why both: a user downloads the model zoo's `.onnx` file and should be able
 * to use it as it is, without a conversion step that needs Python.
 *
 * ```ts
 * const w = openWeightsFile('/models/resnet50-v2-7.onnx');
 * w.shape('resnetv24_conv0_weight');   // [64, 3, 7, 7]
 * const values = w.read('resnetv24_conv0_weight');
 * w.close();
 * ```
 */
import * as fs from 'fs';
import { SafetensorsFile } from './safetensors';
import { decodeModel, ONNX_DTYPE } from '../util/onnx-proto';
import type { TensorProtoJson } from '../util/onnx-proto';

export type WeightsFormat = 'safetensors' | 'onnx';

/** Named float tensors of one file (values converted to float32). */
export interface WeightsFile {
  readonly path: string;
  readonly format: WeightsFormat;
  names(): string[];
  has(name: string): boolean;
  /** Shape of a tensor; throws naming the file when it is absent. */
  shape(name: string): number[];
  read(name: string): Float32Array;
  close(): void;
}

/** 'onnx' or 'safetensors' from the first bytes (a safetensors header is JSON after an 8-byte length). */
export function sniffWeightsFormat(file: string): WeightsFormat {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(9);
    const n = fs.readSync(fd, head, 0, 9, 0);
    if (n === 9 && head[8] === 0x7b /* '{' */) return 'safetensors';
    return 'onnx';
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens a safetensors or ONNX file. Errors name the file and what is wrong with it. */
export function openWeightsFile(file: string): WeightsFile {
  if (!fs.existsSync(file)) throw new Error(`weights file ${file} does not exist`);
  if (fs.statSync(file).isDirectory()) throw new Error(`weights file ${file} is a folder; give the .onnx or .safetensors file`);
  return sniffWeightsFormat(file) === 'safetensors' ? safetensorsWeights(file) : onnxWeights(file);
}

function safetensorsWeights(file: string): WeightsFile {
  const st = SafetensorsFile.open(file);
  return {
    path: file,
    format: 'safetensors',
    names: () => st.names(),
    has: (name) => st.has(name),
    shape: (name) => [...st.info(name).shape],
    read: (name) => st.readFloat32(name),
    close: () => st.close(),
  };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function onnxTensorValues(file: string, t: TensorProtoJson): Float32Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.dataType !== ONNX_DTYPE.float) throw new Error(`${file}: tensor '${t.name}' is not float32 (ONNX data type ${t.dataType})`);
  const raw = t.rawData;
  if (raw && raw.byteLength > 0) {
    if (raw.byteLength !== count * 4) throw new Error(`${file}: tensor '${t.name}' holds ${raw.byteLength} bytes for shape [${t.dims.join(', ')}]`);
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    if (LITTLE_ENDIAN_HOST) return new Float32Array(copy.buffer);
    const view = new DataView(copy.buffer);
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
  }
  const floats = t.floatData ?? [];
  if (floats.length !== count) {
    throw new Error(`${file}: tensor '${t.name}' has ${floats.length} values for shape [${t.dims.join(', ')}] (weights stored as external data are not supported; use the single-file model)`);
  }
  return Float32Array.from(floats);
}

function onnxWeights(file: string): WeightsFile {
  let model;
  try {
    model = decodeModel(fs.readFileSync(file));
  } catch (err) {
    throw new Error(`${file} is neither a safetensors file nor a readable ONNX model (${(err as Error).message})`);
  }
  const tensors = new Map<string, TensorProtoJson>();
  for (const t of model.graph?.initializer ?? []) tensors.set(t.name, t);
  // Older exporters keep weights in Constant nodes instead of initializers.
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'Constant') continue;
    const value = node.attribute.find((a) => a.name === 'value')?.t;
    if (value && node.output[0] && !tensors.has(node.output[0])) tensors.set(node.output[0], { ...value, name: node.output[0] });
  }
  if (tensors.size === 0) throw new Error(`${file}: no tensors found (not an ONNX model with weights)`);
  const get = (name: string): TensorProtoJson => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${file} has no tensor '${name}'`);
    return t;
  };
  return {
    path: file,
    format: 'onnx',
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    shape: (name) => [...get(name).dims],
    read: (name) => onnxTensorValues(file, get(name)),
    close: () => tensors.clear(),
  };
}

/** Reads a tensor that must exist with `shape`; errors name the backbone, the file and the tensor. */
export function readTensor(file: WeightsFile, name: string, shape: readonly number[], owner: string): Float32Array {
  if (!file.has(name)) throw new Error(`${owner}: ${file.path} has no tensor '${name}' (weights of another architecture?)`);
  const got = file.shape(name);
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new Error(`${owner}: ${file.path}: tensor '${name}' has shape [${got.join(', ')}], expected [${shape.join(', ')}] (weights of another architecture?)`);
  }
  return file.read(name);
}
