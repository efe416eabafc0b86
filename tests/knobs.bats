#!/usr/bin/env bats
# The export options (torch.onnx.export's parameters): each one's effect on
# the model, checked structurally (scripts/knobs_models.py info) and, where
# the model runs deterministically, in ONNX Runtime against PyTorch.

load helpers

KM=$ROOT/scripts/knobs_models.py

setup_file() {
    # One torch start for the suite's models (see knobs_models.py).
    M=$BATS_FILE_TMPDIR/m
    export M
    "$PYTHON" "$ROOT/scripts/knobs_models.py" make "$M"
}

setup() {
    require_pt2onnx
    cd "$BATS_TEST_TMPDIR"
}

# conv ARCHIVE OUT [ARGS...]: convert with the models' input shape.
conv() {
    local pt=$1 out=$2
    shift 2
    run -0 "$PT2ONNX" "$M/$pt" -o "$out" -s 2x3x8x8 -q "$@"
}

# info MODEL: the model's summary into $INFO (JSON).
info() {
    INFO=$("$PYTHON" "$KM" info "$1") || fail "info $1 failed"
}

# q EXPR: EXPR (JavaScript, over `m` = $INFO) printed.
q() {
    node -e 'const m = JSON.parse(process.argv[1]); console.log(eval(process.argv[2]))' \
        "$INFO" "$1"
}

# ort MODEL NAME [eval|train]: ONNX Runtime's output of MODEL (info'd
# last) matches PyTorch's of NAME.pt in that mode (default eval). MODEL is
# fed x, then each weight input from the state_dict by its name (inputs
# that are initializers too need no feeding).
ort() {
    node -e '
        const fs = require("fs");
        const [info, ref, mode] = [JSON.parse(process.argv[1]),
            JSON.parse(fs.readFileSync(process.argv[2], "utf8")), process.argv[3]];
        const inputs = [ref.x].concat(info.inputs.slice(1)
            .filter(n => !info.initializers.includes(n)).map(n => ref.state[n]));
        fs.writeFileSync("fix.json", JSON.stringify({ inputs, outputs: [ref[mode]],
            rtol: 1e-4, atol: 1e-5 }));
    ' "$INFO" "$M/$2.ref.json" "${3:-eval}" || fail "no fixture for $1"
    run node "$ORTCHECK" "$1" fix.json
    [ "$status" -eq 0 ] || fail "$output"
}

@test "default: weights are initializers, the model matches PyTorch" {
    conv net.pt a.onnx
    info a.onnx
    [ "$(q 'm.inputs.join(",")')" = x ]
    [ "$(q 'm.producer_name')" = pt2onnx ]
    ort a.onnx net
}

