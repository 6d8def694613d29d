/**
 * image-io: every supported encoding decodes to the expected RGB floats, masks
 * union and binarise, writes round-trip atomically, and failures name the file.
 * Inputs are written with sharp into a temp dir (BMPs with hand-made bytes and
 * Pillow-written fixtures from test/fixtures/gen_transforms.py).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import {
  decodeImage,
  imageSize,
  readImage,
  readMask,
  writeGreyPng,
  writeMaskPng,
  writePng,
} from '../../src/data/image-io';
import type { RgbImage } from '../../src/data/image';

const FIX = path.resolve(__dirname, '..', 'fixtures', 'images');

/** Hand-written BMP encoder (independent of the decoder under test). */
function encodeBmp(opts: {
  width: number;
  height: number;
  bpp: 8 | 24 | 32;
  topDown?: boolean;
  /** RGB triples per pixel (row-major, top row first), or palette indices for bpp 8. */
  pixels: number[];
  palette?: number[][];
}): Buffer {
  const { width, height, bpp } = opts;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const paletteBytes = bpp === 8 ? (opts.palette?.length ?? 0) * 4 : 0;
  const offset = 14 + 40 + paletteBytes;
  const buf = Buffer.alloc(offset + stride * height);
  buf.write('BM', 0, 'ascii');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(opts.topDown ? -height : height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bpp, 28);
  buf.writeUInt32LE(0, 30);
  buf.writeUInt32LE(stride * height, 34);
  buf.writeUInt32LE(bpp === 8 ? opts.palette!.length : 0, 46);
  opts.palette?.forEach(([r, g, b], i) => {
    buf[54 + i * 4] = b;
    buf[54 + i * 4 + 1] = g;
    buf[54 + i * 4 + 2] = r;
  });
  for (let y = 0; y < height; y++) {
    const row = offset + (opts.topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (bpp === 8) {
        buf[row + x] = opts.pixels[p];
      } else {
        const s = row + x * (bpp / 8);
        buf[s] = opts.pixels[p * 3 + 2];
        buf[s + 1] = opts.pixels[p * 3 + 1];
        buf[s + 2] = opts.pixels[p * 3];
        if (bpp === 32) buf[s + 3] = 77; // alpha/padding byte: must be ignored
      }
    }
  }
  return buf;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Deterministic 8-bit test pattern with `channels` samples per pixel. */
function pattern8(w: number, h: number, channels: number): Uint8Array {
  const out = new Uint8Array(w * h * channels);
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + 11) % 256;
  return out;
}

