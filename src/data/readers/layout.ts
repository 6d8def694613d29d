/**
 * The one walker behind every "class / split / type" layout: MVTec AD, MPDD,
 * BTAD, MVTec 3D-AD, MVTec LOCO, BraTS and ShanghaiTech slices all store images
 * as CLASS/<split folder>/<type folder>/..., differing only in folder names,
 * where masks live and how masks are named. Each reader states those
 * differences as a `LayoutSpec`; this module turns a spec into samples.
 *
 * ```ts
 * const spec: LayoutSpec = { splitFolders: () => [{ folder: 'train', split: 'train' }, ...], ... };
 * const samples = readLayoutClass({ name: 'bottle', dir: '/data/mvtec/bottle' }, spec, options);
 * ```
 */
import * as path from 'path';
import type { DatasetFormat, Sample, Split } from '../sample';
import { ClassDir, MaskLookup, findClassDirs, isDirectory, listImages, listSubdirs, missingMask, stemOf } from './common';
import type { DatasetReader, ReaderOptions } from './types';

/** Finds the masks of the anomalous images of one (class, split folder, type). */
export interface MaskFinder {
  /** Where masks were looked for, for error messages. */
  readonly where: string;
  /** Masks of one image, or undefined when there are none. */
  find(imagePath: string): string[] | undefined;
}

export interface LayoutSpec {
  /** Folders of a class folder that hold images, and the split each one feeds. */
  splitFolders(options: ReaderOptions): ReadonlyArray<{ folder: string; split: Split }>;
  /** Is this type folder (e.g. "good", "ok") the normal one? */
  isNormal(type: string): boolean;
  /** Folder holding the images of one type folder (MVTec 3D-AD: <type>/rgb). */
  imageDir(typeDir: string): string;
  /** Mask finder for one type folder of anomalies. */
  masks(classDir: string, splitFolder: string, type: string): MaskFinder;
}

/** Mask finder over one folder of masks named like the image (with the given suffixes). */
export function stemMaskFinder(dir: string, suffixes: readonly string[] = ['_mask', '']): MaskFinder {
  // The lookup is built on first use: most type folders of a train split have no anomalies at all.
  let lookup: MaskLookup | undefined;
  return {
    where: dir,
    find(imagePath: string): string[] | undefined {
      lookup ??= new MaskLookup(dir);
      const hit = lookup.find(stemOf(imagePath), suffixes);
      return hit === undefined ? undefined : [hit];
    },
  };
}

/** Samples of one class folder laid out as `spec` says. */
export function readLayoutClass(cls: ClassDir, spec: LayoutSpec, options: ReaderOptions): Sample[] {
  const out: Sample[] = [];
  for (const { folder, split } of spec.splitFolders(options)) {
    if (!options.splits.includes(split)) continue;
    const splitDir = path.join(cls.dir, folder);
    for (const type of listSubdirs(splitDir)) {
      const typeDir = path.join(splitDir, type);
      const normal = spec.isNormal(type);
      const masks = normal ? undefined : spec.masks(cls.dir, folder, type);
      for (const imagePath of listImages(spec.imageDir(typeDir))) {
        let maskPaths: string[] = [];
        if (masks !== undefined) {
          maskPaths = masks.find(imagePath) ?? missingMask(imagePath, masks.where, options);
        }
        out.push({
          imagePath,
          className: cls.name,
          split,
          label: normal ? 0 : 1,
          defectType: normal ? 'good' : type,
          maskPaths,
        });
      }
    }
  }
  return out;
}

/** Builds a class-per-folder reader from a layout spec and a class-folder test. */
export function layoutReader(
  format: DatasetFormat,
  expected: string,
  looksLikeClass: (dir: string) => boolean,
  spec: LayoutSpec,
): DatasetReader {
  const findClasses = (root: string): ClassDir[] => findClassDirs(root, looksLikeClass);
  return {
    format,
    expected,
    listClasses: (root) => findClasses(root).map((c) => c.name),
    read(root, classes, options) {
      const dirs = findClasses(root).filter((c) => classes.includes(c.name));
      return dirs.flatMap((c) => readLayoutClass(c, spec, options));
    },
  };
}

/** Standard split folders: train/ -> train, test/ -> test. */
export const TRAIN_TEST_FOLDERS: ReadonlyArray<{ folder: string; split: Split }> = [
  { folder: 'train', split: 'train' },
  { folder: 'test', split: 'test' },
];

/** True when `dir/<a>/<b>/...` is a directory, for class-folder tests. */
export function hasDir(dir: string, ...parts: string[]): boolean {
  return isDirectory(path.join(dir, ...parts));
}
