/**
 * MVTec AD reader (Bergmann et al., CVPR 2019; https://www.mvtec.com/company/research/datasets/mvtec-ad).
 *
 * Layout, one folder per class:
 *   CLASS/train/good/*.png
 *   CLASS/test/good/*.png, CLASS/test/<defect>/*.png
 *   CLASS/ground_truth/<defect>/<stem>_mask.png
 * Masks named exactly like the image (ground_truth/<defect>/<stem>.png, as in
 * the Intel hazelnut toy set and VisA converted to MVTec layout) are accepted
 * too. The root may be the dataset folder (all classes) or one class folder.
 *
 * ```ts
 * const samples = mvtecReader.read('/data/mvtec_ad', ['bottle'], options);
 * ```
 */
import * as path from 'path';
import { LayoutSpec, TRAIN_TEST_FOLDERS, hasDir, layoutReader, stemMaskFinder } from './layout';

/** A class folder in MVTec layout: has train/good (or, for test-only copies, test/good). */
export function looksLikeMvtecClass(dir: string): boolean {
  return hasDir(dir, 'train', 'good') || hasDir(dir, 'test', 'good');
}

/** The MVTec AD layout; reused by MPDD, BraTS (ResAD layout) and ShanghaiTech frames. */
export const MVTEC_LAYOUT: LayoutSpec = {
  splitFolders: () => TRAIN_TEST_FOLDERS,
  isNormal: (type) => type === 'good',
  imageDir: (typeDir) => typeDir,
  masks: (classDir, _split, type) => stemMaskFinder(path.join(classDir, 'ground_truth', type), ['_mask', '']),
};

export const MVTEC_EXPECTED =
  'CLASS/train/good/*, CLASS/test/<good|defect>/*, CLASS/ground_truth/<defect>/<stem>_mask.png (or <stem>.png)';

export const mvtecReader = layoutReader('mvtec', MVTEC_EXPECTED, looksLikeMvtecClass, MVTEC_LAYOUT);
