/* resize.c — resizing: aten::upsample_nearest{1,2,3}d,
 * aten::_upsample_nearest_exact{1,2,3}d, aten::upsample_linear1d,
 * aten::upsample_bilinear2d, aten::upsample_bicubic2d and
 * aten::upsample_trilinear3d, in their .vec overloads (output_size or
 * scale_factors) and the older ones (output_size and optional scales).
 *
 * PyTorch maps output index d to input coordinate (align_corners)
 * d * (in-1)/(out-1), else (d + 0.5) * scale - 0.5 (linear and cubic) or
 * d * scale (nearest), floor((d + 0.5) * scale) (nearest-exact), where
 * scale is 1/scale_factor when one is given and in/out otherwise. Hence
 * a given scale factor goes to Resize as scales (ONNX then uses it the
 * same way), an output size as sizes. */
#include <string.h>

#include "../internal.h"

/* Reads a float list argument (a constant, or a list of constants) into
 * v; *cnt 0 when None. */
static int float_list(p2o_cx *cx, const pts_node *n, const p2o_arg *a,
		      double *v, size_t *cnt)
{
	*cnt = 0;
	if (a->none)
		return P2O_OK;
	if (a->k && a->k->kind == PTS_C_FLOATS && a->k->n <= P2O_MAX_RANK) {
		memcpy(v, a->k->floats, sizeof *v * a->k->n);
		*cnt = a->k->n;
		return P2O_OK;
	}
	const p2o_tv *tv = a->idx >= 0 ? p2o_tvin(cx, n, (uint32_t)a->idx) : NULL;
	if (tv && tv->kind == P2O_TV_LIST && tv->n <= P2O_MAX_RANK) {
		for (uint32_t i = 0; i < tv->n; i++) {
			const p2o_tv *it = &P2O_TV(cx, tv->items[i]);
			if (it->kind != P2O_TV_CONST ||
			    (it->k->kind != PTS_C_FLOAT &&
			     it->k->kind != PTS_C_INT))
				goto dynamic;
			v[i] = it->k->kind == PTS_C_FLOAT ? it->k->f :
							    (double)it->k->i;
		}
		*cnt = tv->n;
		return P2O_OK;
	}
dynamic:
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s is computed at run time; "
			"pt2onnx needs it constant", a->decl->name);
}

/* One PyTorch interpolation of x (rank sp + 2): mode "nearest",
 * "nearest-exact", "linear" or "cubic"; the output size from size (an
 * argument: a constant int list or int, or a list known at run time; may
 * be none) or scale factors sc (nsc of them, may be 0). With both (the
 * older overloads), PyTorch sizes by size and maps coordinates by the
 * scales. */
