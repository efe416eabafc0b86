/* reduce.c — reductions: sum, mean, prod, amax/amin, max/min (all their
 * overloads, and prim::max/min of numbers), argmax/argmin, aminmax,
 * all/any, logsumexp, var/std (and _mean), the norms, cumsum/cumprod/
 * logcumsumexp and count_nonzero. */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* The dtype a reduction runs in: ONNX Runtime lacks most Reduce*, ArgMax
 * and CumSum kernels for half floats and small integers. PyTorch
 * accumulates half floats in float32 too, and widening integers for a
 * max/min/argmax/product is exact. */
#define wide p2o_wide_dtype

/* Reduce op over axes of x in its widened dtype, the result in x's. */
static uint32_t reduce_wide(p2o_cx *cx, const char *op, uint32_t x,
			    const int64_t *axes, size_t n, bool keep)
{
	int dt = p2o_t(cx, x)->dtype;
	uint32_t y = p2o_reduce(cx, op, p2o_cast(cx, x, wide(dt)), axes, n,
				keep);
	return y == P2O_NOVAL ? y : p2o_cast(cx, y, dt);
}

/* ReduceMax/ReduceMin that propagate NaN as PyTorch does (ONNX Runtime's
 * skip NaN): on floats, plus the sum of the NaN entries, which is NaN when
 * there is one and 0 otherwise. IsNaN and Where need opset 9. */
static uint32_t reduce_extreme(p2o_cx *cx, const char *op, uint32_t x,
			       const int64_t *axes, size_t n, bool keep)
{
	int dt = p2o_t(cx, x)->dtype;
	if (!p2o_dtype_is_float(dt))
		return reduce_wide(cx, op, x, axes, n, keep);
	if (p2o_need_opset(cx, 9, "max/min of floats (NaN propagation needs "
				  "IsNaN)"))
		return P2O_NOVAL;
	uint32_t w = p2o_cast(cx, x, wide(dt));
	uint32_t nan = p2o_select(cx, p2o_op1(cx, "IsNaN", w), w,
				  p2o_const_scalar(cx, wide(dt), 0));
	uint32_t y = p2o_op2(cx, "Add", p2o_reduce(cx, op, w, axes, n, keep),
			     p2o_reduce(cx, "ReduceSum", nan, axes, n, keep));
	return y == P2O_NOVAL ? y : p2o_cast(cx, y, dt);
}

/* ArgMax/ArgMin of x (already widened) along axis: the first index, and on
 * floats the first NaN's when there is one, as PyTorch gives (ONNX
 * Runtime's skip NaN). */
static uint32_t arg_extreme(p2o_cx *cx, bool is_max, uint32_t w, int64_t axis,
			    bool keep)
{
	/* ArgMax's default select_last_index=0 is PyTorch's first index. */
	uint32_t nd = p2o_node_new(cx, is_max ? "ArgMax" : "ArgMin", 1, &w, 1);
	p2o_attr_int(cx, nd, "axis", axis);
	p2o_attr_int(cx, nd, "keepdims", keep);
	uint32_t idx = p2o_node_done(cx, nd);
	if (idx == P2O_NOVAL || !p2o_dtype_is_float(p2o_t(cx, w)->dtype))
		return idx;
	if (p2o_need_opset(cx, 9, "argmax/argmin of floats (NaN propagation "
				  "needs IsNaN)"))
		return P2O_NOVAL;
	uint32_t isn = p2o_cast(cx, p2o_op1(cx, "IsNaN", w), P2O_INT32);
	nd = p2o_node_new(cx, "ArgMax", 1, &isn, 1);
	p2o_attr_int(cx, nd, "axis", axis);
	p2o_attr_int(cx, nd, "keepdims", keep);
	uint32_t first = p2o_node_done(cx, nd);
	uint32_t any = p2o_cast(cx, p2o_reduce(cx, "ReduceMax", isn, &axis, 1,
					       keep), P2O_BOOL);
	return p2o_select(cx, any, first, idx);
}

/* Axes of a dim-list argument, normalized against rank; None or [] (and
 * any dims of a 0-D tensor) give n == 0: all axes. */
static int axes_of(p2o_cx *cx, const p2o_arg *a, int rank, int64_t *axes,
		   size_t *n)
{
	int rc;
	*n = 0;
	if (a->none)
		return P2O_OK;
	if ((rc = p2o_arg_ints_to(cx, a, axes, P2O_MAX_RANK, n)))
		return rc;
	for (size_t i = 0; i < *n; i++)
		if ((rc = p2o_norm_dim(cx, axes[i], rank, &axes[i])))
			return rc;
	if (rank == 0)
		*n = 0;
	return P2O_OK;
}

/* The number of elements over axes of x (all when n == 0) as a 0-D value of
 * dtype dt: a constant when those dims are known, else from the shape. */
static uint32_t reduced_count(p2o_cx *cx, uint32_t x, const int64_t *axes,
			      size_t n, int dt)
{
	const p2o_type *t = p2o_t(cx, x);
	int64_t all[P2O_MAX_RANK];
	if (n == 0) {
		for (int i = 0; i < t->rank; i++)
			all[i] = i;
		axes = all;
		n = (size_t)t->rank;
	}
	int64_t k = 1;
	bool known = true;
	for (size_t i = 0; i < n; i++) {
		if (t->dims[axes[i]].v < 0)
			known = false;
		else
			k *= t->dims[axes[i]].v;
	}
	if (known)
		return p2o_const_scalar(cx, dt, (double)k);
	uint32_t c = P2O_NOVAL;
	for (size_t i = 0; i < n; i++) {
		uint32_t d = p2o_dim_value(cx, x, (int)axes[i]);
		c = c == P2O_NOVAL ? d : p2o_op2(cx, "Mul", c, d);
	}
	return p2o_cast(cx, c, dt);
}

/* ---- sum, mean, prod ------------------------------------------------------ */

/* aten::X(self, *, dtype=None) and aten::X.dim_IntList/dim_int(self, dim,
 * keepdim=False, *, dtype=None); an overload without dim reduces over every
 * axis. int_to_long: integers and bools give int64, as PyTorch's sum and
 * prod do. */
