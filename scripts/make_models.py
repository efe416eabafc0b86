#!/usr/bin/python3
"""Make whole-network TorchScript fixtures from torchvision architectures.

    /usr/bin/python3 scripts/make_models.py OUTDIR [--force] [NAME ...]

NAME is any of resnet18 resnet50 mobilenet_v2 vgg11 (default: all). For each
it writes OUTDIR/NAME.pt and OUTDIR/NAME.json (the fixture format: the -s
arguments, one fixed-seed 1x3x224x224 float32 input and PyTorch's output).

Weights are random (weights=None: nothing is downloaded) but reproducible:
every model starts from torch.manual_seed(0). Batch-norm statistics and
affine parameters are randomized too, because torchvision's fresh ones
(mean 0, var 1, weight 1, bias 0) make batch norm almost the identity and a
converter that got it wrong would still pass.

resnet18 and vgg11 are saved with torch.jit.trace, resnet50 and mobilenet_v2
with torch.jit.script, so both ways of making an archive are covered.
A model whose .pt and .json both exist is skipped unless --force is given.
"""
import argparse
import base64
import json
import os
import sys
import time

# torch and torchvision are imported only when there is something to make:
# importing them costs a second, and a run with nothing to do should not.

# name -> how to make the archive (the torchvision constructor has the name)
MODELS = {
    "resnet18": "trace",
    "resnet50": "script",
    "mobilenet_v2": "script",
    "vgg11": "trace",
}
SHAPE = (1, 3, 224, 224)


def tensor_json(t):
    import torch
    t = t.detach().contiguous().cpu()
    assert t.dtype == torch.float32
    raw = t.numpy().astype("<f4", copy=False).tobytes()
    return {"dims": list(t.shape), "dtype": "float32",
            "data": base64.b64encode(raw).decode("ascii")}


def randomize_batchnorm(model, gen):
    import torch
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def make(name, outdir):
    import torch
    import torchvision
    how = MODELS[name]
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        randomize_batchnorm(model, gen)
        x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1))
        if how == "trace":
            jit = torch.jit.trace(model, (x,))
        else:
            jit = torch.jit.script(model)
        jit = jit.eval()
        y = jit(x)

    pt = os.path.join(outdir, name + ".pt")
    js = os.path.join(outdir, name + ".json")
    # Write both under temporary names and rename, json last: a run that is
    # interrupted never leaves a pair that looks complete.
    torch.jit.save(jit, pt + ".tmp")
    os.replace(pt + ".tmp", pt)
    fixture = {
        "name": name,
        "shapes": ["x".join(map(str, SHAPE))],
        "min_opset": 7,
        "rtol": 1e-3,
        "atol": 1e-4,
        "inputs": [tensor_json(x)],
        "outputs": [tensor_json(y)],
    }
    with open(js + ".tmp", "w") as f:
        json.dump(fixture, f)
    os.replace(js + ".tmp", js)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="models to make (default: all): " + " ".join(MODELS))
    ap.add_argument("--force", action="store_true",
                    help="remake models that already exist")
    args = ap.parse_intermixed_args()
    for n in args.names:
        if n not in MODELS:
            ap.error(f"unknown model '{n}' (choose from {' '.join(MODELS)})")
    os.makedirs(args.outdir, exist_ok=True)
    for name in args.names or list(MODELS):
        base = os.path.join(args.outdir, name)
        if (not args.force and os.path.exists(base + ".pt")
                and os.path.exists(base + ".json")):
            continue
        t0 = time.monotonic()
        make(name, args.outdir)
        print(f"make_models: {base}.pt ({time.monotonic() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
