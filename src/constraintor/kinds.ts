/**
 * The names of the constraintor architectures and OCC losses, apart from their
 * tfjs code so that option parsing (CLI help) does not load tfjs.
 */
export const CONSTRAINTOR_KINDS = [
  'none',
  'conv-bn-relu',
  'conv-bn',
  'basic-block',
  'bottleneck',
  'multi-scale-fusion',
  'msf+basic-block',
  'msf+bottleneck',
] as const;

/** Which constraintor architecture (see constraintor.ts). */
export type ConstraintorKind = (typeof CONSTRAINTOR_KINDS)[number];

/** Which OCC loss (see occ-loss.ts). */
export type OccVariant = 'paper' | 'paper-first-term' | 'mse-cos' | 'logbarrier';
export const OCC_VARIANTS: readonly OccVariant[] = ['paper', 'paper-first-term', 'mse-cos', 'logbarrier'];
