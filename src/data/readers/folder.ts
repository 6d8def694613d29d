/**
 * Generic folder reader, for your own data: one folder per class, normal
 * images in good/, one folder per defect type, optional masks.
 *
 *   CLASS/good/*                 normal images, all used as train (references)
 *   CLASS/good/train/*, good/test/*   optional explicit split of the normals
 *   CLASS/<defect>/*             anomalous images (test split), defectType = folder name
 *   CLASS/masks/<defect>/*       optional masks, matched by stem: <stem>.png or <stem>_mask.png
 *   CLASS/ground_truth/<defect>/*   (same, other accepted folder name)
 *
 * ROOT is either one class folder (class name = its folder name) or a folder
 * of class folders. Masks are optional per defect type: a defect folder with
 * no masks/<defect> nor ground_truth/<defect> gives anomalies with empty
 * maskPaths (image-level labels only); once a mask folder exists, every image
 * of that defect needs a mask (unless allowMissingMasks). Normals in good/
 * without a train/test split are all train: put test normals in good/test/
 * to evaluate image-level metrics.
 *
 * ```ts
 * const samples = readDataset('/data/my_parts/widget', { format: 'folder' });
 * ```
 */
import * as path from 'path';
import type { Sample } from '../sample';
import { ClassDir, findClassDirs, isDirectory, listImages, listSubdirs, missingMask } from './common';
import { MaskFinder, hasDir, stemMaskFinder } from './layout';
import type { DatasetReader, ReaderOptions } from './types';

/** Folder names inside a class folder that are not defect types. */
const RESERVED = new Set(['good', 'masks', 'ground_truth']);

export function looksLikeFolderClass(dir: string): boolean {
  return hasDir(dir, 'good');
}

function defectMasks(classDir: string, defect: string): MaskFinder | undefined {
  for (const name of ['masks', 'ground_truth']) {
    const dir = path.join(classDir, name, defect);
    if (isDirectory(dir)) return stemMaskFinder(dir, ['', '_mask']);
  }
  return undefined;
}

function readFolderClass(cls: ClassDir, options: ReaderOptions): Sample[] {
  const out: Sample[] = [];
  const good = path.join(cls.dir, 'good');
  const normal = (imagePath: string, split: 'train' | 'test'): Sample => ({
    imagePath,
    className: cls.name,
    split,
    label: 0,
    defectType: 'good',
    maskPaths: [],
  });
  if (options.splits.includes('train')) {
    for (const p of listImages(good)) out.push(normal(p, 'train'));
    for (const p of listImages(path.join(good, 'train'))) out.push(normal(p, 'train'));
  }
  if (options.splits.includes('test')) {
    for (const p of listImages(path.join(good, 'test'))) out.push(normal(p, 'test'));
    for (const defect of listSubdirs(cls.dir)) {
      if (RESERVED.has(defect)) continue;
      const masks = defectMasks(cls.dir, defect);
      for (const imagePath of listImages(path.join(cls.dir, defect))) {
        const maskPaths = masks === undefined ? [] : masks.find(imagePath) ?? missingMask(imagePath, masks.where, options);
        out.push({ imagePath, className: cls.name, split: 'test', label: 1, defectType: defect, maskPaths });
      }
    }
  }
  return out;
}

export const folderReader: DatasetReader = {
  format: 'folder',
  expected: 'CLASS/good/* (or good/train, good/test), CLASS/<defect>/*, optional CLASS/masks/<defect>/<stem>[_mask].png',
  listClasses: (root) => findClassDirs(root, looksLikeFolderClass).map((c) => c.name),
  read(root, classes, options) {
    return findClassDirs(root, looksLikeFolderClass)
      .filter((c) => classes.includes(c.name))
      .flatMap((c) => readFolderClass(c, options));
  },
};
