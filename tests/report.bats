#!/usr/bin/env bats
# --report FILE: the JSON account of a conversion, on success and on each
# kind of failure. Every report made here is validated against
# docs/report.schema.json (scripts/check_report.py), then its key fields
# are checked against the files and the model themselves. Also: progress
# on a terminal (through script(1)'s pseudo-terminal).

load helpers

ERRORS=$ROOT/testdata/errors
CHECK_REPORT=$ROOT/scripts/check_report.py

setup() {
    require_pt2onnx
    cd "$BATS_TEST_TMPDIR" || return
}

# valid REPORT...: each report is valid against the schema.
valid() {
    local out
    out=$("$PYTHON" "$CHECK_REPORT" "$@" 2>&1) || fail "invalid report:" "$out"
}

# check REPORT PYTHON: run the Python statements with the report as `r`
# (and `json`, `os`, `hashlib`, `onnx` importable); an AssertionError
# fails the test with its message.
check() {
    local out
    out=$("$PYTHON" - "$1" <<EOF_PY 2>&1
import hashlib, json, os, sys
r = json.load(open(sys.argv[1]))
def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()
def diag(op):
    ds = [d for d in r["diagnostics"] if d["op"] == op]
    assert len(ds) == 1, (op, r["diagnostics"])
    return ds[0]
$2
EOF_PY
) || fail "$1:" "$out"
}

# reported WANT REPORT ARGS...: run pt2onnx ARGS --report REPORT, stderr
# apart; fail unless it exits WANT and REPORT is valid.
reported() {
    local want=$1 rep=$2
    run --separate-stderr "$PT2ONNX" "${@:3}" --report "$rep"
    [ "$status" -eq "$want" ] || fail "exit $status, want $want" "$stderr" || return
    valid "$rep"
}

@test "success: files with size and sha256, options, opset, graph, op counts, weights, timings" {
    reported 0 r.json "$TINYNET" -o m.onnx -s batchx3x32x32
    # sha256 against coreutils' (the report's is pt2onnx's own code).
    local in_sum out_sum
    in_sum=$(sha256sum "$TINYNET" | cut -d' ' -f1)
    out_sum=$(sha256sum m.onnx | cut -d' ' -f1)
    check r.json "
assert r['input']['sha256'] == '$in_sum', r['input']
assert r['output']['sha256'] == '$out_sum', r['output']
assert r['input']['size'] == os.path.getsize('$TINYNET')
assert r['output']['size'] == os.path.getsize('m.onnx')
assert r['output']['path'] == 'm.onnx' and r['output']['external_data'] == []
assert r['status'] == {'exit': 0, 'ok': True, 'stage': None, 'code': None,
                       'message': None, 'fix': None}, r['status']
assert r['exit_status'] == 0 and r['diagnostics'] == []
assert r['tool']['name'] == 'pt2onnx' and r['tool']['libtorch']
o = r['options']
assert o['opset'] == 17 and o['input_shapes'] == ['batchx3x32x32:float32'], o
assert o['report'] == 'r.json' and o['output'] == 'm.onnx', o
import onnx
m = onnx.load('m.onnx')
assert r['opset'] == 17 == m.opset_import[0].version
assert r['ir_version'] == m.ir_version
# Node counts, in all and by type, are the model's.
assert r['onnx']['nodes'] == len(m.graph.node), (r['onnx'], len(m.graph.node))
by_type = {}
for n in m.graph.node:
    by_type[n.op_type] = by_type.get(n.op_type, 0) + 1
assert {o['op_type']: o['count'] for o in r['onnx']['ops']} == by_type
# The symbolic dim keeps its name, in the report as in the model.
assert r['graph']['inputs'] == [{'name': 'x', 'dtype': 'float32',
                                 'dims': ['batch', 3, 32, 32]}], r['graph']
assert r['graph']['outputs'][0]['dims'] == ['batch', 10], r['graph']
# How each TorchScript kind converted.
ops = {o['kind']: o for o in r['torchscript']['ops']}
assert ops['aten::conv2d'] == {'kind': 'aten::conv2d', 'count': 2,
                               'handler': 'conv', 'onnx': ['Conv']}, ops
assert ops['aten::linear']['onnx'] == ['Gemm']
assert ops['aten::dropout']['onnx'] == []  # gone in eval mode
assert r['torchscript']['nodes'] == sum(o['count'] for o in ops.values())
# Weights: the model's initializers.
w = r['weights']
assert w['count'] == len(m.graph.initializer), w
nbytes = sum(len(t.raw_data) for t in m.graph.initializer)
assert w['bytes'] == nbytes, (w, nbytes)
assert w['dtypes'] == [{'dtype': 'float32', 'count': w['count'], 'bytes': nbytes}]
t = r['timings']
assert all(t[k] >= 0 for k in ('libtorch', 'load', 'freeze', 'convert', 'write')), t
assert t['peak_rss_bytes'] > 10 << 20, t
"
}

