/* sort.c — sorting and selection: aten::topk, sort, argsort, kthvalue, all
 * through ONNX TopK (which keeps equal values in index order, so a stable
 * sort is one too). */
#include <string.h>

#include "../internal.h"

static int sort_dim(p2o_cx *cx, uint32_t x, int64_t dim, int64_t *d)
{
	int rank = p2o_t(cx, x)->rank;
	if (rank <= 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "sorting a 0-dim or "
				"unknown-rank tensor");
	return p2o_norm_dim(cx, dim, rank, d);
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

/* aten::sort(self, dim=-1, descending=False) and
 * aten::sort.stable(self, *, stable, dim=-1, descending=False). */
P2O_HANDLER(sort)
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
	p2o_set_tensor(cx, n, 0, vals);
	p2o_set_tensor(cx, n, 1, idx);
	return P2O_OK;
}

/* aten::argsort(self, dim=-1, descending=False) and argsort.stable. */
P2O_HANDLER(argsort)
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
	return p2o_set_result(cx, n, idx);
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
