#!/usr/bin/env bats
# The command line: options, messages, exit codes, and the promises about
# output files (atomic, deterministic, never clobbered on failure).
#
# Uses testdata/demo/tinynet.pt: one 1x3x32x32 float32 input. Its reference
# outputs are made here from the archive with PyTorch, so this suite needs
# nothing else from testdata/.

load helpers

setup_file() {
    [ -f "$TINYNET" ] || {
        echo "$TINYNET is missing" >&2
        return 1
    }
    # A fixture (next to a copy of the archive, as convert_and_check wants)
    # and the name of forward()'s input, for the messages that must name it.
    export TINY_DIR=$BATS_FILE_TMPDIR/tinynet
    export TINY_JSON=$TINY_DIR/tinynet.json
    mkdir -p "$TINY_DIR"
    cp "$TINYNET" "$TINY_DIR/tinynet.pt"
    /usr/bin/python3 "$ROOT/scripts/fixture_from_pt.py" "$TINY_DIR/tinynet.pt" \
        "$TINY_JSON" -s 1x3x32x32 --rtol 1e-4 --atol 1e-5
    TINY_INPUT=$(node -p 'require(process.argv[1]).input_names[0]' "$TINY_JSON")
    export TINY_INPUT
}

setup() {
    require_pt2onnx
}

# run_cli ARGS...: run pt2onnx with stdout and stderr apart.
run_cli() {
    run --separate-stderr "$PT2ONNX" "$@"
}

# stderr_has NEEDLE: case-insensitive substring test on $stderr. A needle
# "word:NAME" must appear as a whole identifier (so "x" does not match the
# x of "1x3x32x32").
stderr_has() {
    local needle=$1 hay=${stderr,,}
    if [[ $needle == word:* ]]; then
        local w=${needle#word:}
        local re="(^|[^[:alnum:]_])${w,,}([^[:alnum:]_]|$)"
        [[ $hay =~ $re ]]
    else
        [[ $hay == *"${needle,,}"* ]]
    fi
}

# check_error_run CODE OUT NEEDLE... : the last run failed as it should.
check_error_run() {
    local code=$1 out=$2 n
    shift 2
    local where=${BATS_RUN_COMMAND:-pt2onnx}
    [ "$status" -eq "$code" ] ||
        fail "$where: exit status $status, want $code" "stderr: $stderr" || return
    [ "${#stderr_lines[@]}" -eq 1 ] ||
        fail "$where: stderr should be one line, got ${#stderr_lines[@]}:" "$stderr" || return
    [[ $stderr == "pt2onnx: error: "* ]] ||
        fail "$where: stderr should start with 'pt2onnx: error: '" "$stderr" || return
    for n in "$@"; do
        stderr_has "$n" || fail "$where: stderr should name '$n'" "$stderr" || return
    done
    [ -z "$output" ] || fail "$where: nothing should be written to stdout" "$output" || return
}

# expect_error CODE NEEDLE... -- ARGS...
#
# Runs `pt2onnx ARGS... -o OUT` twice, OUT in an empty folder: first with no
# OUT, then with an OUT of known content. Each time: exit status CODE, one
# stderr line "pt2onnx: error: ..." naming every NEEDLE, no stdout, and the
# folder exactly as it was (no output, no temporary file, OUT unchanged).
expect_error() {
    local code=$1
    shift
    local -a needles=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        needles+=("$1")
        shift
    done
    [ "${1:-}" = -- ] || fail "expect_error: missing --" || return
    shift
    local dir=$BATS_TEST_TMPDIR/out
    local out=$dir/result.onnx
    rm -rf "$dir"
    mkdir -p "$dir"

    run_cli "$@" -o "$out"
    check_error_run "$code" "$out" "${needles[@]}" || return
    [ -z "$(ls -A "$dir")" ] ||
        fail "failed run left files behind: $(ls -A "$dir")" || return

    printf 'existing output\n' > "$out"
    run_cli "$@" -o "$out"
    check_error_run "$code" "$out" "${needles[@]}" || return
    [ "$(cat "$out")" = "existing output" ] ||
        fail "failed run changed the existing $out" || return
    [ "$(ls -A "$dir")" = result.onnx ] ||
        fail "failed run left files behind: $(ls -A "$dir")" || return
}

# --- help and version ---

@test "--help and -h: exit 0, mention every option" {
    local opt
    for h in --help -h; do
        run_cli "$h"
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        for opt in -o --opset -s --input-shape --input-names --output-names \
            -q --quiet -v --verbose --batch -j --jobs --list-ops --version -h --help \
            --report \
            MODEL; do
            [[ $output == *"$opt"* ]] || fail "$h does not mention $opt" "$output"
        done
    done
}

@test "--version: one line with version, libtorch and opset range" {
    run_cli --version
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output =~ ^pt2onnx\ [0-9]+\.[0-9]+\.[0-9]+\ \(libtorch\ [0-9][0-9.]*,\ ONNX\ opsets\ 7-23\)$ ]] ||
        fail "$output"
}

