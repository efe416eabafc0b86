#!/usr/bin/python3
"""Writes the per-op TorchScript fixtures of testdata/ (run with Debian's
/usr/bin/python3, which has torch).

    /usr/bin/python3 scripts/make_fixtures.py testdata [NAME...]

Every case is data: a module factory decorated with @case, which names the
inputs, the mode (script or trace), the opsets the suite tests it at, and
optionally symbolic dims checked at two sizes. For every case this writes
OUT/ops/NAME.pt (torch.jit.script or torch.jit.trace of the module, saved with
torch.jit.save) and OUT/ops/NAME.json: the -s arguments ("shapes"), the
lowest opset the case converts at ("min_opset"), the opsets to test
("opsets"), tolerances, fixed-seed inputs and the outputs of the *saved and
reloaded* archive, as base64 of little-endian raw bytes, and for a symbolic
case the further input sets ("extra_sets"). README's Testing section
documents the fields. The demo model goes to OUT/demo/tinynet.{pt,json}.

Each case is one op (or one argument variant of it). tests/ops.bats
enumerates testdata/ops/*.json: adding an op's fixture is adding its case
here, nothing else.
"""
import base64
import json
import os
import sys
import zlib
from typing import Optional

# TorchScript writes a module's Final constants in set order, which follows
# str hashes: with Python's per-run hash seed the archives would differ from
# run to run. A fixed seed makes generation deterministic; set it before
# torch is imported by running again with it.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402 (after the re-exec above)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DTYPES = {
    torch.float32: "float32", torch.float16: "float16", torch.float64: "float64",
    torch.bfloat16: "bfloat16", torch.int64: "int64", torch.int32: "int32",
    torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8",
    torch.bool: "bool",
}

CASES = []

# The opsets pt2onnx targets.
OPSET_RANGE = range(7, 24)

# Opsets every case is tested at (when >= its min_opset), besides its
# min_opset, 17 and 23: one per ONNX IR-version step the writer takes, so a
# case says nothing unless it emits an op listed in SWITCHES.
DEFAULT_OPSETS = (7, 9, 13, 21)

# ONNX operators whose form changes with the opset, and the opsets where it
# does (inputs become attributes or the reverse, new attributes, new
# semantics). A case that emits one lists it in emits=; it is then tested on
# both sides of every switch (s - 1 and s). These are facts of the ONNX
# operator changelog, kept here because the suite must not depend on the
# converter's own table to pick what to test it at.
SWITCHES = {
    "Clip": (11,),                   # min/max become inputs
    "Gemm": (11, 13),                # C optional; bfloat16
    "Unsqueeze": (11, 13),           # negative axes; axes become an input
    "Squeeze": (11, 13),
    "Split": (11, 13, 18),           # split sizes an input; num_outputs
    "ReduceSum": (11, 13),           # axes become an input at 13
    "ReduceMean": (11, 18),          # ... and at 18 for the others
    "ReduceMax": (11, 18),
    "ReduceMin": (11, 18),
    "ReduceProd": (11, 18),
    "ReduceL1": (11, 18),
    "ReduceL2": (11, 18),
    "ReduceLogSumExp": (11, 18),
    "ReduceSumSquare": (11, 18),
    "Slice": (10, 11),               # starts/ends become inputs; negatives
    "Pad": (11, 18),                 # pads an input; axes input
    "Mod": (10,),                    # new
    "MaxPool": (10,),                # ceil_mode, dilations
    "AveragePool": (10, 11, 19),     # ceil_mode; pads; dilations
    "Flatten": (11,),                # negative axis
    "Resize": (10, 11, 13, 18, 19),
    "Range": (11,),
    "ScatterND": (11, 16, 18),
    "Trilu": (14,),
    "HardSwish": (14,),
    "LayerNormalization": (17,),
    "Gelu": (20,),                   # its own op; the Erf form before
    "GreaterOrEqual": (12,),         # new; Not(Less) before
    "LessOrEqual": (12,),
    "GridSample": (16, 20),
}