@test "--no-export-params: weights are inputs named and ordered as state_dict" {
    conv net.pt a.onnx --no-export-params
    info a.onnx
    # Every parameter and buffer the graph reads (num_batches_tracked is
    # not read), in state_dict order; no weight is left an initializer.
    local want
    want=$(node -e '
        const ref = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        console.log(["x"].concat(Object.keys(ref.state)
            .filter(k => !k.endsWith("num_batches_tracked"))).join(","));
    ' "$M/net.ref.json")
    [ "$(q 'm.inputs.join(",")')" = "$want" ] ||
        fail "inputs: $(q 'm.inputs.join(",")')" "want:   $want"
    [ "$(q 'm.initializers.filter(n => n.includes("weight")).length')" = 0 ]
    # Batch norm is not folded into the convolution: its weights are inputs.
    [ "$(q 'm.ops.BatchNormalization')" = 1 ]
    ort a.onnx net
}

@test "--keep-initializers-as-inputs: every initializer is an input too" {
    conv net.pt a.onnx --keep-initializers-as-inputs
    info a.onnx
    [ "$(q 'm.initializers.every(n => m.inputs.includes(n))')" = true ]
    [ "$(q 'm.inputs.length')" = "$(q 'm.initializers.length + 1')" ]
    [ "$(q 'm.ir_version')" = 8 ]
    run -0 "$PYTHON" "$ONNXCHECK" a.onnx
    ort a.onnx net
}

@test "constant folding: a Cast of a constant folds, equal initializers merge" {
    conv net.pt on.onnx
    conv net.pt off.onnx --no-constant-folding
    info on.onnx
    local on_nodes=$(q 'm.nodes') on_cast=$(q 'm.ops.Cast || 0')
    local on_init=$(q 'm.initializers.length')
    local merged=$(q '["self.scale", "self.shift"].filter(n => m.initializers.includes(n)).length')
    info off.onnx
    [ "$on_cast" = 0 ]
    [ "$(q 'm.ops.Cast')" = 1 ]
    [ "$on_nodes" -eq "$(($(q 'm.nodes') - 1))" ]
    # scale and shift hold the same numbers: one initializer with folding.
    [ "$merged" = 1 ]
    [ "$(q '["self.scale", "self.shift"].filter(n => m.initializers.includes(n)).length')" = 2 ]
    [ "$on_init" -lt "$(q 'm.initializers.length')" ]
    ort off.onnx net
    info on.onnx
    ort on.onnx net
}

@test "constant folding keeps symbolic shape arithmetic" {
    run -0 "$PT2ONNX" "$M/net.pt" -o a.onnx -s batchx3x8x8 -q
    info a.onnx
    # The batch size is read at run time: its Shape stays.
    [ "$(q 'm.ops.Shape >= 1')" = true ]
}

@test "--training train: dropout and batch norm in training form" {
    conv net.pt a.onnx --training train
    info a.onnx
    [ "$(q 'm.ops.Dropout')" = 1 ]
    [ "$(q 'm.ops.BatchNormalization')" = 1 ]
    local bn
    bn=$(q 'Object.keys(m.attrs).find(k => k.startsWith("BatchNormalization"))')
    [ "$(q "m.attrs['$bn'].training_mode")" = 1 ]
    # ONNX weighs the old running statistics by momentum, PyTorch (0.1)
    # the batch's.
    [ "$(q "Math.abs(m.attrs['$bn'].momentum - 0.9) < 1e-6")" = true ]
    [ "$(q "m.node_outputs['$bn']")" = 3 ]
    run -0 "$PYTHON" "$ONNXCHECK" a.onnx
}

@test "--training train: batch statistics match PyTorch's training mode" {
    # bn0: dropout p=0, so the training-mode output is deterministic, and
    # batch norm momentum 0 (ONNX's 1): ONNX Runtime's training-mode
    # BatchNormalization is right only then (microsoft/onnxruntime#29790).
    conv bn0.pt a.onnx --training train
    info a.onnx
    [ "$(q 'm.ops.Dropout')" = 1 ]
    ort a.onnx bn0 train
}

@test "--training preserve follows the mode the module was saved in" {
    conv net_train.pt a.onnx --training preserve
    info a.onnx
    [ "$(q 'm.ops.Dropout')" = 1 ]
    conv net.pt b.onnx --training preserve
    info b.onnx
    [ "$(q 'm.ops.Dropout || 0')" = 0 ]
    # eval (the default) exports a module saved in training mode in eval.
    conv net_train.pt c.onnx
    info c.onnx
    ort c.onnx net_train eval
}

@test "--training train below the opsets of the training forms: needs opset N" {
    run -4 "$PT2ONNX" "$M/net.pt" -o a.onnx -s 2x3x8x8 --training train --opset 13
    [[ $output == *"batch_norm"*"needs opset 14"* ]] || fail "$output"
    [ ! -e a.onnx ]
}

@test "--custom-opset, --producer-name, --metadata" {
    conv net.pt a.onnx --custom-opset com.example:2 --custom-opset org.x:1 \
        --producer-name my-exporter --metadata author=me --metadata empty=
    info a.onnx
    [ "$(q 'm.opset_import["com.example"]')" = 2 ]
    [ "$(q 'm.opset_import["org.x"]')" = 1 ]
    [ "$(q 'm.opset_import[""]')" = 17 ]
    [ "$(q 'm.producer_name')" = my-exporter ]
    [ "$(q 'm.metadata.author')" = me ]
    [ "$(q 'JSON.stringify(m.metadata.empty)')" = '""' ]
}

@test "--doc-strings and --node-names" {
    conv net.pt a.onnx --doc-strings --node-names
    info a.onnx
    [ "$(q 'm.doc_strings.every(d => /knobs_models\.py:[0-9]+:[0-9]+$/.test(d))')" = true ]
    [ "$(q 'm.node_names.includes("/features/features.0/Conv")')" = true ]
    [ "$(q 'm.node_names.includes("/fc/Gemm")')" = true ]
    [ "$(q 'new Set(m.node_names).size === m.node_names.length')" = true ]
    conv net.pt b.onnx
    info b.onnx
    [ "$(q 'm.doc_strings.every(d => d === "")')" = true ]
}

@test "malformed option values are usage errors naming the flag" {
    local args
    for args in "--training maybe" "--custom-opset nocolon" \
        "--custom-opset :3" "--custom-opset a:0" "--custom-opset a:x" \
        "--custom-opset ai.onnx:17" "--custom-opset a:1 --custom-opset a:2" \
        "--metadata novalue" "--metadata =v" "--metadata k=1 --metadata k=2"; do
        # shellcheck disable=SC2086
        run -2 "$PT2ONNX" "$M/net.pt" -o a.onnx -s 2x3x8x8 $args
        local flag=${args%% *}
        [[ $output == *"$flag"* ]] || fail "$args: $output"
    done
    run -2 "$PT2ONNX" "$M/net.pt" -o a.onnx -s 2x3x8x8 --producer-name ''
    [[ $output == *--producer-name* ]]
}

@test "export options in --batch lines, on top of the command line's" {
    printf '%s -o a.onnx -s 2x3x8x8 --metadata line=1\n%s -o b.onnx -s 2x3x8x8 --node-names\n%s -o c.onnx -s 2x3x8x8 --metadata base=2\n' \
        "$M/net.pt" "$M/net.pt" "$M/net.pt" > jobs.txt
    run "$PT2ONNX" --batch jobs.txt -q --metadata base=1
    [ "$status" -eq 2 ] || fail "$output"
    [[ $output == *"1 ok a.onnx"* ]]
    [[ $output == *"2 ok b.onnx"* ]]
    [[ $output == *"3 exit=2"* && $output == *"key 'base' given twice"* ]]
    info a.onnx
    [ "$(q 'm.metadata.base + m.metadata.line')" = 11 ]
    info b.onnx
    [ "$(q 'm.node_names.includes("/fc/Gemm")')" = true ]
}

@test "--help, README and the man page document every export option" {
    local flag
    run -0 "$PT2ONNX" --help
    for flag in --no-export-params --keep-initializers-as-inputs \
        --no-constant-folding --training --custom-opset --doc-strings \
        --node-names --producer-name --metadata; do
        [[ $output == *"$flag"* ]] || fail "--help lacks $flag"
        grep -q -- "\`$flag" "$ROOT/README.md" || fail "README lacks $flag"
        grep -q -- "^\.B.* ${flag//-/\\\\-}" "$ROOT/man/pt2onnx.1" ||
            fail "the man page lacks $flag"
    done
}

@test "--report lists the export options, valid against the schema" {
    conv net.pt a.onnx --report r.json --training preserve \
        --custom-opset com.example:2 --metadata k=v --no-constant-folding
    run -0 "$PYTHON" "$ROOT/scripts/check_report.py" r.json
    INFO=$(cat r.json)
    [ "$(q 'm.options.training')" = preserve ]
    [ "$(q 'm.options.custom_opsets["com.example"]')" = 2 ]
    [ "$(q 'm.options.metadata.k')" = v ]
    [ "$(q 'm.options.no_constant_folding && !m.options.no_export_params')" = true ]
    [ "$(q 'm.options.producer_name')" = null ]
}
