#!/usr/bin/env bash
# opsuite_load.sh — time the data-driven per-op suite (tests/ops.bats) on a
# synthetic load: COUNT fixtures (copies of testdata/ops under new names,
# round robin) each tested at OPSETS opsets, in a temporary folder.
#
#   scripts/opsuite_load.sh [COUNT [OPSETS]]     default: 400 fixtures x 5 opsets
#
# Each copy keeps its archive, inputs, outputs and min_opset; its "opsets"
# become the first OPSETS of: min_opset, 17, 23, 13, 11, 21, 19, 15, 9 (those
# >= min_opset). Prints the number of conversions and the suite's wall time;
# exit status is the suite's. Needs build/pt2onnx (make all).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
count=${1:-400}
per=${2:-5}
[[ $count =~ ^[1-9][0-9]*$ && $per =~ ^[3-9]$ ]] ||
    { echo "usage: opsuite_load.sh [COUNT [OPSETS (3-9: min_opset, 17 and 23 at least)]]" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/opsuite-load.XXXXXX")
trap 'rm -rf "$dir"' EXIT

node -e '
const fs = require("fs"), path = require("path");
const [src, dst, count, per] = process.argv.slice(1);
const names = fs.readdirSync(src).filter((f) => f.endsWith(".json")).sort();
if (names.length === 0) throw new Error("no fixtures in " + src);
let checks = 0;
for (let k = 0; k < Number(count); k++) {
  const base = names[k % names.length].slice(0, -5);
  const name = `load${String(k).padStart(4, "0")}_${base}`;
  const j = JSON.parse(fs.readFileSync(path.join(src, base + ".json"), "utf8"));
  const want = [j.min_opset, 17, 23, 13, 11, 21, 19, 15, 9].filter((o) => o >= j.min_opset);
  j.name = name;
  j.opsets = [...new Set(want)].slice(0, Number(per)).sort((a, b) => a - b);
  checks += j.opsets.length;
  fs.writeFileSync(path.join(dst, name + ".json"), JSON.stringify(j));
  fs.copyFileSync(path.join(src, base + ".pt"), path.join(dst, name + ".pt"));
}
console.log(`opsuite_load: ${count} fixtures, ${checks} conversions to check (plus those below min_opset)`);
' "$root/testdata/ops" "$dir" "$count" "$per"

start=$EPOCHREALTIME
rc=0
# CPU seconds too: on a shared machine the wall time depends on the others.
OPS_FIXTURES=$dir /usr/bin/time -f 'opsuite_load: cpu user %U s, sys %S s' \
    bats --tap "$root/tests/ops.bats" || rc=$?
end=$EPOCHREALTIME
printf 'opsuite_load: %s fixtures x %s opsets: wall %.1f s (exit %d)\n' \
    "$count" "$per" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$rc"
exit "$rc"
