/* sort.c — sorting and selection: aten::topk, sort, argsort, kthvalue, all
 * through ONNX TopK (which keeps equal values in index order, so a stable
 * sort is one too). */
#include <string.h>

#include "../internal.h"

static int sort_dim(p2o_cx *cx, uint32_t x, int64_t dim, int64_t *d)
{
	return p2o_index_dim(cx, x, dim, "sorting", d);
}

/* aten::topk(self, k, dim=-1, largest=True, sorted=True) -> (values,
 * indices). Unsorted results may come in any order in PyTorch, so sorted
 * ones are a right answer too. */
P2O_HANDLER(topk)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t k:n dim:i largest:b", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int64_t d, kc = -1, one = 1;
	if ((rc = sort_dim(cx, x, v[2].i, &d)))
		return rc;
	if (v[1].k && v[1].k->kind == PTS_C_INT)
		kc = v[1].k->i;
	uint32_t k = kc >= 0 ? p2o_const_i64s(cx, &kc, 1) :
		     p2o_reshape_to(cx, p2o_arg_tensor_as(cx, n,
							  (uint32_t)v[1].idx,
							  P2O_INT64),
				    &one, 1);
	uint32_t vals, idx;
	if ((rc = p2o_topk(cx, x, (int)d, k, kc, v[3].b, &vals, &idx)))
		return rc;
	p2o_set_tensor(cx, n, 0, vals);
	p2o_set_tensor(cx, n, 1, idx);
	return P2O_OK;
}

/* The whole of dim d sorted: TopK with k the dim's length. */
static int sort_all(p2o_cx *cx, uint32_t x, int d, bool descending,
		    uint32_t *vals, uint32_t *idx)
{
	const p2o_type *t = p2o_t(cx, x);
	int64_t len = t->dims[d].v;
	uint32_t k = p2o_dims_value(cx, x, d, d + 1);
	return p2o_topk(cx, x, d, k, len, descending, vals, idx);
}

/* aten::sort(self, dim=-1, descending=False) -> (values, indices),
 * aten::argsort(self, dim=-1, descending=False) -> indices, and their
 * .stable forms (self, *, stable, dim, descending): the whole dim through
 * TopK, stable whatever `stable` says. */
static int sort_node(p2o_cx *cx, const pts_node *n, bool indices_only)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i descending:b", v);
	if (rc)
		return rc;
	int64_t d;
	uint32_t vals, idx;
	if ((rc = sort_dim(cx, v[0].tensor, v[1].i, &d)) ||
	    (rc = sort_all(cx, v[0].tensor, (int)d, v[2].b, &vals, &idx)))
		return rc;
	if (indices_only)
		return p2o_set_result(cx, n, idx);
	p2o_set_tensor(cx, n, 0, vals);
	p2o_set_tensor(cx, n, 1, idx);
	return P2O_OK;
}

P2O_HANDLER(sort)
{
	return sort_node(cx, n, false);
}

P2O_HANDLER(argsort)
{
	return sort_node(cx, n, true);
}

/* The (values, indices) outputs of a selection along dim d (kept as a
 * size-1 dim): squeezed unless keepdim. */
static int reduced_pair(p2o_cx *cx, const pts_node *n, uint32_t vals,
			uint32_t idx, int64_t d, bool keepdim)
{
	if (!keepdim) {
		vals = p2o_squeeze(cx, vals, &d, 1);
		idx = p2o_squeeze(cx, idx, &d, 1);
	}
	if (vals == P2O_NOVAL || idx == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 0, vals);
	p2o_set_tensor(cx, n, 1, idx);
	return P2O_OK;
}

/* aten::kthvalue(self, k, dim=-1, keepdim=False) -> (values, indices): the
 * last of the k smallest. */