static int reduction(p2o_cx *cx, const pts_node *n, const char *op,
		     bool int_to_long)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t dim:is? keepdim:b? dtype:dtype?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t axes[P2O_MAX_RANK];
	size_t n_axes;
	bool keep = !v[2].none && v[2].b;
	if ((rc = axes_of(cx, &v[1], rank, axes, &n_axes)))
		return rc;
	int dt = p2o_t(cx, x)->dtype;
	if (!v[3].none)
		dt = v[3].dtype;
	else if (int_to_long && p2o_dtype_category(dt) < 2)
		dt = P2O_INT64; /* sum of integers or bools is int64 */
	else if (!int_to_long && p2o_dtype_category(dt) < 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"mean of an integer or bool tensor without a "
				"floating dtype= (an error in PyTorch)");
	x = p2o_cast(cx, x, dt);
	if (rank == 0)
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, reduce_wide(cx, op, x, axes, n_axes,
						 keep));
}

P2O_HANDLER(mean)
{
	return reduction(cx, n, "ReduceMean", false);
}

/* aten::sum.int(int[] self) of a list whose items are known here (the
 * checks scripted code makes on sizes, `sum(shift_size) > 0`). */
static int sum_ints(p2o_cx *cx, const pts_node *n)
{
	const p2o_tv *l = p2o_tvin(cx, n, 0);
	int64_t total = 0;
	if (l->kind == P2O_TV_CONST && l->k->kind == PTS_C_INTS) {
		for (size_t i = 0; i < l->k->n; i++)
			total += l->k->ints[i];
		return p2o_set_int(cx, n, 0, total);
	}
	for (uint32_t i = 0; l->kind == P2O_TV_LIST && i < l->n; i++) {
		const p2o_tv *it = &P2O_TV(cx, l->items[i]);
		if (it->kind != P2O_TV_CONST || it->k->kind != PTS_C_INT)
			break;
		total += it->k->i;
		if (i + 1 == l->n)
			return p2o_set_int(cx, n, 0, total);
	}
	if (l->kind == P2O_TV_LIST && l->n == 0)
		return p2o_set_int(cx, n, 0, 0);
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"sum of a list of ints known only at run time");
}

P2O_HANDLER(sum)
{
	if (p2o_overload_is(n, "int"))
		return sum_ints(cx, n);
	return reduction(cx, n, "ReduceSum", true);
}

P2O_HANDLER(prod)
{
	return reduction(cx, n, "ReduceProd", true);
}

/* ---- max, min and their relatives ----------------------------------------- */

/* Elementwise maximum (or minimum) of a and b, already of one dtype: Max
 * broadcasts from version 8 and takes integers from 12; integers before
 * that are Where(Greater) (9+), bools are Or/And. */
static uint32_t max2(p2o_cx *cx, uint32_t a, uint32_t b, bool is_max)
{
	int dt = p2o_t(cx, a)->dtype;
	const char *op = is_max ? "Max" : "Min";
	if (dt == P2O_BOOL)
		return p2o_op2(cx, is_max ? "Or" : "And", a, b);
	if (p2o_dtype_is_int(dt) && p2o_onnx_version(cx, op) < 12) {
		if (p2o_need_opset(cx, 9, is_max ? "maximum of integers" :
					     "minimum of integers"))
			return P2O_NOVAL;
		uint32_t c = p2o_op2(cx, is_max ? "Greater" : "Less", a, b);
		return p2o_select(cx, c, a, b);
	}
	if (p2o_onnx_version(cx, op) < 8) {
		/* No broadcasting before Max-8: only equal known shapes; and
		 * ONNX Runtime's Max-6 takes float32 only. */
		const p2o_type *ta = p2o_t(cx, a), *tb = p2o_t(cx, b);
		bool same = ta->rank == tb->rank && p2o_dims_known(ta) &&
			    p2o_dims_known(tb) && dt == P2O_FLOAT;
		for (int i = 0; same && i < ta->rank; i++)
			same = ta->dims[i].v == tb->dims[i].v;
		if (!same && p2o_need_opset(cx, 8, is_max ?
					    "maximum with broadcasting or of "
					    "float64" :
					    "minimum with broadcasting or of "
					    "float64"))
			return P2O_NOVAL;
	}
	return p2o_op2(cx, op, a, b);
}

/* aten::maximum/max.other(self, other) in PyTorch's promoted dtype. */
static int binary_max(p2o_cx *cx, const pts_node *n, bool is_max)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t other:t", v);
	if (rc)
		return rc;
	uint32_t a = v[0].tensor, b = v[1].tensor;
	const p2o_type *ta = p2o_t(cx, a), *tb = p2o_t(cx, b);
	int dt = p2o_promote(ta->dtype, ta->rank != 0, tb->dtype,
			     tb->rank != 0);
	/* Max has no half-float kernel in ONNX Runtime before its recent
	 * versions; the max of two halves is exact in float32. */
	int w = dt == P2O_FLOAT16 || dt == P2O_BFLOAT16 ? P2O_FLOAT : dt;
	uint32_t y = max2(cx, p2o_cast(cx, a, w), p2o_cast(cx, b, w), is_max);
	return p2o_set_result(cx, n, y == P2O_NOVAL ? y : p2o_cast(cx, y, dt));
}

/* Values and indices of the max/min along one dim (max.dim, min.dim). */
static int max_dim(p2o_cx *cx, const pts_node *n, uint32_t x, int64_t dim,
		   bool keep, bool is_max)
{
	int rank = p2o_t(cx, x)->rank;
	int64_t d;
	int rc = p2o_norm_dim(cx, dim, rank, &d);
	if (rc)
		return rc;
	if (rank == 0) {
		p2o_set_tensor(cx, n, 0, x);
		p2o_set_tensor(cx, n, 1, p2o_const_scalar(cx, P2O_INT64, 0));
		return P2O_OK;
	}
	uint32_t val = reduce_extreme(cx, is_max ? "ReduceMax" : "ReduceMin",
				      x, &d, 1, keep);
	int dt = p2o_t(cx, x)->dtype;
	uint32_t idx = arg_extreme(cx, is_max, p2o_cast(cx, x, wide(dt)), d,
				   keep);
	if (val == P2O_NOVAL || idx == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 0, val);
	p2o_set_tensor(cx, n, 1, idx);
	return P2O_OK;
}

