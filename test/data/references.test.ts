import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ReferenceSet,
  ReferenceSetFile,
  drawReferences,
  getOrCreateReferences,
  loadReferences,
  prefixReferences,
  referencesFor,
  referencesPath,
  saveReferences,
} from '../../src/data/references';
import { Sample } from '../../src/data/sample';
import { Rng } from '../../src/util/rng';
import { describeWithSharedData } from '../helpers/shared-data';

/**
 * A fake MVTec-style dataset on disk (empty files are enough: references only
 * check existence). Class 'tiny' has only 2 training normals.
 */
function makeDataset(root: string, counts: Record<string, number>): Sample[] {
  const samples: Sample[] = [];
  const touch = (rel: string): string => {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, '');
    return abs;
  };
  for (const [cls, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) {
      const name = String(i).padStart(3, '0') + '.png';
      samples.push({ imagePath: touch(`${cls}/train/good/${name}`), className: cls, split: 'train', label: 0, defectType: 'good', maskPaths: [] });
    }
    for (let i = 0; i < 4; i++) {
      const name = String(i).padStart(3, '0') + '.png';
      samples.push({ imagePath: touch(`${cls}/test/good/${name}`), className: cls, split: 'test', label: 0, defectType: 'good', maskPaths: [] });
      samples.push({
        imagePath: touch(`${cls}/test/crack/${name}`),
        className: cls,
        split: 'test',
        label: 1,
        defectType: 'crack',
        maskPaths: [touch(`${cls}/ground_truth/crack/${String(i).padStart(3, '0')}_mask.png`)],
      });
    }
  }
  return samples;
}