P2O_HANDLER(kthvalue)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t k:i dim:i keepdim:b", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int64_t d, kc = v[1].i;
	if ((rc = sort_dim(cx, x, v[2].i, &d)))
		return rc;
	if (kc < 1)
		return p2o_fail(cx, P2O_ERR_CONVERT, "kthvalue k=%lld",
				(long long)kc);
	uint32_t vals, idx;
	if ((rc = p2o_topk(cx, x, (int)d, p2o_const_i64s(cx, &kc, 1), kc,
			   false, &vals, &idx)))
		return rc;
	int64_t s = kc - 1, e = kc;
	vals = p2o_slice(cx, vals, &s, &e, &d, NULL, 1);
	idx = p2o_slice(cx, idx, &s, &e, &d, NULL, 1);
	return reduced_pair(cx, n, vals, idx, d, v[3].b);
}

/* ONNX Unique of x (flattened when axis < 0), sorted; its outputs
 * (values, first indices, inverse indices, counts) into out. ONNX
 * Runtime's Unique takes float, double, int8, int64: others go through
 * float or int64, exactly. */
static int unique(p2o_cx *cx, uint32_t x, int64_t axis, uint32_t *out)
{
	int rc = p2o_need_opset(cx, 11, "unique");
	if (rc)
		return rc;
	int dt = p2o_t(cx, x)->dtype, wdt = dt;
	if (dt == P2O_FLOAT16 || dt == P2O_BFLOAT16)
		wdt = P2O_FLOAT;
	else if (dt != P2O_FLOAT && dt != P2O_DOUBLE && dt != P2O_INT8)
		wdt = P2O_INT64;
	uint32_t in = p2o_cast(cx, x, wdt);
	if (in == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t nd = p2o_node_new(cx, "Unique", 1, &in, 4);
	p2o_attr_int(cx, nd, "sorted", 1);
	if (axis >= 0)
		p2o_attr_int(cx, nd, "axis", axis);
	if (p2o_node_done(cx, nd) == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	for (int i = 0; i < 4; i++)
		out[i] = p2o_n(cx, nd)->out[i];
	out[0] = p2o_cast(cx, out[0], dt);
	return out[0] == P2O_NOVAL ? P2O_ERR_CONVERT : P2O_OK;
}

/* aten::_unique2(self, sorted=True, return_inverse=False,
 * return_counts=False) -> (values, inverse, counts), and aten::_unique
 * (values, inverse): over the flattened tensor, the inverse shaped as
 * self. Unsorted results may come in any order in PyTorch, so sorted ones
 * are a right answer too. */
P2O_HANDLER(unique2)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	uint32_t x = v.tensor, o[4];
	int rank = p2o_t(cx, x)->rank;
	if (rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "unique of a tensor "
				"of unknown rank");
	if ((rc = unique(cx, x, -1, o)))
		return rc;
	uint32_t inv = p2o_reshape(cx, o[2], p2o_dims_value(cx, x, 0, rank));
	if (inv == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 0, o[0]);
	p2o_set_tensor(cx, n, 1, inv);
	if (n->n_out > 2)
		p2o_set_tensor(cx, n, 2, o[3]);
	return P2O_OK;
}

/* aten::unique_dim(self, dim, sorted=True, return_inverse=False,
 * return_counts=False) -> (values, inverse, counts): unique slices along
 * dim, in lexicographic order as ONNX's sorted Unique gives them. */
P2O_HANDLER(unique_dim)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t dim:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, o[4];
	int64_t d;
	if ((rc = sort_dim(cx, x, v[1].i, &d)) || (rc = unique(cx, x, d, o)))
		return rc;
	p2o_set_tensor(cx, n, 0, o[0]);
	p2o_set_tensor(cx, n, 1, o[2]);
	p2o_set_tensor(cx, n, 2, o[3]);
	return P2O_OK;
}

/* x as a dtype ONNX Runtime's Equal, ReduceMin/Max and Where all take,
 * holding the same values exactly: float32/float64/int32/int64 as they
 * are, float16/bfloat16 as float32, other integers and bool as int64. */
static uint32_t comparable(p2o_cx *cx, uint32_t x)
{
	int dt = p2o_t(cx, x)->dtype;
	if (dt == P2O_FLOAT16 || dt == P2O_BFLOAT16)
		return p2o_cast(cx, x, P2O_FLOAT);
	if (dt == P2O_FLOAT || dt == P2O_DOUBLE || dt == P2O_INT32 ||
	    dt == P2O_INT64)
		return x;
	return p2o_cast(cx, x, P2O_INT64);
}

