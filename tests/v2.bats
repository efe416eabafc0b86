#!/usr/bin/env bats
# Archives written by PyTorch 2.x, read through the libtorch this build
# links (Debian 12's 1.13): what a newer PyTorch wrote either converts and
# matches its outputs (fixtures made by scripts/make_v2_fixtures.py under
# PyTorch 2.6), or is refused with exit 4 and the exact reason — the op or
# the format version, the archive's version records and the libtorch in use.

load helpers

V2=$ROOT/testdata/v2

setup() {
    require_pt2onnx
    OUT=$BATS_TEST_TMPDIR/out.onnx
}

# refused MODEL: the conversion of MODEL (input 2x3x4) fails with exit 4,
# a message, no output file.
refused() {
    run --separate-stderr "$PT2ONNX" "$V2/$1" -o "$OUT" -s 2x3x4
    [ "$status" -eq 4 ] || fail "$1: exit $status, want 4" "$stderr" || return
    [ -n "$stderr" ] || fail "$1: no message" || return
    [ ! -e "$OUT" ] || fail "$1: output left behind"
}

@test "an op no libtorch has: named, with the archive's version and libtorch's" {
    refused newer-unknown-op.pt
    [[ $stderr == *"newer-unknown-op.pt"*"calls aten::frobnicate_v2, an op libtorch "*" does not have"* ]] ||
        fail "$stderr"
    [[ $stderr == *"archive: file format version 3"*"libtorch in use: 1."* ]] || fail "$stderr"
}

@test "an op no libtorch has, in an archive PyTorch 2.6 wrote: its 2.x records named" {
    # testdata/v2/models/cnn.pt with F.relu's call renamed.
    run --separate-stderr "$PT2ONNX" "$V2/newer-unknown-op-26.pt" -o "$OUT" -s 2x3x16x16
    [ "$status" -eq 4 ] || fail "exit $status, want 4" "$stderr" || return
    [ ! -e "$OUT" ] || fail "output left behind" || return
    [[ $stderr == *"calls aten::frobnicate_v2, an op libtorch "*" does not have"* ]] ||
        fail "$stderr" || return
    [[ $stderr == *"archive: file format version 3, records of PyTorch 2.x: byteorder, .data/serialization_id; libtorch in use: 1."* ]] ||
        fail "$stderr"
}

@test "an argument no overload takes: the op, the call, its line and why" {
    refused newer-extra-arg.pt
    [[ $stderr == *"calls aten::relu with arguments no overload of it"*"'return torch.relu(x, 3)' (code/__torch__.py:"*"Expected at most 1 arguments but found 2"* ]] ||
        fail "$stderr"
    [[ $stderr == *"libtorch in use:"* ]] || fail "$stderr"
}

@test "a newer file format version: the version and what this libtorch reads" {
    refused newer-format.pt
    [[ $stderr == *"file format version 99 is newer than libtorch "*"reads"*"reads file format versions up to "* ]] ||
        fail "$stderr"
}

@test "no message ends in an empty reason" {
    local f
    for f in "$V2"/newer-*.pt "$ROOT"/testdata/hostile/version-*.pt; do
        run --separate-stderr "$PT2ONNX" "$f" -o "$OUT"
        [ "$status" -ne 0 ] || fail "$f converted"
        [[ $stderr != *": " && $stderr != *":" ]] || fail "$f: empty reason" "$stderr"
    done
}

@test "an op with one overload and an argument too many: no empty reason" {
    refused newer-extra-arg1.pt
    [[ $stderr == *"calls aten::dropout with arguments libtorch "*"does not take"*"'return torch.dropout(x, 0.5, False, 1)'"*"Expected at most 3 arguments but found 4"* ]] ||
        fail "$stderr"
}

@test "an argument PyTorch 2.x added, at its default: the archive loads" {
    # aten::pad_sequence(..., padding_side="right"): the node is the
    # 1.13 overload again (no converter for it is the expected refusal).
    refused newer-arg-default.pt
    [[ $stderr == *"aten::pad_sequence (at "*"no converter"* ]] || fail "$stderr"
}

@test "an argument PyTorch 2.x added, not at its default: refused, named" {
    refused newer-arg-value.pt
    [[ $stderr == *"aten::pad_sequence: argument 'padding_side', which PyTorch added after libtorch "*"other than its default"* ]] ||
        fail "$stderr"
}

@test "a newer op on constants only: constant propagation keeps the node" {
    # aten::scaled_dot_product_attention(w, w, w) on a parameter: frozen,
    # all its inputs are constants; the registered op throws if run, and
    # the node must reach the converter, which converts it. Folded, the
    # model would still match (the value is the same), so the graphs are
    # looked at too: the frozen graph keeps the call on its three
    # constants, and the ONNX graph computes it (Softmax below 23,
    # Attention at 23) instead of holding its result as a weight.
    local o
    for o in 7 17 23; do
        convert_and_check "$V2/newer-op-constant.json" "$o" || return
    done
    run --separate-stderr "$PT2ONNX" "$V2/newer-op-constant.pt" -o "$OUT" \
        -s 2x3x4 -v --opset 17
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr" || return
    [[ $stderr == *"= aten::scaled_dot_product_attention(%self.w, %self.w, %self.w,"* ]] ||
        fail "the frozen graph lost the call" "$stderr" || return
    [[ $stderr == *"= Softmax["* ]] || fail "no Softmax at opset 17" "$stderr" || return
    run --separate-stderr "$PT2ONNX" "$V2/newer-op-constant.pt" -o "$OUT" \
        -s 2x3x4 -v --opset 23
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr" || return
    [[ $stderr == *"= Attention("* || $stderr == *"= Attention["* ]] ||
        fail "no Attention at opset 23" "$stderr"
}

@test "fixtures and small models written by PyTorch 2.6: the op suite" {
    # testdata/v2/ops (scaled_dot_product_attention: MatMul/Softmax below
    # 23, ONNX Attention at 23) and testdata/v2/models (nn.MultiheadAttention
    # traced and scripted, nn.TransformerEncoder traced with and without
    # no_grad, a GPT-style decoder with F.scaled_dot_product_attention
    # (is_causal=True), a BERT-style encoder with a padding mask, a
    # two-layer batch_first LSTM (scripted), a CNN)
    # through tests/ops.bats, in one batch: each at its lowest opset, 17
    # and 23 against PyTorch 2.6's outputs, every input set of the symbolic
    # ones, and "needs opset N" below its lowest.
    local d=$BATS_TEST_TMPDIR/v2fixtures f n
    mkdir "$d"
    for f in "$V2"/ops/* "$V2"/models/*; do
        n=${f##*/}
        ln -s "$f" "$d/$n"
    done
    run env OPS_FIXTURES="$d" bats --tap "$ROOT/tests/ops.bats"
    [ "$status" -eq 0 ] || fail "$output"
}
