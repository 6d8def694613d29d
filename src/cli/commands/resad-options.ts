/** Options shared by the commands that build a ResAD config (train, demo). */
import { OptionSpecs, ParsedArgs, optionChoice, optionInt, optionNumber, optionString, UsageError } from '../args';
import { CONFIG_PRESETS, CPU_CONFIG, OFFLINE_CPU_CONFIG, ResADConfig } from '../../resad/config';
import { availablePreset } from '../../resad/presets';
import { CONSTRAINTOR_KINDS, OCC_VARIANTS } from '../../constraintor/kinds';
import { SCORING_MODES } from '../../scoring/anomaly-map';

export const MODEL_OPTION_SPECS: OptionSpecs = {
  preset: { value: 'NAME', description: `cpu (default: ${CPU_CONFIG.backbone}, ${CPU_CONFIG.imageSize} px, ${CPU_CONFIG.flowBlocks} blocks, ${CPU_CONFIG.epochs} epochs; cpu-offline without its weights), cpu-offline (${OFFLINE_CPU_CONFIG.backbone}, ${OFFLINE_CPU_CONFIG.imageSize} px), paper (WideResNet50, 224 px, 8 blocks, 100 epochs), cpu-resad++ / resad++ (the official code's ResAD++ at the cpu / paper sizes, docs/FIDELITY.md)` },
  backbone: { value: 'NAME', description: 'backbone (resnet50_v2, mobilenetv2_imagenet, wide_resnet50_2, nsfw_mobilenetv2, ..., layers:PATH#a,b, graph:PATH#a,b; resad weights list)' },
  epochs: { value: 'N', description: 'training epochs' },
  seed: { value: 'S', description: 'seed of initialisation, batches and training references' },
  'image-size': { value: 'PX', description: 'input side after preprocessing' },
  'batch-size': { value: 'N', description: 'images per training step' },
  lr: { value: 'X', description: 'learning rate of both optimisers' },
  residual: { value: 'MODE', description: 'diff (paper), sqdiff (official code) or none (ablation: initial features)' },
  metric: { value: 'NAME', description: 'nearest-reference metric: l2 (paper) or cosine (official code)' },
  constraintor: { value: 'KIND', description: `${CONSTRAINTOR_KINDS.join(', ')}` },
  occ: { value: 'VARIANT', description: `${OCC_VARIANTS.join(', ')} or off (paper: Eq. 2; mse-cos: the official code's anomaly term; logbarrier: official ResAD++)` },
  'occ-push': { value: 'M', description: 'OCC push-out margin for anomalies (0 = off)' },
  'bn-gamma': { value: 'INIT', description: "constraintor output BatchNorm gamma init: one (PyTorch) or unit-norm (1/sqrt(C))" },
  'feature-pooling': { value: 'K', description: 'k x k local average of backbone features before matching (1 = paper, 3 = PatchCore-style context)' },
  scoring: { value: 'MODE', description: `${SCORING_MODES.join(', ')} (see docs/RESAD.md, Scoring)` },
  'level-weights': { value: 'W,W,W', description: 'weight of each feature level in the map (0 drops a level)' },
  'flow-blocks': { value: 'N', description: 'coupling blocks per flow (paper 8, code 10)' },
  'flow-loss': { value: 'NAME', description: 'paper (ML + BG-SPP) or resad++ (official code: log-sigmoid ML, N(1,I) anomaly Gaussian, focal, log-barrier BG-SPP)' },
  anomalies: { value: 'WHICH', description: 'training anomalies: auto (real where present, else synthetic), real, synthetic' },
  'vq-codes': { value: 'K', description: 'ResAD++ residual codebook size per level (0 = none, the paper; official 1536)' },
  'efdm-alpha': { value: 'A', description: "ResAD++ EFDM at inference: share of a test residual's own distribution kept (1 = off; official 0.4; needs --vq-codes)" },
};

/**
 * The config the options describe. Without --backbone, the `cpu` preset runs
 * on its packaged twin when the ImageNet weights are not here (presets.ts),
 * and a line on stderr says so.
 */
export function configFromArgs(args: ParsedArgs, fallbackPreset = 'cpu'): ResADConfig {
  const presetName = optionString(args, 'preset', fallbackPreset);
  if (!CONFIG_PRESETS[presetName]) throw new UsageError(`option --preset must be one of ${Object.keys(CONFIG_PRESETS).join(', ')}, got "${presetName}"`);
  // --backbone or --weights decides the backbone: no fallback to the packaged one.
  const available = args.options.has('backbone') || args.options.has('weights') ? { config: CONFIG_PRESETS[presetName], note: null } : availablePreset(presetName);
  if (available.note) console.error(available.note);
  const preset = available.config;
  const epochs = optionInt(args, 'epochs', preset.epochs, 1);
  const scale = epochs / preset.epochs;
  return {
    ...preset,
    backbone: optionString(args, 'backbone', preset.backbone),
    epochs,
    // The schedule keeps its shape when the epoch count changes.
    firstStageEpochs: args.options.has('epochs') ? Math.round(preset.firstStageEpochs * scale) : preset.firstStageEpochs,
    lrMilestones: args.options.has('epochs') ? preset.lrMilestones.map((m) => Math.round(m * scale)) : preset.lrMilestones,
    seed: optionInt(args, 'seed', preset.seed),
    imageSize: optionInt(args, 'image-size', preset.imageSize, 32),
    batchSize: optionInt(args, 'batch-size', preset.batchSize, 1),
    lr: optionNumber(args, 'lr', preset.lr),
    residual: optionChoice(args, 'residual', ['diff', 'sqdiff', 'none'] as const, preset.residual),
    matchMetric: optionChoice(args, 'metric', ['l2', 'cosine'] as const, preset.matchMetric),
    constraintor: optionChoice(args, 'constraintor', CONSTRAINTOR_KINDS, preset.constraintor),
    occ: optionChoice(args, 'occ', [...OCC_VARIANTS, 'off'] as const, preset.occ),
    occPushMargin: optionNumber(args, 'occ-push', preset.occPushMargin),
    bnGammaInit: optionChoice(args, 'bn-gamma', ['one', 'unit-norm'] as const, preset.bnGammaInit),
    featurePooling: optionInt(args, 'feature-pooling', preset.featurePooling, 1),
    scoring: optionChoice(args, 'scoring', SCORING_MODES, preset.scoring),
    levelWeights: levelWeightsFrom(args, preset.levelWeights),
    flowBlocks: optionInt(args, 'flow-blocks', preset.flowBlocks, 1),
    flowLoss: optionChoice(args, 'flow-loss', ['paper', 'resad++'] as const, preset.flowLoss),
    anomalies: optionChoice(args, 'anomalies', ['auto', 'real', 'synthetic'] as const, preset.anomalies),
    // Absent unless asked for, so that configs of models saved before ResAD++ stay the same config.
    vqCodes: args.options.has('vq-codes') ? optionInt(args, 'vq-codes', 0, 0) : preset.vqCodes,
    efdmAlpha: args.options.has('efdm-alpha') ? optionNumber(args, 'efdm-alpha', 1) : preset.efdmAlpha,
  };
}

function levelWeightsFrom(args: ParsedArgs, fallback: number[] | null): number[] | null {
  const raw = optionString(args, 'level-weights');
  if (raw === undefined) return fallback;
  const weights = raw.split(',').map(Number);
  if (weights.some((w) => !Number.isFinite(w) || w < 0) || !weights.some((w) => w > 0)) {
    throw new UsageError(`option --level-weights: expected non-negative numbers, at least one > 0, e.g. 1,1,0; got "${raw}"`);
  }
  return weights;
}
