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
	uint32_t shape = p2o_dims_around(cx, x, (int)start, (int)end + 1,
					 p2o_const_i64s(cx, &minus1, 1));
	return p2o_set_result(cx, n, p2o_reshape(cx, x, shape));
}

/* aten::view(self, size) and aten::reshape(self, shape). */
P2O_HANDLER(view)
{
	if (p2o_overload_is(n, "dtype"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "view as another dtype "
				"(its bytes reinterpreted) is not supported");
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
		if (!p2o_dims_known(t)) {
			/* A list of the sizes, constants where known: shape
			 * arithmetic in scripted code (C // 4 of B, T, C)
			 * then folds, and Reshape keeps its known dims. */
			uint32_t *items = p2o_alloc(cx, sizeof *items *
						    (size_t)t->rank);
			if (p2o_int_items(cx, p2o_op1(cx, "Shape", x), items,
					  (size_t)t->rank) < 0)
				return P2O_ERR_CONVERT;
			p2o_tv *tv = &P2O_TV(cx, n->out[0]);
			tv->kind = P2O_TV_LIST;
			tv->onnx = P2O_NOVAL;
			tv->n = (uint32_t)t->rank;
			tv->items = items;
			return P2O_OK;
		}
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

/* The tensors of list argument `name` as ONNX values (count in *count);
 * NULL with a diagnostic when it is not a list built in the graph. */
static uint32_t *tensor_list(p2o_cx *cx, const pts_node *n, const char *name,
			     uint32_t *count)
{
	p2o_arg v;
	char spec[64];
	snprintf(spec, sizeof spec, "%s:v", name);
	if (p2o_args(cx, n, spec, &v))
		return NULL;
	const p2o_tv *list = p2o_tvin(cx, n, (uint32_t)v.idx);
	if (list->kind != P2O_TV_LIST || list->n == 0) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s of a list that is not "
			 "built in the graph", n->kind);
		return NULL;
	}
	uint32_t *in = p2o_alloc(cx, sizeof *in * list->n);
	for (uint32_t i = 0; i < list->n; i++) {
		in[i] = p2o_value_tensor(cx, list->items[i]);
		if (in[i] == P2O_NOVAL)
			return NULL;
		if (p2o_t(cx, in[i])->rank < 0) {
			p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s of a tensor of "
				 "unknown rank", n->kind);
			return NULL;
		}
	}
	*count = list->n;
	return in;
}

/* Concat of in[0..count) along dim (negative counts from the end), as
 * torch.cat: one dtype for all by PyTorch's promotion, and 1-D tensors of
 * size 0 left out (PyTorch skips them, whatever the others' shapes). */
static uint32_t join(p2o_cx *cx, uint32_t *in, uint32_t count, int64_t dim)
{
	int dt = 0, rank = -1;
	uint32_t kept = 0;
	for (uint32_t i = 0; i < count; i++) {
		const p2o_type *t = p2o_t(cx, in[i]);
		dt = p2o_promote(dt, true, t->dtype, true);
		bool empty1 = t->rank == 1 && t->dims[0].v == 0;
		if (!empty1 && t->rank > rank)
			rank = t->rank;
	}
	for (uint32_t i = 0; i < count; i++) {
		const p2o_type *t = p2o_t(cx, in[i]);
		if (rank >= 0 && t->rank == 1 && t->dims[0].v == 0)
			continue;
		in[kept++] = p2o_cast(cx, in[i], dt);
	}
	if (rank < 0) /* only empty 1-D tensors: the first is the result */
		return p2o_cast(cx, in[0], dt);
	if (p2o_norm_dim(cx, dim, rank, &dim))
		return P2O_NOVAL;
	if (kept == 1)
		return in[0];
	uint32_t nd = p2o_node_new(cx, "Concat", kept, in, 1);
	p2o_attr_int(cx, nd, "axis", dim);
	return p2o_node_done(cx, nd);
}

/* aten::cat / concat / concatenate(tensors, dim=0): one Concat; and
 * aten::stack(tensors, dim=0), where each tensor first gets a new dim at
 * dim (counted in the result's rank). */
P2O_HANDLER(cat)
{
	bool stack = strcmp(n->kind, "aten::stack") == 0;
	p2o_arg v;
	uint32_t count;
	int rc = p2o_args(cx, n, "dim:i", &v);
	if (rc)
		return rc;
	uint32_t *in = tensor_list(cx, n, "tensors", &count);
	if (!in)
		return P2O_ERR_UNSUPPORTED;
	int64_t dim = v.i;
	if (stack) {
		if ((rc = p2o_norm_dim(cx, v.i, p2o_t(cx, in[0])->rank + 1,
				       &dim)))
			return rc;
		for (uint32_t i = 0; i < count; i++)
			in[i] = p2o_unsqueeze(cx, in[i], &dim, 1);
	}
	return p2o_set_result(cx, n, join(cx, in, count, dim));
}

