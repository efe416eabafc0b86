#!/usr/bin/python3
"""Make the large-model benchmark's input: a TorchScript MLP of five large
linear layers with random weights, ~2.5 GiB of float32 (over protobuf's
2 GiB limit, so converters must use ONNX external data), and its fixture
(PyTorch's output on a fixed input) for scripts/ortcheck.js.

    /usr/bin/python3 scripts/make_big_model.py OUT.pt OUT.json [--width N]

Generated at bench time (scripts/bench.sh), never committed. --width scales
it down for trying the pipeline on a small model. Input shape: 1xWIDTH.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_from_pt import tensor_json  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("json")
    ap.add_argument("--width", type=int, default=8192)
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    torch.set_grad_enabled(False)
    torch.manual_seed(0)
    w = args.width
    # Alternating 1x/2x widths: five weights of 2*w*w floats each (at
    # w=8192: 536 MB each, 2.68 GB = 2.5 GiB in all).
    dims = [w, 2 * w, w, 2 * w, w, 2 * w]
    layers = []
    for i in range(5):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < 4:
            layers.append(nn.ReLU())
    m = nn.Sequential(*layers).eval()
    # Kaiming-uniform weights shrink activations ~3x per layer: rescale so
    # that the output stays O(1) and the comparison means something.
    for layer in m:
        if isinstance(layer, nn.Linear):
            layer.weight.mul_(3.0 ** 0.5)
    x = torch.randn(1, w, generator=torch.Generator().manual_seed(0))
    s = torch.jit.script(m)
    y = s(x)
    fixture = {
        "name": os.path.splitext(os.path.basename(args.out))[0],
        "shapes": [f"1x{w}"],
        "min_opset": 7,
        "rtol": 1e-3,
        "atol": 1e-4,
        "inputs": [tensor_json(x)],
        "outputs": [tensor_json(y)],
    }
    for path, write in ((args.out, lambda p: s.save(p)),
                        (args.json, lambda p: json.dump(fixture, open(p, "w")))):
        tmp = path + ".tmp"
        write(tmp)
        os.replace(tmp, path)
    n = sum(p.numel() * p.element_size() for p in m.parameters())
    print(f"make_big_model: {args.out}: {n / 2**30:.2f} GiB of weights")
    return 0


if __name__ == "__main__":
    sys.exit(main())