describe('data/image-io', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-image-io-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const tmp = (name: string): string => path.join(dir, name);

  describe('readImage', () => {
    const w = 5;
    const h = 3;

    it('reads 8-bit RGB PNG exactly (value / 255, HWC order)', async () => {
      const px = pattern8(w, h, 3);
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(tmp('rgb8.png'));
      const img = await readImage(tmp('rgb8.png'));
      assert.equal(img.width, w);
      assert.equal(img.height, h);
      assert.ok(maxAbsDiff(img.data, Array.from(px, (v) => v / 255)) < 1e-7);
    });

    it('reads 16-bit RGB PNG with full precision (value / 65535)', async () => {
      const px = new Uint16Array(w * h * 3);
      for (let i = 0; i < px.length; i++) px[i] = (i * 4099 + 3) % 65536;
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).toColourspace('rgb16').png().toFile(tmp('rgb16.png'));
      assert.equal((await sharp(tmp('rgb16.png')).metadata()).depth, 'ushort');
      const img = await readImage(tmp('rgb16.png'));
      assert.ok(maxAbsDiff(img.data, Array.from(px, (v) => v / 65535)) < 1e-7);
    });

    it('reads 16-bit grey PNG and replicates it to RGB', async () => {
      const px = new Uint16Array(w * h).map((_, i) => i * 4000 + 1);
      await sharp(px, { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16').png().toFile(tmp('grey16.png'));
      const img = await readImage(tmp('grey16.png'));
      for (let p = 0; p < w * h; p++) {
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(img.data[p * 3 + c] - px[p] / 65535) < 1e-7);
      }
    });

    it('reads grey and grey+alpha PNG: grey replicated, alpha dropped', async () => {
      const grey = pattern8(w, h, 1);
      await sharp(grey, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png().toFile(tmp('grey8.png'));
      const ga = pattern8(w, h, 2);
      await sharp(ga, { raw: { width: w, height: h, channels: 2 } }).toColourspace('b-w').png().toFile(tmp('greya8.png'));
      assert.equal((await sharp(tmp('greya8.png')).metadata()).channels, 2);
      const g = await readImage(tmp('grey8.png'));
      const a = await readImage(tmp('greya8.png'));
      for (let p = 0; p < w * h; p++) {
        for (let c = 0; c < 3; c++) {
          assert.equal(g.data[p * 3 + c], Math.fround(grey[p] / 255));
          assert.equal(a.data[p * 3 + c], Math.fround(ga[p * 2] / 255));
        }
      }
    });

    it('reads RGBA PNG dropping alpha without compositing (even where alpha = 0)', async () => {
      const px = pattern8(w, h, 4);
      px[3] = 0; // fully transparent first pixel keeps its colour
      await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toFile(tmp('rgba8.png'));
      const img = await readImage(tmp('rgba8.png'));
      for (let p = 0; p < w * h; p++) {
        for (let c = 0; c < 3; c++) assert.equal(img.data[p * 3 + c], Math.fround(px[p * 4 + c] / 255));
      }
    });

    it('reads TIFF (lossless) exactly and JPEG within compression error', async () => {
      const px = pattern8(w, h, 3);
      // sharp's TIFF default is JPEG compression: ask for lossless LZW.
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).tiff({ compression: 'lzw' }).toFile(tmp('rgb.tif'));
      const t = await readImage(tmp('rgb.tif'));
      assert.ok(maxAbsDiff(t.data, Array.from(px, (v) => v / 255)) < 1e-7);
      // Flat colour survives JPEG almost exactly.
      const flat = new Uint8Array(16 * 16 * 3).map((_, i) => [200, 60, 120][i % 3]);
      await sharp(flat, { raw: { width: 16, height: 16, channels: 3 } }).jpeg({ quality: 95 }).toFile(tmp('flat.jpg'));
      const j = await readImage(tmp('flat.jpg'));
      assert.equal(j.width, 16);
      assert.ok(maxAbsDiff(j.data, Array.from(flat, (v) => v / 255)) <= 4 / 255);
    });

    it('decodes hand-made BMPs: 24-bit bottom-up with row padding, 32-bit top-down, 8-bit palette', async () => {
      const W = 3; // 3 px * 3 bytes = 9 -> padded to 12
      const H = 2;
      const rgb = Array.from(pattern8(W, H, 3));
      for (const [name, bmp] of [
        ['b24.bmp', encodeBmp({ width: W, height: H, bpp: 24, pixels: rgb })],
        ['b32.bmp', encodeBmp({ width: W, height: H, bpp: 32, pixels: rgb, topDown: true })],
      ] as const) {
        fs.writeFileSync(tmp(name), bmp);
        const img = await readImage(tmp(name));
        assert.deepEqual([img.width, img.height], [W, H], name);
        assert.ok(maxAbsDiff(img.data, rgb.map((v) => v / 255)) < 1e-7, name);
      }
      const palette = [
        [255, 0, 0],
        [0, 128, 0],
        [10, 20, 30],
      ];
      const idx = [0, 1, 2, 2, 1, 0];
      fs.writeFileSync(tmp('b8.bmp'), encodeBmp({ width: W, height: H, bpp: 8, pixels: idx, palette }));
      const p = await readImage(tmp('b8.bmp'));
      assert.ok(maxAbsDiff(p.data, idx.flatMap((i) => palette[i].map((v) => v / 255))) < 1e-7);
      assert.deepEqual(await imageSize(tmp('b8.bmp')), { width: W, height: H });
    });

    it('decodes Pillow-written BMPs (24-bit, 8-bit palette, 1-bit) like their PNG twins', async () => {
      for (const name of ['bmp_rgb24_7x5', 'bmp_p8_7x5', 'bmp_1bit_9x4']) {
        const bmp = await readImage(path.join(FIX, `${name}.bmp`));
        const png = await readImage(path.join(FIX, `${name}.png`));
        assert.deepEqual([bmp.width, bmp.height], [png.width, png.height], name);
        assert.equal(maxAbsDiff(bmp.data, png.data), 0, name);
      }
    });

    it('decodeImage decodes bytes in memory', async () => {
      const bytes = fs.readFileSync(path.join(FIX, 'bmp_rgb24_7x5.png'));
      const img = await decodeImage(bytes);
      assert.deepEqual([img.width, img.height], [7, 5]);
    });
  });

  describe('errors name the file and the problem', () => {
    it('missing file', async () => {
      const f = tmp('nope.png');
      await assert.rejects(readImage(f), (e: Error) => e.message.includes(f) && /not found/.test(e.message));
      await assert.rejects(imageSize(f), (e: Error) => e.message.includes(f) && /not found/.test(e.message));
      await assert.rejects(readMask([f]), (e: Error) => e.message.includes(f) && /not found/.test(e.message));
    });

    it('unsupported format, empty file, directory', async () => {
      fs.writeFileSync(tmp('notes.png'), 'this is text, not an image');
      await assert.rejects(readImage(tmp('notes.png')), (e: Error) => e.message.includes(tmp('notes.png')) && /unsupported image format/.test(e.message));
      fs.writeFileSync(tmp('empty.png'), '');
      await assert.rejects(readImage(tmp('empty.png')), (e: Error) => e.message.includes(tmp('empty.png')) && /empty/.test(e.message));
      await assert.rejects(readImage(dir), (e: Error) => e.message.includes(dir) && /directory/.test(e.message));
    });

    it('corrupt PNG and JPEG (truncated)', async () => {
      const px = pattern8(64, 64, 3);
      const png = await sharp(px, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
      fs.writeFileSync(tmp('cut.png'), png.subarray(0, Math.floor(png.length / 2)));
      await assert.rejects(readImage(tmp('cut.png')), (e: Error) => e.message.includes(tmp('cut.png')) && /corrupt or truncated/.test(e.message));
      const jpg = await sharp(px, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
      fs.writeFileSync(tmp('cut.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
      await assert.rejects(readImage(tmp('cut.jpg')), (e: Error) => e.message.includes(tmp('cut.jpg')) && /corrupt or truncated/.test(e.message));
    });

    it('truncated and RLE-compressed BMP', async () => {
      const bmp = encodeBmp({ width: 4, height: 4, bpp: 24, pixels: Array.from(pattern8(4, 4, 3)) });
      fs.writeFileSync(tmp('short.bmp'), bmp.subarray(0, bmp.length - 5));
      await assert.rejects(readImage(tmp('short.bmp')), (e: Error) => e.message.includes(tmp('short.bmp')) && /truncated pixel data/.test(e.message));
      const rle = Buffer.from(bmp);
      rle.writeUInt16LE(8, 28);
      rle.writeUInt32LE(1, 30); // BI_RLE8
      fs.writeFileSync(tmp('rle.bmp'), rle);
      await assert.rejects(readImage(tmp('rle.bmp')), (e: Error) => e.message.includes(tmp('rle.bmp')) && /RLE8/.test(e.message));
    });
  });

  describe('readMask', () => {
    const w = 6;
    const h = 4;
    const grey = async (name: string, on: number[], value = 255): Promise<string> => {
      const px = new Uint8Array(w * h);
      for (const i of on) px[i] = value;
      await sharp(px, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png().toFile(tmp(name));
      return tmp(name);
    };

    it('unions several masks and binarises any value > 0', async () => {
      const a = await grey('ma.png', [0, 1, 2]);
      const b = await grey('mb.png', [2, 10], 1); // 0/1-valued mask still counts
      const m = await readMask([a, b]);
      assert.deepEqual([m.width, m.height], [w, h]);
      const expected = new Uint8Array(w * h);
      for (const i of [0, 1, 2, 10]) expected[i] = 1;
      assert.deepEqual(m.data, expected);
    });

    it('counts a colour (RGB) mask pixel when any channel is > 0', async () => {
      const px = new Uint8Array(w * h * 3);
      px[5 * 3 + 2] = 1; // faint pure blue: a grey conversion would round it to 0
      px[7 * 3] = 255;
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(tmp('mrgb.png'));
      const m = await readMask([tmp('mrgb.png')]);
      assert.deepEqual(Array.from(m.data.keys()).filter((i) => m.data[i] === 1), [5, 7]);
    });

    it('empty list: all-zero mask of options.size, an error without it', async () => {
      const m = await readMask([], { size: { width: 7, height: 3 } });
      assert.deepEqual([m.width, m.height, m.data.length, m.data.reduce((s, v) => s + v, 0)], [7, 3, 21, 0]);
      await assert.rejects(readMask([]), /options\.size/);
    });

    it('checks the expected size and that all masks agree, naming the file', async () => {
      const a = await grey('mc.png', [1]);
      await assert.rejects(readMask([a], { size: { width: 5, height: 4 } }), (e: Error) => e.message.includes(a) && /6x4/.test(e.message) && /5x4/.test(e.message));
      await sharp(new Uint8Array(9), { raw: { width: 3, height: 3, channels: 1 } }).toColourspace('b-w').png().toFile(tmp('small.png'));
      await assert.rejects(readMask([a, tmp('small.png')]), (e: Error) => e.message.includes(tmp('small.png')) && e.message.includes(a));
    });
  });

  describe('writing', () => {
    const img: RgbImage = { width: 4, height: 3, data: new Float32Array(36).map((_, i) => (i * 0.0371) % 1) };

    it('writePng 8-bit round-trips to the nearest 1/255 and clips out-of-range values', async () => {
      const data = img.data.slice();
      data[0] = -0.5;
      data[1] = 1.7;
      await writePng(tmp('out/w8.png'), { ...img, data });
      const back = await readImage(tmp('out/w8.png'));
      assert.equal(back.data[0], 0);
      assert.equal(back.data[1], 1);
      for (let i = 2; i < data.length; i++) assert.ok(Math.abs(back.data[i] - data[i]) <= 0.5 / 255 + 1e-7);
      // Atomic write: no temp file left beside the target.
      assert.deepEqual(fs.readdirSync(tmp('out')), ['w8.png']);
    });

    it('writePng 16-bit keeps about 1/65535 precision', async () => {
      await writePng(tmp('w16.png'), img, { bitDepth: 16 });
      const back = await readImage(tmp('w16.png'));
      assert.ok(maxAbsDiff(back.data, img.data) <= 0.5 / 65535 + 1e-7);
    });

    it('writeMaskPng writes a 1-channel 0/255 PNG that readMask reads back', async () => {
      const mask = { width: 5, height: 2, data: new Uint8Array([0, 1, 1, 0, 0, 1, 0, 0, 0, 1]) };
      await writeMaskPng(tmp('m.png'), mask);
      const meta = await sharp(tmp('m.png')).metadata();
      assert.equal(meta.channels, 1);
      const raw = await sharp(tmp('m.png')).raw().toBuffer();
      assert.deepEqual(new Set(raw), new Set([0, 255]));
      assert.deepEqual((await readMask([tmp('m.png')])).data, mask.data);
    });

    it('writeGreyPng maps the given range to 0..255', async () => {
      await writeGreyPng(tmp('g.png'), { width: 3, height: 1, data: [2, 3, 4] }, [2, 4]);
      assert.equal((await sharp(tmp('g.png')).metadata()).channels, 1);
      const raw = await sharp(tmp('g.png')).extractChannel(0).raw().toBuffer();
      assert.deepEqual(Array.from(raw), [0, 128, 255]);
      await assert.rejects(writeGreyPng(tmp('g2.png'), { width: 3, height: 1, data: [1, 2, 3] }, [1, 1]), /g2\.png.*range/);
    });

    it('rejects data of the wrong length, naming the target', async () => {
      await assert.rejects(writePng(tmp('bad.png'), { width: 4, height: 4, data: new Float32Array(5) }), (e: Error) => e.message.includes(tmp('bad.png')));
      assert.equal(fs.existsSync(tmp('bad.png')), false);
    });
  });

  it('imageSize reads PNG, JPEG and TIFF headers', async () => {
    const px = pattern8(9, 4, 3);
    for (const ext of ['png', 'jpg', 'tif']) {
      await sharp(px, { raw: { width: 9, height: 4, channels: 3 } }).toFile(tmp(`s.${ext}`));
      assert.deepEqual(await imageSize(tmp(`s.${ext}`)), { width: 9, height: 4 }, ext);
    }
  });
});
