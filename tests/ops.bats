#!/usr/bin/env bats
# Every handler, numerically: each fixture of testdata/ops (one op or one
# argument variant, made by scripts/make_fixtures.py) is converted at opsets
# 7, 9, 13, 17, 21 and 23 and run in ONNX Runtime on the fixture's inputs;
# the outputs must match PyTorch's. At opsets <= 17 the ONNX checker's
# full_check must pass too. Below a fixture's min_opset the conversion must
# fail with exit status 4 and name the opset it needs.

load helpers

OPSETS=(7 9 13 17 21 23)

# min_opset FIXTURE.json: the "min_opset" field.
min_opset() {
    local re='"min_opset"[[:space:]]*:[[:space:]]*([0-9]+)' text
    text=$(head -c 4096 "$1")
    [[ $text =~ $re ]] || fail "no min_opset in $1" || return
    echo "${BASH_REMATCH[1]}"
}

# check_op NAME: the fixture at every opset of OPSETS.
check_op() {
    local json=$ROOT/testdata/ops/$1.json min o rc
    [ -f "$json" ] || fail "no fixture $json" || return
    min=$(min_opset "$json") || return
    for o in "${OPSETS[@]}"; do
        if [ "$o" -ge "$min" ]; then
            convert_and_check "$json" "$o" || return
            continue
        fi
        local out=$BATS_TEST_TMPDIR/$1.below.onnx
        local -a args=()
        while IFS= read -r s; do args+=(-s "$s"); done < <(shapes_args "$json")
        rc=0
        "$PT2ONNX" "${json%.json}.pt" -o "$out" --opset "$o" "${args[@]}" \
            2> "$out.err" || rc=$?
        [ "$rc" -eq 4 ] ||
            fail "$1 at opset $o (below min_opset $min): exit $rc, want 4" \
                "$(cat "$out.err")" || return
        grep -q "needs opset $min or later" "$out.err" ||
            fail "$1 at opset $o: the error does not name opset $min" \
                "$(cat "$out.err")" || return
        [ ! -e "$out" ] || fail "$1 at opset $o: output left behind" || return
    done
}

# The ops whose ONNX form changes with the opset (Clip bounds at 11, Gemm's
# optional C at 11, Squeeze/Unsqueeze and ReduceSum axes at 13, every
# Reduce* at 18, Mod at 10), at every opset from 7 to 23.
@test "opset switch points, every opset 7-23" {
    local name o min
    for name in hardtanh relu6 linear_nobias conv2d_unbatched view_symbolic \
        sum mean max_pool2d_ceil div_rounding_int; do
        min=$(min_opset "$ROOT/testdata/ops/$name.json") || return
        for o in $(seq "$min" 23); do
            convert_and_check "$ROOT/testdata/ops/$name.json" "$o" || return
        done
    done
}

@test "op adaptive_avg_pool1d" {
    check_op adaptive_avg_pool1d
}

@test "op adaptive_avg_pool2d_divisible" {
    check_op adaptive_avg_pool2d_divisible
}

@test "op adaptive_avg_pool2d_global" {
    check_op adaptive_avg_pool2d_global
}

@test "op adaptive_avg_pool2d_identity" {
    check_op adaptive_avg_pool2d_identity
}

@test "op add_alpha" {
    check_op add_alpha
}

@test "op add_broadcast" {
    check_op add_broadcast
}

@test "op addmm" {
    check_op addmm
}

@test "op avg_pool1d" {
    check_op avg_pool1d
}

@test "op avg_pool2d" {
    check_op avg_pool2d
}

@test "op avg_pool2d_ceil" {
    check_op avg_pool2d_ceil
}

@test "op avg_pool2d_ceil_pad" {
    check_op avg_pool2d_ceil_pad
}

@test "op avg_pool2d_exclude_pad" {
    check_op avg_pool2d_exclude_pad
}

@test "op avg_pool3d" {
    check_op avg_pool3d
}

@test "op batch_norm1d_rank2" {
    check_op batch_norm1d_rank2
}

@test "op batch_norm1d_rank3" {
    check_op batch_norm1d_rank3
}

@test "op batch_norm2d" {
    check_op batch_norm2d
}

