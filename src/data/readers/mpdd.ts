/**
 * MPDD reader (Jezek et al., ICUMT 2021; https://github.com/stepanje/MPDD):
 * metal parts in MVTec AD layout, masks `ground_truth/<defect>/<stem>_mask.png`.
 * A separate format name so experiment configs and reports say which dataset
 * they ran on; the reading itself is MVTec's.
 *
 * ```ts
 * const samples = readDataset('/data/mpdd', { format: 'mpdd', classes: ['metal_plate'] });
 * ```
 */
import { layoutReader } from './layout';
import { MVTEC_EXPECTED, MVTEC_LAYOUT, looksLikeMvtecClass } from './mvtec';

export const mpddReader = layoutReader('mpdd', MVTEC_EXPECTED, looksLikeMvtecClass, MVTEC_LAYOUT);
