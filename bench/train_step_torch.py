#!/usr/bin/env python3
"""PyTorch peer of one ResAD training step, for bench/train-step.ts.

Reads the inputs file the benchmark writes (a JSON header line, then the
cached backbone features as float32, image by image, level by level) and runs
the same step with its own modules at the same shapes: nearest-reference
matching (squared L2 through a matmul, argmin, residual), per level a 3x3
Conv + BatchNorm (+ ReLU for 'conv-bn-relu') constraintor with the OCC loss
and torch.optim.Adam, and per level a conditional flow of FrEIA AllInOne-style
coupling blocks (subnet Linear-ReLU-Linear scaled by 0.1, atan soft clamp,
softplus global affine, fixed rotation) trained on `flowBatch` random positions
with the ML and BG-SPP losses. Prints one JSON line with the median process
CPU milliseconds per stage over the timed steps.

    /usr/bin/python3 bench/train_step_torch.py INPUTS --steps 5 --warmup 2

Exits 3 with a JSON {"skipped": ...} line when torch is missing.
"""
import argparse
import json
import math
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as err:  # pragma: no cover - depends on the machine
    print(json.dumps({"skipped": f"torch not importable ({err}); install python3-torch"}))
    sys.exit(3)


def read_inputs(path):
    with open(path, "rb") as f:
        header = json.loads(f.readline())
        data = np.frombuffer(f.read(), dtype=np.float32)
    feats, offset = [], 0
    for _ in range(header["images"]):
        per_level = []
        for h, w, c in header["levels"]:
            n = h * w * c
            per_level.append(torch.from_numpy(data[offset:offset + n].copy()).view(h * w, c))
            offset += n
        feats.append(per_level)
    return header, feats


def positional_encoding(h, w, dim):
    half, n_freq = dim // 2, dim // 4
    freq = torch.exp(-(2 * torch.arange(n_freq, dtype=torch.float64)) * (math.log(1e4) / half))
    def axis(n):
        t = torch.arange(n, dtype=torch.float64)[:, None] * freq[None, :]
        return torch.stack([t.sin(), t.cos()], 2).reshape(n, half).float()
    xs, ys = axis(w), axis(h)
    return torch.cat([xs[None, :, :].expand(h, w, half), ys[:, None, :].expand(h, w, half)], 2).reshape(h * w, dim)


class Coupling(nn.Module):
    def __init__(self, dim, cond, ratio, clamp=1.9):
        super().__init__()
        self.len1, self.len2, self.clamp = dim - dim // 2, dim // 2, clamp
        inner = self.len1 + cond
        hidden = round(ratio * inner)
        self.subnet = nn.Sequential(nn.Linear(inner, hidden), nn.ReLU(), nn.Linear(hidden, 2 * self.len2))
        self.gamma = nn.Parameter(torch.full((dim,), 2 * math.log(math.expm1(5.0))))
        self.offset = nn.Parameter(torch.zeros(dim))
        q, _ = torch.linalg.qr(torch.randn(dim, dim))
        self.register_buffer("rot", q)

    def forward(self, x, cond):
        x1, x2 = x[:, :self.len1], x[:, self.len1:]
        a = 0.1 * self.subnet(torch.cat([x1, cond], 1))
        s = self.clamp * 0.636 * torch.atan(a[:, :self.len2] / self.clamp)
        y2 = x2 * torch.exp(s) + a[:, self.len2:]
        g = 0.2 * F.softplus(0.5 * self.gamma)
        u = torch.cat([x1, y2], 1) * g + self.offset
        return u @ self.rot, s.sum(1) + torch.log(g).sum()


class Flow(nn.Module):
    def __init__(self, dim, cond, blocks, ratio):
        super().__init__()
        self.blocks = nn.ModuleList([Coupling(dim, cond, ratio) for _ in range(blocks)])

    def log_prob_per_dim(self, x, cond):
        logdet = 0
        for b in self.blocks:
            x, ld = b(x, cond)
            logdet = logdet + ld
        c = x.shape[1]
        return (-0.5 * (x * x).sum(1) - 0.5 * c * math.log(2 * math.pi) + logdet) / c


def occ_loss(out, res, anomalous, variant):
    """Per-level OCC loss on rows [N, C] ('paper' / 'mse-cos' / 'paper-first-term')."""
    radius = torch.sqrt(out.norm(dim=1) + 1) - 1
    normal = ~anomalous
    loss = radius[normal].abs().mean() if normal.any() else out.sum() * 0
    if anomalous.any():
        o, r = out[anomalous], res[anomalous]
        if variant == "mse-cos":
            loss = loss + F.mse_loss(o, r) + (1 - F.cosine_similarity(o, r, dim=1)).mean()
        elif variant == "paper":
            loss = loss + (o - r).norm(dim=1).mean()
    return loss