def case(name, inputs, mode="script", shapes=None, min_opset=7, rtol=1e-4,
         atol=1e-5, opsets=None, emits=(), sizes=None, check=None,
         ort_max_opset=None):
    """Registers the decorated module factory as fixture NAME.

    inputs: input specs (randn, rand_as, randint); a dim may be a symbol
      name (a str) given values in sizes.
    shapes: the -s arguments; default: the inputs' dims (symbols kept) and
      dtypes.
    min_opset: the lowest opset the case converts at; below it the
      conversion must fail with "needs opset N or later".
    opsets: opsets to test besides min_opset, 17, 23 and DEFAULT_OPSETS.
    emits: ONNX operators whose SWITCHES points the case is tested at.
    sizes: {symbol: (size, size, ...)}: one input set per position, all run
      on the one model converted with the symbolic shapes.
    check: what is compared of each output, one entry per output:
      "values" (dtype, shape and values; the default for all), or "shape"
      (dtype and shape only: random numbers, empty's contents).
    ort_max_opset: the highest opset whose models ONNX Runtime can run
      (it lacks kernels for some ops' newest versions); above it the suite
      only converts the case.
    """
    sizes = dict(sizes or {})
    counts = {len(v) for v in sizes.values()}
    assert len(counts) <= 1, f"{name}: every symbol needs as many sizes"
    assert not sizes or counts.pop() >= 2, f"{name}: a symbol needs two sizes"
    for spec in inputs:
        for d in spec[1]:
            assert not isinstance(d, str) or d in sizes, \
                f"{name}: symbol {d} has no sizes"
    for e in emits:
        assert e in SWITCHES, f"{name}: {e} is not in SWITCHES"
    tested = case_opsets(min_opset, opsets or (), emits)
    assert check is None or all(k in ("values", "shape") for k in check), \
        f"{name}: check entries are 'values' or 'shape'"

    def register(factory):
        CASES.append(dict(name=name, factory=factory, inputs=inputs, mode=mode,
                          shapes=shapes, min_opset=min_opset, rtol=rtol,
                          atol=atol, opsets=tested, sizes=sizes,
                          check=check, ort_max_opset=ort_max_opset))
        return factory
    return register


# For the cases whose ops change form most often (Clip, Gemm,
# Squeeze/Unsqueeze, ReduceSum/ReduceMean, MaxPool, Mod, symbolic Reshape):
# every opset, so a switch point missing from SWITCHES is still caught.
EVERY_OPSET = tuple(OPSET_RANGE)


def case_opsets(min_opset, opsets, emits):
    """The sorted opsets a case is tested at (see case())."""
    assert min_opset in OPSET_RANGE, f"min_opset {min_opset} out of range"
    want = {min_opset, 17, 23, *DEFAULT_OPSETS, *opsets}
    for e in emits:
        for s in SWITCHES[e]:
            want.update((s - 1, s))
    for o in opsets:
        assert o in OPSET_RANGE, f"opset {o} out of range"
    return sorted(o for o in want if o >= min_opset and o in OPSET_RANGE)


def randn(*dims):
    return ("randn", dims, torch.float32)


def rand_as(dtype, *dims):
    return ("randn", dims, dtype)


def randint(lo, hi, *dims, dtype=torch.int64):
    return ("randint", dims, dtype, lo, hi)


class Fn(nn.Module):
    """A module whose forward is a function of its inputs (scriptable
    because each subclass defines forward itself)."""


def fn_module(f):
    """Makes a scriptable module class from a plain forward function."""
    cls = type(f.__name__, (nn.Module,), {"forward": f})
    return cls


def with_stats(bn):
    """Gives a batch norm non-trivial running statistics and affine."""
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        if bn.weight is not None:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    return bn


# ---- convolution ---------------------------------------------------------------

@case("conv2d_basic", [randn(1, 3, 8, 8)])
def _():
    return nn.Conv2d(3, 4, 3)


@case("conv2d_args", [randn(2, 4, 11, 9)])
def _():
    return nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2,
                     bias=False)


@case("conv2d_rect", [randn(1, 2, 9, 10)])
def _():
    return nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0))


@case("conv2d_same", [randn(1, 3, 7, 8)])
def _():
    # Even kernel and dilation: PyTorch pads the odd pixel at the end.
    return nn.Conv2d(3, 4, (4, 3), padding="same", dilation=(1, 2))


@case("conv2d_valid", [randn(1, 3, 7, 8)])
def _():
    return nn.Conv2d(3, 2, 3, padding="valid")


@case("conv2d_depthwise", [randn(1, 6, 8, 8)])
def _():
    return nn.Conv2d(6, 6, 3, padding=1, groups=6)


@case("conv2d_unbatched", [randn(3, 8, 8)], opsets=EVERY_OPSET)
def _():
    return nn.Conv2d(3, 4, 3, padding=1)


@case("conv2d_traced", [randn(1, 3, 8, 8)], mode="trace")
def _():
    return nn.Conv2d(3, 4, 3, stride=2, padding=1)


@case("conv1d", [randn(2, 3, 10)])
def _():
    return nn.Conv1d(3, 5, 3, stride=2, padding=1)


@case("conv1d_traced", [randn(2, 3, 10)], mode="trace")
def _():
    return nn.Conv1d(3, 5, 2, dilation=2)


@case("conv3d", [randn(1, 2, 4, 5, 6)])
def _():
    return nn.Conv3d(2, 3, (2, 3, 3), padding=(1, 0, 1))


@case("conv_transpose2d", [randn(1, 4, 5, 5)])
def _():
    return nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)


@case("conv_bn_relu", [randn(2, 3, 8, 8)])
def _():
    # Conv followed by eval batch_norm: the shim folds them into one Conv.
    return nn.Sequential(nn.Conv2d(3, 4, 3), with_stats(nn.BatchNorm2d(4)),
                         nn.ReLU(inplace=True))


