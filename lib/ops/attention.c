/* attention.c — aten::scaled_dot_product_attention (PyTorch 2.0; `scale`
 * from 2.1, `enable_gqa` from 2.5), which archives written by PyTorch 2.x
 * record for nn.MultiheadAttention, nn.TransformerEncoderLayer and models
 * calling F.scaled_dot_product_attention. libtorch 1.13 knows it only
 * through the schema the shim registers (shim/aten2x.def).
 *
 * PyTorch 2.6's math form: softmax(Q K^T * scale + bias) V over the last
 * two dims, scale 1/sqrt(E) unless given, bias -inf where a bool mask is
 * false or above the diagonal (is_causal, top-left aligned), a float mask
 * added as it is. From opset 23 it is ONNX Attention, which has the same
 * definition (scale 1/sqrt(head size) by default, a bool mask true where
 * attended, a causal mask aligned top-left), for float/float16 Q/K/V of
 * rank 3 (one head) or 4 with as many key as query heads; otherwise, and
 * below 23, MatMul/Softmax. dropout_p is ignored: the converted model is
 * for inference, where PyTorch modules pass 0.
 *
 * Also aten::_native_multi_head_attention, the fused fast path that
 * nn.MultiheadAttention records when traced in eval mode (PyTorch 1.13
 * has it too): the in-projection, per-head attention and out-projection
 * as MatMul/Softmax. */
#include <math.h>

#include "../internal.h"

/* -inf where keep is false, 0 where true, in dtype (Where: opset 9). */
static uint32_t bias_from_bool(p2o_cx *cx, uint32_t keep, int dtype)
{
	uint32_t in[3] = { keep, p2o_const_scalar(cx, dtype, 0.0),
			   p2o_const_scalar(cx, dtype, -INFINITY) };
	return p2o_node_done(cx, p2o_node_new(cx, "Where", 3, in, 1));
}

/* 0, 1, ..., size-1 (int64) for a 0-D int64 size (Range: opset 11). */
static uint32_t iota(p2o_cx *cx, uint32_t size)
{
	uint32_t in[3] = { p2o_const_scalar(cx, P2O_INT64, 0), size,
			   p2o_const_scalar(cx, P2O_INT64, 1) };
	return p2o_node_done(cx, p2o_node_new(cx, "Range", 3, in, 1));
}

/* Concat of three 1-D int64 shape parts (a may be empty: rank 0 dims). */
static uint32_t concat_dims(p2o_cx *cx, uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t in[3] = { a, b, c };
	uint32_t nd = p2o_node_new(cx, "Concat", 3, in, 1);
	p2o_attr_int(cx, nd, "axis", 0);
	return p2o_node_done(cx, nd);
}

