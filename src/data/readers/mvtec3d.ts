/**
 * MVTec 3D-AD reader, RGB only (Bergmann et al., VISAPP 2022;
 * https://www.mvtec.com/company/research/datasets/mvtec-3d-ad).
 *
 * Layout, one folder per class (bagel, cable_gland, ...):
 *   CLASS/{train,validation,test}/<good|defect>/rgb/NNN.png
 *   CLASS/test/<defect>/gt/NNN.png            (mask named like the image)
 *   .../xyz/NNN.tiff                          (point clouds: ignored)
 * `validation/good` holds extra normal images: read as train normals by
 * default (they never overlap the test set), or dropped with
 * `validation: 'ignore'` to match the official train split exactly. Normal
 * images' all-zero gt masks are not listed (maskPaths is empty for normals).
 *
 * ```ts
 * const samples = readDataset('/data/mvtec_3d', { format: 'mvtec3d', validation: 'ignore' });
 * ```
 */
import * as path from 'path';
import type { Split } from '../sample';
import { LayoutSpec, hasDir, layoutReader, stemMaskFinder } from './layout';

export function looksLikeMvtec3dClass(dir: string): boolean {
  return hasDir(dir, 'train', 'good', 'rgb') || hasDir(dir, 'test', 'good', 'rgb');
}

export const MVTEC3D_LAYOUT: LayoutSpec = {
  splitFolders: (options) => {
    const folders: Array<{ folder: string; split: Split }> = [{ folder: 'train', split: 'train' }];
    if (options.validation === 'train') folders.push({ folder: 'validation', split: 'train' });
    folders.push({ folder: 'test', split: 'test' });
    return folders;
  },
  isNormal: (type) => type === 'good',
  imageDir: (typeDir) => path.join(typeDir, 'rgb'),
  masks: (classDir, split, type) => stemMaskFinder(path.join(classDir, split, type, 'gt'), ['', '_mask']),
};

export const mvtec3dReader = layoutReader(
  'mvtec3d',
  'CLASS/{train,validation,test}/<good|defect>/rgb/*.png with masks in CLASS/test/<defect>/gt/*.png',
  looksLikeMvtec3dClass,
  MVTEC3D_LAYOUT,
);
