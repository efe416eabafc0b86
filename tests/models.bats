#!/usr/bin/env bats
# Whole torchvision networks (random weights, made by scripts/make_models.py
# into build/models/ the first time), converted and checked against PyTorch
# with ONNX Runtime (tolerances from the fixtures) and, at opsets <= 17, with
# the ONNX checker. resnet18 and vgg11 are traced archives, resnet50 and
# mobilenet_v2 scripted ones, at opset 17. The op-coverage architectures
# are made both ways and checked at opsets 13, 17 and 23; the segmentation
# networks (which return a dict) as a trace of their "out".
#
# setup_file does the work in bulk (model_suite_run, tests/helpers.bash),
# and each @test reads the results of its model (model_ok).

load helpers

# NAME OPSET...: what each @test checks.
MODEL_PLAN='
resnet18 17
mobilenet_v2 17
resnet50 17
vgg11 17
efficientnet_b0_traced 13 17 23
efficientnet_b0_scripted 13 17 23
mobilenet_v3_large_traced 13 17 23
mobilenet_v3_large_scripted 13 17 23
regnet_y_400mf_traced 13 17 23
regnet_y_400mf_scripted 13 17 23
convnext_tiny_traced 13 17 23
convnext_tiny_scripted 13 17 23
shufflenet_v2_x1_0_traced 13 17 23
shufflenet_v2_x1_0_scripted 13 17 23
swin_t_traced 13 17 23
swin_t_scripted 13 17 23
vit_b_16_traced 13 17 23
vit_b_16_scripted 13 17 23
fcn_resnet50_out 13 17 23
deeplabv3_mobilenet_v3_large_out 13 17 23
lraspp_mobilenet_v3_large_out 13 17 23
'

setup_file() {
    set -o pipefail
    /usr/bin/python3 "$ROOT/scripts/make_models.py" "$MODELS_DIR" | sed "s/^/# /" >&3
    model_suite_run "$MODELS_DIR" "$MODEL_PLAN" "$BATS_FILE_TMPDIR/msuite"
}

setup() {
    require_pt2onnx
}

@test "resnet18 (traced) at opset 17" { model_ok resnet18; }
@test "mobilenet_v2 (scripted) at opset 17" { model_ok mobilenet_v2; }
@test "resnet50 (scripted) at opset 17" { model_ok resnet50; }
@test "vgg11 (traced, 507 MiB of weights) at opset 17" { model_ok vgg11; }
@test "efficientnet_b0 (traced) at opsets 13, 17, 23" { model_ok efficientnet_b0_traced; }
@test "efficientnet_b0 (scripted) at opsets 13, 17, 23" { model_ok efficientnet_b0_scripted; }
@test "mobilenet_v3_large (traced) at opsets 13, 17, 23" { model_ok mobilenet_v3_large_traced; }
@test "mobilenet_v3_large (scripted) at opsets 13, 17, 23" { model_ok mobilenet_v3_large_scripted; }
@test "regnet_y_400mf (traced) at opsets 13, 17, 23" { model_ok regnet_y_400mf_traced; }
@test "regnet_y_400mf (scripted) at opsets 13, 17, 23" { model_ok regnet_y_400mf_scripted; }
@test "convnext_tiny (traced) at opsets 13, 17, 23" { model_ok convnext_tiny_traced; }
@test "convnext_tiny (scripted) at opsets 13, 17, 23" { model_ok convnext_tiny_scripted; }
@test "shufflenet_v2_x1_0 (traced) at opsets 13, 17, 23" { model_ok shufflenet_v2_x1_0_traced; }
@test "shufflenet_v2_x1_0 (scripted) at opsets 13, 17, 23" { model_ok shufflenet_v2_x1_0_scripted; }
@test "swin_t (traced) at opsets 13, 17, 23" { model_ok swin_t_traced; }
@test "swin_t (scripted) at opsets 13, 17, 23" { model_ok swin_t_scripted; }
@test "vit_b_16 (traced) at opsets 13, 17, 23" { model_ok vit_b_16_traced; }
@test "vit_b_16 (scripted) at opsets 13, 17, 23" { model_ok vit_b_16_scripted; }
@test "fcn_resnet50 (traced \"out\") at opsets 13, 17, 23" { model_ok fcn_resnet50_out; }
@test "deeplabv3_mobilenet_v3_large (traced \"out\") at opsets 13, 17, 23" {
    model_ok deeplabv3_mobilenet_v3_large_out
}
@test "lraspp_mobilenet_v3_large (traced \"out\") at opsets 13, 17, 23" {
    model_ok lraspp_mobilenet_v3_large_out
}
