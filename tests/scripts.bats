#!/usr/bin/env bats
# The checking tools themselves: a checker that passes everything would make
# every other suite meaningless. Cases are small ONNX models written with
# onnx.helper by tests/make_check_cases.py (no pt2onnx involved).

load helpers

setup_file() {
    export CASES="$BATS_FILE_TMPDIR/cases"
    /usr/bin/python3 "$BATS_TEST_DIRNAME/make_check_cases.py" "$CASES"
}

ortcheck() {
    run node "$ORTCHECK" "$CASES/$1.onnx" "$CASES/$1.json" "${@:2}"
}

@test "ortcheck: identical outputs pass for every dtype" {
    local dt
    for dt in float32 float64 float16 int64 int32 int16 int8 uint8 bool; do
        ortcheck "ident_$dt"
        [ "$status" -eq 0 ] || fail "ident_$dt: status $status" "$output"
        [[ $output == "output 0 (y): dims [2,3] max_abs=0 max_rel=0 ok" ]] || fail "$output"
    done
}

@test "ortcheck: NaN equals NaN, 0-d and empty outputs, two inputs and outputs" {
    local c
    for c in nan scalar empty two_io; do
        ortcheck "$c"
        [ "$status" -eq 0 ] || fail "$c: status $status" "$output"
    done
    ortcheck two_io
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[0]} == "output 0 (y): dims [2,2] "*" ok" ]]
    [[ ${lines[1]} == "output 1 (z): dims [2,2] "*" ok" ]]
}

@test "ortcheck: tolerance comes from the fixture and flags override it" {
    ortcheck near
    [ "$status" -eq 0 ]
    ortcheck near --atol 0 --rtol 0
    [ "$status" -eq 1 ]
    [[ $output == *MISMATCH* ]]
}

@test "ortcheck: float16 outputs are decoded before comparing" {
    ortcheck add_float16
    [ "$status" -eq 0 ]
    ortcheck ulp_float16
    [ "$status" -eq 1 ]
    [[ $output == *"max_abs=0.00195 "* ]] || fail "$output"
    ortcheck ulp_float16 --rtol 1e-3
    [ "$status" -eq 0 ]
}

@test "ortcheck: wrong values, NaN, shape, dtype, int64 and output count are mismatches" {
    local c
    for c in bad_value bad_nan bad_shape bad_dtype bad_int64 bad_outputs; do
        ortcheck "$c"
        [ "$status" -eq 1 ] || fail "$c: status $status, want 1" "$output"
        [[ $output == *MISMATCH* ]] || fail "$c: $output"
    done
}

@test "ortcheck: a shape-only output checks dtype and shape, not values" {
    ortcheck shape_only
    [ "$status" -eq 0 ] || fail "$output"
    [[ $output == "output 0 (y): dims [2,3] dtype float32 ok (values not checked)" ]] || fail "$output"
    local c
    for c in shape_only_bad_shape shape_only_bad_dtype values_checked; do
        ortcheck "$c"
        [ "$status" -eq 1 ] || fail "$c: status $status, want 1" "$output"
        [[ $output == *MISMATCH* ]] || fail "$c: $output"
    done
    ortcheck bad_check
    [ "$status" -eq 2 ]
    [[ $output == *'"check" must list'* ]] || fail "$output"
}

@test "ortcheck: errors exit 2 with a message" {
    ortcheck bad_inputs
    [ "$status" -eq 2 ]
    [[ $output == "ortcheck: error: "*"has 2 input(s)"* ]] || fail "$output"
    ortcheck bad_data
    [ "$status" -eq 2 ]
    [[ $output == *"8 bytes of data"* ]] || fail "$output"
    run node "$ORTCHECK" "$CASES/bad_garbage.onnx" "$CASES/ident_float32.json"
    [ "$status" -eq 2 ]
    run node "$ORTCHECK" "$CASES/missing.onnx" "$CASES/ident_float32.json"
    [ "$status" -eq 2 ]
    run node "$ORTCHECK" "$CASES/ident_float32.onnx"
    [ "$status" -eq 2 ]
    ortcheck ident_float32 --rtol abc
    [ "$status" -eq 2 ]
}

