#!/usr/bin/python3
"""The baseline pt2onnx is measured against: PyTorch's own exporter.

    /usr/bin/python3 scripts/bench_export.py MODEL.pt OUT.onnx [--opset N] [--shape 1x3x224x224]

Loads the TorchScript archive and exports it with torch.onnx.export, the way
a user without pt2onnx would. scripts/bench.sh times the whole process.
"""
import argparse
import sys
import warnings

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--shape", default="1x3x224x224")
    args = ap.parse_args()
    shape = [int(d) for d in args.shape.split("x")]
    warnings.simplefilter("ignore")  # the exporter is chatty about tracing
    m = torch.jit.load(args.model).eval()
    x = torch.randn(*shape)
    torch.onnx.export(m, (x,), args.out, opset_version=args.opset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