/* Largest dim aten::mode converts along: PyTorch's CPU kernel sorts
 * (value, index) pairs by value alone with std::sort and reports the
 * index of the last pair of the winning run. Up to 16 elements std::sort
 * is an insertion sort, stable, so that index is the last occurrence of
 * the mode; beyond it equal values come out in an order that depends on
 * the data, and no graph can reproduce it. */
#define MODE_MAX 16

/* aten::mode(self, dim=-1, keepdim=False) -> (values, indices): the most
 * frequent value along dim (the smallest of equally frequent ones) and
 * the index of its last occurrence. For the n <= 16 values along dim:
 * counts from an n x n equality table, the smallest value of the largest
 * count, then the last index holding it, and the value read back there
 * (so that -0.0 and 0.0, equal, come out as PyTorch's). */
P2O_HANDLER(mode)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i keepdim:b", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	if (t->rank == 0) { /* a number is its own mode, at index 0 */
		if (v[1].i != 0 && v[1].i != -1)
			return p2o_fail(cx, P2O_ERR_CONVERT, "dim %lld out of "
					"range for a 0-dim tensor",
					(long long)v[1].i);
		p2o_set_tensor(cx, n, 0, p2o_op1(cx, "Identity", x));
		p2o_set_tensor(cx, n, 1, p2o_const_scalar(cx, P2O_INT64, 0));
		return P2O_OK;
	}
	int64_t d;
	if ((rc = sort_dim(cx, x, v[1].i, &d)))
		return rc;
	int64_t len = t->dims[d].v;
	if (len < 1 || len > MODE_MAX)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"mode along a dim of %s: PyTorch's index "
				"among equal values is only reproducible for "
				"1 to %d values (its CPU sort is stable only "
				"up to %d; it refuses none)",
				len < 0 ? "a size known only at run time" :
					  p2o_fmt(cx, "size %lld", (long long)len),
				MODE_MAX, MODE_MAX);
	uint32_t c = comparable(cx, x);
	int r = t->rank;
	int64_t a_i = d + 1, a_j = d;
	/* eq[.., i, j, ..] = x_i == x_j; count_i = sum over j */
	uint32_t eq = p2o_op2(cx, "Equal", p2o_unsqueeze(cx, c, &a_i, 1),
			      p2o_unsqueeze(cx, c, &a_j, 1));
	uint32_t count = p2o_reduce(cx, "ReduceSum", p2o_cast(cx, eq, P2O_INT64),
				    &a_i, 1, false);
	uint32_t best = p2o_reduce(cx, "ReduceMax", count, &d, 1, true);
	/* the others stand in as the largest value, which no candidate
	 * exceeds */
	uint32_t cand = p2o_select(cx, p2o_op2(cx, "Equal", count, best), c,
				   p2o_reduce(cx, "ReduceMax", c, &d, 1, true));
	uint32_t val = p2o_reduce(cx, "ReduceMin", cand, &d, 1, true);
	/* the last index holding val: the largest of its positions */
	int64_t *pos_dims = p2o_alloc(cx, sizeof *pos_dims * (size_t)r);
	double *pos = p2o_alloc(cx, sizeof *pos * (size_t)len);
	for (int i = 0; i < r; i++)
		pos_dims[i] = i == d ? len : 1;
	for (int64_t i = 0; i < len; i++)
		pos[i] = (double)i;
	uint32_t at = p2o_select(cx, p2o_op2(cx, "Equal", c, val),
				 p2o_const_values(cx, P2O_INT64, pos_dims, r, pos),
				 p2o_const_scalar(cx, P2O_INT64, -1));
	uint32_t idx = p2o_reduce(cx, "ReduceMax", at, &d, 1, true);
	uint32_t vals = p2o_node_new(cx, "GatherElements", 2,
				     (uint32_t[]){ x, idx }, 1);
	p2o_attr_int(cx, vals, "axis", d);
	uint32_t y = p2o_node_done(cx, vals);
	return reduced_pair(cx, n, y, idx, d, v[2].b);
}

