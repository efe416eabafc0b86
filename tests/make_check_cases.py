#!/usr/bin/python3
"""Write small ONNX models and fixture jsons that exercise scripts/ortcheck.js
and scripts/onnxcheck.py without needing pt2onnx itself.

    /usr/bin/python3 tests/make_check_cases.py OUTDIR

For each case NAME it writes OUTDIR/NAME.onnx and OUTDIR/NAME.json (fixture
format of DESIGN.md / README). Cases whose name starts with "bad_" are meant to
fail the check; tests/scripts.bats says how.
"""
import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

NP = {
    "float32": (np.float32, TensorProto.FLOAT),
    "float64": (np.float64, TensorProto.DOUBLE),
    "float16": (np.float16, TensorProto.FLOAT16),
    "int64": (np.int64, TensorProto.INT64),
    "int32": (np.int32, TensorProto.INT32),
    "int16": (np.int16, TensorProto.INT16),
    "int8": (np.int8, TensorProto.INT8),
    "uint8": (np.uint8, TensorProto.UINT8),
    "bool": (np.bool_, TensorProto.BOOL),
}


def tensor(a, dtype=None):
    dtype = dtype or next(k for k, (t, _) in NP.items() if a.dtype == t)
    raw = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
    return {"dims": list(a.shape), "dtype": dtype,
            "data": base64.b64encode(raw).decode("ascii")}


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(
        nodes, "case",
        [helper.make_tensor_value_info(n, NP[d][1], s) for n, d, s in inputs],
        [helper.make_tensor_value_info(n, NP[d][1], s) for n, d, s in outputs],
        initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="make_check_cases")
    m.ir_version = 7
    return m


def write(outdir, name, m, ins, outs, rtol=1e-4, atol=1e-5):
    onnx.save(m, os.path.join(outdir, name + ".onnx"))
    fx = {"name": name,
          "shapes": ["x".join(map(str, a.shape)) + ":" + t["dtype"]
                     for a, t in ((a, tensor(a)) for a in ins)],
          "min_opset": 7, "rtol": rtol, "atol": atol,
          "inputs": [tensor(a) for a in ins],
          "outputs": [tensor(a) for a in outs]}
    with open(os.path.join(outdir, name + ".json"), "w") as f:
        json.dump(fx, f)
    return fx


