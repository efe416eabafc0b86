#!/usr/bin/env bats
# ONNX external data (--external-data[=FILE]): the weights of 1 KiB or more
# go to a data file beside the model at page-aligned offsets, smaller ones
# stay inside; the model and its data file are replaced together or not at
# all. The automatic switch for models over 2 GiB is exercised by `make
# bench` (a 2.5 GB model is too heavy for this suite).

load helpers

setup_file() {
    # In one Python process (torch loads once): an MLP whose three weights
    # are >= 1 KiB (12288, 6144 and 1280 bytes) and whose biases are not,
    # with PyTorch's outputs for ONNX Runtime (scripts/fixture_from_pt.py's
    # format); and BIG, ~50 MiB of weights, a write that takes a moment,
    # for the fault tests.
    export MLP=$BATS_FILE_TMPDIR/mlp.pt BIG=$BATS_FILE_TMPDIR/big.pt
    "$PYTHON" -c '
import json, sys, torch, torch.nn as nn
sys.path.insert(0, sys.argv[1])
from fixture_from_pt import tensor_json
torch.manual_seed(0)
m = nn.Sequential(nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 32), nn.ReLU(),
                  nn.Linear(32, 10)).eval()
s = torch.jit.script(m)
s.save(sys.argv[2])
x = torch.randn(2, 64)
with torch.no_grad():
    y = s(x)
json.dump({"name": "mlp", "shapes": ["2x64"], "min_opset": 7, "rtol": 1e-4,
           "atol": 1e-5, "inputs": [tensor_json(x)], "outputs": [tensor_json(y)]},
          open(sys.argv[3], "w"))
big = nn.Sequential(*[nn.Linear(2048, 2048) for _ in range(3)]).eval()
torch.jit.script(big).save(sys.argv[4])' \
        "$ROOT/scripts" "$MLP" "$BATS_FILE_TMPDIR/mlp.json" "$BIG"
}

setup() { scratch_setup; }
teardown() { scratch_teardown; }

mlp() {
    "$PT2ONNX" "$MLP" -s 2x64 -q "$@"
}

# layout MODEL: one line per initializer, "NAME inline BYTES" or "NAME
# LOCATION OFFSET LENGTH", read without loading the data file.
layout() {
    "$PYTHON" -c '
import sys, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
for t in m.graph.initializer:
    if t.data_location == onnx.TensorProto.EXTERNAL:
        e = {x.key: x.value for x in t.external_data}
        print(t.name, e["location"], e.get("offset", "0"), e["length"])
    else:
        print(t.name, "inline", len(t.raw_data))' "$1"
}

