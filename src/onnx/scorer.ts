/**
 * Scoring with an exported ResAD graph in onnxruntime: the same
 * FewShotScorer contract (src/evaluation/) as the tfjs path
 * (src/resad/evaluate.ts), so evaluation, predict and the benchmarks run on
 * either engine.
 *
 * ```ts
 * const runner = await OnnxResADRunner.fromModel(model);          // export in memory
 * const runner2 = await OnnxResADRunner.fromFile('model.onnx');   // a file from `resad export`
 * const scorer = onnxResADScorer(runner);
 * ```
 */
import * as fs from 'fs';
import type { PreprocessedImage } from '../data/transforms';
import type { FewShotScorer, PreparedClass } from '../evaluation/index';
import type { ResADModel, ScoringOverride } from '../resad/model';
import type { ScoreMap } from '../scoring/anomaly-map';
import { calibrationFromLooScores, DEFAULT_SPREAD_FLOOR, median } from '../resad/calibration';
import type { ScoreCalibration } from '../resad/calibration';
import { decodeModel } from '../util/onnx-proto';
import { exportResADOnnx, ONNX_METADATA_KEY, OnnxModelInfo } from './resad';
import { FloatTensor, OnnxSession } from '../engine/onnxruntime';
import { concatFloat32 } from '../util/float32';

/** The description an exported file carries; throws naming the file when it is not a resad export. */
export function readOnnxModelInfo(bytes: Uint8Array, where: string): OnnxModelInfo {
  let entry: string | undefined;
  try {
    entry = decodeModel(bytes).metadataProps.find((p) => p.key === ONNX_METADATA_KEY)?.value;
  } catch (err) {
    throw new Error(`${where}: not an ONNX model (${(err as Error).message})`);
  }
  if (entry === undefined) throw new Error(`${where}: an ONNX model without resad's metadata; only files written by \`resad export\` can be scored`);
  const info = JSON.parse(entry) as OnnxModelInfo;
  if (info.format !== 'resad-onnx' || info.version !== 1) throw new Error(`${where}: unsupported resad ONNX format ${String(info.format)} v${String(info.version)}`);
  return info;
}

export class OnnxResADRunner {
  private constructor(readonly info: OnnxModelInfo, private readonly session: OnnxSession) {}

  static async fromBytes(bytes: Uint8Array, where = 'ONNX model'): Promise<OnnxResADRunner> {
    const info = readOnnxModelInfo(bytes, where);
    return new OnnxResADRunner(info, await OnnxSession.create(bytes));
  }

  static async fromFile(file: string): Promise<OnnxResADRunner> {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${file}: cannot read the ONNX model: ${(err as Error).message}`);
    }
    return OnnxResADRunner.fromBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  }

  /** A trained tfjs model exported in memory (about 2 s), optionally with other scoring settings. */
  static async fromModel(model: ResADModel, scoring: ScoringOverride = {}): Promise<OnnxResADRunner> {
    return OnnxResADRunner.fromBytes(exportResADOnnx(model, scoring), 'exported model');
  }

  private imagesTensor(images: readonly PreprocessedImage[]): FloatTensor {
    const s = this.info.imageSize;
    const per = s * s * 3;
    const data = new Float32Array(per * images.length);
    images.forEach((im, i) => {
      if (im.width !== s || im.height !== s || im.data.length !== per) throw new Error(`ONNX scorer: image ${i} is ${im.width}x${im.height}, the model takes ${s}x${s}`);
      if (im.normalized) throw new Error('ONNX scorer: images must be in [0,1] (preprocess with normalize: false); the backbone normalises inside the graph');
      data.set(im.data, i * per);
    });
    return { data, dims: [images.length, s, s, 3] };
  }

  /** The class's reference pool from its preprocessed normal images: one [M_l, C_l] block per level. */
  async pool(references: readonly PreprocessedImage[]): Promise<FloatTensor[]> {
    if (references.length === 0) throw new Error('ONNX scorer: no reference images');
    const dummy = Object.fromEntries(this.info.levels.map((lv, l) => [`pool${l}`, { data: new Float32Array(lv.channels), dims: [1, lv.channels] }]));
    const perReference: FloatTensor[][] = [];
    for (const ref of references) {
      const out = await this.session.run({ images: this.imagesTensor([ref]), ...dummy });
      perReference.push(this.info.levels.map((_, l) => out[`features${l}`]));
    }
    return this.joinPools(perReference);
  }

  /** Several pools as one, level by level. */
  private joinPools(pools: readonly FloatTensor[][]): FloatTensor[] {
    return this.info.levels.map((lv, l) => {
      const data = concatFloat32(pools.map((p) => p[l].data));
      return { data, dims: [data.length / lv.channels, lv.channels] };
    });
  }

  /** Maps and image scores, one image per run (memory stays flat whatever the batch). */
  async score(images: readonly PreprocessedImage[], pool: readonly FloatTensor[]): Promise<{ maps: ScoreMap[]; scores: number[] }> {
    const s = this.info.imageSize;
    const feeds = Object.fromEntries(pool.map((p, l) => [`pool${l}`, p]));
    const maps: ScoreMap[] = [];
    const scores: number[] = [];
    for (const im of images) {
      const out = await this.session.run({ images: this.imagesTensor([im]), ...feeds });
      maps.push({ width: s, height: s, data: out.anomaly_map.data.slice() });
      scores.push(out.image_score.data[0]);
    }
    return { maps, scores };
  }

  /**
   * The reference-only threshold of `resad predict` (src/resad/calibration.ts):
   * each reference scored against a pool of the other K - 1.
   */
  async calibrate(references: readonly PreprocessedImage[], spreadFloor = DEFAULT_SPREAD_FLOOR): Promise<ScoreCalibration> {
    if (references.length < 2) throw new Error(`ONNX calibration: leave-one-out needs at least 2 reference images, got ${references.length}`);
    const perReference: FloatTensor[][] = [];
    for (const r of references) perReference.push(await this.pool([r]));
    const looScores: number[] = [];
    const pixels: Float32Array[] = [];
    for (let i = 0; i < references.length; i++) {
      const { maps, scores } = await this.score([references[i]], this.joinPools(perReference.filter((_, j) => j !== i)));
      looScores.push(scores[0]);
      pixels.push(maps[0].data);
    }
    const all = concatFloat32(pixels);
    return calibrationFromLooScores(looScores, median(all), spreadFloor);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** ResAD through onnxruntime as a FewShotScorer. */
export function onnxResADScorer(runner: OnnxResADRunner): FewShotScorer {
  return {
    imageSize: runner.info.imageSize,
    preprocess: { size: runner.info.imageSize, mode: runner.info.resizeMode, normalize: false },
    async prepareClass(references): Promise<PreparedClass> {
      const pool = await runner.pool(references);
      return { score: (images) => runner.score(images, pool), release: () => undefined };
    },
  };
}
