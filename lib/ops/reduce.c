/* reduce.c — reductions: aten::mean and aten::sum, over all dims or a dim
 * list, with keepdim and an optional dtype. */
#include "../internal.h"

/* Shared by mean and sum: aten::X(self, dtype=None) or
 * aten::X.dim(self, dim, keepdim=False, dtype=None). */
static int reduction(p2o_cx *cx, const pts_node *n, const char *op,
		     bool int_to_long)
{
	uint32_t x = p2o_arg_tensor(cx, n, 0);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	bool by_dim = n->n_in >= 4;
	uint32_t dtype_at = by_dim ? 3 : 1;
	int rank = p2o_t(cx, x)->rank;
	int64_t axes[P2O_MAX_RANK];
	size_t n_axes = 0;
	bool keep = false;
	int rc;
	if (by_dim && !p2o_arg_none(cx, n, 1) &&
	    (rc = p2o_arg_ints(cx, n, 1, axes, P2O_MAX_RANK, &n_axes)))
		return rc;
	if (by_dim && (rc = p2o_arg_bool(cx, n, 2, &keep)))
		return rc;
	for (size_t i = 0; i < n_axes; i++)
		if ((rc = p2o_norm_dim(cx, axes[i], rank, &axes[i])))
			return rc;
	int dt = p2o_t(cx, x)->dtype;
	if (dtype_at < n->n_in && !p2o_arg_none(cx, n, dtype_at)) {
		int64_t st;
		if ((rc = p2o_arg_int(cx, n, dtype_at, &st)))
			return rc;
		if (!(dt = p2o_dtype_from_torch(st)))
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"dtype %lld has no ONNX equivalent",
					(long long)st);
	} else if (int_to_long && p2o_dtype_category(dt) < 2) {
		dt = P2O_INT64; /* sum of integers or bools is int64 */
	}
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