# checked MODEL: the ONNX checker on the path (it reads the data file
# beside it) and ONNX Runtime against PyTorch.
checked() {
    local out
    out=$("$PYTHON" -c '
import sys, onnx
onnx.checker.check_model(sys.argv[1], full_check=True)
print("ok")' "$1" 2>&1) || fail "checker: $out"
    out=$(node "$ORTCHECK" "$1" "$BATS_FILE_TMPDIR/mlp.json" 2>&1) ||
        fail "ortcheck: $out"
}

@test "--external-data: weights >= 1 KiB in OUT.data at aligned offsets, the rest inline; checker and ONNX Runtime accept it" {
    run --separate-stderr "$PT2ONNX" "$MLP" -s 2x64 -o "$D/m.onnx" --external-data
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [[ $stderr == *"weights in external data file $D/m.onnx.data"* ]] || fail "$stderr"
    only m.onnx m.onnx.data
    local lay name loc off len n_ext=0 n_in=0 end=0
    lay=$(layout "$D/m.onnx")
    while read -r name loc off len; do
        if [ "$loc" = inline ]; then
            [ "$off" -lt 1024 ] || fail "$name: $off bytes inline" "$lay"
            n_in=$((n_in + 1))
            continue
        fi
        [ "$loc" = m.onnx.data ] || fail "$name: location $loc" "$lay"
        [ $((off % 4096)) -eq 0 ] || fail "$name: offset $off not aligned" "$lay"
        [ "$len" -ge 1024 ] || fail "$name: $len bytes external" "$lay"
        [ "$off" -ge "$end" ] || fail "$name overlaps the one before" "$lay"
        end=$((off + len))
        n_ext=$((n_ext + 1))
    done <<< "$lay"
    [ "$n_ext" -eq 3 ] && [ "$n_in" -ge 3 ] || fail "$n_ext external, $n_in inline" "$lay"
    [ "$(stat -c %s "$D/m.onnx.data")" -eq "$end" ] || fail "data file size != $end"
    checked "$D/m.onnx"
    # The same weights as without external data, byte for byte.
    mlp -o "$BATS_TEST_TMPDIR/plain.onnx"
    "$PYTHON" -c '
import sys, onnx
a = onnx.load(sys.argv[1]); b = onnx.load(sys.argv[2])
assert {t.name: t.raw_data for t in a.graph.initializer} == \
       {t.name: t.raw_data for t in b.graph.initializer}' "$D/m.onnx" "$BATS_TEST_TMPDIR/plain.onnx" ||
        fail "the weights differ from the inline model's"
}

@test "--external-data: the same bytes on every run" {
    mlp -o "$D/a.onnx" --external-data
    mlp -o "$D/b.onnx" --external-data=a.onnx.data.2
    cmp "$D/a.onnx.data" "$D/a.onnx.data.2" || fail "data files differ"
}

@test "--external-data=FILE names the data file, in the model's folder" {
    mkdir "$D/out"
    run --separate-stderr mlp -o "$D/out/m.onnx" --external-data=weights.bin
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ "$(ls -A "$D/out" | sort | tr '\n' ' ')" = "m.onnx weights.bin " ] || fail "$(ls -A "$D/out")"
    layout "$D/out/m.onnx" | grep -q ' weights.bin 0 ' || fail "$(layout "$D/out/m.onnx")"
    # Loaded from another working directory: the location is relative.
    (cd / && checked "$D/out/m.onnx")
    # Without a folder part in -o: beside it in the working directory.
    run --separate-stderr mlp -o m2.onnx --external-data=w2
    [ "$status" -eq 0 ] && [ -s "$D/w2" ] || fail "exit $status" "$stderr"
}

@test "--external-data=FILE with a folder part, '..', empty, or the model's own name: exit 2, nothing written" {
    local f
    for f in sub/w.bin ../w.bin /tmp/w.bin .. . ''; do
        run --separate-stderr mlp -o "$D/m.onnx" --external-data="$f"
        [ "$status" -eq 2 ] || fail "=$f: exit $status, want 2" "$stderr"
        [[ $stderr == "pt2onnx: error: --external-data: external data file '$f': "* ]] || fail "=$f: $stderr"
    done
    run --separate-stderr mlp -o "$D/m.onnx" --external-data=m.onnx
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"'m.onnx' is the model file"* ]] || fail "$stderr"
    # The data file may not be the model being converted either.
    cp "$MLP" "$D/net.pt"
    run --separate-stderr "$PT2ONNX" "$D/net.pt" -s 2x64 -o "$D/m.onnx" --external-data=net.pt
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"is the model being converted"* ]] || fail "$stderr"
    only net.pt
}

@test "-o - with --external-data: exit 2 naming the reason, nothing on stdout" {
    run --separate-stderr mlp -o - --external-data
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"-o - cannot be used with --external-data"*"beside a model file"* ]] || fail "$stderr"
    [ -z "$output" ] || fail "stdout got ${#output} bytes"
    # A device or FIFO cannot have a data file beside it either.
    run --separate-stderr mlp -o /dev/null --external-data
    [ "$status" -eq 2 ] || fail "/dev/null: exit $status, want 2" "$stderr"
    [[ $stderr == *"'/dev/null'"*"device, FIFO"* ]] || fail "$stderr"
    only
}