@test "without libpt2onnx-torch.so: help works, converting names where it looked" {
    local bin=$BATS_TEST_TMPDIR/alone/pt2onnx
    mkdir -p "${bin%/*}"
    cp "$PT2ONNX" "$bin"
    run --separate-stderr "$bin" --help
    [ "$status" -eq 0 ] || fail "--help needs no libtorch: exit $status" "$stderr"
    run --separate-stderr "$bin" --list-ops
    [ "$status" -eq 0 ] && [ -n "$output" ] || fail "--list-ops: exit $status" "$stderr"
    local out=$BATS_TEST_TMPDIR/alone/t.onnx
    for args in "--version" "$TINYNET -s 1x3x32x32 -o $out"; do
        # shellcheck disable=SC2086
        run --separate-stderr "$bin" $args
        [ "$status" -eq 1 ] || fail "$args: exit $status, want 1" "$stderr"
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "$args: one line" "$stderr"
        [[ $stderr == "pt2onnx: error: cannot load libtorch support: libpt2onnx-torch.so not found (looked for ${bin%/*}/libpt2onnx-torch.so, "*"/lib/pt2onnx/libpt2onnx-torch.so)" ]] ||
            fail "$args: $stderr"
    done
    [ ! -e "$out" ] || fail "output written"
}

# --- usage errors: exit 2 ---

@test "unknown option: exit 2" {
    expect_error 2 --bogus -- "$TINYNET" -s 1x3x32x32 --bogus
    expect_error 2 -Z -- "$TINYNET" -s 1x3x32x32 -Z
}

@test "no MODEL: exit 2" {
    expect_error 2 model -- -s 1x3x32x32
}

@test "two MODELs: exit 2" {
    expect_error 2 "$BATS_TEST_TMPDIR/other.pt" -- "$TINYNET" "$BATS_TEST_TMPDIR/other.pt" -s 1x3x32x32
}

@test "--opset outside 7-23: exit 2, message names the range" {
    expect_error 2 7-23 -- "$TINYNET" -s 1x3x32x32 --opset 6
    expect_error 2 7-23 -- "$TINYNET" -s 1x3x32x32 --opset 99
    expect_error 2 7-23 -- "$TINYNET" -s 1x3x32x32 --opset 0
    expect_error 2 7-23 -- "$TINYNET" -s 1x3x32x32 --opset -1
}

@test "--opset not a number: exit 2" {
    expect_error 2 opset -- "$TINYNET" -s 1x3x32x32 --opset abc
    expect_error 2 opset -- "$TINYNET" -s 1x3x32x32 --opset 17x
    expect_error 2 opset -- "$TINYNET" -s 1x3x32x32 --opset ''
}

@test "malformed --input-shape: exit 2, message shows the value" {
    local v
    for v in 1xx3 abc:float99 1x3x32x32:float99 x3x32x32 1x3x32x 1x-3x32x32 \
        1.5x3x32x32 99999999999999999999x3x32x32; do
        expect_error 2 "$v" -- "$TINYNET" -s "$v"
        expect_error 2 "$v" -- "$TINYNET" --input-shape "$v"
    done
}