@case("conv_bn_shared_weight", [randn(1, 3, 6, 6)])
def _():
    # One convolution applied twice, each time followed by its own batch
    # norm: folding must not scale the shared weight in place.
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)
            self.bn1 = with_stats(nn.BatchNorm2d(3))
            self.bn2 = with_stats(nn.BatchNorm2d(3))

        def forward(self, x):
            return self.bn2(self.conv(self.bn1(self.conv(x))))
    return Shared()


# ---- normalization ---------------------------------------------------------------

@case("batch_norm2d", [randn(2, 4, 5, 5)])
def _():
    return with_stats(nn.BatchNorm2d(4, eps=1e-3))


@case("batch_norm1d_rank2", [randn(3, 6)])
def _():
    return with_stats(nn.BatchNorm1d(6))


@case("batch_norm1d_rank3", [randn(3, 6, 7)], mode="trace")
def _():
    return with_stats(nn.BatchNorm1d(6))


@case("batch_norm2d_noaffine", [randn(2, 4, 5, 5)])
def _():
    return with_stats(nn.BatchNorm2d(4, affine=False))


# ---- activations ---------------------------------------------------------------

@case("relu", [randn(2, 3, 4)])
def _():
    return nn.ReLU()


@case("relu_inplace", [randn(2, 3, 4)])
def _():
    def forward(self, x):
        y = x * 2.0
        y.relu_()
        return y + 1.0
    return fn_module(forward)()


@case("inplace_input_write", [randn(2, 3)])
def _():
    # A write into a graph input, read afterwards: converts as a rebinding.
    def forward(self, x):
        x.add_(1.5)
        return x * 2
    return fn_module(forward)()


@case("inplace_view_after_write", [randn(2, 3)])
def _():
    # A view made after the write sees the new data, in ONNX too.
    def forward(self, x):
        y = x * 1
        y.mul_(3)
        v = y.view(-1)
        return v + 1
    return fn_module(forward)()


@case("hardtanh", [randn(2, 3, 4)], opsets=EVERY_OPSET)
def _():
    return nn.Hardtanh(-0.5, 0.7)


@case("relu6", [rand_as(torch.float32, 2, 3, 4)], opsets=EVERY_OPSET)
def _():
    def forward(self, x):
        return F.relu6(x * 5.0)
    return fn_module(forward)()


@case("relu6_traced", [randn(2, 3, 4)], mode="trace")
def _():
    def forward(self, x):
        return F.relu6(x * 5.0)
    return fn_module(forward)()


@case("gelu", [randn(2, 3, 4)], min_opset=9, opsets=[19, 20])
def _():
    return nn.GELU()


@case("gelu_tanh", [randn(2, 3, 4)], min_opset=9, opsets=[19, 20])
def _():
    return nn.GELU(approximate="tanh")


# ---- pooling -------------------------------------------------------------------------

@case("max_pool2d", [randn(1, 3, 9, 9)])
def _():
    return nn.MaxPool2d(3, stride=2, padding=1)


@case("max_pool2d_ceil", [randn(1, 2, 10, 10)], min_opset=10,
      opsets=EVERY_OPSET)
def _():
    return nn.MaxPool2d(3, 2, ceil_mode=True)


@case("max_pool2d_dilation", [randn(1, 2, 9, 9)], min_opset=10)
def _():
    return nn.MaxPool2d(2, stride=1, dilation=2)


@case("max_pool2d_rect", [randn(2, 2, 9, 8)])
def _():
    return nn.MaxPool2d((3, 2), stride=(1, 2), padding=(1, 0))


@case("max_pool2d_unbatched", [randn(2, 8, 8)])
def _():
    return nn.MaxPool2d(2)


@case("max_pool1d", [randn(2, 3, 11)])
def _():
    return nn.MaxPool1d(3, stride=2, padding=1)


@case("max_pool3d", [randn(1, 2, 5, 6, 7)])
def _():
    return nn.MaxPool3d(2, stride=(1, 2, 2))


@case("avg_pool2d", [randn(1, 3, 9, 9)])
def _():
    return nn.AvgPool2d(3, 2, padding=1)


@case("avg_pool2d_exclude_pad", [randn(1, 3, 9, 9)])
def _():
    return nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)


@case("avg_pool2d_ceil", [randn(1, 2, 10, 10)], min_opset=10)
def _():
    return nn.AvgPool2d(3, 2, ceil_mode=True)


@case("avg_pool2d_ceil_pad", [randn(1, 2, 10, 10)], min_opset=10)
def _():
    return nn.AvgPool2d(3, 2, padding=1, ceil_mode=True,
                        count_include_pad=False)


@case("avg_pool1d", [randn(2, 3, 11)])
def _():
    return nn.AvgPool1d(3, stride=2)


@case("avg_pool3d", [randn(1, 2, 4, 6, 6)])
def _():
    return nn.AvgPool3d(2)


@case("adaptive_avg_pool2d_global", [randn(2, 3, 7, 5)])
def _():
    return nn.AdaptiveAvgPool2d(1)


