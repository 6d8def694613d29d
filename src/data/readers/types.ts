/**
 * The contract every per-format reader module fulfils, and the options they
 * share. `index.ts` does the generic work (root checks, class filter, split
 * filter, sorting, "no images" errors); a reader only knows its layout.
 */
import type { DatasetFormat, Sample, Split } from '../sample';

/** What to do with MVTec LOCO / MVTec 3D-AD `validation/good` images. */
export type ValidationPolicy = 'train' | 'ignore';

/** Options every reader receives, already validated and defaulted by `readDataset`. */
export interface ReaderOptions {
  /** Splits to read; readers skip the others entirely (so a missing test mask cannot fail a train-only read). */
  splits: readonly Split[];
  /** `validation/good` of LOCO and MVTec 3D-AD: extra train normals ('train', default) or dropped ('ignore'). */
  validation: ValidationPolicy;
  /** Keep anomalous images without a mask (maskPaths: []) instead of throwing. Default false. */
  allowMissingMasks: boolean;
  /** VisA split file, relative to the root (default "split_csv/1cls.csv"). */
  visaCsv: string;
}

export interface DatasetReader {
  readonly format: DatasetFormat;
  /** One line describing the expected folder layout, quoted in error messages. */
  readonly expected: string;
  /** Class names available under `root`, natural order. Empty when none match the layout. */
  listClasses(root: string, options: ReaderOptions): string[];
  /**
   * Optional: explains why `root` holds no class of this format when it looks
   * like a known raw download that needs preparing first (e.g. ShanghaiTech
   * videos, VisA without its split CSV). Appended to the "no classes" error.
   */
  hint?(root: string): string | undefined;
  /** Samples of the given classes (all exist: `readDataset` checked), any order. */
  read(root: string, classes: readonly string[], options: ReaderOptions): Sample[];
}
