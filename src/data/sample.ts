/**
 * The one record every dataset reader produces. Readers differ in folder
 * layouts; everything downstream (reference sampling, training, evaluation)
 * sees only `Sample` lists.
 */

export const DATASET_FORMATS = [
  'mvtec',
  'mvtec3d',
  'visa',
  'btad',
  'mpdd',
  'loco',
  'brats',
  'shanghaitech',
  'folder',
] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export type Split = 'train' | 'test';

/** 0 = normal, 1 = anomalous. */
export type Label = 0 | 1;

export interface Sample {
  /** Absolute path of the image file. */
  imagePath: string;
  /** Class (category) name, e.g. "bottle". */
  className: string;
  split: Split;
  label: Label;
  /** "good" for normal images, otherwise the defect folder name. */
  defectType: string;
  /**
   * Ground-truth masks (absolute paths), unioned when loaded. Empty for normal
   * images and for anomalies without masks. Several only for MVTec LOCO,
   * whose ground truth is one PNG per defect region.
   */
  maskPaths: string[];
}
