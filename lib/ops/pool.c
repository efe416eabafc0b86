/* pool.c — pooling: aten::max_pool{1,2,3}d, aten::avg_pool{1,2,3}d,
 * aten::adaptive_avg_pool{1,2,3}d. Unbatched inputs (no N dim) are
 * unsqueezed around the ONNX op. */
#include <string.h>

#include "../internal.h"

/* Spatial rank from the op kind: "aten::max_pool2d" -> 2. */
static int spatial_rank(const char *kind)
{
	size_t len = strlen(kind);
	return len >= 2 ? kind[len - 2] - '0' : 0;
}

/* Takes a decoded pooling list argument, expanding one entry to sp
 * entries; an empty list (stride's default) takes def. */
static int pool_list(p2o_cx *cx, const p2o_arg *a, int sp, int64_t *v,
		     const int64_t *def)
{
	size_t cnt = 0;
	int rc = p2o_arg_ints_to(cx, a, v, P2O_MAX_RANK, &cnt);
	if (rc)
		return rc;
	if (cnt == 0 && def) {
		memcpy(v, def, sizeof *v * (size_t)sp);
	} else if (cnt == 1) {
		for (int k = 1; k < sp; k++)
			v[k] = v[0];
	} else if (cnt != (size_t)sp) {
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"%s has %zu entries for %d spatial dims",
				a->decl->name, cnt, sp);
	}
	return P2O_OK;
}

/* The input x, unsqueezed when unbatched; *unbatched says so. */
static uint32_t pool_input(p2o_cx *cx, uint32_t x, int sp, bool *unbatched)
{
	int r = p2o_t(cx, x)->rank;
	*unbatched = r == sp + 1;
	if (r != sp + 2 && !*unbatched) {
		p2o_fail(cx, P2O_ERR_CONVERT,
			 "input has rank %d; %dd pooling takes rank %d (or %d "
			 "unbatched); check --input-shape",
			 r, sp, sp + 2, sp + 1);
		return P2O_NOVAL;
	}
	static const int64_t zero = 0;
	return *unbatched ? p2o_unsqueeze(cx, x, &zero, 1) : x;
}

static int pool_output(p2o_cx *cx, const pts_node *n, uint32_t y,
		       bool unbatched)
{
	static const int64_t zero = 0;
	if (unbatched)
		y = p2o_squeeze(cx, y, &zero, 1);
	return p2o_set_result(cx, n, y);
}

/* A MaxPool/AveragePool node over x with its window attributes; the
 * caller adds the op's own. */
static uint32_t window_node(p2o_cx *cx, const char *op, uint32_t x,
			    const int64_t *k, const int64_t *s,
			    const int64_t *pad, int sp)
{
	int64_t pads[2 * P2O_MAX_RANK];
	for (int i = 0; i < sp; i++)
		pads[i] = pads[sp + i] = pad ? pad[i] : 0;
	uint32_t nd = p2o_node_new(cx, op, 1, &x, 1);
	p2o_attr_ints(cx, nd, "kernel_shape", k, (size_t)sp);
	p2o_attr_ints(cx, nd, "strides", s, (size_t)sp);
	if (pad)
		p2o_attr_ints(cx, nd, "pads", pads, 2 * (size_t)sp);
	return nd;
}

/* aten::max_pool{1,2,3}d(input, kernel_size, stride, padding, dilation,
 *   ceil_mode) */
