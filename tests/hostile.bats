#!/usr/bin/env bats
# Hostile input: every file of testdata/hostile/ (made by
# scripts/make_hostile.py, plus minimized fuzzer findings named fuzz-*) is
# refused with exit 3 or 4 and one line on stderr naming the file, within
# 10 s and 2 GiB of peak RSS, leaving no output; out-of-memory is exit 1
# with the stage; the command-line corpus of the CLI fuzzer replays without
# a crash. This suite is the fuzzers' regression pass: it needs no afl++.

load helpers

HOSTILE=$ROOT/testdata/hostile
CMDLINES=$ROOT/tests/fuzz/cmdlines.txt
MAX_RSS_KB=$((2 * 1024 * 1024))

setup() {
    require_pt2onnx
    mkdir -p "$BATS_TEST_TMPDIR/out"
}

# refused FILE: runs pt2onnx on FILE in an empty folder under `timeout 10`
# and `/usr/bin/time`, and prints what is wrong with the outcome (nothing
# when it is right).
refused() {
    local f=$1 d=${2:-$BATS_TEST_TMPDIR} name out status rss lines
    out=$d/out
    name=$(basename "$f")
    rm -rf "$out" && mkdir -p "$out"
    status=0
    (cd "$out" && exec /usr/bin/time -f '%M' -o "$d/rss" \
        timeout 10 "$PT2ONNX" "$f" -o out.onnx -s 1x4 \
        >"$d/stdout" 2>"$d/stderr") || status=$?
    rss=$(tail -n 1 "$d/rss")
    lines=$(wc -l <"$d/stderr")
    if [ "$status" -eq 124 ]; then
        echo "$name: took more than 10 s"
    elif [ "$status" -ne 3 ] && [ "$status" -ne 4 ]; then
        echo "$name: exit $status, want 3 or 4: $(head -c 300 "$d/stderr")"
    fi
    [ "$lines" -eq 1 ] ||
        echo "$name: $lines lines on stderr, want 1: $(head -c 300 "$d/stderr")"
    grep -qF "$name" "$d/stderr" ||
        echo "$name: the message does not name the file"
    [ ! -s "$d/stdout" ] || echo "$name: wrote to stdout"
    [ -z "$(ls -A "$out")" ] || echo "$name: left $(ls -A "$out")"
    [[ $rss =~ ^[0-9]+$ ]] && [ "$rss" -lt "$MAX_RSS_KB" ] ||
        echo "$name: peak RSS ${rss} KiB (limit $MAX_RSS_KB)"
}

@test "the hostile corpus is there and small" {
    local n size
    n=$(find "$HOSTILE" -type f | wc -l)
    [ "$n" -ge 50 ] || fail "only $n files in $HOSTILE"
    size=$(du -sk "$HOSTILE" | cut -f1)
    [ "$size" -lt 5120 ] || fail "$HOSTILE is $size KiB"
}

@test "every hostile archive: exit 3 or 4, one line naming it, no output, bounded" {
    local -a files=("$HOSTILE"/* "$ROOT/testdata/errors/libtorch_crash.pt")
    local i problems
    # Two at a time (two cores); each run is still a process of its own,
    # timed and measured alone, in a folder of its own.
    for ((i = 0; i < ${#files[@]}; i++)); do
        mkdir -p "$BATS_TEST_TMPDIR/r$i"
        refused "${files[$i]}" "$BATS_TEST_TMPDIR/r$i" > "$BATS_TEST_TMPDIR/r$i/problems" &
        (( i % 2 == 0 )) || wait
    done
    wait
    problems=$(cat "$BATS_TEST_TMPDIR"/r*/problems)
    [ -z "$problems" ] || fail "$problems"
}