def ident(dtype, shape=(2, 3)):
    return model([helper.make_node("Identity", ["x"], ["y"])],
                 [("x", dtype, list(shape))], [("y", dtype, list(shape))])


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(0)

    # One identity model per dtype, with values that stress the decoding:
    # negative numbers, int64 beyond 2**53, float16 subnormals and infinities.
    samples = {
        "float32": rng.standard_normal((2, 3)).astype(np.float32),
        "float64": rng.standard_normal((2, 3)),
        "float16": np.array([[0.5, -2.0, 6e-8], [np.inf, -np.inf, 65504]], np.float16),
        "int64": np.array([[2**62 + 1, -(2**62) - 3, 0], [1, -1, 7]], np.int64),
        "int32": np.array([[2**31 - 1, -(2**31), 0], [1, -1, 7]], np.int32),
        "int16": np.array([[32767, -32768, 0], [1, -1, 7]], np.int16),
        "int8": np.array([[127, -128, 0], [1, -1, 7]], np.int8),
        "uint8": np.array([[255, 0, 128], [1, 2, 3]], np.uint8),
        "bool": np.array([[True, False, True], [False, False, True]]),
    }
    for dt, a in samples.items():
        write(outdir, "ident_" + dt, ident(dt), [a], [a])

    # NaN in the same place on both sides is equal.
    a = np.array([[np.nan, 1.0, 2.0]], np.float32)
    write(outdir, "nan", ident("float32", (1, 3)), [a], [a])

    # A 0-d output and an empty output.
    s = np.array(3.5, np.float32)
    write(outdir, "scalar", ident("float32", ()), [s], [s])
    e = np.zeros((0, 4), np.float32)
    write(outdir, "empty", ident("float32", (0, 4)), [e], [e])

    # Two inputs, two outputs, in order: y = x0 + x1, z = x0 * x1.
    x0 = rng.standard_normal((2, 2)).astype(np.float32)
    x1 = rng.standard_normal((2, 2)).astype(np.float32)
    two = model([helper.make_node("Add", ["a", "b"], ["y"]),
                 helper.make_node("Mul", ["a", "b"], ["z"])],
                [("a", "float32", [2, 2]), ("b", "float32", [2, 2])],
                [("y", "float32", [2, 2]), ("z", "float32", [2, 2])])
    write(outdir, "two_io", two, [x0, x1], [x0 + x1, x0 * x1])

    # y = x + 3e-6: within the default tolerance, beyond a zero one.
    x = np.ones((1, 4), np.float32)
    eps = helper.make_tensor("eps", TensorProto.FLOAT, [], [3e-6])
    near = model([helper.make_node("Add", ["x", "eps"], ["y"])],
                 [("x", "float32", [1, 4])], [("y", "float32", [1, 4])], [eps])
    write(outdir, "near", near, [x], [x])

    # float16 arithmetic, expected values computed in float16 too.
    h = np.array([[1.0, 2.5, -3.0]], np.float16)
    one = helper.make_tensor("one", TensorProto.FLOAT16, [], [1.0])
    addh = model([helper.make_node("Add", ["x", "one"], ["y"])],
                 [("x", "float16", [1, 3])], [("y", "float16", [1, 3])], [one])
    write(outdir, "add_float16", addh, [h], [h + np.float16(1)])

    # One float16 ulp (2**-9 at 2.0) away: beyond rtol 1e-4, within 1e-3.
    off = (h + np.float16(1)).copy()
    off[0, 0] = np.float16(2.0 + 2**-9)
    write(outdir, "ulp_float16", addh, [h], [off])

    # A symbolic batch, y = 2 * x, with a second input set (N=2 and N=5):
    # every set runs on the one session. bad_sets differs in set 1 only.
    two_c = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    dbl = model([helper.make_node("Mul", ["x", "two"], ["y"])],
                [("x", "float32", ["N", 3])], [("y", "float32", ["N", 3])],
                [two_c])
    x2 = rng.standard_normal((2, 3)).astype(np.float32)
    x5 = rng.standard_normal((5, 3)).astype(np.float32)
    y5 = 2 * x5
    for name in ("sets", "bad_sets"):
        want5 = y5.copy()
        if name == "bad_sets":
            want5[4, 1] += 1.0
        fx = write(outdir, name, dbl, [x2], [2 * x2])
        fx["sizes"] = {"N": 2}
        fx["extra_sets"] = [{"sizes": {"N": 5}, "inputs": [tensor(x5)],
                             "outputs": [tensor(want5)]}]
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(fx, f)

    # "check": ["shape"]: dtype and shape compared, values not (random
    # outputs); a wrong shape or dtype still fails, and "values" (like no
    # "check" at all) compares the values.
    a = samples["float32"]
    for name, want, check in (("shape_only", a + 1, ["shape"]),
                              ("shape_only_bad_shape", a.reshape(3, 2), ["shape"]),
                              ("shape_only_bad_dtype", a.astype(np.float64), ["shape"]),
                              ("values_checked", a + 1, ["values"]),
                              ("bad_check", a, ["shape", "shape"])):
        fx = write(outdir, name, ident("float32"), [a], [want])
        fx["check"] = check
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(fx, f)

    # --- cases that must fail ---
    a = samples["float32"]
    b = a.copy()
    b[1, 2] += 0.5
    write(outdir, "bad_value", ident("float32"), [a], [b])
    write(outdir, "bad_nan", ident("float32", (1, 3)),
          [np.array([[np.nan, 1, 2]], np.float32)],
          [np.array([[0.0, 1, 2]], np.float32)])
    write(outdir, "bad_shape", ident("float32"), [a], [a.reshape(3, 2)])
    write(outdir, "bad_dtype", ident("float32"), [a], [a.astype(np.float64)])
    i64 = samples["int64"].copy()
    j64 = i64.copy()
    j64[0, 0] += 1  # 2**62 + 2: a float64 comparison could not see this
    write(outdir, "bad_int64", ident("int64"), [i64], [j64])
    write(outdir, "bad_outputs", two, [x0, x1], [x0 + x1])
    # Fixture with one input for a two-input model: an error, not a mismatch.
    write(outdir, "bad_inputs", two, [x0], [x0, x0])
    # Data length that does not match dims: an error.
    fx = write(outdir, "bad_data", ident("float32"), [a], [a])
    fx["inputs"][0]["data"] = base64.b64encode(b"\0" * 8).decode()
    with open(os.path.join(outdir, "bad_data.json"), "w") as f:
        json.dump(fx, f)
    # A model the checker rejects: output type declared int64 for a float op.
    broken = model([helper.make_node("Identity", ["x"], ["y"])],
                   [("x", "float32", [2, 3])], [("y", "int64", [2, 3])])
    onnx.save(broken, os.path.join(outdir, "bad_checker.onnx"))
    with open(os.path.join(outdir, "bad_garbage.onnx"), "wb") as f:
        f.write(b"this is not a protobuf \xff\xff\xff")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_check_cases.py OUTDIR")
    main(sys.argv[1])
