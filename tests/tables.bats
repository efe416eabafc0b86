#!/usr/bin/env bats
# The op table (lib/ops/ops.def) and the ONNX operator table
# (lib/onnx_ops.def): their order checks, the "needs opset N" wording that
# comes from a row's since, the docs generated from the op table, and the
# internal diagnostic (not an abort) for an ONNX op the target lacks.

load helpers

TABLES_TEST=$ROOT/build/tests/tables_test

setup() {
    require_pt2onnx
}

@test "a kind whose row says since 9 fails at opset 8: needs opset 9 or later, exit 4" {
    local out=$BATS_TEST_TMPDIR/gelu.onnx
    run --separate-stderr "$PT2ONNX" "$ROOT/testdata/ops/gelu.pt" -o "$out" \
        --opset 8 -s 2x3x4
    [ "$status" -eq 4 ] || fail "exit $status, want 4" "$stderr"
    [[ $stderr =~ aten::gelu\ \(at\ [^\)]*\):\ needs\ opset\ 9\ or\ later\ \(target\ is\ 8\) ]] ||
        fail "wrong message" "$stderr"
    [ ! -e "$out" ] || fail "output left behind"
    # The same row converts from its since on.
    run --separate-stderr "$PT2ONNX" "$ROOT/testdata/ops/gelu.pt" -o "$out" \
        --opset 9 -s 2x3x4
    [ "$status" -eq 0 ] || fail "opset 9: exit $status" "$stderr"
    run "$PT2ONNX" --list-ops
    [[ $output =~ (^|$'\n')aten::gelu\ +opsets\ 9-23($'\n'|$) ]] ||
        fail "--list-ops does not give aten::gelu 9-23" "$output"
}

@test "emitting an ONNX op the target opset lacks is an internal diagnostic, not an abort" {
    [ -x "$TABLES_TEST" ] ||
        fail "$TABLES_TEST is missing: run 'make build/tests/tables_test'" || return
    run "$TABLES_TEST"
    [ "$status" -eq 0 ] || fail "exit $status" "$output"
    [ "$output" = ok ] || fail "$output"
}

@test "arithmetic on symbolic dims is canonical: equal expressions are equal dims" {
    [ -x "$TABLES_TEST" ] ||
        fail "$TABLES_TEST is missing: run 'make build/tests/tables_test'" || return
    run "$TABLES_TEST" dims
    [ "$status" -eq 0 ] || fail "exit $status" "$output"
    [ "$output" = ok ] || fail "$output"
}

@test "check_tables.sh accepts the committed tables" {
    run sh "$ROOT/scripts/check_tables.sh" "$ROOT/lib/ops/ops.def" \
        "$ROOT/lib/onnx_ops.def"
    [ "$status" -eq 0 ] || fail "$output"
}

@test "check_tables.sh rejects unsorted, duplicate and malformed rows" {
    local ops=$BATS_TEST_TMPDIR/ops.def onnx=$BATS_TEST_TMPDIR/onnx.def
    local good_ops=$ROOT/lib/ops/ops.def good_onnx=$ROOT/lib/onnx_ops.def
    # A duplicate row (same kind and since).
    { cat "$good_ops"; grep '^P2O_OP(' "$good_ops" | tail -1; } > "$ops"
    run sh "$ROOT/scripts/check_tables.sh" "$ops" "$good_onnx"
    [ "$status" -eq 1 ] || fail "duplicate op row accepted" "$output"
    [[ $output == *"out of order or a duplicate"* ]] || fail "$output"
    # Two rows swapped.
    awk '/^P2O_OP\("aten::add"/ { held = $0; next }
         { print } held && /^P2O_OP\("aten::addmm"/ { print held; held = "" }' \
        "$good_ops" > "$ops"
    run sh "$ROOT/scripts/check_tables.sh" "$ops" "$good_onnx"
    [ "$status" -eq 1 ] || fail "unsorted op table accepted" "$output"
    [[ $output == *"aten::add (opset 7) is out of order"* ]] || fail "$output"
    # A blocking row in place is fine; a malformed one is not.
    sed 's/^P2O_OP("aten::add", 7, add)$/&\nP2O_BLOCK("aten::add", 18)/' \
        "$good_ops" > "$ops"
    run sh "$ROOT/scripts/check_tables.sh" "$ops" "$good_onnx"
    [ "$status" -eq 0 ] || fail "blocking row rejected" "$output"
    sed 's/^P2O_OP("aten::add", 7, add)$/P2O_OP("aten::add", 7)/' \
        "$good_ops" > "$ops"
    run sh "$ROOT/scripts/check_tables.sh" "$ops" "$good_onnx"
    [ "$status" -eq 1 ] || fail "row without handler accepted" "$output"
    # ONNX table: versions out of order, and a duplicate op.
    sed 's/^P2O_ONNX(Clip, same_as_input, 1, 6, 11, 12, 13)$/P2O_ONNX(Clip, same_as_input, 1, 11, 6)/' \
        "$good_onnx" > "$onnx"
    run sh "$ROOT/scripts/check_tables.sh" "$good_ops" "$onnx"
    [ "$status" -eq 1 ] || fail "bad version list accepted" "$output"
    [[ $output == *"Clip: bad version list"* ]] || fail "$output"
    { cat "$good_onnx"; echo 'P2O_ONNX(Abs, NULL, 1)'; } > "$onnx"
    run sh "$ROOT/scripts/check_tables.sh" "$good_ops" "$onnx"
    [ "$status" -eq 1 ] || fail "duplicate ONNX op accepted" "$output"
}

@test "the op lists of README.md and the man page are the op table's" {
    run bash "$ROOT/scripts/oplist.sh" --check "$PT2ONNX"
    [ "$status" -eq 0 ] || fail "$output"
    # The check fails on a copy whose list lost an op.
    local copy=$BATS_TEST_TMPDIR/tree
    mkdir -p "$copy/scripts" "$copy/man"
    cp "$ROOT/scripts/oplist.sh" "$copy/scripts/"
    cp "$ROOT/man/pt2onnx.1" "$copy/man/"
    sed 's/, `aten::slice`//' "$ROOT/README.md" > "$copy/README.md"
    run bash "$copy/scripts/oplist.sh" --check "$PT2ONNX"
    [ "$status" -eq 1 ] || fail "a stale README passed" "$output"
    [[ $output == *"README.md differs from the op table"* ]] || fail "$output"
    # And regenerating repairs it.
    run bash "$copy/scripts/oplist.sh" "$PT2ONNX"
    [ "$status" -eq 0 ] || fail "$output"
    cmp -s "$copy/README.md" "$ROOT/README.md" || fail "regenerated README differs"
}