@test "an existing model and data file are replaced together, permission bits kept, nothing left beside" {
    printf 'old model\n' > "$D/m.onnx"
    printf 'old data\n' > "$D/m.onnx.data"
    chmod 640 "$D/m.onnx.data"
    run --separate-stderr mlp -o "$D/m.onnx" --external-data
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ "$(head -c 9 "$D/m.onnx")" != "old model" ] || fail "model not replaced"
    [ "$(head -c 8 "$D/m.onnx.data")" != "old data" ] || fail "data not replaced"
    [ "$(stat -c %a "$D/m.onnx.data")" = 640 ] || fail "data mode $(stat -c %a "$D/m.onnx.data")"
    checked "$D/m.onnx"
    only m.onnx m.onnx.data
}

@test "a write failure (data file's target a directory; model's a directory; no space): exit 5, old files kept, no temporary file" {
    printf 'old model\n' > "$D/m.onnx"
    mkdir "$D/m.onnx.data"
    run --separate-stderr mlp -o "$D/m.onnx" --external-data
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    [[ $stderr == *"'$D/m.onnx.data': it is a directory"* ]] || fail "$stderr"
    [ "$(cat "$D/m.onnx")" = "old model" ] || fail "the old model was changed"
    only m.onnx m.onnx.data
    rmdir "$D/m.onnx.data"
    rm "$D/m.onnx"
    mkdir "$D/m.onnx"
    run --separate-stderr mlp -o "$D/m.onnx" --external-data
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    only m.onnx
    # Space runs out while the data file is written: old pair kept.
    MNT=$BATS_TEST_TMPDIR/small
    mkdir -p "$MNT"
    mount -t tmpfs -o size=1m tmpfs "$MNT" || fail "cannot mount a tmpfs (CI runs as root)"
    printf 'old model\n' > "$MNT/m.onnx"
    printf 'old data\n' > "$MNT/m.onnx.data"
    run --separate-stderr "$PT2ONNX" "$BIG" -s 4x2048 -o "$MNT/m.onnx" --external-data
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    [[ $stderr == *"No space left on device"* ]] || fail "$stderr"
    [ "$(cat "$MNT/m.onnx")" = "old model" ] && [ "$(cat "$MNT/m.onnx.data")" = "old data" ] ||
        fail "the old pair was changed"
    [ "$(ls -A "$MNT" | sort | tr '\n' ' ')" = "m.onnx m.onnx.data " ] || fail "left behind: $(ls -A "$MNT")"
}

