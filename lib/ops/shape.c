/* shape.c — shape ops: aten::flatten, aten::view/reshape, aten::size,
 * aten::dim, aten::cat, and ops that are the identity in an exported
 * (eval-mode, copy-free) graph: contiguous, detach, dropout variants. */
#include <string.h>

#include "../internal.h"

/* aten::flatten(self, start_dim=0, end_dim=-1) */
P2O_HANDLER(flatten)
{
	int64_t start, end;
	int rc;
	if ((rc = p2o_arg_int(cx, n, 1, &start)) ||
	    (rc = p2o_arg_int(cx, n, 2, &end)))
		return rc;
	uint32_t x = p2o_arg_tensor(cx, n, 0);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	const p2o_type *t = p2o_t(cx, x);
	int r = t->rank;
	if (r < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"flatten of a tensor of unknown rank");
	if (r == 0) { /* a scalar flattens to one element */
		int64_t one = 1;
		return p2o_set_result(cx, n, p2o_reshape_to(cx, x, &one, 1));
	}
	if ((rc = p2o_norm_dim(cx, start, r, &start)) ||
	    (rc = p2o_norm_dim(cx, end, r, &end)))
		return rc;
	if (start > end)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"start_dim %lld comes after end_dim %lld",
				(long long)start, (long long)end);
	if (start == end)
		return p2o_set_result(cx, n, x);
	if (start == 1 && end == r - 1) {
		/* ONNX's own Flatten: [N, rest], whatever N is. */
		uint32_t nd = p2o_node_new(cx, "Flatten", 1, &x, 1);
		p2o_attr_int(cx, nd, "axis", 1);
		return p2o_set_result(cx, n, p2o_node_done(cx, nd));
	}
	/* A Reshape to [dims before, their product, dims after]: the product
	 * is -1, as the sizes outside the range come from the input itself
	 * (constants where known, its Shape where symbolic). */
	int64_t minus1 = -1;
	uint32_t parts[3], np = 0;
	if (start > 0)
		parts[np++] = p2o_dims_value(cx, x, 0, (int)start);
	parts[np++] = p2o_const_i64s(cx, &minus1, 1);
	if (end + 1 < r)
		parts[np++] = p2o_dims_value(cx, x, (int)end + 1, r);
	uint32_t shape = parts[0];
	if (np > 1) {
		uint32_t nd = p2o_node_new(cx, "Concat", np, parts, 1);
		p2o_attr_int(cx, nd, "axis", 0);
		shape = p2o_node_done(cx, nd);
	}
	return p2o_set_result(cx, n, p2o_reshape(cx, x, shape));
}

/* aten::view(self, size) and aten::reshape(self, shape). */
P2O_HANDLER(view)
{
	uint32_t x = p2o_arg_tensor(cx, n, 0);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	const pts_const *k = p2o_konst(cx, n, 1);
	bool zero = false;
	if (k && k->kind == PTS_C_INTS)
		for (size_t i = 0; i < k->n; i++)
			zero = zero || k->ints[i] == 0;
	uint32_t shape = p2o_arg_shape(cx, n, 1);
	if (shape == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	uint32_t in[2] = { x, shape };
	uint32_t nd = p2o_node_new(cx, "Reshape", 2, in, 1);
	if (zero) {
		/* In PyTorch a 0 is a zero-size dim; in ONNX it means "copy"
		 * unless allowzero (opset 14) says otherwise. */
		int rc = p2o_need_opset(cx, 14, "reshaping to a zero-size dim");
		if (rc)
			return rc;
		p2o_attr_int(cx, nd, "allowzero", 1);
	}
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* aten::size(self) -> int[] and aten::size(self, dim) -> int: constants
 * when the dims are known, Shape/Gather otherwise. */
P2O_HANDLER(size)
{
	uint32_t x = p2o_arg_tensor(cx, n, 0);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	const p2o_type *t = p2o_t(cx, x);
	if (t->rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"size of a tensor of unknown rank");
	if (n->n_in == 1) {
		if (!p2o_dims_known(t))
			return p2o_set_result(cx, n, p2o_op1(cx, "Shape", x));
		pts_const *c = p2o_new_const(cx, PTS_C_INTS);
		int64_t *v = p2o_alloc(cx, sizeof *v * (size_t)(t->rank + 1));
		for (int i = 0; i < t->rank; i++)
			v[i] = t->dims[i].v;
		c->n = (size_t)t->rank;
		c->ints = v;
		p2o_set_const(cx, n, 0, c);
		return P2O_OK;
	}
	int64_t d;
	int rc;
	if ((rc = p2o_arg_int(cx, n, 1, &d)) ||
	    (rc = p2o_norm_dim(cx, d, t->rank, &d)))
		return rc;
	if (t->dims[d].v >= 0)
		return p2o_set_int(cx, n, 0, t->dims[d].v);
	return p2o_set_result(cx, n, p2o_dim_value(cx, x, (int)d));
}

/* aten::dim(self) -> int */
P2O_HANDLER(dim)
{
	uint32_t x = p2o_arg_tensor(cx, n, 0);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (p2o_t(cx, x)->rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"dim of a tensor of unknown rank");
	return p2o_set_int(cx, n, 0, p2o_t(cx, x)->rank);
}

/* aten::cat(tensors, dim=0): one Concat; inputs promoted to one dtype. */
P2O_HANDLER(cat)
{
	const p2o_tv *list = p2o_tvin(cx, n, 0);
	int64_t dim;
	int rc = p2o_arg_int(cx, n, 1, &dim);
	if (rc)
		return rc;
	if (list->kind != P2O_TV_LIST || list->n == 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"cat of a list that is not built in the graph");
	uint32_t *in = p2o_alloc(cx, sizeof *in * list->n);
	int dt = 0, rank = -1;
	for (uint32_t i = 0; i < list->n; i++) {
		in[i] = p2o_value_tensor(cx, list->items[i]);
		if (in[i] == P2O_NOVAL)
			return P2O_ERR_UNSUPPORTED;
		const p2o_type *t = p2o_t(cx, in[i]);
		dt = p2o_promote(dt, true, t->dtype, true);
		if (t->rank > rank)
			rank = t->rank;
	}
	if ((rc = p2o_norm_dim(cx, dim, rank, &dim)))
		return rc;
	for (uint32_t i = 0; i < list->n; i++)
		in[i] = p2o_cast(cx, in[i], dt);
	if (list->n == 1)
		return p2o_set_result(cx, n, in[0]);
	uint32_t nd = p2o_node_new(cx, "Concat", list->n, in, 1);
	p2o_attr_int(cx, nd, "axis", dim);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* Output 0 is input 0, whatever it is (tensor, constant or list). */
P2O_HANDLER(identity)
{
	cx->tv[n->out[0]] = *p2o_tvin(cx, n, 0);
	return P2O_OK;
}

/* aten::dropout(input, p, train) and its feature/alpha variants: the
 * identity in eval mode. */
P2O_HANDLER(dropout)
{
	bool train;
	int rc = p2o_arg_bool(cx, n, 2, &train);
	if (rc)
		return rc;
	if (train)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"dropout with train=True (export needs the "
				"model in eval mode)");
	return p2o_h_identity(cx, n);
}
