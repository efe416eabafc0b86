/* pool.c — pooling: aten::max_pool{1,2,3}d(_with_indices),
 * aten::avg_pool{1,2,3}d, aten::adaptive_avg_pool{1,2,3}d,
 * aten::adaptive_max_pool{1,2,3}d. Unbatched inputs (no N dim) are
 * unsqueezed around the ONNX op.
 *
 * Indices: PyTorch's count within each (n, c) plane, ONNX MaxPool's over
 * the whole tensor (row-major); the plane's offset is subtracted. */
#include <string.h>

#include "../internal.h"

/* Most windows one adaptive pooling may make (each is a few nodes). */
#define MAX_WINDOWS 4096

/* Spatial rank from the op kind: "aten::max_pool2d" -> 2,
 * "aten::max_pool2d_with_indices" -> 2. */
static int spatial_rank(const char *kind)
{
	const char *d = strstr(kind, "d_with_indices");
	size_t len = d ? (size_t)(d - kind) + 1 : strlen(kind);
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

/* Binds values y and indices idx (squeezed back when unbatched). */
static int pool_outputs(p2o_cx *cx, const pts_node *n, uint32_t y,
			uint32_t idx, bool unbatched)
{
	static const int64_t zero = 0;
	if (unbatched && idx != P2O_NOVAL)
		idx = p2o_squeeze(cx, idx, &zero, 1);
	if (idx == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 1, idx);
	return pool_output(cx, n, y, unbatched);
}

/* A MaxPool/AveragePool node over x with its window attributes and n_out
 * outputs (MaxPool's second: indices); the caller adds the op's own. */
static uint32_t window_node_n(p2o_cx *cx, const char *op, uint32_t x,
			      const int64_t *k, const int64_t *s,
			      const int64_t *pad, int sp, uint32_t n_out)
{
	int64_t pads[2 * P2O_MAX_RANK];
	for (int i = 0; i < sp; i++)
		pads[i] = pads[sp + i] = pad ? pad[i] : 0;
	uint32_t nd = p2o_node_new(cx, op, 1, &x, n_out);
	p2o_attr_ints(cx, nd, "kernel_shape", k, (size_t)sp);
	p2o_attr_ints(cx, nd, "strides", s, (size_t)sp);
	if (pad)
		p2o_attr_ints(cx, nd, "pads", pads, 2 * (size_t)sp);
	return nd;
}

static uint32_t window_node(p2o_cx *cx, const char *op, uint32_t x,
			    const int64_t *k, const int64_t *s,
			    const int64_t *pad, int sp)
{
	return window_node_n(cx, op, x, k, s, pad, sp, 1);
}

/* The offset of each (n, c) plane in ONNX MaxPool's indices of x, shaped
 * [N, C, 1...] to broadcast: the indices of a 1x1 max pool (each element's
 * own flat index) at spatial position 0. No size is needed. */
static uint32_t plane_offset(p2o_cx *cx, uint32_t x, int sp)
{
	int64_t one[P2O_MAX_RANK], zero[P2O_MAX_RANK], ax[P2O_MAX_RANK];
	for (int i = 0; i < sp; i++) {
		one[i] = 1;
		zero[i] = 0;
		ax[i] = 2 + i;
	}
	uint32_t nd = window_node_n(cx, "MaxPool", x, one, one, NULL, sp, 2);
	if (p2o_node_done(cx, nd) == P2O_NOVAL)
		return P2O_NOVAL;
	return p2o_slice(cx, p2o_n(cx, nd)->out[1], zero, one, ax, NULL,
			 (size_t)sp);
}

/* Binds a pooling op's values and PyTorch-style indices (ONNX MaxPool
 * node nd over x). */
static int pool_with_indices(p2o_cx *cx, const pts_node *n, uint32_t nd,
			     uint32_t x, int sp, bool unbatched)
{
	uint32_t y = p2o_node_done(cx, nd);
	if (y == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t idx = p2o_op2(cx, "Sub", p2o_n(cx, nd)->out[1],
			       plane_offset(cx, x, sp));
	return pool_outputs(cx, n, y, idx, unbatched);
}

/* aten::max_pool{1,2,3}d(input, kernel_size, stride, padding, dilation,
 *   ceil_mode), and max_pool{1,2,3}d_with_indices (values, indices). */
P2O_HANDLER(max_pool)
{
	bool with_indices = strstr(n->kind, "_with_indices") != NULL;
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
	    (dilated && (rc = p2o_need_opset(cx, 10, "dilated max pooling"))) ||
	    (with_indices && (rc = p2o_need_opset(cx, 8, "max pooling "
						       "indices"))))
		return rc;
	bool unbatched;
	uint32_t x = pool_input(cx, v[0].tensor, sp, &unbatched);
	if (x == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t nd = window_node_n(cx, "MaxPool", x, k, s, p, sp,
				    with_indices ? 2 : 1);
	if (dilated)
		p2o_attr_ints(cx, nd, "dilations", d, (size_t)sp);
	if (ceil_mode)
		p2o_attr_int(cx, nd, "ceil_mode", 1);
	if (with_indices)
		return pool_with_indices(cx, n, nd, x, sp, unbatched);
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
	/* divisor_override d divides each window's sum by d: the average
	 * over the full window, padding included, times K/d, when every
	 * window lies within the padded input (no ceil_mode). */
	int64_t divisor = 0;
	if (!v[6].none) {
		if (!v[6].k || v[6].k->kind != PTS_C_INT || v[6].k->i <= 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"divisor_override must be a constant "
					"positive int");
		if (ceil_mode)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"divisor_override with ceil_mode=True: "
					"windows past the input have no ONNX "
					"equivalent");
		divisor = v[6].k->i;
		include_pad = true;
	}
	if (ceil_mode && (rc = p2o_need_opset(cx, 10, "average pooling with "
						    "ceil_mode=True")))
		return rc;
	bool padded = false;
	for (int i = 0; i < sp; i++)
		padded = padded || p[i];
	/* PyTorch averages integers with integer division; AveragePool
	 * takes floating tensors only. */
	int dt = p2o_t(cx, v[0].tensor)->dtype;
	if (dt && !p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"average pooling of an integer tensor");
	bool unbatched;
	uint32_t x = pool_input(cx, v[0].tensor, sp, &unbatched);
	if (x == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t nd = window_node(cx, "AveragePool", x, k, s, p, sp);
	if (padded && include_pad)
		p2o_attr_int(cx, nd, "count_include_pad", 1);
	if (ceil_mode)
		p2o_attr_int(cx, nd, "ceil_mode", 1);
	uint32_t y = p2o_node_done(cx, nd);
	if (divisor && y != P2O_NOVAL) {
		int64_t kk = 1;
		for (int i = 0; i < sp; i++)
			kk *= k[i];
		if (kk != divisor)
			y = p2o_op2(cx, "Mul", y,
				    p2o_const_scalar(cx, p2o_t(cx, x)->dtype,
						     (double)kk / (double)divisor));
	}
	return pool_output(cx, n, y, unbatched);
}

/* PyTorch's adaptive window i of n over a length: [floor(i*len/n),
 * ceil((i+1)*len/n)). */
static void adaptive_window(int64_t len, int64_t n, int64_t i, int64_t *st,
			    int64_t *en)
{
	*st = i * len / n;
	*en = ((i + 1) * len + n - 1) / n;
}

/* Adaptive pooling's shared front: decodes output_size, unsqueezes an
 * unbatched x; *global says every output size is 1, *even that each
 * known input size divides by its output size (k then the window). */
static int adaptive_args(p2o_cx *cx, const pts_node *n, int sp, int64_t *o,
			 int64_t *k, uint32_t *x, bool *unbatched,
			 bool *global, bool *even)
{
	p2o_arg v[2];
	int rc;
	if ((rc = p2o_args(cx, n, "self:t output_size:is", v)) ||
	    (rc = pool_list(cx, &v[1], sp, o, NULL)))
		return rc;
	*x = pool_input(cx, v[0].tensor, sp, unbatched);
	if (*x == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	const p2o_type *t = p2o_t(cx, *x);
	*global = *even = true;
	for (int i = 0; i < sp; i++) {
		int64_t in = t->dims[2 + i].v;
		if (o[i] <= 0)
			return p2o_fail(cx, P2O_ERR_CONVERT, "output size %lld "
					"at spatial dim %d", (long long)o[i], i);
		*global = *global && o[i] == 1;
		*even = *even && in >= 0 && in % o[i] == 0;
		k[i] = in >= 0 ? in / o[i] : -1;
	}
	if (*global || *even)
		return P2O_OK;
	for (int i = 0; i < sp; i++)
		if (t->dims[2 + i].v < 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"adaptive pooling to size %lld needs a "
					"known input size at spatial dim %d (it "
					"is symbolic)",
					(long long)o[i], i);
	return P2O_OK;
}

/* aten::adaptive_avg_pool{1,2,3}d(input, output_size): global pooling for
 * output 1, a plain average pool where the input divides evenly, else
 * PyTorch's windows one axis at a time (a mean over a box is the mean of
 * the means of its rows): per window a Slice and a ReduceMean, then a
 * Concat. */
P2O_HANDLER(adaptive_avg_pool)
{
	int sp = spatial_rank(n->kind);
	int64_t o[P2O_MAX_RANK], k[P2O_MAX_RANK];
	uint32_t x;
	bool unbatched, global, even;
	int rc = adaptive_args(cx, n, sp, o, k, &x, &unbatched, &global, &even);
	if (rc)
		return rc;
	if (global)
		return pool_output(cx, n, p2o_op1(cx, "GlobalAveragePool", x),
				   unbatched);
	if (even) {
		bool same = true;
		for (int i = 0; i < sp; i++)
			same = same && k[i] == 1;
		if (same) /* output size == input size */
			return pool_output(cx, n, x, unbatched);
		return pool_output(cx, n,
				   p2o_node_done(cx, window_node(cx, "AveragePool",
								 x, k, k, NULL,
								 sp)),
				   unbatched);
	}
	uint32_t *parts = p2o_alloc(cx, sizeof *parts * MAX_WINDOWS);
	for (int i = 0; i < sp && x != P2O_NOVAL; i++) {
		int64_t len = p2o_t(cx, x)->dims[2 + i].v, ax = 2 + i;
		if (len == o[i])
			continue;
		if (o[i] > MAX_WINDOWS)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "adaptive pooling "
					"to %lld > %d windows along a dim",
					(long long)o[i], MAX_WINDOWS);
		for (int64_t j = 0; j < o[i]; j++) {
			int64_t st, en;
			adaptive_window(len, o[i], j, &st, &en);
			parts[j] = p2o_reduce(cx, "ReduceMean",
					      p2o_slice(cx, x, &st, &en, &ax,
							NULL, 1),
					      &ax, 1, true);
		}
		x = p2o_concat(cx, parts, (uint32_t)o[i], 2 + i);
	}
	return pool_output(cx, n, x, unbatched);
}

/* The flat index within its plane of a window's maximum: idx is the index
 * a MaxPool over exactly the window (slice of extent w at st of an input
 * of spatial size in) gives, counted over the whole slice; its position
 * in the window is idx mod |w|, recomposed with in's strides. Integer Div
 * of non-negative values is floor. */
static uint32_t window_index(p2o_cx *cx, uint32_t idx, const int64_t *st,
			     const int64_t *w, const int64_t *in, int sp)
{
	int64_t wsize = 1, base = 0, stride = 1;
	for (int i = sp - 1; i >= 0; i--) {
		base += st[i] * stride;
		stride *= in[i];
		wsize *= w[i];
	}
	uint32_t k = p2o_const_scalar(cx, P2O_INT64, (double)wsize);
	uint32_t rem = p2o_op2(cx, "Sub", idx,
			       p2o_op2(cx, "Mul", p2o_op2(cx, "Div", idx, k), k));
	uint32_t acc = p2o_const_scalar(cx, P2O_INT64, (double)base);
	/* rem = sum l_i * wstride_i; add l_i * instride_i. */
	int64_t wstride = wsize, istride = stride;
	for (int i = 0; i < sp; i++) {
		wstride /= w[i];
		istride /= in[i];
		uint32_t ws = p2o_const_scalar(cx, P2O_INT64, (double)wstride);
		uint32_t l = p2o_op2(cx, "Div", rem, ws);
		rem = p2o_op2(cx, "Sub", rem, p2o_op2(cx, "Mul", l, ws));
		acc = p2o_op2(cx, "Add", acc,
			      p2o_op2(cx, "Mul", l,
				      p2o_const_scalar(cx, P2O_INT64,
						       (double)istride)));
	}
	return acc;
}

/* Concatenates the windows' results (row-major over the output grid) axis
 * by axis, the last first; returns the one value left. */
static uint32_t concat_grid(p2o_cx *cx, uint32_t *v, const int64_t *o, int sp)
{
	int64_t count = 1;
	for (int i = 0; i < sp; i++)
		count *= o[i];
	for (int i = sp - 1; i >= 0; i--) {
		int64_t groups = count / o[i];
		for (int64_t g = 0; g < groups; g++)
			v[g] = p2o_concat(cx, v + g * o[i], (uint32_t)o[i], 2 + i);
		count = groups;
	}
	return v[0];
}

/* aten::adaptive_max_pool{1,2,3}d(input, output_size) -> (values,
 * indices): a max pool with indices where the input divides evenly, a
 * global one (ArgMax over the flattened plane for the indices) for output
 * 1, else one max pool per PyTorch window, its indices mapped back to the
 * plane. Indices nobody reads are removed with the rest of the dead code. */
P2O_HANDLER(adaptive_max_pool)
{
	int sp = spatial_rank(n->kind);
	int64_t o[P2O_MAX_RANK], k[P2O_MAX_RANK];
	uint32_t x;
	bool unbatched, global, even;
	int rc = adaptive_args(cx, n, sp, o, k, &x, &unbatched, &global, &even);
	if (rc)
		return rc;
	if (even) {
		uint32_t nd = window_node_n(cx, "MaxPool", x, k, k, NULL, sp, 2);
		return pool_with_indices(cx, n, nd, x, sp, unbatched);
	}
	if (global) {
		/* Symbolic spatial dims: no window size to give MaxPool. */
		static const int64_t flat[3] = { 0, 0, -1 }, more[2] = { 3, 4 };
		uint32_t y = p2o_op1(cx, "GlobalMaxPool", x);
		uint32_t nd = p2o_node_new(cx, "ArgMax", 1, (uint32_t[]){
					   p2o_reshape_to(cx, x, flat, 3) }, 1);
		p2o_attr_int(cx, nd, "axis", 2);
		uint32_t idx = p2o_node_done(cx, nd);
		if (sp > 1)
			idx = p2o_unsqueeze(cx, idx, more, (size_t)sp - 1);
		static const int64_t zero = 0;
		if (unbatched && idx != P2O_NOVAL)
			idx = p2o_squeeze(cx, idx, &zero, 1);
		if (idx == P2O_NOVAL)
			return P2O_ERR_CONVERT;
		p2o_set_tensor(cx, n, 1, idx);
		return pool_output(cx, n, y, unbatched);
	}
	const p2o_type *t = p2o_t(cx, x);
	int64_t count = 1, in[P2O_MAX_RANK];
	for (int i = 0; i < sp; i++) {
		count *= o[i];
		in[i] = t->dims[2 + i].v;
	}
	if (count > MAX_WINDOWS)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "adaptive max pooling "
				"to %lld > %d windows of unequal sizes",
				(long long)count, MAX_WINDOWS);
	uint32_t *vals = p2o_alloc(cx, sizeof *vals * (size_t)count);
	uint32_t *idxs = p2o_alloc(cx, sizeof *idxs * (size_t)count);
	for (int64_t w = 0; w < count; w++) {
		int64_t st[P2O_MAX_RANK], en[P2O_MAX_RANK], ext[P2O_MAX_RANK],
			ax[P2O_MAX_RANK], rest = w;
		for (int i = sp - 1; i >= 0; i--) {
			adaptive_window(in[i], o[i], rest % o[i], &st[i], &en[i]);
			rest /= o[i];
			ext[i] = en[i] - st[i];
			ax[i] = 2 + i;
		}
		uint32_t part = p2o_slice(cx, x, st, en, ax, NULL, (size_t)sp);
		if (part == P2O_NOVAL)
			return P2O_ERR_CONVERT;
		uint32_t nd = window_node_n(cx, "MaxPool", part, ext, ext, NULL,
					    sp, 2);
		vals[w] = p2o_node_done(cx, nd);
		if (vals[w] == P2O_NOVAL)
			return P2O_ERR_CONVERT;
		idxs[w] = window_index(cx, p2o_n(cx, nd)->out[1], st, ext, in, sp);
	}
	uint32_t y = concat_grid(cx, vals, o, sp);
	uint32_t idx = concat_grid(cx, idxs, o, sp);
	return pool_outputs(cx, n, y, idx, unbatched);
}
