#!/usr/bin/env bats
# Models saved by PyTorch 2.6 (scripts/make_v2_fixtures.py), converted by
# this build over Debian 12's libtorch 1.13 and checked against PyTorch
# 2.6's own outputs in ONNX Runtime (and the ONNX checker at <= 17).
#
# The small ones are committed in testdata/v2/models. The torchvision ones
# are made into build/v2models by `make v2-models` (a Debian 13 chroot with
# PyTorch 2.6, built by debootstrap on first use: root and Debian's archive
# needed); setup_file makes them when they are missing. Not part of
# `make test` (the chroot and the models take ~20 minutes to make): run it
# with `make test-v2models`.

load ../helpers

V2M=$ROOT/testdata/v2/models
V2_MODELS=${V2_MODELS:-$ROOT/build/v2models}

setup_file() {
    if [ ! -s "$V2_MODELS/swin_t.json" ]; then
        make -C "$ROOT" --no-print-directory v2-models 2>&1 | tail -5 | sed "s/^/# /" >&3
    fi
}

setup() {
    require_pt2onnx
}

# at_opsets JSON: convert_and_check at each opset the fixture lists.
at_opsets() {
    local o
    for o in $(node -e 'console.log(require(process.argv[1]).opsets.join(" "))' "$1"); do
        convert_and_check "$1" "$o" || return
    done
}

@test "nn.MultiheadAttention, traced" { at_opsets "$V2M/mha.json"; }
@test "nn.MultiheadAttention, scripted" { at_opsets "$V2M/mha_script.json"; }
@test "nn.TransformerEncoder, traced" { at_opsets "$V2M/transformer_encoder.json"; }
@test "nn.TransformerEncoder, traced under no_grad" {
    at_opsets "$V2M/transformer_encoder_nograd.json"
}
@test "GPT-style decoder, F.scaled_dot_product_attention(is_causal=True)" {
    at_opsets "$V2M/gpt.json"
}
@test "BERT-style encoder with a padding mask" { at_opsets "$V2M/bert.json"; }
@test "LSTM, two layers, batch_first" { at_opsets "$V2M/lstm.json"; }
@test "small CNN" { at_opsets "$V2M/cnn.json"; }

@test "torchvision resnet18 (PyTorch 2.6, traced) at opset 17" {
    convert_and_check "$V2_MODELS/resnet18.json" 17
}
@test "torchvision mobilenet_v3_large at opset 17" {
    convert_and_check "$V2_MODELS/mobilenet_v3_large.json" 17
}
@test "torchvision efficientnet_b0 at opset 17" {
    convert_and_check "$V2_MODELS/efficientnet_b0.json" 17
}
@test "torchvision vit_b_16 at opset 17" {
    convert_and_check "$V2_MODELS/vit_b_16.json" 17
}
@test "torchvision swin_t at opset 17" {
    convert_and_check "$V2_MODELS/swin_t.json" 17
}
