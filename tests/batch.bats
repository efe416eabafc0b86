#!/usr/bin/env bats
# --batch FILE and -j N: many conversions in one run, each job isolated in
# its own worker; one result line per job on stdout ("LINE ok OUTPUT",
# "LINE exit=N OUTPUT"), each job's messages on stderr prefixed "FILE:LINE: ",
# the exit status the highest of the jobs'.

load helpers

OPS=$ROOT/testdata/ops
ERRORS=$ROOT/testdata/errors

setup() {
    require_pt2onnx
    # Outputs go to a folder of their own (bats keeps files in the test's).
    W=$BATS_TEST_TMPDIR/w
    mkdir "$W"
    cd "$W"
}

# job FIXTURE OUTPUT [ARGS...]: print a batch line converting
# testdata/ops/FIXTURE.pt with its fixture's shapes into OUTPUT.
job() {
    local name=$1 out=$2 s
    shift 2
    printf '%q -o %q' "$OPS/$name.pt" "$out"
    while IFS= read -r s; do
        printf ' -s %q' "$s"
    done < <(shapes_args "$OPS/$name.json")
    [ $# -eq 0 ] || printf ' %q' "$@"
    printf '\n'
}

# check_ort FIXTURE MODEL: ONNX Runtime on MODEL matches PyTorch.
check_ort() {
    node "$ORTCHECK" "$2" "$OPS/$1.json" ||
        fail "ONNX Runtime check of $2 ($1) failed"
}

@test "mixed results: one line per job, messages prefixed, worst status" {
    {
        echo '# converts, then fails in each way a job can'
        echo
        job addmm addmm.onnx
        printf '%q -o uns.onnx -s 1x2x6x6 --opset 9\n' "$ERRORS/unsupported.pt"
        echo "$W/missing.pt -o missing.onnx"
        job relu relu.onnx --opset 99
        job relu relu.onnx
    } > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt
    [ "$status" -eq 4 ] || fail "exit $status, want 4 (the highest)" "$stderr"
    [ "${#lines[@]}" -eq 5 ] || fail "want 5 result lines" "$output"
    [ "${lines[0]}" = "3 ok addmm.onnx" ] || fail "${lines[0]}"
    [ "${lines[1]}" = "4 exit=4 uns.onnx" ] || fail "${lines[1]}"
    [ "${lines[2]}" = "5 exit=3 missing.onnx" ] || fail "${lines[2]}"
    [ "${lines[3]}" = "6 exit=2 relu.onnx" ] || fail "${lines[3]}"
    [ "${lines[4]}" = "7 ok relu.onnx" ] || fail "${lines[4]}"
    # Every stderr line belongs to a job, and each job says its own.
    local l
    for l in "${stderr_lines[@]}"; do
        [[ $l == jobs.txt:[34567]:* ]] || fail "unprefixed stderr line: $l"
    done
    [[ $stderr == *"jobs.txt:3: pt2onnx: wrote addmm.onnx"* ]] || fail "$stderr"
    [[ $stderr == *"jobs.txt:4: pt2onnx: error: "*"3 problems"* ]] || fail "$stderr"
    [[ $stderr == *"jobs.txt:4:   aten::lgamma (x2"* ]] || fail "$stderr"
    [[ $stderr == *"jobs.txt:5: pt2onnx: error: cannot open model '$W/missing.pt'"* ]] || fail "$stderr"
    [[ $stderr == *"jobs.txt:6: pt2onnx: error: --opset 99"* ]] || fail "$stderr"
    [ ! -e uns.onnx ] && [ ! -e missing.onnx ] || fail "failed jobs wrote output"
    check_ort addmm addmm.onnx
    check_ort relu relu.onnx
}

@test "a job that crashes libtorch is that job's exit 3; the others go on" {
    {
        job relu a.onnx
        # Passes every check of the shim, then crashes libtorch's
        # TorchScript parser (found by the archive fuzzer).
        echo "$ROOT/testdata/hostile/fuzz-load1-crash02-crcfixed.pt -o crash.onnx -s 1x3x6x6"
        job relu6 b.onnx
    } > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt -j 2 -q
    [ "$status" -eq 3 ] || fail "exit $status, want 3" "$stderr"
    [ "$output" = $'1 ok a.onnx\n2 exit=3 crash.onnx\n3 ok b.onnx' ] || fail "$output"
    [[ $stderr == "jobs.txt:2: pt2onnx: error: model '$ROOT/testdata/hostile/fuzz-load1-crash02-crcfixed.pt': libtorch crashed reading it"* ]] ||
        fail "$stderr"
    # One line: what the dying worker printed is replaced by the verdict.
    [ "$(grep -c '^jobs.txt:2:' <<< "$stderr")" -eq 1 ] || fail "$stderr"
    [ ! -e crash.onnx ] || fail "crashed job left its output"
    [ -z "$(ls -A | grep -v -e '^jobs.txt$' -e '^a.onnx$' -e '^b.onnx$')" ] ||
        fail "files left behind: $(ls -A)"
    check_ort relu a.onnx
    check_ort relu6 b.onnx
}

@test "quoting: spaces, single and double quotes, backslashes" {
    mkdir "dir with space"
    cp "$OPS/relu.pt" "dir with space/it's \"q\".pt"
    local s
    s=$(shapes_args "$OPS/relu.json")
    {
        printf '%s\n' "'dir with space/it'\\''s \"q\".pt' -o \"dir with space/o \\\"1\\\".onnx\" -s $s"
        printf '%s\n' "dir\\ with\\ space/it\\'s\\ \\\"q\\\".pt -o 'dir with space/o2.onnx' -s $s"
        printf '\t  %s\n' "\"dir with space/it's \\\"q\\\".pt\" -o dir\\ with\\ space/o3.onnx -s $s"
    } > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt -q
    [ "$status" -eq 0 ] || fail "exit $status" "$(cat jobs.txt)" "$stderr"
    [ "$output" = $'1 ok dir with space/o "1".onnx\n2 ok dir with space/o2.onnx\n3 ok dir with space/o3.onnx' ] ||
        fail "$output"
    cmp "dir with space/o \"1\".onnx" "dir with space/o2.onnx"
    cmp "dir with space/o2.onnx" "dir with space/o3.onnx"
    check_ort relu "dir with space/o2.onnx"
}

@test "a malformed line stops the batch before any job, naming the line" {
    local bad
    for bad in "x.pt -o 'open" 'x.pt -o "open' 'x.pt -o end\' \
        "x.pt --batch other.txt" "x.pt -j 2" "x.pt --help"; do
        { job relu first.onnx; echo "$bad"; } > jobs.txt
        run --separate-stderr "$PT2ONNX" --batch jobs.txt
        [ "$status" -eq 2 ] || fail "[$bad]: exit $status, want 2" "$stderr"
        [ -z "$output" ] || fail "[$bad]: no job should run" "$output"
        [[ $stderr == "jobs.txt:2: pt2onnx: error: "* ]] || fail "[$bad]: $stderr"
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "[$bad]: one line" "$stderr"
        [ ! -e first.onnx ] || fail "[$bad]: a job ran"
    done
}

@test "two jobs with one output file: exit 2, nothing written" {
    mkdir sub
    { job relu out.onnx; job relu6 other.onnx; job hardtanh sub/../out.onnx; } > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [ -z "$output" ] || fail "no job should run" "$output"
    [ "$stderr" = "jobs.txt:3: pt2onnx: error: output 'sub/../out.onnx' is the output of line 1 too" ] ||
        fail "$stderr"
    [ ! -e out.onnx ] && [ ! -e other.onnx ] || fail "a job ran"
    # The same existing file under two names (a hard link).
    echo old > a.onnx
    ln a.onnx b.onnx
    { job relu a.onnx; job relu6 b.onnx; } > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"output 'b.onnx' is the output of line 1 too"* ]] || fail "$stderr"
    [ "$(cat a.onnx)" = old ] || fail "a.onnx was written"
    # A character device is no file to lose: jobs may share /dev/null.
    { job relu /dev/null; job relu6 /dev/null; } > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt -q
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ "$output" = $'1 ok /dev/null\n2 ok /dev/null' ] || fail "$output"
}

