/**
 * ShanghaiTech Campus reader, as still frames with pixel masks (Liu et al.,
 * CVPR 2018, https://svip-lab.github.io/dataset/campus_dataset.html). The
 * official download is training videos plus test frames whose labels live in
 * NumPy files (testing/test_frame_mask/<video>.npy, test_pixel_mask/<video>.npy);
 * image anomaly detection (as in ResAD's cross-dataset protocol) needs frames
 * and PNG masks, so this reader reads a prepared MVTec-like layout, one class
 * per scene (or one class "shanghaitech" for all scenes):
 *
 *   ROOT/<scene>/train/good/<video>_<frame>.jpg     (frames of training videos)
 *   ROOT/<scene>/test/good/<video>_<frame>.jpg      (normal test frames)
 *   ROOT/<scene>/test/anomaly/<video>_<frame>.jpg   (frames with a non-empty pixel mask)
 *   ROOT/<scene>/ground_truth/anomaly/<video>_<frame>.png   (or <stem>_mask.png)
 *
 * Frames may be .jpg or .png. The raw layout (training/, testing/) is
 * recognised only to say that it must be converted first.
 *
 * ```ts
 * const samples = readDataset('/data/shanghaitech_frames', { format: 'shanghaitech', splits: ['test'] });
 * ```
 */
import * as path from 'path';
import { isDirectory } from './common';
import { LayoutSpec, TRAIN_TEST_FOLDERS, layoutReader, stemMaskFinder } from './layout';
import { looksLikeMvtecClass } from './mvtec';
import type { DatasetReader } from './types';

export const SHANGHAITECH_LAYOUT: LayoutSpec = {
  splitFolders: () => TRAIN_TEST_FOLDERS,
  isNormal: (type) => type === 'good',
  imageDir: (typeDir) => typeDir,
  masks: (classDir, _split, type) => stemMaskFinder(path.join(classDir, 'ground_truth', type), ['', '_mask']),
};

export const shanghaitechReader: DatasetReader = {
  ...layoutReader(
    'shanghaitech',
    '<scene>/train/good/*.jpg, <scene>/test/<good|anomaly>/*.jpg, <scene>/ground_truth/anomaly/<stem>.png',
    looksLikeMvtecClass,
    SHANGHAITECH_LAYOUT,
  ),
  hint(root: string): string | undefined {
    if (isDirectory(path.join(root, 'training')) && isDirectory(path.join(root, 'testing'))) {
      return (
        'this looks like the raw ShanghaiTech download (training/, testing/): extract frames and write the ' +
        'test_pixel_mask .npy volumes as one PNG per frame into <scene>/{train/good,test/good,test/anomaly,ground_truth/anomaly} first'
      );
    }
    return undefined;
  },
};
