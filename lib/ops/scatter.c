/* scatter.c — writing into tensors, as new values: aten::scatter (src and
 * value forms, reduce), scatter_add, scatter_reduce, index_put,
 * index_add/index_copy, and the masks tril/triu. */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* src cut to the shape of idx (PyTorch's scatter reads only that corner
 * of a larger src; ONNX wants updates shaped as the indices). */
static uint32_t fit_to(p2o_cx *cx, uint32_t src, uint32_t idx)
{
	const p2o_type *s = p2o_t(cx, src), *t = p2o_t(cx, idx);
	if (src == P2O_NOVAL || idx == P2O_NOVAL)
		return P2O_NOVAL;
	if (s->rank != t->rank || t->rank < 0) {
		p2o_fail(cx, P2O_ERR_CONVERT, "src and index differ in rank");
		return P2O_NOVAL;
	}
	bool same = true, known = true;
	for (int i = 0; i < t->rank; i++) {
		same = same && p2o_dim_eq(s->dims[i], t->dims[i]);
		known = known && t->dims[i].v >= 0;
	}
	if (same)
		return src;
	int64_t st[P2O_MAX_RANK], en[P2O_MAX_RANK], ax[P2O_MAX_RANK];
	for (int i = 0; i < t->rank; i++) {
		st[i] = 0;
		en[i] = t->dims[i].v;
		ax[i] = i;
	}
	if (known)
		return p2o_slice(cx, src, st, en, ax, NULL, (size_t)t->rank);
	if (p2o_need_opset(cx, 10, "scatter of a src larger than a "
			   "symbolic index"))
		return P2O_NOVAL;
	uint32_t in[4] = { src, p2o_const_i64s(cx, st, (size_t)t->rank),
			   p2o_op1(cx, "Shape", idx),
			   p2o_const_i64s(cx, ax, (size_t)t->rank) };
	if (in[2] == P2O_NOVAL)
		return P2O_NOVAL;
	return p2o_node_done(cx, p2o_node_new(cx, "Slice", 4, in, 1));
}

/* A number argument as a tensor of dtype, expanded to the shape of like. */
static uint32_t fill_like(p2o_cx *cx, const pts_node *n, int32_t at,
			  int dtype, uint32_t like)
{
	uint32_t val = p2o_arg_tensor_as(cx, n, (uint32_t)at, dtype);
	return p2o_op2(cx, "Expand", val, p2o_op1(cx, "Shape", like));
}

static int scatter_dim(p2o_cx *cx, uint32_t x, int64_t dim, int64_t *d)
{
	return p2o_index_dim(cx, x, dim, "scattering into", d);
}

/* aten::scatter.src/.value(self, dim, index, src|value) and their
 * .reduce/.value_reduce forms (reduce="add"|"multiply"). */
P2O_HANDLER(scatter)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t dim:i index:t src|value:v reduce:s?",
			  v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, idx = v[2].tensor, upd;
	int64_t d;
	if ((rc = scatter_dim(cx, x, v[1].i, &d)))
		return rc;
	const char *red = NULL;
	if (!v[4].none) {
		if (strcmp(v[4].s, "add") == 0)
			red = "add";
		else if (strcmp(v[4].s, "multiply") == 0)
			red = "mul";
		else
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "scatter "
					"reduce='%s'", v[4].s);
	}
	/* Scatter is from opset 9, its reductions from ScatterElements-16:
	 * the row is at 7 so that each form names the opset it needs. */
	if ((rc = p2o_need_opset(cx, red ? 16 : 9, red ? "scatter with reduce" :
				 "scatter")))
		return rc;
	int dt = p2o_t(cx, x)->dtype;
	if (p2o_arg_is_number(cx, n, (uint32_t)v[3].idx))
		upd = fill_like(cx, n, v[3].idx, dt, idx);
	else
		upd = p2o_cast(cx, fit_to(cx, p2o_arg_tensor(
					cx, n, (uint32_t)v[3].idx), idx), dt);
	return p2o_set_result(cx, n, p2o_scatter_elements(cx, x, idx, upd,
							  (int)d, red));
}

