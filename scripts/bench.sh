#!/usr/bin/env bash
# Compare pt2onnx with torch.onnx.export on torchvision's resnet50 (random
# weights, made by scripts/make_models.py): whole-process wall time and peak
# resident memory, median wall / max RSS over BENCH_RUNS runs (default 5)
# after a warm-up run, each tool in a block of its own.
# Exits 1 when pt2onnx misses a target: wall <= 0.25x and RSS <= 0.50x of
# torch.onnx.export's.
#
# Then (BENCH_BIG=0 skips it) the large model: a ~2.5 GiB MLP made by
# scripts/make_big_model.py into build/big/ (over protobuf's 2 GiB limit,
# so both converters write ONNX external data), converted once by each
# tool; pt2onnx's output is checked by the ONNX checker (on the path) and
# ONNX Runtime, and its peak RSS must stay within 1.15 x the weight bytes
# plus libtorch's baseline (the peak RSS of converting a tiny model).
# Too heavy for CI (minutes, ~8 GiB of memory and ~8 GB of disk): `make
# bench` only. BENCH_BIG_CLEAN=1 removes the generated model afterwards.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PT2ONNX=${PT2ONNX:-$ROOT/build/pt2onnx}
PYTHON=/usr/bin/python3
RUNS=${BENCH_RUNS:-5}
WALL_TARGET=0.25
RSS_TARGET=0.50
MODEL=build/models/resnet50.pt

die() { echo "bench: $*" >&2; exit 1; }

[ -x "$PT2ONNX" ] || die "$PT2ONNX not found: run 'make all' first"
[ -x /usr/bin/time ] || die "/usr/bin/time not found: run scripts/deps.sh"
"$PYTHON" scripts/make_models.py build/models resnet50

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# once NAME CMD...: run CMD once, appending "wall_s rss_KiB" to NAME.times.
# Each run starts with nothing left to write back (sync, not timed): the
# 100 MB one tool leaves dirty would otherwise be flushed during the
# other's run, and count against it.
once() {
    local name=$1
    shift
    sync
    if ! /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" > "$tmp/out" 2>&1; then
        cat "$tmp/out" >&2
        die "$name failed: $*"
    fi
    tail -n 1 "$tmp/time" >> "$tmp/$name.times"
}

