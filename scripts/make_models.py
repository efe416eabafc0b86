#!/usr/bin/python3
"""Make whole-network TorchScript fixtures from torchvision architectures.

    /usr/bin/python3 scripts/make_models.py OUTDIR [--force] [NAME ...]

NAME is any name of MODELS below (default: all). For each it writes
OUTDIR/NAME.pt and OUTDIR/NAME.json (the fixture format: the -s arguments,
one fixed-seed 1x3x224x224 float32 input and PyTorch's output).

Weights are random (weights=None: nothing is downloaded) but reproducible:
every model starts from torch.manual_seed(0). Batch-norm statistics and
affine parameters are randomized too, because torchvision's fresh ones
(mean 0, var 1, weight 1, bias 0) make batch norm almost the identity and a
converter that got it wrong would still pass.

Each entry says how the archive is made (torch.jit.trace or
torch.jit.script); most architectures are made both ways. The segmentation
networks return a dict, which pt2onnx does not export yet: their entries
("out" wrapping) trace the network's "out" tensor, so every op they use is
still checked.
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

# name -> (torchvision constructor, how to make the archive)
MODELS = {
    "resnet18": ("resnet18", "trace"),
    "resnet50": ("resnet50", "script"),
    "mobilenet_v2": ("mobilenet_v2", "script"),
    "vgg11": ("vgg11", "trace"),
}
# The architectures of the op-coverage issues, traced and scripted.
for _arch in ("efficientnet_b0", "mobilenet_v3_large", "regnet_y_400mf",
              "convnext_tiny", "shufflenet_v2_x1_0", "swin_t", "vit_b_16"):
    MODELS[_arch + "_traced"] = (_arch, "trace")
    MODELS[_arch + "_scripted"] = (_arch, "script")
for _arch in ("fcn_resnet50", "deeplabv3_mobilenet_v3_large",
              "lraspp_mobilenet_v3_large"):
    MODELS[_arch + "_out"] = (_arch, "out")
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


def OutOnly(model):
    """The network's "out" tensor, for a network that returns a dict."""
    import torch

    class Out(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, x):
            return self.net(x)["out"]
    return Out().eval()


def make(name, outdir):
    import torch
    import torchvision
    arch, how = MODELS[name]
    torch.manual_seed(0)
    ctor = getattr(torchvision.models, arch, None) or \
        getattr(torchvision.models.segmentation, arch)
    kw = {"weights_backbone": None} if how == "out" else {}
    model = ctor(weights=None, **kw).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        randomize_batchnorm(model, gen)
        x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1))
        if how == "out":
            jit = torch.jit.trace(OutOnly(model), (x,), check_trace=False)
        elif how == "trace":
            # check_trace would run the network twice more to compare
            # traces; the reference output below is the traced module's.
            jit = torch.jit.trace(model, (x,), check_trace=False)
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
        # Absolute error scales with the outputs: a segmentation network's
        # logits reach the hundreds, where float32 noise near a zero
        # crossing passes 1e-4.
        "atol": max(1e-4, 1e-5 * float(y.abs().max())),
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
