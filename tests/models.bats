#!/usr/bin/env bats
# Whole torchvision networks (random weights, made by scripts/make_models.py
# into build/models/ the first time), converted and checked against PyTorch
# with ONNX Runtime (tolerances from the fixtures) and, at opsets <= 17, with
# the ONNX checker. resnet18 and vgg11 are traced archives, resnet50 and
# mobilenet_v2 scripted ones, at opset 17. The op-coverage architectures
# are made both ways and checked at opsets 13, 17 and 23; the segmentation
# networks (which return a dict) as a trace of their "out".
#
# As in tests/ops.bats, setup_file does the work in bulk: one --batch run
# converts every model at every opset (libtorch is loaded once), then one
# ONNX Runtime process and one checker process check everything, side by
# side. Each @test below reads the results of its model. The ONNX files are
# deleted once checked (they add up to several GiB).

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
    export MSUITE=$BATS_FILE_TMPDIR/msuite
    local name o i=0 s json model
    local -a args
    mkdir -p "$MSUITE/onnx" || return
    : > "$MSUITE/batch"
    : > "$MSUITE/jobs"
    while read -r name opsets; do
        [ -n "$name" ] || continue
        json=$MODELS_DIR/$name.json
        for o in $opsets; do
            i=$((i + 1))
            model=$MSUITE/onnx/$name.opset$o.onnx
            args=("$MODELS_DIR/$name.pt" -o "$model" --opset "$o")
            while IFS= read -r s; do
                args+=(-s "$s")
            done < <(shapes_args "$json")
            args+=(-q)
            printf '%q ' "${args[@]}" >> "$MSUITE/batch"
            echo >> "$MSUITE/batch"
            printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$name" "$o" "$json" "$model" >> "$MSUITE/jobs"
        done
    done <<< "$MODEL_PLAN"

    convert_jobs "$MSUITE/batch" "$MSUITE/results" || return
    while IFS=$'\t' read -r i name o json model; do
        [ "$(cat "$MSUITE/results/$i.rc")" = 0 ] && [ -s "$model" ] || continue
        printf '%s\t%s\t%s\n' "$model" "$json" "$name@opset$o"
        [ "$o" -gt "$CHECKER_MAX_OPSET" ] ||
            printf '%s\t%s\t%s\n' "$model" "$json" "$name@opset$o" >&3
    done < "$MSUITE/jobs" > "$MSUITE/ort.manifest" 3> "$MSUITE/checker.manifest"
    run_manifest "$MSUITE/checker" "$PYTHON" "$ONNXCHECK" &
    run_manifest "$MSUITE/ort" node "$ORTCHECK"
    wait $!
    rm -rf "$MSUITE/onnx"
}

setup() {
    require_pt2onnx
}

# checked_line BASE LABEL: the line checker BASE printed for LABEL, or
# nothing.
checked_line() {
    grep -E "^(ok|FAIL) $2($|[: ])" "$1.out" | head -n 1
}

# model_ok NAME: NAME converted at each opset of its plan, ONNX Runtime
# matched PyTorch, and the ONNX checker passed at opsets <= 17.
model_ok() {
    local i name o json model rc line n=0
    local -a msg=()
    while IFS=$'\t' read -r i name o json model; do
        [ "$name" = "$1" ] || continue
        n=$((n + 1))
        read -r rc < "$MSUITE/results/$i.rc"
        if [ "$rc" != 0 ]; then
            msg+=("$name at opset $o: pt2onnx exited $rc" \
                "  \$ $PT2ONNX $(sed -n "${i}p" "$MSUITE/batch")" \
                "$(sed 's/^/    /' "$MSUITE/results/$i.log")")
            continue
        fi
        line=$(checked_line "$MSUITE/ort" "$name@opset$o")
        if [[ $line != ok* ]]; then
            msg+=("$name at opset $o: the ONNX Runtime check failed" \
                "${line:-  (no result; ortcheck exited $(cat "$MSUITE/ort.rc"))}" \
                "$(sed -n "/^FAIL $name@opset$o:/,/^[^ ]/{/^    /p}" "$MSUITE/ort.out")")
        fi
        if [ "$o" -le "$CHECKER_MAX_OPSET" ]; then
            line=$(checked_line "$MSUITE/checker" "$name@opset$o")
            [[ $line == ok* ]] || msg+=("$name at opset $o: the ONNX checker failed" \
                "${line:-  (no result; onnxcheck exited $(cat "$MSUITE/checker.rc"))}")
        fi
    done < "$MSUITE/jobs"
    [ "$n" -gt 0 ] || fail "model_ok: $1 is not in MODEL_PLAN" || return
    [ "${#msg[@]}" -eq 0 ] || fail "${msg[@]}"
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
