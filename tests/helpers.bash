# shellcheck shell=bash disable=SC2034
# Shared by the bats suites: `load helpers` at the top of a .bats file.
#
#   ROOT            the project folder
#   PT2ONNX         the binary under test (build/pt2onnx unless set)
#   PYTHON          the interpreter that has torch and onnx (Debian's)
#   TINYNET         the small convnet of testdata/demo/
#   MODELS_DIR      where scripts/make_models.py puts torchvision models
#
# Every test gets its own scratch folder, $BATS_TEST_TMPDIR, which bats
# removes afterwards. convert_and_check is for a few conversions; a suite of
# hundreds (tests/ops.bats) converts through convert_jobs and checks with
# the checkers' --manifest modes, one process each.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PT2ONNX=${PT2ONNX:-$ROOT/build/pt2onnx}
PYTHON=/usr/bin/python3
TINYNET=${TINYNET:-$ROOT/testdata/demo/tinynet.pt}
MODELS_DIR=${MODELS_DIR:-$ROOT/build/models}
ORTCHECK=$ROOT/scripts/ortcheck.js
ONNXCHECK=$ROOT/scripts/onnxcheck.py
# The newest opset python3-onnx's checker knows.
CHECKER_MAX_OPSET=17

bats_require_minimum_version 1.5.0

# fail MESSAGE...: print each argument on a line to stderr and fail the test.
fail() {
    printf '%s\n' "$@" >&2
    return 1
}

# require_pt2onnx: fail (not skip: a missing binary is a broken build) when
# the binary has not been built.
require_pt2onnx() {
    [ -x "$PT2ONNX" ] || fail "$PT2ONNX is missing: run 'make all' first"
}