static int interpolate(p2o_cx *cx, const pts_node *n, uint32_t x, int sp,
		       const char *mode, bool align, const p2o_arg *size,
		       const double *sc, size_t nsc)
{
	p2o_resize_how how = { "nearest", "asymmetric", "floor", NULL, NULL,
			       P2O_NOVAL };
	if (strcmp(mode, "nearest-exact") == 0) {
		/* floor((d + 0.5) * scale) is half_pixel's
		 * (d + 0.5) * scale - 0.5 rounded half up. */
		how.coord = "half_pixel";
		how.nearest = "round_prefer_ceil";
	} else if (strcmp(mode, "nearest")) {
		how.mode = mode;
		/* Not pytorch_half_pixel: PyTorch has no special case for an
		 * output of length 1. */
		how.coord = align ? "align_corners" : "half_pixel";
	}
	const p2o_type *t = p2o_t(cx, x);
	if (t->rank != sp + 2)
		return p2o_fail(cx, P2O_ERR_CONVERT, "input has rank %d; %s takes "
				"rank %d; check --input-shape", t->rank, n->kind,
				sp + 2);
	if (nsc && nsc != (size_t)sp)
		return p2o_fail(cx, P2O_ERR_CONVERT, "%zu scale factors for %d "
				"spatial dims", nsc, sp);
	for (size_t i = 0; i < nsc; i++)
		if (!(sc[i] > 0))
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"scale factor %g is not positive", sc[i]);
	int64_t out[P2O_MAX_RANK];
	size_t nout = 0;
	bool have_size = !size->none;
	const pts_const *k = size->k;
	bool static_size = have_size && k &&
			   (k->kind == PTS_C_INTS || k->kind == PTS_C_INT);
	if (static_size) {
		nout = k->kind == PTS_C_INT ? (size_t)sp : k->n;
		if (nout != (size_t)sp)
			return p2o_fail(cx, P2O_ERR_CONVERT, "output_size has %zu "
					"entries for %d spatial dims", nout, sp);
		for (int i = 0; i < sp; i++)
			out[i] = k->kind == PTS_C_INT ? k->i : k->ints[i];
	}
	if (nsc) {
		/* ONNX's size from scales, floor(in * scale), must be the
		 * size PyTorch was given. */
		for (int i = 0; have_size && i < sp; i++) {
			int64_t in = t->dims[2 + i].v;
			if (!static_size || in < 0 ||
			    (int64_t)((double)in * sc[i]) != out[i])
				return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
						"output_size and scales that "
						"ONNX cannot both honour");
		}
		/* PyTorch's linear modes leave an axis whose size the scale
		 * does not change as it is, whatever the scale says. */
		double *own = p2o_memdup(cx, sc, sizeof *sc * nsc);
		for (int i = 0; strcmp(how.mode, "linear") == 0 && !align &&
				i < sp; i++) {
			int64_t in = t->dims[2 + i].v;
			if (in >= 0 && (int64_t)((double)in * own[i]) == in)
				own[i] = 1;
			else if (in < 0 && own[i] > 1 && own[i] < 1.5)
				/* in < 1/(s-1) keeps its size, so not known */
				return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
						"linear scaling by %g of a symbolic "
						"spatial dim: PyTorch leaves dims "
						"it does not resize as they are",
						own[i]);
		}
		how.scales = own;
	} else if (!have_size) {
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"neither output_size nor scale factors given");
	} else {
		/* PyTorch then maps by in/out, as ONNX does with sizes. */
		how.out = static_size ? out : NULL;
		uint32_t parts[2] = { p2o_dims_value(cx, x, 0, 2), P2O_NOVAL };
		parts[1] = static_size ? p2o_const_i64s(cx, out, nout) :
					 p2o_arg_shape(cx, n, (uint32_t)size->idx);
		how.sizes = p2o_concat(cx, parts, 2, 0);
		if (how.sizes == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	return p2o_set_result(cx, n, p2o_resize(cx, x, &how));
}

/* The upsample ops. */
P2O_HANDLER(upsample)
{
	const char *kind = n->kind;
	size_t len = strlen(kind);
	int sp = kind[len - 2] - '0';
	const char *mode = strstr(kind, "nearest_exact") ? "nearest-exact" :
			   strstr(kind, "linear")	 ? "linear" :
			   strstr(kind, "cubic")	 ? "cubic" :
							   "nearest";
	bool vec = p2o_overload_is(n, "vec");
	p2o_arg v[6];
	int rc = p2o_args(cx, n, vec ? "input:t output_size:v? align_corners:b? "
				       "scale_factors:v?" :
				       "self:t output_size:v align_corners:b? "
				       "scales_d|scales:f? scales_h:f? scales_w:f?",
			  v);
	if (rc)
		return rc;
	if (strcmp(mode, "nearest") && strcmp(mode, "nearest-exact") &&
	    v[2].none)
		return p2o_fail(cx, P2O_ERR_CONVERT, "align_corners is missing");
	double sc[P2O_MAX_RANK];
	size_t nsc = 0;
	if (vec) {
		if ((rc = float_list(cx, n, &v[3], sc, &nsc)))
			return rc;
	} else {
		/* Old overloads: scales (1d), scales_h and scales_w (2d),
		 * scales_d, _h and _w (3d); all or none. */
		int have = 0;
		for (int i = sp == 2 ? 4 : 3; i < (sp == 1 ? 4 : 6); i++)
			if (!v[i].none)
				sc[have++] = v[i].f;
		if (have && have != sp)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"scales given for some spatial dims only");
		nsc = (size_t)have;
	}
	return interpolate(cx, n, v[0].tensor, sp, mode, v[2].b, &v[1], sc,
			   nsc);
}

