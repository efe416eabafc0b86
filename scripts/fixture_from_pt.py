#!/usr/bin/python3
"""Make a fixture json for any TorchScript archive: fixed-seed inputs of the
given shapes, and what PyTorch returns for them.

    /usr/bin/python3 scripts/fixture_from_pt.py MODEL.pt OUT.json -s DIMS[:DTYPE]... [--rtol R] [--atol A] [--seed N]

The -s arguments are the ones pt2onnx takes (symbolic dims are not allowed
here: a fixture needs numbers). The json can then be used with
scripts/ortcheck.js to check pt2onnx's output for that model:

    pt2onnx MODEL.pt -o MODEL.onnx -s 1x3x224x224
    node scripts/ortcheck.js MODEL.onnx OUT.json
"""
import argparse
import base64
import json
import os
import sys

DTYPES = ("float32", "float16", "float64", "int64", "int32", "int16", "int8",
          "uint8", "bool")


def parse_shape(arg):
    dims, _, dtype = arg.partition(":")
    dtype = dtype or "float32"
    if dtype not in DTYPES:
        raise argparse.ArgumentTypeError(f"'{arg}': dtype must be one of {' '.join(DTYPES)}")
    try:
        shape = [int(d) for d in dims.split("x")] if dims else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{arg}': dims must be numbers like 1x3x224x224")
    if any(d < 0 for d in shape):
        raise argparse.ArgumentTypeError(f"'{arg}': negative dim")
    return arg, shape, dtype


def tensor_json(t):
    import torch
    names = {torch.float32: "float32", torch.float16: "float16",
             torch.float64: "float64", torch.int64: "int64", torch.int32: "int32",
             torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8",
             torch.bool: "bool"}
    if t.dtype not in names:
        raise SystemExit(f"fixture_from_pt: output dtype {t.dtype} has no fixture form")
    a = t.detach().contiguous().cpu().numpy()
    raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
    return {"dims": list(t.shape), "dtype": names[t.dtype],
            "data": base64.b64encode(raw).decode("ascii")}


def flatten(y):
    import torch
    if isinstance(y, torch.Tensor):
        return [y]
    if isinstance(y, (list, tuple)):
        return [t for v in y for t in flatten(v)]
    raise SystemExit(f"fixture_from_pt: cannot store an output of type {type(y).__name__}")


def make_input(shape, dtype, gen):
    import torch
    t = getattr(torch, dtype)
    if dtype == "bool":
        return torch.rand(shape, generator=gen) > 0.5
    if t.is_floating_point:
        return torch.randn(shape, generator=gen).to(t)
    lo = 0 if dtype == "uint8" else -5
    return torch.randint(lo, 10, shape, generator=gen, dtype=t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("-s", "--input-shape", dest="shapes", action="append",
                    type=parse_shape, default=[], metavar="DIMS[:DTYPE]")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    torch.set_grad_enabled(False)
    model = torch.jit.load(args.model).eval()
    gen = torch.Generator().manual_seed(args.seed)
    xs = [make_input(shape, dtype, gen) for _, shape, dtype in args.shapes]
    ys = flatten(model(*xs))
    fixture = {
        "name": os.path.splitext(os.path.basename(args.model))[0],
        "shapes": [arg for arg, _, _ in args.shapes],
        "min_opset": 7,
        "rtol": args.rtol,
        "atol": args.atol,
        "inputs": [tensor_json(x) for x in xs],
        "outputs": [tensor_json(y) for y in ys],
        # Not part of the fixture format; handy for messages and tests.
        "input_names": [a.name for a in model.forward.schema.arguments[1:]],
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(fixture, f)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