@test "ortcheck: every input set of a symbolic fixture runs on one model" {
    ortcheck sets
    [ "$status" -eq 0 ] || fail "$output"
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[0]} == "set 0 (N=2): output 0 (y): dims [2,3] "*" ok" ]] || fail "$output"
    [[ ${lines[1]} == "set 1 (N=5): output 0 (y): dims [5,3] "*" ok" ]] || fail "$output"
    # Only the second set is wrong: still a mismatch, naming that set.
    ortcheck bad_sets
    [ "$status" -eq 1 ]
    [[ ${lines[0]} == *" ok" ]] || fail "$output"
    [[ ${lines[1]} == "set 1 (N=5): output 0 (y): dims [5,3] "*MISMATCH* ]] || fail "$output"
}

# manifest NAME LINE...: write the manifest $BATS_TEST_TMPDIR/NAME.
manifest() {
    local file=$BATS_TEST_TMPDIR/$1
    shift
    printf '%s\n' "$@" > "$file"
}

@test "ortcheck --manifest: checks many models, names the one bad among good" {
    manifest m "$CASES/two_io.onnx $CASES/two_io.json two_io@opset13" \
        "# a comment, then a blank line" "" \
        "$CASES/bad_value.onnx"$'\t'"$CASES/bad_value.json"$'\t'"bad_value@opset9" \
        "$CASES/sets.onnx $CASES/sets.json" \
        "$CASES/missing.onnx $CASES/ident_float32.json missing@opset7" \
        "$CASES/ident_int64.onnx $CASES/ident_int64.json"
    run node "$ORTCHECK" --manifest "$BATS_TEST_TMPDIR/m"
    [ "$status" -eq 1 ] || fail "status $status" "$output"
    [[ ${lines[0]} == "ok two_io@opset13 (2 outputs checked)" ]] || fail "$output"
    [[ ${lines[1]} == "FAIL bad_value@opset9: outputs differ from PyTorch" ]] || fail "$output"
    [[ $output == *$'\n    output 0 (y): dims [2,3] '*MISMATCH* ]] || fail "$output"
    # No label: the model path is the label.
    [[ $output == *$'\nok '"$CASES/sets.onnx (2 outputs checked, 2 input sets)"* ]] || fail "$output"
    [[ $output == *$'\nFAIL missing@opset7: '*"no such file"* ]] || fail "$output"
    [[ $output == *$'\nok '"$CASES/ident_int64.onnx "* ]] || fail "$output"
    [[ ${lines[-1]} == "ortcheck: 5 models: 3 ok, 2 failed: bad_value@opset9, missing@opset7" ]] ||
        fail "$output"
    # All good: exit 0. A mismatch in an extra input set fails the run.
    manifest good "$CASES/two_io.onnx $CASES/two_io.json a" "$CASES/sets.onnx $CASES/sets.json b"
    run node "$ORTCHECK" --manifest "$BATS_TEST_TMPDIR/good"
    [ "$status" -eq 0 ] || fail "$output"
    [[ ${lines[-1]} == "ortcheck: 2 models: 2 ok, 0 failed" ]] || fail "$output"
    manifest badset "$CASES/sets.onnx $CASES/sets.json a" "$CASES/bad_sets.onnx $CASES/bad_sets.json b"
    run node "$ORTCHECK" --manifest "$BATS_TEST_TMPDIR/badset"
    [ "$status" -eq 1 ]
    [[ $output == *$'\n    set 1 (N=5): output 0 (y): '*MISMATCH* ]] || fail "$output"
    [[ ${lines[-1]} == *"1 failed: b" ]] || fail "$output"
}

@test "ortcheck --manifest: a bad manifest is an error (exit 2)" {
    manifest short "$CASES/two_io.onnx"
    run node "$ORTCHECK" --manifest "$BATS_TEST_TMPDIR/short"
    [ "$status" -eq 2 ]
    [[ $output == "ortcheck: error: $BATS_TEST_TMPDIR/short:1: want MODEL.onnx FIXTURE.json [LABEL]" ]] ||
        fail "$output"
    manifest empty "# nothing"
    run node "$ORTCHECK" --manifest "$BATS_TEST_TMPDIR/empty"
    [ "$status" -eq 2 ]
    [[ $output == *"no models listed"* ]] || fail "$output"
    run node "$ORTCHECK" --manifest "$BATS_TEST_TMPDIR/absent"
    [ "$status" -eq 2 ]
    run node "$ORTCHECK" --manifest "$BATS_TEST_TMPDIR/short" "$CASES/two_io.onnx"
    [ "$status" -eq 2 ]
}

