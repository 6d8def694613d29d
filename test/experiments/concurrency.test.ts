import { strict as assert } from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateDataset } from '../../src/data/procedural/index';
import { initEngine } from '../../src/engine/index';
import { customProtocol, ExperimentSession, Protocol, registerMethod, ResultsStore, runKeyOf, shotSweepSpecs, unregisterMethod } from '../../src/experiments/index';
import { ClaimOwner, tryClaim, withLockSync } from '../../src/util/claim';
import { TINY_CONFIG } from '../helpers/tiny-backbone';
import { meanImageScorer } from '../helpers/mean-image-scorer';

const REPO = path.resolve(__dirname, '..', '..');
const CHILD = path.join(REPO, 'test', 'helpers', 'experiment-child.ts');

/** A pid that belonged to a process of this host which has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid as number;
}

function writeClaim(file: string, owner: Partial<ClaimOwner>, ageMs = 0): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ hostname: os.hostname(), startedAt: new Date().toISOString(), token: 'test-token', purpose: 'test', ...owner }));
  if (ageMs > 0) {
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(file, t, t);
  }
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): { ready: Promise<void>; done: Promise<ChildResult> } {
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('ready\n')) onReady();
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildResult>((resolve) => child.on('close', (code) => (onReady(), resolve({ code, stdout, stderr }))));
  return { ready, done };
}

describe('experiments: several processes on one results store', function () {
  this.timeout(180000);
  let dir: string;
  let data: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-concurrency-'));
    data = path.join(dir, 'data');
    await generateDataset({ root: data, classes: ['wood', 'hex_nut', 'marble', 'carpet'], size: 48, trainPerClass: 5, testGoodPerClass: 3, testDefectPerType: 1, quiet: true });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('two real processes running one sweep compute every run once: no duplicate, no lost record, one training', async () => {
    const store = path.join(dir, 'store-two');
    const go = path.join(dir, 'go');
    const children = [0, 1].map(() => collect(spawn(process.execPath, ['--require', 'tsx/cjs', CHILD, store, data, go], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })));
    // Both start computing at the same moment, so they really overlap.
    await Promise.all(children.map((c) => c.ready));
    fs.writeFileSync(go, '');
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const outputs = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop() as string) as { pid: number; log: string[]; outcomes: Array<{ key: string; skipped: boolean; elsewhere: { pid: number } | null }> });

    const records = new ResultsStore(store).load();
    const keys = records.map((r) => r.key);
    assert.equal(keys.length, 8, `records: ${keys.length}`);
    assert.equal(new Set(keys).size, 8, 'a run was recorded twice');
    for (const out of outputs) {
      // Every process ends with every record (its own, the other's, or waited for).
      assert.deepEqual([...out.outcomes.map((o) => o.key)].sort(), [...keys].sort());
    }
    const computed = outputs.flatMap((o) => o.outcomes.filter((x) => !x.skipped).map((x) => x.key));
    assert.deepEqual(computed.sort(), [...keys].sort(), 'each run computed by exactly one process');
    const log = outputs.flatMap((o) => o.log).join('\n');
    assert.equal((log.match(/: training on /g) ?? []).length, 1, `one training:\n${log}`);
    assert.match(log, /running in another process \(pid \d+/);
    assert.equal(fs.readFileSync(path.join(store, 'results.csv'), 'utf8').trim().split('\n').length, 1 + 8 * 3);
    // No claim or lock is left behind.
    assert.deepEqual(fs.readdirSync(path.join(store, 'claims')), []);
    assert.ok(!fs.existsSync(path.join(store, 'results.lock')));
    const models = fs.readdirSync(path.join(store, 'models'));
    assert.equal(models.length, 1);
    assert.ok(!fs.existsSync(path.join(store, 'models', models[0], 'training.claim')));
  });

  it('takes over a claim whose process died; keeps a live one; release removes only its own claim', () => {
    const file = path.join(dir, 'claims-unit', 'a.claim');
    const dead = deadPid();
    writeClaim(file, { pid: dead });
    const got = tryClaim(file);
    assert.ok(got.status === 'claimed');
    assert.match(got.tookOver?.reason ?? '', new RegExp(`process ${dead} is no longer running`));
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).pid, process.pid);
    // A second claimant in this process sees a live holder.
    const second = tryClaim(file);
    assert.ok(second.status === 'busy' && second.holder.pid === process.pid);
    got.claim.release();
    assert.ok(!fs.existsSync(file));

    // A live process of this host (our parent) keeps its claim, however old...
    writeClaim(file, { pid: process.ppid }, 60000);
    const live = tryClaim(file, { staleMs: 3600000 });
    assert.ok(live.status === 'busy' && live.holder.pid === process.ppid);
    // ...unless it was not refreshed within staleMs (another host's claim, or a reused pid).
    const old = tryClaim(file, { staleMs: 1000 });
    assert.ok(old.status === 'claimed');
    assert.match(old.tookOver?.reason ?? '', /not refreshed/);
    // A claim taken over meanwhile is not removed by its former owner.
    writeClaim(file, { pid: process.ppid, token: 'successor' });
    old.claim.release();
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).token, 'successor');
  });

  it('a lock held by a live process makes a writer wait, then fail naming the lock file; a dead holder is taken over', () => {
    const lock = path.join(dir, 'lock-unit', 'results.lock');
    writeClaim(lock, { pid: process.ppid });
    assert.throws(() => withLockSync(lock, () => 1, { what: 'the test store', waitMs: 150 }), /results\.lock: the test store is locked by pid \d+.*delete .*results\.lock and retry/);
    writeClaim(lock, { pid: deadPid() });
    assert.equal(withLockSync(lock, () => 42, { what: 'the test store', waitMs: 150 }), 42);
    assert.ok(!fs.existsSync(lock));
  });

  describe('in one process', () => {
    let protocol: Protocol;
    before(async () => {
      await initEngine({ quiet: true });
      registerMethod('mean-image', () => meanImageScorer());
      protocol = customProtocol({ name: 'tiny-claims', train: [`${data}:wood`], test: [`mvtec=${data}:marble`], config: { ...TINY_CONFIG, syntheticPerClass: 2 }, shots: [1], referenceSeeds: [0, 1] });
    });
    after(() => unregisterMethod('mean-image'));

    it('leaves a run another live process holds, waits for it, and takes it over once that process dies', async () => {
      const storeDir = path.join(dir, 'store-wait');
      const store = new ResultsStore(storeDir);
      const specs = shotSweepSpecs(protocol, { methods: ['mean-image'] });
      const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      try {
        writeClaim(store.claimFile(runKeyOf(specs[0])), { pid: holder.pid });
        const lines: string[] = [];
        let killed = false;
        const session = new ExperimentSession({
          store: storeDir,
          quiet: true,
          keepExamples: 0,
          pollMs: 30,
          log: (l) => {
            lines.push(l);
            // The other run is done and this session waits: now the holder dies.
            if (!killed && /^waiting for 1 run/.test(l)) {
              killed = true;
              holder.kill('SIGKILL');
            }
          },
        });
        const out = await session.runAll(specs);
        session.dispose();
        const log = lines.join('\n');
        assert.match(log, new RegExp(`K=1 seed=0: running in another process \\(pid ${holder.pid}.*skipped for now`));
        // The held run was left for later, the free one done first, then the held one awaited.
        const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
        assert.ok(at(/skipped for now/) < at(/^done:/) && at(/^done:/) < at(/^waiting for 1 run/), log);
        assert.match(log, /taking over from another process \(its process \d+ is no longer running\)/);
        assert.deepEqual(out.map((o) => o.skipped), [false, false]);
        assert.deepEqual(store.load().map((r) => r.referenceSeed).sort(), [0, 1]);
        assert.ok(!fs.existsSync(store.claimFile(runKeyOf(specs[0]))));
      } finally {
        holder.kill('SIGKILL');
      }
    });
  });
});
