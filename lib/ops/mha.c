/* mha.c — aten::_native_multi_head_attention: the fused attention that
 * nn.MultiheadAttention (and the transformer layers built on it) records
 * when it takes its "fast path" (eval, batch_first, no gradient: tracing
 * under torch.no_grad, as torchvision's ViT does). It becomes the math it
 * stands for: input projections, scaled dot products, a masked softmax,
 * the weighted sum and the output projection (p2o_mha, which
 * aten::_transformer_encoder_layer_fwd in attention.c shares). */
#include <math.h>

#include "../internal.h"

/* Splits a [3E, ...] tensor (the packed q/k/v projection) into its three
 * [E, ...] parts. */
static int split3(p2o_cx *cx, uint32_t x, int64_t e, uint32_t *parts)
{
	const int64_t sizes[3] = { e, e, e };
	return p2o_split(cx, x, 0, sizes, 3, parts);
}

/* Multi-head attention with a packed [3E, E] in-projection, as PyTorch's
 * fused ops compute it. query [B, L, E], key and value [B, S, E]; with H
 * heads of D = E/H:
 *   q = (query Wq^T + bq) / sqrt(D), k, v likewise (unscaled), as
 *   [B, H, L|S, D]; w = softmax(q k^T + mask) over S; out = (w v) as
 *   [B, L, E], then Wo^T + bo.
 * mask (P2O_NOVAL: none): a key padding mask [B, S] (mask_type 1), an
 * attention mask [L, S] (0) or a merged one [B, H, L, S] (2); boolean,
 * true where attention is not allowed (-inf there), or additive floats
 * (PyTorch 2.x turns boolean masks into these). A row with every key
 * masked is NaN, in PyTorch as here. *weights, when not NULL, gets w
 * averaged over the heads ([B, L, S]) or not ([B, H, L, S]). Returns
 * P2O_NOVAL with a diagnostic recorded on failure. */