@case("adaptive_avg_pool2d_divisible", [randn(1, 3, 8, 9)])
def _():
    return nn.AdaptiveAvgPool2d((2, 3))


@case("adaptive_avg_pool2d_identity", [randn(1, 3, 4, 4)], mode="trace")
def _():
    return nn.AdaptiveAvgPool2d(4)


@case("adaptive_avg_pool1d", [randn(2, 3, 8)])
def _():
    return nn.AdaptiveAvgPool1d(4)


# ---- arithmetic -------------------------------------------------------------------------

@case("add_broadcast", [randn(2, 3, 4), randn(3, 1)])
def _():
    def forward(self, x, y):
        return x + y
    return fn_module(forward)()


@case("add_alpha", [randn(2, 3), randn(2, 3)])
def _():
    def forward(self, x, y):
        return torch.add(x, y, alpha=2.5)
    return fn_module(forward)()


@case("sub_alpha", [randn(2, 3), randn(3)])
def _():
    def forward(self, x, y):
        return torch.sub(x, y, alpha=2)
    return fn_module(forward)()


@case("scalar_arith", [randn(2, 3)])
def _():
    def forward(self, x):
        return (x + 2) * 3.5 - 1.25, 1 - x, x / 4, 2.0 / (x * x + 1)
    return fn_module(forward)()


@case("mul_div_tensors", [randn(2, 3, 4), randn(4)])
def _():
    def forward(self, x, y):
        return x * y, x / (y * y + 0.5)
    return fn_module(forward)()


@case("div_int_true", [randint(-20, 20, 2, 5), randint(1, 6, 5)])
def _():
    def forward(self, x, y):
        return x / y
    return fn_module(forward)()


@case("div_rounding_float", [randn(3, 4), randn(4)], min_opset=9)
def _():
    def forward(self, x, y):
        return (torch.div(x * 4, y, rounding_mode="floor"),
                torch.div(x * 4, y, rounding_mode="trunc"))
    return fn_module(forward)()


@case("div_rounding_int", [randint(-30, 30, 3, 4), randint(1, 7, 4)],
      min_opset=10, opsets=EVERY_OPSET)
def _():
    def forward(self, x, y):
        return (torch.div(x, y, rounding_mode="floor"),
                torch.div(x, -y, rounding_mode="floor"),
                torch.div(x, y, rounding_mode="trunc"))
    return fn_module(forward)()


@case("promote_int_float", [randint(-5, 5, 2, 3), randn(2, 3)])
def _():
    def forward(self, x, y):
        # int64 tensor with a float tensor, and with a float number
        return x + y, x * 0.5, x + 3
    return fn_module(forward)()


@case("promote_int32_int64", [randint(-5, 5, 2, 3, dtype=torch.int32),
                              randint(-5, 5, 3)])
def _():
    def forward(self, x, y):
        return x * y, x + 7
    return fn_module(forward)()


@case("promote_zero_dim", [randn(2, 3), rand_as(torch.float64)])
def _():
    def forward(self, x, s):
        # A 0-dim float64 tensor does not widen a float32 tensor.
        return x * s + x
    return fn_module(forward)()


@case("half_scalar", [rand_as(torch.float16, 2, 3)], rtol=1e-3, atol=1e-3)
def _():
    def forward(self, x):
        return x * 1.5 + 0.25
    return fn_module(forward)()


# ---- linear algebra -------------------------------------------------------------------

@case("linear", [randn(3, 5)])
def _():
    return nn.Linear(5, 4)


@case("linear_nobias", [randn(3, 5)], opsets=EVERY_OPSET)
def _():
    return nn.Linear(5, 4, bias=False)


@case("linear_rank3", [randn(2, 3, 5)])
def _():
    return nn.Linear(5, 4)


@case("linear_rank1", [randn(5)])
def _():
    return nn.Linear(5, 2)


@case("linear_traced", [randn(3, 5)], mode="trace")
def _():
    return nn.Linear(5, 4)


@case("addmm", [randn(3, 4), randn(3, 5), randn(5, 4), randn(4)])
def _():
    def forward(self, c, a, b, bias):
        return (torch.addmm(c, a, b, beta=0.5, alpha=2.0),
                torch.addmm(bias, a, b), torch.addmm(c, a, b, beta=0))
    return fn_module(forward)()


@case("matmul", [randn(2, 3, 4), randn(4, 5), randn(4), randn(1, 5, 2)])
def _():
    def forward(self, a, b, v, c):
        return a @ b, a @ v, v @ b, torch.matmul(a @ b, c)
    return fn_module(forward)()


@case("mm_bmm", [randn(3, 4), randn(4, 2), randn(2, 3, 4), randn(2, 4, 5)])
def _():
    def forward(self, a, b, x, y):
        return torch.mm(a, b), torch.bmm(x, y)
    return fn_module(forward)()


# ---- shapes ---------------------------------------------------------------------------------

