#!/usr/bin/env bats
# Where the model goes: what pt2onnx does to the path it is given matters as
# much as the model it writes, since it runs as root in CI jobs and
# Makefiles. Devices and FIFOs are written in place (never replaced by a
# regular file), symlinks are followed, the model itself is never the
# output, existing files keep their permission bits, and a failure (no
# space, a signal) leaves the old file as it was and nothing beside it.

load helpers

setup_file() {
    # A model whose writing takes a noticeable moment (~50 MiB of weights),
    # for the fault tests.
    export BIG=$BATS_FILE_TMPDIR/big.pt
    make_big_pt "$BIG"
}

setup() {
    scratch_setup
}

teardown() {
    scratch_teardown
}

tiny() {
    "$PT2ONNX" "$TINYNET" -s 1x3x32x32 -q "$@"
}

@test "-o /dev/null converts and /dev/null stays a character device" {
    run --separate-stderr tiny -o /dev/null
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ -c /dev/null ] || fail "/dev/null is no longer a device: $(ls -l /dev/null)"
    [ "$(stat -c %t,%T /dev/null)" = "1,3" ] || fail "$(ls -l /dev/null)"
    only
}

@test "-o /dev/full: exit 5, no space left, and /dev/full stays a device" {
    run --separate-stderr tiny -o /dev/full
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    [[ $stderr == "pt2onnx: error: cannot write output '/dev/full': "*"No space left on device" ]] ||
        fail "$stderr"
    [ -c /dev/full ] || fail "/dev/full is no longer a device"
}

@test "a FIFO is written in place: the reader gets the whole model" {
    tiny -o "$D/ref.onnx"
    mkfifo "$D/pipe"
    cat "$D/pipe" > "$BATS_TEST_TMPDIR/read.onnx" &
    local reader=$!
    run --separate-stderr tiny -o "$D/pipe"
    wait "$reader"
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ -p "$D/pipe" ] || fail "the FIFO was replaced: $(ls -l "$D/pipe")"
    cmp "$D/ref.onnx" "$BATS_TEST_TMPDIR/read.onnx" || fail "the reader got other bytes"
}

@test "-o /dev/stdout into a file: written in place, same inode" {
    printf 'old\n' > "$D/out.onnx"
    local ino
    ino=$(stat -c %i "$D/out.onnx")
    tiny -o /dev/stdout > "$D/out.onnx"
    [ "$(stat -c %i "$D/out.onnx")" = "$ino" ] || fail "the file was replaced"
    tiny -o "$D/ref.onnx"
    cmp "$D/ref.onnx" "$D/out.onnx"
}

@test "a symlink is followed: the target is replaced, the link stays" {
    mkdir "$D/real"
    printf 'old\n' > "$D/real/model.onnx"
    chmod 640 "$D/real/model.onnx"
    ln -s real/model.onnx "$D/link.onnx"
    run --separate-stderr tiny -o "$D/link.onnx"
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ -L "$D/link.onnx" ] || fail "the link was replaced: $(ls -l "$D")"
    [ "$(readlink "$D/link.onnx")" = real/model.onnx ] || fail "link changed"
    tiny -o "$BATS_TEST_TMPDIR/ref.onnx"
    cmp "$BATS_TEST_TMPDIR/ref.onnx" "$D/real/model.onnx" || fail "target not written"
    [ "$(stat -c %a "$D/real/model.onnx")" = 640 ] ||
        fail "mode $(stat -c %a "$D/real/model.onnx"), want 640"
    [ "$(ls -A "$D/real")" = model.onnx ] || fail "left in real/: $(ls -A "$D/real")"
    only link.onnx real
}

@test "a dangling symlink: its target is created, the link stays" {
    mkdir "$D/sub"
    ln -s sub/new.onnx "$D/link.onnx"
    run --separate-stderr tiny -o "$D/link.onnx"
    [ "$status" -eq 0 ] || fail "exit $status" "$stderr"
    [ -L "$D/link.onnx" ] && [ -s "$D/sub/new.onnx" ] || fail "$(ls -lR "$D")"
}

@test "a symlink loop: exit 5 naming the path" {
    ln -s b "$D/a"
    ln -s a "$D/b"
    run --separate-stderr tiny -o "$D/a"
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    [[ $stderr == *"'$D/a'"* ]] || fail "$stderr"
    only a b
}

@test "output equal to the input (path, symlink, hard link): exit 2, nothing written" {
    cp "$TINYNET" "$D/m.pt"
    ln -s m.pt "$D/sym.pt"
    ln "$D/m.pt" "$D/hard.pt"
    local before out
    before=$(file_sum "$D/m.pt")
    for out in "$D/m.pt" "$D/sym.pt" "$D/hard.pt" "$D/../d/m.pt"; do
        run --separate-stderr "$PT2ONNX" "$D/m.pt" -s 1x3x32x32 -o "$out"
        [ "$status" -eq 2 ] || fail "-o $out: exit $status, want 2" "$stderr"
        [[ $stderr == *"is the model being converted"* ]] || fail "$stderr"
    done
    # The model given through a link, the output as the plain path.
    run --separate-stderr "$PT2ONNX" "$D/sym.pt" -s 1x3x32x32 -o "$D/m.pt"
    [ "$status" -eq 2 ] || fail "exit $status, want 2" "$stderr"
    [ "$(file_sum "$D/m.pt")" = "$before" ] || fail "the model was changed"
    only m.pt sym.pt hard.pt
}