/* aten::max(self), max.dim(self, dim, keepdim=False) -> (values, indices),
 * max.other(self, other); the same for min. */
static int max_any(p2o_cx *cx, const pts_node *n, bool is_max)
{
	if (p2o_overload_is(n, "other"))
		return binary_max(cx, n, is_max);
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i? keepdim:b?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	if (!v[1].none)
		return max_dim(cx, n, x, v[1].i, !v[2].none && v[2].b, is_max);
	if (p2o_t(cx, x)->rank == 0)
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, reduce_extreme(cx, is_max ? "ReduceMax" :
						    "ReduceMin", x, NULL, 0,
						 false));
}

P2O_HANDLER(max)
{
	return max_any(cx, n, true);
}

P2O_HANDLER(min)
{
	return max_any(cx, n, false);
}

/* aten::amax/amin(self, dim=[], keepdim=False). */
static int amax_any(p2o_cx *cx, const pts_node *n, const char *op)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:is? keepdim:b?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int64_t axes[P2O_MAX_RANK];
	size_t na;
	if ((rc = axes_of(cx, &v[1], p2o_t(cx, x)->rank, axes, &na)))
		return rc;
	if (p2o_t(cx, x)->rank == 0)
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, reduce_extreme(cx, op, x, axes, na,
						    !v[2].none && v[2].b));
}

P2O_HANDLER(amax)
{
	return amax_any(cx, n, "ReduceMax");
}

P2O_HANDLER(amin)
{
	return amax_any(cx, n, "ReduceMin");
}

/* aten::aminmax(self, *, dim=None, keepdim=False) -> (min, max); without
 * dim over every element, keepdim keeping every axis as size 1. */
P2O_HANDLER(aminmax)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i? keepdim:b?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t d = 0;
	bool keep = !v[2].none && v[2].b;
	if (!v[1].none && (rc = p2o_norm_dim(cx, v[1].i, rank, &d)))
		return rc;
	uint32_t lo = x, hi = x;
	if (rank > 0) {
		size_t na = v[1].none ? 0 : 1;
		lo = reduce_extreme(cx, "ReduceMin", x, &d, na, keep);
		hi = reduce_extreme(cx, "ReduceMax", x, &d, na, keep);
		if (lo == P2O_NOVAL || hi == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	p2o_set_tensor(cx, n, 0, lo);
	p2o_set_tensor(cx, n, 1, hi);
	return P2O_OK;
}

/* aten::argmax/argmin(self, dim=None, keepdim=False): without dim, the
 * index into the flattened tensor (keepdim then keeps every axis as 1). */
static int argmax_any(p2o_cx *cx, const pts_node *n, bool is_max)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i? keepdim:b?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	bool keep = !v[2].none && v[2].b;
	int64_t d = 0;
	if (!v[1].none && (rc = p2o_norm_dim(cx, v[1].i, rank, &d)))
		return rc;
	if (rank == 0)
		return p2o_set_result(cx, n, p2o_const_scalar(cx, P2O_INT64, 0));
	uint32_t w = p2o_cast(cx, x, wide(p2o_t(cx, x)->dtype));
	bool flat = v[1].none && rank > 1;
	if (flat) {
		int64_t m1 = -1;
		w = p2o_reshape_to(cx, w, &m1, 1);
	}
	uint32_t y = arg_extreme(cx, is_max, w, d, keep && !flat);
	if (flat && keep && y != P2O_NOVAL) {
		int64_t ones[P2O_MAX_RANK];
		for (int i = 0; i < rank; i++)
			ones[i] = 1;
		y = p2o_reshape_to(cx, y, ones, rank);
	}
	return p2o_set_result(cx, n, y);
}

P2O_HANDLER(argmax)
{
	return argmax_any(cx, n, true);
}

P2O_HANDLER(argmin)
{
	return argmax_any(cx, n, false);
}

/* prim::max/prim::min of two numbers or of a list of numbers (TorchScript
 * records them in size arithmetic): folded when every operand is a
 * constant, else Max/Min over 0-D values. */
static int prim_max_any(p2o_cx *cx, const pts_node *n, bool is_max)
{
	uint32_t ids[64];
	uint32_t k = 0;
	if (n->n_in == 1) {
		const p2o_tv *l = p2o_tvin(cx, n, 0);
		if (l->kind != P2O_TV_LIST || l->n == 0 || l->n > 64)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"max/min of this list is not supported");
		for (uint32_t i = 0; i < l->n; i++)
			ids[k++] = l->items[i];
	} else if (n->n_in == 2) {
		ids[k++] = n->in[0];
		ids[k++] = n->in[1];
	} else {
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"max/min with %u operands is not supported",
				n->n_in);
	}
	bool all_const = true, any_float = false;
	for (uint32_t i = 0; i < k; i++) {
		const p2o_tv *t = &P2O_TV(cx, ids[i]);
		/* A list item a handler made (or an unrolled loop pinned)
		 * has no TorchScript value: its binding tells its kind. */
		int kind = ids[i] < cx->g->n_values ?
				   (int)cx->g->values[ids[i]].kind :
			   t->kind == P2O_TV_CONST && t->k->kind == PTS_C_INT ?
				   PTS_V_INT :
			   t->kind == P2O_TV_CONST && t->k->kind == PTS_C_FLOAT ?
				   PTS_V_FLOAT :
			   t->kind == P2O_TV_TENSOR && t->scalar ?
				   (p2o_dtype_is_float(p2o_t(cx, t->onnx)->dtype) ?
					    PTS_V_FLOAT : PTS_V_INT) :
				   -1;
		if (kind != PTS_V_INT && kind != PTS_V_FLOAT)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"max/min of non-numbers is not "
					"supported");
		any_float |= kind == PTS_V_FLOAT;
		all_const &= t->kind == P2O_TV_CONST;
	}
	if (all_const) {
		double best = 0;
		int64_t ibest = 0;
		for (uint32_t i = 0; i < k; i++) {
			const pts_const *c = P2O_TV(cx, ids[i]).k;
			double f = c->kind == PTS_C_FLOAT ? c->f : (double)c->i;
			if (i == 0 || (is_max ? f > best : f < best) || f != f) {
				best = f;
				ibest = c->kind == PTS_C_FLOAT ? 0 : c->i;
			}
		}
		return any_float ? p2o_set_float(cx, n, 0, best)
				 : p2o_set_int(cx, n, 0, ibest);
	}
	int dt = any_float ? P2O_FLOAT : P2O_INT64;
	uint32_t y = P2O_NOVAL;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t t = p2o_cast(cx, p2o_value_tensor(cx, ids[i]), dt);
		y = i == 0 ? t : max2(cx, y, t, is_max);
		if (t == P2O_NOVAL || y == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	return p2o_set_result(cx, n, y);
}