@case("flatten", [randn(2, 3, 4, 5)])
def _():
    def forward(self, x):
        return (torch.flatten(x, 1), torch.flatten(x), torch.flatten(x, 1, 2),
                torch.flatten(x, -3, -2), torch.flatten(x, 2), x.flatten(3))
    return fn_module(forward)()


@case("flatten_symbolic", [randn("batch", 2, 4, 5)],
      sizes={"batch": (3, 5)})
def _():
    def forward(self, x):
        return torch.flatten(x, 1), torch.flatten(x, 2)
    return fn_module(forward)()


@case("flatten_symbolic_range", [randn("B", 3, "H", 5)],
      sizes={"B": (2, 4), "H": (4, 7)}, opsets=[14, 15])
def _():
    # A range with symbolic dims on both sides of it: the sizes kept come
    # from the input's Shape, never baked.
    def forward(self, x):
        return torch.flatten(x, 0, 1), torch.flatten(x, 1, 2), x.flatten(2)
    return fn_module(forward)()


@case("symbolic_dim_arith", [randn("N", 3, "H", "W"), randn("N", 3, "L", "W")],
      sizes={"N": (2, 3), "H": (9, 13), "W": (7, 5), "L": (4, 2)},
      opsets=[14, 15])
def _():
    # Sizes computed from symbolic dims: products, sums, conv/pool output
    # sizes; type inference keeps them symbolic (N*3, H+L, (H-1)/2+1).
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x, y):
            a = self.pool(self.conv(x))
            z = torch.cat([x, y], 2)
            v = z.view(z.size(0) * z.size(1), -1)
            return torch.flatten(a, 1), z * 2, v, y.reshape(-1, y.size(3))
    return M()


@case("view_reshape", [randn(2, 3, 4)])
def _():
    def forward(self, x):
        return x.view(2, -1), x.reshape(-1, 4, 3), x.view(x.size(0), -1)
    return fn_module(forward)()


@case("view_sizes", [randn(2, 3, 4)], mode="trace")
def _():
    def forward(self, x):
        return x.view(x.size(0) * x.size(1), x.size(2)).reshape(-1)
    return fn_module(forward)()


@case("view_symbolic", [randn("N", 4, 5)], sizes={"N": (3, 6)},
      opsets=EVERY_OPSET)
def _():
    def forward(self, x):
        return x.view(x.size(0), -1), x.reshape(x.size(0), 2, 10)
    return fn_module(forward)()


@case("size_dim", [randn(2, 3, 4)])
def _():
    def forward(self, x):
        return x.size(-1) + x.dim(), x.size(1)
    return fn_module(forward)()


@case("cat", [randn(2, 3), randn(2, 4), randn(5, 3)])
def _():
    def forward(self, a, b, c):
        return torch.cat([a, b], 1), torch.cat((a, c), dim=0), torch.cat([a, b, a], -1)
    return fn_module(forward)()


@case("cat_promote", [randn(2, 3), randint(-3, 3, 2, 2)])
def _():
    def forward(self, a, b):
        return torch.cat([a, b], 1)
    return fn_module(forward)()


@case("mean", [randn(2, 3, 4, 5)], opsets=EVERY_OPSET)
def _():
    def forward(self, x):
        return (x.mean([2, 3], keepdim=True), x.mean(-1), x.mean(),
                torch.mean(x, (0, -1)), x.mean(1, dtype=torch.float64))
    return fn_module(forward)()


@case("sum", [randn(2, 3, 4), randint(-4, 4, 2, 3)], opsets=EVERY_OPSET)
def _():
    def forward(self, x, i):
        return x.sum(1), x.sum([0, 2], keepdim=True), x.sum(), i.sum(1), i.sum()
    return fn_module(forward)()


@case("dropout_eval", [randn(2, 4, 3, 3)])
def _():
    return nn.Sequential(nn.Dropout(0.5), nn.Dropout2d(0.3), nn.AlphaDropout(0.2),
                         nn.Conv2d(4, 2, 1))


@case("contiguous_detach", [randn(2, 3)])
def _():
    def forward(self, x):
        return x.contiguous().detach() * 2
    return fn_module(forward)()


@case("compare_order", [randn(3, 4), randn(4)], opsets=[11, 12, 16])
def _():
    def forward(self, x, y):
        return x >= y, x <= y, x > y, x < 0.25
    return fn_module(forward)()


@case("slice_bounds", [randn(6, 5, 4)], opsets=[9, 10, 11, 13])
def _():
    def forward(self, x):
        return x[1:4], x[:, -3:], x[:-1, 2:-1], x[-100:100, :, 1:2]
    return fn_module(forward)()


@case("slice_step", [randn(7, 6)], min_opset=10, opsets=[10, 11, 13])
def _():
    def forward(self, x):
        return x[1:5:2], x[:, ::3], x[-4::2, 1:]
    return fn_module(forward)()


@case("slice_symbolic", [randn(5, 6)], shapes=["Nx6"], opsets=[9, 10])
def _():
    def forward(self, x):
        return x[1:-1], x[:, 2:] + 1.0, x[-2:]
    return fn_module(forward)()