@test "op batch_norm2d_noaffine" {
    check_op batch_norm2d_noaffine
}

@test "op cat" {
    check_op cat
}

@test "op cat_promote" {
    check_op cat_promote
}

@test "op contiguous_detach" {
    check_op contiguous_detach
}

@test "op conv1d" {
    check_op conv1d
}

@test "op conv1d_traced" {
    check_op conv1d_traced
}

@test "op conv2d_args" {
    check_op conv2d_args
}

@test "op conv2d_basic" {
    check_op conv2d_basic
}

@test "op conv2d_depthwise" {
    check_op conv2d_depthwise
}

@test "op conv2d_rect" {
    check_op conv2d_rect
}

@test "op conv2d_same" {
    check_op conv2d_same
}

@test "op conv2d_traced" {
    check_op conv2d_traced
}

@test "op conv2d_unbatched" {
    check_op conv2d_unbatched
}

@test "op conv2d_valid" {
    check_op conv2d_valid
}

@test "op conv3d" {
    check_op conv3d
}

@test "op conv_bn_relu" {
    check_op conv_bn_relu
}

@test "op conv_bn_shared_weight" {
    check_op conv_bn_shared_weight
}

@test "op conv_transpose2d" {
    check_op conv_transpose2d
}

@test "op div_int_true" {
    check_op div_int_true
}

@test "op div_rounding_float" {
    check_op div_rounding_float
}

@test "op div_rounding_int" {
    check_op div_rounding_int
}

@test "op dropout_eval" {
    check_op dropout_eval
}

@test "op flatten" {
    check_op flatten
}

@test "op flatten_symbolic_range" {
    check_op flatten_symbolic_range
}

@test "op symbolic_dim_arith" {
    check_op symbolic_dim_arith
}

@test "op flatten_symbolic" {
    check_op flatten_symbolic
}

@test "op half_scalar" {
    check_op half_scalar
}

@test "op hardtanh" {
    check_op hardtanh
}

@test "op inplace_input_write" {
    check_op inplace_input_write
}

@test "op inplace_view_after_write" {
    check_op inplace_view_after_write
}

@test "op linear" {
    check_op linear
}

@test "op linear_nobias" {
    check_op linear_nobias
}

@test "op linear_rank1" {
    check_op linear_rank1
}

@test "op linear_rank3" {
    check_op linear_rank3
}

@test "op linear_traced" {
    check_op linear_traced
}

@test "op matmul" {
    check_op matmul
}

@test "op max_pool1d" {
    check_op max_pool1d
}

@test "op max_pool2d" {
    check_op max_pool2d
}

@test "op max_pool2d_ceil" {
    check_op max_pool2d_ceil
}

@test "op max_pool2d_dilation" {
    check_op max_pool2d_dilation
}

@test "op max_pool2d_rect" {
    check_op max_pool2d_rect
}

@test "op max_pool2d_unbatched" {
    check_op max_pool2d_unbatched
}

@test "op max_pool3d" {
    check_op max_pool3d
}

@test "op mean" {
    check_op mean
}

@test "op mm_bmm" {
    check_op mm_bmm
}

@test "op mul_div_tensors" {
    check_op mul_div_tensors
}

@test "op promote_int32_int64" {
    check_op promote_int32_int64
}

@test "op promote_int_float" {
    check_op promote_int_float
}

@test "op promote_zero_dim" {
    check_op promote_zero_dim
}

@test "op relu" {
    check_op relu
}

@test "op relu6" {
    check_op relu6
}

@test "op relu6_traced" {
    check_op relu6_traced
}

@test "op relu_inplace" {
    check_op relu_inplace
}

@test "op scalar_arith" {
    check_op scalar_arith
}

@test "op scripted_checks" {
    check_op scripted_checks
}

@test "op size_dim" {
    check_op size_dim
}

@test "op sub_alpha" {
    check_op sub_alpha
}

@test "op sum" {
    check_op sum
}

@test "op view_reshape" {
    check_op view_reshape
}

@test "op view_sizes" {
    check_op view_sizes
}

@test "op view_symbolic" {
    check_op view_symbolic
}