P2O_HANDLER(scaled_dot_product_attention)
{
	p2o_arg v[8];
	int rc = p2o_args(cx, n, "query:t key:t value:t attn_mask:t? "
			  "dropout_p:f is_causal:b scale:f? enable_gqa:b?", v);
	if (rc)
		return rc;
	uint32_t q = v[0].tensor, k = v[1].tensor, val = v[2].tensor;
	const p2o_type *tq = p2o_t(cx, q), *tk = p2o_t(cx, k);
	int dt = tq->dtype, rq = tq->rank, rk = tk->rank;
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"query of type %s: PyTorch takes floating "
				"point only", p2o_dtype_name(dt));
	if (rq < 2 || rk < 2 || p2o_t(cx, val)->rank < 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"query, key and value must have rank 2 or "
				"more and known ranks");
	bool causal = v[5].b;
	if (causal && !v[3].none)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"attn_mask with is_causal=True (PyTorch "
				"refuses it too)");
	if (p2o_onnx_version(cx, "Attention") >= 23 && rq == rk &&
	    (rq == 3 || (rq == 4 && p2o_dim_eq(tq->dims[1], tk->dims[1]))) &&
	    p2o_t(cx, val)->rank == rq && (dt == P2O_FLOAT || dt == P2O_FLOAT16)) {
		uint32_t in[4] = { q, k, val, P2O_NOVAL };
		uint32_t n_in = 3;
		if (!v[3].none) {
			uint32_t m = v[3].tensor;
			in[3] = p2o_t(cx, m)->dtype == P2O_BOOL ? m : p2o_cast(cx, m, dt);
			n_in = 4;
		}
		uint32_t nd = p2o_node_new(cx, "Attention", n_in, in, 1);
		if (causal)
			p2o_attr_int(cx, nd, "is_causal", 1);
		if (!v[6].none)
			p2o_attr_float(cx, nd, "scale", (float)v[6].f);
		if (rq == 3) {
			/* [N, L, E] is one head: ONNX's 3-D form takes the
			 * head counts to split the hidden size by. */
			p2o_attr_int(cx, nd, "q_num_heads", 1);
			p2o_attr_int(cx, nd, "kv_num_heads", 1);
		}
		return p2o_set_result(cx, n, p2o_node_done(cx, nd));
	}
	int64_t groups = 1;
	if (!v[7].none && v[7].b && rq >= 3 && rk >= 3 &&
	    !p2o_dim_eq(tq->dims[rq - 3], tk->dims[rk - 3])) {
		/* Grouped-query attention: PyTorch repeats each key/value head
		 * Hq/Hk times (repeat_interleave on dim -3). Here the query's
		 * heads are split into [Hk, G] instead and key/value get a
		 * size-1 group dim, which MatMul broadcasts: the same sums. */
		int64_t hq = tq->dims[rq - 3].v, hk = tk->dims[rk - 3].v;
		if (hq <= 0 || hk <= 0 || hq % hk || rq < 4 || rk < 4)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"enable_gqa=True needs a batch dim and "
					"known head counts, the query's a "
					"multiple of the key's");
		groups = hq / hk;
		int64_t hg[2] = { hk, groups };
		q = p2o_reshape(cx, q, concat_dims(cx, p2o_dims_value(cx, q, 0, rq - 3),
						   p2o_const_i64s(cx, hg, 2),
						   p2o_dims_value(cx, q, rq - 2, rq)));
		int64_t ax = rk - 2;
		k = p2o_unsqueeze(cx, k, &ax, 1);
		ax = p2o_t(cx, val)->rank - 2;
		val = p2o_unsqueeze(cx, val, &ax, 1);
		tq = p2o_t(cx, q);
		tk = p2o_t(cx, k);
		rq++, rk++;
	}
	/* Q K^T */
	int64_t perm[P2O_MAX_RANK];
	for (int i = 0; i < rk; i++)
		perm[i] = i;
	perm[rk - 2] = rk - 1;
	perm[rk - 1] = rk - 2;
	uint32_t s = p2o_op2(cx, "MatMul", q, p2o_transpose(cx, k, perm, rk));
	/* * scale */
	uint32_t scale;
	p2o_dim e = tq->dims[rq - 1];
	if (!v[6].none)
		scale = p2o_const_scalar(cx, dt, v[6].f);
	else if (e.v > 0)
		scale = p2o_const_scalar(cx, dt, 1.0 / sqrt((double)e.v));
	else
		scale = p2o_op2(cx, "Div", p2o_const_scalar(cx, dt, 1.0),
				p2o_op1(cx, "Sqrt",
					p2o_cast(cx, p2o_dim_value(cx, q, rq - 1),
						 dt)));
	s = p2o_op2(cx, "Mul", s, scale);
	/* + bias */
	if (causal) {
		if ((rc = p2o_need_opset(cx, 11, "is_causal=True")))
			return rc;
		/* Row i keeps columns j <= i: bias -inf where j > i. */
		int64_t last = 1;
		uint32_t rows = p2o_unsqueeze(cx, iota(cx, p2o_dim_value(cx, q, rq - 2)),
					      &last, 1);
		uint32_t cols = iota(cx, p2o_dim_value(cx, k, rk - 2));
		uint32_t above = p2o_op2(cx, "Greater", cols, rows);
		s = p2o_op2(cx, "Add", s,
			    bias_from_bool(cx, p2o_op1(cx, "Not", above), dt));
	} else if (!v[3].none) {
		uint32_t m = v[3].tensor;
		const p2o_type *tm = p2o_t(cx, m);
		if (groups > 1 && tm->rank >= 3) {
			/* A mask per batch (head dim 1) gets the group dim;
			 * one per query head would need its heads split. */
			if (tm->dims[tm->rank - 3].v != 1)
				return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
						"enable_gqa=True with an attn_mask "
						"per head");
			int64_t ax = tm->rank - 2;
			m = p2o_unsqueeze(cx, m, &ax, 1);
		}
		if (p2o_t(cx, m)->dtype == P2O_BOOL) {
			if ((rc = p2o_need_opset(cx, 9, "a bool attn_mask")))
				return rc;
			m = bias_from_bool(cx, m, dt);
		} else {
			m = p2o_cast(cx, m, dt);
		}
		s = p2o_op2(cx, "Add", s, m);
	}
	/* softmax over the last dim (axis counted from 0: Softmax before 13
	 * flattens from the axis on, which for the last one is the same) */
	int rs = p2o_t(cx, s)->rank;
	uint32_t sm = p2o_node_new(cx, "Softmax", 1, &s, 1);
	p2o_attr_int(cx, sm, "axis", rs - 1);
	uint32_t y = p2o_op2(cx, "MatMul", p2o_node_done(cx, sm), val);
	if (groups > 1) {
		/* [..., Hk, G, L, Ev] back to [..., Hq, L, Ev] */
		int ry = p2o_t(cx, y)->rank;
		int64_t minus1 = -1;
		y = p2o_reshape(cx, y, concat_dims(cx, p2o_dims_value(cx, y, 0, ry - 4),
						   p2o_const_i64s(cx, &minus1, 1),
						   p2o_dims_value(cx, y, ry - 2, ry)));
	}
	return p2o_set_result(cx, n, y);
}