/* aten::scatter_add(self, dim, index, src). */
P2O_HANDLER(scatter_add)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t dim:i index:t src:t", v);
	if (rc)
		return rc;
	int64_t d;
	if ((rc = scatter_dim(cx, v[0].tensor, v[1].i, &d)))
		return rc;
	uint32_t upd = fit_to(cx, v[3].tensor, v[2].tensor);
	return p2o_set_result(cx, n, p2o_scatter_elements(
				      cx, v[0].tensor, v[2].tensor, upd, (int)d,
				      "add"));
}

/* aten::scatter_reduce.two(self, dim, index, src, reduce,
 * include_self=True): sum/prod/amax/amin are ScatterElements reductions;
 * include_self=False first resets the written places to the reduction's
 * identity; mean is a sum over a count. */
P2O_HANDLER(scatter_reduce)
{
	p2o_arg v[6];
	int rc = p2o_args(cx, n,
			  "self:t dim:i index:t src:t reduce:s include_self:b",
			  v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, idx = v[2].tensor;
	int64_t d;
	if ((rc = scatter_dim(cx, x, v[1].i, &d)))
		return rc;
	int dt = p2o_t(cx, x)->dtype;
	const char *r = v[4].s, *red;
	double ident;
	bool fl = p2o_dtype_is_float(dt);
	if (strcmp(r, "sum") == 0 || strcmp(r, "mean") == 0) {
		red = "add";
		ident = 0;
	} else if (strcmp(r, "prod") == 0) {
		red = "mul";
		ident = 1;
	} else if (strcmp(r, "amax") == 0 || strcmp(r, "amin") == 0) {
		bool mx = r[2] == 'a';
		red = mx ? "max" : "min";
		if (!fl && !v[5].b)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"scatter_reduce '%s' of integers with "
					"include_self=False", r);
		ident = mx ? -INFINITY : INFINITY;
	} else {
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"scatter_reduce reduce='%s'", r);
	}
	if ((rc = p2o_need_opset(cx, r[0] == 'a' ? 18 : 16,
				 p2o_fmt(cx, "scatter_reduce '%s'", r))))
		return rc;
	bool mean = strcmp(r, "mean") == 0;
	if (mean && !fl)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"scatter_reduce 'mean' of integers (floor "
				"division)");
	uint32_t upd = p2o_cast(cx, fit_to(cx, v[3].tensor, idx), dt);
	uint32_t base = x;
	if (!v[5].b) {
		uint32_t id = p2o_op2(cx, "Expand",
				      p2o_const_scalar(cx, dt, ident),
				      p2o_op1(cx, "Shape", idx));
		base = p2o_scatter_elements(cx, x, idx, id, (int)d, NULL);
	}
	uint32_t y = p2o_scatter_elements(cx, base, idx, upd, (int)d, red);
	if (!mean || y == P2O_NOVAL)
		return p2o_set_result(cx, n, y);
	/* The count of values averaged in each place: 1 for self when
	 * included, plus one per index naming it. Places nobody writes keep
	 * self. */
	uint32_t shape = p2o_op1(cx, "Shape", x);
	uint32_t c0 = p2o_op2(cx, "Expand",
			      p2o_const_scalar(cx, dt, v[5].b ? 1 : 0), shape);
	uint32_t ones = p2o_op2(cx, "Expand", p2o_const_scalar(cx, dt, 1),
				p2o_op1(cx, "Shape", idx));
	uint32_t cnt = p2o_scatter_elements(cx, c0, idx, ones, (int)d, "add");
	uint32_t zero = p2o_const_scalar(cx, dt, 0);
	uint32_t none = p2o_op2(cx, "Equal", cnt, zero);
	uint32_t safe = p2o_op2(cx, "Add", cnt, p2o_cast(cx, none, dt));
	uint32_t avg = p2o_op2(cx, "Div", y, safe);
	if (none == P2O_NOVAL || avg == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t in[3] = { none, x, avg };
	return p2o_set_result(cx, n, p2o_node_done(cx, p2o_node_new(
						   cx, "Where", 3, in, 1)));
}