@test "an existing file keeps its permission bits" {
    local mode
    for mode in 600 644 755 640; do
        printf 'old\n' > "$D/out.onnx"
        chmod "$mode" "$D/out.onnx"
        tiny -o "$D/out.onnx"
        [ "$(stat -c %a "$D/out.onnx")" = "$mode" ] ||
            fail "mode $(stat -c %a "$D/out.onnx"), want $mode"
        [ "$(head -c 3 "$D/out.onnx")" != old ] || fail "not replaced"
    done
    # A new file gets the umask's bits.
    (umask 027 && tiny -o "$D/new.onnx")
    [ "$(stat -c %a "$D/new.onnx")" = 640 ] || fail "new file mode $(stat -c %a "$D/new.onnx")"
}

@test "output folder missing, or a socket: exit 5 with the path and the reason" {
    run --separate-stderr tiny -o "$D/missing/out.onnx"
    [ "$status" -eq 5 ] || fail "exit $status" "$stderr"
    [[ $stderr == *"'$D/missing/out.onnx'"*"folder '$D/missing' does not exist"* ]] || fail "$stderr"
    "$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$D/sock"
    run --separate-stderr tiny -o "$D/sock"
    [ "$status" -eq 5 ] || fail "exit $status" "$stderr"
    [[ $stderr == *"'$D/sock': it is a socket"* ]] || fail "$stderr"
    [ -S "$D/sock" ] || fail "the socket was replaced"
}

@test "a read-only folder: exit 5 (read-only mount, and a user without write access)" {
    MNT=$BATS_TEST_TMPDIR/ro
    mkdir -p "$MNT"
    mount -t tmpfs -o ro,size=1m tmpfs "$MNT" || fail "cannot mount a tmpfs (CI runs as root)"
    run --separate-stderr tiny -o "$MNT/out.onnx"
    [ "$status" -eq 5 ] || fail "exit $status" "$stderr"
    [[ $stderr == *"'$MNT/out.onnx'"*"not writable (Read-only file system)"* ]] || fail "$stderr"
    umount "$MNT"
    # As an unprivileged user, a folder without write permission (in a
    # folder of its own that the user can reach, with a model it can read).
    local pub
    pub=$(mktemp -d /tmp/pt2onnx-test.XXXXXX)
    chmod 755 "$pub"
    cp "$TINYNET" "$pub/m.pt"
    chmod 644 "$pub/m.pt"
    mkdir "$pub/locked"
    chmod 555 "$pub/locked"
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$PT2ONNX" "$pub/m.pt" -s 1x3x32x32 -o "$pub/locked/out.onnx"
    rm -rf "$pub"
    [ "$status" -eq 5 ] || fail "exit $status" "$stderr"
    [[ $stderr == *"not writable (Permission denied)"* ]] || fail "$stderr"
}

@test "no space left on the output's file system: exit 5, old file kept, no temporary file" {
    MNT=$BATS_TEST_TMPDIR/small
    mkdir -p "$MNT"
    mount -t tmpfs -o size=256k tmpfs "$MNT" || fail "cannot mount a tmpfs (CI runs as root)"
    printf 'old model\n' > "$MNT/out.onnx"
    run --separate-stderr "$PT2ONNX" "$BIG" -s 4x2048 -o "$MNT/out.onnx"
    [ "$status" -eq 5 ] || fail "exit $status, want 5" "$stderr"
    [[ $stderr == *"'$MNT/out.onnx'"*"No space left on device"* ]] || fail "$stderr"
    [ "$(cat "$MNT/out.onnx")" = "old model" ] || fail "the old file was changed"
    [ "$(ls -A "$MNT")" = out.onnx ] || fail "left behind: $(ls -A "$MNT")"
}

@test "SIGINT/SIGTERM at random moments: old file or the whole new one, never a temporary file" {
    local ref=$BATS_TEST_TMPDIR/ref.onnx i stopped
    "$PT2ONNX" "$BIG" -s 4x2048 -o "$ref" -q
    for i in $(seq 1 12); do
        printf 'old model\n' > "$D/out.onnx"
        stop_at_random "$i" "$BIG" -s 4x2048 -o "$D/out.onnx" -q
        if [ "$(head -c 9 "$D/out.onnx")" != "old model" ]; then
            cmp -s "$ref" "$D/out.onnx" || fail "$stopped: a partial model"
        fi
        only out.onnx
        [ -z "$(ls "$D" | grep -i core)" ] || fail "a core file"
    done
}

@test "-o - into a pipe closed early: exit 0 or SIGPIPE, never a core or a message" {
    local i rc
    for i in 1 2 3; do
        set +o pipefail
        "$PT2ONNX" "$BIG" -s 4x2048 -o - -q 2> "$BATS_TEST_TMPDIR/err" | head -c 100 > /dev/null
        rc=${PIPESTATUS[0]}
        case $rc in
            0|141) ;;
            *) fail "exit $rc" "$(cat "$BATS_TEST_TMPDIR/err")" ;;
        esac
        [ ! -s "$BATS_TEST_TMPDIR/err" ] || fail "stderr: $(cat "$BATS_TEST_TMPDIR/err")"
    done
    only
}
