/**
 * `resad predict`: a trained model on a NEW class given only a few normal
 * images — anomaly maps (PNG overlays) and scores, no retraining.
 */
import * as path from 'path';
import { Command } from '../command';
import { optionString, UsageError, requiredString } from '../args';
import { describeEngine, initEngine } from '../../engine/index';
import { loadModel } from '../../resad/index';
import { preprocess } from '../../data/transforms';
import { writeGreyPng, writePng } from '../../data/image-io';
import { mapRange, overlayAnomalyMap } from '../../report/overlay';
import { writeJsonAtomicSync } from '../../util/atomic-write';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'anomaly maps and scores for new images of a new class from a few normal references',
  usage: 'Usage: resad predict --model MODEL_DIR --refs IMG... --out DIR IMG...',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train' },
    refs: { multi: true, value: 'IMG', description: 'normal reference images of the class (K-shot)' },
    out: { value: 'DIR', description: 'output folder: <name>_overlay.png, <name>_map.png, scores.json' },
  },
  async run(args) {
    const modelDir = requiredString(args, 'model');
    const out = requiredString(args, 'out');
    const refs = args.options.get('refs') ?? [];
    if (refs.length === 0) throw new UsageError('option --refs needs at least one normal image');
    if (args.positionals.length === 0) throw new UsageError('no images to score (give them after --out DIR)');
    const engine = await initEngine({ quiet: true });
    console.error(describeEngine(engine));
    const model = await loadModel(modelDir);
    try {
      const refImages = await Promise.all(refs.map((r) => preprocess(r, model.preprocess)));
      const pool = model.buildPool(refImages);
      const results: Array<{ image: string; score: number; overlay: string; map: string }> = [];
      const maps = [];
      const images = [];
      try {
        for (const file of args.positionals) {
          const image = await preprocess(file, model.preprocess);
          const pred = model.predict([image], pool);
          images.push(image);
          maps.push(pred.maps[0]);
          results.push({ image: path.resolve(file), score: pred.scores[0], overlay: '', map: '' });
        }
      } finally {
        pool.dispose();
      }
      // One colour scale for the whole call so overlays compare; scores do not depend on it.
      const range = mapRange(maps);
      const used = new Set<string>();
      for (let i = 0; i < results.length; i++) {
        let stem = path.parse(args.positionals[i]).name;
        while (used.has(stem)) stem += '_';
        used.add(stem);
        results[i].overlay = path.join(out, `${stem}_overlay.png`);
        results[i].map = path.join(out, `${stem}_map.png`);
        await writePng(results[i].overlay, overlayAnomalyMap(images[i], maps[i], { range }));
        await writeGreyPng(results[i].map, maps[i], range[1] > range[0] ? range : [range[0], range[0] + 1]);
        console.log(`${results[i].score.toFixed(4)}  ${args.positionals[i]}`);
      }
      writeJsonAtomicSync(path.join(out, 'scores.json'), { model: path.resolve(modelDir), references: refs.map((r) => path.resolve(r)), colourRange: range, results });
    } finally {
      model.dispose();
    }
    return 0;
  },
};