@test "--batch - reads standard input; command-line options apply to every job" {
    { job relu r.onnx; job relu6 s.onnx; } > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch - --opset 11 -q < jobs.txt
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ "$output" = $'1 ok r.onnx\n2 ok s.onnx' ] || fail "$output"
    [ -z "$stderr" ] || fail "-q applies to the jobs" "$stderr"
    # --opset 11 from the command line: IR version 6 in both models.
    local f
    for f in r.onnx s.onnx; do
        [ "$(node -e '
            const b = require("fs").readFileSync(process.argv[1]);
            // ir_version is field 1 (varint): the first two bytes.
            console.log(b[0] === 0x08 ? b[1] : -1)' "$f")" = 6 ] ||
            fail "$f: not opset 11 (IR 6)"
    done
    check_ort relu r.onnx
    check_ort relu6 s.onnx
    # A line's own option wins over the command line's.
    job relu r17.onnx --opset 17 > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch - --opset 11 -q < jobs.txt
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ "$(node -e 'console.log(require("fs").readFileSync(process.argv[1])[1])' r17.onnx)" = 8 ] ||
        fail "r17.onnx: the line's --opset 17 should win"
}

@test "-j 2 writes the same bytes as -j 1, over many fixtures, repeatedly" {
    local json name n=0 round
    for json in "$OPS"/*.json; do
        name=${json##*/}
        name=${name%.json}
        job "$name" "j1/$name.onnx" >> jobs1.txt
        job "$name" "j2/$name.onnx" >> jobs2.txt
        n=$((n + 1))
        [ "$n" -lt 24 ] || break
    done
    mkdir j1 j2
    run --separate-stderr "$PT2ONNX" --batch jobs1.txt -q -j 1
    local st1=$status out1=${output//j1\//}
    for round in 1 2 3; do
        rm -f j2/*
        run --separate-stderr "$PT2ONNX" --batch jobs2.txt -q -j 2
        [ "$status" -eq "$st1" ] || fail "round $round: exit $status, -j 1 gave $st1" "$stderr"
        [ "${output//j2\//}" = "$out1" ] || fail "round $round: results differ" "$output" "$out1"
        for f in j1/*.onnx; do
            cmp "$f" "j2/${f#j1/}" || fail "round $round: ${f#j1/} differs"
        done
    done
    [ "$(ls j2 | wc -l)" -eq "$(grep -c ' ok ' <<< "$out1")" ] ||
        fail "outputs vs ok lines" "$(ls j2)" "$out1"
    [ "$(grep -c ' ok ' <<< "$out1")" -ge 20 ] || fail "too few conversions succeeded" "$out1"
}

@test "--batch usage errors: a MODEL beside it, -j without it, bad -j, no file" {
    run --separate-stderr "$PT2ONNX" --batch jobs.txt "$OPS/relu.pt"
    [ "$status" -eq 2 ] && [[ $stderr == *"--batch"* ]] || fail "$status $stderr"
    run --separate-stderr "$PT2ONNX" "$OPS/relu.pt" -j 2
    [ "$status" -eq 2 ] && [[ $stderr == *"-j"*"--batch"* ]] || fail "$status $stderr"
    touch jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt -j 0
    [ "$status" -eq 2 ] && [[ $stderr == *"-j"* ]] || fail "$status $stderr"
    run --separate-stderr "$PT2ONNX" --batch nonexistent.txt
    [ "$status" -eq 2 ] && [[ $stderr == *"nonexistent.txt"* ]] || fail "$status $stderr"
    # -o - would mix a model into the result lines.
    job relu - > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt
    [ "$status" -eq 2 ] && [ "$output" = "1 exit=2 -" ] || fail "$status $output"
    [[ $stderr == "jobs.txt:1: "*"-o -"* ]] || fail "$stderr"
    # An empty batch converts nothing, successfully.
    : > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt
    [ "$status" -eq 0 ] && [ -z "$output" ] || fail "$status $output"
}