@case("split_size", [randn(4, 7)], opsets=[12, 13, 18])
def _():
    def forward(self, x):
        a, b, c, d = torch.split(x, 2, 1)
        return a + c, b * 2.0, d
    return fn_module(forward)()


@case("split_chunk", [randn(4, 6)], opsets=[12, 13, 18])
def _():
    def forward(self, x):
        a, b, c = x.chunk(3, 1)
        return a - c, torch.cat(x.chunk(2, 0), 1), b
    return fn_module(forward)()


@case("split_sizes", [randn(6, 3)], opsets=[12, 13, 18])
def _():
    def forward(self, x):
        a, b, c = torch.split(x, [1, 3, 2], 0)
        return a, b, c * c
    return fn_module(forward)()


@case("split_symbolic", [randn(5, 6)], shapes=["Nx6"], opsets=[12, 13, 18])
def _():
    def forward(self, x):
        a, b = x.chunk(2, 1)
        c, d = torch.split(x, [2, 4], -1)
        return a * b, c, d
    return fn_module(forward)()


@case("pad_constant", [randn(2, 3, 4)], opsets=[10, 11, 13, 18, 19, 21])
def _():
    def forward(self, x):
        return F.pad(x, (1, 2)), F.pad(x, (0, 1, 2, 0), value=0.5)
    return fn_module(forward)()


@case("pad_int", [randint(-4, 4, 2, 3)], min_opset=11, opsets=[11, 18])
def _():
    def forward(self, x):
        return F.pad(x, (1, 1, 1, 0), value=3.0)
    return fn_module(forward)()


@case("scripted_checks", [randn(1, 3, 6, 6)])
def _():
    class Checks(nn.Module):
        def forward(self, x):
            if x.dim() != 4:
                raise ValueError("expected 4-D input")
            if x.size(1) == 3 and len(x.shape) > 2:
                y = x * 2
            else:
                y = x - 1
            return F.adaptive_avg_pool2d(y, (2, 3))
    return Checks()


# ---- dtype conversions: aten::to's overloads, type_as -------------------------
# Inputs scaled so that integer casts keep more than the sign.

@case("to_dtype", [randn(2, 3, 4)])
def _():
    def forward(self, x):
        x = x * 4
        return (x.to(torch.int64), x.to(torch.float64), x.to(dtype=torch.int32),
                x.to(torch.bool), x.to(torch.float32), x.to(torch.int64).to(torch.float32))
    return fn_module(forward)()


@case("to_other", [randn(2, 3), randint(-5, 5, 2, 3), randn(3)])
def _():
    def forward(self, x, i, y):
        x = x * 4
        return x.to(i), i.to(x), x.type_as(i), i.type_as(y), x.to(y.dtype), i.to(i)
    return fn_module(forward)()


@case("to_device", [randn(2, 3)], rtol=1e-3, atol=1e-3)
def _():
    def forward(self, x):
        return (x.to("cpu", torch.float16), x.to(device="cpu"),
                x.to(torch.device("cpu")), x.to("cpu", torch.int64, copy=True),
                x.to(device="cpu", dtype=torch.float64))
    return fn_module(forward)()


@case("to_optional", [randn(2, 3)])
def _():
    def forward(self, x):
        # x.to(None) is to.prim_Device, x.to(copy=True) to.dtype_layout;
        # an Optional[int] dtype is to.prim_dtype when scripted, but the
        # saved archive says to.dtype (its code is recompiled on load).
        x = x * 4
        d: Optional[int] = 4
        e: Optional[int] = None
        return x.to(d), x.to(None), x.to(copy=True), x.to(e)
    return fn_module(forward)()


@case("to_methods", [randn(2, 3)], rtol=1e-3, atol=1e-3)
def _():
    def forward(self, x):
        x = x * 4
        return x.double(), x.float(), x.long(), x.int(), x.half()
    return fn_module(forward)()


@case("to_traced", [randn(2, 3), randint(-5, 5, 2, 3)], mode="trace",
      rtol=1e-3, atol=1e-3)
def _():
    def forward(self, x, i):
        x = x * 4
        return (x.to(torch.int64), x.to(i), x.to("cpu", torch.float16),
                x.double(), x.long(), x.bool(), i.type_as(x), i.float())
    return fn_module(forward)()


# ---- symbolic dims: one model, checked at two sizes ----------------------------

@case("conv2d_sym", [randn("batch", 3, 8, 8)], sizes={"batch": (2, 5)})
def _():
    return nn.Conv2d(3, 4, 3, padding=1)


@case("linear_sym", [randn("batch", 5)], sizes={"batch": (3, 6)},
      emits=["Gemm"])
def _():
    return nn.Linear(5, 4)


@case("batch_norm2d_sym", [randn("N", 4, 5, 5)], sizes={"N": (2, 3)})
def _():
    return with_stats(nn.BatchNorm2d(4))


