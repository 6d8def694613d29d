/**
 * BTAD reader (beanTech Anomaly Detection; Mishra et al., ICIP 2021,
 * http://avires.dimi.uniud.it/papers/btad/btad.zip).
 *
 * Layout of the official archive (BTech_Dataset_transformed), classes 01, 02, 03:
 *   NN/train/ok/*.bmp|png
 *   NN/test/ok/*, NN/test/ko/*
 *   NN/ground_truth/ko/<stem>.png (class 03 ships its masks as .bmp)
 * Images are .bmp (01, 03) or .png (02); masks are matched by stem whatever
 * their extension. Normal images get defectType "good" like every other
 * format; anomalies keep the folder name "ko".
 *
 * ```ts
 * const samples = readDataset('/data/BTech_Dataset_transformed', { format: 'btad' });
 * ```
 */
import * as path from 'path';
import { LayoutSpec, TRAIN_TEST_FOLDERS, hasDir, layoutReader, stemMaskFinder } from './layout';

export function looksLikeBtadClass(dir: string): boolean {
  return hasDir(dir, 'train', 'ok') || hasDir(dir, 'test', 'ok') || hasDir(dir, 'test', 'ko');
}

export const BTAD_LAYOUT: LayoutSpec = {
  splitFolders: () => TRAIN_TEST_FOLDERS,
  isNormal: (type) => type === 'ok',
  imageDir: (typeDir) => typeDir,
  masks: (classDir, _split, type) => stemMaskFinder(path.join(classDir, 'ground_truth', type), ['', '_mask']),
};

export const btadReader = layoutReader(
  'btad',
  'NN/train/ok/*, NN/test/<ok|ko>/*, NN/ground_truth/ko/<stem>.png|bmp',
  looksLikeBtadClass,
  BTAD_LAYOUT,
);
