/**
 * "Your own product": a folder with `normal/` (a few normal images: the
 * K-shot references) and `test/` (images to score, in sub-folders or not,
 * e.g. test/good and test/scratch). What notebook 06 reads.
 */
import * as fs from 'fs';
import * as path from 'path';
import { listImages, listSubdirs } from './readers/common';

export interface OwnDataFolder {
  root: string;
  /** The first `maxReferences` images of normal/ (natural order). */
  references: string[];
  /** Every image under test/: its own files first, then each sub-folder by name (natural order). */
  tests: string[];
  /** test/ itself: name test images by their path relative to it (`scratch/003.png`). */
  testRoot: string;
}

function imagesUnder(dir: string): string[] {
  return [...listImages(dir), ...listSubdirs(dir).flatMap((d) => imagesUnder(path.join(dir, d)))];
}

/** Reads an own-data folder; errors name the folder and say what is expected. */
export function readOwnDataFolder(root: string, options: { maxReferences?: number } = {}): OwnDataFolder {
  const abs = path.resolve(root);
  if (!fs.existsSync(abs)) throw new Error(`own data: ${abs} does not exist (expected a folder with normal/ and test/ inside)`);
  const normalDir = path.join(abs, 'normal');
  const testRoot = path.join(abs, 'test');
  const all = listImages(normalDir);
  if (all.length === 0) throw new Error(`own data: ${normalDir} has no images: put a few (1-8) normal images of the product there`);
  const tests = imagesUnder(testRoot);
  if (tests.length === 0) throw new Error(`own data: ${testRoot} has no images: put the images to score there (sub-folders allowed)`);
  const max = options.maxReferences ?? all.length;
  if (!Number.isInteger(max) || max < 1) throw new Error(`own data: maxReferences must be an integer >= 1, got ${max}`);
  return { root: abs, references: all.slice(0, max), tests, testRoot };
}
