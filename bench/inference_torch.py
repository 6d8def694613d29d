#!/usr/bin/env python3
"""PyTorch peer of resad's per-image ResAD inference, for bench/inference.ts.

Builds the same computation with random weights at the same shapes -- backbone
(torchvision MobileNetV2 cut at the expand convs of blocks 3/6/13, or
WideResNet50-2 layer1..3), 3x3 local average, nearest-neighbour match in a
K-shot reference pool, residual, Conv+BN constraintor, conditional coupling
flows (FrEIA AllInOne layout), per-level scores, bilinear upsampling and
Gaussian blur -- and prints one JSON line with the per-image time.

    /usr/bin/python3 bench/inference_torch.py --preset cpu --images 20
    -> {"preset": "cpu", "ms_per_image": ..., "torch": "1.13.1", "threads": 1}

Exits 3 with a message when torch or torchvision is missing (Debian:
apt-get install python3-torch python3-torchvision libopenblas0-pthread).
"""
import argparse
import json
import math
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    import torchvision
except ImportError as err:  # pragma: no cover - depends on the machine
    print(json.dumps({"skipped": f"torch/torchvision not importable ({err}); install python3-torch python3-torchvision"}))
    sys.exit(3)

PRESETS = {
    # name: backbone, image size (--size overrides), flow blocks, position code dim, pooling, relu after BN
    "cpu": dict(backbone="mobilenetv2", size=160, blocks=4, pos=64, pool=3, relu=False),
    "paper": dict(backbone="wide_resnet50_2", size=224, blocks=8, pos=256, pool=1, relu=True),
}


def backbone_fn(name):
    if name == "mobilenetv2":
        feats = torchvision.models.mobilenet_v2().features.eval()
        taps = {4: None, 7: None, 14: None}  # keras block_3/6/13 expand_relu = torchvision features[k].conv[0]

        def run(x):
            out = []
            for i, m in enumerate(feats):
                if i in taps:
                    out.append(m.conv[0](x))  # the expand ConvBNReLU6
                    if i == 14:
                        return out
                x = m(x)
            return out

        return run
    net = torchvision.models.wide_resnet50_2().eval()

    def run(x):
        x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        l1 = net.layer1(x)
        l2 = net.layer2(l1)
        return [l1, l2, net.layer3(l2)]

    return run


class Coupling(torch.nn.Module):
    def __init__(self, dim, cond):
        super().__init__()
        self.len1 = dim - dim // 2
        self.len2 = dim // 2
        hidden = 2 * (self.len1 + cond)
        self.fc1 = torch.nn.Linear(self.len1 + cond, hidden)
        self.fc2 = torch.nn.Linear(hidden, 2 * self.len2)
        self.gscale = torch.nn.Parameter(torch.full((dim,), 0.5))
        self.goffset = torch.nn.Parameter(torch.zeros(dim))
        q, _ = torch.linalg.qr(torch.randn(dim, dim))
        self.register_buffer("perm", q)

    def forward(self, x, c):
        x1, x2 = x[:, : self.len1], x[:, self.len1 :]
        a = self.fc2(F.relu(self.fc1(torch.cat([x1, c], 1)))) * 0.1
        s = torch.atan(a[:, : self.len2] / 1.9) * 1.9 * 0.636
        y2 = x2 * torch.exp(s) + a[:, self.len2 :]
        g = 0.2 * F.softplus(self.gscale * 0.5)
        u = torch.cat([x1, y2], 1) * g + self.goffset
        return u @ self.perm, s.sum(1) + torch.log(g).sum()


def pos_code(h, w, d):
    return torch.randn(h * w, d)


def gaussian_kernel(sigma=4.0, truncate=4.0):
    r = int(truncate * sigma + 0.5)
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    return k / k.sum(), r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--size", type=int, default=None, help="image side (default: the preset's)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    p = PRESETS[args.preset]
    size = args.size or p["size"]
    bb = backbone_fn(p["backbone"])
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def features(img):
        x = (img - mean) / std
        fs = bb(x)
        if p["pool"] > 1:
            fs = [F.avg_pool2d(f, p["pool"], 1, p["pool"] // 2, count_include_pad=True) for f in fs]
        return fs

    with torch.no_grad():
        refs = features(torch.rand(args.shots, 3, size, size))
        pools = [f.permute(0, 2, 3, 1).reshape(-1, f.shape[1]) for f in refs]
        chans = [f.shape[1] for f in refs]
        grids = [(f.shape[2], f.shape[3]) for f in refs]
        convs = [torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, 1, 1), torch.nn.BatchNorm2d(c), *( [torch.nn.ReLU()] if p["relu"] else [])).eval() for c in chans]
        flows = [[Coupling(c, p["pos"]) for _ in range(p["blocks"])] for c in chans]
        conds = [pos_code(h, w, p["pos"]) for (h, w) in grids]
        kernel, r = gaussian_kernel()
        kx = kernel.view(1, 1, 1, -1)
        ky = kernel.view(1, 1, -1, 1)

        def score(img):
            total = torch.zeros(1, 1, size, size)
            for l, f in enumerate(features(img)):
                c, (h, w) = chans[l], grids[l]
                q = f.permute(0, 2, 3, 1).reshape(-1, c)
                pool = pools[l]
                idx = (2 * q @ pool.t() - (pool * pool).sum(1)).argmax(1)
                res = (q - pool[idx]).reshape(1, h, w, c).permute(0, 3, 1, 2)
                rc = convs[l](res).permute(0, 2, 3, 1).reshape(-1, c)
                dist = rc.norm(dim=1)
                z, logdet = rc, 0
                for blk in flows[l]:
                    z, ld = blk(z, conds[l])
                    logdet = logdet + ld
                logp = (-0.5 * (z * z).sum(1) - 0.5 * c * math.log(2 * math.pi) + logdet) / c
                s = (-logp - 1.0) / 0.1 + (dist - 1.0) / 0.5
                up = F.interpolate(s.view(1, 1, h, w), size=(size, size), mode="bilinear", align_corners=True)
                total = total + up
            padded = F.pad(total, (r, r, r, r), mode="reflect")
            blurred = F.conv2d(F.conv2d(padded, kx), ky)
            return blurred.amax()

        imgs = [torch.rand(1, 3, size, size) for _ in range(args.images + 2)]
        for im in imgs[:2]:
            score(im)
        t0 = time.process_time()
        for im in imgs[2:]:
            score(im)
        ms = 1000 * (time.process_time() - t0) / args.images
    print(json.dumps({"preset": args.preset, "ms_per_image": ms, "torch": torch.__version__, "threads": torch.get_num_threads(), "images": args.images}))


if __name__ == "__main__":
    main()