/* aten::__interpolate(input, size, scale_factor, mode, align_corners,
 * recompute_scale_factor, antialias), in its four overloads (size an int
 * or a list, scale_factor a float or a list): what F.interpolate was in
 * archives of older PyTorch. */
P2O_HANDLER(interpolate)
{
	p2o_arg v[7];
	int rc = p2o_args(cx, n, "input:t size:v? scale_factor:v? mode:s "
				 "align_corners:b? recompute_scale_factor:b? "
				 "antialias:b?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int sp = p2o_t(cx, x)->rank - 2;
	if (sp < 1 || sp > 3)
		return p2o_fail(cx, P2O_ERR_CONVERT, "input has rank %d; "
				"interpolation takes rank 3 to 5", sp + 2);
	if (!v[6].none && v[6].b)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "antialias=True has no "
				"ONNX Resize equivalent in PyTorch's form");
	const char *m = v[3].s, *mode;
	static const char *const linear[3] = { "linear", "bilinear",
					       "trilinear" };
	if (strcmp(m, "nearest") == 0 || strcmp(m, "nearest-exact") == 0)
		mode = m;
	else if (strcmp(m, linear[sp - 1]) == 0)
		mode = "linear";
	else if (strcmp(m, "bicubic") == 0 && sp == 2)
		mode = "cubic";
	else
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "interpolation mode '%s' "
				"of a rank-%d input", m, sp + 2);
	bool linear_like = strcmp(mode, "linear") == 0 ||
			   strcmp(mode, "cubic") == 0;
	if (!linear_like && !v[4].none && v[4].b)
		return p2o_fail(cx, P2O_ERR_CONVERT, "align_corners with mode "
				"'%s'", m);
	double sc[P2O_MAX_RANK];
	size_t nsc = 0;
	if (!v[2].none && v[2].k && v[2].k->kind == PTS_C_FLOAT) {
		for (int i = 0; i < sp; i++)
			sc[i] = v[2].k->f;
		nsc = (size_t)sp;
	} else if ((rc = float_list(cx, n, &v[2], sc, &nsc))) {
		return rc;
	}
	if (nsc && !v[1].none)
		return p2o_fail(cx, P2O_ERR_CONVERT, "both size and "
				"scale_factor given");
	if (nsc && !v[5].none && v[5].b) {
		/* recompute_scale_factor: the size floor(in * scale), then
		 * coordinates by in/out. */
		const p2o_type *t = p2o_t(cx, x);
		int64_t out[P2O_MAX_RANK];
		for (int i = 0; i < sp; i++) {
			if (t->dims[2 + i].v < 0)
				return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
						"recompute_scale_factor=True "
						"over a symbolic spatial dim");
			out[i] = (int64_t)((double)t->dims[2 + i].v * sc[i]);
		}
		pts_const *k = p2o_new_const(cx, PTS_C_INTS);
		k->n = (size_t)sp;
		k->ints = p2o_memdup(cx, out, sizeof *out * (size_t)sp);
		p2o_arg size = { .k = k, .idx = -1 };
		return interpolate(cx, n, x, sp, mode, false, &size, NULL, 0);
	}
	return interpolate(cx, n, x, sp, mode, !v[4].none && v[4].b, &v[1],
			   sc, nsc);
}

/* Dims [from, to) of x as a 1-D value, divided (div) or multiplied by k. */
static uint32_t dims_scaled(p2o_cx *cx, uint32_t x, int from, int to,
			    int64_t k, bool div)
{
	uint32_t d = p2o_dims_value(cx, x, from, to);
	if (k == 1)
		return d;
	return p2o_op2(cx, div ? "Div" : "Mul", d,
		       p2o_const_i64s(cx, &k, 1));
}