/* v[lo:] (lo 1) or v[:-1] (lo 0) along axis */
static uint32_t shifted(p2o_cx *cx, uint32_t v, int64_t axis, bool tail)
{
	int64_t s = tail ? 1 : 0, e = tail ? INT64_MAX : -1;
	return p2o_slice(cx, v, &s, &e, &axis, NULL, 1);
}

/* aten::unique_consecutive(self, return_inverse=False,
 * return_counts=False, dim=None) -> (values, inverse, counts): runs of
 * equal elements (of equal slices along dim) collapsed to one. A run
 * starts where an element differs from the one before it: those starts
 * (1s) summed cumulatively number the runs (the inverse), Compress keeps
 * their first elements, and the counts are the gaps between starts. NaN
 * differs from itself here as in PyTorch. Outputs not asked for are
 * empty, as PyTorch makes them. */
P2O_HANDLER(unique_consecutive)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t return_inverse:b return_counts:b "
			  "dim:i?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, xs = x;
	int rank = p2o_t(cx, x)->rank;
	int64_t axis = 0, minus1 = -1, zero = 0;
	if (rank < 0 || (!v[3].none && rank == 0))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "unique_consecutive "
				"of a tensor of unknown rank, or of a 0-dim "
				"tensor along a dim");
	if (v[3].none)
		xs = p2o_reshape_to(cx, x, &minus1, 1);
	else if ((rc = sort_dim(cx, x, v[3].i, &axis)))
		return rc;
	int xr = v[3].none ? 1 : rank;
	uint32_t c = comparable(cx, xs);
	uint32_t ne = p2o_cast(cx, p2o_op1(cx, "Not", p2o_op2(cx, "Equal",
				shifted(cx, c, axis, true),
				shifted(cx, c, axis, false))), P2O_INT64);
	if (xr > 1) { /* a slice differs where any of its elements does */
		int64_t others[P2O_MAX_RANK];
		size_t k = 0;
		for (int i = 0; i < xr; i++)
			if (i != axis)
				others[k++] = i;
		ne = p2o_reduce(cx, "ReduceMax", ne, others, k, false);
	}
	/* starts = [1] + ne, cut to the length (an empty input has none) */
	int64_t one = 1;
	uint32_t len = p2o_dims_value(cx, xs, (int)axis, (int)axis + 1);
	uint32_t starts = p2o_concat(cx, (uint32_t[]){ p2o_const_i64s(cx, &one, 1),
						       ne }, 2, 0);
	if (p2o_t(cx, xs)->dims[axis].v < 1) {
		uint32_t in[4] = { starts, p2o_const_i64s(cx, &zero, 1), len,
				   p2o_const_i64s(cx, &zero, 1) };
		starts = p2o_node_done(cx, p2o_node_new(cx, "Slice", 4, in, 1));
	}
	uint32_t cn = p2o_node_new(cx, "Compress", 2,
				   (uint32_t[]){ xs, p2o_cast(cx, starts,
							      P2O_BOOL) }, 1);
	p2o_attr_int(cx, cn, "axis", axis);
	uint32_t vals = p2o_node_done(cx, cn);
	uint32_t empty = p2o_const_i64s(cx, &zero, 0);
	uint32_t inv = empty, counts = empty;
	if (v[1].b) {
		inv = p2o_op2(cx, "Sub", p2o_op2(cx, "CumSum", starts,
						 p2o_const_scalar(cx, P2O_INT64,
								  0)),
			      p2o_const_scalar(cx, P2O_INT64, 1));
		if (v[3].none)
			inv = p2o_reshape(cx, inv, p2o_dims_value(cx, x, 0,
								  rank));
	}
	if (v[2].b) {
		uint32_t pos = p2o_reshape_to(cx, p2o_op1(cx, "NonZero", starts),
					      &minus1, 1);
		uint32_t next = p2o_concat(cx, (uint32_t[]){
				shifted(cx, pos, 0, true), len }, 2, 0);
		counts = p2o_op2(cx, "Sub", next, pos);
	}
	if (vals == P2O_NOVAL || inv == P2O_NOVAL || counts == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 0, vals);
	p2o_set_tensor(cx, n, 1, inv);
	p2o_set_tensor(cx, n, 2, counts);
	return P2O_OK;
}
