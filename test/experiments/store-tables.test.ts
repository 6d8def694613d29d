import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  hashConfig,
  meanTable,
  PAPER_RESULTS,
  paperComparisonTable,
  paperResultsFor,
  ResultsStore,
  RunRecord,
  stableStringify,
  summarizeSweep,
  sweepTable,
  tableToCsv,
  tableToDataFrame,
  tableToMarkdown,
} from '../../src/experiments/index';

/** A synthetic record (no model involved). */
export function fakeRecord(over: Partial<RunRecord> & { key: string }, auroc = 0.9): RunRecord {
  const m = { imageAUROC: auroc, imageAP: 0.8, imageF1Max: 0.7, pixelAUROC: 0.95, pixelAP: 0.3, pixelF1Max: 0.35, pixelAUPRO: null };
  return {
    version: 1,
    protocol: 'mvtec->visa',
    method: 'resad',
    variant: '',
    shots: 4,
    referenceSeed: 0,
    config: { a: 1 },
    modelKey: null,
    paperSetting: 'table1:visa',
    train: [],
    test: [{ dataset: 'visa', format: 'visa', classes: null, root: '/x' }],
    trainImages: 'all',
    referenceFiles: [],
    engine: 'test',
    versions: {},
    startedAt: '',
    finishedAt: '2024-01-01T00:00:00Z',
    timings: { trainSeconds: 10, modelReused: false, evalSeconds: 1, msPerImage: 5, totalSeconds: 11 },
    perClass: [{ dataset: 'visa', class: 'candle, "lit"', ...m, images: 10, msPerImage: 5, references: [] }],
    mean: m,
    perImage: {},
    examples: [],
    tags: {},
    ...over,
  };
}

describe('experiments/store', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-store-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hashes configs independently of key order', () => {
    assert.equal(stableStringify({ b: 1, a: [1, { d: 2, c: 3 }] }), '{"a":[1,{"c":3,"d":2}],"b":1}');
    assert.equal(hashConfig({ x: 1, y: 2 }), hashConfig({ y: 2, x: 1 }));
    assert.notEqual(hashConfig({ x: 1 }), hashConfig({ x: 2 }));
  });

  it('appends, reloads, regenerates the CSV and lets a forced rerun supersede', () => {
    const store = new ResultsStore(dir);
    assert.deepEqual(store.load(), []);
    store.append(fakeRecord({ key: 'k1' }));
    store.append(fakeRecord({ key: 'k2', shots: 2 }));
    const again = new ResultsStore(dir);
    assert.deepEqual(again.load().map((r) => r.key), ['k1', 'k2']);
    assert.ok(again.has('k1') && !again.has('k3'));
    const csv = fs.readFileSync(again.csvFile, 'utf8').trim().split('\n');
    assert.equal(csv.length, 1 + 2 * 2); // header + (class + mean) per run
    assert.ok(csv[0].startsWith('key,protocol,method,variant,shots,referenceSeed,dataset,class,imageAUROC'));
    assert.ok(csv[1].includes('"candle, ""lit"""'));
    assert.ok(csv[2].includes(',mean,'));
    again.append(fakeRecord({ key: 'k1' }, 0.5));
    assert.equal(again.load().length, 3);
    assert.deepEqual(again.latest().map((r) => [r.key, r.mean.imageAUROC]), [['k2', 0.9], ['k1', 0.5]]);
    assert.equal(fs.readFileSync(again.csvFile, 'utf8').trim().split('\n').length, 5);
  });

  it('never yields half records: a torn last line (crash mid-append) is ignored, then cut off', () => {
    const store = new ResultsStore(dir);
    store.append(fakeRecord({ key: 'k1' }));
    const full = JSON.stringify(fakeRecord({ key: 'k2' }));
    fs.appendFileSync(store.resultsFile, full.slice(0, 100)); // the process died here
    const status = store.loadWithStatus();
    assert.deepEqual(status.records.map((r) => r.key), ['k1']);
    assert.equal(status.tornBytes, 100);
    assert.ok(!store.has('k2'));
    store.append(fakeRecord({ key: 'k3' }));
    assert.deepEqual(store.load().map((r) => r.key), ['k1', 'k3']);
    assert.equal(store.loadWithStatus().tornBytes, 0);
    // A corrupt line in the middle is not a torn append: refuse rather than guess.
    fs.writeFileSync(store.resultsFile, `${JSON.stringify(fakeRecord({ key: 'a' }))}\n{oops\n${JSON.stringify(fakeRecord({ key: 'b' }))}\n`);
    assert.throws(() => store.load(), /not JSON/);
  });
});

