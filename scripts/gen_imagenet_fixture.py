#!/usr/bin/env python3
"""Reference fixtures for resad's ImageNet backbones (resnet50_v2, mobilenetv2_imagenet) from PyTorch.

What: each network is built in PyTorch independently of resad's code, fed tensors named
as the ONNX model zoo's initializers (`resnetv24_...`, `conv_N_weight`), and run in
float64 on the deterministic 64x56 image of scripts/gen_wrn_fixture.py. The level outputs
(NHWC, channel-subsampled) go to test/fixtures/backbones/<name>_<weights>.{json,f32}:

- `<name>_formula`: every tensor from the deterministic formula of gen_wrn_fixture.py
  (ranges by name suffix: conv `_weight` +-sqrt(6/fan_in); `_gamma` [0.5, 1]; `_beta`,
  `_running_mean`, conv `_bias` [-0.2, 0.2]; `_running_var` [0.5, 2]); the TS test
  writes the same tensors to a file and loads it through the real loader;
- `<name>_shared`: the real ImageNet weights of ../shared/backbones (skipped when that
  folder is absent); the TS test checks the same file when it is there. The outputs
  are derived numbers, not the weights.

The references:
- ResNet50-v2 (pre-activation): written here with torch.nn from the layer order of the
  model zoo's Gluon export (data BatchNorm, 7x7 conv, BN, ReLU, max-pool; bottleneck
  units BN-ReLU -> 1x1 -> BN-ReLU -> 3x3 (stride) -> BN-ReLU -> 1x1, shortcut = the input
  or a 1x1 conv of the first BN-ReLU). Levels: the raw stage sums `stageS` and
  `stageS_act` = the next stage's first BatchNorm + ReLU of the sum.
- MobileNetV2 1.0: torchvision.models.mobilenet_v2 (its own block code), each
  BatchNorm set to the identity plus the zoo conv's bias, since the zoo folded them.
  Levels: the expansion ReLU6 output of blocks 3 / 6 / 13 (Keras numbering: block 0 is
  the t=1 block) and the output of block 13.

Usage (Debian's torch; the pyenv python has no torch):
  /usr/bin/python3 scripts/gen_imagenet_fixture.py [--out test/fixtures/backbones] [--shared ../shared/backbones]
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torchvision

from gen_wrn_fixture import INPUT_HW, MEAN, STD, formula_tensor_input, formula_u, pack_levels

EPS = 1e-5


def formula_range(name: str, shape) -> tuple:
    if len(shape) == 4:
        b = math.sqrt(6.0 / (shape[1] * shape[2] * shape[3]))
        return -b, b
    if name.endswith("_running_var"):
        return 0.5, 2.0
    if name.endswith("_gamma"):
        return 0.5, 1.0
    if name.endswith(("_beta", "_running_mean", "_bias")):
        return -0.2, 0.2
    raise ValueError(f"no formula range for {name}")


def formula_tensor(name: str, shape) -> np.ndarray:
    lo, hi = formula_range(name, shape)
    n = int(np.prod(shape))
    return (lo + (hi - lo) * formula_u(name, n)).astype(np.float32).reshape(shape)


def read_safetensors(path: str) -> dict:
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        assert v["dtype"] == "F32", k
        out[k] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype="<f4").reshape(v["shape"])
    return out


# ---------------------------------------------------------------- ResNet50-v2 (written here)


def bn_from(w, prefix: str) -> nn.BatchNorm2d:
    gamma = w(prefix + "_gamma")
    bn = nn.BatchNorm2d(gamma.shape[0], eps=EPS)
    bn.weight.data = torch.from_numpy(gamma.copy())
    bn.bias.data = torch.from_numpy(w(prefix + "_beta").copy())
    bn.running_mean.data = torch.from_numpy(w(prefix + "_running_mean").copy())
    bn.running_var.data = torch.from_numpy(w(prefix + "_running_var").copy())
    return bn


def conv_from(w, name: str, stride: int, pad: int) -> nn.Conv2d:
    k = w(name)
    c = nn.Conv2d(k.shape[1], k.shape[0], k.shape[2], stride=stride, padding=pad, bias=False)
    c.weight.data = torch.from_numpy(k.copy())
    return c


class UnitV2(nn.Module):
    def __init__(self, w, stage: int, u: int, stride: int):
        super().__init__()
        p = f"resnetv24_stage{stage}_"
        c = 0 if u == 0 else 3 * u + 1
        self.bn1, self.bn2, self.bn3 = (bn_from(w, f"{p}batchnorm{3 * u + i}") for i in range(3))
        self.conv1 = conv_from(w, f"{p}conv{c}_weight", 1, 0)
        self.conv2 = conv_from(w, f"{p}conv{c + 1}_weight", stride, 1)
        self.conv3 = conv_from(w, f"{p}conv{c + 2}_weight", 1, 0)
        self.shortcut = conv_from(w, f"{p}conv3_weight", stride, 0) if u == 0 else None

    def forward(self, x):
        y = torch.relu(self.bn1(x))
        residual = self.shortcut(y) if self.shortcut is not None else x
        h = self.conv1(y)
        h = self.conv2(torch.relu(self.bn2(h)))
        h = self.conv3(torch.relu(self.bn3(h)))
        return h + residual


class ResNet50V2Stages(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.data_bn = bn_from(w, "resnetv24_batchnorm0")
        self.conv0 = conv_from(w, "resnetv24_conv0_weight", 2, 3)
        self.bn1 = bn_from(w, "resnetv24_batchnorm1")
        self.stages = nn.ModuleList(
            nn.Sequential(*[UnitV2(w, s, u, 2 if (u == 0 and s > 1) else 1) for u in range(n)]) for s, n in ((1, 3), (2, 4), (3, 6))
        )
        self.acts = nn.ModuleList(bn_from(w, f"resnetv24_stage{s + 1}_batchnorm0") for s in (1, 2, 3))

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv0(self.data_bn(x)))), 3, 2, 1)
        sums, acts = [], []
        for stage, act in zip(self.stages, self.acts):
            x = stage(x)
            sums.append(x)
            acts.append(torch.relu(act(x)))
        return {**{f"stage{i + 1}": s for i, s in enumerate(sums)}, **{f"stage{i + 1}_act": a for i, a in enumerate(acts)}}


def resnet50_v2_names():
    names = []
    bn = lambda p, n: names.extend((f"{p}_{f}", (n,)) for f in ("gamma", "beta", "running_mean", "running_var"))
    bn("resnetv24_batchnorm0", 3)
    names.append(("resnetv24_conv0_weight", (64, 3, 7, 7)))
    bn("resnetv24_batchnorm1", 64)
    cin = 64
    for s, n in ((1, 3), (2, 4), (3, 6)):
        planes = 64 * 2 ** (s - 1)
        out = 4 * planes
        p = f"resnetv24_stage{s}_"
        for u in range(n):
            ci = cin if u == 0 else out
            c = 0 if u == 0 else 3 * u + 1
            bn(f"{p}batchnorm{3 * u}", ci)
            bn(f"{p}batchnorm{3 * u + 1}", planes)
            bn(f"{p}batchnorm{3 * u + 2}", planes)
            names += [(f"{p}conv{c}_weight", (planes, ci, 1, 1)), (f"{p}conv{c + 1}_weight", (planes, planes, 3, 3)), (f"{p}conv{c + 2}_weight", (out, planes, 1, 1))]
            if u == 0:
                names.append((f"{p}conv3_weight", (out, ci, 1, 1)))
        bn(f"resnetv24_stage{s + 1}_batchnorm0", out)
        cin = out
    return names


def run_resnet50_v2(w, x):
    return ResNet50V2Stages(w).double().eval()(x)


# ---------------------------------------------------------------- MobileNetV2 (torchvision)


def mobilenet_convs(model):
    """torchvision's MobileNetV2 convs up to block 16 in forward order, each with the BatchNorm after it."""
    pairs = []
    mods = [m for m in model.features[:18].modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    for conv, bn in zip(mods[0::2], mods[1::2]):
        assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
        pairs.append((conv, bn))
    return pairs


def zoo_conv_numbers(model):
    """The zoo's conv_N numbering: every conv, ReLU6 and residual Add of the graph takes one number."""
    numbers, node = [], 0
    for i, block in enumerate(model.features[:18]):
        convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
        for j, _ in enumerate(convs):
            numbers.append(node)
            last_linear = i > 0 and j == len(convs) - 1
            node += 1 if last_linear else 2
        if i > 0 and getattr(block, "use_res_connect", False):
            node += 1
    return numbers


def mobilenet_names(model):
    return [
        (f"conv_{n}_{kind}", tuple(conv.weight.shape) if kind == "weight" else (conv.weight.shape[0],))
        for n, (conv, _) in zip(zoo_conv_numbers(model), mobilenet_convs(model))
        for kind in ("weight", "bias")
    ]


def run_mobilenet(w, x):
    model = torchvision.models.mobilenet_v2(weights=None).eval()
    for n, (conv, bn) in zip(zoo_conv_numbers(model), mobilenet_convs(model)):
        conv.weight.data = torch.from_numpy(w(f"conv_{n}_weight").copy())
        bias = w(f"conv_{n}_bias")
        # The zoo folded BatchNorm into the conv: an identity BN carrying the conv's bias.
        bn.weight.data.fill_(1.0)
        bn.bias.data = torch.from_numpy(bias.copy())
        bn.running_mean.data.zero_()
        bn.running_var.data.fill_(1.0 - bn.eps)
    model = model.double()
    taps = {}
    h = x
    # features[0] is the stem; Keras block N is features[N + 1].
    for i, block in enumerate(model.features[:15]):
        n = i - 1
        if n in (3, 6, 13):
            taps[f"block_{n}_expand_relu"] = block.conv[0](h)  # the expansion ConvBNReLU
        h = block(h)
        if n == 13:
            taps["block_13"] = h
    return taps


# ---------------------------------------------------------------- fixture writing


def write_fixture(out_dir: str, base: str, outs: dict, order, step: int, weights_desc: str, sums: dict, h: int, w: int) -> None:
    levels, data = pack_levels(((name, outs[name]) for name in order), step)
    data.tofile(os.path.join(out_dir, base + ".f32"))
    meta = {
        "arch": base.rsplit("_", 1)[0],
        "generator": "scripts/gen_imagenet_fixture.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "reference": f"PyTorch float64 forward, eval mode; weights: {weights_desc}",
        "inputShape": [1, h, w, 3],
        "levels": levels,
        "weightSums": sums,
    }
    with open(os.path.join(out_dir, base + ".json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print(base, [(l["name"], l["fullShape"], round(l["maxAbs"], 3), round(l["fractionZero"], 3)) for l in levels])


NETS = {
    # name: (tensor names, forward, level order, channel step, shared file)
    "resnet50_v2": (lambda: resnet50_v2_names(), run_resnet50_v2, ["stage1", "stage2", "stage3", "stage1_act", "stage2_act", "stage3_act"], 4, "resnet50_v2.safetensors"),
    "mobilenetv2_imagenet": (
        lambda: mobilenet_names(torchvision.models.mobilenet_v2(weights=None)),
        run_mobilenet,
        ["block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu", "block_13"],
        2,
        "mobilenetv2_1.0.safetensors",
    ),
}


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "backbones"))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared", "backbones"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    h, w = INPUT_HW
    img = formula_tensor_input(h, w)
    x = torch.from_numpy((img.astype(np.float64) - MEAN) / STD).permute(0, 3, 1, 2).contiguous()
    for name, (names_fn, forward, order, step, shared_file) in NETS.items():
        names = names_fn()
        formula = {k: formula_tensor(k, s) for k, s in names}
        sums = {k: float(v.astype(np.float64).sum()) for k, v in formula.items()}
        with torch.no_grad():
            write_fixture(args.out, f"{name}_formula", forward(lambda k: formula[k], x), order, step, "the deterministic formula", sums, h, w)
        shared = os.path.join(args.shared, shared_file)
        if os.path.exists(shared):
            real = read_safetensors(shared)
            with torch.no_grad():
                write_fixture(args.out, f"{name}_shared", forward(lambda k: real[k], x), order, step, f"../shared/backbones/{shared_file}", {}, h, w)
        else:
            print(f"{shared} not found: no real-weights fixture for {name}")


if __name__ == "__main__":
    main()
