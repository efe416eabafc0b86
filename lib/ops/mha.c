/* mha.c — aten::_native_multi_head_attention: the fused attention that
 * nn.MultiheadAttention (and the transformer layers built on it) records
 * when it takes its "fast path" (eval, batch_first, no gradient: tracing
 * under torch.no_grad, as torchvision's ViT does). It becomes the math it
 * stands for: input projections, scaled dot products, a masked softmax,
 * the weighted sum and the output projection. */
#include <math.h>

#include "../internal.h"

/* Splits a [3E, ...] tensor (the packed q/k/v projection) into its three
 * [E, ...] parts. */
static int split3(p2o_cx *cx, uint32_t x, int64_t e, uint32_t *parts)
{
	const int64_t sizes[3] = { e, e, e };
	return p2o_split(cx, x, 0, sizes, 3, parts);
}

/* aten::_native_multi_head_attention(query, key, value, embed_dim,
 * num_head, qkv_weight, qkv_bias, proj_weight, proj_bias, mask=None,
 * need_weights=True, average_attn_weights=True, mask_type=None)
 * -> (out, weights).
 *
 * query [B, L, E], key and value [B, S, E]; with H heads of D = E/H:
 *   q = (query Wq^T + bq) / sqrt(D), k, v likewise (unscaled), as
 *   [B, H, L|S, D]; w = softmax(q k^T) over S, masked; out = (w v) as
 *   [B, L, E], then Wo^T + bo.
 * The mask is boolean, true where attention is not allowed: a key padding
 * mask [B, S] (mask_type 1) or an attention mask [L, S] (mask_type 0).
 * Masked scores become -inf before the softmax; a row with every key
 * masked is NaN, in PyTorch 1.13 as here. */
P2O_HANDLER(native_mha)
{
	p2o_arg v[13];
	int rc = p2o_args(cx, n,
			  "query:t key:t value:t embed_dim:i num_head:i "
			  "qkv_weight:t qkv_bias:t proj_weight:t proj_bias:t "
			  "mask:t? need_weights:b average_attn_weights:b "
			  "mask_type:i?", v);
	if (rc)
		return rc;
	int64_t e = v[3].i, h = v[4].i;
	const p2o_type *qt = p2o_t(cx, v[0].tensor);
	if (qt->rank != 3)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"query must be [batch, length, embed_dim], got "
				"rank %d", qt->rank);
	if (e <= 0 || h <= 0 || e % h)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"embed_dim %lld is not a multiple of num_head "
				"%lld", (long long)e, (long long)h);
	int64_t d = e / h;
	int dt = qt->dtype;

	uint32_t w[3], b[3];
	if ((rc = split3(cx, v[5].tensor, e, w)) ||
	    (rc = split3(cx, v[6].tensor, e, b)))
		return rc;
	/* [B, T, E] -> [B, H, T, D] (perm 0 2 1 3) or [B, H, D, T]. */
	const int64_t heads[4] = { 0, 0, h, d };
	const int64_t to_bhtd[4] = { 0, 2, 1, 3 }, to_bhdt[4] = { 0, 2, 3, 1 };
	uint32_t q = p2o_matmul_bt(cx, v[0].tensor, w[0], b[0]);
	uint32_t k = p2o_matmul_bt(cx, v[1].tensor, w[1], b[1]);
	uint32_t val = p2o_matmul_bt(cx, v[2].tensor, w[2], b[2]);
	q = p2o_op2(cx, "Mul", q, p2o_const_scalar(cx, dt, 1.0 / sqrt((double)d)));
	q = p2o_transpose(cx, p2o_reshape_to(cx, q, heads, 4), to_bhtd, 4);
	k = p2o_transpose(cx, p2o_reshape_to(cx, k, heads, 4), to_bhdt, 4);
	val = p2o_transpose(cx, p2o_reshape_to(cx, val, heads, 4), to_bhtd, 4);
	uint32_t s = p2o_op2(cx, "MatMul", q, k); /* [B, H, L, S] */
	if (s == P2O_NOVAL || val == P2O_NOVAL)
		return P2O_ERR_CONVERT;

	uint32_t mask = P2O_NOVAL;
	if (!v[9].none) {
		if ((rc = p2o_need_opset(cx, 9, "a mask (Where)")))
			return rc;
		mask = v[9].tensor;
		const p2o_type *mt = p2o_t(cx, mask);
		if (mt->dtype != P2O_BOOL)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"mask must be boolean, got %s",
					p2o_dtype_name(mt->dtype));
		int64_t type = v[12].none ? -1 : v[12].i;
		if (type == 1 && mt->rank == 2) {
			const int64_t ax[2] = { 1, 2 };
			mask = p2o_unsqueeze(cx, mask, ax, 2); /* [B, 1, 1, S] */
		} else if (!(type == 0 && mt->rank == 2)) {
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"a rank-%d mask of mask_type %lld",
					mt->rank, (long long)type);
		}
		if (mask == P2O_NOVAL)
			return P2O_ERR_CONVERT;
		uint32_t in[3] = { mask, p2o_const_scalar(cx, dt, -INFINITY), s };
		s = p2o_node_done(cx, p2o_node_new(cx, "Where", 3, in, 1));
		if (s == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	/* Over the last axis: the same at every Softmax version (before 13 the
	 * input is seen as 2-D around that axis, which is then each row). */
	uint32_t sm = p2o_node_new(cx, "Softmax", 1, &s, 1);
	p2o_attr_int(cx, sm, "axis", 3);
	uint32_t attn = p2o_node_done(cx, sm);
	uint32_t o = p2o_op2(cx, "MatMul", attn, val); /* [B, H, L, D] */
	const int64_t merged[3] = { 0, 0, e };
	o = p2o_reshape_to(cx, p2o_transpose(cx, o, to_bhtd, 4), merged, 3);
	o = p2o_matmul_bt(cx, o, v[7].tensor, v[8].tensor);
	if (v[10].b) {
		const int64_t ax = 1;
		uint32_t wts = v[11].b ?
			p2o_reduce(cx, "ReduceMean", attn, &ax, 1, false) : attn;
		if (wts == P2O_NOVAL)
			return P2O_ERR_CONVERT;
		p2o_set_tensor(cx, n, 1, wts);
	} else {
		/* PyTorch returns an undefined tensor: None to whatever
		 * reads it. */
		p2o_set_const(cx, n, 1, p2o_new_const(cx, PTS_C_NONE));
	}
	return p2o_set_result(cx, n, o);
}