uint32_t p2o_mha(p2o_cx *cx, const uint32_t qkv_in[3], int64_t e, int64_t h,
		 const uint32_t proj[4], uint32_t mask, int64_t mask_type,
		 uint32_t *weights, bool average)
{
	const p2o_type *qt = p2o_t(cx, qkv_in[0]);
	if (qt->rank != 3) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED, "query must be [batch, length, "
			 "embed_dim], got rank %d", qt->rank);
		return P2O_NOVAL;
	}
	if (e <= 0 || h <= 0 || e % h) {
		p2o_fail(cx, P2O_ERR_CONVERT, "embed_dim %lld is not a multiple "
			 "of num_head %lld", (long long)e, (long long)h);
		return P2O_NOVAL;
	}
	int64_t d = e / h;
	int dt = qt->dtype;
	uint32_t w[3], b[3];
	if (split3(cx, proj[0], e, w) || split3(cx, proj[1], e, b))
		return P2O_NOVAL;
	/* [B, T, E] -> [B, H, T, D] (perm 0 2 1 3) or [B, H, D, T]. */
	const int64_t heads[4] = { 0, 0, h, d };
	const int64_t to_bhtd[4] = { 0, 2, 1, 3 }, to_bhdt[4] = { 0, 2, 3, 1 };
	uint32_t q = p2o_matmul_bt(cx, qkv_in[0], w[0], b[0]);
	uint32_t k = p2o_matmul_bt(cx, qkv_in[1], w[1], b[1]);
	uint32_t val = p2o_matmul_bt(cx, qkv_in[2], w[2], b[2]);
	q = p2o_op2(cx, "Mul", q, p2o_const_scalar(cx, dt, 1.0 / sqrt((double)d)));
	q = p2o_transpose(cx, p2o_reshape_to(cx, q, heads, 4), to_bhtd, 4);
	k = p2o_transpose(cx, p2o_reshape_to(cx, k, heads, 4), to_bhdt, 4);
	val = p2o_transpose(cx, p2o_reshape_to(cx, val, heads, 4), to_bhtd, 4);
	uint32_t s = p2o_op2(cx, "MatMul", q, k); /* [B, H, L, S] */
	if (s == P2O_NOVAL || val == P2O_NOVAL)
		return P2O_NOVAL;

	if (mask != P2O_NOVAL) {
		const p2o_type *mt = p2o_t(cx, mask);
		if (mask_type == 1 && mt->rank == 2) {
			const int64_t ax[2] = { 1, 2 };
			mask = p2o_unsqueeze(cx, mask, ax, 2); /* [B, 1, 1, S] */
		} else if (!(mask_type == 0 && mt->rank == 2) &&
			   !(mask_type == 2 && mt->rank == 4)) {
			p2o_fail(cx, P2O_ERR_UNSUPPORTED, "a rank-%d mask of "
				 "mask_type %lld", mt->rank, (long long)mask_type);
			return P2O_NOVAL;
		}
		if (mt->dtype == P2O_BOOL) {
			if (p2o_need_opset(cx, 9, "a boolean mask (Where)"))
				return P2O_NOVAL;
			uint32_t in[3] = { mask, p2o_const_scalar(cx, dt, -INFINITY), s };
			s = mask == P2O_NOVAL ? P2O_NOVAL :
			    p2o_node_done(cx, p2o_node_new(cx, "Where", 3, in, 1));
		} else if (p2o_dtype_is_float(mt->dtype)) {
			s = p2o_op2(cx, "Add", s, p2o_cast(cx, mask, dt));
		} else {
			p2o_fail(cx, P2O_ERR_UNSUPPORTED, "a mask of dtype %s",
				 p2o_dtype_name(mt->dtype));
			return P2O_NOVAL;
		}
		if (s == P2O_NOVAL)
			return P2O_NOVAL;
	}
	/* Over the last axis: the same at every Softmax version (before 13 the
	 * input is seen as 2-D around that axis, which is then each row). */
	uint32_t sm = p2o_node_new(cx, "Softmax", 1, &s, 1);
	p2o_attr_int(cx, sm, "axis", 3);
	uint32_t attn = p2o_node_done(cx, sm);
	uint32_t o = p2o_op2(cx, "MatMul", attn, val); /* [B, H, L, D] */
	const int64_t merged[3] = { 0, 0, e };
	o = p2o_reshape_to(cx, p2o_transpose(cx, o, to_bhtd, 4), merged, 3);
	o = p2o_matmul_bt(cx, o, proj[2], proj[3]);
	if (weights) {
		const int64_t ax = 1;
		*weights = average ? p2o_reduce(cx, "ReduceMean", attn, &ax, 1,
						false) : attn;
		if (*weights == P2O_NOVAL)
			return P2O_NOVAL;
	}
	return o;
}

/* aten::_native_multi_head_attention(query, key, value, embed_dim,
 * num_head, qkv_weight, qkv_bias, proj_weight, proj_bias, mask=None,
 * need_weights=True, average_attn_weights=True, mask_type=None)
 * -> (out, weights): p2o_mha. */
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
	const uint32_t in[3] = { v[0].tensor, v[1].tensor, v[2].tensor };
	const uint32_t proj[4] = { v[5].tensor, v[6].tensor, v[7].tensor,
				   v[8].tensor };
	uint32_t wts = P2O_NOVAL;
	uint32_t o = p2o_mha(cx, in, v[3].i, v[4].i, proj,
			     v[9].none ? P2O_NOVAL : v[9].tensor,
			     v[12].none ? -1 : v[12].i,
			     v[10].b ? &wts : NULL, v[11].b);
	if (o == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	if (v[10].b)
		p2o_set_tensor(cx, n, 1, wts);
	else /* PyTorch returns an undefined tensor: None to its readers */
		p2o_set_const(cx, n, 1, p2o_new_const(cx, PTS_C_NONE));
	return p2o_set_result(cx, n, o);
}
