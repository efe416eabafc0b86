#!/usr/bin/env bash
# The command-line corpus (tests/fuzz/cmdlines.txt): one command line per
# line, its arguments separated by TABs, after the program name. Blank
# lines and lines starting with '#' are skipped. Inside an argument, \xHH
# and the other escapes of printf's %b stand for bytes a text file cannot
# hold well. The model is always `model.pt` (the harness and the replay
# test put one in the scratch folder).
#
#   cmdline_corpus.sh split FILE DIR   one seed file per line for afl-fuzz:
#                                      the arguments, NUL-separated
#   cmdline_corpus.sh args FILE N      print line N's arguments, one per
#                                      line, NUL-terminated (for mapfile -d '')
set -euo pipefail

lines() {
    grep -v -e '^#' -e '^[[:space:]]*$' "$1" || true
}

case ${1:-} in
split)
    file=$2 dir=$3 n=0
    mkdir -p "$dir"
    while IFS= read -r line; do
        n=$((n + 1))
        IFS=$'\t' read -r -a args <<<"$line"
        for a in "${args[@]}"; do printf '%b\0' "$a"; done >"$dir/line$n"
    done < <(lines "$file")
    ;;
args)
    line=$(lines "$2" | sed -n "$3p")
    IFS=$'\t' read -r -a args <<<"$line"
    for a in "${args[@]}"; do printf '%b\0' "$a"; done
    ;;
count)
    lines "$2" | wc -l
    ;;
*)
    echo "usage: $0 split FILE DIR | args FILE N | count FILE" >&2
    exit 2
    ;;
esac
