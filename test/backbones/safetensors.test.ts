import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SafetensorsFile, decodeSafetensors, encodeSafetensors, floatToHalf, halfToFloat } from '../../src/backbones/safetensors';

/** Builds a safetensors file by hand (independent of encodeSafetensors). */
function handMade(header: object, data: number[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + json.length);
  return out;
}

function f32Bytes(values: number[]): number[] {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeFloatLE(v, 4 * i));
  return [...b];
}

function u16Bytes(values: number[]): number[] {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeUInt16LE(v, 2 * i));
  return [...b];
}

describe('backbones/safetensors', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-st-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, bytes: Uint8Array): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };

  it('reads hand-made F32, F16 and BF16 tensors (incl. subnormal/max half) and lists an I64 one', () => {
    const data = [
      ...f32Bytes([1.5, -2, 3.25, 0]), // a: F32 [2,2]
      ...u16Bytes([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555]), // b: F16 [5]
      ...u16Bytes([0x3f80, 0x4049, 0xc2f7]), // c: BF16 [3]
      ...[7, 0, 0, 0, 0, 0, 0, 0], // d: I64 [1]
    ];
    const file = write(
      'hand.safetensors',
      handMade(
        {
          __metadata__: { format: 'pt' },
          a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
          b: { dtype: 'F16', shape: [5], data_offsets: [16, 26] },
          c: { dtype: 'BF16', shape: [3], data_offsets: [26, 32] },
          d: { dtype: 'I64', shape: [1], data_offsets: [32, 40] },
        },
        data,
      ),
    );
    const st = SafetensorsFile.open(file);
    try {
      assert.deepEqual(st.names(), ['a', 'b', 'c', 'd']);
      assert.deepEqual(st.metadata, { format: 'pt' });
      assert.deepEqual(st.info('a').shape, [2, 2]);
      assert.deepEqual([...st.readFloat32('a')], [1.5, -2, 3.25, 0]);
      const b = st.readFloat32('b');
      assert.deepEqual([...b.slice(0, 4)], [1, -2, 65504, 2 ** -24]);
      assert.ok(Math.abs(b[4] - 1 / 3) < 1e-3, `half 0x3555 ~ 1/3, got ${b[4]}`);
      assert.deepEqual([...st.readFloat32('c')], [1, 3.140625, -123.5]);
      assert.throws(() => st.readFloat32('d'), /hand\.safetensors.*'d' has dtype I64/);
      assert.throws(() => st.readFloat32('zzz'), /hand\.safetensors has no tensor 'zzz'/);
    } finally {
      st.close();
    }
  });

  it('rejects bad files with errors naming the file', () => {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['short.safetensors', new Uint8Array([1, 2, 3]), /short\.safetensors is not a valid safetensors file: only 3 bytes/],
      ['huge-len.safetensors', handMade({}, []).map((v, i) => (i === 0 ? 0xff : v)), /huge-len\.safetensors .*header length/],
      ['notjson.safetensors', (() => {
        const b = Buffer.alloc(8 + 4);
        b.writeBigUInt64LE(4n, 0);
        b.write('{oops', 8);
        return b;
      })(), /notjson\.safetensors .*not JSON/],
      ['dtype.safetensors', handMade({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, [0]), /dtype\.safetensors .*'a' has unsupported dtype "Q4"/],
      ['length.safetensors', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /length\.safetensors .*'a' .*wrong length/],
      ['truncated.safetensors', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, [0, 0, 0, 0]), /truncated\.safetensors .*truncated file/],
    ];
    for (const [name, bytes, re] of cases) {
      const file = write(name, bytes);
      assert.throws(() => SafetensorsFile.open(file), re, name);
    }
    assert.throws(() => SafetensorsFile.open(path.join(dir, 'absent.safetensors')), /cannot open .*absent\.safetensors/);
  });

  it('encodeSafetensors round-trips through the reader (F32 exact, F16/BF16 rounded to nearest)', () => {
    const values = [0, 1, -1.5, 1 / 3, 1e-6, 70000, -3.0517578125e-5];
    const bytes = encodeSafetensors(
      {
        x32: { dtype: 'F32', shape: [7], data: values },
        x16: { dtype: 'F16', shape: [7], data: values },
        xbf: { dtype: 'BF16', shape: [1, 7], data: values },
      },
      { note: 'test' },
    );
    assert.equal(new DataView(bytes.buffer).getUint32(0, true) % 8, 0, 'header padded to 8 bytes');
    const file = write('rt.safetensors', bytes);
    const st = SafetensorsFile.open(file);
    try {
      assert.deepEqual([...st.readFloat32('x32')], [...new Float32Array(values)]);
      const h = st.readFloat32('x16');
      assert.equal(h[5], Infinity, '70000 overflows half');
      assert.ok(Math.abs(h[3] - 1 / 3) <= 2 ** -12, 'half 1/3');
      assert.ok(Math.abs(h[4] - 1e-6) < 2 ** -24, 'half subnormal');
      const bf = st.readFloat32('xbf');
      for (let i = 0; i < values.length; i++) assert.ok(Math.abs(bf[i] - values[i]) <= Math.abs(values[i]) * 2 ** -8, `bf16 ${values[i]} -> ${bf[i]}`);
      assert.deepEqual(st.metadata, { note: 'test' });
    } finally {
      st.close();
    }
    const mem = decodeSafetensors(bytes, 'mem');
    assert.deepEqual([...(mem.get('x32')?.values ?? [])], [...new Float32Array(values)]);
  });

  it('half conversion: every finite half survives float -> half -> float, ties round to even', () => {
    for (let h = 0; h < 0x10000; h++) {
      const f = halfToFloat(h);
      if (Number.isNaN(f)) continue;
      const back = floatToHalf(f);
      // -0 and +0 are distinct halves.
      assert.equal(back, h, `half 0x${h.toString(16)} (${f}) came back as 0x${back.toString(16)}`);
    }
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00, 'tie between 1 and next half rounds to even (1)');
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02, 'tie rounds up to even');
    assert.equal(floatToHalf(65519), 0x7bff);
    assert.equal(floatToHalf(65520), 0x7c00);
  });
});