@test "--report - writes the report to stdout; -o - with --report - is a usage error" {
    run --separate-stderr "$PT2ONNX" "$TINYNET" -o m.onnx -s 1x3x32x32 --report - -q
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ -z "$stderr" ] || fail "stderr with -q:" "$stderr"
    printf '%s\n' "$output" > out.json
    valid out.json
    check out.json "assert r['output']['sha256'] == sha('m.onnx')"

    run --separate-stderr "$PT2ONNX" "$TINYNET" -o - -s 1x3x32x32 --report -
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [ -z "$output" ] || fail "stdout:" "$output"
    [[ $stderr == "pt2onnx: error: --report - and -o - both want standard output"* ]] ||
        fail "$stderr"
}

@test "unsupported ops: each op with its count, every source line, and the opset that converts it" {
    reported 4 r.json "$ERRORS/unsupported.pt" -o m.onnx -s 1x2x6x6 --opset 9
    [ ! -e m.onnx ] || fail "an output was written"
    check r.json "
s = r['status']
assert s['exit'] == 4 and not s['ok'] and s['stage'] == 'convert', s
assert s['code'] == 'unsupported' and '3 problems (4 nodes)' in s['message'], s
assert '--opset 10' in s['fix'], s
assert r['exit_status'] == 4 and r['opset'] == 9
assert r['output']['size'] is None and r['output']['sha256'] is None
lg = diag('aten::lgamma')
assert lg['count'] == 2 and lg['severity'] == 'error', lg
assert lg['code'] == 'unsupported' and lg['code_number'] == 7, lg
# Both occurrences, each at its own line of the script that made it.
assert len(lg['sources']) == 2 and len(set(lg['sources'])) == 2, lg
assert all('make_fixtures.py:' in x for x in lg['sources']), lg
assert lg['min_opset'] is None, lg
dg = diag('aten::digamma')
assert dg['count'] == 1 and len(dg['sources']) == 1, dg
mp = diag('aten::max_pool2d')
assert mp['min_opset'] == 10 and 'ceil_mode' in mp['message'], mp
assert len(mp['sources']) == 1, mp
# The model loaded: its ops are counted, the unconverted ones too.
ops = {o['kind']: o for o in r['torchscript']['ops']}
assert ops['aten::lgamma']['count'] == 2 and ops['aten::lgamma']['handler'] is None
assert r['onnx']['nodes'] == 0
"
}

@test "an argument that must be constant: the report names it" {
    # flatten(x, int(d.sum())): start_dim comes from a tensor's value.
    reported 4 r.json "$ERRORS/runtime_dim.pt" -o m.onnx -s 2x3x4 -s 1:int64
    check r.json "
d = diag('aten::flatten')
assert d['argument'] == 'start_dim' and d['min_opset'] is None, d
assert r['status']['message'] == d['message'], r['status']
assert [i['dtype'] for i in r['graph']['inputs']] == ['float32', 'int64'], r['graph']
"
}

@test "a worker that dies: the supervisor writes the report" {
    "$PT2ONNX" "$TINYNET" -o m.onnx -s 1x3x32x32 --report r.json 2>err.txt &
    local pid=$! worker='' i
    # The worker is the command's child; it spends a second or more
    # loading libtorch and the model.
    for ((i = 0; i < 200; i++)); do
        worker=$(pgrep -P "$pid" || true)
        [ -z "$worker" ] || break
        sleep 0.02
    done
    [ -n "$worker" ] || fail "no worker seen"
    kill -SEGV "$worker"
    local st=0
    wait "$pid" || st=$?
    [ "$st" -eq 3 ] || [ "$st" -eq 1 ] || fail "exit $st" "$(cat err.txt)"
    valid r.json
    check r.json "
s = r['status']
assert s['stage'] == 'worker' and s['exit'] == $st and not s['ok'], s
assert 'Segmentation fault' in s['message'], s
assert r['diagnostics'][0]['message'] == s['message']
assert r['input']['sha256'] == sha('$TINYNET') and r['output']['size'] is None
"
    [ ! -e m.onnx ] || fail "an output was written"
}

