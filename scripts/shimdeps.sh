#!/bin/sh
# shimdeps.sh SHIM: the shared libraries SHIM loads (absolute paths, as the
# dynamic linker resolves them), each listed after every one it needs.
#
# lib/shimload.c opens them in this order before the shim itself. Opened
# by one dlopen, the ~290 libraries of Debian's libtorch would each resolve
# their symbols in one search list of all of them (every lookup walks up to
# 290 objects; ~0.1 s a run). Opened leaves first, each library resolves
# its own symbols in the short list of what it needs. The list is an
# optimisation only: a stale or missing one changes nothing but the time.
set -eu
so=$1
# "soname => /path (0x...)" lines; "not found" and the loader itself skipped.
ldd "$so" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
while read -r name path; do
	printf '%s %s' "$name" "$path"
	readelf -dW "$path" | awk '/\(NEEDED\)/ { n = $NF; gsub(/[][]/, "", n); printf " %s", n }'
	printf '\n'
done | awk -v top="$(readelf -dW "$so" | awk '/\(NEEDED\)/ { n = $NF; gsub(/[][]/, "", n); printf "%s ", n }')" '
	{ path[$1] = $2; deps[$1] = ""; for (i = 3; i <= NF; i++) deps[$1] = deps[$1] " " $i }
	# Depth first; a library is printed once all it needs is.
	function visit(name,    k, n, d) {
		if (!(name in path) || (name in seen))
			return
		seen[name] = 1
		n = split(deps[name], d, " ")
		for (k = 1; k <= n; k++)
			visit(d[k])
		print path[name]
	}
	END { n = split(top, t, " "); for (k = 1; k <= n; k++) visit(t[k]) }'