/* index expanded to the shape of src, along dim d: each slice of src
 * along d is written at the place index names for it. */
static uint32_t spread_index(p2o_cx *cx, uint32_t idx, uint32_t src, int d)
{
	int rank = p2o_t(cx, src)->rank;
	int64_t shp[P2O_MAX_RANK];
	for (int i = 0; i < rank; i++)
		shp[i] = i == d ? -1 : 1;
	uint32_t col = p2o_reshape_to(cx, p2o_cast(cx, idx, P2O_INT64), shp,
				      rank);
	return p2o_op2(cx, "Expand", col, p2o_op1(cx, "Shape", src));
}

/* aten::index_add(self, dim, index, source, alpha=1) and
 * aten::index_copy(self, dim, index, source): the index spread over
 * source's shape, then a ScatterElements (with add for index_add). */
static int index_write(p2o_cx *cx, const pts_node *n, bool add)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, add ?
			  "self:t dim:i index:t source:t alpha:v?" :
			  "self:t dim:i index:t source:t", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, src = v[3].tensor;
	int64_t d;
	if ((rc = scatter_dim(cx, x, v[1].i, &d)))
		return rc;
	int dt = p2o_t(cx, x)->dtype;
	if (p2o_t(cx, src)->rank != p2o_t(cx, x)->rank)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "index_%s of a source "
				"of another rank", add ? "add" : "copy");
	src = p2o_cast(cx, src, dt);
	if (add && !v[4].none && v[4].idx >= 0) {
		const pts_const *k = v[4].k;
		if (!k || (k->kind == PTS_C_INT ? k->i != 1 : k->f != 1.0))
			src = p2o_op2(cx, "Mul", src, p2o_arg_tensor_as(
					cx, n, (uint32_t)v[4].idx, dt));
	}
	uint32_t idx = p2o_index_norm(cx, v[2].tensor, x, (int)d);
	idx = spread_index(cx, idx, src, (int)d);
	return p2o_set_result(cx, n, p2o_scatter_elements(
				      cx, x, idx, src, (int)d,
				      add ? "add" : NULL));
}

P2O_HANDLER(index_add)
{
	return index_write(cx, n, true);
}

P2O_HANDLER(index_copy)
{
	return index_write(cx, n, false);
}

/* aten::tril(self, diagonal=0) and aten::triu: Trilu from opset 14; below
 * it (and for dtypes ONNX Runtime's Trilu lacks), a constant mask of the
 * last two dims (known sizes) and a Where (opset 9). Registered from 7 so
 * that each form names the opset it needs. */