@test "the model's rename fails after the data file's: the data file's is undone, old pair kept" {
    # rename() failing for a target ending in .onnx, as a full or broken
    # folder might only for the second of the two renames.
    cat > "$BATS_TEST_TMPDIR/norename.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
int rename(const char *from, const char *to)
{
	size_t n = strlen(to);
	if (n > 5 && strcmp(to + n - 5, ".onnx") == 0) {
		errno = EIO;
		return -1;
	}
	int (*real)(const char *, const char *) =
		(int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	return real(from, to);
}
C
    cc -shared -fPIC -o "$BATS_TEST_TMPDIR/norename.so" "$BATS_TEST_TMPDIR/norename.c" -ldl ||
        fail "cannot build the rename shim"
    printf 'old model\n' > "$D/m.onnx"
    printf 'old data\n' > "$D/m.onnx.data"
    run --separate-stderr env LD_PRELOAD="$BATS_TEST_TMPDIR/norename.so" \
        "$PT2ONNX" "$MLP" -s 2x64 -q -o "$D/m.onnx" --external-data
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    [[ $stderr == *"'$D/m.onnx': write failed: Input/output error"* ]] || fail "$stderr"
    [ "$(cat "$D/m.onnx")" = "old model" ] && [ "$(cat "$D/m.onnx.data")" = "old data" ] ||
        fail "the old pair was changed"
    only m.onnx m.onnx.data
    # No old data file: the new one is removed again.
    rm "$D/m.onnx.data"
    run --separate-stderr env LD_PRELOAD="$BATS_TEST_TMPDIR/norename.so" \
        "$PT2ONNX" "$MLP" -s 2x64 -q -o "$D/m.onnx" --external-data
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    only m.onnx
}

@test "SIGINT/SIGTERM during an external-data write: the old pair or the whole new one, never a temporary file" {
    local ref=$BATS_TEST_TMPDIR/ref i pid stopped
    mkdir "$ref"
    "$PT2ONNX" "$BIG" -s 4x2048 -o "$ref/m.onnx" -q --external-data
    for i in $(seq 1 4); do
        printf 'old model\n' > "$D/m.onnx"
        printf 'old data\n' > "$D/m.onnx.data"
        stop_at_random "$i" "$BIG" -s 4x2048 -o "$D/m.onnx" -q --external-data
        if [ "$(cat "$D/m.onnx")" = "old model" ]; then
            [ "$(cat "$D/m.onnx.data")" = "old data" ] ||
                fail "$stopped: old model with a new data file"
        else
            cmp -s "$ref/m.onnx" "$D/m.onnx" && cmp -s "$ref/m.onnx.data" "$D/m.onnx.data" ||
                fail "$stopped: a partial or mixed pair"
        fi
        only m.onnx m.onnx.data
    done
    # Into an empty folder: nothing, or the whole pair.
    rm "$D/m.onnx" "$D/m.onnx.data"
    "$PT2ONNX" "$BIG" -s 4x2048 -o "$D/m.onnx" -q --external-data &
    pid=$!
    sleep 0.8
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || true
    sleep 0.1
    if [ -e "$D/m.onnx" ]; then
        cmp -s "$ref/m.onnx.data" "$D/m.onnx.data" || fail "a partial data file"
        only m.onnx m.onnx.data
    else
        only
    fi
}

@test "a --batch line takes --external-data; so does the command line, for every job" {
    printf '%s -s 2x64 -o a.onnx --external-data\n%s -s 2x64 -o b.onnx\n' "$MLP" "$MLP" > "$BATS_TEST_TMPDIR/jobs.txt"
    run --separate-stderr "$PT2ONNX" --batch "$BATS_TEST_TMPDIR/jobs.txt" -q
    [ "$status" -eq 0 ] || fail "exit $status" "$output" "$stderr"
    only a.onnx a.onnx.data b.onnx
    checked "$D/a.onnx"
    rm -f "$D"/*
    printf '%s -s 2x64 -o c.onnx\n' "$MLP" > "$BATS_TEST_TMPDIR/jobs.txt"
    run --separate-stderr "$PT2ONNX" --batch "$BATS_TEST_TMPDIR/jobs.txt" -q --external-data
    [ "$status" -eq 0 ] || fail "exit $status" "$output" "$stderr"
    only c.onnx c.onnx.data
}

@test "--batch: two jobs that would write one data file stop the batch before any job (exit 2)" {
    printf '%s -s 2x64 -o a.onnx\n%s -s 2x64 -o b.onnx\n' "$MLP" "$MLP" > "$BATS_TEST_TMPDIR/jobs.txt"
    run --separate-stderr "$PT2ONNX" --batch "$BATS_TEST_TMPDIR/jobs.txt" -q --external-data=w.bin
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *":2: pt2onnx: error: 'w.bin' (its external data file) is line 1's external data file too"* ]] || fail "$stderr"
    # A job's default data file is another job's model.
    printf '%s -s 2x64 -o a.onnx --external-data\n%s -s 2x64 -o a.onnx.data\n' "$MLP" "$MLP" > "$BATS_TEST_TMPDIR/jobs.txt"
    run --separate-stderr "$PT2ONNX" --batch "$BATS_TEST_TMPDIR/jobs.txt" -q
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"'a.onnx.data' (its output) is line 1's external data file too"* ]] || fail "$stderr"
    only
}
