/* shape.c — shape ops: aten::flatten, aten::view/reshape, aten::size,
 * aten::dim, aten::cat, and ops that are the identity in an exported
 * (eval-mode, copy-free) graph: contiguous, detach, dropout variants. */
#include <string.h>

#include "../internal.h"

/* aten::flatten(self, start_dim=0, end_dim=-1) */
P2O_HANDLER(flatten)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "start_dim:i end_dim:i self:t", v);
	if (rc)
		return rc;
	int64_t start = v[0].i, end = v[1].i;
	uint32_t x = v[2].tensor;
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
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t size|shape:sh", v);
	if (rc)
		return rc;
	const pts_const *k = v[1].k;
	bool zero = false;
	if (k && k->kind == PTS_C_INTS)
		for (size_t i = 0; i < k->n; i++)
			zero = zero || k->ints[i] == 0;
	uint32_t in[2] = { v[0].tensor, v[1].tensor };
	uint32_t nd = p2o_node_new(cx, "Reshape", 2, in, 1);
	if (zero) {
		/* In PyTorch a 0 is a zero-size dim; in ONNX it means "copy"
		 * unless allowzero (opset 14) says otherwise. */
		if ((rc = p2o_need_opset(cx, 14, "reshaping to a zero-size dim")))
			return rc;
		p2o_attr_int(cx, nd, "allowzero", 1);
	}
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* aten::size(self) -> int[] and aten::size.int(self, dim) -> int:
 * constants when the dims are known, Shape/Gather otherwise. */
P2O_HANDLER(size)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t dim:i?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	if (t->rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"size of a tensor of unknown rank");
	if (!v[1].decl) { /* the overload without dim: every size */
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
	if ((rc = p2o_norm_dim(cx, v[1].i, t->rank, &d)))
		return rc;
	if (t->dims[d].v >= 0)
		return p2o_set_int(cx, n, 0, t->dims[d].v);
	return p2o_set_result(cx, n, p2o_dim_value(cx, x, (int)d));
}

/* aten::dim(self) -> int */
P2O_HANDLER(dim)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	uint32_t x = v.tensor;
	if (p2o_t(cx, x)->rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"dim of a tensor of unknown rank");
	return p2o_set_int(cx, n, 0, p2o_t(cx, x)->rank);
}

/* aten::cat(tensors, dim=0): one Concat; inputs promoted to one dtype. */
P2O_HANDLER(cat)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "tensors:v dim:i", v);
	if (rc)
		return rc;
	int64_t dim = v[1].i;
	const p2o_tv *list = p2o_tvin(cx, n, (uint32_t)v[0].idx);
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

/* Output 0 is the first argument, whatever it is (tensor, constant or
 * list): aten::contiguous(self, ...), aten::ScalarImplicit(a),
 * prim::unchecked_cast(x), aten::dropout(input, ...) in eval mode. */
P2O_HANDLER(identity)
{
	uint32_t i = 0;
	if (n->schema) {
		p2o_arg v;
		int rc = p2o_args(cx, n, "self|a|x|input:v", &v);
		if (rc)
			return rc;
		i = (uint32_t)v.idx;
	}
	P2O_TV(cx, n->out[0]) = *p2o_tvin(cx, n, i);
	return P2O_OK;
}

/* aten::dropout(input, p, train) and its feature/alpha variants: the
 * identity in eval mode. */
P2O_HANDLER(dropout)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "p:f train:b", v);
	if (rc)
		return rc;
	/* train=True is real (random) dropout even in an eval-mode module
	 * (F.dropout(x, training=True)); with p == 0 it keeps everything. */
	if (v[1].b && v[0].f != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"dropout with train=True and p=%g is random "
				"(export needs the model in eval mode)", v[0].f);
	return p2o_h_identity(cx, n);
}

/* aten::slice(self, dim=0, start=None, end=None, step=1): self[start:end:step]
 * along dim, with PyTorch's negative and omitted bounds (ONNX Slice clamps
 * the same way, so a symbolic dim needs no size). */