@test "wrong number of --input-shape: exit 2, message names the input" {
    expect_error 2 "word:$TINY_INPUT" -- "$TINYNET" -s 1x3x32x32 -s 1x3x32x32
}

@test "no --input-shape: exit 2, message shows the flag" {
    expect_error 2 --input-shape -- "$TINYNET"
}

# --- unreadable models: exit 3 ---

@test "missing model file: exit 3" {
    local m=$BATS_TEST_TMPDIR/no-such-model.pt
    expect_error 3 "$m" -- "$m" -s 1x3x32x32
}

@test "model is a directory: exit 3" {
    local m=$BATS_TEST_TMPDIR/adir.pt
    mkdir "$m"
    expect_error 3 "$m" -- "$m" -s 1x3x32x32
}

@test "empty model file: exit 3" {
    local m=$BATS_TEST_TMPDIR/empty.pt
    : > "$m"
    expect_error 3 "$m" -- "$m" -s 1x3x32x32
}

@test "random bytes: exit 3" {
    local m=$BATS_TEST_TMPDIR/random.pt
    /usr/bin/python3 -c '
import random, sys
random.seed(7)
sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(4096)))' > "$m"
    expect_error 3 "$m" -- "$m" -s 1x3x32x32
}

@test "truncated archive: exit 3" {
    local m=$BATS_TEST_TMPDIR/half.pt size
    size=$(stat -c %s "$TINYNET")
    head -c $((size / 2)) "$TINYNET" > "$m"
    expect_error 3 "$m" -- "$m" -s 1x3x32x32
}

@test "a zip that is not TorchScript: exit 3" {
    local m=$BATS_TEST_TMPDIR/notes.pt
    /usr/bin/python3 -c '
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("notes/readme.txt", "not a model\n")
    z.writestr("notes/data.pkl", b"\x80\x02}q\x00.")' "$m"
    expect_error 3 "$m" -- "$m" -s 1x3x32x32
}

# --- unwritable output: exit 5 ---

@test "output folder does not exist: exit 5" {
    local out=$BATS_TEST_TMPDIR/no/such/dir/m.onnx
    run_cli "$TINYNET" -s 1x3x32x32 -o "$out"
    check_error_run 5 "$out" "$out"
    [ ! -e "$BATS_TEST_TMPDIR/no" ]
}

@test "output path under a regular file: exit 5" {
    local out=$BATS_TEST_TMPDIR/file/m.onnx
    : > "$BATS_TEST_TMPDIR/file"
    run_cli "$TINYNET" -s 1x3x32x32 -o "$out"
    check_error_run 5 "$out" "$out"
    [ -f "$BATS_TEST_TMPDIR/file" ] && [ ! -s "$BATS_TEST_TMPDIR/file" ]
}

@test "output path is a directory: exit 5, nothing left behind" {
    local dir=$BATS_TEST_TMPDIR/w
    mkdir -p "$dir/out.onnx"
    run_cli "$TINYNET" -s 1x3x32x32 -o "$dir/out.onnx"
    check_error_run 5 "$dir/out.onnx" "$dir/out.onnx"
    [ -d "$dir/out.onnx" ]
    [ -z "$(ls -A "$dir/out.onnx")" ]
    [ "$(ls -A "$dir")" = out.onnx ] || fail "left behind: $(ls -A "$dir")"
}

@test "output folder not writable even for root (/proc): exit 5" {
    local out=/proc/pt2onnx-test-$$.onnx
    run_cli "$TINYNET" -s 1x3x32x32 -o "$out"
    check_error_run 5 "$out" "$out"
    [ ! -e "$out" ]
}

# --- successful conversions ---

@test "converts tinynet at opset 17; ONNX Runtime matches PyTorch" {
    convert_and_check "$TINY_JSON" 17
}

@test "converts tinynet at the lowest and highest opsets" {
    convert_and_check "$TINY_JSON" 7
    convert_and_check "$TINY_JSON" 23
}

