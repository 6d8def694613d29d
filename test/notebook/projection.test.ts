/**
 * t-SNE / UMAP on well-separated Gaussian clusters: neighbours in 2-D keep
 * their cluster, a seed reproduces the embedding; stratified subsampling.
 */
import { strict as assert } from 'assert';
import { project, stratifiedSubsample, tsne } from '../../src/feature-views/index';
import { Rng } from '../../src/util/rng';

function clusters(perCluster: number, k: number, dim: number, seed: number): { points: Float32Array[]; labels: number[] } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: k }, () => Float32Array.from({ length: dim }, () => rng.normal(0, 10)));
  const points: Float32Array[] = [];
  const labels: number[] = [];
  for (let c = 0; c < k; c++)
    for (let i = 0; i < perCluster; i++) {
      points.push(Float32Array.from(centres[c], (v) => v + rng.normal(0, 1)));
      labels.push(c);
    }
  return { points, labels };
}

/** Fraction of points whose 5 nearest 2-D neighbours mostly share their label. */
function knnAgreement(x: number[], y: number[], labels: number[], k = 5): number {
  let ok = 0;
  for (let i = 0; i < x.length; i++) {
    const near = x
      .map((_, j) => ({ j, d: (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 }))
      .filter((e) => e.j !== i)
      .sort((a, b) => a.d - b.d)
      .slice(0, k);
    if (near.filter((e) => labels[e.j] === labels[i]).length > k / 2) ok++;
  }
  return ok / x.length;
}

describe('features: projections', function () {
  this.timeout(30000);
  const { points, labels } = clusters(40, 3, 16, 7);

  it('t-SNE separates Gaussian clusters and is deterministic per seed', () => {
    const a = tsne(points, { seed: 1, perplexity: 15 });
    assert.ok(knnAgreement(a.x, a.y, labels) > 0.95, `kNN agreement ${knnAgreement(a.x, a.y, labels)}`);
    const b = tsne(points, { seed: 1, perplexity: 15 });
    assert.deepEqual(b, a);
    const c = tsne(points, { seed: 2, perplexity: 15 });
    assert.notDeepEqual(c.x, a.x);
  });

  it('UMAP separates Gaussian clusters and is deterministic per seed', () => {
    const a = project(points, { method: 'umap', seed: 3 });
    assert.equal(a.x.length, points.length);
    assert.ok(knnAgreement(a.x, a.y, labels) > 0.95, `kNN agreement ${knnAgreement(a.x, a.y, labels)}`);
    assert.deepEqual(project(points, { method: 'umap', seed: 3 }), a);
    assert.notDeepEqual(project(points, { method: 'umap', seed: 4 }).x, a.x);
  });

  it('project subsamples stratified by label, seeded, before embedding', () => {
    const p = project(points, { method: 'tsne', seed: 5, maxPoints: 30, labels });
    assert.equal(p.indices.length, 30);
    assert.equal(p.x.length, 30);
    for (let c = 0; c < 3; c++) assert.equal(p.indices.filter((i) => labels[i] === c).length, 10);
    assert.ok(p.indices.every((v, i) => i === 0 || v > p.indices[i - 1]));
  });

  it('stratifiedSubsample keeps shares, every label, and depends only on the seed', () => {
    const lab = [...Array(90).fill('a'), ...Array(9).fill('b'), 'c'];
    const s = stratifiedSubsample(lab.length, 20, lab, 0);
    assert.equal(s.length, 20);
    const count = (l: string): number => s.filter((i) => lab[i] === l).length;
    assert.equal(count('c'), 1, 'a rare label keeps one point');
    assert.equal(count('b'), 2);
    assert.equal(count('a'), 17);
    assert.deepEqual(stratifiedSubsample(lab.length, 20, lab, 0), s);
    assert.notDeepEqual(stratifiedSubsample(lab.length, 20, lab, 1), s);
    assert.deepEqual(stratifiedSubsample(10, 20, undefined, 0), [...Array(10).keys()]);
    assert.equal(new Set(stratifiedSubsample(100, 7, undefined, 2)).size, 7);
    // More labels than points: one each from some labels, never more than asked.
    assert.equal(stratifiedSubsample(10, 3, [...Array(10).keys()], 0).length, 3);
  });
});
