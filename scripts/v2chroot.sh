#!/bin/sh
# v2chroot.sh CHROOT ARGS... — runs scripts/make_v2_fixtures.py ARGS under
# the PyTorch 2.x of CHROOT (a Debian 13 made by `make v2-models`), with
# this checkout's scripts/ copied in and the output copied back out.
# The last argument is the output folder, relative to the checkout or
# absolute. Needs root (chroot, mount).
set -eu
root=$1
shift
eval "out=\${$#}"
# A folder of its own inside the chroot: others may share the chroot.
mkdir -p "$root/work"
work=$(mktemp -d "$root/work/pt2onnx.XXXXXX")
inner=/work/${work##*/}
mkdir -p "$work/out" "$out"
cp -r scripts "$work/scripts"
# torch reads /proc (CPU count, memory); mounted for the run only.
mounted=
if ! mountpoint -q "$root/proc"; then
    mount -t proc proc "$root/proc"
    mounted=1
fi
status=0
# Every argument but the last as given, the output inside the chroot.
n=$#
i=0
for a in "$@"; do
    i=$((i + 1))
    [ "$i" -lt "$n" ] && set -- "$@" "$a"
done
shift "$n"
chroot "$root" python3 "$inner/scripts/make_v2_fixtures.py" "$@" \
    "$inner/out" || status=$?
[ -z "$mounted" ] || umount "$root/proc"
[ "$status" -eq 0 ] && cp -r "$work/out/." "$out/"
rm -rf "$work"
exit "$status"