@test "default opset is 17 (IR version 8); -q prints nothing" {
    local out=$BATS_TEST_TMPDIR/t.onnx
    run_cli "$TINYNET" -s 1x3x32x32 -o "$out" -q
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ -z "$stderr" ]
    run "$PYTHON" -c '
import sys, onnx
m = onnx.load(sys.argv[1])
print(m.ir_version, " ".join((o.domain or "ai.onnx") + ":" + str(o.version) for o in m.opset_import))' "$out"
    [ "$output" = "8 ai.onnx:17" ] || fail "ir_version and opsets: $output"
}

@test "-v: succeeds" {
    local out=$BATS_TEST_TMPDIR/t.onnx
    run_cli "$TINYNET" -s 1x3x32x32 -o "$out" -v
    [ "$status" -eq 0 ] || fail "$stderr"
    [ -s "$out" ]
}

@test "output is deterministic: two conversions give the same bytes" {
    local a=$BATS_TEST_TMPDIR/a.onnx b=$BATS_TEST_TMPDIR/b.onnx
    "$PT2ONNX" "$TINYNET" -s 1x3x32x32 -o "$a" -q
    "$PT2ONNX" "$TINYNET" -s 1x3x32x32 -o "$b" -q
    cmp "$a" "$b"
}

@test "-o - writes the model to stdout" {
    local a=$BATS_TEST_TMPDIR/stdout.onnx b=$BATS_TEST_TMPDIR/file.onnx
    "$PT2ONNX" "$TINYNET" -s 1x3x32x32 -o - -q > "$a"
    "$PT2ONNX" "$TINYNET" -s 1x3x32x32 -o "$b" -q
    cmp "$a" "$b"
    run node "$ORTCHECK" "$a" "$TINY_JSON"
    [ "$status" -eq 0 ] || fail "$output"
    [ ! -e ./- ] || fail "-o - created a file named '-'"
}

@test "default output: MODEL with .pt replaced by .onnx" {
    local d=$BATS_TEST_TMPDIR/m
    mkdir "$d"
    cp "$TINYNET" "$d/net.pt"
    run_cli "$d/net.pt" -s 1x3x32x32 -q
    [ "$status" -eq 0 ] || fail "$stderr"
    [ -s "$d/net.onnx" ]
    run node "$ORTCHECK" "$d/net.onnx" "$TINY_JSON"
    [ "$status" -eq 0 ] || fail "$output"

    # A relative MODEL: the output lands next to it, not elsewhere.
    rm "$d/net.onnx"
    mkdir "$d/sub"
    mv "$d/net.pt" "$d/sub/"
    cd "$d"
    run_cli sub/net.pt --input-shape 1x3x32x32 -q
    [ "$status" -eq 0 ] || fail "$stderr"
    [ -s "$d/sub/net.onnx" ]
    [ "$(ls -A "$d")" = sub ]
    [ "$(ls -A "$d/sub" | sort | tr '\n' ' ')" = "net.onnx net.pt " ]
}

@test "a symbolic dim becomes a named graph input dim" {
    local out=$BATS_TEST_TMPDIR/sym.onnx
    run_cli "$TINYNET" -s batchx3x32x32 -o "$out" -q
    [ "$status" -eq 0 ] || fail "$stderr"
    run "$PYTHON" -c '
import sys, onnx
m = onnx.load(sys.argv[1])
d = m.graph.input[0].type.tensor_type.shape.dim
print(",".join(x.dim_param or str(x.dim_value) for x in d))' "$out"
    [ "$output" = "batch,3,32,32" ] || fail "input dims: $output"
    run node "$ORTCHECK" "$out" "$TINY_JSON"
    [ "$status" -eq 0 ] || fail "$output"
}

