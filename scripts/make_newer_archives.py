#!/usr/bin/python3
"""make_newer_archives.py — archives that name what no libtorch has.

    /usr/bin/python3 scripts/make_newer_archives.py testdata/v2

pt2onnx must refuse a valid archive it cannot read with exit 4 and the
exact reason (tests/v2.bats). These stand for archives written by a PyTorch
newer than the libtorch in use: a scripted module is saved with torch, and
its code record is edited to call

  newer-unknown-op.pt   aten::frobnicate_v2, an op that exists nowhere
  newer-unknown-op-26.pt  the same call in an archive PyTorch 2.6 wrote
                        (models/cnn.pt of the folder, from
                        scripts/make_v2_fixtures.py): its 2.x records
                        must be named
  newer-extra-arg.pt    aten::relu with an argument no version takes
  newer-extra-arg1.pt   aten::dropout (one overload) with one argument too
                        many
  newer-format.pt       (not edited code) the `version` record says 99
  newer-arg-default.pt  aten::pad_sequence with padding_side="right", an
                        argument PyTorch 2.6 added, at its default: loads
  newer-arg-value.pt    the same with "left": refused, naming the argument
  newer-op-constant.pt  aten::scaled_dot_product_attention (PyTorch 2.0) on
                        a parameter only: constant propagation must keep
                        the node, not run it

The zip is written here, entry by entry, stored, with fixed timestamps, so
the output does not depend on the clock.
"""
import json
import math
import os
import sys
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import encode  # noqa: E402  (the fixtures' json format)


class Relu(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x)


class Param(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(2, 3, 4))

    def forward(self, x):
        return torch.relu(self.w) + x


def records(module=Relu):
    path = os.path.join(sys.argv[1], ".base.pt")
    torch.jit.save(torch.jit.script(module()), path)
    with zipfile.ZipFile(path) as z:
        recs = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    os.unlink(path)
    return recs


def write(path, recs, edit):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in recs:
            data = edit(name, data)
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)


def code_edit(new_call, old_call="torch.relu(x)", everywhere=True):
    """Replaces old_call in the code records: in every one, or
    (everywhere=False) in those that have it, at least one."""
    found = []

    def edit(name, data):
        if "/code/" in name and name.endswith(".py"):
            assert not everywhere or old_call.encode() in data
            if old_call.encode() in data:
                found.append(name)
            return data.replace(old_call.encode(), new_call.encode())
        return data
    edit.found = found
    return edit


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    recs = records()
    write(os.path.join(out, "newer-unknown-op.pt"), recs,
          code_edit("torch.frobnicate_v2(x)"))
    with zipfile.ZipFile(os.path.join(out, "models", "cnn.pt")) as z:
        recs26 = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    edit = code_edit("torch.frobnicate_v2(input)", "torch.relu(input)",
                     everywhere=False)
    write(os.path.join(out, "newer-unknown-op-26.pt"), recs26, edit)
    assert edit.found
    write(os.path.join(out, "newer-extra-arg.pt"), recs,
          code_edit("torch.relu(x, 3)"))
    write(os.path.join(out, "newer-extra-arg1.pt"), recs,
          code_edit("torch.dropout(x, 0.5, False, 1)"))
    write(os.path.join(out, "newer-format.pt"), recs,
          lambda name, data: b"99\n" if name.endswith("/version") else data)
    pad = "torch.pad_sequence([x], False, 0., %s)"
    write(os.path.join(out, "newer-arg-default.pt"), recs,
          code_edit(pad % '"right"'))
    write(os.path.join(out, "newer-arg-value.pt"), recs,
          code_edit(pad % '"left"'))
    write(os.path.join(out, "newer-op-constant.pt"), records(Param),
          code_edit("torch.scaled_dot_product_attention(w, w, w)",
                    "torch.relu(w)"))
    # Its reference output, by the definition (this torch has no SDPA).
    w = Param().w.detach()
    att = torch.softmax(w @ w.transpose(-2, -1) / math.sqrt(4), dim=-1) @ w
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(1))
    doc = {"name": "newer-op-constant", "shapes": ["2x3x4"],
           "min_opset": 7, "opsets": [7, 17, 23], "rtol": 1e-4,
           "atol": 1e-5, "mode": "script", "inputs": [encode(x)],
           "outputs": [encode(att + x)]}
    with open(os.path.join(out, "newer-op-constant.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
