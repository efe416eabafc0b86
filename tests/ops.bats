#!/usr/bin/env bats
# Every handler, numerically, driven by the fixture list: each fixture of
# testdata/ops (one op or one argument variant, made by
# scripts/make_fixtures.py) is converted at every opset its json lists in
# "opsets" and run in ONNX Runtime on its inputs, every input set when it has
# symbolic dims; the outputs must match PyTorch's. At opsets <= 17 the ONNX
# checker's full_check must pass too. Below a fixture's min_opset (at 7 and at
# min_opset - 1) the conversion must fail with exit status 4, name the opset
# it needs, and leave no output.
# Above a fixture's "ort_max_opset", when it has one (ONNX Runtime lacks
# kernels for an op's newest version there), the conversion must succeed and
# is not run.
#
# bats cannot make a @test per fixture at run time, so setup_file converts
# everything (convert_jobs: one batch) and checks everything (one ONNX
# Runtime process, one checker process) into $OPSUITE, and each @test below
# reads those results and names every fixture and opset that fails it.
#
# OPS_FIXTURES=DIR runs the suite on another folder of fixtures
# (scripts/opsuite_load.sh does, to time a synthetic load).

load helpers

# Plans the suite: for the fixtures of folder argv[1], writes into folder
# argv[2] "jobs" (one line per conversion, tab-separated: INDEX KIND NAME
# OPSET MIN_OPSET SETS JSON MODEL, KIND "check", "convert" or "below"),
# "batch" (line
# INDEX: the pt2onnx arguments of that job, quoted as a shell would) and
# "bad" (NAME WHY: fixture jsons the suite cannot use). In node rather than
# bash: a loop of thousands of lines in bash costs a minute on a busy machine.
PLAN_JS='
const fs = require("fs"), path = require("path");
const [dir, out] = process.argv.slice(1);
const names = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
const quote = (a) => (/^[A-Za-z0-9_\/.,:@%+=-]+$/.test(a) ? a : "\x27" + a.replace(/\x27/g, "\x27\\\x27\x27") + "\x27");
const jobs = [], batch = [], bad = [];
const job = (kind, name, json, o, min, sets, shapes) => {
  const model = path.join(out, "models", `${name}.opset${o}.onnx`);
  const args = [json.slice(0, -5) + ".pt", "-o", model, "--opset", String(o)];
  for (const s of shapes) args.push("-s", s);
  args.push("-q");
  batch.push(args.map(quote).join(" "));
  jobs.push([batch.length, kind, name, o, min, sets, json, model].join("\t"));
};
for (const f of names) {
  const json = path.join(dir, f), name = f.slice(0, -5);
  let j;
  try { j = JSON.parse(fs.readFileSync(json, "utf8")); } catch (e) {
    bad.push(name + "\t" + e.message); continue;
  }
  const min = j.min_opset, ops = j.opsets, shapes = j.shapes;
  const isOpset = (o) => Number.isInteger(o) && o >= 7 && o <= 23;
  let why = "";
  if (/[\t\n]/.test(json)) why = "a tab or newline in its path";
  else if (!isOpset(min)) why = "min_opset is not an opset 7-23";
  else if (ops === undefined) why = "no opsets (an old json: regenerate it with scripts/make_fixtures.py)";
  else if (!Array.isArray(ops) || !ops.every(isOpset)) why = "opsets is not a list of opsets 7-23";
  else if (ops.some((o) => o < min)) why = "opsets lists one below min_opset";
  else if (![min, 17, 23].every((o) => o < min || ops.includes(o)))
    why = "opsets lacks min_opset, 17 or 23";
  else if (!Array.isArray(shapes) || !shapes.every((s) => typeof s === "string"))
    why = "shapes is not a list of -s arguments";
  else if (!fs.existsSync(json.slice(0, -5) + ".pt")) why = "no " + name + ".pt beside it";
  else if (j.ort_max_opset !== undefined && !(isOpset(j.ort_max_opset) && j.ort_max_opset >= 17))
    why = "ort_max_opset is not an opset 17-23";
  if (why) { bad.push(name + "\t" + why); continue; }
  const sets = 1 + (Array.isArray(j.extra_sets) ? j.extra_sets.length : 0);
  // Above "ort_max_opset" ONNX Runtime has no kernels for an op the
  // fixture needs: the conversion must still succeed ("convert").
  const ortMax = j.ort_max_opset ?? 23;
  for (const o of [...new Set(ops)].sort((a, b) => a - b))
    job(o > ortMax ? "convert" : "check", name, json, o, min, sets, shapes);
  for (const o of [...new Set([7, min - 1])].filter((o) => o >= 7 && o < min))
    job("below", name, json, o, min, sets, shapes);
}
const lines = (a) => a.map((l) => l + "\n").join("");
fs.writeFileSync(path.join(out, "jobs"), lines(jobs));
fs.writeFileSync(path.join(out, "batch"), lines(batch));
fs.writeFileSync(path.join(out, "bad"), lines(bad));
'

