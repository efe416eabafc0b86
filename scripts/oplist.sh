#!/bin/bash
# oplist.sh [--check] [PT2ONNX] — the op lists of README.md and
# man/pt2onnx.1 come from the op table (lib/ops/ops.def) through
# `pt2onnx --list-ops`: this rewrites the section between the oplist:begin
# and oplist:end markers of each file, grouping ops by the opsets they
# convert at. With --check it changes nothing and exits 1 when a committed
# section differs from what the table gives (tests/cli.bats runs this).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
check=false
if [ "${1:-}" = --check ]; then
    check=true
    shift
fi
bin=${1:-$root/build/pt2onnx}
export LC_ALL=C

list=$("$bin" --list-ops)
[ -n "$list" ] || { echo "oplist.sh: $bin --list-ops printed nothing" >&2; exit 2; }

# "range<TAB>kind" lines, ranges in order of first appearance kept stable
# by sorting on (since, until), kinds in table order.
pairs=$(printf '%s\n' "$list" | awk '
    $2 != "opsets" || $3 !~ /^[0-9]+-[0-9]+$/ {
        print "oplist.sh: unexpected --list-ops line: " $0 > "/dev/stderr"; exit 2
    }
    { split($3, r, "-"); printf "%02d %02d\t%s\n", r[1], r[2], $1 }' |
    sort -s -t "$(printf '\t')" -k1,1)

# group DASH HEAD ITEM SEP TAIL: one group per opset range, as printf
# formats (taken as they are: pass real newlines): HEAD gets the range (its
# ends joined by DASH) and the first op, ITEM each further op after SEP,
# TAIL closes the group.
group() {
    printf '%s\n' "$pairs" | D=$1 H=$2 I=$3 S=$4 T=$5 awk -F '\t' '
        { split($1, r, " "); rng = (r[1] + 0) ENVIRON["D"] (r[2] + 0) }
        rng != prev { if (NR > 1) printf ENVIRON["T"]
                      printf ENVIRON["H"], rng, $2; prev = rng; next }
        { printf ENVIRON["S"]; printf ENVIRON["I"], $2 }
        END { printf ENVIRON["T"] }'
}

# README: one table row per opset range.
readme_section() {
    echo '| opsets | TorchScript ops |'
    echo '| --- | --- |'
    group '–' '| %s | `%s`' '`%s`' ', ' $' |\n'
}

# Man page: one tagged paragraph per opset range.
man_section() {
    group '\(en' $'.TP\n.B opsets %s\n%s' '%s' $',\n' $'\n'
}

# replace FILE CONTENT: FILE with the lines strictly between the line that
# holds "oplist:begin" and the one that holds "oplist:end" replaced by
# CONTENT; fails when the markers are missing.
replace() {
    local file=$1
    grep -q 'oplist:begin' "$file" && grep -q 'oplist:end' "$file" ||
        { echo "oplist.sh: $file has no oplist markers" >&2; return 2; }
    C=$2 awk '
        index($0, "oplist:begin") { print; print ENVIRON["C"]; skip = 1; next }
        index($0, "oplist:end") { skip = 0 }
        !skip' "$file"
}

status=0
for spec in "README.md readme_section" "man/pt2onnx.1 man_section"; do
    read -r file fn <<< "$spec"
    new=$(replace "$root/$file" "$($fn)") || exit 2
    if $check; then
        if [ "$new" != "$(cat "$root/$file")" ]; then
            echo "oplist.sh: the op list in $file differs from the op table;" \
                "run scripts/oplist.sh" >&2
            diff <(cat "$root/$file") <(printf '%s\n' "$new") >&2 || true
            status=1
        fi
    else
        printf '%s\n' "$new" > "$root/$file.tmp" && mv "$root/$file.tmp" "$root/$file"
    fi
done
exit $status
