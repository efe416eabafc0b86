#!/usr/bin/env bats
# Whole torchvision networks (random weights, made by scripts/make_models.py
# into build/models/ the first time), converted at opset 17 and checked
# against PyTorch with ONNX Runtime (rtol 1e-3, atol 1e-4, from the fixtures)
# and with the ONNX checker. resnet18 and vgg11 are traced archives,
# resnet50 and mobilenet_v2 scripted ones.

load helpers

setup_file() {
    set -o pipefail
    /usr/bin/python3 "$ROOT/scripts/make_models.py" "$MODELS_DIR" | sed "s/^/# /" >&3
}

setup() {
    require_pt2onnx
}

@test "resnet18 (traced) at opset 17" {
    convert_and_check "$MODELS_DIR/resnet18.json" 17
}

@test "mobilenet_v2 (scripted) at opset 17" {
    convert_and_check "$MODELS_DIR/mobilenet_v2.json" 17
}

@test "resnet50 (scripted) at opset 17" {
    convert_and_check "$MODELS_DIR/resnet50.json" 17
}

@test "vgg11 (traced, 507 MiB of weights) at opset 17" {
    convert_and_check "$MODELS_DIR/vgg11.json" 17
}
