/**
 * Radix sort for float32-valued scores: order-preserving uint32 keys sorted by
 * two stable 16-bit counting passes, optionally carrying a uint32 payload.
 *
 * Why: pixel metrics sort millions of float32 scores. The native
 * `Float64Array.prototype.sort` is a comparison sort (~0.7 s for 5M values on
 * an idle core); two counting passes are ~3x faster and, carrying a payload
 * (e.g. a defect-region id), avoid the much slower JS-comparator index sort.
 *
 * ```ts
 * const a = Float64Array.from([0.5, -2, 0.25]);
 * sortFloat32Valued(a); // a = [-2, 0.25, 0.5]
 * const keys = float32Keys(new Float32Array([3, 1])); const ids = Uint32Array.of(7, 8);
 * sortKeys(keys, ids); // ids = [8, 7]; keyToFloat(keys[0]) === 1
 * ```
 *
 * Reference: LSD radix sort with the IEEE-754 sign-flip key (negative values:
 * all bits inverted; positive values: sign bit set), so unsigned key order is
 * numeric order. -0 gets the key of +0 (they are one threshold). Keys of NaN
 * are meaningless: callers validate finiteness first.
 */

const SIGN = 0x80000000;

/** Order-preserving key of float32 bit pattern `bits` (-0 maps to +0). */
function bitsToKey(bits: number): number {
  if (bits === SIGN) return SIGN; // -0 -> key of +0
  return (bits & SIGN) !== 0 ? ~bits >>> 0 : (bits | SIGN) >>> 0;
}

/** Keys of float32 values (a fresh array; the input is not modified). */
export function float32Keys(values: Float32Array): Uint32Array {
  const keys = new Uint32Array(values.length);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < keys.length; i++) keys[i] = bitsToKey(bits[i]);
  return keys;
}

/** Key of one float32 bit pattern, for filling key arrays element by element. */
export function float32BitsToKey(bits: number): number {
  return bitsToKey(bits);
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The float (as a JS number) whose key is `key`. */
export function keyToFloat(key: number): number {
  scratchU32[0] = (key & SIGN) !== 0 ? key & 0x7fffffff : ~key;
  return scratchF32[0];
}

/**
 * Sorts `keys` ascending in place (stable), applying the same permutation to
 * `payload` when given. Two 16-bit passes; a pass whose digit is constant is skipped.
 */
export function sortKeys(keys: Uint32Array, payload?: Uint32Array): void {
  const n = keys.length;
  if (payload !== undefined && payload.length !== n) {
    throw new Error(`sortKeys: payload has ${payload.length} entries, keys ${n}`);
  }
  if (n < 2) return;
  const lo = new Uint32Array(65536);
  const hi = new Uint32Array(65536);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    lo[k & 0xffff]++;
    hi[k >>> 16]++;
  }
  let srcK: Uint32Array = keys;
  let dstK: Uint32Array = new Uint32Array(n);
  let srcP: Uint32Array | undefined = payload;
  let dstP: Uint32Array | undefined = payload === undefined ? undefined : new Uint32Array(n);
  for (let pass = 0; pass < 2; pass++) {
    const count = pass === 0 ? lo : hi;
    const shift = pass === 0 ? 0 : 16;
    // exclusive prefix sums; a digit shared by all keys leaves the order unchanged
    let sum = 0;
    let constant = false;
    for (let b = 0; b < 65536; b++) {
      const c = count[b];
      if (c === n) constant = true;
      count[b] = sum;
      sum += c;
    }
    if (constant) continue;
    if (srcP !== undefined && dstP !== undefined) {
      for (let i = 0; i < n; i++) {
        const k = srcK[i];
        const at = count[(k >>> shift) & 0xffff]++;
        dstK[at] = k;
        dstP[at] = srcP[i];
      }
      const t = srcP;
      srcP = dstP;
      dstP = t;
    } else {
      for (let i = 0; i < n; i++) {
        const k = srcK[i];
        dstK[count[(k >>> shift) & 0xffff]++] = k;
      }
    }
    const t = srcK;
    srcK = dstK;
    dstK = t;
  }
  if (srcK !== keys) {
    keys.set(srcK);
    if (payload !== undefined && srcP !== undefined) payload.set(srcP);
  }
}

/**
 * Sorts ascending in place a Float64Array whose values are all exactly
 * representable as float32 (e.g. copied from a Float32Array) and finite.
 * -0 becomes +0. Other values would be rounded: callers check first.
 */
export function sortFloat32Valued(values: Float64Array): void {
  const f32 = new Float32Array(values); // exact for float32-valued input
  const keys = float32Keys(f32);
  sortKeys(keys);
  const bits = new Uint32Array(f32.buffer);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    bits[i] = (k & SIGN) !== 0 ? k & 0x7fffffff : ~k;
  }
  values.set(f32);
}
