/**
 * VisA reader (Visual Anomaly dataset; Zou et al., ECCV 2022;
 * https://github.com/amazon-science/spot-diff, archive VisA_20220922.tar).
 *
 * The official split is a CSV, read by default from ROOT/split_csv/1cls.csv:
 *   object,split,label,image,mask
 *   candle,train,normal,candle/Data/Images/Normal/0000.JPG,
 *   candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png
 * with paths relative to ROOT, split train|test and label normal|anomaly.
 * Other split files of the release (2cls_fewshot.csv, 2cls_highshot.csv) are
 * read with `visaCsv`. VisA has no defect-type folders: anomalies get
 * defectType "anomaly". Every listed image (and the mask of every anomaly)
 * must exist.
 *
 * Without a CSV the raw CLASS/Data/Images/{Normal,Anomaly} folders carry no
 * train/test split, and inventing one would silently break comparability with
 * published numbers, so that case is an error. VisA converted to MVTec layout
 * by the release's prepare_data.py (visa_pytorch/CLASS/train/good, test/bad,
 * ground_truth/bad/<stem>.png) is read as MVTec layout instead.
 *
 * ```ts
 * const samples = readDataset('/data/VisA_20220922', { format: 'visa', classes: ['candle'] });
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Sample, Split } from '../sample';
import { DatasetError, findClassDirs, isDirectory, isFile, listSubdirs, missingMask, naturalCompare } from './common';
import { readLayoutClass } from './layout';
import { MVTEC_LAYOUT, looksLikeMvtecClass } from './mvtec';
import type { DatasetReader, ReaderOptions } from './types';

export const VISA_DEFAULT_CSV = 'split_csv/1cls.csv';

const REQUIRED_COLUMNS = ['object', 'split', 'label', 'image', 'mask'] as const;

/** One row of a VisA split CSV. */
export interface VisaCsvRow {
  object: string;
  split: Split;
  label: 'normal' | 'anomaly';
  image: string;
  mask: string;
  /** 1-based line number in the CSV, for error messages. */
  line: number;
}

/** Splits one CSV line, honouring double-quoted fields ("a,b" and "" escapes). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

/** Parses a VisA split CSV; throws a DatasetError naming the file and line on bad content. */
export function parseVisaCsv(csvPath: string): VisaCsvRow[] {
  const text = fs.readFileSync(csvPath, 'utf8').replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.toLowerCase());
  const index: Record<string, number> = {};
  for (const col of REQUIRED_COLUMNS) {
    const i = header.indexOf(col);
    if (i < 0) {
      throw new DatasetError(
        `VisA split CSV ${csvPath} has no "${col}" column (header: ${lines[0] ?? ''}; expected ${REQUIRED_COLUMNS.join(',')}).`,
        csvPath,
      );
    }
    index[col] = i;
  }
  const rows: VisaCsvRow[] = [];
  for (let n = 1; n < lines.length; n++) {
    if (lines[n].trim() === '') continue;
    const f = splitCsvLine(lines[n]);
    const at = `${csvPath}:${n + 1}`;
    const split = f[index.split] ?? '';
    const label = f[index.label] ?? '';
    if (split !== 'train' && split !== 'test') {
      throw new DatasetError(`Unknown split "${split}" at ${at} (expected train or test).`, csvPath);
    }
    if (label !== 'normal' && label !== 'anomaly') {
      throw new DatasetError(`Unknown label "${label}" at ${at} (expected normal or anomaly).`, csvPath);
    }
    const object = f[index.object] ?? '';
    const image = f[index.image] ?? '';
    if (object === '' || image === '') {
      throw new DatasetError(`Empty object or image field at ${at}.`, csvPath);
    }
    rows.push({ object, split, label, image, mask: f[index.mask] ?? '', line: n + 1 });
  }
  return rows;
}

function csvPathOf(root: string, options: ReaderOptions): string {
  return path.resolve(root, options.visaCsv);
}

