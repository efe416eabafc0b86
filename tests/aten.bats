#!/usr/bin/env bats
# --operator-export-type (onnx, aten-fallback, fallthrough) and
# --export-modules-as-functions[=TYPE,...]: the structure of what they write
# (ATen nodes, domains, attributes, opset_import, local functions) checked
# with python3-onnx, and the models ONNX Runtime can run checked against
# PyTorch. The models come from scripts/make_aten_models.py.

load helpers

ATEN=$ROOT/testdata/aten

setup() {
    require_pt2onnx
    cd "$BATS_TEST_TMPDIR"
}

# facts MODEL: one line per fact of MODEL, for grep: "opset DOMAIN VERSION",
# "node DOMAIN OP_TYPE INPUTS -> OUTPUTS ATTR=VALUE...", "init NAME DTYPE
# DIMS VALUES" (small ones), "func DOMAIN NAME INPUTS -> OUTPUTS: OPS", then
# "checker ok" or "checker FAIL why" (onnx.checker, full check).
facts() {
    "$PYTHON" - "$1" <<'EOF'
import sys, warnings
import onnx
from onnx import helper, numpy_helper
m = onnx.load(sys.argv[1])
for o in m.opset_import:
    print("opset", o.domain or "ai.onnx", o.version)
def node(prefix, n):
    attrs = []
    for a in n.attribute:
        v = helper.get_attribute_value(a)
        attrs.append(f"{a.name}={v.decode() if isinstance(v, bytes) else v}")
    ins = ",".join(i if i else "<none>" for i in n.input)
    print(prefix, n.domain or "ai.onnx", n.op_type, ins, "->", ",".join(n.output), *attrs)
for n in m.graph.node:
    node("node", n)
for t in m.graph.initializer:
    a = numpy_helper.to_array(t)
    if a.size <= 8:
        print("init", t.name, a.dtype, list(a.shape), a.ravel().tolist())
for f in m.functions:
    print("func", f.domain, f.name, ",".join(f.input), "->", ",".join(f.output) + ":",
          " ".join(n.op_type for n in f.node))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        onnx.checker.check_model(m, full_check=True)
        print("checker ok")
    except Exception as e:
        print("checker FAIL", str(e).splitlines()[0])
EOF
}

@test "onnx (the default): an op with no converter fails, exit 4, naming it" {
    for flag in "" "--operator-export-type onnx"; do
        # shellcheck disable=SC2086
        run -4 "$PT2ONNX" "$ATEN/fallback.pt" -o m.onnx -s Bx6 $flag
        [[ $output == *"aten::erfinv"*"no converter"* ]] || fail "$output"
        [ ! -e m.onnx ]
    done
}

@test "aten-fallback: an ATen node as torch.onnx writes it; the rest converted" {
    run -0 "$PT2ONNX" "$ATEN/fallback.pt" -o m.onnx -s Bx6 \
        --operator-export-type aten-fallback
    # One warning per op kind, naming it.
    [[ $output == *"warning: aten::erfinv"*"ATen node (operator 'erfinv'"* ]] ||
        fail "$output"
    [ "$(grep -c warning: <<<"$output")" -eq 1 ] || fail "$output"
    run -0 facts m.onnx
    local f=$output
    grep -qx 'opset ai.onnx 17' <<<"$f" || fail "$f"
    grep -qx 'opset org.pytorch.aten 1' <<<"$f" || fail "$f"
    [ "$(grep -c '^node org.pytorch.aten ' <<<"$f")" -eq 1 ] || fail "$f"
    grep -Eq '^node org\.pytorch\.aten ATen [^ ]+ -> [^ ]+ operator=erfinv overload_name=$' <<<"$f" ||
        fail "$f"
    # Every other node is ai.onnx: relu, tanh, mul, add, sigmoid, slice.
    local op
    for op in Relu Tanh Mul Add Sigmoid Slice; do
        grep -q "^node ai.onnx $op " <<<"$f" || fail "no $op" "$f"
    done
    grep -qx 'checker ok' <<<"$f" || fail "$f"
}

@test "aten-fallback: a handler's refusal falls back; arguments are inputs, None omitted" {
    # A strided slice needs opset 10: at 9 slice's handler refuses it.
    run -0 "$PT2ONNX" "$ATEN/fallback.pt" -o m.onnx -s Bx6 --opset 9 \
        --operator-export-type aten-fallback
    [[ $output == *"warning: aten::slice"*"needs opset 10"*"operator 'slice', overload 'Tensor'"* ]] ||
        fail "$output"
    run -0 facts m.onnx
    local f=$output line
    line=$(grep '^node org.pytorch.aten ATen .* operator=slice ' <<<"$f") || fail "$f"
    # aten::slice.Tensor(self, dim=1, start=None, end=None, step=2): the
    # ints as 0-D int64 tensors, the Nones as omitted inputs, as torch.onnx.
    local -a w
    read -ra w <<<"$line"
    IFS=, read -ra ins <<<"${w[3]}"
    [ "${#ins[@]}" -eq 5 ] && [ "${ins[0]}" = x ] && [ "${ins[2]}" = '<none>' ] &&
        [ "${ins[3]}" = '<none>' ] || fail "$line"
    grep -qx "init ${ins[1]} int64 \[\] \[1\]" <<<"$f" || fail "$f"
    grep -qx "init ${ins[4]} int64 \[\] \[2\]" <<<"$f" || fail "$f"
    [[ $line == *" overload_name=Tensor" ]] || fail "$line"
    grep -qx 'checker ok' <<<"$f" || fail "$f"
}

