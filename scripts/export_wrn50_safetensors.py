#!/usr/bin/env python3
"""Exports torchvision's pretrained WideResNet50-2 (or another ResNet) to a safetensors file for resad.

What: loads torchvision's ImageNet weights (downloaded once by torchvision into
~/.cache/torch, so this needs internet the first time), keeps the tensors resad
reads (stem + layer1..3 by default), and writes them in torchvision naming
(`conv1.weight`, `bn1.running_mean`, `layer1.0.downsample.0.weight`, ...) to a
.safetensors file. resad's loader (src/backbones/resnet.ts) folds the BatchNorms
and runs the network in tfjs.

Why a script: the weights are ~270 MB (full) / ~100 MB (stem..layer3) and cannot ship
with the package. The `safetensors` Python package is not needed: the format is
written directly (8-byte little-endian header length, JSON header, raw data).

Equivalent without torch: download timm's `wide_resnet50_2.tv_in1k`
model.safetensors from the Hugging Face hub (same weights as IMAGENET1K_V1, same
names, plus layer4/fc which resad ignores).

Usage:
  /usr/bin/python3 scripts/export_wrn50_safetensors.py --out ~/.cache/resad/wide_resnet50_2.safetensors
  export RESAD_WRN50_WEIGHTS=~/.cache/resad/wide_resnet50_2.safetensors
Options: --arch resnet18|resnet34|resnet50|wide_resnet50_2|wide_resnet101_2,
  --weights IMAGENET1K_V1 (default; the classic weights the AD literature uses) | IMAGENET1K_V2,
  --all (also layer4 and fc), --dtype f32|f16|bf16 (default f32),
  --no-pretrained (torchvision's random init, offline: for testing the pipeline only).
"""
import argparse
import json
import os
import struct
import sys

import torch
import torchvision

ARCHS = ("resnet18", "resnet34", "resnet50", "wide_resnet50_2", "wide_resnet101_2")
# Must match RESNET_ARCHS[...].weightsEnv in src/backbones/resnet.ts.
ENV_VARS = {
    "resnet18": "RESAD_RESNET18_WEIGHTS", "resnet34": "RESAD_RESNET34_WEIGHTS", "resnet50": "RESAD_RESNET50_WEIGHTS",
    "wide_resnet50_2": "RESAD_WRN50_WEIGHTS", "wide_resnet101_2": "RESAD_WRN101_WEIGHTS",
}
DTYPES = {"f32": (torch.float32, "F32"), "f16": (torch.float16, "F16"), "bf16": (torch.bfloat16, "BF16")}


def write_safetensors(path: str, tensors: dict, metadata: dict) -> None:
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t, code = tensors[name]
        raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.contiguous().numpy().tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)  # never leave a half-written file under the final name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="wide_resnet50_2", choices=ARCHS)
    ap.add_argument("--weights", default="IMAGENET1K_V1", help="torchvision weights enum member (IMAGENET1K_V1 or IMAGENET1K_V2)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--all", action="store_true", help="keep layer4 and fc too")
    ap.add_argument("--dtype", default="f32", choices=sorted(DTYPES))
    ap.add_argument("--no-pretrained", action="store_true", help="random init, no download (pipeline tests only)")
    args = ap.parse_args()

    if args.no_pretrained:
        model = getattr(torchvision.models, args.arch)(weights=None)
        source = "random init (--no-pretrained)"
    else:
        enum_name = {
            "resnet18": "ResNet18_Weights", "resnet34": "ResNet34_Weights", "resnet50": "ResNet50_Weights",
            "wide_resnet50_2": "Wide_ResNet50_2_Weights", "wide_resnet101_2": "Wide_ResNet101_2_Weights",
        }[args.arch]
        weights = getattr(getattr(torchvision.models, enum_name), args.weights)
        model = getattr(torchvision.models, args.arch)(weights=weights)
        source = f"torchvision {enum_name}.{args.weights} ({weights.url})"
    model.eval()

    keep = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.") + (("layer4.", "fc.") if args.all else ())
    torch_dtype, code = DTYPES[args.dtype]
    tensors = {}
    for name, t in model.state_dict().items():
        if not name.startswith(keep) or not t.is_floating_point():
            continue  # num_batches_tracked (int64) is not needed
        tensors[name] = (t.detach().to(torch_dtype).cpu(), code)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, {"format": "pt", "arch": args.arch, "source": source})
    size = os.path.getsize(args.out)
    print(f"wrote {args.out}: {len(tensors)} tensors, {size / 2**20:.1f} MiB, {args.arch} from {source}", file=sys.stderr)
    print(f"use it with: export {ENV_VARS[args.arch]}={os.path.abspath(args.out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
