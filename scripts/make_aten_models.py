#!/usr/bin/python3
"""Make the models of tests/aten.bats (--operator-export-type and
--export-modules-as-functions) in testdata/aten/:

    /usr/bin/python3 scripts/make_aten_models.py [OUTDIR]

- fallback.pt: one op pt2onnx has no converter for (aten::erfinv) between
  converted ones, and a strided slice (whose handler refuses it below
  opset 10): what aten-fallback and fallthrough export unconverted.
- untyped.pt: aten::cummax, whose outputs libtorch's shape analysis cannot
  type, returned as graph outputs (which need a type).
- functions.pt: two instances of one module type (Linear + ReLU) and one
  of another, for --export-modules-as-functions; functions.json is its
  fixture (scripts/fixture_from_pt.py) for ONNX Runtime.
- fnaten.pt: two instances of a module whose body holds an op exported
  unconverted (aten::erfinv), for both flags at once.
- variants.pt: two instances of one module type whose converted bodies
  differ (an attribute picks ReLU or Tanh), which make two functions.
"""
import os
import subprocess
import sys

import torch


class Fallback(torch.nn.Module):
    def forward(self, x):
        y = torch.relu(x)
        z = torch.erfinv(torch.tanh(y) * 0.5)
        return torch.sigmoid(z + 1) * 2, x[:, ::2]


class Untyped(torch.nn.Module):
    def forward(self, x):
        v, i = torch.cummax(x, 1)
        return v, i


class Block(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = torch.nn.Linear(n, n)
        self.act = torch.nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


class Head(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = torch.nn.Linear(n, 2)

    def forward(self, x):
        return torch.sigmoid(self.fc(x)) * 2


class Act(torch.nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        if self.kind == "relu":
            return torch.relu(x)
        return torch.tanh(x)


class Variants(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Act("relu")
        self.b = Act("tanh")
        self.c = Act("relu")

    def forward(self, x):
        return self.c(self.b(self.a(x) - 0.5))


class ErfBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        return torch.erfinv(torch.tanh(self.fc(x)) * 0.5)


class FnAten(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = ErfBlock()
        self.b = ErfBlock()

    def forward(self, x):
        return self.b(self.a(x)) + 1


class Functions(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = Block(4)
        self.b2 = Block(4)
        self.head = Head(4)

    def forward(self, x):
        return self.head(self.b2(self.b1(x)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "testdata", "aten")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(Fallback()), os.path.join(out, "fallback.pt"))
    torch.jit.save(torch.jit.script(Untyped()), os.path.join(out, "untyped.pt"))
    fn = os.path.join(out, "functions.pt")
    torch.jit.save(torch.jit.script(Functions().eval()), fn)
    torch.jit.save(torch.jit.script(FnAten().eval()), os.path.join(out, "fnaten.pt"))
    vn = os.path.join(out, "variants.pt")
    torch.jit.save(torch.jit.script(Variants().eval()), vn)
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "fixture_from_pt.py"),
                    vn, os.path.join(out, "variants.json"), "-s", "2x5"], check=True)
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "fixture_from_pt.py"),
                    fn, os.path.join(out, "functions.json"), "-s", "3x4"], check=True)


if __name__ == "__main__":
    main()