@test "--input-names and --output-names name the graph's inputs and outputs" {
    local out=$BATS_TEST_TMPDIR/named.onnx
    run_cli "$TINYNET" -s 1x3x32x32:float32 --input-names image --output-names logits -o "$out" -q
    [ "$status" -eq 0 ] || fail "$stderr"
    run "$PYTHON" -c '
import sys, onnx
g = onnx.load(sys.argv[1]).graph
print([i.name for i in g.input], [o.name for o in g.output])' "$out"
    [ "$output" = "['image'] ['logits']" ] || fail "names: $output"
    run node "$ORTCHECK" "$out" "$TINY_JSON"
    [ "$status" -eq 0 ] || fail "$output"
    [[ $output == "output 0 (logits): "* ]]
}

@test "--list-ops: every op it converts is documented in the README" {
    run_cli --list-ops
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -ge 50 ] || fail "too few ops listed" "$output"
    local line kind missing=()
    for line in "${lines[@]}"; do
        [[ $line =~ ^([a-z]+::[A-Za-z_0-9]+)\ +opsets\ ([0-9]+)-([0-9]+)$ ]] ||
            fail "malformed line: $line" || return
        kind=${BASH_REMATCH[1]}
        grep -qF "\`$kind\`" "$ROOT/README.md" || missing+=("$kind")
    done
    [ ${#missing[@]} -eq 0 ] || fail "not in README.md: ${missing[*]}"
}

@test "the shim's library list: each library after those it needs; a missing or bad list changes nothing" {
    local deps lib problems
    deps="$(dirname "$PT2ONNX")/libpt2onnx-torch.so.deps"
    [ -s "$deps" ] || fail "$deps is missing or empty"
    grep -q '/libtorch_cpu\.so' "$deps" || fail "no libtorch_cpu in $deps"
    grep -q '/libc10\.so' "$deps" || fail "no libc10 in $deps"
    # Every line a library that exists; each library it needs that is on
    # the list comes before it (a library goes by its file name, which is
    # its soname here).
    problems=$(while read -r lib; do
        [[ $lib == /* && -f $lib ]] || { echo "BAD $lib"; continue; }
        echo "LIB ${lib##*/}"
        readelf -dW "$lib" | awk '/\(NEEDED\)/ { n = $NF; gsub(/[][]/, "", n); print "NEEDS " n }'
    done < "$deps" | awk '
        FNR == NR { listed[$0] = 1; next }
        $1 == "BAD" { print "not a library: " $2; next }
        $1 == "LIB" { cur = $2; opened[cur] = 1; next }
        $1 == "NEEDS" && ($2 in listed) && !($2 in opened) { print cur " comes before " $2 }
    ' <(sed 's#.*/##' "$deps") -)
    [ -z "$problems" ] || fail "$problems"
    # The command without the list, and with a list of nonsense: the same
    # model, still matching PyTorch.
    local alone=$BATS_TEST_TMPDIR/alone
    mkdir -p "$alone"
    cp "$PT2ONNX" "$(dirname "$PT2ONNX")/libpt2onnx-torch.so" "$alone/"
    run_cli "$TINY_DIR/tinynet.pt" -o "$alone/a.onnx" -s 1x3x32x32 -q
    [ "$status" -eq 0 ] || fail "with the list: exit $status" "$stderr"
    run --separate-stderr "$alone/pt2onnx" "$TINY_DIR/tinynet.pt" -o "$alone/b.onnx" -s 1x3x32x32 -q
    [ "$status" -eq 0 ] || fail "without the list: exit $status" "$stderr"
    printf '%s\n' /nonexistent/libnothing.so.1 'not a path' '' /etc/passwd > "$alone/libpt2onnx-torch.so.deps"
    run --separate-stderr "$alone/pt2onnx" "$TINY_DIR/tinynet.pt" -o "$alone/c.onnx" -s 1x3x32x32 -q
    [ "$status" -eq 0 ] || fail "with a bad list: exit $status" "$stderr"
    cmp "$alone/a.onnx" "$alone/b.onnx" || fail "without the list the model differs"
    cmp "$alone/a.onnx" "$alone/c.onnx" || fail "with a bad list the model differs"
    run node "$ORTCHECK" "$alone/c.onnx" "$TINY_JSON"
    [ "$status" -eq 0 ] || fail "ortcheck" "$output"
}
