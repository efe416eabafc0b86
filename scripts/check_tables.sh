#!/bin/sh
# check_tables.sh [OPS_DEF [ONNX_OPS_DEF]] — checks the two X-macro tables
# the converter's lookups rely on, at build time (the Makefile runs it before
# compiling them): lib/ops/ops.def sorted by kind (byte order), then since,
# no two rows of one kind and since, opsets within 7-23; lib/onnx_ops.def
# sorted by op with no duplicates, versions ascending within 1-23, at most
# 10 per row (the size of the C array that holds them). Exit 1 with one line
# per problem, naming the file and line.
set -eu
ops=${1:-lib/ops/ops.def}
onnx=${2:-lib/onnx_ops.def}
export LC_ALL=C

awk -v f="$ops" '
/^P2O_(OP|BLOCK)\(/ {
    if (!match($0, /^P2O_(OP|BLOCK)\("[^"]+", *[0-9]+ *(, *[A-Za-z_][A-Za-z_0-9]*)?\)$/)) {
        printf "%s:%d: malformed row: %s\n", f, NR, $0; bad = 1; next
    }
    s = $0; sub(/^[^"]*"/, "", s); kind = s; sub(/".*/, "", kind)
    sub(/^[^"]*", */, "", s); since = s + 0
    if ((/^P2O_OP\(/ && s !~ /^[0-9]+ *, *[A-Za-z_]/) || (/^P2O_BLOCK\(/ && s !~ /^[0-9]+ *\)/)) {
        printf "%s:%d: malformed row: %s\n", f, NR, $0; bad = 1; next
    }
    if (since < 7 || since > 23) {
        printf "%s:%d: opset %d outside 7-23\n", f, NR, since; bad = 1
    }
    if (n && (kind < pk || (kind == pk && since <= ps))) {
        printf "%s:%d: %s (opset %d) is out of order or a duplicate (after %s, opset %d)\n", f, NR, kind, since, pk, ps
        bad = 1
    }
    pk = kind; ps = since; n++
    next
}
/^P2O_/ { printf "%s:%d: unknown row: %s\n", f, NR, $0; bad = 1 }
END { if (!n) { printf "%s: no rows\n", f; bad = 1 } exit bad }
' "$ops" || st=1

awk -v f="$onnx" '
/^P2O_ONNX\(/ {
    if (!match($0, /^P2O_ONNX\([A-Za-z][A-Za-z0-9]*, *[A-Za-z_][A-Za-z_0-9]*(, *-?[0-9]+)+\)$/)) {
        printf "%s:%d: malformed row: %s\n", f, NR, $0; bad = 1; next
    }
    s = $0; sub(/^P2O_ONNX\(/, "", s); sub(/\)$/, "", s)
    k = split(s, a, / *, */); op = a[1]
    if (n && op <= pop) {
        printf "%s:%d: %s is out of order or a duplicate (after %s)\n", f, NR, op, pop; bad = 1
    }
    if (k - 2 > 10) { printf "%s:%d: %s: more than 10 versions\n", f, NR, op; bad = 1 }
    prev = 0
    for (i = 3; i <= k; i++) {
        v = a[i] + 0; av = v < 0 ? -v : v
        if (av < 1 || av > 23 || av <= prev || (v < 0 && i != k)) {
            printf "%s:%d: %s: bad version list\n", f, NR, op; bad = 1; break
        }
        prev = av
    }
    pop = op; n++
    next
}
/^P2O_/ { printf "%s:%d: unknown row: %s\n", f, NR, $0; bad = 1 }
END { if (!n) { printf "%s: no rows\n", f; bad = 1 } exit bad }
' "$onnx" || st=1

exit "${st:-0}"
