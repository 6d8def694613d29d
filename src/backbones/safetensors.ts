/**
 * A small reader (and writer) for the safetensors format, enough to load
 * PyTorch / timm checkpoints of convolutional backbones into tfjs.
 *
 * Why our own: the format is tiny (8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?}`,
 * then one raw little-endian byte buffer) and the npm packages for it are
 * browser/ESM oriented. The reader reads the header once and then only the
 * byte ranges of the tensors asked for, so a 270 MB checkpoint of which we use
 * a third is never read whole. F32, F16 and BF16 (and F64) are converted to
 * Float32Array; integer tensors (e.g. BatchNorm's `num_batches_tracked`) are
 * listed but cannot be read as floats.
 *
 * Errors always name the file, and the tensor when there is one.
 *
 * ```ts
 * import { SafetensorsFile, encodeSafetensors } from './backbones/safetensors';
 * const st = SafetensorsFile.open('/models/wrn50.safetensors');
 * console.log(st.names().length, st.info('conv1.weight'));   // { dtype: 'F32', shape: [64,3,7,7], ... }
 * const w = st.readFloat32('conv1.weight');                    // Float32Array, PyTorch (OIHW) order
 * st.close();
 * fs.writeFileSync('x.safetensors', encodeSafetensors({ a: { dtype: 'F16', shape: [2], data: [1, 2] } }));
 * ```
 */
import * as fs from 'fs';

/** Element types of the format (the ones we know the width of). */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16'];