@test "bad archive: the report says what failed, where and what would fix it" {
    printf 'not a zip archive\n' > bad.pt
    reported 3 r.json bad.pt -o m.onnx -s 1x3
    check r.json "
s = r['status']
assert s['stage'] == 'load' and s['code'] == 'model' and s['exit'] == 3, s
assert 'not a TorchScript archive' in s['message'] and 'torch.jit.save' in s['fix'], s
assert r['input'] == {'path': 'bad.pt', 'size': 18, 'sha256': sha('bad.pt')}, r['input']
d = r['diagnostics']
assert len(d) == 1 and d[0]['code'] == 'model' and d[0]['op'] is None, d
assert r['opset'] is None and r['torchscript']['nodes'] == 0
assert r['timings']['convert'] is None and r['timings']['load'] >= 0
"
}

@test "write failures: a missing output folder (found before converting), a full device" {
    reported 5 r.json "$TINYNET" -o nodir/m.onnx -s 1x3x32x32
    check r.json "
s = r['status']
assert s['stage'] == 'output' and s['code'] == 'output' and s['exit'] == 5, s
assert 'nodir' in s['message'] and '-o' in s['fix'], s
assert r['diagnostics'][0]['message'] == s['message']
assert r['input']['sha256'] == sha('$TINYNET')
"
    [ -w /dev/full ] || skip "no /dev/full"
    reported 5 r2.json "$TINYNET" -o /dev/full -s 1x3x32x32
    check r2.json "
s = r['status']
assert s['stage'] == 'write' and s['code'] == 'output', s
assert r['output']['sha256'] is None and r['timings']['write'] >= 0
assert r['onnx']['nodes'] > 0  # converted before the write failed
"
}

@test "a report that cannot be written stops the run before it starts; nor may it be the output" {
    run --separate-stderr "$PT2ONNX" "$TINYNET" -o m.onnx -s 1x3x32x32 --report nodir/r.json
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    [[ $stderr == "pt2onnx: error: --report: "*nodir* ]] || fail "$stderr"
    [ ! -e m.onnx ] || fail "converted anyway"
    run --separate-stderr "$PT2ONNX" "$TINYNET" -o m.onnx -s 1x3x32x32 --report ./m.onnx
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"is the output too"* ]] || fail "$stderr"
}

@test "batch: each line's own --report; a failed line gets one too; shared or whole-batch reports refused" {
    printf 'nope\n' > bad.pt
    # Files of sizes around SHA-256's block edges, each hashed in its report.
    local n lines=()
    for n in 0 1 55 56 63 64 65 119 120 128 1000; do
        head -c "$n" /dev/urandom > "z$n.pt"
        lines+=("z$n.pt -o z$n.onnx --report z$n.json")
    done
    printf '%s\n' "$TINYNET -o a.onnx --report a.json" "bad.pt -o b.onnx --report b.json" \
        "${lines[@]}" > jobs.txt
    run --separate-stderr "$PT2ONNX" --batch jobs.txt -s 1x3x32x32 -j 2 -q
    [ "$status" -eq 3 ] || fail "exit $status, want 3" "$stderr"
    valid a.json b.json z*.json
    check a.json "assert r['status']['ok'] and r['options']['batch_line'] == 1, r['options']"
    check b.json "assert r['status']['code'] == 'model' and r['options']['batch_line'] == 2"
    for n in 0 1 55 56 63 64 65 119 120 128 1000; do
        check "z$n.json" "assert r['input']['sha256'] == '$(sha256sum "z$n.pt" | cut -d' ' -f1)', r['input']"
    done

    printf '%s\n' "$TINYNET -o a.onnx --report same.json" "$TINYNET -o b.onnx --report same.json" > two.txt
    run --separate-stderr "$PT2ONNX" --batch two.txt -s 1x3x32x32
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"two.txt:2: pt2onnx: error: 'same.json' (its --report file) is line 1's --report file too"* ]] ||
        fail "$stderr"
    run --separate-stderr "$PT2ONNX" --batch two.txt --report x.json
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"give each batch line its own --report FILE"* ]] || fail "$stderr"
    printf '%s\n' "$TINYNET -o a.onnx --report -" > dash.txt
    run --separate-stderr "$PT2ONNX" --batch dash.txt -s 1x3x32x32
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [[ $stderr == *"--report - cannot be used in a batch"* ]] || fail "$stderr"
}