# summary NAME: set $wall (median, s) and $rss (max, KiB) of NAME's runs.
summary() {
    read -r wall rss < <(sort -n -k1,1 "$tmp/$1.times" |
        awk '{ w[NR] = $1; if ($2 > m) m = $2 }
             END { print w[int((NR + 1) / 2)], m }')
}

# pt2onnx converts in a forked worker (a libtorch crash becomes an error
# message): /usr/bin/time's peak RSS would then be the larger process's, not
# the pair's. Memory is measured on a one-process run (PT2ONNX_SUPERVISE=0),
# which holds every page the pair does but the supervisor's few private
# ones; wall time on the normal, supervised run.
# Each tool in a block of its own, as hyperfine does: one warm-up run
# (not counted: the first after the other tool pays for its leftovers,
# ~20-40 ms here), then $RUNS counted runs.
measure() {
    local name=$1 i
    shift
    once warmup "$@"
    for ((i = 0; i < RUNS; i++)); do
        once "$name" "$@"
    done
    summary "$name"
}
measure pt2onnx "$PT2ONNX" "$MODEL" -o "$tmp/a.onnx" --opset 17 -s 1x3x224x224 -q
a_wall=$wall
PT2ONNX_SUPERVISE=0 measure pt2onnx-1proc "$PT2ONNX" "$MODEL" -o "$tmp/a1.onnx" --opset 17 -s 1x3x224x224 -q
a_rss=$rss
measure torch.onnx "$PYTHON" scripts/bench_export.py "$MODEL" "$tmp/b.onnx"
b_wall=$wall b_rss=$rss

# A fast converter that gives wrong answers is not faster: check the output.
if ! node scripts/ortcheck.js "$tmp/a.onnx" build/models/resnet50.json > "$tmp/check" 2>&1; then
    cat "$tmp/check" >&2
    die "pt2onnx's resnet50.onnx does not match PyTorch"
fi

awk -v aw="$a_wall" -v ar="$a_rss" -v bw="$b_wall" -v br="$b_rss" \
    -v wt="$WALL_TARGET" -v rt="$RSS_TARGET" -v runs="$RUNS" '
BEGIN {
    fmt = "%-18s %-16s %-8s %s\n"
    printf fmt, "benchmark", "tool", "wall_s", "peak_rss_MiB"
    printf fmt, "resnet50 opset17", "pt2onnx", sprintf("%.2f", aw), sprintf("%.0f", ar / 1024)
    printf fmt, "resnet50 opset17", "torch.onnx", sprintf("%.2f", bw), sprintf("%.0f", br / 1024)
    # /usr/bin/time reports wall in 10 ms steps; never divide by zero.
    wr = aw / (bw > 0 ? bw : 0.01)
    rr = ar / (br > 0 ? br : 1)
    printf "ratio (pt2onnx / torch.onnx): wall %.2f (target <= %.2f)  rss %.2f (target <= %.2f)\n", wr, wt, rr, rt
    printf "(median wall and max RSS of %d runs each after a warm-up run; pt2onnx RSS from its one-process run)\n", runs
    bad = 0
    if (wr > wt) { printf "bench: wall-time target missed: %.2f > %.2f\n", wr, wt; bad = 1 }
    if (rr > rt) { printf "bench: memory target missed: %.2f > %.2f\n", rr, rt; bad = 1 }
    exit bad
}' || status=1

# ---- extdata ----
[ "${BENCH_BIG:-1}" = 0 ] && exit "${status:-0}"
BIG=build/big/big.pt BIG_JSON=build/big/big.json
if [ ! -s "$BIG" ] || [ ! -s "$BIG_JSON" ]; then
    mkdir -p build/big
    nice "$PYTHON" scripts/make_big_model.py "$BIG" "$BIG_JSON"
fi
mkdir "$tmp/big"
# libtorch's baseline: the peak RSS of converting a tiny model.
PT2ONNX_SUPERVISE=0 once baseline "$PT2ONNX" testdata/demo/tinynet.pt -o "$tmp/tiny.onnx" -s 1x3x32x32 -q
summary baseline
base_rss=$rss
# One run each: wall and RSS of pt2onnx from its one-process run (the
# supervisor adds a fork, nothing measurable at this size).
PT2ONNX_SUPERVISE=0 once pt2onnx-big nice "$PT2ONNX" "$BIG" -o "$tmp/big/a.onnx" -s 1x8192 -q
summary pt2onnx-big
a_wall=$wall a_rss=$rss
weight_bytes=$(stat -c %s "$tmp/big/a.onnx.data") ||
    die "pt2onnx wrote no external data file for the large model"
if ! "$PYTHON" -c 'import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True)' \
        "$tmp/big/a.onnx" > "$tmp/check" 2>&1; then
    cat "$tmp/check" >&2
    die "the ONNX checker rejects pt2onnx's large model"
fi
if ! nice node scripts/ortcheck.js "$tmp/big/a.onnx" "$BIG_JSON" > "$tmp/check" 2>&1; then
    cat "$tmp/check" >&2
    die "pt2onnx's large model does not match PyTorch"
fi
rm -f "$tmp/big/a.onnx" "$tmp/big/a.onnx.data"
once torch.onnx-big nice "$PYTHON" scripts/bench_export.py "$BIG" "$tmp/big/b.onnx" --shape 1x8192
summary torch.onnx-big
b_wall=$wall b_rss=$rss
# torch.onnx 1.13 switches to external data by itself past 2 GiB: one file
# per tensor, beside the model.
b_files=$(($(ls -A "$tmp/big" | wc -l) - 1))
rm -rf "$tmp/big"
[ "${BENCH_BIG_CLEAN:-0}" = 1 ] && rm -f "$BIG" "$BIG_JSON"

awk -v aw="$a_wall" -v ar="$a_rss" -v bw="$b_wall" -v br="$b_rss" \
    -v wb="$weight_bytes" -v base="$base_rss" -v bf="$b_files" '
BEGIN {
    fmt = "%-18s %-16s %-8s %s\n"
    printf fmt, "mlp 2.5GiB opset17", "pt2onnx", sprintf("%.2f", aw), sprintf("%.0f", ar / 1024)
    printf fmt, "mlp 2.5GiB opset17", "torch.onnx", sprintf("%.2f", bw), sprintf("%.0f", br / 1024)
    printf "ratio (pt2onnx / torch.onnx): wall %.2f  rss %.2f\n", aw / (bw > 0 ? bw : 0.01), ar / (br > 0 ? br : 1)
    printf "(one run each; pt2onnx: one data file, %.0f MiB; torch.onnx: %d external files)\n", wb / 1048576, bf
    limit = 1.15 * wb / 1024 + base
    printf "pt2onnx peak RSS %.0f MiB vs 1.15 x weights (%.0f MiB) + baseline (%.0f MiB) = %.0f MiB: %s\n", \
        ar / 1024, wb / 1048576, base / 1024, limit / 1024, ar <= limit ? "ok" : "MISSED"
    exit ar <= limit ? 0 : 1
}' || status=1
exit "${status:-0}"