/* aten::broadcast_tensors(tensors): every tensor expanded to the shape
 * they broadcast to, found by expanding the first by the others' shapes
 * (Expand broadcasts both ways). */
P2O_HANDLER(broadcast_tensors)
{
	uint32_t count;
	uint32_t *xs = tensor_list(cx, n, "tensors", &count);
	if (!xs)
		return P2O_ERR_UNSUPPORTED;
	uint32_t acc = xs[0];
	for (uint32_t i = 1; i < count; i++)
		acc = p2o_op2(cx, "Expand", acc, p2o_dims_value(cx, xs[i], 0,
						p2o_t(cx, xs[i])->rank));
	if (acc == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	if (p2o_t(cx, acc)->rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "broadcast_tensors to a "
				"shape of unknown rank");
	uint32_t shape = p2o_dims_value(cx, acc, 0, p2o_t(cx, acc)->rank);
	for (uint32_t i = 0; i < count; i++)
		if ((xs[i] = p2o_op2(cx, "Expand", xs[i], shape)) == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	p2o_set_tensor_list(cx, n, 0, xs, count);
	return P2O_OK;
}

/* x with at least `want` dims, as torch.atleast_{1,2,3}d makes them (and
 * column_stack's 1-D columns, want 0): a 0-D x becomes [1]*want, a 1-D
 * [N] becomes [1, N] (2-D), [1, N, 1] (3-D) or [N, 1] (columns), a 2-D
 * [M, N] becomes [M, N, 1] (3-D). */
static uint32_t atleast(p2o_cx *cx, uint32_t x, int want)
{
	int r = p2o_t(cx, x)->rank;
	static const int64_t ones[3] = { 0, 1, 2 };
	static const int64_t a13[2] = { 0, 2 };
	static const int64_t last2 = 2, last1 = 1, first = 0;
	if (want == 0) /* a column */
		return r == 0 ? p2o_unsqueeze(cx, x, ones, 2) :
		       r == 1 ? p2o_unsqueeze(cx, x, &last1, 1) : x;
	if (r >= want)
		return x;
	if (r == 0)
		return p2o_unsqueeze(cx, x, ones, (size_t)want);
	if (want == 2)
		return p2o_unsqueeze(cx, x, &first, 1);
	return r == 1 ? p2o_unsqueeze(cx, x, a13, 2) :
			p2o_unsqueeze(cx, x, &last2, 1);
}

/* aten::hstack, vstack, dstack, column_stack(tensors): cat after
 * atleast_1d (along 0 when all are 1-D, else 1), atleast_2d (along 0),
 * atleast_3d (along 2), or making 0-D/1-D tensors columns (along 1). */
P2O_HANDLER(hstack)
{
	uint32_t count;
	uint32_t *in = tensor_list(cx, n, "tensors", &count);
	if (!in)
		return P2O_ERR_UNSUPPORTED;
	const char *k = n->kind + strlen("aten::");
	int want = k[0] == 'h' ? 1 : k[0] == 'v' ? 2 : k[0] == 'd' ? 3 : 0;
	int64_t dim = want == 1 ? 1 : want == 2 ? 0 : want == 3 ? 2 : 1;
	bool all1 = true;
	for (uint32_t i = 0; i < count; i++) {
		in[i] = atleast(cx, in[i], want);
		all1 = all1 && p2o_t(cx, in[i])->rank == 1;
	}
	if (want == 1 && all1)
		dim = 0;
	return p2o_set_result(cx, n, join(cx, in, count, dim));
}

/* The dim (normalized) that n splits x along; x needs a known rank of 1
 * or more. */
static int split_dim(p2o_cx *cx, const pts_node *n, uint32_t x, int64_t d,
		     int64_t *dim)
{
	int r = p2o_t(cx, x)->rank;
	if (r < 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s of a tensor of %s "
				"rank", n->kind, r < 0 ? "unknown" : "zero");
	return p2o_norm_dim(cx, d, r, dim);
}

/* aten::unbind.int(self, dim=0): a list of self[i] along dim, which needs
 * the dim's length. */
P2O_HANDLER(unbind)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t dim:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	int64_t dim;
	if ((rc = split_dim(cx, n, x, v[1].i, &dim)))
		return rc;
	int64_t len = t->dims[dim].v;
	if (len < 1 || len > P2O_MAX_SPLIT)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "unbind along dim "
				"%lld needs its length known (it is %s)",
				(long long)dim, len < 0 ? "symbolic" : "out of "
				"the range supported");
	int64_t *ones = p2o_alloc(cx, sizeof *ones * (size_t)len);
	uint32_t *outs = p2o_alloc(cx, sizeof *outs * (size_t)len);
	for (int64_t i = 0; i < len; i++)
		ones[i] = 1;
	if ((rc = p2o_split(cx, x, (int)dim, ones, (size_t)len, outs)))
		return rc;
	for (int64_t i = 0; i < len; i++)
		if ((outs[i] = p2o_squeeze(cx, outs[i], &dim, 1)) == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	p2o_set_tensor_list(cx, n, 0, outs, (uint32_t)len);
	return P2O_OK;
}

/* aten::tensor_split.sections(self, sections, dim=0) and .indices(self,
 * indices, dim=0): sections parts, the first D % sections one longer, or
 * the parts between the indices (slice bounds: clamped, negative from the
 * end). Each part is a Slice, which needs no length for indices. */
P2O_HANDLER(tensor_split)
{
	bool sections = p2o_overload_is(n, "sections");
	if (!sections && !p2o_overload_is(n, "indices"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "tensor_split by a "
				"tensor of indices or sections");
	p2o_arg v[3];
	int rc = p2o_args(cx, n, sections ? "self:t sections:i dim:i" :
				 "self:t indices:is dim:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	int64_t dim;
	if ((rc = split_dim(cx, n, x, v[2].i, &dim)))
		return rc;
	int64_t len = t->dims[dim].v;
	size_t parts = sections ? (size_t)v[1].i : v[1].n + 1;
	if (sections && (v[1].i < 1 || v[1].i > P2O_MAX_SPLIT))
		return p2o_fail(cx, P2O_ERR_CONVERT, "tensor_split into %lld "
				"sections", (long long)v[1].i);
	if (sections && len < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "tensor_split into "
				"sections of a dim of symbolic size");
	if (parts > P2O_MAX_SPLIT)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "more than %d parts",
				P2O_MAX_SPLIT);
	uint32_t *outs = p2o_alloc(cx, sizeof *outs * parts);
	int64_t at = 0;
	for (size_t i = 0; i < parts; i++) {
		int64_t s, e;
		if (sections) {
			int64_t q = len / v[1].i, m = len % v[1].i;
			s = at;
			e = at + q + ((int64_t)i < m);
			at = e;
		} else {
			s = i ? v[1].ints[i - 1] : 0;
			e = i < v[1].n ? v[1].ints[i] : INT64_MAX;
		}
		if (s == 0 && e == INT64_MAX)
			outs[i] = x;
		else if ((outs[i] = p2o_slice(cx, x, &s, &e, &dim, NULL, 1)) ==
			 P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	p2o_set_tensor_list(cx, n, 0, outs, (uint32_t)parts);
	return P2O_OK;
}

/* aten::meshgrid(tensors) and meshgrid.indexing(tensors, indexing): N
 * 0-D or 1-D tensors give N tensors of shape [n0, n1, ...] where the i-th
 * varies along dim i ('ij', the default) or, for 'xy', with the first two
 * dims swapped. */
P2O_HANDLER(meshgrid)
{
	p2o_arg v;
	uint32_t count;
	int rc = p2o_args(cx, n, "indexing:s?", &v);
	if (rc)
		return rc;
	const char *ix = v.none ? "ij" : v.s;
	bool xy = strcmp(ix, "xy") == 0;
	if (!xy && strcmp(ix, "ij") != 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "meshgrid indexing '%s'",
				ix);
	uint32_t *in = tensor_list(cx, n, "tensors", &count);
	if (!in)
		return P2O_ERR_UNSUPPORTED;
	if (count > P2O_MAX_RANK)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "meshgrid of %u tensors",
				count);
	uint32_t sizes[P2O_MAX_RANK];
	int64_t m1 = -1;
	for (uint32_t i = 0; i < count; i++) {
		if (p2o_t(cx, in[i])->rank > 1)
			return p2o_fail(cx, P2O_ERR_CONVERT, "meshgrid of a "
					"tensor of rank %d",
					p2o_t(cx, in[i])->rank);
		in[i] = p2o_reshape_to(cx, in[i], &m1, 1);
		/* 'xy' puts the first two tensors' dims the other way. */
		uint32_t at = xy && count > 1 && i < 2 ? 1 - i : i;
		sizes[at] = p2o_dims_value(cx, in[i], 0, 1);
	}
	uint32_t shape = sizes[0];
	if (count > 1) {
		uint32_t nd = p2o_node_new(cx, "Concat", count, sizes, 1);
		p2o_attr_int(cx, nd, "axis", 0);
		shape = p2o_node_done(cx, nd);
	}
	uint32_t *outs = p2o_alloc(cx, sizeof *outs * count);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t at = xy && count > 1 && i < 2 ? 1 - i : i;
		int64_t view[P2O_MAX_RANK];
		for (uint32_t j = 0; j < count; j++)
			view[j] = j == at ? -1 : 1;
		outs[i] = p2o_op2(cx, "Expand", p2o_reshape_to(cx, in[i], view,
							     (int)count), shape);
		if (outs[i] == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	p2o_set_tensor_list(cx, n, 0, outs, count);
	return P2O_OK;
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
	/* ---- knobs ---- --training train: Dropout's training form (its
	 * ratio and training_mode inputs are Dropout-12's). Feature and alpha
	 * dropout drop whole channels or keep the mean: ONNX has neither. */
	if (v[1].b && cx->train && strcmp(n->kind, "aten::dropout") == 0 &&
	    (v[0].f != 0 || cx->opset >= 12)) {
		if ((rc = p2o_need_opset(cx, 12, "dropout in training mode "
					 "(Dropout's training_mode)")))
			return rc;
		uint32_t x = p2o_arg_tensor(cx, n, 0);
		if (x == P2O_NOVAL)
			return P2O_ERR_UNSUPPORTED;
		int dt = p2o_t(cx, x)->dtype;
		if (!p2o_dtype_is_float(dt))
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "dropout of a "
					"non-float tensor in training mode");
		uint32_t in[3] = { x, p2o_const_scalar(cx, dt, v[0].f),
				   p2o_const_scalar(cx, P2O_BOOL, 1) };
		uint32_t nd = p2o_node_new(cx, "Dropout", 3, in, 1);
		return p2o_set_result(cx, n, p2o_node_done(cx, nd));
	}
	/* train=True is real (random) dropout even in an eval-mode module
	 * (F.dropout(x, training=True)); with p == 0 it keeps everything. */
	if (v[1].b && v[0].f != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"dropout with train=True and p=%g is random "
				"(export needs the model in eval mode)", v[0].f);
	return p2o_h_identity(cx, n);
}

/* A slice bound given at run time as a 1-D int64 value of one entry. */
static uint32_t run_time_bound(p2o_cx *cx, const pts_node *n,
			       const p2o_arg *a, int64_t deflt)
{
	if (a->none)
		return p2o_const_i64s(cx, &deflt, 1);
	if (a->k && a->k->kind == PTS_C_INT)
		return p2o_const_i64s(cx, &a->k->i, 1);
	int64_t one = 1;
	return p2o_reshape_to(cx, p2o_cast(cx, p2o_arg_tensor(cx, n,
		(uint32_t)a->idx), P2O_INT64), &one, 1);
}

/* aten::slice(self, dim=0, start=None, end=None, step=1): self[start:end:step]
 * along dim, with PyTorch's negative and omitted bounds (ONNX Slice clamps
 * the same way, so a symbolic dim needs no size). Bounds computed at run
 * time (sizes of symbolic dims) need Slice's inputs of opset 10. */
P2O_HANDLER(slice)
{
	if (p2o_overload_is(n, "t"))
		return p2o_h_list_op(cx, n); /* a list */
	if (!p2o_overload_is(n, "Tensor"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"slicing a string is not supported");
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t dim:i start:n end:n step:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int r = p2o_t(cx, x)->rank;
	int64_t dim = v[1].i, step = v[4].i;
	if (r < 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "slicing a tensor of "
				"%s rank", r < 0 ? "unknown" : "zero");
	if ((rc = p2o_norm_dim(cx, dim, r, &dim)))
		return rc;
	if (step <= 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "slice step must be "
				"positive, got %lld", (long long)step);
	bool ks = v[2].none || (v[2].k && v[2].k->kind == PTS_C_INT);
	bool ke = v[3].none || (v[3].k && v[3].k->kind == PTS_C_INT);
	if (!ks || !ke) {
		if ((rc = p2o_need_opset(cx, 10, "slicing with bounds computed "
					 "at run time")))
			return rc;
		uint32_t in[5] = { x, run_time_bound(cx, n, &v[2], 0),
				   run_time_bound(cx, n, &v[3], INT64_MAX),
				   p2o_const_i64s(cx, &dim, 1),
				   p2o_const_i64s(cx, &step, 1) };
		for (int i = 1; i < 3; i++)
			if (in[i] == P2O_NOVAL)
				return P2O_ERR_UNSUPPORTED;
		return p2o_set_result(cx, n, p2o_node_done(cx,
			p2o_node_new(cx, "Slice", 5, in, 1)));
	}
	int64_t start = v[2].none ? 0 : v[2].k->i,
		end = v[3].none ? INT64_MAX : v[3].k->i;
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
	bool chunk = strstr(n->kind, "chunk") != NULL; /* unsafe_chunk too */
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
	if ((rc = split_dim(cx, n, x, dim, &dim)))
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