@test "onnxcheck: accepts a valid model, rejects broken ones" {
    run "$PYTHON" "$ONNXCHECK" "$CASES/two_io.onnx"
    [ "$status" -eq 0 ]
    [ "$output" = ok ]
    run "$PYTHON" "$ONNXCHECK" "$CASES/bad_checker.onnx"
    [ "$status" -eq 1 ]
    [[ $output == *"differs from existing elem type"* ]] || fail "$output"
    run "$PYTHON" "$ONNXCHECK" "$CASES/bad_garbage.onnx"
    [ "$status" -eq 1 ]
}

@test "onnxcheck: many models in one process, the bad ones named" {
    run "$PYTHON" "$ONNXCHECK" "$CASES/two_io.onnx" "$CASES/bad_checker.onnx" "$CASES/sets.onnx"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 4 ] || fail "$output"
    [ "${lines[0]}" = "ok $CASES/two_io.onnx" ]
    [[ ${lines[1]} == "FAIL $CASES/bad_checker.onnx: "*"differs from existing elem type"* ]] || fail "$output"
    [ "${lines[3]}" = "onnxcheck: 3 models: 2 ok, 1 failed: $CASES/bad_checker.onnx" ]
    manifest m "$CASES/two_io.onnx $CASES/two_io.json two_io@opset13" \
        "$CASES/bad_garbage.onnx $CASES/two_io.json garbage@opset9" \
        "$CASES/sets.onnx $CASES/sets.json sets@opset13"
    # (a RuntimeWarning of protobuf about the garbage goes to stderr)
    run --separate-stderr "$PYTHON" "$ONNXCHECK" --manifest "$BATS_TEST_TMPDIR/m"
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "ok two_io@opset13" ]
    [[ ${lines[1]} == "FAIL garbage@opset9: "* ]] || fail "$output"
    [ "${lines[2]}" = "ok sets@opset13" ]
    [ "${lines[3]}" = "onnxcheck: 3 models: 2 ok, 1 failed: garbage@opset9" ]
    run "$PYTHON" "$ONNXCHECK" "$CASES/two_io.onnx" "$CASES/sets.onnx"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "onnxcheck: 2 models: 2 ok, 0 failed" ]
    manifest short "$CASES/two_io.onnx"
    run "$PYTHON" "$ONNXCHECK" --manifest "$BATS_TEST_TMPDIR/short"
    [ "$status" -eq 2 ]
    [[ $output == *"short:1: want MODEL.onnx FIXTURE.json"* ]] || fail "$output"
}

@test "shapes_args: reads the -s arguments of a fixture" {
    printf '{"name": "t", "shapes": ["1x3x8x8:float32", "batchx4:int64"], "inputs": []}' \
        > "$BATS_TEST_TMPDIR/a.json"
    run shapes_args "$BATS_TEST_TMPDIR/a.json"
    [ "$status" -eq 0 ]
    [ "$output" = $'1x3x8x8:float32\nbatchx4:int64' ]
    # Pretty-printed, shapes last, after a long field: still found.
    /usr/bin/python3 -c 'import json,sys; json.dump({"data": "A" * 100000, "shapes": ["2x2", "3"]}, sys.stdout, indent=2)' \
        > "$BATS_TEST_TMPDIR/b.json"
    run shapes_args "$BATS_TEST_TMPDIR/b.json"
    [ "$status" -eq 0 ]
    [ "$output" = $'2x2\n3' ]
    printf '{"shapes": []}' > "$BATS_TEST_TMPDIR/c.json"
    run shapes_args "$BATS_TEST_TMPDIR/c.json"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "deps.sh: nothing to do prints nothing" {
    run "$ROOT/scripts/deps.sh"
    [ "$status" -eq 0 ]
    [ -z "$output" ] || fail "$output"
}