describe('experiments/tables and paper results', function () {
  this.timeout(60000); // danfojs-node loads in seconds on a busy machine
  it('holds the published numbers with their source', () => {
    const t1 = paperResultsFor({ protocol: 'mvtec->visa', method: 'resad', shots: 4 });
    assert.equal(t1[0].table, 'Table 1');
    assert.deepEqual([t1[0].imageAUROC, t1[0].pixelAUROC], [86.2, 97.4]);
    assert.equal(t1[1].table, 'Table 8');
    assert.deepEqual(paperResultsFor({ protocol: 'visa->mvtec', method: 'patchcore', shots: 2 }).map((r) => [r.imageAUROC, r.pixelAUROC]), [[74.7, 85.2]]);
    assert.equal(paperResultsFor({ protocol: 'visa->mvtec', method: 'resad', shots: 4, variant: 'no-residual' })[0].imageAUROC, 72.8);
    assert.equal(paperResultsFor({ protocol: 'visa->mvtec', method: 'resad', shots: 4, variant: 'bgspp-2' })[0].pixelAUROC, 96.0);
    assert.equal(paperResultsFor({ protocol: 'mvtec10->mvtec', method: 'resad', shots: 4 })[0].imageAUROC, 96.8);
    assert.equal(paperResultsFor({ protocol: 'mvtec->btad', method: 'inctrl', shots: 2 })[0].pixelAUROC, null);
    assert.equal(paperResultsFor({ protocol: 'mvtec->visa', method: 'resad', shots: 8 }).length, 0);
    assert.equal(PAPER_RESULTS.filter((r) => r.table === 'Table 1').length, 2 * 6 * 10);
  });

  it('formats sweeps as mean ± std and puts the paper beside matching settings', async () => {
    const records = [fakeRecord({ key: 'a', referenceSeed: 0 }, 0.9), fakeRecord({ key: 'b', referenceSeed: 1 }, 0.8), fakeRecord({ key: 'c', protocol: 'synthetic', shots: 1 }, 0.7)];
    const points = summarizeSweep(records);
    assert.equal(points.length, 2);
    const md = tableToMarkdown(sweepTable(points));
    assert.ok(md.includes('| mvtec->visa | resad |  | 4 | 2 | 85.0 ± 7.07 |'), md);
    const cmp = paperComparisonTable(points);
    assert.equal(cmp.rows.length, 1);
    const cmd = tableToMarkdown(cmp);
    assert.ok(cmd.includes('85.0 ± 7.07 | 95.0 ± 0.00 | 86.2 | 97.4 | Table 1: ResAD'), cmd);
    assert.equal(paperComparisonTable(points, { onlyMatched: false }).rows.length, 2);
    const csv = tableToCsv(meanTable(records)).split('\n');
    assert.equal(csv[0], 'protocol,method,variant,K,seed,imageAUROC,imageAP,imageF1Max,pixelAUROC,pixelAP,pixelF1Max,pixelAUPRO,train_s,ms_per_image');
    assert.equal(csv[1], 'mvtec->visa,resad,,4,0,90,80,70,95,30,35,,10,5');
    const df = await tableToDataFrame(meanTable(records));
    assert.deepEqual(df.shape, [3, 14]);
    assert.deepEqual(df.column('imageAUROC').values, [90, 80, 70]);
  });
});