/* aten::pixel_shuffle(self, upscale_factor) and
 * aten::pixel_unshuffle(self, downscale_factor): [*, C*r*r, H, W] <->
 * [*, C, H*r, W*r], channel c*r*r + i*r + j holding pixel (i, j) of each
 * r x r block. As Reshape, Transpose, Reshape with sizes from the graph,
 * so any leading and symbolic dims pass; exact at every opset. */
P2O_HANDLER(pixel_shuffle)
{
	bool un = strstr(n->kind, "unshuffle") != NULL;
	p2o_arg v[2];
	int rc = p2o_args(cx, n, un ? "self:t downscale_factor:i" :
				      "self:t upscale_factor:i", v);
	if (rc)
		return rc;
	int64_t r = v[1].i;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	if (rank < 3 || rank + 2 > P2O_MAX_RANK)
		return p2o_fail(cx, P2O_ERR_CONVERT, "input has rank %d; %s "
				"takes rank 3 or more", rank, n->kind);
	if (r <= 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "factor %lld", (long long)r);
	int b = rank - 3; /* leading dims, kept */
	uint32_t rv = p2o_const_i64s(cx, &r, 1);
	/* Shapes as lists of 1-D parts; the leading dims first if any. */
	uint32_t split[6], merged[4];
	uint32_t ns = 0, nm = 0;
	if (b) {
		split[ns++] = merged[nm++] = p2o_dims_value(cx, x, 0, b);
	}
	int64_t perm[P2O_MAX_RANK];
	for (int i = 0; i < b; i++)
		perm[i] = i;
	static const int64_t p_shuffle[5] = { 0, 3, 1, 4, 2 },
			     p_unshuffle[5] = { 0, 2, 4, 1, 3 };
	if (!un) {
		/* [*, C, r, r, H, W] -> [*, C, H, r, W, r] */
		split[ns++] = merged[nm++] = dims_scaled(cx, x, b, b + 1, r * r,
							 true);
		split[ns++] = rv;
		split[ns++] = rv;
		split[ns++] = p2o_dims_value(cx, x, b + 1, b + 3);
		merged[nm++] = dims_scaled(cx, x, b + 1, b + 3, r, false);
	} else {
		/* [*, C, H, r, W, r] -> [*, C, r, r, H, W] */
		uint32_t h = dims_scaled(cx, x, b + 1, b + 2, r, true);
		uint32_t w = dims_scaled(cx, x, b + 2, b + 3, r, true);
		split[ns++] = p2o_dims_value(cx, x, b, b + 1);
		split[ns++] = h;
		split[ns++] = rv;
		split[ns++] = w;
		split[ns++] = rv;
		merged[nm++] = dims_scaled(cx, x, b, b + 1, r * r, false);
		merged[nm++] = h;
		merged[nm++] = w;
	}
	for (int i = 0; i < 5; i++)
		perm[b + i] = b + (un ? p_unshuffle : p_shuffle)[i];
	uint32_t y = p2o_reshape(cx, x, p2o_concat(cx, split, ns, 0));
	y = p2o_transpose(cx, y, perm, rank + 2);
	return p2o_set_result(cx, n, p2o_reshape(cx, y,
						 p2o_concat(cx, merged, nm, 0)));
}

/* aten::channel_shuffle(self, groups) and native_channel_shuffle:
 * [N, C, *] viewed as [N, g, C/g, *], the two group dims swapped. */
P2O_HANDLER(channel_shuffle)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t groups:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int64_t g = v[1].i, minus1 = -1;
	if (p2o_t(cx, x)->rank < 2 || g <= 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "channel_shuffle of rank %d "
				"in %lld groups", p2o_t(cx, x)->rank,
				(long long)g);
	uint32_t parts[4] = { p2o_dims_value(cx, x, 0, 1),
			      p2o_const_i64s(cx, &g, 1),
			      dims_scaled(cx, x, 1, 2, g, true),
			      p2o_const_i64s(cx, &minus1, 1) };
	static const int64_t perm[4] = { 0, 2, 1, 3 };
	uint32_t y = p2o_reshape(cx, x, p2o_concat(cx, parts, 4, 0));
	y = p2o_transpose(cx, y, perm, 4);
	return p2o_set_result(cx, n, p2o_reshape(cx, y,
						 p2o_dims_value(cx, x, 0,
								p2o_t(cx, x)->rank)));
}