/* Layer norm over the last dim, as its formula (every opset). */
static uint32_t layer_norm_last(p2o_cx *cx, uint32_t x, double eps, uint32_t w,
				uint32_t b)
{
	int64_t last = p2o_t(cx, x)->rank - 1;
	uint32_t y = p2o_standardize(cx, x, &last, 1, eps, NULL, NULL);
	return p2o_op2(cx, "Add", p2o_op2(cx, "Mul", y, w), b);
}

/* aten::_transformer_encoder_layer_fwd: nn.TransformerEncoderLayer's fused
 * fast path (traced in eval under no_grad). Post-norm:
 * x = ln1(x + sa(x)); x = ln2(x + ff(x)); pre-norm (norm_first):
 * x = x + sa(ln1(x)); x = x + ff(ln2(x)); ff = W2 act(W1 x); sa is
 * p2o_mha, with the layer's mask (a key padding mask, an attention mask or
 * their merge, boolean or additive). */
P2O_HANDLER(transformer_encoder_layer_fwd)
{
	p2o_arg v[18];
	int rc = p2o_args(cx, n, "src:t embed_dim:i num_heads:i qkv_weight:t "
			  "qkv_bias:t proj_weight:t proj_bias:t use_gelu:b "
			  "norm_first:b eps:f norm_weight_1:t norm_bias_1:t "
			  "norm_weight_2:t norm_bias_2:t ffn_weight_1:t "
			  "ffn_bias_1:t ffn_weight_2:t ffn_bias_2:t", v);
	if (rc)
		return rc;
	p2o_arg m[2];
	if ((rc = p2o_args(cx, n, "mask:t? mask_type:i?", m)))
		return rc;
	int64_t e = v[1].i, h = v[2].i;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	if (!p2o_dtype_is_float(t->dtype))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"converted for float inputs only");
	bool pre = v[8].b;
	double eps = v[9].f;
	/* exact gelu is over Erf */
	if (v[7].b && (rc = p2o_need_opset(cx, 9, "use_gelu=True")))
		return rc;
	uint32_t a = pre ? layer_norm_last(cx, x, eps, v[10].tensor, v[11].tensor) : x;
	const uint32_t qkv[3] = { a, a, a };
	const uint32_t proj[4] = { v[3].tensor, v[4].tensor, v[5].tensor,
				   v[6].tensor };
	uint32_t sa = p2o_mha(cx, qkv, e, h, proj,
			      m[0].none ? P2O_NOVAL : m[0].tensor,
			      m[1].none ? -1 : m[1].i, NULL, false);
	if (sa == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	x = p2o_op2(cx, "Add", x, sa);
	if (!pre)
		x = layer_norm_last(cx, x, eps, v[10].tensor, v[11].tensor);
	uint32_t f = pre ? layer_norm_last(cx, x, eps, v[12].tensor, v[13].tensor) : x;
	f = p2o_matmul_bt(cx, f, v[14].tensor, v[15].tensor);
	f = v[7].b ? p2o_gelu(cx, f, false) : p2o_op1(cx, "Relu", f);
	x = p2o_op2(cx, "Add", x, p2o_matmul_bt(cx, f, v[16].tensor, v[17].tensor));
	if (!pre)
		x = layer_norm_last(cx, x, eps, v[12].tensor, v[13].tensor);
	return p2o_set_result(cx, n, x);
}
