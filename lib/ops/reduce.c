/* reduce.c — reductions: aten::mean and aten::sum, over all dims or a dim
 * list, with keepdim and an optional dtype. */
#include "../internal.h"

/* Shared by mean and sum: aten::X(self, *, dtype=None) and
 * aten::X.dim(self, dim, keepdim=False, *, dtype=None); an overload
 * without dim reduces over every axis. */
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
	size_t n_axes = 0;
	bool keep = !v[2].none && v[2].b;
	if (!v[1].none &&
	    (rc = p2o_arg_ints_to(cx, &v[1], axes, P2O_MAX_RANK, &n_axes)))
		return rc;
	for (size_t i = 0; i < n_axes; i++)
		if ((rc = p2o_norm_dim(cx, axes[i], rank, &axes[i])))
			return rc;
	int dt = p2o_t(cx, x)->dtype;
	if (!v[3].none)
		dt = v[3].dtype;
	else if (int_to_long && p2o_dtype_category(dt) < 2)
		dt = P2O_INT64; /* sum of integers or bools is int64 */
	x = p2o_cast(cx, x, dt);
	if (rank == 0)
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, p2o_reduce(cx, op, x, axes, n_axes, keep));
}

P2O_HANDLER(mean)
{
	return reduction(cx, n, "ReduceMean", false);
}

P2O_HANDLER(sum)
{
	return reduction(cx, n, "ReduceSum", true);
}