describe('few-shot references', () => {
  let tmp: string;
  let root: string;
  let samples: Sample[];

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-refs-'));
    root = path.join(tmp, 'datasets', 'toy');
    samples = makeDataset(root, { bottle: 20, cable: 12, tiny: 2 });
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const big = (s: Sample[]): Sample[] => s.filter((x) => x.className !== 'tiny');

  it('draws K distinct training normals of the right class', () => {
    const set = drawReferences(big(samples), { shots: 4, seed: 0 });
    assert.deepEqual(Object.keys(set.classes), ['bottle', 'cable']);
    assert.equal(set.version, 1);
    assert.equal(set.shots, 4);
    for (const [cls, refs] of Object.entries(set.classes)) {
      assert.equal(refs.length, 4);
      assert.equal(new Set(refs).size, 4);
      for (const p of refs) {
        assert.ok(path.isAbsolute(p));
        assert.ok(p.startsWith(path.join(root, cls, 'train', 'good') + path.sep), `${p} is not a training normal of ${cls}`);
      }
    }
  });

  it('is deterministic per seed, and seeds differ', () => {
    const a = drawReferences(big(samples), { shots: 3, seed: 7 });
    assert.deepEqual(drawReferences(big(samples), { shots: 3, seed: 7 }), a);
    const others = [8, 9, 10].map((seed) => drawReferences(big(samples), { shots: 3, seed }).classes.bottle);
    assert.ok(others.some((refs) => JSON.stringify(refs) !== JSON.stringify(a.classes.bottle)));
  });

  it('does not depend on the order of the sample list', () => {
    const a = drawReferences(big(samples), { shots: 5, seed: 1 });
    for (let i = 0; i < 3; i++) {
      const shuffled = new Rng(100 + i).shuffle(big(samples));
      assert.deepEqual(drawReferences(shuffled, { shots: 5, seed: 1 }), a);
    }
    // Duplicated entries (a reader listing a file twice) change nothing either.
    assert.deepEqual(drawReferences([...big(samples), ...big(samples)], { shots: 5, seed: 1 }), a);
  });

  it("adding or removing a class never changes another class's draw", () => {
    const both = drawReferences(big(samples), { shots: 4, seed: 3 });
    const onlyBottle = drawReferences(samples.filter((s) => s.className === 'bottle'), { shots: 4, seed: 3 });
    const viaOption = drawReferences(samples, { shots: 4, seed: 3, classes: ['cable'] });
    assert.deepEqual(onlyBottle.classes.bottle, both.classes.bottle);
    assert.deepEqual(viaOption.classes, { cable: both.classes.cable });
  });

  it('draws are nested: the K-shot set is a prefix of every larger-K set (same seed)', () => {
    const shots = [1, 2, 4, 8, 12];
    const sets = shots.map((k) => drawReferences(big(samples), { shots: k, seed: 5 }));
    for (let i = 0; i + 1 < sets.length; i++) {
      for (const cls of ['bottle', 'cable']) {
        assert.deepEqual(sets[i + 1].classes[cls].slice(0, shots[i]), sets[i].classes[cls], `K=${shots[i]} vs K=${shots[i + 1]}`);
      }
    }
    assert.deepEqual(prefixReferences(sets[3], 2), sets[1]);
    assert.deepEqual(referencesFor(sets[3], 'cable', 4), sets[2].classes.cable);
  });

  it('errors name the class and the counts when there are too few training normals', () => {
    assert.throws(
      () => drawReferences(samples, { shots: 3, seed: 0 }),
      (err: Error) => /class 'tiny'/.test(err.message) && /has 2 training normal/.test(err.message) && /shots = 3/.test(err.message),
    );
    // Test-split normals never count as candidates.
    assert.equal(drawReferences(samples, { shots: 2, seed: 0 }).classes.tiny.length, 2);
    assert.throws(() => drawReferences(samples, { shots: 1, seed: 0, classes: ['nope'] }), /class 'nope' has no samples.*bottle, cable, tiny/);
    assert.throws(() => drawReferences(samples, { shots: 0, seed: 0 }), /shots must be an integer >= 1/);
    assert.throws(() => drawReferences(samples, { shots: 1, seed: -1 }), /seed must be an integer/);
  });

  it('referencesPath follows <datasets>/references/<name>_k<K>_s<seed>.json', () => {
    assert.equal(referencesPath('/d', 'mvtec', 4, 0), path.join('/d', 'references', 'mvtec_k4_s0.json'));
    assert.throws(() => referencesPath('/d', '../evil', 4, 0), /name '..\/evil'/);
  });

  it('saves portable JSON: relative "/" paths, relative root, atomic write', () => {
    const set = drawReferences(big(samples), { shots: 2, seed: 0 });
    const file = referencesPath(path.join(tmp, 'datasets'), 'toy', 2, 0);
    const written = saveReferences(file, set, { root });
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as ReferenceSetFile;
    assert.deepEqual(json, written);
    assert.equal(json.datasetRoot, '../toy');
    assert.ok(typeof json.createdAt === 'string' && !Number.isNaN(Date.parse(json.createdAt)));
    for (const refs of Object.values(json.classes)) {
      for (const p of refs) {
        assert.ok(!path.isAbsolute(p) && !p.includes('\\') && !p.includes(tmp), `not portable: ${p}`);
        assert.match(p, /^(bottle|cable)\/train\/good\/\d{3}\.png$/);
      }
    }
    assert.ok(!fs.readFileSync(file, 'utf8').includes(tmp), 'no absolute path anywhere in the file');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['toy_k2_s0.json'], 'no temporary files left behind');
  });

  it('round-trips, and still loads after the whole datasets folder moved', () => {
    const set = drawReferences(big(samples), { shots: 3, seed: 11 });
    const file = referencesPath(path.join(tmp, 'datasets'), 'toy', 3, 11);
    saveReferences(file, set, { root });
    const loaded = loadReferences(file, { root });
    assert.deepEqual(loaded.classes, set.classes);
    assert.equal(loaded.datasetRoot, root);
    assert.deepEqual(loadReferences(file).classes, set.classes, 'root found through the stored relative root');

    const moved = path.join(tmp, 'elsewhere');
    fs.renameSync(path.join(tmp, 'datasets'), moved);
    const movedFile = path.join(moved, 'references', 'toy_k3_s11.json');
    const again = loadReferences(movedFile);
    for (const cls of Object.keys(set.classes)) {
      assert.deepEqual(again.classes[cls], set.classes[cls].map((p) => p.replace(path.join(tmp, 'datasets'), moved)));
    }
    // An explicit root wins over the stored one.
    assert.equal(loadReferences(movedFile, { root: path.join(moved, 'toy') }).datasetRoot, path.join(moved, 'toy'));
  });

  it('refuses to save images outside the root', () => {
    const set = drawReferences(big(samples), { shots: 1, seed: 0 });
    assert.throws(() => saveReferences(path.join(tmp, 'r.json'), set, { root: path.join(root, 'cable') }), /r\.json.*not under the dataset root/);
    assert.throws(() => saveReferences(path.join(tmp, 'r.json'), set), /give options.root/);
  });

  it('load validates and names the JSON file and the offending image', () => {
    const set = drawReferences(big(samples), { shots: 2, seed: 0 });
    const file = path.join(tmp, 'refs.json');
    saveReferences(file, set, { root });
    const victim = set.classes.cable[1];
    fs.rmSync(victim);
    assert.throws(
      () => loadReferences(file, { root }),
      (err: Error) => err.message.includes(file) && err.message.includes(victim) && err.message.includes("class 'cable'"),
    );
    assert.equal(loadReferences(file, { root, checkFiles: false }).classes.cable[1], victim);

    const edit = (change: (j: Record<string, unknown>) => void): string => {
      const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      change(j);
      const f = path.join(tmp, `edited-${Math.random().toString(36).slice(2)}.json`);
      fs.writeFileSync(f, JSON.stringify(j));
      return f;
    };
    const opts = { root, checkFiles: false };
    let f = edit((j) => (j.version = 2));
    assert.throws(() => loadReferences(f, opts), (e: Error) => e.message.includes(f) && /unsupported version 2/.test(e.message));
    f = edit((j) => (j.shots = 3));
    assert.throws(() => loadReferences(f, opts), /class 'bottle' lists 2 images, shots is 3/);
    f = edit((j) => (j.shots = 'two'));
    assert.throws(() => loadReferences(f, opts), /shots must be an integer/);
    assert.throws(() => loadReferences(file, { ...opts, shots: 4 }), /file has shots = 2, expected 4/);
    assert.throws(() => loadReferences(file, { ...opts, seed: 9 }), /file has seed = 0, expected 9/);
    f = edit((j) => ((j.classes as Record<string, string[]>).bottle[0] = path.join(root, 'bottle/train/good/000.png')));
    assert.throws(() => loadReferences(f, opts), /absolute path/);
    f = edit((j) => ((j.classes as Record<string, string[]>).bottle[1] = (j.classes as Record<string, string[]>).bottle[0]));
    assert.throws(() => loadReferences(f, opts), /lists an image twice/);
    fs.writeFileSync(path.join(tmp, 'bad.json'), '{ nope');
    assert.throws(() => loadReferences(path.join(tmp, 'bad.json'), opts), /bad\.json.*cannot read JSON/);
  });

  it('getOrCreateReferences creates once, then loads the same file unchanged', () => {
    const datasetsDir = path.join(tmp, 'datasets');
    const opts = { datasetsDir, name: 'toy', root, shots: 4, seed: 2 };
    const first = getOrCreateReferences(big(samples), opts);
    assert.equal(first.status, 'created');
    assert.equal(first.file, referencesPath(datasetsDir, 'toy', 4, 2));
    const bytes = fs.readFileSync(first.file, 'utf8');
    // A different sample order (or a re-run) must give the very same references.
    const second = getOrCreateReferences(new Rng(1).shuffle(big(samples)), opts);
    assert.equal(second.status, 'loaded');
    assert.deepEqual(second.set.classes, first.set.classes);
    assert.equal(second.set.createdAt, first.set.createdAt);
    assert.equal(fs.readFileSync(first.file, 'utf8'), bytes, 'file untouched');
  });

  it('getOrCreateReferences keeps a fixed file even if a fresh draw would differ', () => {
    const file = path.join(tmp, 'fixed.json');
    const handPicked: ReferenceSet = {
      version: 1,
      shots: 1,
      seed: 0,
      classes: { bottle: [path.join(root, 'bottle/train/good/019.png')], cable: [path.join(root, 'cable/train/good/000.png')] },
    };
    saveReferences(file, handPicked, { root });
    const got = getOrCreateReferences(big(samples), { file, root, shots: 1, seed: 0 });
    assert.equal(got.status, 'loaded');
    assert.deepEqual(got.set.classes, handPicked.classes);
  });

  it('getOrCreateReferences adds missing classes exactly as a full draw would', () => {
    const file = path.join(tmp, 'refs.json');
    getOrCreateReferences(samples, { file, root, shots: 2, seed: 4, classes: ['bottle'] });
    const extended = getOrCreateReferences(samples, { file, root, shots: 2, seed: 4 });
    assert.equal(extended.status, 'extended');
    assert.deepEqual(extended.set.classes, drawReferences(samples, { shots: 2, seed: 4 }).classes);
    assert.deepEqual(Object.keys(loadReferences(file).classes).sort(), ['bottle', 'cable', 'tiny']);
  });

  it('getOrCreateReferences rejects a file whose images are not training normals of the samples', () => {
    const file = path.join(tmp, 'refs.json');
    const leaky: ReferenceSet = { version: 1, shots: 1, seed: 0, classes: { bottle: [path.join(root, 'bottle/test/good/000.png')] } };
    saveReferences(file, leaky, { root });
    assert.throws(
      () => getOrCreateReferences(samples, { file, root, shots: 1, seed: 0, classes: ['bottle'] }),
      (err: Error) => err.message.includes(file) && /not a training normal image of that class/.test(err.message),
    );
    assert.throws(() => getOrCreateReferences(samples, { file, root, shots: 2, seed: 0 }), /file has shots = 1, expected 2/);
    assert.throws(() => getOrCreateReferences(samples, { root, shots: 1, seed: 0 }), /give options.file, or options.datasetsDir/);
  });

  it('referencesFor returns a copy and names the known classes on error', () => {
    const set = drawReferences(big(samples), { shots: 2, seed: 0 });
    const refs = referencesFor(set, 'bottle');
    refs.pop();
    assert.equal(set.classes.bottle.length, 2);
    assert.throws(() => referencesFor(set, 'zipper'), /no references for class 'zipper'; the set has: bottle, cable/);
    assert.throws(() => referencesFor(set, 'bottle', 3), /asked for 3 references of class 'bottle', the set has 2/);
    assert.throws(() => referencesFor(set, 'toString'), /no references for class 'toString'/);
  });
});

describeWithSharedData('few-shot references on real data', (datasets) => {
  it('draws existing MVTec bottle training images and round-trips them', () => {
    const root = path.join(datasets, 'mvtec_ad');
    const dir = path.join(root, 'bottle', 'train', 'good');
    const samples: Sample[] = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.png'))
      .map((f) => ({ imagePath: path.join(dir, f), className: 'bottle', split: 'train', label: 0, defectType: 'good', maskPaths: [] }));
    const set = drawReferences(samples, { shots: 8, seed: 0 });
    assert.equal(set.classes.bottle.length, 8);
    for (const p of set.classes.bottle) assert.ok(fs.existsSync(p));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-refs-real-'));
    try {
      const file = path.join(tmp, 'mvtec_k8_s0.json');
      saveReferences(file, set, { root });
      assert.deepEqual(loadReferences(file, { root }).classes, set.classes);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