P2O_HANDLER(prim_max)
{
	return prim_max_any(cx, n, true);
}

P2O_HANDLER(prim_min)
{
	return prim_max_any(cx, n, false);
}

/* ---- all, any, count_nonzero ----------------------------------------------- */

/* Whether each element is nonzero, as int32 0/1 (reducible by ORT). */
static uint32_t nonzero01(p2o_cx *cx, uint32_t x)
{
	return p2o_cast(cx, p2o_cast(cx, x, P2O_BOOL), P2O_INT32);
}

/* aten::all/any(self) and .dim(self, dim, keepdim=False): bool, or uint8
 * for a uint8 input as PyTorch gives. */
static int all_any(p2o_cx *cx, const pts_node *n, bool all)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:is? keepdim:b?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int dt = p2o_t(cx, x)->dtype, rank = p2o_t(cx, x)->rank;
	int64_t axes[P2O_MAX_RANK];
	size_t na;
	if ((rc = axes_of(cx, &v[1], rank, axes, &na)))
		return rc;
	int out = dt == P2O_UINT8 ? P2O_UINT8 : P2O_BOOL;
	uint32_t y = nonzero01(cx, x);
	if (rank > 0)
		y = p2o_reduce(cx, all ? "ReduceMin" : "ReduceMax", y, axes, na,
			       !v[2].none && v[2].b);
	return p2o_set_result(cx, n, p2o_cast(cx, y, out));
}

/* aten::all / any of a list of bools, ints or floats (all.bool(bool[]),
 * any.int(int[]) ...) whose items are known here: Python's all()/any()
 * over the checks scripted code makes. */
static int all_any_list(p2o_cx *cx, const pts_node *n, bool all)
{
	const p2o_tv *l = p2o_tvin(cx, n, 0);
	bool r = all;
	if (l->kind == P2O_TV_CONST && (l->k->kind == PTS_C_INTS ||
					l->k->kind == PTS_C_BOOLS)) {
		for (size_t i = 0; i < l->k->n; i++)
			r = all ? r && l->k->ints[i] : r || l->k->ints[i];
		return p2o_set_bool(cx, n, 0, r);
	}
	if (l->kind != P2O_TV_LIST)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"all/any of a list not built in the graph");
	for (uint32_t i = 0; i < l->n; i++) {
		const p2o_tv *it = &P2O_TV(cx, l->items[i]);
		if (it->kind != P2O_TV_CONST ||
		    (it->k->kind != PTS_C_BOOL && it->k->kind != PTS_C_INT &&
		     it->k->kind != PTS_C_FLOAT))
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"all/any of a list whose items are "
					"known only at run time");
		bool b = it->k->kind == PTS_C_FLOAT ? it->k->f != 0 : it->k->i != 0;
		r = all ? r && b : r || b;
	}
	return p2o_set_bool(cx, n, 0, r);
}

P2O_HANDLER(all)
{
	if (p2o_overload_is(n, "bool") || p2o_overload_is(n, "int") ||
	    p2o_overload_is(n, "float"))
		return all_any_list(cx, n, true);
	return all_any(cx, n, true);
}

P2O_HANDLER(any)
{
	if (p2o_overload_is(n, "bool") || p2o_overload_is(n, "int") ||
	    p2o_overload_is(n, "float"))
		return all_any_list(cx, n, false);
	return all_any(cx, n, false);
}

/* aten::count_nonzero(self, dim=None) / .dim_IntList(self, dim): int64. */
P2O_HANDLER(count_nonzero)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t dim:is?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t axes[P2O_MAX_RANK];
	size_t na;
	if ((rc = axes_of(cx, &v[1], rank, axes, &na)))
		return rc;
	uint32_t y = p2o_cast(cx, p2o_cast(cx, x, P2O_BOOL), P2O_INT64);
	if (rank > 0)
		y = p2o_reduce(cx, "ReduceSum", y, axes, na, false);
	return p2o_set_result(cx, n, y);
}

/* ---- logsumexp, var, std ---------------------------------------------------- */

/* The floating dtype PyTorch computes a float-only reduction of x in:
 * integers and bools become the default float32. */
static uint32_t as_float(p2o_cx *cx, uint32_t x)
{
	int dt = p2o_t(cx, x)->dtype;
	return p2o_dtype_is_float(dt) ? x : p2o_cast(cx, x, P2O_FLOAT);
}

/* aten::logsumexp(self, dim, keepdim=False). */
P2O_HANDLER(logsumexp)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:is keepdim:b?", v);
	if (rc)
		return rc;
	uint32_t x = as_float(cx, v[0].tensor);
	int64_t axes[P2O_MAX_RANK];
	size_t na;
	if ((rc = axes_of(cx, &v[1], p2o_t(cx, x)->rank, axes, &na)))
		return rc;
	if (p2o_t(cx, x)->rank == 0)
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, reduce_wide(cx, "ReduceLogSumExp", x, axes,
						 na, !v[2].none && v[2].b));
}

/* Variance of x over axes with Bessel's correction corr: sum((x - mean)^2)
 * / max(N - corr, 0), as PyTorch divides. *mean (when wanted) gets the
 * mean with the same keepdim. */