# opsuite_run DIR OUT: converts and checks every fixture of DIR; leaves in
# OUT what PLAN_JS writes, results/INDEX.rc and .log of each job, and
# ort.out and checker.out (the checkers' output) with their .rc.
opsuite_run() {
    local dir=$1 out=$2 i kind name opset min sets json model rc
    mkdir -p "$out/models" || return
    node -e "$PLAN_JS" "$dir" "$out" || return

    convert_jobs "$out/batch" "$out/results" || return

    # Every model that converted, for both checkers at once (two cores).
    while IFS=$'\t' read -r i kind name opset min sets json model; do
        read -r rc < "$out/results/$i.rc"
        [ "$kind" = check ] && [ "$rc" = 0 ] && [ -s "$model" ] || continue
        printf '%s\t%s\t%s\n' "$model" "$json" "$name@opset$opset"
        [ "$opset" -gt "$CHECKER_MAX_OPSET" ] ||
            printf '%s\t%s\t%s\n' "$model" "$json" "$name@opset$opset" >&3
    done < "$out/jobs" > "$out/ort.manifest" 3> "$out/checker.manifest"
    run_manifest "$out/checker" "$PYTHON" "$ONNXCHECK" &
    run_manifest "$out/ort" node "$ORTCHECK"
    wait $!
}

setup_file() {
    export OPSUITE=$BATS_FILE_TMPDIR/opsuite
    opsuite_run "${OPS_FIXTURES:-$ROOT/testdata/ops}" "$OPSUITE"
}

# job_command INDEX: the pt2onnx command of job INDEX, as a shell would run it.
job_command() {
    printf '  $ %s %s\n' "$PT2ONNX" "$(sed -n "$1p" "$OPSUITE/batch")"
}

# read_checker BASE: fills the associative arrays RESULT (LABEL -> ok/FAIL)
# and DETAIL (LABEL -> the lines the checker printed for it) from BASE.out.
read_checker() {
    local line label='' re='^(ok|FAIL) ([^ :]+)'
    while IFS= read -r line; do
        if [[ $line =~ $re ]]; then
            label=${BASH_REMATCH[2]}
            RESULT[$label]=${BASH_REMATCH[1]}
            DETAIL[$label]=$line
        elif [ -n "$label" ] && [[ $line == "    "* ]]; then
            DETAIL[$label]+=$'\n'$line
        fi
    done < "$1.out"
}

# add_failure LABEL LINE...: records that LABEL (NAME@opsetN) failed, with
# the LINEs that explain it, in the caller's FAILED and MSG arrays.
add_failure() {
    local IFS=$'\n'
    FAILED+=("$1")
    shift
    MSG+=("$*")
}

# checker_failure BASE INDEX LABEL WHY: add_failure for job INDEX, whose
# model the checker of BASE (BASE.out, BASE.rc) did not pass: with the lines
# it printed for LABEL, or its whole output when it printed none.
checker_failure() {
    local base=$1 i=$2 label=$3 why=$4
    add_failure "$label" "${label/@opset/ at opset }: $why" "$(job_command "$i")" \
        "${DETAIL[$label]:-  (no result for $label, exit $(cat "$base.rc"):)$'\n'$(cat "$base.out")}"
}

# report_failures TITLE: fails when add_failure recorded anything, printing
# the first 20 failures in full (each can be long) and then one line naming
# every failing label.
report_failures() {
    [ "${#FAILED[@]}" -eq 0 ] && return 0
    local -a shown=("${MSG[@]:0:20}")
    [ "${#MSG[@]}" -le 20 ] || shown+=("... and $((${#MSG[@]} - 20)) more")
    fail "${shown[@]}" "$1: ${#FAILED[@]} failed: ${FAILED[*]}"
}

@test "every fixture is usable: its json lists its lowest opset, 17 and 23, its archive exists" {
    local name why n
    local -a msg=()
    while IFS=$'\t' read -r name why; do
        msg+=("$name: $why")
    done < "$OPSUITE/bad"
    [ "${#msg[@]}" -eq 0 ] || fail "${msg[@]}" "fixture jsons the suite cannot use: ${#msg[@]}"
    n=$(grep -c . "$OPSUITE/jobs")
    [ "$n" -gt 0 ] || fail "no fixtures in ${OPS_FIXTURES:-$ROOT/testdata/ops}"
}

