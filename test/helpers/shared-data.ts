/**
 * Real data lives in ../shared/datasets beside the checkout during development
 * and CI, never in the repository. A user's clone has no ../shared: tests that
 * need it skip.
 */
import * as fs from 'fs';
import * as path from 'path';

const candidate = process.env.RESAD_SHARED_DATASETS ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'datasets');

/** Absolute path of the shared real datasets, or null when absent. */
export const SHARED_DATASETS: string | null = fs.existsSync(candidate) ? candidate : null;

/** `describe` that skips (with a visible reason) when the shared datasets are absent. */
export function describeWithSharedData(title: string, body: (root: string) => void): void {
  if (SHARED_DATASETS === null) {
    describe(`${title} (skipped: ../shared/datasets not found)`, () => {
      it.skip('needs ../shared/datasets', () => undefined);
    });
    return;
  }
  const root = SHARED_DATASETS;
  describe(title, () => body(root));
}