static int trilu(p2o_cx *cx, const pts_node *n, bool upper)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t diagonal:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int64_t k = v[1].i;
	const p2o_type *t = p2o_t(cx, x);
	if (t->rank < 2)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"%s needs a tensor of 2 or more dims",
				upper ? "triu" : "tril");
	int dt = t->dtype;
	/* ONNX Runtime's Trilu kernels: float, double, int64, bool. */
	bool kernel = dt == P2O_FLOAT || dt == P2O_DOUBLE || dt == P2O_INT64 ||
		      dt == P2O_BOOL;
	int64_t h = t->dims[t->rank - 2].v, w = t->dims[t->rank - 1].v;
	bool sym = h < 0 || w < 0;
	if (p2o_onnx_version(cx, "Trilu") && (kernel || sym)) {
		uint32_t in[2] = { x, p2o_const_scalar(cx, P2O_INT64, (double)k) };
		uint32_t nd = p2o_node_new(cx, "Trilu", 2, in, 1);
		p2o_attr_int(cx, nd, "upper", upper);
		return p2o_set_result(cx, n, p2o_node_done(cx, nd));
	}
	if (sym)
		return p2o_need_opset(cx, 14, p2o_fmt(cx, "%s of symbolic "
						      "matrix dims",
						      upper ? "triu" : "tril"));
	if ((rc = p2o_need_opset(cx, 9, upper ? "triu" : "tril")))
		return rc;
	if (h * w > (1 << 24))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s mask of %lld "
				"elements", upper ? "triu" : "tril",
				(long long)(h * w));
	uint8_t *m = p2o_alloc(cx, (size_t)(h * w) + 1);
	for (int64_t i = 0; i < h; i++)
		for (int64_t j = 0; j < w; j++)
			m[i * w + j] = upper ? j - i >= k : j - i <= k;
	p2o_tensor *mt = p2o_alloc(cx, sizeof *mt);
	int64_t *dims = p2o_alloc(cx, sizeof *dims * 2);
	dims[0] = h;
	dims[1] = w;
	*mt = (p2o_tensor){ P2O_BOOL, 2, dims, m, (size_t)(h * w) };
	uint32_t in[3] = { p2o_initializer(cx, mt, NULL), x,
			   p2o_const_scalar(cx, dt, 0) };
	return p2o_set_result(cx, n, p2o_node_done(cx, p2o_node_new(
						   cx, "Where", 3, in, 1)));
}

P2O_HANDLER(tril)
{
	return trilu(cx, n, false);
}

P2O_HANDLER(triu)
{
	return trilu(cx, n, true);
}

/* src cast to x's dtype and broadcast to the shape of view (what copy_
 * does to the value it writes). Expand is from opset 8; before, src must
 * already have the view's shape. */
static uint32_t fit_value(p2o_cx *cx, uint32_t src, uint32_t view, int dt)
{
	if (src == P2O_NOVAL || view == P2O_NOVAL)
		return P2O_NOVAL;
	src = p2o_cast(cx, src, dt);
	const p2o_type *s = p2o_t(cx, src), *t = p2o_t(cx, view);
	bool same = s->rank == t->rank && t->rank >= 0;
	for (int i = 0; same && i < t->rank; i++)
		same = p2o_dim_eq(s->dims[i], t->dims[i]);
	if (same)
		return src;
	if (p2o_need_opset(cx, 8, "writing a value of another shape"))
		return P2O_NOVAL;
	return p2o_op2(cx, "Expand", src, p2o_op1(cx, "Shape", view));
}

#define NOPART (UINT32_MAX - 1) /* concat3: no such part */

/* a ++ b ++ c along axis; a or c may be NOPART. */
static uint32_t concat3(p2o_cx *cx, uint32_t a, uint32_t b, uint32_t c,
			int axis)
{
	uint32_t in[3];
	uint32_t k = 0;
	if (a != NOPART)
		in[k++] = a;
	in[k++] = b;
	if (c != NOPART)
		in[k++] = c;
	for (uint32_t i = 0; i < k; i++)
		if (in[i] == P2O_NOVAL)
			return P2O_NOVAL;
	if (k == 1)
		return in[0];
	uint32_t nd = p2o_node_new(cx, "Concat", k, in, 1);
	p2o_attr_int(cx, nd, "axis", axis);
	return p2o_node_done(cx, nd);
}

/* aten::slice_scatter(self, src, dim=0, start=None, end=None, step=1):
 * self with self[start:end:step] along dim replaced by src (also what
 * `x[:, 1:3] = y` becomes, see the shim). Step 1 is x[:start] ++ src ++
 * x[end:], which a symbolic dim allows when the bounds are not negative;
 * another step writes at known places with ScatterElements. */