P2O_HANDLER(max_pool)
{
	int sp = spatial_rank(n->kind);
	int64_t k[P2O_MAX_RANK], s[P2O_MAX_RANK], p[P2O_MAX_RANK],
		d[P2O_MAX_RANK];
	p2o_arg v[6];
	int rc;
	if ((rc = p2o_args(cx, n, "self:t kernel_size:is stride:is padding:is "
				  "dilation:is ceil_mode:b", v)) ||
	    (rc = pool_list(cx, &v[1], sp, k, NULL)) ||
	    (rc = pool_list(cx, &v[2], sp, s, k)) ||
	    (rc = pool_list(cx, &v[3], sp, p, NULL)) ||
	    (rc = pool_list(cx, &v[4], sp, d, NULL)))
		return rc;
	bool ceil_mode = v[5].b;
	bool dilated = false;
	for (int i = 0; i < sp; i++)
		dilated = dilated || d[i] != 1;
	if ((ceil_mode && (rc = p2o_need_opset(cx, 10, "max pooling with "
						     "ceil_mode=True"))) ||
	    (dilated && (rc = p2o_need_opset(cx, 10, "dilated max pooling"))))
		return rc;
	bool unbatched;
	uint32_t x = pool_input(cx, v[0].tensor, sp, &unbatched);
	if (x == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t nd = window_node(cx, "MaxPool", x, k, s, p, sp);
	if (dilated)
		p2o_attr_ints(cx, nd, "dilations", d, (size_t)sp);
	if (ceil_mode)
		p2o_attr_int(cx, nd, "ceil_mode", 1);
	return pool_output(cx, n, p2o_node_done(cx, nd), unbatched);
}

/* aten::avg_pool1d(input, kernel_size, stride, padding, ceil_mode,
 *   count_include_pad); 2d and 3d add divisor_override. */
P2O_HANDLER(avg_pool)
{
	int sp = spatial_rank(n->kind);
	int64_t k[P2O_MAX_RANK], s[P2O_MAX_RANK], p[P2O_MAX_RANK];
	p2o_arg v[7];
	int rc;
	/* avg_pool1d has no divisor_override: absent reads as None. */
	if ((rc = p2o_args(cx, n, "self:t kernel_size:is stride:is padding:is "
				  "ceil_mode:b count_include_pad:b "
				  "divisor_override:v?", v)) ||
	    (rc = pool_list(cx, &v[1], sp, k, NULL)) ||
	    (rc = pool_list(cx, &v[2], sp, s, k)) ||
	    (rc = pool_list(cx, &v[3], sp, p, NULL)))
		return rc;
	bool ceil_mode = v[4].b, include_pad = v[5].b;
	if (!v[6].none)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"divisor_override has no ONNX equivalent");
	if (ceil_mode && (rc = p2o_need_opset(cx, 10, "average pooling with "
						    "ceil_mode=True")))
		return rc;
	bool padded = false;
	for (int i = 0; i < sp; i++)
		padded = padded || p[i];
	bool unbatched;
	uint32_t x = pool_input(cx, v[0].tensor, sp, &unbatched);
	if (x == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t nd = window_node(cx, "AveragePool", x, k, s, p, sp);
	if (padded && include_pad)
		p2o_attr_int(cx, nd, "count_include_pad", 1);
	if (ceil_mode)
		p2o_attr_int(cx, nd, "ceil_mode", 1);
	return pool_output(cx, n, p2o_node_done(cx, nd), unbatched);
}

/* aten::adaptive_avg_pool{1,2,3}d(input, output_size): global pooling for
 * output 1, a plain average pool where the input divides evenly. */
P2O_HANDLER(adaptive_avg_pool)
{
	int sp = spatial_rank(n->kind);
	int64_t o[P2O_MAX_RANK];
	p2o_arg v[2];
	int rc;
	if ((rc = p2o_args(cx, n, "self:t output_size:is", v)) ||
	    (rc = pool_list(cx, &v[1], sp, o, NULL)))
		return rc;
	bool unbatched;
	uint32_t x = pool_input(cx, v[0].tensor, sp, &unbatched);
	if (x == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	bool global = true;
	for (int i = 0; i < sp; i++)
		global = global && o[i] == 1;
	if (global)
		return pool_output(cx, n, p2o_op1(cx, "GlobalAveragePool", x),
				   unbatched);
	const p2o_type *t = p2o_t(cx, x);
	int64_t k[P2O_MAX_RANK];
	bool same = true;
	for (int i = 0; i < sp; i++) {
		int64_t in = t->dims[2 + i].v;
		if (in < 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"adaptive pooling to size %lld needs a "
					"known input size at spatial dim %d (it "
					"is symbolic)",
					(long long)o[i], i);
		if (o[i] <= 0 || in % o[i])
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"adaptive pooling from %lld to %lld at "
					"spatial dim %d: the input must divide "
					"evenly by the output size",
					(long long)in, (long long)o[i], i);
		k[i] = in / o[i];
		same = same && k[i] == 1;
	}
	if (same) /* output size == input size */
		return pool_output(cx, n, x, unbatched);
	return pool_output(cx, n,
			   p2o_node_done(cx, window_node(cx, "AveragePool", x, k,
							 k, NULL, sp)),
			   unbatched);
}