@test "aten-fallback --report: each fallback op a warning of code 'fallback'" {
    run -0 "$PT2ONNX" "$ATEN/fallback.pt" -o m.onnx -s Bx6 --opset 9 \
        --operator-export-type aten-fallback --report r.json
    "$PYTHON" "$ROOT/scripts/check_report.py" r.json
    "$PYTHON" - r.json <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
d = {x["op"]: x for x in r["diagnostics"]}
assert set(d) == {"aten::erfinv", "aten::slice"}, d
for x in d.values():
    assert x["severity"] == "warning" and x["code"] == "fallback" and x["code_number"] == 11, x
assert d["aten::slice"]["min_opset"] == 10, d["aten::slice"]
assert r["status"]["exit"] == 0, r["status"]
EOF
}

@test "fallthrough: the node left as it is, in its namespace's domain" {
    run -0 "$PT2ONNX" "$ATEN/fallback.pt" -o m.onnx -s Bx6 \
        --operator-export-type fallthrough
    [[ $output == *"warning: aten::erfinv"*"left unconverted as op 'erfinv' in domain 'org.pytorch.aten'"* ]] ||
        fail "$output"
    run -0 facts m.onnx
    local f=$output
    grep -qx 'opset org.pytorch.aten 1' <<<"$f" || fail "$f"
    grep -Eq '^node org\.pytorch\.aten erfinv [^ ]+ -> [^ ]+$' <<<"$f" || fail "$f"
    grep -q '^node ai.onnx Sigmoid ' <<<"$f" || fail "$f"
    grep -qx 'checker ok' <<<"$f" || fail "$f"
}

@test "fallback outputs libtorch cannot type: exit 4, never a guessed type" {
    for t in aten-fallback fallthrough; do
        run -4 "$PT2ONNX" "$ATEN/untyped.pt" -o m.onnx -s 2x6 \
            --operator-export-type $t
        [[ $output == *"output 'output_0' is made by an op exported unconverted"* ]] ||
            fail "$output"
        [ ! -e m.onnx ]
    done
}

@test "--operator-export-type: a bad value is a usage error" {
    run -2 "$PT2ONNX" "$ATEN/fallback.pt" -o m.onnx -s Bx6 \
        --operator-export-type aten
    [[ $output == *"--operator-export-type takes onnx, aten-fallback or fallthrough, not 'aten'"* ]] ||
        fail "$output"
}

@test "functions: two instances of a type share one function, another type its own; ORT matches" {
    local ty
    for ty in "=Block,Head" "=__main__.Block,__main__.Head" ""; do
        run -0 "$PT2ONNX" "$ATEN/functions.pt" -o m.onnx -s Bx4 --opset 15 \
            "--export-modules-as-functions$ty"
        run -0 facts m.onnx
        local f=$output
        grep -qx 'opset __main__ 1' <<<"$f" || fail "$ty" "$f"
        [ "$(grep -c '^func ' <<<"$f")" -eq 2 ] || fail "$ty" "$f"
        # Weights are inputs of the function (it cannot hold initializers).
        grep -Eq '^func __main__ Block [^,]+,[^,]+,[^,]+ -> [^ ]+: Gemm Relu$' <<<"$f" ||
            fail "$ty" "$f"
        grep -Eq '^func __main__ Head .*: Gemm Sigmoid Mul$' <<<"$f" || fail "$ty" "$f"
        [ "$(grep -c '^node __main__ Block ' <<<"$f")" -eq 2 ] || fail "$ty" "$f"
        [ "$(grep -c '^node __main__ Head ' <<<"$f")" -eq 1 ] || fail "$ty" "$f"
        [ "$(grep -c '^node ' <<<"$f")" -eq 3 ] || fail "$ty" "$f"
        grep -qx 'checker ok' <<<"$f" || fail "$ty" "$f"
        node "$ORTCHECK" m.onnx "$ATEN/functions.json" || fail "ORT: $ty"
    done
}

