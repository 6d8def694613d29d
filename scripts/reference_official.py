#!/usr/bin/python3
"""Runs the official ResAD / ResAD++ code (github.com/xcyao00/ResAD) beside
resad, from a checkout the user points to. Nothing of the official code is
copied into this project: its modules are imported from --official.

  run       trains and evaluates the official modules on one fold exported by
            scripts/export-reference-inputs.ts (resad's features, anomalies,
            masks, references and schedule) and writes the official metrics.

  table     the Markdown table of docs/FIDELITY.md from `run` outputs and
            the quality benchmark's results.json files (method resadpp).

  fixtures  builds small instances of the official modules (constraintor,
            conditional flow on FrEIA, residual codebook, EFDM, matching,
            position code, every loss), runs them on seeded inputs and writes
            inputs, weights, outputs, losses and gradients as JSON. resad's
            test/official/components.test.ts loads the same weights into its
            own modules and compares, so `npm test` needs neither torch nor
            the checkout.

Setup (once; these machines have no PyPI, so the official code's Python
dependencies come from their GitHub sources):
  git clone https://github.com/xcyao00/ResAD                    # tested at 0afc30e
  git clone https://github.com/vislearn/FrEIA && git -C FrEIA checkout 4e0c6ab   # the commit ResAD pins
  git clone https://github.com/huggingface/pytorch-image-models timm && git -C timm checkout v0.6.13
  git clone https://github.com/arogozhnikov/einops
  apt-get install python3-torch python3-torchvision python3-scipy python3-sklearn python3-skimage python3-opencv
timm 0.6.13 rather than the pinned 0.6.12: 0.6.12 does not import on Python
3.11 (mutable dataclass defaults); the official code only takes BasicBlock /
Bottleneck / layer helpers from it, unchanged between the two. imgaug and
albumentations (used only by the official dataset classes, which this script
does not use: it feeds tensors) are replaced by empty stand-ins when missing.

Run:
  npx tsx scripts/export-reference-inputs.ts --fold ball_screw --out runs/reference/ball_screw
  /usr/bin/python3 scripts/reference_official.py run --official ../ResAD --deps ../FrEIA:../timm:../einops \
      --inputs runs/reference/ball_screw --out runs/reference/ball_screw/official.json
  /usr/bin/python3 scripts/reference_official.py fixtures --official ../ResAD \\
      --deps ../FrEIA:../timm:../einops --out test/fixtures/official/components.json
"""
import argparse
import json
import os
import sys
import types


class _Quiet:
    def __init__(self, *args, **kwargs):
        pass

    def update(self, *args):
        pass

    def set_description(self, *args):
        pass

    def close(self):
        pass


def import_official(official, deps):
    for p in reversed([official] + [d for d in deps.split(':') if d]):
        sys.path.insert(0, os.path.abspath(p))
    for name in ('imgaug', 'imgaug.augmenters', 'albumentations'):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    sys.modules['imgaug'].augmenters = sys.modules['imgaug.augmenters']
    import torch  # noqa: F401
    mods = types.SimpleNamespace()
    from models.modules import MultiScaleConv, get_position_encoding
    from models.vq import MultiScaleVQ
    from models.fc_flow import conditional_flow_model
    from models.utils import get_logp, log_theta
    from losses.utils import get_logp_a, get_normal_boundary
    from losses.loss import calculate_log_barrier_bi_occ_loss, calculate_log_barrier_bg_spp_loss
    from losses.focal_loss import FocalLoss
    import utils as official_utils
    import validate as official_validate
    official_validate.tqdm = _Quiet  # one progress line per test image would flood the log
    validate_fn = official_validate.validate
    mods.__dict__.update(locals())
    mods.utils = official_utils
    return mods


def values(t):
    return [float(x) for x in t.detach().double().flatten()]


def tensor_json(t):
    return {'shape': list(t.shape), 'values': values(t)}


def nhwc(t):
    return tensor_json(t.permute(0, 2, 3, 1))