@test "every fixture converts and matches PyTorch in ONNX Runtime at each of its opsets" {
    local i kind name opset min sets json model rc label n=0
    local -a MSG=() FAILED=()
    local -A RESULT=() DETAIL=()
    read_checker "$OPSUITE/ort"
    while IFS=$'\t' read -r i kind name opset min sets json model; do
        [ "$kind" = check ] || [ "$kind" = convert ] || continue
        n=$((n + 1))
        label=$name@opset$opset
        read -r rc < "$OPSUITE/results/$i.rc"
        if [ "$rc" -ne 0 ] || [ ! -s "$model" ]; then
            add_failure "$label" \
                "$name at opset $opset: pt2onnx exited $rc$([ -s "$model" ] || echo ', no output')" \
                "$(job_command "$i")" "$(sed 's/^/    /' "$OPSUITE/results/$i.log")"
        elif [ "$kind" = check ] && [ "${RESULT[$label]-}" != ok ]; then
            checker_failure "$OPSUITE/ort" "$i" "$label" "the ONNX Runtime check failed"
        fi
    done < "$OPSUITE/jobs"
    [ "$n" -gt 0 ] || fail "no conversions to check: see the first test"
    report_failures "conversions checked in ONNX Runtime: $n"
}

@test "the ONNX checker accepts every model at opsets <= 17" {
    local i kind name opset min sets json model rc label n=0
    local -a MSG=() FAILED=()
    local -A RESULT=() DETAIL=()
    read_checker "$OPSUITE/checker"
    while IFS=$'\t' read -r i kind name opset min sets json model; do
        [ "$kind" = check ] && [ "$opset" -le "$CHECKER_MAX_OPSET" ] || continue
        # A model that did not convert fails the test above.
        read -r rc < "$OPSUITE/results/$i.rc"
        [ "$rc" = 0 ] && [ -s "$model" ] || continue
        n=$((n + 1))
        label=$name@opset$opset
        if [ "${RESULT[$label]-}" != ok ]; then
            checker_failure "$OPSUITE/checker" "$i" "$label" "the ONNX checker rejects the model"
        fi
    done < "$OPSUITE/jobs"
    report_failures "models checked by the ONNX checker: $n"
}

@test "below a fixture's lowest opset: exit 4, 'needs opset N or later', no output" {
    local i kind name opset min sets json model rc
    local -a MSG=() FAILED=()
    while IFS=$'\t' read -r i kind name opset min sets json model; do
        [ "$kind" = below ] || continue
        read -r rc < "$OPSUITE/results/$i.rc"
        local log=$OPSUITE/results/$i.log why=''
        if [ "$rc" -ne 4 ]; then
            why="exit $rc, want 4"
        elif ! grep -q "needs opset $min or later" "$log"; then
            why="the error does not name opset $min"
        elif [ -e "$model" ]; then
            why="output left behind"
        fi
        if [ -n "$why" ]; then
            add_failure "$name@opset$opset" "$name at opset $opset (below min_opset $min): $why" \
                "$(job_command "$i")" "$(sed 's/^/    /' "$log")"
        fi
    done < "$OPSUITE/jobs"
    report_failures "conversions below min_opset"
}

@test "symbolic dims: every input set of each symbolic fixture matches, at each opset" {
    local i kind name opset min sets json model label n=0
    local -a MSG=() FAILED=()
    local -A RESULT=() DETAIL=()
    read_checker "$OPSUITE/ort"
    while IFS=$'\t' read -r i kind name opset min sets json model; do
        [ "$kind" = check ] && [ "$sets" -gt 1 ] || continue
        n=$((n + 1))
        label=$name@opset$opset
        # ortcheck.js counts the sets it ran: all of them, on one model.
        if [ "${RESULT[$label]-}" != ok ] || [[ ${DETAIL[$label]} != *", $sets input sets)" ]]; then
            add_failure "$label" "$name at opset $opset: not all $sets input sets matched" \
                "$(job_command "$i")" \
                "${DETAIL[$label]:-  (not converted or not checked: see the tests above)}"
        fi
    done < "$OPSUITE/jobs"
    [ "$n" -gt 0 ] || fail "no fixture has a second input set (extra_sets)"
    report_failures "symbolic fixtures checked: $n"
}
