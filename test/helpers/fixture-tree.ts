/**
 * Tiny on-disk dataset trees, one per supported layout, for reader tests.
 * Every image is a real 8x8 file of its extension (PNG/JPEG/TIFF written by
 * sharp, BMP written as raw bytes since sharp cannot save BMP), so the trees
 * also serve image-loading tests. Contents are fixed: tests assert the exact
 * sample lists a reader must return for them.
 *
 * ```ts
 * const parent = makeTempDir();
 * const root = await buildFixture('mvtec', parent);   // parent/mvtec/{bottle,zipper}/...
 * const all = await buildAllFixtures(parent);          // every fixture, by name
 * removeDir(parent);
 * ```
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';

/** A fixture: image files (relative paths) and text files (relative path -> content). */
export interface FixtureSpec {
  images: readonly string[];
  texts?: Readonly<Record<string, string>>;
}

/** Minimal uncompressed 24-bit BMP of a flat grey square. */
export function bmpBytes(size = 8, grey = 128): Buffer {
  const rowBytes = Math.ceil((size * 3) / 4) * 4; // rows are padded to 4 bytes
  const dataSize = rowBytes * size;
  const buf = Buffer.alloc(54 + dataSize);
  buf.write('BM', 0, 'ascii');
  buf.writeUInt32LE(54 + dataSize, 2);
  buf.writeUInt32LE(54, 10); // pixel data offset
  buf.writeUInt32LE(40, 14); // BITMAPINFOHEADER size
  buf.writeInt32LE(size, 18);
  buf.writeInt32LE(size, 22);
  buf.writeUInt16LE(1, 26); // planes
  buf.writeUInt16LE(24, 28); // bits per pixel
  buf.writeUInt32LE(dataSize, 34);
  buf.fill(grey, 54);
  return buf;
}

const encoded = new Map<string, Buffer>();

/** Bytes of an 8x8 image in the format of `ext` (".png", ".jpg", ...), cached per extension. */
export async function imageBytes(ext: string): Promise<Buffer> {
  const e = ext.toLowerCase();
  const hit = encoded.get(e);
  if (hit !== undefined) return hit;
  let out: Buffer;
  if (e === '.bmp') {
    out = bmpBytes();
  } else {
    const img = sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 128, g: 96, b: 64 } } });
    if (e === '.png') out = await img.png().toBuffer();
    else if (e === '.jpg' || e === '.jpeg') out = await img.jpeg().toBuffer();
    else if (e === '.tif' || e === '.tiff') out = await img.tiff().toBuffer();
    else throw new Error(`fixture-tree: no encoder for image extension "${ext}"`);
  }
  encoded.set(e, out);
  return out;
}

