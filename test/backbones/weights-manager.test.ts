/**
 * The weights manager against a loopback HTTP server this test starts (the
 * real sources, github.com and huggingface.co, are never contacted): progress,
 * resume after a cut or stalled connection, redirects, hash and HTTP errors,
 * add / verify with a fake fit checker, lookup order and its error, the CLI.
 */
import { strict as assert } from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { AddressInfo } from 'net';
import { runCli } from '../helpers/run-cli';
import {
  WEIGHT_SOURCES,
  WeightsChecker,
  addWeights,
  downloadFile,
  downloadUrl,
  findWeights,
  getWeights,
  listWeights,
  readWeightsManifest,
  resolveWeights,
  setWeightsChecker,
  sharedBackbonesDir,
  userCacheDir,
  verifyWeights,
  weightsDir,
} from '../../src/backbones/weights/index';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void;

const sha = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');

/** A deterministic body (no randomness in tests), large enough to arrive in several chunks. */
function body(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Serves `data`, honouring `Range: bytes=N-` unless told not to. */
function serve(data: Buffer, options: { ignoreRange?: boolean } = {}): Handler {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !options.ignoreRange) {
      const start = Number(m[1]);
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { 'content-length': data.length - start, 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` });
      res.end(data.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': data.length });
    res.end(data);
  };
}

/** Fake fit check: a file starting with "BAD" lacks a tensor; the format follows the extension (a .part keeps the real one's). */
const fakeChecker: WeightsChecker = (backbone, file) => {
  const head = fs.readFileSync(file).subarray(0, 3).toString('latin1');
  if (head === 'BAD') throw new Error(`${file} does not fit ${backbone}: it has no tensor 'layer1.0.conv1.weight' (a file of another architecture?)`);
  return { checked: 7, format: /\.onnx(\.part)?$/.test(file) ? 'onnx' : 'safetensors' };
};

/** Every file under `dir` (relative), for "nothing was left" checks. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

describe('backbones/weights manager', function () {
  this.timeout(20000);
  const ENV = ['RESAD_HOME', 'RESAD_SHARED_BACKBONES', 'RESAD_WEIGHTS_BASE_URL', 'RESAD_QUIET'] as const;
  const savedEnv = new Map<string, string | undefined>();
  let server: http.Server;
  let base: string;
  const routes = new Map<string, Handler>();
  let seen: { path: string; range: string | undefined }[] = [];
  let tmp: string;
  let shared: string;

  before(async () => {
    for (const k of ENV) savedEnv.set(k, process.env[k]);
    server = http.createServer((req, res) => {
      const p = new URL(req.url ?? '/', 'http://loopback').pathname;
      const hit = seen.filter((s) => s.path === p).length;
      seen.push({ path: p, range: req.headers.range });
      const handler = routes.get(p);
      if (!handler) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not here');
        return;
      }
      handler(req, res, hit);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    setWeightsChecker(null);
  });

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-weights-'));
    shared = path.join(tmp, 'shared');
    fs.mkdirSync(shared);
    process.env.RESAD_HOME = path.join(tmp, 'home');
    process.env.RESAD_SHARED_BACKBONES = shared;
    process.env.RESAD_WEIGHTS_BASE_URL = base;
    process.env.RESAD_QUIET = '1';
    routes.clear();
    seen = [];
    setWeightsChecker(fakeChecker);
  });

  afterEach(() => {
    server.closeAllConnections();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const pathOf = (name: string): string => new URL(WEIGHT_SOURCES[name].url).pathname;

  describe('cache folder and catalogue', () => {
    it('RESAD_HOME wins; else the platform cache folder', () => {
      assert.equal(weightsDir(), path.join(tmp, 'home', 'weights'));
      const home = '/home/u';
      assert.equal(userCacheDir({ platform: 'linux', env: {}, home }), '/home/u/.cache/resad');
      assert.equal(userCacheDir({ platform: 'linux', env: { XDG_CACHE_HOME: '/xdg' }, home }), '/xdg/resad');
      assert.equal(userCacheDir({ platform: 'linux', env: { XDG_CACHE_HOME: 'relative' }, home }), '/home/u/.cache/resad');
      assert.equal(userCacheDir({ platform: 'darwin', env: {}, home }), '/home/u/Library/Caches/resad');
      assert.equal(userCacheDir({ platform: 'win32', env: { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, home: 'C:\\Users\\u' }), 'C:\\Users\\u\\AppData\\Local\\resad\\Cache');
      assert.equal(weightsDir({ platform: 'linux', env: {}, home }), '/home/u/.cache/resad/weights');
      assert.equal(weightsDir({ platform: 'win32', env: { LOCALAPPDATA: 'C:\\L' }, home: 'C:\\Users\\u' }), 'C:\\L\\resad\\Cache\\weights');
    });

    it('the catalogue has the exact published entries; a mirror replaces the origin only', () => {
      assert.deepEqual(Object.keys(WEIGHT_SOURCES).sort(), ['mobilenetv2_imagenet', 'resnet18', 'resnet50', 'resnet50_v2', 'wide_resnet50_2']);
      assert.equal(WEIGHT_SOURCES.resnet50_v2.sha256, '79102261eb6e5fd7af5d27f41316293e388c5cb691e5d25bfb035c4f64fefe31');
      assert.equal(WEIGHT_SOURCES.mobilenetv2_imagenet.bytes, 14246826);
      assert.equal(WEIGHT_SOURCES.wide_resnet50_2.url, 'https://huggingface.co/timm/wide_resnet50_2.tv_in1k/resolve/main/model.safetensors');
      assert.equal(WEIGHT_SOURCES.resnet18.sha256, null);
      const src = WEIGHT_SOURCES.resnet18;
      assert.equal(downloadUrl(src, {}), src.url);
      assert.equal(downloadUrl(src, { RESAD_WEIGHTS_BASE_URL: 'https://m.example/resad/' }), 'https://m.example/resad/timm/resnet18.tv_in1k/resolve/main/model.safetensors');
      assert.throws(() => downloadUrl(src, { RESAD_WEIGHTS_BASE_URL: 'ftp://x' }), /RESAD_WEIGHTS_BASE_URL.*http/);
    });

    it('a damaged manifest is an error naming the file', () => {
      fs.mkdirSync(weightsDir(), { recursive: true });
      const file = path.join(weightsDir(), 'weights.json');
      fs.writeFileSync(file, '{"version": 1, "weights": {');
      assert.throws(() => readWeightsManifest(), (e: Error) => e.message.includes(file) && /damaged/.test(e.message));
      assert.throws(() => findWeights('resnet18'), (e: Error) => e.message.includes(file));
    });
  });

  describe('download', () => {
    it('downloads into the cache with progress, records the sha256, then does nothing on a rerun', async () => {
      const data = body(300000);
      routes.set(pathOf('resnet18'), serve(data));
      const calls: [number, number | null][] = [];
      const r = await getWeights('resnet18', { onProgress: (done, total) => calls.push([done, total]) });
      assert.equal(r.status, 'downloaded');
      assert.ok(calls.length >= 2, `progress calls: ${calls.length}`);
      assert.deepEqual(calls[calls.length - 1], [data.length, data.length]);
      assert.ok(calls.every(([d], i) => i === 0 || d >= calls[i - 1][0]), 'progress only grows');
      const file = path.join(weightsDir(), 'resnet18.tv_in1k.safetensors');
      assert.equal(r.path, file);
      assert.ok(fs.readFileSync(file).equals(data));
      const entry = readWeightsManifest().weights.resnet18;
      assert.equal(entry.sha256, sha(data));
      assert.equal(entry.bytes, data.length);
      assert.equal(entry.via, 'download');
      assert.equal(entry.from, `${base}${pathOf('resnet18')}`);
      assert.ok(!Number.isNaN(Date.parse(entry.recordedAt)));
      assert.deepEqual(filesUnder(weightsDir()), ['resnet18.tv_in1k.safetensors', 'weights.json']);

      const again = await getWeights('resnet18');
      assert.equal(again.status, 'present');
      assert.equal(seen.length, 1, 'no second request');
      const forced = await getWeights('resnet18', { force: true });
      assert.equal(forced.status, 'downloaded');
      assert.equal(seen.length, 2);
      assert.deepEqual(findWeights('resnet18'), { path: file, origin: 'cache' });
    });

    it('prints a byte progress line (size, MB/s) when no callback is given', async () => {
      const data = body(50000);
      routes.set('/f', serve(data));
      const lines: string[] = [];
      const stream = { write: (s: string) => (lines.push(s), true), isTTY: false } as unknown as NodeJS.WritableStream;
      await downloadFile(`${base}/f`, path.join(tmp, 'f.bin'), { stream, quiet: false, label: 'download f' });
      const last = lines[lines.length - 1];
      assert.match(last, /^download f \[#{24}\] 50\.0 kB\/50\.0 kB \d+\.\d MB\/s/);
    });

    it('resumes after a cut connection with Range from the bytes already written', async () => {
      const data = body(256 * 1024, 2);
      const half = 100000;
      const dest = path.join(tmp, 'out', 'w.bin');
      let partAtResume = -1;
      routes.set('/cut', (req, res, hit) => {
        if (hit === 0) {
          res.writeHead(200, { 'content-length': data.length });
          // Destroy only once the half is handed to the kernel: the client gets exactly `half` bytes, then the end.
          res.write(data.subarray(0, half), () => res.socket?.destroy());
          return;
        }
        partAtResume = fs.statSync(`${dest}.part`).size;
        serve(data)(req, res, hit);
      });
      const r = await downloadFile(`${base}/cut`, dest, { sha256: sha(data), bytes: data.length, retryDelayMs: 0, quiet: true });
      assert.deepEqual(
        seen.map((s) => s.range),
        [undefined, `bytes=${half}-`],
      );
      assert.equal(partAtResume, half, 'the Range starts exactly at what the .part holds');
      assert.equal(r.attempts, 2);
      assert.ok(fs.readFileSync(dest).equals(data), 'byte-identical');
      assert.ok(!fs.existsSync(`${dest}.part`));
    });

    it('a stalled connection counts as cut; a .part left by an earlier run is resumed', async () => {
      const data = body(200000, 3);
      const dest = path.join(tmp, 'w.bin');
      routes.set('/stall', (req, res, hit) => {
        if (hit === 0) {
          res.writeHead(200, { 'content-length': data.length });
          res.write(data.subarray(0, 50000)); // ...and nothing more
          return;
        }
        serve(data)(req, res, hit);
      });
      const r = await downloadFile(`${base}/stall`, dest, { stallTimeoutMs: 300, retryDelayMs: 0, quiet: true });
      assert.deepEqual(seen.map((s) => s.range), [undefined, 'bytes=50000-']);
      assert.ok(fs.readFileSync(dest).equals(data));
      assert.equal(r.sha256, sha(data));

      // A previous process died at 120000 bytes: this run resumes its .part.
      seen = [];
      const dest2 = path.join(tmp, 'w2.bin');
      fs.writeFileSync(`${dest2}.part`, data.subarray(0, 120000));
      routes.set('/plain', serve(data));
      const r2 = await downloadFile(`${base}/plain`, dest2, { quiet: true });
      assert.equal(r2.resumedFrom, 120000);
      assert.deepEqual(seen.map((s) => s.range), ['bytes=120000-']);
      assert.ok(fs.readFileSync(dest2).equals(data));
    });

    it('starts over when the server ignores ranges (200); a complete .part answered 416 is complete', async () => {
      const data = body(80000, 4);
      const dest = path.join(tmp, 'a.bin');
      fs.writeFileSync(`${dest}.part`, data.subarray(0, 30000));
      routes.set('/norange', serve(data, { ignoreRange: true }));
      await downloadFile(`${base}/norange`, dest, { quiet: true });
      assert.equal(seen[0].range, 'bytes=30000-');
      assert.ok(fs.readFileSync(dest).equals(data), 'not appended to the old prefix');

      const dest2 = path.join(tmp, 'b.bin');
      fs.writeFileSync(`${dest2}.part`, data);
      routes.set('/full', serve(data));
      const r = await downloadFile(`${base}/full`, dest2, { bytes: data.length, sha256: sha(data), quiet: true });
      assert.equal(r.bytes, data.length);
      assert.ok(fs.readFileSync(dest2).equals(data));

      // 416 for a .part of the wrong size: discarded and downloaded again.
      const dest3 = path.join(tmp, 'c.bin');
      fs.writeFileSync(`${dest3}.part`, Buffer.concat([data, Buffer.from('extra')]));
      routes.set('/full3', serve(data));
      await downloadFile(`${base}/full3`, dest3, { retryDelayMs: 0, quiet: true });
      assert.ok(fs.readFileSync(dest3).equals(data));
    });

    it('gives up after the retries, keeping the .part for a rerun', async () => {
      routes.set('/dead', (_req, res, hit) => {
        if (hit > 0) return void res.socket?.destroy();
        res.writeHead(200, { 'content-length': 5000 });
        res.write(body(1000), () => res.socket?.destroy());
      });
      const dest = path.join(tmp, 'd.bin');
      await assert.rejects(
        downloadFile(`${base}/dead`, dest, { retries: 2, retryDelayMs: 0, quiet: true }),
        (e: Error) => e.message.includes(`download of ${base}/dead failed after 3 attempts`) && e.message.includes(`kept in ${dest}.part, run again to resume`),
      );
      assert.deepEqual(seen.map((s) => s.range), [undefined, 'bytes=1000-', 'bytes=1000-']);
      assert.ok(!fs.existsSync(dest));
      assert.equal(fs.statSync(`${dest}.part`).size, 1000);
    });

    it('follows a redirect chain (absolute, relative, 301/302/307) and refuses a loop', async () => {
      const data = body(40000, 5);
      routes.set('/r1', (_q, res) => (res.writeHead(302, { location: `${base}/hop/r2` }), res.end()));
      routes.set('/hop/r2', (_q, res) => (res.writeHead(301, { location: '../lfs/r3?sig=1' }), res.end()));
      routes.set('/lfs/r3', (_q, res) => (res.writeHead(307, { location: '/cdn/file' }), res.end()));
      routes.set('/cdn/file', serve(data));
      const dest = path.join(tmp, 'r.bin');
      const r = await downloadFile(`${base}/r1`, dest, { quiet: true });
      assert.deepEqual(seen.map((s) => s.path), ['/r1', '/hop/r2', '/lfs/r3', '/cdn/file']);
      assert.equal(r.finalUrl, `${base}/cdn/file`);
      assert.ok(fs.readFileSync(dest).equals(data));

      routes.set('/loop', (_q, res) => (res.writeHead(302, { location: '/loop' }), res.end()));
      await assert.rejects(downloadFile(`${base}/loop`, path.join(tmp, 'l.bin'), { quiet: true }), /more than 10 redirects/);
    });

    it('refuses a wrong hash and leaves nothing in the cache', async () => {
      routes.set(pathOf('resnet50_v2'), serve(body(60000, 6)));
      const url = `${base}${pathOf('resnet50_v2')}`;
      await assert.rejects(
        getWeights('resnet50_v2'),
        (e: Error) => e.message.includes(url) && e.message.includes(`expected ${WEIGHT_SOURCES.resnet50_v2.sha256}`) && e.message.includes(`got ${sha(body(60000, 6))}`),
      );
      assert.deepEqual(filesUnder(weightsDir()), [], 'no file, no .part, no manifest');
      assert.equal(findWeights('resnet50_v2'), null);
    });

    it('a 404 names the URL; nothing is written', async () => {
      const url = `${base}${pathOf('resnet50')}`;
      await assert.rejects(getWeights('resnet50'), (e: Error) => e.message.includes(`404 Not Found: ${url}`));
      assert.deepEqual(filesUnder(weightsDir()), []);
    });

    it('a download that fails the fit check is deleted, not cached', async () => {
      routes.set(pathOf('resnet18'), serve(Buffer.concat([Buffer.from('BAD'), body(1000)])));
      await assert.rejects(getWeights('resnet18'), /does not fit resnet18.*layer1\.0\.conv1\.weight/);
      assert.deepEqual(filesUnder(weightsDir()), []);
    });
  });

  describe('add, verify, lookup', () => {
    it('add refuses a file the checker refuses (nothing written), copies and records a good one; verify catches a later change', async () => {
      const bad = path.join(tmp, 'bad.safetensors');
      fs.writeFileSync(bad, Buffer.concat([Buffer.from('BAD'), body(100)]));
      await assert.rejects(addWeights('resnet50_v2', bad), /no tensor 'layer1\.0\.conv1\.weight'/);
      assert.ok(!fs.existsSync(weightsDir()), 'nothing written');

      const good = path.join(tmp, 'mine.safetensors');
      const data = body(5000, 7);
      fs.writeFileSync(good, data);
      const r = await addWeights('resnet50_v2', good);
      // Another format than the catalogue's .onnx: named after the backbone, with its own extension.
      assert.equal(r.path, path.join(weightsDir(), 'resnet50_v2.safetensors'));
      assert.equal(r.matchesPublished, null, 'another format than the published file: nothing to compare');
      assert.ok(fs.readFileSync(r.path).equals(data));
      const entry = readWeightsManifest().weights.resnet50_v2;
      assert.deepEqual([entry.sha256, entry.bytes, entry.via, entry.from], [sha(data), data.length, 'add', good]);
      assert.deepEqual(resolveWeights('resnet50_v2'), { path: r.path, origin: 'cache' });

      const onnx = path.join(tmp, 'zoo.onnx');
      fs.writeFileSync(onnx, data);
      assert.equal((await addWeights('mobilenetv2_imagenet', onnx)).path, path.join(weightsDir(), 'mobilenetv2-7.onnx'));

      const ok = await verifyWeights('resnet50_v2');
      assert.equal(ok.length, 1);
      assert.equal(ok[0].status, 'ok', ok[0].problems.join('; '));

      const changed = Buffer.from(data);
      changed[10] ^= 0xff;
      fs.writeFileSync(r.path, changed);
      const [after] = await verifyWeights('resnet50_v2');
      assert.equal(after.status, 'problem');
      assert.match(after.problems.join(' '), /changed after it was recorded/);
      assert.ok(fs.existsSync(r.path), 'reported, not deleted');
      const all = await verifyWeights();
      assert.deepEqual(
        all.map((s) => [s.backbone, s.status]),
        [['resnet50_v2', 'problem'], ['mobilenetv2_imagenet', 'ok'], ['wide_resnet50_2', 'absent'], ['resnet18', 'absent'], ['resnet50', 'absent']],
      );

      fs.writeFileSync(r.path, data.subarray(0, 100));
      assert.throws(() => findWeights('resnet50_v2'), /100 bytes, but 5000 were recorded/);
    });

    it('verify reports a file that does not fit, and a catalogue file that is not the published one', async () => {
      fs.mkdirSync(weightsDir(), { recursive: true });
      fs.writeFileSync(path.join(weightsDir(), 'mobilenetv2-7.onnx'), body(300));
      fs.writeFileSync(path.join(weightsDir(), 'resnet18.tv_in1k.safetensors'), Buffer.from('BAD!'));
      const byName = new Map((await verifyWeights()).map((s) => [s.backbone, s]));
      assert.match(byName.get('mobilenetv2_imagenet')!.problems.join(' '), /not the published c1c51358/);
      assert.match(byName.get('resnet18')!.problems.join(' '), /layer1\.0\.conv1\.weight/);
      const [named] = await verifyWeights('resnet50');
      assert.equal(named.status, 'problem');
      assert.match(named.problems[0], /npx resad weights get resnet50/);
    });

    it('resolveWeights: explicit path wins, a missing one names its source; cache before the shared copy; nothing anywhere says what to run', async () => {
      let err: Error | null = null;
      try {
        resolveWeights('wide_resnet50_2');
      } catch (e) {
        err = e as Error;
      }
      assert.ok(err);
      assert.match(err.message, /npx resad weights get wide_resnet50_2/);
      assert.ok(err.message.includes(path.join(weightsDir(), 'wide_resnet50_2.tv_in1k.safetensors')), err.message);
      assert.ok(err.message.includes(`${base}/timm/wide_resnet50_2.tv_in1k/resolve/main/model.safetensors`), err.message);
      assert.match(err.message, /npx resad weights add wide_resnet50_2 FILE/);
      assert.throws(() => resolveWeights('wide_resnet50_2', undefined, { envVar: 'RESAD_WRN50_WEIGHTS' }), /or set RESAD_WRN50_WEIGHTS=FILE/);

      const mine = path.join(tmp, 'explicit.safetensors');
      fs.writeFileSync(mine, 'x');
      assert.deepEqual(resolveWeights('wide_resnet50_2', { path: mine, via: '--weights' }), { path: mine, origin: '--weights' });
      assert.throws(() => resolveWeights('wide_resnet50_2', { path: path.join(tmp, 'nope.safetensors'), via: 'RESAD_WRN50_WEIGHTS' }), /nope\.safetensors \(from RESAD_WRN50_WEIGHTS\) does not exist/);

      // The shared development copy, then the cache before it.
      assert.equal(sharedBackbonesDir(), shared);
      fs.writeFileSync(path.join(shared, 'resnet50_v2.safetensors'), 'dev');
      assert.deepEqual(resolveWeights('resnet50_v2'), { path: path.join(shared, 'resnet50_v2.safetensors'), origin: 'shared' });
      fs.mkdirSync(weightsDir(), { recursive: true });
      fs.writeFileSync(path.join(weightsDir(), 'resnet50-v2-7.onnx'), 'placed by hand');
      assert.deepEqual(resolveWeights('resnet50_v2'), { path: path.join(weightsDir(), 'resnet50-v2-7.onnx'), origin: 'cache' });
      process.env.RESAD_SHARED_BACKBONES = '';
      assert.equal(sharedBackbonesDir(), null);
    });

    it('get records a file placed in the folder by hand instead of downloading it', async () => {
      fs.mkdirSync(weightsDir(), { recursive: true });
      const placed = path.join(weightsDir(), 'resnet18.tv_in1k.safetensors');
      fs.writeFileSync(placed, body(2000, 8));
      const r = await getWeights('resnet18');
      assert.equal(r.status, 'recorded');
      assert.equal(seen.length, 0);
      assert.equal(readWeightsManifest().weights.resnet18.via, 'found');
    });

    it('listWeights: one row per catalogue entry, present or not, cache or shared', () => {
      fs.writeFileSync(path.join(shared, 'mobilenetv2_1.0.safetensors'), 'dev');
      const rows = new Map(listWeights().map((l) => [l.backbone, l]));
      assert.deepEqual([...rows.keys()].sort(), Object.keys(WEIGHT_SOURCES).sort());
      const mob = rows.get('mobilenetv2_imagenet')!;
      assert.deepEqual([mob.present, mob.location, mob.path, mob.bytes], [true, 'shared', path.join(shared, 'mobilenetv2_1.0.safetensors'), 3]);
      const r50 = rows.get('resnet50_v2')!;
      assert.deepEqual([r50.present, r50.bytes, r50.licence, r50.url], [false, 102442452, 'Apache-2.0', `${base}${pathOf('resnet50_v2')}`]);
    });
  });

  describe('with the real fit check', () => {
    it('finds ../shared/backbones from the package root and verifies its copies (skipped where absent)', async function () {
      delete process.env.RESAD_SHARED_BACKBONES;
      const dev = sharedBackbonesDir();
      try {
        require('../../src/backbones/weight-fit');
      } catch {
        this.skip(); // the checker's modules are not there (yet)
      }
      if (dev === null) this.skip(); // a user's clone has no development copies
      setWeightsChecker(null);
      const found = findWeights('mobilenetv2_imagenet');
      assert.deepEqual(found, { path: path.join(dev!, 'mobilenetv2_1.0.safetensors'), origin: 'shared' });
      const [status] = await verifyWeights('mobilenetv2_imagenet');
      assert.equal(status.status, 'ok', status.problems.join('; '));
      assert.ok((status.checked ?? 0) > 50, `tensors checked: ${status.checked}`);
      // A file of another architecture is refused by name, and nothing is written.
      await assert.rejects(addWeights('resnet50_v2', found!.path), /does not fit resnet50_v2: it has no tensor '/);
      assert.ok(!fs.existsSync(weightsDir()));
    });
  });

  describe('cli: resad weights', () => {
    it('list, get, get again, verify, and usage errors', async () => {
      const data = body(120000, 9);
      routes.set(pathOf('resnet18'), serve(data));

      const list = await runCli(['weights', 'list']);
      assert.equal(list.code, 0, list.err);
      assert.ok(list.out.includes(`weights folder: ${weightsDir()}`));
      for (const name of Object.keys(WEIGHT_SOURCES)) assert.match(list.out, new RegExp(`^${name} +no +`, 'm'));
      assert.match(list.out, /not downloaded/);
      assert.ok(list.out.includes(`${base}${pathOf('resnet18')}`), 'mirror URL shown');

      const get = await runCli(['weights', 'get', 'resnet18']);
      assert.equal(get.code, 0, get.err);
      assert.match(get.out, /resnet18: downloaded 120\.0 kB from http:\/\/127\.0\.0\.1/);
      assert.ok(get.out.includes(sha(data)));
      const file = path.join(weightsDir(), 'resnet18.tv_in1k.safetensors');
      assert.ok(fs.readFileSync(file).equals(data));

      const list2 = await runCli(['weights', 'list']);
      assert.ok(new RegExp(`^resnet18 +yes +120\\.0 kB .*${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm').test(list2.out), list2.out);

      const again = await runCli(['weights', 'get', 'resnet18']);
      assert.match(again.out, /already downloaded and verified/);
      assert.equal(seen.length, 1);

      const verify = await runCli(['weights', 'verify', 'resnet18']);
      assert.equal(verify.code, 0, verify.out + verify.err);
      assert.match(verify.out, /resnet18 +ok/);
      fs.appendFileSync(file, 'x');
      const bad = await runCli(['weights', 'verify']);
      assert.equal(bad.code, 1);
      assert.match(bad.out, /resnet18 +PROBLEM/);

      routes.set(pathOf('resnet50_v2'), serve(body(1000)));
      const refused = await runCli(['weights', 'get', 'resnet50_v2']);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /^resad weights: sha256 mismatch for http/m);

      assert.equal((await runCli(['weights', 'get'])).code, 2);
      assert.match((await runCli(['weights', 'get'])).err, /weights get needs NAME/);
      assert.match((await runCli(['weights', 'fetch'])).err, /unknown subcommand "fetch"/);
      assert.match((await runCli(['weights', 'list', '--force'])).err, /--force only applies/);
      const help = await runCli(['weights', '--help']);
      assert.equal(help.code, 0);
      assert.match(help.out, /resad weights get NAME \[--force\]/);
    });
  });
});