/* aten::grid_sampler(input, grid, interpolation_mode, padding_mode,
 * align_corners), grid_sampler_2d and grid_sampler_3d: GridSample (from
 * 16; 3-D sampling from 20, where GridSample becomes N-D). PyTorch's
 * modes and padding and ONNX's are the same, as its grid's layout (and
 * PyTorch wants input and grid of one dtype, as ONNX does). */
P2O_HANDLER(grid_sampler)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "input:t grid:t interpolation_mode:i "
				 "padding_mode:i align_corners:b", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, grid = v[1].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t mode = v[2].i, pad = v[3].i;
	if (mode < 0 || mode > 2 || pad < 0 || pad > 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "grid sampling mode %lld, "
				"padding mode %lld", (long long)mode,
				(long long)pad);
	if (rank != 4 && rank != 5)
		return p2o_fail(cx, P2O_ERR_CONVERT, "input has rank %d; grid "
				"sampling takes rank 4 or 5", rank);
	if ((rc = p2o_need_opset(cx, rank == 5 ? 20 : 16,
				 rank == 5 ? "volumetric grid sampling" :
					     "grid sampling")))
		return rc;
	if (rank == 5 && mode == 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"bicubic volumetric grid sampling");
	return p2o_set_result(cx, n, p2o_grid_sample(cx, x, grid, (int)mode,
						     (int)pad, v[4].b));
}

/* The windows of a sliding view along axis: for offset i of size, x[i*d
 * : len - (size-1-i)*d : step], whose count is the window count; the end
 * counts from the end, so no size is needed. */
static uint32_t window_slice(p2o_cx *cx, uint32_t x, int64_t axis,
			     int64_t i, int64_t size, int64_t dil,
			     int64_t step)
{
	int64_t st = i * dil, back = (size - 1 - i) * dil;
	int64_t en = back ? -back : INT64_MAX;
	return p2o_slice(cx, x, &st, &en, &axis, &step, 1);
}

/* aten::unfold(self, dimension, size, step) (Tensor.unfold): dimension
 * becomes the window count, a last dim of `size` holds each window. One
 * Slice per window offset, stacked along a new last axis. */