@case("max_pool2d_sym", [randn("N", 3, 9, 9)], sizes={"N": (1, 4)},
      emits=["MaxPool"])
def _():
    return nn.MaxPool2d(3, stride=2, padding=1)


@case("add_broadcast_sym", [randn("N", "C", 4), randn("C", 1)],
      sizes={"N": (2, 5), "C": (3, 1)})
def _():
    def forward(self, x, y):
        return x + y, x * y - 1.0
    return fn_module(forward)()


@case("mean_sum_sym", [randn("batch", 3, 4)], sizes={"batch": (2, 7)},
      emits=["ReduceMean", "ReduceSum"])
def _():
    def forward(self, x):
        return x.mean(-1), x.sum(1, keepdim=True), x.mean([1, 2])
    return fn_module(forward)()


@case("cat_sym", [randn("batch", 3), randn("batch", 2)],
      sizes={"batch": (2, 4)})
def _():
    def forward(self, a, b):
        return torch.cat([a, b], 1)
    return fn_module(forward)()


@case("classifier_head_sym", [randn("batch", 8, 5, 5)], sizes={"batch": (2, 3)},
      emits=["Gemm", "Flatten"])
def _():
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))


# ---- models that must fail (testdata/errors/, tests/errors.bats) ----------------

class Unsupported(nn.Module):
    """Ops pt2onnx has no converter for (lgamma twice, digamma), and one
    whose arguments need a newer opset (ceil_mode, from 10): all named at
    once."""

    def forward(self, x):
        y = torch.lgamma(x) + torch.digamma(x)
        return torch.lgamma(y), F.max_pool2d(x, 2, ceil_mode=True)


class ChannelCheck(nn.Module):
    """A 3-channel convolution: given 4 channels, the error says so."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x)


class Counter(nn.Module):
    """forward() assigns a module attribute: no fixed graph to export."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * 2


class WriteThroughView(nn.Module):
    """Writes through a view, then reads the viewed tensor: PyTorch returns
    3 for ones; converted as a rebinding it would return 2."""

    def forward(self, x):
        v = x.view(-1)
        v.mul_(2)
        return x + 1


class ViewReadAfterWrite(nn.Module):
    """A view made before a write to its base, read after it."""

    def forward(self, x):
        y = x * 1
        v = y.view(-1)
        y.mul_(3)
        return v + 1


class RuntimeDim(nn.Module):
    """A constant argument (flatten's start_dim) that is computed from a
    tensor's value at run time: no ONNX Flatten/Reshape can take it."""

    def forward(self, x, d):
        return torch.flatten(x, int(d.sum()))


ERROR_CASES = [("alias_view_write", WriteThroughView, [randn(2, 2)]),
               ("alias_base_write", ViewReadAfterWrite, [randn(2, 2)]),
               ("unsupported", Unsupported, [randn(1, 2, 6, 6)]),
               ("conv3ch", ChannelCheck, [randn(1, 3, 6, 6)]),
               ("setattr", Counter, [randn(2, 3)]),
               ("runtime_dim", RuntimeDim, [randn(2, 3, 4), randint(0, 2, 1)])]


# ---- the demo model -------------------------------------------------------------------------

