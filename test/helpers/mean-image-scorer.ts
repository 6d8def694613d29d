/** A training-free stand-in method for experiment tests: per-pixel distance to the mean reference image. */
import type { FewShotScorer } from '../../src/evaluation/index';

export function meanImageScorer(size = 32): FewShotScorer {
  return {
    imageSize: size,
    preprocess: { size, mode: 'resize-whole', normalize: false },
    prepareClass(refs) {
      const mean = new Float32Array(refs[0].data.length);
      for (const r of refs) r.data.forEach((v, i) => (mean[i] += v / refs.length));
      return {
        score(images) {
          const maps = images.map((im) => {
            const data = new Float32Array(im.width * im.height);
            for (let p = 0; p < data.length; p++) for (let c = 0; c < 3; c++) data[p] += Math.abs(im.data[3 * p + c] - mean[3 * p + c]);
            return { width: im.width, height: im.height, data };
          });
          return { maps, scores: maps.map((m) => Math.max(...m.data)) };
        },
        release: () => undefined,
      };
    },
  };
}