static uint32_t variance(p2o_cx *cx, uint32_t x, const int64_t *axes,
			 size_t na, bool keep, double corr, uint32_t *mean)
{
	int dt = p2o_t(cx, x)->dtype;
	x = p2o_cast(cx, x, wide(dt));
	int w = p2o_t(cx, x)->dtype;
	uint32_t m = p2o_reduce(cx, "ReduceMean", x, axes, na, true);
	uint32_t d = p2o_op2(cx, "Sub", x, m);
	uint32_t s = p2o_reduce(cx, "ReduceSum", p2o_op2(cx, "Mul", d, d), axes,
				na, keep);
	uint32_t cnt = reduced_count(cx, x, axes, na, w);
	uint32_t den = p2o_op1(cx, "Relu", p2o_op2(cx, "Sub", cnt,
					       p2o_const_scalar(cx, w, corr)));
	if (mean)
		*mean = p2o_cast(cx, keep ? m : p2o_reduce(cx, "ReduceMean", x,
							   axes, na, false), dt);
	return p2o_cast(cx, p2o_op2(cx, "Div", s, den), dt);
}

/* aten::var/std/var_mean/std_mean in their overloads: (self, unbiased=True),
 * .dim(self, dim, unbiased=True, keepdim=False), .correction(self, dim=None,
 * *, correction=None, keepdim=False). */
static int var_any(p2o_cx *cx, const pts_node *n, bool sqrt_, bool with_mean)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t dim:is? unbiased:b? keepdim:b? "
				 "correction:f?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	if (!p2o_dtype_is_float(p2o_t(cx, x)->dtype))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"var/std of a non-floating tensor (an error in "
				"PyTorch)");
	int rank = p2o_t(cx, x)->rank;
	int64_t axes[P2O_MAX_RANK];
	size_t na;
	if ((rc = axes_of(cx, &v[1], rank, axes, &na)))
		return rc;
	double corr = !v[4].none ? v[4].f : !v[2].none ? (double)v[2].b : 1;
	bool keep = !v[3].none && v[3].b;
	if (rank == 0) {
		/* One element: 0 without correction, else 0/0 = NaN. */
		uint32_t one = p2o_const_scalar(cx, P2O_FLOAT, 1 - corr > 0 ?
						1 - corr : 0);
		uint32_t z = p2o_op2(cx, "Mul", p2o_cast(cx, x, P2O_FLOAT),
				     p2o_const_scalar(cx, P2O_FLOAT, 0));
		uint32_t y = p2o_cast(cx, p2o_op2(cx, "Div", z, one),
				      p2o_t(cx, x)->dtype);
		p2o_set_tensor(cx, n, 0, y);
		if (with_mean)
			p2o_set_tensor(cx, n, 1, x);
		return P2O_OK;
	}
	uint32_t m;
	uint32_t y = variance(cx, x, axes, na, keep, corr, with_mean ? &m : NULL);
	if (sqrt_)
		y = p2o_op1(cx, "Sqrt", y);
	if (y == P2O_NOVAL || (with_mean && m == P2O_NOVAL))
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 0, y);
	if (with_mean)
		p2o_set_tensor(cx, n, 1, m);
	return P2O_OK;
}

P2O_HANDLER(var)
{
	return var_any(cx, n, false, false);
}

P2O_HANDLER(std)
{
	return var_any(cx, n, true, false);
}

P2O_HANDLER(var_mean)
{
	return var_any(cx, n, false, true);
}

P2O_HANDLER(std_mean)
{
	return var_any(cx, n, true, true);
}

/* ---- norms ------------------------------------------------------------------ */

/* PyTorch's vector p-norm of x over axes (all when na == 0). */
static uint32_t vnorm(p2o_cx *cx, uint32_t x, double p, const int64_t *axes,
		      size_t na, bool keep)
{
	int dt = p2o_t(cx, x)->dtype;
	x = p2o_cast(cx, x, wide(dt));
	int w = p2o_t(cx, x)->dtype;
	uint32_t y;
	if (p2o_t(cx, x)->rank == 0) {
		y = p2o_op1(cx, "Abs", x);
		if (p == 0)
			y = p2o_cast(cx, p2o_cast(cx, x, P2O_BOOL), w);
	} else if (p == 2) {
		y = p2o_reduce(cx, "ReduceL2", x, axes, na, keep);
	} else if (p == 1) {
		y = p2o_reduce(cx, "ReduceL1", x, axes, na, keep);
	} else if (isinf(p)) {
		y = reduce_extreme(cx, p > 0 ? "ReduceMax" : "ReduceMin",
				   p2o_op1(cx, "Abs", x), axes, na, keep);
	} else if (p == 0) {
		y = p2o_reduce(cx, "ReduceSum",
			       p2o_cast(cx, p2o_cast(cx, x, P2O_BOOL), w), axes,
			       na, keep);
	} else {
		uint32_t a = p2o_op2(cx, "Pow", p2o_op1(cx, "Abs", x),
				     p2o_const_scalar(cx, w, p));
		y = p2o_op2(cx, "Pow", p2o_reduce(cx, "ReduceSum", a, axes, na,
						  keep),
			    p2o_const_scalar(cx, w, 1 / p));
	}
	return p2o_cast(cx, y, dt);
}

/* Matrix norm of x over dims (d0, d1), non-negative: 'fro', or ord 1, -1,
 * inf, -inf (max/min of absolute column or row sums). 'nuc' and ord +-2
 * need singular values, which ONNX has no op for. */
