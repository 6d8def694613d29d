/**
 * The experiments layer: named protocols (the paper's settings), a results
 * store, runners for single runs, ablations and shot sweeps, tables (with the
 * published numbers side by side) and an offline HTML report. Notebooks and
 * `resad experiment` / `resad report` call only this. See docs/EXPERIMENTS.md.
 *
 * ```ts
 * import { resolveProtocol, ExperimentSession, runShotSweep, writeExperimentReport } from './src/experiments';
 * const session = new ExperimentSession({ store: 'runs/experiments' });
 * await runShotSweep(session, resolveProtocol('synthetic'), { shots: [1, 2, 4], seeds: [0] });
 * session.dispose();
 * await writeExperimentReport('runs/experiments');
 * ```
 */
export * from './datasets';
export * from './protocols';
export * from './methods';
export * from './store';
export * from './runner';
export * from './sweeps';
export * from './paper-results';
export * from './tables';
export * from './report';
export * from './quality';
