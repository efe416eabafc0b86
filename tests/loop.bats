#!/usr/bin/env bats
# Loops pt2onnx cannot unroll: a trip count or a while condition known only
# at run time, and loops past the unrolling bound. Each is refused with exit
# status 4, one diagnostic naming prim::Loop and the loop's source line,
# and no output file. (The loops that convert are op fixtures:
# testdata/ops/loop_*, scripts/fixtures/loop.py.)

load helpers

ERRORS=$ROOT/testdata/errors

setup() {
    require_pt2onnx
    OUT=$BATS_TEST_TMPDIR/out.onnx
}

# refused MODEL WANT ARGS...: exit 4, two lines, the second naming
# prim::Loop at its line of scripts/fixtures/loop.py and saying WANT.
refused() {
    local model=$1 want=$2
    run --separate-stderr "$PT2ONNX" "$ERRORS/$model" -o "$OUT" "${@:3}"
    [ "$status" -eq 4 ] || fail "exit $status, want 4" "$stderr" || return
    [ "${#stderr_lines[@]}" -eq 2 ] || fail "want 2 lines" "$stderr" || return
    [[ ${stderr_lines[1]} == *"prim::Loop (at "*"loop.py:"[0-9]*"): $want"* ]] ||
        fail "$stderr" || return
    [ ! -e "$OUT" ] || fail "an output was written"
}

@test "a loop whose trip count is read from a tensor: exit 4, names the loop" {
    refused loop_runtime_trip.pt "a loop whose trip count is only known at run time" \
        -s 2x3 -s 1:int64
}

@test "range(x.size(0)) unrolls for a known batch, is refused for a symbolic one" {
    run --separate-stderr "$PT2ONNX" "$ERRORS/loop_symbolic_trip.pt" -o "$OUT" -s 5x4 -q
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    rm -f "$OUT"
    refused loop_symbolic_trip.pt "a loop whose trip count is only known at run time" \
        -s Bx4
}

@test "a while loop whose condition reads tensor values: exit 4" {
    refused loop_runtime_cond.pt "a while loop whose condition is only known at run time" \
        -s 2x3
}

@test "a loop of 20000 iterations is past the unrolling bound: exit 4" {
    refused loop_too_long.pt "a loop of more than 10000 iterations" -s 2
}

@test "tolist() of values computed at run time: exit 4, says why" {
    run --separate-stderr "$PT2ONNX" "$ERRORS/tolist_runtime.pt" -o "$OUT" -s 2x3
    [ "$status" -eq 4 ] || fail "exit $status, want 4" "$stderr"
    [[ ${stderr_lines[1]} == *"prim::tolist"*"only known at run time"* ]] || fail "$stderr"
    [ ! -e "$OUT" ] || fail "an output was written"
}

@test "mode along more than 16 values: exit 4, says why" {
    run --separate-stderr "$PT2ONNX" "$ERRORS/mode_long.pt" -o "$OUT" -s 2x17
    [ "$status" -eq 4 ] || fail "exit $status, want 4" "$stderr"
    [[ ${stderr_lines[1]} == *"aten::mode (at "*"mode along a dim of size 17"* ]] || fail "$stderr"
    [ ! -e "$OUT" ] || fail "an output was written"
}