static int mnorm(p2o_cx *cx, uint32_t x, const char *sord, double ord,
		 int64_t d0, int64_t d1, bool keep, uint32_t *out)
{
	int64_t both[2] = { d0, d1 };
	if (sord && strcmp(sord, "fro") == 0) {
		*out = vnorm(cx, x, 2, both, 2, keep);
		return P2O_OK;
	}
	if (sord || !(fabs(ord) == 1 || isinf(ord)))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"matrix norm ord=%s needs singular values, "
				"which ONNX cannot compute",
				sord ? sord : ord == 2 ? "2" : "-2");
	/* ord +-1: sum over rows (d0), then max/min over columns (d1); ord
	 * +-inf the other way round. */
	int64_t first = fabs(ord) == 1 ? d0 : d1, second = first == d0 ? d1 : d0;
	int dt = p2o_t(cx, x)->dtype;
	uint32_t w = p2o_cast(cx, x, wide(dt));
	uint32_t s = p2o_reduce(cx, "ReduceSum", p2o_op1(cx, "Abs", w), &first,
				1, true);
	uint32_t y = reduce_extreme(cx, ord > 0 ? "ReduceMax" : "ReduceMin", s,
				&second, 1, true);
	if (!keep) {
		/* Sorted: Squeeze-1's shape inference expects it. */
		int64_t ax[2] = { d0 < d1 ? d0 : d1, d0 < d1 ? d1 : d0 };
		y = p2o_squeeze(cx, y, ax, 2);
	}
	*out = p2o_cast(cx, y, dt);
	return P2O_OK;
}

/* The p of a norm argument: a number, or absent (2). */
static double p_of(const p2o_arg *a)
{
	return a->none ? 2 : a->f;
}

/* aten::norm(self, p=2), .ScalarOpt_dim(self, p, dim, keepdim=False),
 * .ScalarOpt_dtype / .ScalarOpt_dim_dtype (..., *, dtype), and
 * aten::linalg_vector_norm(self, ord=2, dim=None, keepdim=False, *,
 * dtype=None): the vector p-norm (torch.norm's 'fro' and 'nuc' arrive as
 * other ops). */
P2O_HANDLER(norm)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t p|ord:f? dim:is? keepdim:b? "
				 "dtype:dtype?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	if (!v[4].none)
		x = p2o_cast(cx, x, v[4].dtype);
	if (!p2o_dtype_is_float(p2o_t(cx, x)->dtype))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"norm of a non-floating tensor (an error in "
				"PyTorch)");
	int64_t axes[P2O_MAX_RANK];
	size_t na;
	if ((rc = axes_of(cx, &v[2], p2o_t(cx, x)->rank, axes, &na)))
		return rc;
	return p2o_set_result(cx, n, vnorm(cx, x, p_of(&v[1]), axes, na,
					   !v[3].none && v[3].b));
}

/* aten::frobenius_norm(self) / .dim(self, dim, keepdim=False). */
P2O_HANDLER(frobenius_norm)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:is? keepdim:b?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int64_t axes[P2O_MAX_RANK];
	size_t na;
	if ((rc = axes_of(cx, &v[1], p2o_t(cx, x)->rank, axes, &na)))
		return rc;
	return p2o_set_result(cx, n, vnorm(cx, x, 2, axes, na,
					   !v[2].none && v[2].b));
}

/* A matrix norm over dim (two dims; default the last two). */
static int matrix_norm_of(p2o_cx *cx, const pts_node *n, uint32_t x,
			  const char *sord, double ord, const p2o_arg *dim,
			  bool keep)
{
	int rank = p2o_t(cx, x)->rank;
	int64_t d[2] = { -2, -1 };
	size_t nd = 2;
	int rc;
	if (!dim->none && (rc = p2o_arg_ints_to(cx, dim, d, 2, &nd)))
		return rc;
	if (nd != 2 || rank < 2)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"a matrix norm needs two dims of a tensor of "
				"rank 2 or more");
	if ((rc = p2o_norm_dim(cx, d[0], rank, &d[0])) ||
	    (rc = p2o_norm_dim(cx, d[1], rank, &d[1])))
		return rc;
	uint32_t y = P2O_NOVAL;
	if ((rc = mnorm(cx, x, sord, ord, d[0], d[1], keep, &y)))
		return rc;
	return p2o_set_result(cx, n, y);
}

/* aten::linalg_norm(self, ord=None, dim=None, keepdim=False, *, dtype=None)
 * and .ord_str: a string ord or two dims is a matrix norm; no ord is the
 * 2-norm of the dims (of everything without dim); a numeric ord without
 * dim takes the input's rank (1: vector, 2: matrix). Also
 * aten::linalg_matrix_norm(self, ord, dim=[-2,-1], ...) and .str_ord,
 * whose ord and two dims always make a matrix norm here. */
P2O_HANDLER(linalg_norm)
{
	bool str = p2o_overload_is(n, "ord_str") ||
		   p2o_overload_is(n, "str_ord");
	p2o_arg v[5];
	int rc = p2o_args(cx, n, str ? "self:t ord:s dim:is? keepdim:b "
				       "dtype:dtype?"
				     : "self:t ord:f? dim:is? keepdim:b "
				       "dtype:dtype?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	if (!v[4].none)
		x = p2o_cast(cx, x, v[4].dtype);
	int rank = p2o_t(cx, x)->rank;
	bool keep = v[3].b;
	size_t nd = v[2].none ? 0 : v[2].n;
	if (str)
		return matrix_norm_of(cx, n, x, v[1].s, 0, &v[2], keep);
	if (v[1].none) {
		int64_t axes[P2O_MAX_RANK];
		size_t na;
		if ((rc = axes_of(cx, &v[2], rank, axes, &na)))
			return rc;
		return p2o_set_result(cx, n, vnorm(cx, x, 2, axes, na, keep));
	}
	if (nd == 2 || (nd == 0 && rank == 2))
		return matrix_norm_of(cx, n, x, NULL, v[1].f, &v[2], keep);
	if (nd == 0 && rank != 1)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"linalg.norm with a numeric ord and no dim "
				"needs a 1-D or 2-D input");
	int64_t axes[P2O_MAX_RANK];
	size_t na;
	if ((rc = axes_of(cx, &v[2], rank, axes, &na)))
		return rc;
	return p2o_set_result(cx, n, vnorm(cx, x, v[1].f, axes, na, keep));
}

/* ---- cumulative ops ---------------------------------------------------------- */