/** Defect-type folders of an MVTec-layout class: CLASS/test/* except good. */
function defectTypesOf(dir: string): string[] {
  return listSubdirs(path.join(dir, 'test')).filter((t) => t !== 'good');
}

/**
 * VisA already converted to MVTec layout by the release's prepare_data.py (no
 * CSV): CLASS/train/good with no defect type but "bad". An MVTec AD folder has
 * the same skeleton with named defect types; reading it as VisA would record
 * the wrong format, so it is not taken for one.
 */
function convertedClasses(root: string) {
  return findClassDirs(root, looksLikeMvtecClass).filter((c) => defectTypesOf(c.dir).every((t) => t === 'bad'));
}

/** CSV paths are relative to ROOT with "/" separators, whatever the OS. */
function resolveRel(root: string, rel: string): string {
  return path.resolve(root, ...rel.split(/[\\/]+/));
}

export const visaReader: DatasetReader = {
  format: 'visa',
  expected:
    `${VISA_DEFAULT_CSV} (columns object,split,label,image,mask) with CLASS/Data/Images/{Normal,Anomaly}/*.JPG and CLASS/Data/Masks/Anomaly/*.png, ` +
    "or prepare_data.py's output CLASS/train/good, CLASS/test/{good,bad}, CLASS/ground_truth/bad",

  listClasses(root, options) {
    const csv = csvPathOf(root, options);
    if (isFile(csv)) {
      const names = new Set(parseVisaCsv(csv).map((r) => r.object));
      return [...names].sort(naturalCompare);
    }
    return convertedClasses(root).map((c) => c.name);
  },

  hint(root) {
    const raw = listSubdirs(root).some((c) => isDirectory(path.join(root, c, 'Data', 'Images')));
    if (raw) {
      return `found CLASS/Data/Images but no split CSV: put the official split_csv/1cls.csv of the VisA release in ${root} ` +
        '(or pass visaCsv); the raw folders have no train/test split';
    }
    const mvtec = findClassDirs(root, looksLikeMvtecClass).filter((c) => defectTypesOf(c.dir).some((t) => t !== 'bad'));
    if (mvtec.length === 0) return undefined;
    const shown = mvtec.slice(0, 3).map((c) => `${c.name}: ${defectTypesOf(c.dir).join(', ')}`).join('; ');
    return `found the MVTec AD layout instead (CLASS/train/good with named defect types, ${shown}${mvtec.length > 3 ? '; ...' : ''}), ` +
      'which is not VisA: converted VisA has only test/good and test/bad';
  },

  read(root, classes, options) {
    const csv = csvPathOf(root, options);
    if (!isFile(csv)) {
      return convertedClasses(root)
        .filter((c) => classes.includes(c.name))
        .flatMap((c) => readLayoutClass(c, MVTEC_LAYOUT, options));
    }
    const out: Sample[] = [];
    for (const row of parseVisaCsv(csv)) {
      if (!classes.includes(row.object) || !options.splits.includes(row.split)) continue;
      const imagePath = resolveRel(root, row.image);
      if (!isFile(imagePath)) {
        throw new DatasetError(`Image ${imagePath} listed at ${csv}:${row.line} does not exist.`, imagePath);
      }
      const anomalous = row.label === 'anomaly';
      let maskPaths: string[] = [];
      if (anomalous) {
        const maskPath = row.mask === '' ? undefined : resolveRel(root, row.mask);
        maskPaths =
          maskPath !== undefined && isFile(maskPath)
            ? [maskPath]
            : missingMask(imagePath, maskPath ?? `the mask column of ${csv}:${row.line}`, options);
      }
      out.push({
        imagePath,
        className: row.object,
        split: row.split,
        label: anomalous ? 1 : 0,
        defectType: anomalous ? 'anomaly' : 'good',
        maskPaths,
      });
    }
    return out;
  },
};
