/**
 * BraTS reader: brain MRI as 2-D slices (BraTS 2021, Baid et al. 2021;
 * http://braintumorsegmentation.org, Kaggle "brats-2021-task1"). The raw data
 * is NIfTI volumes; anomaly-detection benchmarks use PNG slices, and so does
 * this reader. Two slice layouts are read:
 *
 * 1. The layout of the official ResAD code (datasets/brats.py), MVTec-like with
 *    the single class "brain":
 *      ROOT/brain/train/good/*.png
 *      ROOT/brain/test/good/*.png, ROOT/brain/test/<type, e.g. anomaly>/*.png
 *      ROOT/brain/ground_truth/<type>/<stem>_mask.png   (or <stem>.png)
 * 2. The BMAD benchmark layout (Bao et al. 2023, "Brain" of BMAD, BraTS2021 slices):
 *      ROOT/Brain/train/good/*.png                     (or train/good/img/*.png)
 *      ROOT/Brain/test/{good,Ungood}/img/*.png
 *      ROOT/Brain/test/Ungood/label/<stem>.png          (mask named like the slice)
 *    BMAD's valid/ folder (normal and anomalous slices meant for model
 *    selection) is not read.
 * Class names are the folder names as they are ("brain", "Brain").
 *
 * ```ts
 * const samples = readDataset('/data/brats2d', { format: 'brats', splits: ['test'] });
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import { isDirectory } from './common';
import { LayoutSpec, TRAIN_TEST_FOLDERS, hasDir, layoutReader, stemMaskFinder } from './layout';
import { looksLikeMvtecClass } from './mvtec';
import type { DatasetReader } from './types';

/** BMAD variant: test/<type>/img holds the slices (and test/<type>/label the masks). */
export function looksLikeBmadClass(dir: string): boolean {
  return hasDir(dir, 'test', 'good', 'img') || hasDir(dir, 'test', 'Ungood', 'img');
}

export function looksLikeBratsClass(dir: string): boolean {
  return looksLikeMvtecClass(dir) || looksLikeBmadClass(dir);
}

export const BRATS_LAYOUT: LayoutSpec = {
  splitFolders: () => TRAIN_TEST_FOLDERS,
  isNormal: (type) => type === 'good',
  imageDir: (typeDir) => (isDirectory(path.join(typeDir, 'img')) ? path.join(typeDir, 'img') : typeDir),
  masks: (classDir, split, type) => {
    const bmad = path.join(classDir, split, type, 'label');
    if (isDirectory(bmad)) return stemMaskFinder(bmad, ['', '_mask']);
    return stemMaskFinder(path.join(classDir, 'ground_truth', type), ['_mask', '']);
  },
};

export const bratsReader: DatasetReader = {
  ...layoutReader(
    'brats',
    'brain/train/good/*.png, brain/test/<good|anomaly>/*.png, brain/ground_truth/<anomaly>/<stem>_mask.png ' +
      '(ResAD layout), or Brain/test/{good,Ungood}/img/*.png with Ungood/label/*.png (BMAD layout)',
    looksLikeBratsClass,
    BRATS_LAYOUT,
  ),
  hint(root: string): string | undefined {
    // A raw BraTS download is a folder of NIfTI volumes per patient.
    const raw = safeList(root).some((n) => n.endsWith('.nii.gz') || n.endsWith('.nii') || n.startsWith('BraTS'));
    return raw
      ? 'this looks like raw BraTS NIfTI volumes: export 2-D slices as PNG into one of the documented layouts first'
      : undefined;
  },
};

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
