/**
 * An exported model gives the same anomaly maps in onnxruntime-web inside
 * headless Chromium (the static page web/index.html and its script
 * web/resad-onnx.js) as in onnxruntime-node and the tfjs path. Needs a
 * Chromium binary (Debian: apt-get install chromium; CI installs it) and
 * onnxruntime-node; skips, saying which is missing, otherwise.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as http from 'http';
import { initEngine } from '../../src/engine/index';
import { createBackbone } from '../../src/backbones/index';
import { ResADModel } from '../../src/resad/model';
import { CPU_CONFIG } from '../../src/resad/config';
import { exportResADOnnx, onnxRuntime, OnnxResADRunner } from '../../src/onnx/index';
import { Rng } from '../../src/util/rng';
import { serveStatic, webMounts } from '../../scripts/serve-web';

const CHROMIUM = [process.env.RESAD_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p): p is string => p !== undefined && fs.existsSync(p));

describe('web: the exported model in onnxruntime-web, headless Chromium', function () {
  this.timeout(180000);
  let dir: string;
  let server: http.Server;

  before(async function () {
    const missing = CHROMIUM === undefined ? 'no Chromium (apt-get install chromium, or RESAD_CHROMIUM=path)' : onnxRuntime() === null ? 'onnxruntime-node is not installed' : null;
    if (missing !== null) {
      console.log(`    (skipped: ${missing})`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-web-'));
    server = await serveStatic({ ...webMounts(), '/case/': dir }, 0);
  });
  after(() => {
    server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('index.html loads; resad-onnx.js reads the metadata and gives the onnxruntime-node maps (max |diff| < 1e-4 relative)', async () => {
    await initEngine({ quiet: true });
    const backbone = await createBackbone('nsfw_mobilenetv2');
    const size = 64;
    const model = await ResADModel.create({ ...CPU_CONFIG, imageSize: size, flowBlocks: 2 }, { backbone });
    model.scoreStats = model.flows.map((_, l) => ({ nll: { mean: 0.9, std: 0.05 + 0.01 * l }, distance: { mean: 3, std: 0.8 } }));
    const rng = new Rng(11);
    const image = (): Float32Array => Float32Array.from({ length: size * size * 3 }, () => rng.uniform());
    const refs = [image(), image()];
    const queries = [image(), image()];
    const bytes = exportResADOnnx(model);
    fs.writeFileSync(path.join(dir, 'model.onnx'), bytes);
    fs.writeFileSync(path.join(dir, 'images.bin'), Buffer.from(new Float32Array([...refs, ...queries].flatMap((a) => [...a])).buffer));
    const runner = await OnnxResADRunner.fromBytes(bytes);
    const asImage = (data: Float32Array) => ({ width: size, height: size, normalized: false, data });
    const pool = await runner.pool(refs.map(asImage));
    const expected = await runner.score(queries.map(asImage), pool);
    const tfjs = model.predict(queries.map(asImage), model.buildPool(refs.map(asImage)));
    await runner.release();
    model.dispose();

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const puppeteer = require('puppeteer-core') as typeof import('puppeteer-core');
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      const port = (server.address() as { port: number }).port;
      await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load' });
      assert.equal(await page.title(), 'resad: anomaly maps in the browser (onnxruntime-web)');
      // A string, not a function: tsx would wrap a function's inner names in a helper the page does not have.
      const result = (await page.evaluate(`(async () => {
        const n = ${size};
        const model = await (await fetch('/case/model.onnx')).arrayBuffer();
        const all = new Float32Array(await (await fetch('/case/images.bin')).arrayBuffer());
        const per = n * n * 3;
        const img = (i) => all.slice(i * per, (i + 1) * per);
        const runner = await window.resadOnnx.createRunner(window.ort, model);
        const pool = await runner.pool([img(0), img(1)]);
        const out = [];
        for (const i of [2, 3]) {
          const r = await runner.score(img(i), pool);
          out.push({ map: Array.from(r.map), score: r.score });
        }
        return { imageSize: runner.info.imageSize, levels: runner.info.levels.length, out };
      })()`)) as { imageSize: number; levels: number; out: Array<{ map: number[]; score: number }> };
      assert.deepEqual(errors, []);
      assert.equal(result.imageSize, size);
      assert.equal(result.levels, 3);
      result.out.forEach((r, i) => {
        const ref = expected.maps[i].data;
        let scale = 1;
        let diff = 0;
        let diffTfjs = 0;
        for (let j = 0; j < ref.length; j++) {
          scale = Math.max(scale, Math.abs(ref[j]));
          diff = Math.max(diff, Math.abs(r.map[j] - ref[j]));
          diffTfjs = Math.max(diffTfjs, Math.abs(r.map[j] - tfjs.maps[i].data[j]));
        }
        assert.ok(diff < 1e-4 * scale, `image ${i}: browser vs onnxruntime-node ${diff} (scale ${scale})`);
        assert.ok(diffTfjs < 1e-4 * scale, `image ${i}: browser vs tfjs ${diffTfjs}`);
        assert.ok(Math.abs(r.score - expected.scores[i]) < 1e-4 * scale);
      });
    } finally {
      await browser.close();
    }
  });
});