/* CumSum of x along dim (non-negative) in the widened dtype. */
static uint32_t cumsum_of(p2o_cx *cx, uint32_t x, int64_t dim)
{
	int dt = p2o_t(cx, x)->dtype;
	uint32_t in[2] = { p2o_cast(cx, x, wide(dt)),
			   p2o_const_scalar(cx, P2O_INT64, (double)dim) };
	uint32_t y = p2o_node_done(cx, p2o_node_new(cx, "CumSum", 2, in, 1));
	return y == P2O_NOVAL ? y : p2o_cast(cx, y, dt);
}

/* aten::cumsum(self, dim, *, dtype=None): integers and bools give int64. */
P2O_HANDLER(cumsum)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i dtype:dtype?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int64_t d;
	if ((rc = p2o_norm_dim(cx, v[1].i, p2o_t(cx, x)->rank, &d)))
		return rc;
	int dt = p2o_t(cx, x)->dtype;
	dt = !v[2].none ? v[2].dtype : p2o_dtype_category(dt) < 2 ? P2O_INT64 : dt;
	x = p2o_cast(cx, x, dt);
	if (p2o_t(cx, x)->rank == 0)
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, cumsum_of(cx, x, d));
}

/* Prefix rows for the cumulative ops ONNX lacks: x (widened) with dim d
 * moved last and every row repeated as rows[..., i, j] = x[..., j] for
 * j <= i and fill after, through a constant lower-triangular mask. So
 * y_i = reduce_j rows[..., i, j] is exact, at n times the memory: it needs
 * the size of dim known and at most a few thousand. perm gets the
 * permutation that moved dim last. */
static uint32_t prefix_rows(p2o_cx *cx, uint32_t w, int64_t d, double fill,
			    int64_t *perm)
{
	const p2o_type *t = p2o_t(cx, w);
	int rank = t->rank;
	int64_t len = t->dims[d].v;
	if (len < 0 || len > 4096) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			 "a cumulative product or logcumsumexp along a dim of "
			 "unknown or large size (ONNX has no such op)");
		return P2O_NOVAL;
	}
	if (p2o_need_opset(cx, 9, "a cumulative product or logcumsumexp "
				  "(Where over a mask)"))
		return P2O_NOVAL;
	int k = 0;
	for (int i = 0; i < rank; i++)
		if (i != d)
			perm[k++] = i;
	perm[k] = d;
	uint32_t xt = d == rank - 1 ? w : p2o_transpose(cx, w, perm, rank);
	int64_t ax = rank - 1;
	uint32_t xs = p2o_unsqueeze(cx, xt, &ax, 1);
	int64_t md[2] = { len, len };
	p2o_tensor *mt = p2o_alloc(cx, sizeof *mt);
	bool *mask = p2o_alloc(cx, (size_t)(len * len) + 1);
	for (int64_t i = 0; i < len; i++)
		for (int64_t j = 0; j <= i; j++)
			mask[i * len + j] = true;
	mt->dtype = P2O_BOOL;
	mt->rank = 2;
	mt->dims = p2o_memdup(cx, md, sizeof md);
	mt->data = mask;
	mt->nbytes = (size_t)(len * len);
	return p2o_select(cx, p2o_initializer(cx, mt, NULL), xs,
			  p2o_const_scalar(cx, t->dtype, fill));
}

/* y (dim last, as prefix_rows left it) with dim back in place. */
static uint32_t from_rows(p2o_cx *cx, uint32_t y, int64_t d,
			  const int64_t *perm, int rank)
{
	if (d == rank - 1 || y == P2O_NOVAL)
		return y;
	int64_t inv[P2O_MAX_RANK];
	for (int i = 0; i < rank; i++)
		inv[perm[i]] = i;
	return p2o_transpose(cx, y, inv, rank);
}

/* aten::cumprod(self, dim, *, dtype=None): ReduceProd over prefix rows
 * filled with 1. */
P2O_HANDLER(cumprod)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i dtype:dtype?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t d, perm[P2O_MAX_RANK];
	if ((rc = p2o_norm_dim(cx, v[1].i, rank, &d)))
		return rc;
	int dt = p2o_t(cx, x)->dtype;
	dt = !v[2].none ? v[2].dtype : p2o_dtype_category(dt) < 2 ? P2O_INT64 : dt;
	x = p2o_cast(cx, x, dt);
	if (rank == 0)
		return p2o_set_result(cx, n, x);
	uint32_t rows = prefix_rows(cx, p2o_cast(cx, x, wide(dt)), d, 1, perm);
	int64_t last = rank;
	uint32_t y = p2o_reduce(cx, "ReduceProd", rows, &last, 1, false);
	y = from_rows(cx, y, d, perm, rank);
	return p2o_set_result(cx, n, y == P2O_NOVAL ? y : p2o_cast(cx, y, dt));
}

/* aten::logcumsumexp(self, dim): per prefix row (filled with -inf),
 * log(sum(exp(x - m))) + m with m the row's max, replaced by 0 where it
 * is infinite (m - m is NaN there) so that no inf - inf makes NaN. A
 * shift per row, not one for the whole dim: a prefix far below a later
 * maximum must not underflow to -inf. */
P2O_HANDLER(logcumsumexp)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t dim:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int dt = p2o_t(cx, x)->dtype, rank = p2o_t(cx, x)->rank;
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"logcumsumexp of a non-floating tensor");
	int64_t d, perm[P2O_MAX_RANK];
	if ((rc = p2o_norm_dim(cx, v[1].i, rank, &d)))
		return rc;
	if (rank == 0)
		return p2o_set_result(cx, n, x);
	uint32_t rows = prefix_rows(cx, p2o_cast(cx, x, wide(dt)), d, -INFINITY,
				    perm);
	if (rows == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	int64_t last = rank;
	uint32_t m = p2o_reduce(cx, "ReduceMax", rows, &last, 1, true);
	uint32_t zero = p2o_const_scalar(cx, p2o_t(cx, rows)->dtype, 0);
	uint32_t inf = p2o_op1(cx, "IsNaN", p2o_op2(cx, "Sub", m, m));
	m = p2o_select(cx, inf, zero, m);
	uint32_t e = p2o_op1(cx, "Exp", p2o_op2(cx, "Sub", rows, m));
	uint32_t y = p2o_op2(cx, "Add",
			     p2o_op1(cx, "Log", p2o_reduce(cx, "ReduceSum", e,
							   &last, 1, false)),
			     p2o_squeeze(cx, m, &last, 1));
	y = from_rows(cx, y, d, perm, rank);
	return p2o_set_result(cx, n, y == P2O_NOVAL ? y : p2o_cast(cx, y, dt));
}

