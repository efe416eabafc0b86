#!/bin/sh
# v2chroot.sh CHROOT ARGS... — runs scripts/make_v2_fixtures.py ARGS under
# the PyTorch 2.x of CHROOT (a Debian 13 made by `make v2-fixtures` or `make v2-zoo`), with
# this checkout's scripts/ copied in and the output copied back out.
# The last argument is the output folder, relative to the checkout or
# absolute. V2_SCRIPT names another script of scripts/ to run the same
# way. Needs root (chroot, mount).
set -eu
root=$1
shift
eval "out=\${$#}"
# A folder of this run's own: two runs may share the chroot.
work=$root/work/pt2onnx.$$
rm -rf "$work"
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
chroot "$root" python3 "/work/pt2onnx.$$/scripts/${V2_SCRIPT:-make_v2_fixtures.py}" "$@" \
    "/work/pt2onnx.$$/out" || status=$?
[ -z "$mounted" ] || umount "$root/proc"
[ "$status" -eq 0 ] && cp -r "$work/out/." "$out/"
rm -rf "$work"
exit "$status"