def fixtures(args):
    o = import_official(args.official, args.deps)
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    channels = (6, 8, 10)
    sizes = (6, 4, 2)
    batch = 2
    out = {'torch': torch.__version__, 'official': args.official_commit, 'channels': channels}

    # Position code (models/modules.get_position_encoding): [D, H, W].
    out['position'] = {'dim': 8, 'height': 3, 'width': 5, 'code': tensor_json(o.get_position_encoding(8, 3, 5))}

    # Matching and residual (utils.get_mc_matched_ref_features: cosine; get_residual_features pos_flag=True: (x - x*)^2).
    feats = [torch.randn(batch, c, s, s) for c, s in zip(channels, sizes)]
    ref_imgs = [torch.randn(3, c, s, s) for c, s in zip(channels, sizes)]
    refs = [r.permute(0, 2, 3, 1).reshape(-1, c) for r, c in zip(ref_imgs, channels)]
    matched = o.utils.get_mc_matched_ref_features(feats, ['a'] * batch, {'a': refs})
    residuals = o.utils.get_residual_features(feats, matched, pos_flag=True)
    masks = []
    for l, s in enumerate(sizes):
        m = torch.zeros(batch, s, s)
        m[1, : max(1, s // 2), : max(1, s // 2)] = 1  # anomalies in the second image's corner
        masks.append(m)
    out['matching'] = {
        'features': [nhwc(f) for f in feats],
        'references': [nhwc(r) for r in ref_imgs],
        'residuals': [nhwc(r) for r in residuals],
        'masks': [tensor_json(m) for m in masks],
    }

    # Residual codebook (models/vq.MultiScaleVQ) and EFDM (utils.applying_EFDM).
    vq = o.MultiScaleVQ(num_embeddings=12, channels=channels)
    with torch.no_grad():
        for q in (vq.vq1, vq.vq2, vq.vq3):  # spread the codes: the 1/K init makes every assignment a near-tie
            q.embedding.weight.copy_(torch.rand_like(q.embedding.weight) * 2)
    codes = [q.embedding.weight.detach().clone() for q in (vq.vq1, vq.vq2, vq.vq3)]
    loss_vq = vq(residuals, masks, train=True)
    loss_vq.backward()
    vq.eval()
    with torch.no_grad():
        quantised = vq(residuals, train=False)
        aligned = o.utils.applying_EFDM(residuals, quantised, alpha=0.4)
    out['codebook'] = {
        'codes': [tensor_json(c) for c in codes],
        'loss': float(loss_vq),
        'grads': [tensor_json(q.embedding.weight.grad) for q in (vq.vq1, vq.vq2, vq.vq3)],
        'quantised': [nhwc(q) for q in quantised],
        'fdmAlpha': 0.4,
        'aligned': [nhwc(a) for a in aligned],
    }

    # Constraintor (models/modules.MultiScaleConv: conv3x3 + BN + ReLU per level, PyTorch init)
    # and the log-barrier bi-OCC loss summed over levels, as main.py trains it.
    net = o.MultiScaleConv(channels)
    weights = []
    for name, t in net.state_dict().items():
        if name.endswith('num_batches_tracked'):
            continue
        v = t.permute(2, 3, 1, 0) if t.dim() == 4 else t  # [out, in, kh, kw] -> [kh, kw, in, out]
        weights.append({'name': name, **tensor_json(v)})
    net.train()
    constrained = net(*residuals)
    occ_total = 0
    occ_levels = []
    for l in range(3):
        e = constrained[l].permute(0, 2, 3, 1).reshape(-1, channels[l])
        t = residuals[l].permute(0, 2, 3, 1).reshape(-1, channels[l])
        loss_l, loss_n, loss_a = o.calculate_log_barrier_bi_occ_loss(e, masks[l].reshape(-1), t)
        occ_levels.append({'loss': float(loss_l), 'normal': loss_n, 'anomaly': loss_a})
        occ_total = occ_total + loss_l
    occ_total.backward()
    grads = []
    for name, p in net.named_parameters():
        g = p.grad.permute(2, 3, 1, 0) if p.dim() == 4 else p.grad
        grads.append({'name': name, **tensor_json(g)})
    running = [{'name': n, **tensor_json(b)} for n, b in net.named_buffers() if not n.endswith('num_batches_tracked')]
    out['constraintor'] = {
        'weights': weights,
        'trainOut': [nhwc(c) for c in constrained],
        'occLevels': occ_levels,
        'occTotal': float(occ_total),
        'grads': grads,
        'runningAfter': running,
    }

    # Conditional flow (models/fc_flow.conditional_flow_model on FrEIA AllInOneBlock) and the
    # flow losses of train.py, stage 2 with anomalies: -log sigmoid ML on normals, the N(1, I)
    # ML on anomalies, the focal loss and the log-barrier BG-SPP.
    flow_cases = []
    for c, blocks in ((6, 2), (5, 3)):
        fargs = types.SimpleNamespace(coupling_layers=blocks, clamp_alpha=1.9, pos_embed_dim=8)
        flow = o.conditional_flow_model(fargs, c)
        with torch.no_grad():  # move every parameter off its init so each term is exercised
            for name, p in flow.named_parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * (0.3 if 'subnet' in name else 0.5))
        n = 40
        x = torch.randn(n, c) * 0.8
        pos = o.get_position_encoding(8, 5, 8).permute(1, 2, 0).reshape(-1, 8)
        m = torch.zeros(n)
        m[::5] = 1
        z, log_jac_det = flow(x, [pos])
        logps = o.get_logp(c, z, log_jac_det) / c
        logps_a = o.get_logp_a(c, z, log_jac_det)
        b_n = float(o.get_normal_boundary(logps.detach(), m, pos_beta=0.05))
        b_a = b_n - 0.1
        loss_ml = torch.mean(-o.log_theta(logps[m == 0]))
        loss_ml_a = torch.mean(-o.log_theta(logps_a[m == 1]))
        s = torch.softmax(torch.stack([logps, logps_a], dim=-1), dim=-1)
        loss_focal = o.FocalLoss()(s, m.unsqueeze(-1))
        loss_n_con, loss_a_con = o.calculate_log_barrier_bg_spp_loss(logps, m, (b_n, b_a))
        total = loss_ml + loss_ml_a + loss_focal + 1.0 * (loss_n_con + loss_a_con)
        total.backward()
        blocks_json = []
        for k, block in enumerate(flow.module_list):
            sub = block.subnet
            blocks_json.append({
                'w1': tensor_json(sub[0].weight.detach().t()), 'b1': tensor_json(sub[0].bias),
                'w2': tensor_json(sub[2].weight.detach().t()), 'b2': tensor_json(sub[2].bias),
                'globalScale': tensor_json(block.global_scale.detach().reshape(-1)),
                'globalOffset': tensor_json(block.global_offset.detach().reshape(-1)),
                'perm': tensor_json(block.w_perm.detach().reshape(c, c).t()),
                'grads': {
                    'w1': tensor_json(sub[0].weight.grad.t()), 'b1': tensor_json(sub[0].bias.grad),
                    'w2': tensor_json(sub[2].weight.grad.t()), 'b2': tensor_json(sub[2].bias.grad),
                    'globalScale': tensor_json(block.global_scale.grad.reshape(-1)),
                    'globalOffset': tensor_json(block.global_offset.grad.reshape(-1)),
                },
            })
        flow_cases.append({
            'dim': c, 'condDim': 8, 'clamp': 1.9,
            'x': tensor_json(x), 'cond': tensor_json(pos), 'mask': values(m),
            'blocks': blocks_json,
            'z': tensor_json(z), 'logdet': values(log_jac_det), 'logp': values(logps), 'logpA': values(logps_a),
            'abnormalProb': values(s[:, 1]),
            'boundary': b_n,
            'losses': {
                'ml': float(loss_ml), 'mlAbnormal': float(loss_ml_a), 'focal': float(loss_focal),
                'bgsppNormal': float(loss_n_con), 'bgsppAnomaly': float(loss_a_con), 'total': float(total),
                'stage1': float(torch.mean(-o.log_theta(logps))),
            },
        })
    out['flows'] = flow_cases

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(out, f)
    os.replace(tmp, args.out)
    print(f'wrote {args.out}')


class ExportedFold:
    """The arrays written by scripts/export-reference-inputs.ts, memory-mapped."""

    def __init__(self, folder):
        import numpy as np
        with open(os.path.join(folder, 'meta.json')) as f:
            self.meta = json.load(f)
        self.shapes = [tuple(s) for s in self.meta['levelShapes']]  # (h, w, C)
        self.sizes = [h * w * c for h, w, c in self.shapes]
        self.cells = [h * w for h, w, _ in self.shapes]
        per = sum(self.sizes)
        self.train = np.memmap(os.path.join(folder, 'train_features.f32'), dtype='<f4', mode='r').reshape(-1, per)
        self.train_masks = np.fromfile(os.path.join(folder, 'train_masks.f32'), dtype='<f4').reshape(-1, sum(self.cells))
        self.test = np.memmap(os.path.join(folder, 'test_features.f32'), dtype='<f4', mode='r').reshape(-1, per)
        s = self.meta['imageSize']
        self.test_masks = np.fromfile(os.path.join(folder, 'test_masks.u8'), dtype='u1').reshape(-1, s, s)
        self.refs = np.memmap(os.path.join(folder, 'ref_features.f32'), dtype='<f4', mode='r').reshape(-1, per)

    def levels(self, rows):
        """Per level: [B, C, h, w] float tensors (the official modules are NCHW)."""
        import numpy as np
        import torch
        out, start = [], 0
        for (h, w, c), size in zip(self.shapes, self.sizes):
            block = np.ascontiguousarray(rows[:, start:start + size]).reshape(-1, h, w, c)
            out.append(torch.from_numpy(block).permute(0, 3, 1, 2).contiguous())
            start += size
        return out

    def level_masks(self, indices):
        import torch
        out, start = [], 0
        for (h, w, _), cells in zip(self.shapes, self.cells):
            out.append(torch.from_numpy(self.train_masks[indices, start:start + cells].reshape(-1, h, w).copy()))
            start += cells
        return out


def run(args):
    """The official training loop of main.py, step for step, on the exported fold (see module doc)."""
    import time
    import numpy as np
    import torch
    o = import_official(args.official, args.deps)
    import train as official_train
    torch.set_num_threads(args.threads)
    data = ExportedFold(args.inputs)
    cfg = data.meta['config']
    channels = [c for _, _, c in data.shapes]
    torch.manual_seed(cfg['seed'])
    rng = np.random.default_rng(cfg['seed'])
    fargs = types.SimpleNamespace(
        coupling_layers=args.coupling_layers or cfg['flowBlocks'], clamp_alpha=1.9, pos_embed_dim=cfg['posEncodingDim'],
        flow_arch='conditional_flow_model', feature_levels=1, device='cpu', pos_beta=cfg['bgsppBeta'], margin_tau=cfg['bgsppTau'],
        bgspp_lambda=cfg['bgsppWeight'], fdm_alpha=args.fdm_alpha, backbone='wide_resnet50_2')
    vq_ops = o.MultiScaleVQ(num_embeddings=args.num_embeddings, channels=channels)
    constraintor = o.MultiScaleConv(channels)
    estimators = [o.conditional_flow_model(fargs, c) for c in channels]
    lr, wd = cfg['lr'], cfg['weightDecay']
    optimizer_vq = torch.optim.Adam(vq_ops.parameters(), lr=lr, weight_decay=wd)
    optimizer0 = torch.optim.Adam(constraintor.parameters(), lr=lr, weight_decay=wd)
    optimizer1 = torch.optim.Adam([p for e in estimators for p in e.parameters()], lr=lr, weight_decay=wd)
    schedulers = [torch.optim.lr_scheduler.MultiStepLR(opt, milestones=cfg['lrMilestones'] or [10 ** 9], gamma=0.1) for opt in (optimizer_vq, optimizer0, optimizer1)]
    boundaries = [o.utils.BoundaryAverager(num_levels=1) for _ in channels]
    n_batch = args.n_batch or cfg['flowBatch']

    train_images = data.meta['train']
    normals_by_class = {}
    for i, im in enumerate(train_images):
        if not im['anomalous']:
            normals_by_class.setdefault(im['className'], []).append(i)
    started, cpu_started = time.time(), time.process_time()
    epochs, batch = cfg['epochs'], cfg['batchSize']
    history = []
    for epoch in range(epochs):
        for m in (vq_ops, constraintor, *estimators):
            m.train()
        stage1 = epoch < cfg['firstStageEpochs']
        candidates = [i for i, im in enumerate(train_images) if not (stage1 and im['anomalous'])]
        order = rng.permutation(candidates)
        steps = max(1, len(order) // batch)
        cap = args.steps_per_epoch or cfg['stepsPerEpoch']
        if cap is not None:
            steps = min(steps, cap)
        totals = {'vq': 0.0, 'occ': 0.0, 'flow': 0.0, 'flow_steps': 0}
        for step in range(steps):
            idx = np.sort(order[step * batch:(step + 1) * batch])
            features = data.levels(data.train[idx])
            # K references of the image's own class, never itself: matched per image with the official (cosine) matching.
            matched = [[] for _ in channels]
            for b, i in enumerate(idx):
                pool = [j for j in normals_by_class[train_images[i]['className']] if j != i]
                refs = rng.choice(pool, size=min(cfg['trainShots'], len(pool)), replace=False)
                ref_levels = data.levels(data.train[np.sort(refs)])
                ref_rows = [r.permute(0, 2, 3, 1).reshape(-1, r.shape[1]) for r in ref_levels]
                m = o.utils.get_matched_ref_features([f[b:b + 1] for f in features], ref_rows)
                for l in range(len(channels)):
                    matched[l].append(m[l])
            matched = [torch.cat(m, 0) for m in matched]
            rfeatures = o.utils.get_residual_features(features, matched, pos_flag=True)
            lvl_masks = data.level_masks(idx)
            rfeatures_t = [r.detach().clone() for r in rfeatures]

            loss_vq = vq_ops(rfeatures, lvl_masks, train=True)
            optimizer_vq.zero_grad()
            loss_vq.backward()
            optimizer_vq.step()
            totals['vq'] += loss_vq.item()

            outs = constraintor(*rfeatures)
            loss = 0
            for l in range(len(channels)):
                e = outs[l].permute(0, 2, 3, 1).reshape(-1, channels[l])
                t = rfeatures_t[l].permute(0, 2, 3, 1).reshape(-1, channels[l])
                loss_l, _, _ = o.calculate_log_barrier_bi_occ_loss(e, lvl_masks[l].reshape(-1), t)
                loss = loss + loss_l
            optimizer0.zero_grad()
            loss.backward()
            optimizer0.step()
            totals['occ'] += float(loss)

            outs = [r.detach().clone() for r in outs]
            # train.train walks the levels in order; called per level so that each gets its masks
            # at its own resolution (resad's, identical to the official nearest resize).
            for l in range(len(channels)):
                flow_loss, num = official_train.train(fargs, [outs[l]], [estimators[l]], optimizer1, lvl_masks[l].unsqueeze(1), boundaries[l], epoch,
                                                      N_batch=n_batch, FIRST_STAGE_EPOCH=cfg['firstStageEpochs'])
                totals['flow'] += flow_loss
                totals['flow_steps'] += num
            if not args.quiet:
                print(f'epoch {epoch + 1}/{epochs} step {step + 1}/{steps} vq {loss_vq.item():.4f} occ {float(loss):.4f} '
                      f'({time.time() - started:.0f} s)', file=sys.stderr, flush=True)
        for sch in schedulers:
            sch.step()
        history.append({'epoch': epoch, 'steps': steps, 'vq': totals['vq'] / steps, 'occ': totals['occ'] / steps,
                        'flow': totals['flow'] / max(1, totals['flow_steps']), 'flowSteps': totals['flow_steps']})
    train_seconds, train_cpu = time.time() - started, time.process_time() - cpu_started

    class Exported:
        """Stands in for the backbone: the test 'image' carries its row index, the features are resad's."""

        def __call__(self, image):
            return data.levels(data.test[[int(image[0, 0, 0, 0])]])

    size = data.meta['imageSize']
    fargs.feature_levels = len(channels)
    results = {}
    for seed, per_class in data.meta['seeds'].items():
        results[seed] = {}
        for cls, ref_idx in per_class.items():
            rows = [i for i, t in enumerate(data.meta['test']) if t['className'] == cls]
            ref_levels = data.levels(data.refs[ref_idx])
            ref_rows = [r.permute(0, 2, 3, 1).reshape(-1, r.shape[1]) for r in ref_levels]
            loader = []
            for i in rows:
                image = torch.zeros(1, 3, size, size)
                image[0, 0, 0, 0] = i
                loader.append((image, torch.tensor([data.meta['test'][i]['label']]), torch.from_numpy(data.test_masks[i].astype('float32'))[None, None], cls))
            metrics = o.validate_fn(fargs, Exported(), vq_ops, constraintor, estimators, loader, ref_rows, 'cpu', cls)
            names = ['imageAUROC', 'imageAP', 'imageF1', 'pixelAUROC', 'pixelAP', 'pixelF1', 'pixelAUPRO']
            results[seed][cls] = {k: dict(zip(names, map(float, metrics[k]))) for k in ('scores1', 'scores2', 'scores')}
            print(f'seed {seed} {cls}: merged image {100 * metrics["scores"][0]:.1f} pixel {100 * metrics["scores"][3]:.1f}; '
                  f'logp image {100 * metrics["scores1"][0]:.1f}; abnormal image {100 * metrics["scores2"][0]:.1f}', file=sys.stderr, flush=True)
    out = {'fold': data.meta['fold'], 'backbone': data.meta['backbone'], 'official': args.official_commit, 'torch': torch.__version__,
           'threads': args.threads, 'nBatch': n_batch, 'couplingLayers': fargs.coupling_layers, 'numEmbeddings': args.num_embeddings,
           'fdmAlpha': args.fdm_alpha, 'trainSeconds': train_seconds, 'trainCpuSeconds': train_cpu, 'history': history,
           'scores': {'scores1': 'logp, test-set max normalised (validate.convert_to_anomaly_scores)',
                      'scores2': 'abnormal-density probability (aggregate_anomaly_scores)', 'scores': 'their mean (the official result)'},
           'seeds': results}
    tmp = args.out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, args.out)
    print(f'wrote {args.out} (training {train_seconds:.0f} s wall, {train_cpu:.0f} s CPU)', file=sys.stderr)


def table(args):
    """Per fold: the official run beside resad's ResAD++ (image / pixel AUROC %, mean over seeds)."""
    ours = {}
    for path in args.quality:
        with open(path) as f:
            for fold in json.load(f)['folds']:
                ours.setdefault(fold['fold'], {}).update({m['label']: m for m in fold['methods']})

    def pct(v):
        return '-' if v is None else f'{100 * v:.1f}'

    def official_mean(run, key, metric):
        vals = [per_class[key][metric] for per_seed in run['seeds'].values() for per_class in per_seed.values()]
        return sum(vals) / len(vals)

    rows = ['| fold | official: merged | official: logp | official: abnormal | resad ResAD++ (nll+abnormal) | resad ResAD++, nll | resad ResAD++, abnormal | official train s (CPU s) | resad train s |',
            '|---|---|---|---|---|---|---|---|---|']
    for path in args.official:
        with open(path) as f:
            run = json.load(f)
        fold = run['fold']
        cells = [f'{pct(official_mean(run, k, "imageAUROC"))} / {pct(official_mean(run, k, "pixelAUROC"))}' for k in ('scores', 'scores1', 'scores2')]
        mine = ours.get(fold, {})
        for label in ('resadpp', 'resadpp[nll]', 'resadpp[abnormal]'):
            m = mine.get(label)
            cells.append(f'{pct(m["mean"]["imageAUROC"])} / {pct(m["mean"]["pixelAUROC"])}' if m else '-')
        train = mine.get('resadpp', {}).get('trainSeconds')
        cells.append(f'{run["trainSeconds"]:.0f} ({run["trainCpuSeconds"]:.0f})')
        cells.append('-' if train is None else f'{train:.0f}')
        rows.append(f'| {fold} | ' + ' | '.join(cells) + ' |')
    print('\n'.join(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    fx = sub.add_parser('fixtures', help='component fixtures for test/official/components.test.ts')
    rn = sub.add_parser('run', help='train and evaluate the official modules on an exported fold')
    rn.add_argument('--inputs', required=True, help='folder written by scripts/export-reference-inputs.ts')
    rn.add_argument('--out', required=True, help='results JSON')
    rn.add_argument('--threads', type=int, default=1, help='torch threads (default 1, as resad)')
    rn.add_argument('--n-batch', type=int, default=0, help="flow positions per chunk (default: the exported config's flowBatch; official 8192)")
    rn.add_argument('--coupling-layers', type=int, default=0, help="default: the exported config's flowBlocks (official 10)")
    rn.add_argument('--num-embeddings', type=int, default=1536)
    rn.add_argument('--fdm-alpha', type=float, default=0.4)
    rn.add_argument('--steps-per-epoch', type=int, default=0, help="default: the exported config's stepsPerEpoch (a smaller value for smoke runs)")
    rn.add_argument('--quiet', action='store_true')
    tb = sub.add_parser('table', help='Markdown table from run outputs and quality results.json files')
    tb.add_argument('--official', nargs='+', required=True, help='official.json files written by run')
    tb.add_argument('--quality', nargs='+', required=True, help="results.json of `npm run bench:quality -- --methods resadpp`")
    for p in (fx, rn):
        p.add_argument('--official', required=True, help='checkout of github.com/xcyao00/ResAD')
        p.add_argument('--deps', default='', help='colon-separated folders holding FrEIA, timm and einops sources (when not installed)')
        p.add_argument('--official-commit', default='0afc30e', help='recorded in the output')
    fx.add_argument('--out', default='test/fixtures/official/components.json')
    args = parser.parse_args()
    if args.command == 'table':
        return table(args)
    if not os.path.isfile(os.path.join(args.official, 'models', 'vq.py')):
        parser.error(f'--official {args.official}: not a checkout of xcyao00/ResAD (models/vq.py missing)')
    if args.command == 'fixtures':
        fixtures(args)
    else:
        run(args)


if __name__ == '__main__':
    main()