@test "a directory, an empty file and a missing file are refused the same way" {
    local problems=''
    mkdir "$BATS_TEST_TMPDIR/folder.pt"
    : >"$BATS_TEST_TMPDIR/empty.pt"
    problems+=$(refused "$BATS_TEST_TMPDIR/folder.pt")
    problems+=$(refused "$BATS_TEST_TMPDIR/empty.pt")
    problems+=$(refused "$BATS_TEST_TMPDIR/missing.pt")
    [ -z "$problems" ] || fail "$problems"
}

@test "hostile archives are not taken for out-of-memory under a memory limit" {
    # Declared sizes far beyond the file: corrupt (exit 3) even when the
    # process could not allocate them anyway.
    local f
    for f in tensor-storage-2pow40 tensor-storage-bigger-than-record \
             pkl-huge-string pkl-memo-long-binput zip-huge-sizes \
             zip-bomb-storage; do
        run --separate-stderr bash -c 'ulimit -v 800000 && exec "$@"' _ \
            "$PT2ONNX" "$HOSTILE/$f.pt" -o "$BATS_TEST_TMPDIR/out/o.onnx" -s 1x4
        [ "$status" -eq 3 ] || fail "$f: exit $status, want 3" "$stderr"
        [[ $stderr == *"$f.pt': corrupt archive: "* ]] || fail "$f: $stderr"
    done
}

@test "a valid model larger than the memory limit: exit 1, out of memory while loading" {
    # 8192x8192 float weights: 256 MiB, more than the limit leaves once
    # libtorch is mapped (about 600 MB of address space).
    local big=$BATS_TEST_TMPDIR/big.pt
    "$PYTHON" -c '
import sys, torch
torch.manual_seed(0)
torch.jit.save(torch.jit.script(torch.nn.Linear(8192, 8192)), sys.argv[1])
' "$big"
    cd "$BATS_TEST_TMPDIR/out"
    run --separate-stderr bash -c 'ulimit -v 700000 && exec "$@"' _ \
        "$PT2ONNX" "$big" -o big.onnx -s 1x8192
    [ "$status" -eq 1 ] || fail "exit $status, want 1" "$stderr"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line:" "$stderr"
    [[ $stderr == "pt2onnx: error: model '$big': out of memory while "* ]] ||
        fail "$stderr"
    [ -z "$(ls -A)" ] || fail "left behind: $(ls -A)"
    # The same file with room enough converts: the limit was the cause.
    run --separate-stderr "$PT2ONNX" "$big" -o big.onnx -s 1x8192 -q
    [ "$status" -eq 0 ] || fail "without the limit: exit $status" "$stderr"
}

@test "the command-line corpus replays through pt2onnx without a crash" {
    local n i status problems='' scratch=$BATS_TEST_TMPDIR/cmd
    n=$(bash "$ROOT/scripts/cmdline_corpus.sh" count "$CMDLINES")
    [ "$n" -ge 20 ] || fail "only $n command lines in $CMDLINES"
    for ((i = 1; i <= n; i++)); do
        mapfile -d '' args < <(bash "$ROOT/scripts/cmdline_corpus.sh" args "$CMDLINES" "$i")
        rm -rf "$scratch" && mkdir -p "$scratch"
        cp "$TINYNET" "$scratch/model.pt"
        status=0
        (cd "$scratch" && exec timeout 10 "$PT2ONNX" "${args[@]}" \
            >/dev/null 2>"$BATS_TEST_TMPDIR/stderr") || status=$?
        # 0-5 are pt2onnx's statuses; a signal or the timeout is not.
        if [ "$status" -gt 5 ]; then
            problems+="line $i (${args[*]}): exit $status: $(head -c 200 "$BATS_TEST_TMPDIR/stderr")"$'\n'
        elif [ "$status" -ne 0 ] && [ "$(grep -c . "$BATS_TEST_TMPDIR/stderr")" -lt 1 ]; then
            problems+="line $i (${args[*]}): exit $status with no message"$'\n'
        fi
    done
    [ -z "$problems" ] || fail "$problems"
}
