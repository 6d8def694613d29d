/**
 * MVTec LOCO AD reader (Bergmann et al., IJCV 2022;
 * https://www.mvtec.com/company/research/datasets/mvtec-loco).
 *
 * Layout, one folder per class (breakfast_box, juice_bottle, pushpins,
 * screw_bag, splicing_connectors):
 *   CLASS/train/good/*.png, CLASS/validation/good/*.png
 *   CLASS/test/{good,logical_anomalies,structural_anomalies}/NNN.png
 *   CLASS/ground_truth/<type>/NNN/000.png, 001.png, ...
 * LOCO stores one mask PNG per defect region, so an anomaly gets every PNG of
 * its ground_truth/<type>/<stem>/ folder as `maskPaths` (natural order; the
 * loader unions them). The flattened layout written by the official ResAD
 * code's `rearange_dataset` (ground_truth/<type>/<stem>.png) is accepted too.
 * `validation/good`: extra train normals by default, dropped with
 * `validation: 'ignore'`.
 *
 * ```ts
 * const samples = readDataset('/data/mvtec_loco', { format: 'loco', classes: ['pushpins'] });
 * ```
 */
import * as path from 'path';
import type { Split } from '../sample';
import { MaskLookup, isDirectory, listImages, stemOf } from './common';
import { LayoutSpec, MaskFinder, hasDir, layoutReader } from './layout';

export function looksLikeLocoClass(dir: string): boolean {
  // The two anomaly folders are LOCO's signature; train/good + validation alone would also match MVTec 3D-AD.
  return (
    hasDir(dir, 'train', 'good') && (hasDir(dir, 'test', 'logical_anomalies') || hasDir(dir, 'test', 'structural_anomalies'))
  );
}

function locoMasks(gtTypeDir: string): MaskFinder {
  let flat: MaskLookup | undefined;
  return {
    where: `${gtTypeDir} (<stem>/*.png or <stem>.png)`,
    find(imagePath: string): string[] | undefined {
      const stem = stemOf(imagePath);
      const perImage = path.join(gtTypeDir, stem);
      if (isDirectory(perImage)) {
        const masks = listImages(perImage);
        return masks.length > 0 ? masks : undefined;
      }
      flat ??= new MaskLookup(gtTypeDir);
      const hit = flat.find(stem, ['', '_mask']);
      return hit === undefined ? undefined : [hit];
    },
  };
}

export const LOCO_LAYOUT: LayoutSpec = {
  splitFolders: (options) => {
    const folders: Array<{ folder: string; split: Split }> = [{ folder: 'train', split: 'train' }];
    if (options.validation === 'train') folders.push({ folder: 'validation', split: 'train' });
    folders.push({ folder: 'test', split: 'test' });
    return folders;
  },
  isNormal: (type) => type === 'good',
  imageDir: (typeDir) => typeDir,
  masks: (classDir, _split, type) => locoMasks(path.join(classDir, 'ground_truth', type)),
};

export const locoReader = layoutReader(
  'loco',
  'CLASS/{train,validation}/good/*.png, CLASS/test/{good,logical_anomalies,structural_anomalies}/*.png, CLASS/ground_truth/<type>/<stem>/*.png',
  looksLikeLocoClass,
  LOCO_LAYOUT,
);