/* ---- distances ----------------------------------------------------------------- */

/* a and b broadcast to their common shape, for reductions that must see
 * the broadcast copies; unchanged when their shapes are already equal.
 * Where(c, a, a) is a whatever c holds, broadcast with c's shape: unlike
 * Expand (whose result shape is unknown to type inference for a shape
 * computed at run time), it keeps symbolic dims. */
static int expand_both(p2o_cx *cx, uint32_t *a, uint32_t *b)
{
	const p2o_type *ta = p2o_t(cx, *a), *tb = p2o_t(cx, *b);
	bool same = ta->rank == tb->rank;
	for (int i = 0; same && i < ta->rank; i++)
		same = p2o_dim_eq(ta->dims[i], tb->dims[i]);
	if (same)
		return P2O_OK;
	int rc = p2o_need_opset(cx, 9, "broadcasting the operands (Where)");
	if (rc)
		return rc;
	uint32_t ca = p2o_cast(cx, *a, P2O_BOOL), cb = p2o_cast(cx, *b, P2O_BOOL);
	*a = p2o_select(cx, cb, *a, *a);
	*b = p2o_select(cx, ca, *b, *b);
	return *a == P2O_NOVAL || *b == P2O_NOVAL ? P2O_ERR_CONVERT : P2O_OK;
}

/* aten::cosine_similarity(x1, x2, dim=1, eps=1e-8): as PyTorch 1.13
 * computes it, on the broadcast operands: sum(x1 / max(|x1|, eps) *
 * x2 / max(|x2|, eps)) over dim, norms taken along dim. */
P2O_HANDLER(cosine_similarity)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "x1:t x2:t dim:i eps:f", v);
	if (rc)
		return rc;
	uint32_t a = v[0].tensor, b = v[1].tensor;
	const p2o_type *ta = p2o_t(cx, a), *tb = p2o_t(cx, b);
	int dt = p2o_promote(ta->dtype, ta->rank != 0, tb->dtype,
			     tb->rank != 0);
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"cosine_similarity of integers (an error in "
				"PyTorch)");
	int rank = ta->rank > tb->rank ? ta->rank : tb->rank;
	int64_t d;
	if ((rc = p2o_norm_dim(cx, v[2].i, rank, &d)))
		return rc;
	a = p2o_cast(cx, a, dt);
	b = p2o_cast(cx, b, dt);
	if ((rc = expand_both(cx, &a, &b)))
		return rc;
	double eps = v[3].f;
	uint32_t na = p2o_clip(cx, vnorm(cx, a, 2, &d, 1, true), &eps, NULL);
	uint32_t nb = p2o_clip(cx, vnorm(cx, b, 2, &d, 1, true), &eps, NULL);
	uint32_t prod = p2o_op2(cx, "Mul", p2o_op2(cx, "Div", a, na),
				p2o_op2(cx, "Div", b, nb));
	return p2o_set_result(cx, n, reduce_wide(cx, "ReduceSum", prod, &d, 1,
						 false));
}

/* aten::pairwise_distance(x1, x2, p=2, eps=1e-6, keepdim=False): the
 * p-norm of x1 - x2 + eps over the last dim of the broadcast shape. */
P2O_HANDLER(pairwise_distance)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "x1:t x2:t p:f eps:f keepdim:b", v);
	if (rc)
		return rc;
	uint32_t a = v[0].tensor, b = v[1].tensor;
	const p2o_type *ta = p2o_t(cx, a), *tb = p2o_t(cx, b);
	int dt = p2o_promote(ta->dtype, ta->rank != 0, tb->dtype,
			     tb->rank != 0);
	int rank = ta->rank > tb->rank ? ta->rank : tb->rank;
	if (rank == 0)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"pairwise_distance of two 0-D tensors");
	/* x1 - x2 + eps: a float eps makes integers float32. */
	int ft = p2o_dtype_is_float(dt) ? dt : P2O_FLOAT;
	uint32_t diff = p2o_op2(cx, "Add",
				p2o_cast(cx, p2o_op2(cx, "Sub", p2o_cast(cx, a, dt),
						     p2o_cast(cx, b, dt)), ft),
				p2o_const_scalar(cx, ft, v[3].f));
	int64_t last = rank - 1;
	return p2o_set_result(cx, n, vnorm(cx, diff, v[2].f, &last, 1, v[4].b));
}

/* aten::cdist(x1, x2, p=2, compute_mode=None): [..., P, M] and [..., R, M]
 * give [..., P, R], the p-norm of every row difference, computed directly
 * (PyTorch's matrix-product shortcut for p = 2 differs from it only by
 * rounding). */
P2O_HANDLER(cdist)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "x1:t x2:t p:f", v);
	if (rc)
		return rc;
	uint32_t a = v[0].tensor, b = v[1].tensor;
	if (p2o_t(cx, a)->rank < 2 || p2o_t(cx, b)->rank < 2)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"cdist needs operands of rank 2 or more");
	if (!p2o_dtype_is_float(p2o_t(cx, a)->dtype))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"cdist of a non-floating tensor");
	int64_t m2 = -2, m3 = -3;
	int ra = p2o_t(cx, a)->rank, rb = p2o_t(cx, b)->rank;
	/* Unsqueeze axes as non-negative positions in the output rank. */
	m2 += ra + 1;
	m3 += rb + 1;
	uint32_t diff = p2o_op2(cx, "Sub", p2o_unsqueeze(cx, a, &m2, 1),
				p2o_unsqueeze(cx, b, &m3, 1));
	if (diff == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	int64_t last = p2o_t(cx, diff)->rank - 1;
	return p2o_set_result(cx, n, vnorm(cx, diff, v[2].f, &last, 1, false));
}
