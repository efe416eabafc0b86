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
	if (!v[3].b) {
		vals = p2o_squeeze(cx, vals, &d, 1);
		idx = p2o_squeeze(cx, idx, &d, 1);
	}
	if (vals == P2O_NOVAL || idx == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 0, vals);
	p2o_set_tensor(cx, n, 1, idx);
	return P2O_OK;
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