/** One tensor's entry in the header. Offsets are relative to the start of the data buffer. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** The header's JSON can hold at most this many bytes (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

/** An open safetensors file: header parsed, tensors read on demand. Call close() when done. */
export class SafetensorsFile {
  /** Absolute byte offset of the data buffer in the file. */
  private readonly dataStart: number;
  private readonly entries: Map<string, SafetensorsTensorInfo>;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    dataStart: number,
    entries: Map<string, SafetensorsTensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.fd = fd;
    this.dataStart = dataStart;
    this.entries = entries;
  }

  /** Opens and validates the header (not the data). Throws an Error naming the file on any problem. */
  static open(file: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw new Error(`safetensors: cannot open ${file}: ${(err as Error).message}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      const parsed = parseHeader(file, size, (pos, len) => readBytes(fd, file, pos, len));
      return new SafetensorsFile(file, fd, parsed.dataStart, parsed.entries, parsed.metadata);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** Tensor names in header order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Header entry of one tensor; throws naming the file and tensor when absent. */
  info(name: string): SafetensorsTensorInfo {
    const e = this.entries.get(name);
    if (!e) throw new Error(`safetensors: ${this.path} has no tensor '${name}'`);
    return e;
  }

  /** The tensor's values converted to float32, in the stored (row-major) order. */
  readFloat32(name: string): Float32Array {
    const e = this.info(name);
    if (!FLOAT_DTYPES.includes(e.dtype)) {
      throw new Error(`safetensors: ${this.path}: tensor '${name}' has dtype ${e.dtype}, not a float type (F32/F16/BF16/F64)`);
    }
    if (this.fd === null) throw new Error(`safetensors: ${this.path} is closed`);
    const bytes = readBytes(this.fd, this.path, this.dataStart + e.begin, e.end - e.begin);
    return toFloat32(bytes, e.dtype);
  }

  close(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}

/** Parses a whole safetensors image held in memory (same validation as SafetensorsFile.open). */
export function decodeSafetensors(bytes: Uint8Array, name = '<buffer>'): Map<string, { info: SafetensorsTensorInfo; values: Float32Array | null }> {
  const parsed = parseHeader(name, bytes.byteLength, (pos, len) => bytes.subarray(pos, pos + len));
  const out = new Map<string, { info: SafetensorsTensorInfo; values: Float32Array | null }>();
  for (const [k, info] of parsed.entries) {
    const raw = bytes.subarray(parsed.dataStart + info.begin, parsed.dataStart + info.end);
    out.set(k, { info, values: FLOAT_DTYPES.includes(info.dtype) ? toFloat32(raw, info.dtype) : null });
  }
  return out;
}

function readBytes(fd: number, file: string, position: number, length: number): Uint8Array {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new Error(`safetensors: ${file} ended early (wanted bytes ${position}..${position + length})`);
    done += n;
  }
  return buf;
}

interface ParsedHeader {
  dataStart: number;
  entries: Map<string, SafetensorsTensorInfo>;
  metadata: Record<string, string>;
}

function parseHeader(file: string, size: number, read: (pos: number, len: number) => Uint8Array): ParsedHeader {
  const bad = (why: string): Error => new Error(`safetensors: ${file} is not a valid safetensors file: ${why}`);
  if (size < 8) throw bad(`only ${size} bytes (need at least the 8-byte header length)`);
  const lenBytes = read(0, 8);
  const view = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
    throw bad(`header length ${headerLen} does not fit the file size ${size}`);
  }
  const text = Buffer.from(read(8, headerLen)).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(`header is not JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataSize = size - dataStart;
  const entries = new Map<string, SafetensorsTensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value && typeof value === 'object') metadata = value as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!v || typeof v !== 'object') throw bad(`entry '${name}' is not an object`);
    const dtype = v.dtype as SafetensorsDtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw bad(`tensor '${name}' has unsupported dtype ${JSON.stringify(v.dtype)}`);
    const shape = v.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
    const offs = v.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`tensor '${name}' has bad data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end < begin || end - begin !== count * DTYPE_BYTES[dtype]) {
      throw bad(`tensor '${name}' (${dtype} ${JSON.stringify(shape)}) has data_offsets [${begin}, ${end}] of the wrong length`);
    }
    if (end > dataSize) throw bad(`tensor '${name}' ends at byte ${end} of the data but the data has only ${dataSize} bytes (truncated file?)`);
    entries.set(name, { name, dtype, shape: shape as number[], begin, end });
  }
  return { dataStart, entries, metadata };
}

/** IEEE half -> float (exact: every half is representable as float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float -> IEEE half, round to nearest even (used by the writer; tests build F16 tensors with it). */
const SCRATCH_F32 = new Float32Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F32.buffer);

export function floatToHalf(value: number): number {
  SCRATCH_F32[0] = value;
  const u = SCRATCH_U32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is the correct rounding
  return sign | half;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const n = bytes.byteLength / 4;
      if (LITTLE_ENDIAN_HOST) {
        // One copy into a fresh aligned buffer (Buffer#slice would share the pool), no per-element decode.
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        return new Float32Array(copy.buffer, 0, n);
      }
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const n = bytes.byteLength / 8;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const n = bytes.byteLength / 2;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const n = bytes.byteLength / 2;
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    default:
      throw new Error(`safetensors: cannot convert ${dtype} to float32`);
  }
}

/** A tensor to write: values are given as numbers and stored in `dtype`. */
export interface SafetensorsTensorInput {
  dtype: 'F32' | 'F16' | 'BF16';
  shape: readonly number[];
  data: ArrayLike<number>;
}

/**
 * Serialises tensors to safetensors bytes (header keys sorted, data in that
 * order, header padded with spaces to a multiple of 8 as the reference writer
 * does). BF16 is written by rounding to nearest even.
 */
export function encodeSafetensors(tensors: Readonly<Record<string, SafetensorsTensorInput>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`encodeSafetensors: tensor '${name}' has ${t.data.length} values for shape ${JSON.stringify(t.shape)}`);
    const bytes = count * DTYPE_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (const name of names) {
    const t = tensors[name];
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i];
      if (t.dtype === 'F32') {
        view.setFloat32(pos, v, true);
        pos += 4;
      } else if (t.dtype === 'F16') {
        view.setUint16(pos, floatToHalf(v), true);
        pos += 2;
      } else {
        f32[0] = v;
        const u = u32[0];
        const rounded = Number.isNaN(v) ? 0x7fc0 : ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
        view.setUint16(pos, rounded, true);
        pos += 2;
      }
    }
  }
  return out;
}