P2O_HANDLER(unfold)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t dimension:i size:i step:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t dim, size = v[2].i, step = v[3].i;
	if (rank < 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "unfolding a tensor of "
				"%s rank", rank < 0 ? "unknown" : "zero");
	if ((rc = p2o_norm_dim(cx, v[1].i, rank, &dim)))
		return rc;
	if (size <= 0 || step <= 0 || size > P2O_MAX_SPLIT)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "unfold size %lld step "
				"%lld", (long long)size, (long long)step);
	uint32_t *parts = p2o_alloc(cx, sizeof *parts * (size_t)size);
	int64_t last = rank;
	for (int64_t i = 0; i < size; i++) {
		parts[i] = p2o_unsqueeze(cx, window_slice(cx, x, dim, i, size, 1,
							  step),
					 &last, 1);
		if (parts[i] == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	return p2o_set_result(cx, n, p2o_concat(cx, parts, (uint32_t)size,
						rank));
}

/* Two-entry int list arguments of im2col/col2im (one int repeats). */
static int pair(p2o_cx *cx, const p2o_arg *a, int64_t *v)
{
	size_t cnt;
	int rc = p2o_arg_ints_to(cx, a, v, 2, &cnt);
	if (rc)
		return rc;
	if (cnt == 1)
		v[1] = v[0];
	else if (cnt != 2)
		return p2o_fail(cx, P2O_ERR_CONVERT, "%s has %zu entries",
				a->decl->name, cnt);
	return P2O_OK;
}

/* aten::im2col(self, kernel_size, dilation, padding, stride) (F.unfold):
 * [N, C, H, W] -> [N, C*kh*kw, L], channel c*kh*kw + i*kw + j holding
 * offset (i, j) of every window. Zero padding, then one strided Slice per
 * kernel offset, stacked and flattened. */
P2O_HANDLER(im2col)
{
	p2o_arg v[5];
	int64_t k[2], d[2], p[2], s[2];
	int rc;
	if ((rc = p2o_args(cx, n, "self:t kernel_size:is dilation:is "
				  "padding:is stride:is", v)) ||
	    (rc = pair(cx, &v[1], k)) || (rc = pair(cx, &v[2], d)) ||
	    (rc = pair(cx, &v[3], p)) || (rc = pair(cx, &v[4], s)))
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	static const int64_t zero = 0;
	if (rank == 3)
		x = p2o_unsqueeze(cx, x, &zero, 1);
	else if (rank != 4)
		return p2o_fail(cx, P2O_ERR_CONVERT, "input has rank %d; im2col "
				"takes rank 3 or 4", rank);
	if (k[0] <= 0 || k[1] <= 0 || d[0] <= 0 || d[1] <= 0 || s[0] <= 0 ||
	    s[1] <= 0 || p[0] < 0 || p[1] < 0 || k[0] * k[1] > P2O_MAX_SPLIT)
		return p2o_fail(cx, P2O_ERR_CONVERT, "bad im2col window");
	if (p[0] || p[1]) {
		int64_t pads[8] = { 0, 0, p[0], p[1], 0, 0, p[0], p[1] };
		x = p2o_pad(cx, x, pads, 4, 0);
	}
	uint32_t *parts = p2o_alloc(cx, sizeof *parts * (size_t)(k[0] * k[1]));
	static const int64_t two = 2;
	for (int64_t i = 0; i < k[0]; i++)
		for (int64_t j = 0; j < k[1]; j++) {
			uint32_t w = window_slice(cx, x, 2, i, k[0], d[0], s[0]);
			w = window_slice(cx, w, 3, j, k[1], d[1], s[1]);
			parts[i * k[1] + j] = p2o_unsqueeze(cx, w, &two, 1);
			if (parts[i * k[1] + j] == P2O_NOVAL)
				return P2O_ERR_CONVERT;
		}
	uint32_t y = p2o_concat(cx, parts, (uint32_t)(k[0] * k[1]), 2);
	/* [N, C, K, oh, ow] -> [N, C*K, oh*ow] */
	if (y == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	int64_t minus1 = -1;
	uint32_t shape[3] = { p2o_dims_value(cx, x, 0, 1),
			      dims_scaled(cx, x, 1, 2, k[0] * k[1], false),
			      p2o_const_i64s(cx, &minus1, 1) };
	y = p2o_reshape(cx, y, p2o_concat(cx, shape, 3, 0));
	if (rank == 3)
		y = p2o_squeeze(cx, y, &zero, 1);
	return p2o_set_result(cx, n, y);
}

/* aten::col2im(self, output_size, kernel_size, dilation, padding, stride)
 * (F.fold): Col2Im, from opset 18. */
P2O_HANDLER(col2im)
{
	p2o_arg v[6];
	int64_t o[2], k[2], d[2], p[2], s[2];
	int rc;
	if ((rc = p2o_args(cx, n, "self:t output_size:is kernel_size:is "
				  "dilation:is padding:is stride:is", v)) ||
	    (rc = pair(cx, &v[1], o)) || (rc = pair(cx, &v[2], k)) ||
	    (rc = pair(cx, &v[3], d)) || (rc = pair(cx, &v[4], p)) ||
	    (rc = pair(cx, &v[5], s)))
		return rc;
	if ((rc = p2o_need_opset(cx, 18, "col2im (fold)")))
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	static const int64_t zero = 0;
	if (rank == 2)
		x = p2o_unsqueeze(cx, x, &zero, 1);
	else if (rank != 3)
		return p2o_fail(cx, P2O_ERR_CONVERT, "input has rank %d; col2im "
				"takes rank 2 or 3", rank);
	uint32_t in[3] = { x, p2o_const_i64s(cx, o, 2),
			   p2o_const_i64s(cx, k, 2) };
	uint32_t nd = p2o_node_new(cx, "Col2Im", 3, in, 1);
	int64_t pads[4] = { p[0], p[1], p[0], p[1] };
	p2o_attr_ints(cx, nd, "dilations", d, 2);
	p2o_attr_ints(cx, nd, "pads", pads, 4);
	p2o_attr_ints(cx, nd, "strides", s, 2);
	uint32_t y = p2o_node_done(cx, nd);
	if (rank == 2 && y != P2O_NOVAL)
		y = p2o_squeeze(cx, y, &zero, 1);
	return p2o_set_result(cx, n, y);
}

/* PyTorch's affine-grid coordinates along one dim of count steps:
 * linspace(-1, 1), pulled in by (count-1)/count without align_corners; a
 * single step is 0. */
static double grid_coord(int64_t i, int64_t count, bool align_corners)
{
	if (count <= 1)
		return 0;
	double c = -1 + 2.0 * (double)i / (double)(count - 1);
	return align_corners ? c : c * (double)(count - 1) / (double)count;
}

/* aten::affine_grid_generator(theta, size, align_corners): PyTorch's
 * formula, base grid [1, H*W, 3] of (x, y, 1) (or (x, y, z, 1) over
 * D*H*W) times theta transposed, so every opset takes it; size must be
 * constant (the grid is a constant). */
P2O_HANDLER(affine_grid_generator)
{
	p2o_arg v[3];
	int64_t size[5];
	size_t ns;
	int rc;
	if ((rc = p2o_args(cx, n, "theta:t size:is align_corners:b", v)) ||
	    (rc = p2o_arg_ints_to(cx, &v[1], size, 5, &ns)))
		return rc;
	if (ns != 4 && ns != 5)
		return p2o_fail(cx, P2O_ERR_CONVERT, "affine grid of %zu dims",
				ns);
	int sp = (int)ns - 2;
	int64_t count = 1;
	for (int i = 2; i < (int)ns; i++)
		count *= size[i];
	if (count <= 0 || count > ((int64_t)1 << 24))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "affine grid of %lld "
				"points", (long long)count);
	uint32_t theta = v[0].tensor;
	int dt = p2o_t(cx, theta)->dtype;
	double *base = p2o_alloc(cx, sizeof *base * (size_t)count *
					     (size_t)(sp + 1));
	for (int64_t q = 0; q < count; q++) {
		int64_t rest = q;
		double *row = base + q * (sp + 1);
		/* Row-major over (D,) H, W; coordinates in (x, y, z) order:
		 * x runs along W, the last dim. */
		for (int i = sp - 1; i >= 0; i--) {
			int64_t len = size[2 + i];
			row[sp - 1 - i] = grid_coord(rest % len, len,
						     v[2].b);
			rest /= len;
		}
		row[sp] = 1;
	}
	int64_t bdims[3] = { 1, count, sp + 1 };
	static const int64_t perm[3] = { 0, 2, 1 };
	uint32_t g = p2o_op2(cx, "MatMul",
			     p2o_const_data(cx, dt, bdims, 3, base),
			     p2o_transpose(cx, theta, perm, 3));
	/* [N, count, sp] -> [N, (D,) H, W, sp] */
	int64_t tail[4];
	for (int i = 0; i < sp; i++)
		tail[i] = size[2 + i];
	tail[sp] = sp;
	uint32_t shape[2] = { p2o_dims_value(cx, theta, 0, 1),
			      p2o_const_i64s(cx, tail, (size_t)sp + 1) };
	return p2o_set_result(cx, n, p2o_reshape(cx, g,
						 p2o_concat(cx, shape, 2, 0)));
}
