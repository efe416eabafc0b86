#!/usr/bin/python3
"""make_v2_zoo.py — the skeletons of testdata/v2/zoo (see scripts/v2zoo.py).

    python3 scripts/make_v2_zoo.py [NAME ...] OUTDIR

Run under PyTorch 2.x with torchvision (Debian 13's, in the chroot of
`make v2-zoo`), never Debian 12's 1.13. For each network: trace it (random
init, eval mode) on the zoo's input, save the archive, empty its large
storages (the skeleton, OUTDIR/NAME.pt), fill them back with v2zoo.py's
values, load that archive and run it: its output is the reference in
OUTDIR/NAME.json. The suite fills the skeleton the same way and converts
the result, so what it checks is an archive PyTorch 2.x wrote, with the
weights PyTorch 2.x computed the reference with.
"""
import base64
import json
import os
import sys
import tempfile

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v2zoo  # noqa: E402

# name -> input dims (every network takes one image)
NETWORKS = {
    "resnet18": (1, 3, 224, 224),
    "mobilenet_v3_large": (1, 3, 224, 224),
    "efficientnet_b0": (1, 3, 224, 224),
    "vit_b_16": (1, 3, 224, 224),
    "swin_t": (1, 3, 224, 224),
}


def encode(t):
    t = t.detach().contiguous()
    assert t.dtype == torch.float32
    return {"dims": list(t.shape), "dtype": "float32",
            "data": base64.b64encode(t.numpy().astype("<f4").tobytes()).decode("ascii")}


def make(outdir, name):
    dims = NETWORKS[name]
    torch.manual_seed(0)
    net = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.from_numpy(v2zoo.model_input(name, dims).copy())
    skeleton = os.path.join(outdir, name + ".pt")
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        full = os.path.join(tmp, "full.pt")
        torch.jit.save(torch.jit.trace(net, (x,), check_trace=False), full)
        v2zoo.strip(full, skeleton)
        filled = os.path.join(tmp, "filled.pt")
        v2zoo.fill_archive(name, skeleton, filled)
        y = torch.jit.load(filled)(x.clone())
    doc = {"name": name, "shapes": ["x".join(map(str, dims))], "min_opset": 14,
           "opsets": [14, 17, 23], "rtol": 1e-3, "atol": 1e-4, "mode": "trace",
           "producer": "torch " + torch.__version__, "input_dims": list(dims),
           "outputs": [encode(y)]}
    with open(os.path.join(outdir, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("make_v2_zoo: %s (%d bytes)" % (skeleton, os.path.getsize(skeleton)))


def main(argv):
    if not argv:
        sys.exit(__doc__)
    outdir = argv[-1]
    os.makedirs(outdir, exist_ok=True)
    for name in argv[:-1] or list(NETWORKS):
        make(outdir, name)


if __name__ == "__main__":
    main(sys.argv[1:])