# on_tty CMD...: run CMD with a pseudo-terminal as its terminal (script(1));
# $output is what the terminal received.
on_tty() {
    command -v script >/dev/null || skip "no script(1) (util-linux)"
    run script -qfec "$(printf '%q ' "$@")" /dev/null
}

@test "progress: on a terminal once the conversion has run long enough; never with -q or off a terminal" {
    # PT2ONNX_PROGRESS_DELAY_MS (tests only) stands for the second a
    # conversion must take before its progress shows.
    on_tty env PT2ONNX_PROGRESS_DELAY_MS=0 "$PT2ONNX" "$TINYNET" -o m.onnx -s 1x3x32x32
    [ "$status" -eq 0 ] || fail "exit $status" "$output"
    [[ $output == *$'\r'"pt2onnx: loading..."* ]] || fail "no loading stage:" "$(printf %q "$output")"
    [[ $output == *$'\r'"pt2onnx: converting 0/"*" nodes"* ]] ||
        fail "no converting N/M nodes:" "$(printf %q "$output")"
    [[ $output == *$'\r\e[K'"pt2onnx: wrote m.onnx"* ]] ||
        fail "progress line not cleared before the summary:" "$(printf %q "$output")"
    # A conversion quicker than the delay shows none.
    on_tty env PT2ONNX_PROGRESS_DELAY_MS=600000 "$PT2ONNX" "$TINYNET" -o m.onnx -s 1x3x32x32
    [ "$status" -eq 0 ] || fail "exit $status" "$output"
    [[ $output != *loading* && $output != *$'\r\e[K'* ]] || fail "progress shown:" "$(printf %q "$output")"
    on_tty env PT2ONNX_PROGRESS_DELAY_MS=0 "$PT2ONNX" "$TINYNET" -o m.onnx -s 1x3x32x32 -q
    [ "$status" -eq 0 ] || fail "exit $status" "$output"
    [ -z "$output" ] || fail "output with -q:" "$(printf %q "$output")"
    # stderr not a terminal: no progress (stdout may be one).
    on_tty sh -c 'PT2ONNX_PROGRESS_DELAY_MS=0 "$0" "$1" -o m.onnx -s 1x3x32x32 2>err.txt' \
        "$PT2ONNX" "$TINYNET"
    [ "$status" -eq 0 ] || fail "exit $status" "$output"
    [[ $(cat err.txt) == "pt2onnx: wrote m.onnx"* ]] || fail "stderr:" "$(od -c err.txt | head)"
    [[ $(cat err.txt) != *$'\r'* ]] || fail "progress off a terminal:" "$(od -c err.txt | head)"
}

@test "--external-data: the report lists the data file (path, size, sha256) and the option" {
    reported 0 r.json "$TINYNET" -o m.onnx -s 1x3x32x32 --external-data=w.bin
    [ -s w.bin ] || fail "no w.bin"
    local sum
    sum=$(sha256sum w.bin | cut -d' ' -f1)
    check r.json "
ext = r['output']['external_data']
assert len(ext) == 1, ext
assert os.path.basename(ext[0]['path']) == 'w.bin', ext
assert ext[0]['size'] == os.path.getsize('w.bin'), ext
assert ext[0]['sha256'] == '$sum', ext
assert r['options']['external_data'] == 'w.bin', r['options']
"
    reported 0 r2.json "$TINYNET" -o m2.onnx -s 1x3x32x32
    check r2.json "
assert r['output']['external_data'] == [], r['output']
assert r['options']['external_data'] is False, r['options']
"
}