def bgspp(logp, anomalous, boundary, tau, reduction):
    v_n = torch.relu(boundary - logp) * (~anomalous)
    v_a = torch.relu(logp - boundary + tau) * anomalous
    if reduction == "sum":
        return v_n.sum() + v_a.sum()
    return v_n.sum() / max(1, int((~anomalous).sum())) + v_a.sum() / max(1, int(anomalous.sum()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("inputs")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    header, feats = read_inputs(args.inputs)
    cfg = header["config"]
    levels = header["levels"]
    batch, refs = header["batch"], header["refs"]
    masks = [torch.tensor(m) > 0.5 for m in header["masks"]]
    relu = cfg["constraintor"] == "conv-bn-relu"
    constraintor = nn.ModuleList([nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), *( [nn.ReLU()] if relu else [])) for _, _, c in levels])
    flows = nn.ModuleList([Flow(c, cfg["posEncodingDim"], cfg["flowBlocks"], cfg["flowHiddenRatio"]) for _, _, c in levels])
    c_opt = torch.optim.Adam(constraintor.parameters(), lr=cfg["lr"], weight_decay=cfg["weightDecay"])
    f_opt = torch.optim.Adam(flows.parameters(), lr=cfg["lr"], weight_decay=cfg["weightDecay"])
    pos = [positional_encoding(h, w, cfg["posEncodingDim"]) for h, w, _ in levels]
    occ_variant = "paper" if cfg["occ"] == "off" else cfg["occ"]
    totals = {}

    def add(key, ms, timed):
        if timed:
            totals.setdefault(key, []).append(ms)

    for step in range(args.warmup + args.steps):
        timed = step >= args.warmup
        t_step = time.process_time()
        t = time.process_time()
        residuals = []
        with torch.no_grad():
            for l, (h, w, c) in enumerate(levels):
                per_image = []
                for b, i in enumerate(batch):
                    x = feats[i][l]
                    pool = torch.cat([feats[r][l] for r in refs[b]], 0)
                    # |p|^2 - 2 x.p: the squared distance up to |x|^2, which does not change the argmin (fastest of cdist / full expansion here).
                    d = torch.addmm((pool * pool).sum(1)[None, :], x, pool.t(), alpha=-2)
                    per_image.append(x - pool[d.argmin(1)])
                residuals.append(torch.stack(per_image).view(len(batch), h, w, c).permute(0, 3, 1, 2).contiguous())
        add("matching", (time.process_time() - t) * 1000, timed)

        t = time.process_time()
        c_opt.zero_grad(set_to_none=True)
        outs, losses = [], []
        for l, (h, w, c) in enumerate(levels):
            out = constraintor[l](residuals[l])
            rows_out = out.permute(0, 2, 3, 1).reshape(-1, c)
            rows_res = residuals[l].permute(0, 2, 3, 1).reshape(-1, c)
            losses.append(occ_loss(rows_out, rows_res, masks[l], occ_variant))
            outs.append(rows_out)
        torch.stack(losses).mean().backward()
        c_opt.step()
        add("constraintor", (time.process_time() - t) * 1000, timed)

        for l, (h, w, c) in enumerate(levels):
            t = time.process_time()
            x_all = outs[l].detach()
            cond_all = pos[l].repeat(len(batch), 1)
            rows = x_all.shape[0]
            idx = torch.randperm(rows)[:min(cfg["flowBatch"], rows)]
            x, cond, anomalous = x_all[idx], cond_all[idx], masks[l][idx]
            f_opt.zero_grad(set_to_none=True)
            logp = flows[l].log_prob_per_dim(x, cond)
            normal = ~anomalous
            loss = -(logp * normal).sum() / max(1, int(normal.sum()))
            boundary = float(torch.quantile(logp.detach()[normal], 0.05)) if normal.any() else 0.0
            if anomalous.any():
                loss = loss + bgspp(logp, anomalous, boundary, 0.1, cfg["bgsppReduction"])
            loss.backward()
            f_opt.step()
            add(f"flow L{l + 1}", (time.process_time() - t) * 1000, timed)
        add("total", (time.process_time() - t_step) * 1000, timed)

    print(json.dumps({"ms": {k: float(np.median(v)) for k, v in totals.items()}, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
