/**
 * ResAD's feature distribution estimator: a conditional normalizing flow
 * (FrEIA AllInOne-style coupling blocks) conditioned on a 2-D sin/cos
 * positional encoding, and its losses (maximum likelihood, BG-SPP with a
 * moving-average boundary). See the individual modules for the details.
 *
 * ```ts
 * import { ConditionalFlow, positionalEncoding2d, mlLoss } from './flow';
 * ```
 */
export * from './positional-encoding';
export * from './permutation';
export * from './coupling-block';
export * from './conditional-flow';
export * from './losses';
export * from './resadpp-losses';
export * from './flow-loss';
export * from './onnx-flow-grad';