P2O_HANDLER(slice_scatter)
{
	p2o_arg v[6];
	int rc = p2o_args(cx, n, "self:t src:t dim:i start:i? end:i? step:i",
			  v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	int64_t d, step = v[5].i;
	if (t->rank <= 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "slice_scatter into "
				"a 0-dim or unknown-rank tensor");
	if ((rc = p2o_norm_dim(cx, v[2].i, t->rank, &d)))
		return rc;
	if (step <= 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "slice step %lld",
				(long long)step);
	int64_t len = t->dims[d].v;
	int64_t s = v[3].none ? 0 : v[3].i, e = v[4].none ? INT64_MAX : v[4].i;
	int dt = t->dtype;
	if (len >= 0) {
		s = s < 0 ? s + len : s;
		e = e < 0 ? e + len : e;
		s = s < 0 ? 0 : s > len ? len : s;
		e = e < 0 ? 0 : e > len ? len : e;
	} else if (s < 0 || e < 0) {
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "writing into a slice "
				"with negative bounds of a symbolic dim");
	}
	if (e < s)
		e = s;
	if (step == 1) {
		int64_t zero = 0, big = INT64_MAX;
		uint32_t view = p2o_slice(cx, x, &s, &e, &d, NULL, 1);
		uint32_t mid = fit_value(cx, v[1].tensor, view, dt);
		uint32_t left = s == 0 ? NOPART :
				p2o_slice(cx, x, &zero, &s, &d, NULL, 1);
		uint32_t right = (len >= 0 && e >= len) || e == INT64_MAX ?
				 NOPART : p2o_slice(cx, x, &e, &big, &d, NULL, 1);
		return p2o_set_result(cx, n, concat3(cx, left, mid, right,
						     (int)d));
	}
	if (len < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "writing into a "
				"stepped slice of a symbolic dim");
	if ((rc = p2o_need_opset(cx, 10, "writing into a stepped slice")))
		return rc;
	int64_t cnt = e > s ? (e - s + step - 1) / step : 0;
	if (cnt == 0)
		return p2o_set_result(cx, n, x);
	int64_t *at = p2o_alloc(cx, sizeof *at * (size_t)cnt);
	for (int64_t i = 0; i < cnt; i++)
		at[i] = s + i * step;
	uint32_t view = p2o_slice(cx, x, &s, &e, &d, &step, 1);
	uint32_t upd = fit_value(cx, v[1].tensor, view, dt);
	uint32_t idx = spread_index(cx, p2o_const_i64s(cx, at, (size_t)cnt),
				    upd, (int)d);
	return p2o_set_result(cx, n, p2o_scatter_elements(cx, x, idx, upd,
							  (int)d, NULL));
}

/* aten::select_scatter(self, src, dim, index): self with self.select(dim,
 * index) replaced by src: x[:i] ++ src[None] ++ x[i+1:] along dim (also
 * what `x[0] = 5` becomes, see the shim). */
P2O_HANDLER(select_scatter)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t src:t dim:i index:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	int64_t d, i = v[3].i;
	if (t->rank <= 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "select_scatter into "
				"a 0-dim or unknown-rank tensor");
	if ((rc = p2o_norm_dim(cx, v[2].i, t->rank, &d)))
		return rc;
	int64_t len = t->dims[d].v;
	if (len >= 0) {
		if (i < -len || i >= len)
			return p2o_fail(cx, P2O_ERR_CONVERT, "index %lld out of "
					"range for a dim of %lld", (long long)i,
					(long long)len);
		i = i < 0 ? i + len : i;
	}
	/* Slice's ends count from the back for a negative index, so a
	 * symbolic length needs no size: x[:-2] ++ v ++ x[-1:]. */
	int64_t zero = 0, big = INT64_MAX, i1 = i + 1;
	uint32_t view = p2o_squeeze(cx, p2o_slice(cx, x, &i,
						  i1 == 0 ? &big : &i1, &d,
						  NULL, 1), &d, 1);
	uint32_t mid = p2o_unsqueeze(cx, fit_value(cx, v[1].tensor, view,
						   t->dtype), &d, 1);
	uint32_t left = i == 0 ? NOPART : p2o_slice(cx, x, &zero, &i, &d,
						    NULL, 1);
	uint32_t right = i1 == 0 || (len >= 0 && i1 >= len) ? NOPART :
			 p2o_slice(cx, x, &i1, &big, &d, NULL, 1);
	return p2o_set_result(cx, n, concat3(cx, left, mid, right, (int)d));
}