class TinyNet(nn.Module):
    """A small image classifier: what `make demo` converts."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU6(inplace=True),
            nn.AvgPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(16, 10))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(self.pool(x), 1)
        return self.classifier(x)


# ---- writing -------------------------------------------------------------------------------

def make_input(spec, gen, binding):
    """One input tensor of SPEC, its symbolic dims taken from BINDING."""
    dims = tuple(binding[d] if isinstance(d, str) else d for d in spec[1])
    if spec[0] == "randn":
        return torch.randn(dims, generator=gen).to(spec[2])
    _, _, dtype, lo, hi = spec
    return torch.randint(lo, hi, dims, generator=gen).to(dtype)


def default_shapes(specs):
    """The -s arguments of input SPECS: dims (symbols kept) and dtype."""
    shapes = []
    for spec in specs:
        dims = "x".join(str(d) for d in spec[1])
        shapes.append(dims + ("" if spec[2] == torch.float32
                              else ":" + DTYPES[spec[2]]))
    return shapes


def encode(t):
    if not isinstance(t, torch.Tensor):
        t = torch.tensor(t)  # an int/float/bool output of forward()
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        raw = t.view(torch.int16).numpy().tobytes()
    else:
        raw = t.numpy().tobytes()
    return {"dims": list(t.shape), "dtype": DTYPES[t.dtype],
            "data": base64.b64encode(raw).decode("ascii")}


def flatten_outputs(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(flatten_outputs(o))
        return res
    return [out]


def write_case(folder, name, module, input_sets, mode, shapes, min_opset,
               rtol, atol, opsets=None, bindings=None, check=None,
               ort_max_opset=None):
    """Saves MODULE as FOLDER/NAME.pt and writes FOLDER/NAME.json with the
    outputs of the reloaded archive for every set of INPUT_SETS (the first is
    also what a trace records). BINDINGS: the symbol sizes of each set."""
    module.eval()
    pt = os.path.join(folder, name + ".pt")
    with torch.no_grad():
        if mode == "trace":
            saved = torch.jit.trace(module, tuple(input_sets[0]))
        else:
            saved = torch.jit.script(module)
        torch.jit.save(saved, pt)
        # Outputs of the archive as saved: what pt2onnx converts. On
        # copies: a model may write into its inputs.
        loaded = torch.jit.load(pt)
        outs = [flatten_outputs(loaded(*[t.clone() for t in inputs]))
                for inputs in input_sets]
    doc = {"name": name, "shapes": shapes, "min_opset": min_opset}
    if opsets is not None:
        doc["opsets"] = opsets
    doc.update(rtol=rtol, atol=atol, mode=mode)
    if ort_max_opset is not None:
        doc["ort_max_opset"] = ort_max_opset
    if bindings:
        doc["sizes"] = bindings[0]
    doc["inputs"] = [encode(t) for t in input_sets[0]]
    doc["outputs"] = [encode(o) for o in outs[0]]
    if check is not None:
        assert len(check) == len(outs[0]), \
            f"{name}: check has {len(check)} entries for {len(outs[0])} outputs"
        doc["check"] = list(check)
    if len(input_sets) > 1:
        doc["extra_sets"] = [
            {"sizes": bindings[k],
             "inputs": [encode(t) for t in input_sets[k]],
             "outputs": [encode(o) for o in outs[k]]}
            for k in range(1, len(input_sets))]
    with open(os.path.join(folder, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def write_op_case(folder, c):
    """Writes the fixture of case C (a CASES entry)."""
    seed = zlib.crc32(c["name"].encode())
    torch.manual_seed(seed)
    module = c["factory"]()
    gen = torch.Generator().manual_seed(seed)
    sizes = c["sizes"]
    count = len(next(iter(sizes.values()))) if sizes else 1
    bindings = [{k: v[i] for k, v in sorted(sizes.items())}
                for i in range(count)]
    # One generator for all sets, in order: set 0 is what a case without
    # sizes always had, so adding sizes to a case keeps its first set.
    input_sets = [[make_input(s, gen, b) for s in c["inputs"]]
                  for b in bindings]
    shapes = c["shapes"] or default_shapes(c["inputs"])
    write_case(folder, c["name"], module, input_sets, c["mode"], shapes,
               c["min_opset"], c["rtol"], c["atol"], c["opsets"],
               bindings if sizes else None, c["check"], c["ort_max_opset"])


def load_families():
    """Registers the cases of every scripts/fixtures/*.py: one file an op
    family, each starting `from make_fixtures import case, randn, ...` and
    adding the ONNX switch points it needs with SWITCHES.update(...). They
    import this module by its name, so that name is bound to it first."""
    import importlib
    sys.modules.setdefault("make_fixtures", sys.modules[__name__])
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "fixtures")
    for fn in sorted(os.listdir(here)):
        if fn.endswith(".py") and not fn.startswith("_"):
            importlib.import_module("fixtures." + fn[:-3])


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make_fixtures.py OUTDIR [NAME...]")
    out = sys.argv[1]
    only = set(sys.argv[2:])
    torch.set_num_threads(1)
    load_families()
    ops = os.path.join(out, "ops")
    os.makedirs(ops, exist_ok=True)
    known = {c["name"] for c in CASES} | {e[0] for e in ERROR_CASES}
    unknown = sorted(only - known - {"tinynet"})
    if unknown:
        sys.exit("make_fixtures: no case named " + ", ".join(unknown))
    names = set()
    for c in CASES:
        assert c["name"] not in names, "duplicate case " + c["name"]
        names.add(c["name"])
        if only and c["name"] not in only:
            continue
        write_op_case(ops, c)
        print("make_fixtures: " + c["name"])
    errors = os.path.join(out, "errors")
    os.makedirs(errors, exist_ok=True)
    for name, cls, specs in ERROR_CASES:
        if only and name not in only:
            continue
        torch.manual_seed(zlib.crc32(name.encode()))
        gen = torch.Generator().manual_seed(1)
        inputs = [make_input(s, gen, {}) for s in specs]
        write_case(errors, name, cls(), [inputs], "script",
                   default_shapes(specs), 7, 1e-4, 1e-5)
        print("make_fixtures: errors/" + name)
    if not only or "tinynet" in only:
        demo = os.path.join(out, "demo")
        os.makedirs(demo, exist_ok=True)
        torch.manual_seed(7)
        net = TinyNet()
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                with_stats(m)
        gen = torch.Generator().manual_seed(7)
        write_case(demo, "tinynet", net,
                   [[torch.randn(1, 3, 32, 32, generator=gen)]], "script",
                   ["1x3x32x32"], 7, 1e-4, 1e-5)
        print("make_fixtures: tinynet")


if __name__ == "__main__":
    main()
