#!/usr/bin/env bats
# torchvision models saved by PyTorch 2.6 (scripts/make_v2_fixtures.py
# --big), converted by this build over Debian 12's libtorch 1.13 and
# checked against PyTorch 2.6's own outputs in ONNX Runtime (and the ONNX
# checker at <= 17).
#
# They are made into build/v2models by `make v2-models` (a Debian 13 chroot
# with PyTorch 2.6, built by debootstrap on first use: root and Debian's
# archive needed); setup_file makes them when they are missing. Not part of
# `make test` (the chroot and the models take ~20 minutes to make): run it
# with `make test-v2models`. The small models, committed in
# testdata/v2/models, are checked by tests/v2.bats.

load ../helpers

V2_MODELS=${V2_MODELS:-$ROOT/build/v2models}

setup_file() {
    if [ ! -s "$V2_MODELS/swin_t.json" ]; then
        make -C "$ROOT" --no-print-directory v2-models 2>&1 | tail -5 | sed "s/^/# /" >&3
    fi
}

setup() {
    require_pt2onnx
}

# at_opsets JSON: convert_and_check at each opset the fixture lists (14,
# 17 and 23 for these).
at_opsets() {
    local o opsets
    # read, not require(): require() takes a relative path for a module name
    opsets=$(node -e 'const fs = require("fs");
        console.log(JSON.parse(fs.readFileSync(process.argv[1], "utf8")).opsets.join(" "))' "$1") ||
        fail "$1: no opsets" || return
    [ -n "$opsets" ] || fail "$1: no opsets" || return
    for o in $opsets; do
        convert_and_check "$1" "$o" || return
    done
}

@test "torchvision resnet18 (PyTorch 2.6, traced) at each opset it lists" {
    at_opsets "$V2_MODELS/resnet18.json"
}
@test "torchvision mobilenet_v3_large at each opset it lists" {
    at_opsets "$V2_MODELS/mobilenet_v3_large.json"
}
@test "torchvision efficientnet_b0 at each opset it lists" {
    at_opsets "$V2_MODELS/efficientnet_b0.json"
}
@test "torchvision vit_b_16 at each opset it lists" {
    at_opsets "$V2_MODELS/vit_b_16.json"
}
@test "torchvision swin_t at each opset it lists" {
    at_opsets "$V2_MODELS/swin_t.json"
}