/* aten::index_fill(self, dim, index, value): value written at the index
 * places of dim, through ScatterElements with the index spread over the
 * shape of the written part (self's, with dim as long as index). */
P2O_HANDLER(index_fill)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t dim:i index:t value:v", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int64_t d, one = 1;
	if ((rc = scatter_dim(cx, x, v[1].i, &d)))
		return rc;
	int rank = p2o_t(cx, x)->rank, dt = p2o_t(cx, x)->dtype;
	if ((rc = p2o_need_opset(cx, 9, "index_fill")))
		return rc;
	uint32_t idx = v[2].tensor;
	if (p2o_t(cx, idx)->rank == 0) /* one index */
		idx = p2o_reshape_to(cx, idx, &one, 1);
	idx = p2o_index_norm(cx, idx, x, (int)d);
	uint32_t parts[3], k = 0;
	if (d > 0)
		parts[k++] = p2o_dims_value(cx, x, 0, (int)d);
	parts[k++] = p2o_op1(cx, "Shape", idx);
	if (d + 1 < rank)
		parts[k++] = p2o_dims_value(cx, x, (int)d + 1, rank);
	uint32_t shape = parts[0];
	if (k > 1) {
		for (uint32_t i = 0; i < k; i++)
			if (parts[i] == P2O_NOVAL)
				return P2O_ERR_CONVERT;
		uint32_t nd = p2o_node_new(cx, "Concat", k, parts, 1);
		p2o_attr_int(cx, nd, "axis", 0);
		shape = p2o_node_done(cx, nd);
	}
	uint32_t val = p2o_arg_tensor_as(cx, n, (uint32_t)v[3].idx, dt);
	if (p2o_t(cx, val)->dtype != dt)
		val = p2o_cast(cx, val, dt);
	uint32_t upd = p2o_op2(cx, "Expand", val, shape);
	return p2o_set_result(cx, n, p2o_scatter_elements(
				      cx, x, spread_index(cx, idx, upd, (int)d),
				      upd, (int)d, NULL));
}

/* aten::masked_scatter(self, mask, source): the places where the
 * (broadcast) mask is true take source's elements in order: the k-th true
 * place reads source.flatten()[k]. Places where it is false read some
 * element too, which the Where drops. */
P2O_HANDLER(masked_scatter)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t mask:t source:t", v);
	if (rc)
		return rc;
	if ((rc = p2o_need_opset(cx, 11, "masked_scatter")))
		return rc;
	uint32_t x = v[0].tensor, dt = (uint32_t)p2o_t(cx, x)->dtype;
	uint32_t m = p2o_cast(cx, v[1].tensor, P2O_BOOL);
	uint32_t shape = p2o_op1(cx, "Shape", x);
	m = p2o_op2(cx, "Expand", m, shape);
	int64_t m1 = -1;
	uint32_t flat = p2o_cast(cx, p2o_reshape_to(cx, m, &m1, 1), P2O_INT64);
	if (flat == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	/* An exclusive CumSum counts the true places before each one. */
	uint32_t cs = p2o_node_new(cx, "CumSum", 2, (uint32_t[]){
		flat, p2o_const_scalar(cx, P2O_INT64, 0) }, 1);
	p2o_attr_int(cx, cs, "exclusive", 1);
	uint32_t pos = p2o_node_done(cx, cs);
	uint32_t src = p2o_reshape_to(cx, p2o_cast(cx, v[2].tensor, (int)dt),
				      &m1, 1);
	uint32_t got = p2o_op2(cx, "Gather", src, pos);
	got = p2o_reshape(cx, got, shape);
	uint32_t in[3] = { m, got, x };
	for (int i = 0; i < 3; i++)
		if (in[i] == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	return p2o_set_result(cx, n, p2o_node_done(cx, p2o_node_new(
						   cx, "Where", 3, in, 1)));
}