# shapes_args FIXTURE.json: print the fixture's "shapes" (the -s arguments),
# one per line. Fixtures are written with "shapes" near the top, so the first
# 64 KiB are matched in bash; anything unusual falls back to node.
shapes_args() {
    local json=$1 head='' list item
    local re_list='"shapes"[[:space:]]*:[[:space:]]*\[([^]]*)\]'
    local re_item='^[[:space:],]*"([^"\\]*)"'
    [ -r "$json" ] || fail "shapes_args: cannot read $json" || return
    IFS= read -r -d '' -N 65536 head < "$json" || true
    if [[ $head =~ $re_list ]]; then
        list=${BASH_REMATCH[1]}
        while [[ $list =~ $re_item ]]; do
            item=${BASH_REMATCH[1]}
            list=${list:${#BASH_REMATCH[0]}}
            printf '%s\n' "$item"
        done
        # Whatever is left must be blank, or the list held something odd
        # (escapes, non-strings): let a real JSON parser decide.
        [[ $list =~ ^[[:space:]]*$ ]] && return 0
    fi
    node -e '
        const f = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        if (!Array.isArray(f.shapes)) { console.error(process.argv[1] + ": no shapes"); process.exit(1); }
        for (const s of f.shapes) console.log(s);' "$json"
}

# convert_and_check FIXTURE.json OPSET [PT2ONNX ARGS...]
#
# Converts FIXTURE.pt at OPSET with the fixture's shapes (plus any extra
# arguments) into $BATS_TEST_TMPDIR, then checks the result numerically with
# ONNX Runtime (scripts/ortcheck.js) and, for OPSET <= 17, structurally with
# the ONNX checker; both checks run at the same time. On failure prints the
# command, its exit status and every tool's output, and returns 1.
convert_and_check() {
    local json=$1 opset=$2
    shift 2
    local pt=${json%.json}.pt name=${json##*/}
    name=${name%.json}
    local out=$BATS_TEST_TMPDIR/$name.opset$opset.onnx
    local -a cmd=("$PT2ONNX" "$pt" -o "$out" --opset "$opset")
    local s rc=0 orc=0 crc=0 cpid=''

    require_pt2onnx || return
    [ -f "$pt" ] || fail "convert_and_check: $pt is missing" || return
    while IFS= read -r s; do
        cmd+=(-s "$s")
    done < <(shapes_args "$json")
    cmd+=("$@" -q)

    "${cmd[@]}" > "$out.stdout" 2> "$out.stderr" || rc=$?
    if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
        fail "convert_and_check: $name at opset $opset: pt2onnx exited $rc" \
            "  \$ ${cmd[*]}" "$(cat "$out.stderr" "$out.stdout")"
        return
    fi

    if [ "$opset" -le "$CHECKER_MAX_OPSET" ]; then
        "$PYTHON" "$ONNXCHECK" "$out" > "$out.checker" 2>&1 &
        cpid=$!
    fi
    node "$ORTCHECK" "$out" "$json" > "$out.ort" 2>&1 || orc=$?
    if [ -n "$cpid" ]; then
        wait "$cpid" || crc=$?
    fi
    if [ "$orc" -ne 0 ] || [ "$crc" -ne 0 ]; then
        local -a msg=("convert_and_check: $name at opset $opset" "  \$ ${cmd[*]}")
        [ "$orc" -eq 0 ] || msg+=("ONNX Runtime check failed ($orc):" "$(cat "$out.ort")")
        [ "$crc" -eq 0 ] || msg+=("ONNX checker failed ($crc):" "$(cat "$out.checker")")
        fail "${msg[@]}"
        return
    fi
}

# file_sum FILE: print a checksum of FILE's bytes (to compare before/after).
file_sum() {
    cksum < "$1"
}

# How many conversions convert_jobs runs at once: the machine's two cores.
CONVERT_JOBS=${CONVERT_JOBS:-2}

# convert_jobs BATCH RESULTS
#
# Runs every conversion listed in BATCH: one job per line, each line the
# arguments of one pt2onnx run quoted as a shell would (printf %q), which is
# the format `pt2onnx --batch FILE` reads. For the job on line I (counting
# from 1) writes RESULTS/I.rc (its exit status) and RESULTS/I.log (its
# messages). The one place the data-driven suites convert: one
# `pt2onnx --batch BATCH -j CONVERT_JOBS`, so libtorch starts once.
convert_jobs() {
    local batch=$1 results=$2 rc=0 n i
    require_pt2onnx || return
    mkdir -p "$results" || return
    "$PT2ONNX" --batch "$batch" -j "$CONVERT_JOBS" \
        > "$results/batch.out" 2> "$results/batch.err" || rc=$?
    # Result lines "LINE ok OUTPUT" / "LINE exit=N OUTPUT"; messages
    # "BATCH:LINE: text" on stderr.
    awk -v dir="$results" '
        $2 == "ok" { f = dir "/" $1 ".rc"; print 0 > f; close(f) }
        $2 ~ /^exit=/ { f = dir "/" $1 ".rc"; print substr($2, 6) > f; close(f) }
    ' "$results/batch.out"
    awk -v dir="$results" -v pre="$batch:" '
        index($0, pre) == 1 {
            rest = substr($0, length(pre) + 1)
            k = index(rest, ":")
            f = dir "/" substr(rest, 1, k - 1) ".log"
            print substr(rest, k + 2) >> f
            close(f)
        }
    ' "$results/batch.err"
    # A job with no result line: the batch itself failed (exit $rc).
    n=$(grep -c '' "$batch")
    for ((i = 1; i <= n; i++)); do
        : >> "$results/$i.log"
        [ -f "$results/$i.rc" ] && continue
        echo "batch exit $rc, no result for line $i" > "$results/$i.rc"
        cat "$results/batch.err" >> "$results/$i.log"
    done
}

# run_manifest BASE CMD...: CMD --manifest BASE.manifest into BASE.out, its
# exit status into BASE.rc; nothing to check is a success.
run_manifest() {
    local base=$1 rc=0
    shift
    if [ -s "$base.manifest" ]; then
        "$@" --manifest "$base.manifest" > "$base.out" 2>&1 || rc=$?
    else
        : > "$base.out"
    fi
    echo "$rc" > "$base.rc"
}

# model_suite_run DIR PLAN OUT: for whole-network fixtures (DIR/NAME.pt and
# DIR/NAME.json), PLAN lines "NAME OPSET...": converts every NAME at every
# OPSET in one --batch run (libtorch is loaded once), then checks them all
# with one ONNX Runtime process and, at opsets <= 17, one checker process,
# side by side, as tests/ops.bats does. Results go to OUT ($MSUITE, for
# model_ok); the ONNX files are deleted once checked (they can add up to
# several GiB).
model_suite_run() {
    local dir=$1 plan=$2 name opsets o i=0 s json model
    local -a args
    export MSUITE=$3
    mkdir -p "$MSUITE/onnx" || return
    : > "$MSUITE/batch"
    : > "$MSUITE/jobs"
    while read -r name opsets; do
        [ -n "$name" ] || continue
        json=$dir/$name.json
        for o in $opsets; do
            i=$((i + 1))
            model=$MSUITE/onnx/$name.opset$o.onnx
            args=("$dir/$name.pt" -o "$model" --opset "$o")
            while IFS= read -r s; do
                args+=(-s "$s")
            done < <(shapes_args "$json")
            args+=(-q)
            printf '%q ' "${args[@]}" >> "$MSUITE/batch"
            echo >> "$MSUITE/batch"
            printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$name" "$o" "$json" "$model" >> "$MSUITE/jobs"
        done
    done <<< "$plan"

    convert_jobs "$MSUITE/batch" "$MSUITE/results" || return
    while IFS=$'\t' read -r i name o json model; do
        [ "$(cat "$MSUITE/results/$i.rc")" = 0 ] && [ -s "$model" ] || continue
        printf '%s\t%s\t%s\n' "$model" "$json" "$name@opset$o"
        [ "$o" -gt "$CHECKER_MAX_OPSET" ] ||
            printf '%s\t%s\t%s\n' "$model" "$json" "$name@opset$o" >&3
    done < "$MSUITE/jobs" > "$MSUITE/ort.manifest" 3> "$MSUITE/checker.manifest"
    run_manifest "$MSUITE/checker" "$PYTHON" "$ONNXCHECK" &
    run_manifest "$MSUITE/ort" node "$ORTCHECK"
    wait $!
    rm -rf "$MSUITE/onnx"
}

# checked_line BASE LABEL: the line checker BASE printed for LABEL, or
# nothing.
checked_line() {
    grep -E "^(ok|FAIL) $2($|[: ])" "$1.out" | head -n 1
}

# model_ok NAME (after model_suite_run): NAME converted at each opset of its plan, ONNX Runtime
# matched PyTorch, and the ONNX checker passed at opsets <= 17.
model_ok() {
    local i name o json model rc line n=0
    local -a msg=()
    while IFS=$'\t' read -r i name o json model; do
        [ "$name" = "$1" ] || continue
        n=$((n + 1))
        read -r rc < "$MSUITE/results/$i.rc"
        if [ "$rc" != 0 ]; then
            msg+=("$name at opset $o: pt2onnx exited $rc" \
                "  \$ $PT2ONNX $(sed -n "${i}p" "$MSUITE/batch")" \
                "$(sed 's/^/    /' "$MSUITE/results/$i.log")")
            continue
        fi
        line=$(checked_line "$MSUITE/ort" "$name@opset$o")
        if [[ $line != ok* ]]; then
            msg+=("$name at opset $o: the ONNX Runtime check failed" \
                "${line:-  (no result; ortcheck exited $(cat "$MSUITE/ort.rc"))}" \
                "$(sed -n "/^FAIL $name@opset$o:/,/^[^ ]/{/^    /p}" "$MSUITE/ort.out")")
        fi
        if [ "$o" -le "$CHECKER_MAX_OPSET" ]; then
            line=$(checked_line "$MSUITE/checker" "$name@opset$o")
            [[ $line == ok* ]] || msg+=("$name at opset $o: the ONNX checker failed" \
                "${line:-  (no result; onnxcheck exited $(cat "$MSUITE/checker.rc"))}")
        fi
    done < "$MSUITE/jobs"
    [ "$n" -gt 0 ] || fail "model_ok: $1 is not in MODEL_PLAN" || return
    [ "${#msg[@]}" -eq 0 ] || fail "${msg[@]}"
}

# ---- extdata ----
# Shared by the suites that write into a scratch folder $D (output.bats,
# extdata.bats).

# make_big_pt PATH: a TorchScript model with ~50 MiB of weights (input
# 4x2048), whose writing takes a noticeable moment, for the fault tests.
make_big_pt() {
    "$PYTHON" -c '
import sys, torch, torch.nn as nn
torch.manual_seed(0)
m = nn.Sequential(*[nn.Linear(2048, 2048) for _ in range(3)]).eval()
torch.jit.script(m).save(sys.argv[1])' "$1"
}

# scratch_setup / scratch_teardown: a fresh folder $D as the working
# directory; unmounts $MNT if a test mounted one.
scratch_setup() {
    require_pt2onnx
    D=$BATS_TEST_TMPDIR/d
    mkdir -p "$D"
    cd "$D" || return
}

scratch_teardown() {
    cd / || true
    if [ -n "${MNT:-}" ]; then
        umount "$MNT" 2>/dev/null || true
    fi
}

# only FILE...: the folder $D holds exactly these names (no temporary file).
only() {
    local want got
    want=$(printf '%s\n' "$@" | sort)
    got=$(ls -A "$D" | sort)
    [ "$got" = "$want" ] || fail "folder holds: $got" "want: $want"
}

# stop_at_random I ARGS...: run pt2onnx ARGS in the background and send it
# SIGTERM (I odd) or SIGINT (I even) after a random 0-1.5 s; fail unless it
# ends with 0 (done before the signal) or by the signal. Sets $stopped to
# "run I (SIGX after Ys, exit N)" for messages.
stop_at_random() {
    local i=$1 sig delay pid rc=0
    shift
    sig=$([ $((i % 2)) -eq 0 ] && echo INT || echo TERM)
    delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", rand() * 1.5 }')
    "$PT2ONNX" "$@" &
    pid=$!
    sleep "$delay"
    kill -"$sig" "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    stopped="run $i (SIG$sig after ${delay}s, exit $rc)"
    case $rc in
        0|130|143) ;;
        *) fail "$stopped" || return ;;
    esac
    sleep 0.1
}