/** Writes the files of `spec` under `root` (created as needed). */
export async function writeTree(root: string, spec: FixtureSpec): Promise<void> {
  for (const rel of spec.images) {
    const file = path.join(root, ...rel.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, await imageBytes(path.extname(rel)));
  }
  for (const [rel, text] of Object.entries(spec.texts ?? {})) {
    const file = path.join(root, ...rel.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

const VISA_CSV = [
  'object,split,label,image,mask',
  'candle,train,normal,candle/Data/Images/Normal/0000.JPG,',
  'candle,train,normal,candle/Data/Images/Normal/0001.JPG,',
  'candle,test,normal,candle/Data/Images/Normal/0002.JPG,',
  'candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png',
  'candle,test,anomaly,candle/Data/Images/Anomaly/001.JPG,candle/Data/Masks/Anomaly/001.png',
  'capsules,train,normal,capsules/Data/Images/Normal/0000.JPG,',
  'capsules,test,anomaly,capsules/Data/Images/Anomaly/000.JPG,capsules/Data/Masks/Anomaly/000.png',
  '',
].join('\n');

/** Every fixture, by name. Names are also the folder each is written to. */
export const FIXTURES = {
  /** MVTec AD: "_mask" masks (bottle), same-stem masks (zipper), hidden and text files to ignore. */
  mvtec: {
    images: [
      'bottle/train/good/000.png',
      'bottle/train/good/001.png',
      'bottle/train/good/002.png',
      'bottle/train/good/._000.png',
      'bottle/test/good/000.png',
      'bottle/test/broken/000.png',
      'bottle/test/broken/001.png',
      'bottle/ground_truth/broken/000_mask.png',
      'bottle/ground_truth/broken/001_mask.png',
      'zipper/train/good/000.png',
      'zipper/test/good/000.png',
      'zipper/test/squeezed/000.png',
      'zipper/ground_truth/squeezed/000.png',
    ],
    texts: { 'bottle/license.txt': 'CC BY-NC-SA 4.0\n', 'readme.txt': 'fixture\n' },
  },
  mpdd: {
    images: [
      'metal_plate/train/good/train_00000.png',
      'metal_plate/train/good/train_00001.png',
      'metal_plate/test/good/test_00000.png',
      'metal_plate/test/defective/test_00026.png',
      'metal_plate/ground_truth/defective/test_00026_mask.png',
    ],
  },
  /** BTAD: 01 bmp images + png masks, 02 png + png, 03 bmp + bmp masks. */
  btad: {
    images: [
      '01/train/ok/0000.bmp',
      '01/train/ok/0001.bmp',
      '01/test/ok/0002.bmp',
      '01/test/ko/0003.bmp',
      '01/ground_truth/ko/0003.png',
      '02/train/ok/0000.png',
      '02/test/ko/0001.png',
      '02/ground_truth/ko/0001.png',
      '03/train/ok/0000.bmp',
      '03/test/ko/0005.bmp',
      '03/ground_truth/ko/0005.bmp',
    ],
  },
  /** MVTec 3D-AD: rgb/ images, gt/ masks, xyz/ ignored, validation/good. */
  mvtec3d: {
    images: [
      'bagel/train/good/rgb/000.png',
      'bagel/train/good/rgb/001.png',
      'bagel/train/good/gt/000.png',
      'bagel/train/good/xyz/000.tiff',
      'bagel/validation/good/rgb/000.png',
      'bagel/test/good/rgb/000.png',
      'bagel/test/good/gt/000.png',
      'bagel/test/crack/rgb/000.png',
      'bagel/test/crack/rgb/001.png',
      'bagel/test/crack/gt/000.png',
      'bagel/test/crack/gt/001.png',
      'bagel/test/crack/xyz/000.tiff',
    ],
  },
  /** MVTec LOCO: per-image mask folders (pushpins), flattened masks (juice_bottle). */
  loco: {
    images: [
      'pushpins/train/good/000.png',
      'pushpins/train/good/001.png',
      'pushpins/validation/good/000.png',
      'pushpins/test/good/000.png',
      'pushpins/test/logical_anomalies/000.png',
      'pushpins/test/logical_anomalies/001.png',
      'pushpins/test/structural_anomalies/000.png',
      'pushpins/ground_truth/logical_anomalies/000/000.png',
      'pushpins/ground_truth/logical_anomalies/000/001.png',
      'pushpins/ground_truth/logical_anomalies/001/000.png',
      'pushpins/ground_truth/structural_anomalies/000/000.png',
      'juice_bottle/train/good/000.png',
      'juice_bottle/validation/good/000.png',
      'juice_bottle/test/good/000.png',
      'juice_bottle/test/logical_anomalies/000.png',
      'juice_bottle/ground_truth/logical_anomalies/000.png',
    ],
  },
  /** VisA release layout with its split CSV. */
  visa: {
    images: [
      'candle/Data/Images/Normal/0000.JPG',
      'candle/Data/Images/Normal/0001.JPG',
      'candle/Data/Images/Normal/0002.JPG',
      'candle/Data/Images/Anomaly/000.JPG',
      'candle/Data/Images/Anomaly/001.JPG',
      'candle/Data/Masks/Anomaly/000.png',
      'candle/Data/Masks/Anomaly/001.png',
      'capsules/Data/Images/Normal/0000.JPG',
      'capsules/Data/Images/Anomaly/000.JPG',
      'capsules/Data/Masks/Anomaly/000.png',
    ],
    texts: { 'split_csv/1cls.csv': VISA_CSV },
  },
  /** VisA release without its split CSV: must be refused. */
  visa_raw: {
    images: ['candle/Data/Images/Normal/0000.JPG', 'candle/Data/Images/Anomaly/000.JPG', 'candle/Data/Masks/Anomaly/000.png'],
  },
  /** BraTS slices in the official ResAD layout (class "brain"). */
  brats: {
    images: [
      'brain/train/good/00001.png',
      'brain/train/good/00002.png',
      'brain/test/good/00003.png',
      'brain/test/anomaly/00010.png',
      'brain/test/anomaly/00011.png',
      'brain/ground_truth/anomaly/00010_mask.png',
      'brain/ground_truth/anomaly/00011_mask.png',
    ],
  },
  /** BraTS slices in the BMAD layout (img/ + label/, valid/ ignored). */
  brats_bmad: {
    images: [
      'Brain/train/good/00000.png',
      'Brain/test/good/img/00001.png',
      'Brain/test/Ungood/img/00002.png',
      'Brain/test/Ungood/label/00002.png',
      'Brain/valid/good/img/00003.png',
      'Brain/valid/Ungood/img/00004.png',
      'Brain/valid/Ungood/label/00004.png',
    ],
  },
  /** ShanghaiTech frames prepared in the documented MVTec-like layout. */
  shanghaitech: {
    images: [
      '01/train/good/01_001_000.jpg',
      '01/train/good/01_001_001.jpg',
      '01/test/good/01_0014_000.jpg',
      '01/test/anomaly/01_0014_100.jpg',
      '01/ground_truth/anomaly/01_0014_100.png',
      '02/train/good/02_001_000.jpg',
      '02/test/anomaly/02_0161_050.jpg',
      '02/ground_truth/anomaly/02_0161_050.png',
    ],
  },
  /** The raw ShanghaiTech download: must be refused with a conversion hint. */
  shanghaitech_raw: {
    images: ['training/frames/01_001/000.jpg', 'testing/frames/01_0014/000.jpg'],
  },
  /** Generic folders: flat and split good/, masks/ with and without "_mask", a defect without masks. */
  folder: {
    images: [
      'widget/good/img1.png',
      'widget/good/img10.png',
      'widget/good/img2.png',
      'widget/good/test/t1.png',
      'widget/scratch/s1.png',
      'widget/scratch/s2.png',
      'widget/masks/scratch/s1_mask.png',
      'widget/masks/scratch/s2.png',
      'widget/dent/d1.png',
      'gadget/good/train/a.png',
      'gadget/good/test/b.png',
      'gadget/crack/c.png',
      'gadget/ground_truth/crack/c.png',
    ],
  },
} satisfies Record<string, FixtureSpec>;

export type FixtureName = keyof typeof FIXTURES;

/** A fresh temporary directory (remove it with removeDir). */
export function makeTempDir(prefix = 'resad-fixture-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes fixture `name` to `parent/name` and returns that root. */
export async function buildFixture(name: FixtureName, parent: string): Promise<string> {
  const root = path.join(parent, name);
  await writeTree(root, FIXTURES[name]);
  return root;
}

/** Writes every fixture under `parent`; returns the root of each by name. */
export async function buildAllFixtures(parent: string): Promise<Record<FixtureName, string>> {
  const roots: Partial<Record<FixtureName, string>> = {};
  for (const name of Object.keys(FIXTURES) as FixtureName[]) roots[name] = await buildFixture(name, parent);
  return roots as Record<FixtureName, string>;
}
