#!/usr/bin/env bats
# Whole torchvision networks (random weights, made by scripts/make_models.py
# into build/models/ the first time), converted and checked against PyTorch
# with ONNX Runtime (rtol 1e-3, atol 1e-4, from the fixtures) and, at opsets
# <= 17, with the ONNX checker. resnet18 and vgg11 are traced archives,
# resnet50 and mobilenet_v2 scripted ones, at opset 17. The op-coverage
# architectures are made both ways and checked at opsets 13, 17 and 23; the
# segmentation networks (which return a dict) as a trace of their "out".

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

# check_opsets NAME: the model at opsets 13, 17 and 23.
check_opsets() {
    local o
    for o in 13 17 23; do
        convert_and_check "$MODELS_DIR/$1.json" "$o" || return
    done
}

@test "efficientnet_b0 (traced) at opsets 13, 17, 23" {
    check_opsets efficientnet_b0_traced
}

@test "efficientnet_b0 (scripted) at opsets 13, 17, 23" {
    check_opsets efficientnet_b0_scripted
}

@test "mobilenet_v3_large (traced) at opsets 13, 17, 23" {
    check_opsets mobilenet_v3_large_traced
}

@test "mobilenet_v3_large (scripted) at opsets 13, 17, 23" {
    check_opsets mobilenet_v3_large_scripted
}

@test "regnet_y_400mf (traced) at opsets 13, 17, 23" {
    check_opsets regnet_y_400mf_traced
}

@test "regnet_y_400mf (scripted) at opsets 13, 17, 23" {
    check_opsets regnet_y_400mf_scripted
}

@test "convnext_tiny (traced) at opsets 13, 17, 23" {
    check_opsets convnext_tiny_traced
}

@test "convnext_tiny (scripted) at opsets 13, 17, 23" {
    check_opsets convnext_tiny_scripted
}

@test "shufflenet_v2_x1_0 (traced) at opsets 13, 17, 23" {
    check_opsets shufflenet_v2_x1_0_traced
}

@test "shufflenet_v2_x1_0 (scripted) at opsets 13, 17, 23" {
    check_opsets shufflenet_v2_x1_0_scripted
}

@test "swin_t (traced) at opsets 13, 17, 23" {
    check_opsets swin_t_traced
}

@test "swin_t (scripted) at opsets 13, 17, 23" {
    check_opsets swin_t_scripted
}

@test "vit_b_16 (traced) at opsets 13, 17, 23" {
    check_opsets vit_b_16_traced
}

@test "vit_b_16 (scripted) at opsets 13, 17, 23" {
    check_opsets vit_b_16_scripted
}

@test "fcn_resnet50 (traced \"out\") at opsets 13, 17, 23" {
    check_opsets fcn_resnet50_out
}

@test "deeplabv3_mobilenet_v3_large (traced \"out\") at opsets 13, 17, 23" {
    check_opsets deeplabv3_mobilenet_v3_large_out
}

@test "lraspp_mobilenet_v3_large (traced \"out\") at opsets 13, 17, 23" {
    check_opsets lraspp_mobilenet_v3_large_out
}