P2O_HANDLER(slice)
{
	if (!p2o_overload_is(n, "Tensor"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"slicing a list or string is not supported");
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t dim:i start:i? end:i? step:i", v);
	if (rc)
		return rc;
	int64_t dim = v[1].i, start = v[2].none ? 0 : v[2].i,
		end = v[3].none ? INT64_MAX : v[3].i, step = v[4].i;
	uint32_t x = v[0].tensor;
	int r = p2o_t(cx, x)->rank;
	if (r < 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "slicing a tensor of "
				"%s rank", r < 0 ? "unknown" : "zero");
	if ((rc = p2o_norm_dim(cx, dim, r, &dim)))
		return rc;
	if (step <= 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "slice step must be "
				"positive, got %lld", (long long)step);
	if (start == 0 && end == INT64_MAX && step == 1)
		return p2o_set_result(cx, n, x); /* x[:] */
	return p2o_set_result(cx, n, p2o_slice(cx, x, &start, &end, &dim,
						 &step, 1));
}

/* aten::split(self, split_size or split_sizes, dim=0),
 * aten::split_with_sizes(self, split_sizes, dim=0) and
 * aten::chunk(self, chunks, dim=0): a list of parts of self along dim.
 * A size (or a count of chunks) needs the dim's length, to know how many
 * parts the list has; explicit sizes do not. */
P2O_HANDLER(split)
{
	bool chunk = strcmp(n->kind, "aten::chunk") == 0;
	int64_t req[P2O_MAX_SPLIT];
	size_t nreq;
	if (p2o_overload_is(n, "str"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"splitting a string is not supported");
	p2o_arg v[3];
	int rc = p2o_args(cx, n, chunk ? "self:t chunks:is dim:i" :
				  "self:t split_size|split_sizes:is dim:i", v);
	if (rc || (rc = p2o_arg_ints_to(cx, &v[1], req, P2O_MAX_SPLIT, &nreq)))
		return rc;
	int64_t dim = v[2].i;
	/* An int is a size (or a count of chunks); an int list, even of one
	 * entry, the sizes themselves: the schema's type says which. */
	bool by_size = v[1].decl->type == PTS_T_INT;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	if (t->rank < 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "splitting a tensor of "
				"%s rank", t->rank < 0 ? "unknown" : "zero");
	if ((rc = p2o_norm_dim(cx, dim, t->rank, &dim)))
		return rc;
	int64_t d = t->dims[dim].v;
	int64_t sizes[P2O_MAX_SPLIT];
	size_t ns = 0;
	if (by_size) {
		if (req[0] <= 0)
			return p2o_fail(cx, P2O_ERR_CONVERT, "%s must be "
					"positive, got %lld", chunk ? "chunks" :
					"split_size", (long long)req[0]);
		if (d <= 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "splitting dim "
					"%lld by %s needs its length known "
					"and non-zero (it is %s)", (long long)dim,
					chunk ? "a count" : "a size",
					d == 0 ? "0" : "symbolic");
		int64_t size = chunk ? (d + req[0] - 1) / req[0] : req[0];
		for (int64_t at = 0; at < d; at += size) {
			if (ns == P2O_MAX_SPLIT)
				return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
						"more than %d parts",
						P2O_MAX_SPLIT);
			sizes[ns++] = d - at < size ? d - at : size;
		}
	} else {
		int64_t sum = 0;
		for (size_t i = 0; i < nreq; i++) {
			if (req[i] < 0)
				return p2o_fail(cx, P2O_ERR_CONVERT, "split size "
						"%lld is negative",
						(long long)req[i]);
			sizes[ns++] = req[i];
			sum += req[i];
		}
		if (ns == 0 || (d >= 0 && sum != d))
			return p2o_fail(cx, P2O_ERR_CONVERT, "split sizes add up "
					"to %lld, dim %lld has %lld",
					(long long)sum, (long long)dim,
					(long long)d);
	}
	uint32_t outs[P2O_MAX_SPLIT];
	if ((rc = p2o_split(cx, x, (int)dim, sizes, ns, outs)))
		return rc;
	p2o_set_tensor_list(cx, n, 0, outs, (uint32_t)ns);
	return P2O_OK;
}