@test "functions: only the listed types; nested modules of a listed type" {
    run -0 "$PT2ONNX" "$ATEN/functions.pt" -o m.onnx -s 3x4 --opset 15 \
        --export-modules-as-functions=Block
    run -0 facts m.onnx
    [ "$(grep -c '^func ' <<<"$output")" -eq 1 ] || fail "$output"
    grep -q '^node ai.onnx Sigmoid ' <<<"$output" || fail "$output"
    node "$ORTCHECK" m.onnx "$ATEN/functions.json"
    # Linear is inside Block and Head: all three Linear bodies are equal.
    run -0 "$PT2ONNX" "$ATEN/functions.pt" -o m.onnx -s 3x4 --opset 23 \
        --export-modules-as-functions=torch.nn.modules.linear.Linear
    run -0 facts m.onnx
    grep -Eq '^func torch\.nn\.modules\.linear Linear .*: Gemm$' <<<"$output" ||
        fail "$output"
    [ "$(grep -c '^func ' <<<"$output")" -eq 1 ] || fail "$output"
    [ "$(grep -c '^node torch.nn.modules.linear Linear ' <<<"$output")" -eq 3 ] ||
        fail "$output"
    node "$ORTCHECK" m.onnx "$ATEN/functions.json"
}

@test "functions: one type with two different bodies makes two, named apart" {
    run -0 "$PT2ONNX" "$ATEN/variants.pt" -o m.onnx -s 2x5 --opset 17 \
        --export-modules-as-functions=Act
    run -0 facts m.onnx
    local f=$output
    grep -Eq '^func __main__ Act [^ ]+ -> [^ ]+: Relu$' <<<"$f" || fail "$f"
    grep -Eq '^func __main__ Act_1 [^ ]+ -> [^ ]+: Tanh$' <<<"$f" || fail "$f"
    [ "$(grep -c '^node __main__ Act ' <<<"$f")" -eq 2 ] || fail "$f"
    grep -qx 'checker ok' <<<"$f" || fail "$f"
    node "$ORTCHECK" m.onnx "$ATEN/variants.json"
}

@test "functions holding ATen nodes import org.pytorch.aten, and so does the model" {
    run -0 "$PT2ONNX" "$ATEN/fnaten.pt" -o m.onnx -s Nx4 --opset 16 \
        --operator-export-type aten-fallback --export-modules-as-functions=ErfBlock
    [[ $output == *"warning: aten::erfinv (x2,"* ]] || fail "$output"
    run -0 facts m.onnx
    local f=$output
    grep -Eq '^func __main__ ErfBlock [^ ]+ -> [^ ]+: Gemm Tanh Mul ATen$' <<<"$f" || fail "$f"
    [ "$(grep -c '^node __main__ ErfBlock ' <<<"$f")" -eq 2 ] || fail "$f"
    grep -qx 'opset org.pytorch.aten 1' <<<"$f" || fail "$f"
    grep -qx 'opset __main__ 1' <<<"$f" || fail "$f"
    "$PYTHON" -c '
import sys, onnx
m = onnx.load(sys.argv[1])
f = m.functions[0]
assert {(o.domain, o.version) for o in f.opset_import} == {("", 16), ("org.pytorch.aten", 1)}, f.opset_import
' m.onnx
    grep -qx 'checker ok' <<<"$f" || fail "$f"
}

@test "functions: without the flag, nothing changes" {
    run -0 "$PT2ONNX" "$ATEN/functions.pt" -o plain.onnx -s Bx4 --opset 15
    run -0 "$PT2ONNX" "$ATEN/functions.pt" -o onnx.onnx -s Bx4 --opset 15 \
        --operator-export-type onnx
    cmp plain.onnx onnx.onnx
    run -0 facts plain.onnx
    ! grep -q '^func ' <<<"$output" || fail "$output"
    [ "$(grep -c '^opset ' <<<"$output")" -eq 1 ] || fail "$output"
    [ "$(grep -c '^node ai.onnx Gemm ' <<<"$output")" -eq 3 ] || fail "$output"
}

@test "functions: below opset 15 exit 4 'needs opset 15'; a bad list is a usage error" {
    run -4 "$PT2ONNX" "$ATEN/functions.pt" -o m.onnx -s 3x4 --opset 14 \
        --export-modules-as-functions
    [[ $output == *"--export-modules-as-functions needs opset 15 or later (target is 14)"* ]] ||
        fail "$output"
    [ ! -e m.onnx ]
    run -2 "$PT2ONNX" "$ATEN/functions.pt" -o m.onnx -s 3x4 \
        --export-modules-as-functions=Block,,Head
    [[ $output == *"--export-modules-as-functions takes a comma list"* ]] || fail "$output"
}

@test "both flags in --batch lines" {
    {
        printf '%q -o f.onnx -s 3x4 --opset 15 --export-modules-as-functions=Block\n' \
            "$ATEN/functions.pt"
        printf '%q -o a.onnx -s 2x6 --operator-export-type aten-fallback\n' \
            "$ATEN/fallback.pt"
        printf '%q -o o.onnx -s 2x6\n' "$ATEN/fallback.pt"
    } >jobs.txt
    run -4 "$PT2ONNX" --batch jobs.txt
    [[ $output == *"1 ok f.onnx"* && $output == *"2 ok a.onnx"* &&
        $output == *"3 exit=4 o.onnx"* ]] || fail "$output"
    run -0 facts f.onnx
    grep -q '^func __main__ Block ' <<<"$output" || fail "$output"
    run -0 facts a.onnx
    grep -q '^node org.pytorch.aten ATen ' <<<"$output" || fail "$output"
}
