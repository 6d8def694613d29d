#!/usr/bin/env python3
"""Generates the small reference fixture that checks resad's tfjs ResNets against torchvision.

What: torchvision's wide_resnet50_2 and resnet18 (eval mode), with every weight of
stem..layer3 defined by a deterministic formula (below), run on a deterministic
64x56 image; the layer1/2/3 outputs (NHWC, float32, channel-subsampled) go to
test/fixtures/backbones/<arch>_formula.{json,f32}.

Why a formula instead of real weights: the real checkpoint is 270 MB and cannot be
committed; the formula is re-implemented in test/backbones/formula-weights.ts, the
TS test writes the weights to a temporary safetensors file, loads it through the
real loader (src/backbones/resnet.ts) and compares with the outputs stored here.
Per-tensor sums are stored too, so a mismatch in the formula itself is reported as
such and not as a network bug.

The formula (must stay identical in formula-weights.ts):
  h   = FNV-1a 32-bit hash of the tensor name's UTF-8 bytes
  x   = (i * 0x9E3779B1 + h) mod 2^32          (i = flat index in PyTorch layout)
  x   = murmur3 fmix32(x);  u = x / 2^32        (in [0, 1))
  v   = float32(lo + (hi - lo) * u)             (computed in float64, rounded once)
  ranges: conv weight (rank 4): +-sqrt(6 / fan_in); BN weight [0.5, 1]; BN bias and
  running_mean [-0.2, 0.2]; running_var [0.5, 2]; the input image (NHWC index,
  name 'input') [0, 1], ImageNet-normalised by the network like real images.

The reference forward runs in float64 (model.double()) on the float32-valued
weights, so the stored outputs carry no float32 accumulation error of their own.

Usage (Debian's torch; the pyenv python has no torch):
  /usr/bin/python3 scripts/gen_wrn_fixture.py [--out test/fixtures/backbones]
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import torchvision

M32 = 0xFFFFFFFF
INPUT_HW = (64, 56)  # H, W: the odd 7 at stride 8 exercises PyTorch's symmetric stride-2 padding
ARCHS = {
    # name: channel step of the stored outputs (keeps the fixture small)
    "wide_resnet50_2": 2,
    "resnet18": 1,
}
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def fnv1a32(name: str) -> int:
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & M32
    return h


def formula_u(name: str, n: int) -> np.ndarray:
    i = np.arange(n, dtype=np.uint64)
    x = (i * np.uint64(0x9E3779B1) + np.uint64(fnv1a32(name))) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 4294967296.0


def formula_range(name: str, shape) -> tuple:
    if len(shape) == 4:
        fan_in = shape[1] * shape[2] * shape[3]
        b = math.sqrt(6.0 / fan_in)
        return -b, b
    if name.endswith("running_var"):
        return 0.5, 2.0
    if name.endswith("running_mean") or name.endswith(".bias"):
        return -0.2, 0.2
    if name.endswith(".weight"):
        return 0.5, 1.0
    raise ValueError(f"no formula range for {name}")


def formula_tensor(name: str, shape) -> np.ndarray:
    lo, hi = formula_range(name, shape)
    n = int(np.prod(shape))
    return (lo + (hi - lo) * formula_u(name, n)).astype(np.float32).reshape(shape)


def used_keys(model: torch.nn.Module):
    """State-dict float tensors of stem..layer3 (what resad reads for levels layer1..3)."""
    keep = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.")
    return [
        (k, tuple(v.shape))
        for k, v in model.state_dict().items()
        if k.startswith(keep) and v.dtype == torch.float32
    ]


def run(arch: str, step: int, out_dir: str) -> None:
    model = getattr(torchvision.models, arch)(weights=None).eval()
    sd = model.state_dict()
    sums = {}
    for key, shape in used_keys(model):
        w = formula_tensor(key, shape)
        sd[key] = torch.from_numpy(w)
        sums[key] = float(w.astype(np.float64).sum())
    model.load_state_dict(sd)
    model = model.double()

    h, w = INPUT_HW
    img = formula_tensor_input(h, w)  # NHWC float32 in [0,1]
    x = (img.astype(np.float64) - MEAN) / STD
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        y = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        outs = []
        for layer in (model.layer1, model.layer2, model.layer3):
            y = layer(y)
            outs.append(y)

    levels, data = pack_levels(zip(("layer1", "layer2", "layer3"), outs), step)
    base = os.path.join(out_dir, f"{arch}_formula")
    data.tofile(base + ".f32")
    meta = {
        "arch": arch,
        "generator": "scripts/gen_wrn_fixture.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "reference": "torchvision model, eval mode, float64 forward on float32 formula weights",
        "inputShape": [1, h, w, 3],
        "levels": levels,
        "weightSums": sums,
    }
    with open(base + ".json", "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print(arch, [(l["name"], l["fullShape"], round(l["maxAbs"], 3), round(l["fractionZero"], 3)) for l in levels])


def pack_levels(named_outputs, step: int):
    """NCHW torch outputs -> (level records, float32 data): NHWC, every `step`-th channel, concatenated."""
    levels, chunks, offset = [], [], 0
    for name, o in named_outputs:
        o = o.detach()
        nhwc = o.permute(0, 2, 3, 1).numpy()[..., ::step].astype(np.float32)
        levels.append({
            "name": name,
            "fullShape": [int(d) for d in o.permute(0, 2, 3, 1).shape],
            "channelStep": step,
            "storedShape": list(nhwc.shape),
            "offset": offset,
            "count": int(nhwc.size),
            "maxAbs": float(np.abs(nhwc).max()),
            "meanAbs": float(np.abs(nhwc).mean()),
            "fractionZero": float((nhwc == 0).mean()),
        })
        offset += nhwc.size
        chunks.append(nhwc.reshape(-1))
    return levels, np.concatenate(chunks).astype("<f4")


def formula_tensor_input(h: int, w: int) -> np.ndarray:
    n = h * w * 3
    return (0.0 + 1.0 * formula_u("input", n)).astype(np.float32).reshape(1, h, w, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "backbones"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    for arch, step in ARCHS.items():
        run(arch, step, args.out)


if __name__ == "__main__":
    main()
