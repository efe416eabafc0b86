/* index.c — reading by index: aten::index (advanced indexing), index_select,
 * gather, take, embedding, nonzero/argwhere, masked_select, and the
 * index-shuffling ops flip and roll. The write side (scatter, index_put,
 * tril/triu) is scatter.c; sorting and selection is sort.c. */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* A node of op over n inputs with one output, or P2O_NOVAL when an input
 * already failed (its diagnostic recorded). */
static uint32_t op_n(p2o_cx *cx, const char *op, const uint32_t *in,
		     uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (in[i] == P2O_NOVAL)
			return P2O_NOVAL;
	return p2o_node_done(cx, p2o_node_new(cx, op, n, in, 1));
}

static uint32_t concat(p2o_cx *cx, const uint32_t *in, uint32_t n, int axis)
{
	for (uint32_t i = 0; i < n; i++)
		if (in[i] == P2O_NOVAL)
			return P2O_NOVAL;
	uint32_t nd = p2o_node_new(cx, "Concat", n, in, 1);
	p2o_attr_int(cx, nd, "axis", axis);
	return p2o_node_done(cx, nd);
}

static uint32_t gather(p2o_cx *cx, uint32_t x, uint32_t idx, int axis)
{
	if (x == P2O_NOVAL || idx == P2O_NOVAL)
		return P2O_NOVAL;
	uint32_t in[2] = { x, idx };
	uint32_t nd = p2o_node_new(cx, "Gather", 2, in, 1);
	p2o_attr_int(cx, nd, "axis", axis);
	return p2o_node_done(cx, nd);
}

static bool is_mask(int dtype)
{
	return dtype == P2O_BOOL || dtype == P2O_UINT8;
}

/* The advanced indices of aten::index / index_put: one int64 index tensor
 * per indexed dim of x, in dim order (a bool mask of rank m indexes m dims,
 * through the rows of NonZero). */
typedef struct adv {
	int k;                      /* indexed dims */
	int dims[P2O_MAX_RANK];     /* which, ascending */
	uint32_t idx[P2O_MAX_RANK]; /* their index tensors */
	bool adjacent;              /* dims[] consecutive */
	bool from_int;              /* a single integer index tensor */
} adv;

/* Reads the index list of input `at` into a, after checking the opset
 * the form needs: `need` for the op itself, 9 for a mask (NonZero), 11 for
 * several indexed dims (GatherND/ScatterND). */
static int read_indices(p2o_cx *cx, const pts_node *n, int32_t at,
			uint32_t x, adv *a, int need, const char *what)
{
	const p2o_tv *list = p2o_tvin(cx, n, (uint32_t)at);
	int rank = p2o_t(cx, x)->rank;
	if (list->kind != P2O_TV_LIST)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"indices that are not a list built in the graph");
	if (rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"indexing a tensor of unknown rank");
	int used = 0;
	for (uint32_t i = 0; i < list->n; i++) {
		const p2o_tv *it = &P2O_TV(cx, list->items[i]);
		if (it->kind == P2O_TV_CONST && it->k->kind == PTS_C_NONE)
			continue;
		/* The ONNX types as converted so far (PTS and ONNX number
		 * dtypes alike); a constant's from its tensor. */
		int dt = 0, r = 1;
		if (it->kind == P2O_TV_TENSOR) {
			dt = p2o_t(cx, it->onnx)->dtype;
			r = p2o_t(cx, it->onnx)->rank;
		} else if (it->kind == P2O_TV_CONST &&
			   it->k->kind == PTS_C_TENSOR) {
			dt = it->k->t.dtype;
			r = it->k->t.rank;
		}
		bool mask = is_mask(dt);
		if (mask && need < 9) {
			need = 9;
			what = "indexing with a mask";
		}
		used += mask && r > 0 ? r : 1;
	}
	if (used > 1 && need < 11) {
		need = 11;
		what = "indexing several dims with tensors";
	}
	int rc = p2o_need_opset(cx, need, what);
	if (rc)
		return rc;
	memset(a, 0, sizeof *a);
	int d = 0, ints = 0;
	for (uint32_t i = 0; i < list->n; i++) {
		const p2o_tv *it = &P2O_TV(cx, list->items[i]);
		if (it->kind == P2O_TV_CONST && it->k->kind == PTS_C_NONE) {
			d++;
			continue;
		}
		uint32_t t = p2o_value_tensor(cx, list->items[i]);
		if (t == P2O_NOVAL)
			return P2O_ERR_CONVERT;
		const p2o_type *tt = p2o_t(cx, t);
		if (tt->rank < 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"an index of unknown rank");
		if (is_mask(tt->dtype)) {
			int m = tt->rank;
			if (m == 0)
				return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
						"indexing with a 0-dim bool");
			if (d + m > rank)
				return p2o_fail(cx, P2O_ERR_CONVERT,
						"too many indices for a rank-%d "
						"tensor", rank);
			uint32_t nz = p2o_op1(cx, "NonZero",
					      p2o_cast(cx, t, P2O_BOOL));
			for (int j = 0; j < m; j++) {
				a->dims[a->k] = d + j;
				a->idx[a->k++] = gather(
					cx, nz,
					p2o_const_scalar(cx, P2O_INT64, j), 0);
			}
			d += m;
			continue;
		}
		if (!p2o_dtype_is_int(tt->dtype))
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"indices must be integer or bool tensors");
		if (d >= rank)
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"too many indices for a rank-%d tensor",
					rank);
		a->dims[a->k] = d;
		a->idx[a->k++] = p2o_index_norm(cx, t, x, d);
		d++;
		ints++;
	}
	if (a->k == 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "indexing without "
				"an index tensor");
	a->adjacent = a->dims[a->k - 1] - a->dims[0] == a->k - 1;
	a->from_int = a->k == 1 && ints == 1;
	for (int i = 0; i < a->k; i++)
		if (a->idx[i] == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	return P2O_OK;
}

/* The index tensors broadcast and stacked on a last axis ([B..., k], for
 * GatherND/ScatterND), and x transposed so that the indexed dims come
 * first (*xt; *perm gets the permutation, identity when none is needed). */
static uint32_t stack_indices(p2o_cx *cx, const adv *a, uint32_t x,
			      uint32_t *xt, int64_t *perm, int *nb)
{
	int rank = p2o_t(cx, x)->rank, br = 0;
	uint32_t idx[P2O_MAX_RANK];
	bool same = true;
	for (int i = 0; i < a->k; i++) {
		const p2o_type *t = p2o_t(cx, a->idx[i]);
		if (t->rank > br)
			br = t->rank;
		const p2o_type *t0 = p2o_t(cx, a->idx[0]);
		same = same && t->rank == t0->rank;
		for (int j = 0; same && j < t->rank; j++)
			same = t->dims[j].v >= 0 &&
			       p2o_dim_eq(t->dims[j], t0->dims[j]);
	}
	*nb = br;
	uint32_t shape = P2O_NOVAL;
	if (!same) {
		/* Broadcast through the shape of their sum. */
		uint32_t sum = a->idx[0];
		for (int i = 1; i < a->k; i++)
			sum = p2o_op2(cx, "Add", sum, a->idx[i]);
		shape = p2o_op1(cx, "Shape", sum);
	}
	int64_t last = br;
	for (int i = 0; i < a->k; i++) {
		uint32_t t = a->idx[i];
		if (!same)
			t = p2o_op2(cx, "Expand", t, shape);
		idx[i] = p2o_unsqueeze(cx, t, &last, 1);
	}
	uint32_t ind = a->k == 1 ? idx[0] : concat(cx, idx, (uint32_t)a->k, br);
	int np = 0;
	bool ident = true;
	for (int i = 0; i < a->k; i++)
		perm[np++] = a->dims[i];
	for (int i = 0; i < rank; i++) {
		bool in = false;
		for (int j = 0; j < a->k; j++)
			in = in || a->dims[j] == i;
		if (!in)
			perm[np++] = i;
	}
	for (int i = 0; i < rank; i++)
		ident = ident && perm[i] == i;
	*xt = ident ? x : p2o_transpose(cx, x, perm, rank);
	return ind;
}

/* The permutation taking GatherND's [B..., before..., after...] to
 * PyTorch's [before..., B..., after...] for adjacent indexed dims that do
 * not start at 0 (nb: rank of B, nbef: dims before, r: result rank);
 * false when the result already is in PyTorch's order. */
static bool adjacent_perm(const adv *a, int nb, int r, int64_t *perm)
{
	int nbef = a->dims[0];
	if (!a->adjacent || nbef == 0)
		return false;
	int p = 0;
	for (int i = 0; i < nbef; i++)
		perm[p++] = nb + i;
	for (int i = 0; i < nb; i++)
		perm[p++] = i;
	for (int i = nb + nbef; i < r; i++)
		perm[p++] = i;
	return true;
}

/* aten::index.Tensor(self, Tensor?[] indices): x[idx], x[:, idx],
 * x[i, j] (broadcast), x[mask]. One index tensor is a Gather along its
 * dim; several are a GatherND (opset 11) over x with the indexed dims moved
 * first, whose result dims then go where PyTorch puts them: in place of
 * the indexed dims when those are adjacent, first otherwise. */
P2O_HANDLER(index)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t indices:v", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	adv a;
	if ((rc = read_indices(cx, n, v[1].idx, x, &a, 7, "index")))
		return rc;
	if (a.k == 1)
		return p2o_set_result(cx, n, gather(cx, x, a.idx[0], a.dims[0]));
	uint32_t xt;
	int64_t perm[P2O_MAX_RANK];
	int nb;
	uint32_t ind = stack_indices(cx, &a, x, &xt, perm, &nb);
	uint32_t y = op_n(cx, "GatherND", (uint32_t[]){ xt, ind }, 2);
	if (y == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	int r = p2o_t(cx, y)->rank;
	if (adjacent_perm(&a, nb, r, perm))
		y = p2o_transpose(cx, y, perm, r);
	return p2o_set_result(cx, n, y);
}

/* aten::index_select(self, dim, index): a Gather; a 0-dim index still
 * keeps the dim (PyTorch treats it as one index). */
P2O_HANDLER(index_select)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i index:t", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, idx = v[2].tensor;
	int64_t d;
	int rank = p2o_t(cx, x)->rank;
	if ((rc = p2o_norm_dim(cx, v[1].i, rank > 0 ? rank : 1, &d)))
		return rc;
	if (rank == 0) /* a 0-dim self: index 0 of itself */
		return p2o_set_result(cx, n, x);
	if (p2o_t(cx, idx)->rank == 0) {
		int64_t one = 1;
		idx = p2o_reshape_to(cx, idx, &one, 1);
	}
	return p2o_set_result(cx, n, gather(cx, x, p2o_index_norm(cx, idx, x,
								   (int)d),
					    (int)d));
}

/* aten::gather(self, dim, index, sparse_grad=False): GatherElements. */
P2O_HANDLER(gather)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t dim:i index:t", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t d;
	if (rank <= 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"gather from a 0-dim or unknown-rank tensor");
	if ((rc = p2o_norm_dim(cx, v[1].i, rank, &d)))
		return rc;
	uint32_t idx = p2o_cast(cx, v[2].tensor, P2O_INT64);
	uint32_t nd = p2o_node_new(cx, "GatherElements", 2,
				   (uint32_t[]){ x, idx }, 1);
	p2o_attr_int(cx, nd, "axis", d);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* aten::take(self, index): x.flatten()[index], shaped as index. */
P2O_HANDLER(take)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t index:t", v);
	if (rc)
		return rc;
	int64_t m1 = -1;
	uint32_t flat = p2o_reshape_to(cx, v[0].tensor, &m1, 1);
	if (flat == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	return p2o_set_result(cx, n, gather(cx, flat, p2o_index_norm(
						cx, v[1].tensor, flat, 0), 0));
}

/* aten::take_along_dim(self, indices, dim=None): with a dim, gather along
 * it (the two must already agree on the other dims: broadcasting them is
 * refused); without one, take over the flattened tensor. */
P2O_HANDLER(take_along_dim)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t indices:t dim:i?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, idx = v[1].tensor;
	if ((rc = p2o_need_opset(cx, 11, "take_along_dim")))
		return rc;
	int64_t m1 = -1, d = 0;
	if (v[2].none) {
		x = p2o_reshape_to(cx, x, &m1, 1);
		idx = p2o_reshape_to(cx, idx, &m1, 1);
	} else {
		const p2o_type *tx = p2o_t(cx, x), *ti = p2o_t(cx, idx);
		if ((rc = p2o_norm_dim(cx, v[2].i, tx->rank, &d)))
			return rc;
		bool same = tx->rank == ti->rank;
		for (int i = 0; same && i < tx->rank; i++)
			same = i == d || p2o_dim_eq(tx->dims[i], ti->dims[i]);
		if (!same)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"take_along_dim with indices that "
					"broadcast against self");
	}
	if (x == P2O_NOVAL || idx == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	idx = p2o_index_norm(cx, idx, x, (int)d);
	uint32_t nd = p2o_node_new(cx, "GatherElements", 2,
				   (uint32_t[]){ x, idx }, 1);
	p2o_attr_int(cx, nd, "axis", d);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* aten::embedding(weight, indices, padding_idx, scale_grad_by_freq,
 * sparse): rows of weight. padding_idx and the other two only change the
 * gradient, so the forward pass is a Gather whatever they are. */
P2O_HANDLER(embedding)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "weight:t indices:t", v);
	if (rc)
		return rc;
	uint32_t w = v[0].tensor;
	return p2o_set_result(cx, n, gather(cx, w, p2o_index_norm(
						cx, v[1].tensor, w, 0), 0));
}

/* aten::nonzero(self) and aten::argwhere(self): [N, rank] int64
 * coordinates, row-major order as NonZero gives them. */
P2O_HANDLER(nonzero)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	uint32_t x = v.tensor;
	if (p2o_t(cx, x)->rank == 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "nonzero of a 0-dim "
				"tensor");
	int64_t perm[2] = { 1, 0 };
	uint32_t nz = p2o_op1(cx, "NonZero", x);
	return p2o_set_result(cx, n, p2o_transpose(cx, nz, perm, 2));
}

/* aten::nonzero_numpy(self) (nonzero(as_tuple=True)): one 1-D index
 * tensor per dim. aten::where(condition), the one-argument where, is the
 * same: its handler can pass such nodes here. */
P2O_HANDLER(nonzero_numpy)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self|condition:t", &v);
	if (rc)
		return rc;
	uint32_t x = v.tensor;
	int r = p2o_t(cx, x)->rank;
	if (r <= 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "nonzero of a 0-dim "
				"or unknown-rank tensor");
	uint32_t nz = p2o_op1(cx, "NonZero", x), rows[P2O_MAX_RANK];
	for (int i = 0; i < r; i++) {
		rows[i] = gather(cx, nz, p2o_const_scalar(cx, P2O_INT64, i), 0);
		if (rows[i] == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	p2o_set_tensor_list(cx, n, 0, rows, (uint32_t)r);
	return P2O_OK;
}

/* x and y broadcast against each other: Expand is bidirectional, so x
 * expanded to y's shape has the common shape. Unchanged when the shapes
 * are known equal. */
static void broadcast2(p2o_cx *cx, uint32_t *x, uint32_t *y)
{
	const p2o_type *a = p2o_t(cx, *x), *b = p2o_t(cx, *y);
	bool same = a->rank == b->rank && a->rank >= 0;
	for (int i = 0; same && i < a->rank; i++)
		same = a->dims[i].v >= 0 && a->dims[i].v == b->dims[i].v;
	if (same)
		return;
	*x = p2o_op2(cx, "Expand", *x, p2o_op1(cx, "Shape", *y));
	*y = p2o_op2(cx, "Expand", *y, p2o_op1(cx, "Shape", *x));
}

/* aten::masked_select(self, mask): the elements where the (broadcast)
 * mask is true, flattened: Compress without an axis. */
P2O_HANDLER(masked_select)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t mask:t", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, m = p2o_cast(cx, v[1].tensor, P2O_BOOL);
	broadcast2(cx, &x, &m);
	int64_t m1 = -1;
	uint32_t in[2] = { p2o_reshape_to(cx, x, &m1, 1),
			   p2o_reshape_to(cx, m, &m1, 1) };
	return p2o_set_result(cx, n, op_n(cx, "Compress", in, 2));
}

/* aten::flip(self, dims): a Slice backwards along each dim (steps need
 * Slice-10). */
P2O_HANDLER(flip)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t dims:is", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t st[P2O_MAX_RANK], en[P2O_MAX_RANK], ax[P2O_MAX_RANK],
		sp[P2O_MAX_RANK];
	if (v[1].n > P2O_MAX_RANK)
		return p2o_fail(cx, P2O_ERR_CONVERT, "too many dims");
	bool seen[P2O_MAX_RANK] = { false };
	size_t k = 0;
	for (size_t i = 0; i < v[1].n; i++) {
		int64_t d;
		if ((rc = p2o_norm_dim(cx, v[1].ints[i], rank, &d)))
			return rc;
		if (seen[d])
			return p2o_fail(cx, P2O_ERR_CONVERT, "dim %lld appears "
					"twice in flip", (long long)d);
		seen[d] = true;
		st[k] = -1;
		en[k] = INT64_MIN;
		ax[k] = d;
		sp[k++] = -1;
	}
	if (k == 0)
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, p2o_slice(cx, x, st, en, ax, sp, k));
}

/* x[from:] ++ x[:from] along axis, from a 1-D int64 value (Slice-10). */
static uint32_t rotate_dyn(p2o_cx *cx, uint32_t x, uint32_t from, int axis)
{
	int64_t zero = 0, big = INT64_MAX, ax = axis;
	uint32_t axv = p2o_const_i64s(cx, &ax, 1);
	uint32_t a[4] = { x, from, p2o_const_i64s(cx, &big, 1), axv };
	uint32_t b[4] = { x, p2o_const_i64s(cx, &zero, 1), from, axv };
	uint32_t parts[2] = { op_n(cx, "Slice", a, 4), op_n(cx, "Slice", b, 4) };
	return concat(cx, parts, 2, axis);
}

/* Rolls x by shift along axis: the last shift elements come first. */
static uint32_t roll1(p2o_cx *cx, uint32_t x, int64_t shift, int axis)
{
	const p2o_type *t = p2o_t(cx, x);
	int64_t len = t->dims[axis].v;
	if (len >= 0) {
		if (len == 0)
			return x;
		int64_t s = ((shift % len) + len) % len;
		if (s == 0)
			return x;
		int64_t a0 = len - s, big = INT64_MAX, zero = 0, ax = axis;
		uint32_t parts[2] = {
			p2o_slice(cx, x, &a0, &big, &ax, NULL, 1),
			p2o_slice(cx, x, &zero, &a0, &ax, NULL, 1),
		};
		return concat(cx, parts, 2, axis);
	}
	/* A symbolic length: start at len - shift mod len (Mod's result has
	 * the divisor's sign, as Python's %), which is len itself, an empty
	 * first part, when the shift is a multiple of it. */
	if (p2o_need_opset(cx, 10, "roll along a symbolic dim"))
		return P2O_NOVAL;
	int64_t one = 1;
	uint32_t lenv = p2o_reshape_to(cx, p2o_dim_value(cx, x, axis), &one, 1);
	uint32_t sv = p2o_const_i64s(cx, &shift, 1);
	uint32_t from = p2o_op2(cx, "Sub", lenv, p2o_op2(cx, "Mod", sv, lenv));
	return rotate_dyn(cx, x, from, axis);
}

/* aten::roll(self, shifts, dims=[]): per (shift, dim) a Slice+Concat;
 * without dims the flattened tensor rolls and gets its shape back. */
P2O_HANDLER(roll)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t shifts:is dims:is", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	if (rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"roll of a tensor of unknown rank");
	if (v[2].n == 0) {
		if (v[1].n != 1)
			return p2o_fail(cx, P2O_ERR_CONVERT, "roll without dims "
					"takes one shift");
		int64_t m1 = -1;
		uint32_t shape = p2o_dims_value(cx, x, 0, rank);
		uint32_t flat = p2o_reshape_to(cx, x, &m1, 1);
		if (flat == P2O_NOVAL)
			return P2O_ERR_CONVERT;
		return p2o_set_result(cx, n, p2o_reshape(
					cx, roll1(cx, flat, v[1].ints[0], 0),
					shape));
	}
	if (v[1].n != v[2].n)
		return p2o_fail(cx, P2O_ERR_CONVERT, "roll with %zu shifts and "
				"%zu dims", v[1].n, v[2].n);
	for (size_t i = 0; i < v[2].n && x != P2O_NOVAL; i++) {
		int64_t d;
		if ((rc = p2o_norm_dim(cx, v[2].ints[i], rank, &d)))
			return rc;
		x = roll1(cx, x, v[1].ints[i], (int)d);
	}
	return p2o_set_result(cx, n, x);
}

/* aten::index_put(self, Tensor?[] indices, values, accumulate=False):
 * x[indices] = values as a new tensor. The indexed dims go first (a
 * Transpose when they are not), the values are broadcast to the shape
 * x[indices] has in PyTorch (and moved as the result of aten::index is),
 * and one ScatterND writes them (adding, from ScatterND-16, when
 * accumulate). */
P2O_HANDLER(index_put)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t indices:v values:t accumulate:b", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	bool acc = v[3].b;
	adv a;
	if ((rc = read_indices(cx, n, v[1].idx, x, &a, acc ? 16 : 11,
			       acc ? "index_put with accumulate=True" :
				     "index_put")))
		return rc;
	int rank = p2o_t(cx, x)->rank, dt = p2o_t(cx, x)->dtype;
	uint32_t xt;
	int64_t perm[P2O_MAX_RANK], back[P2O_MAX_RANK], rp[P2O_MAX_RANK];
	int nb;
	uint32_t ind = stack_indices(cx, &a, x, &xt, perm, &nb);
	uint32_t got = op_n(cx, "GatherND", (uint32_t[]){ xt, ind }, 2);
	if (got == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	int r = p2o_t(cx, got)->rank;
	uint32_t val = p2o_cast(cx, v[2].tensor, dt);
	if (adjacent_perm(&a, nb, r, rp)) {
		/* Broadcast in PyTorch's order, then back to GatherND's. */
		uint32_t shaped = p2o_transpose(cx, got, rp, r);
		val = p2o_op2(cx, "Expand", val, p2o_op1(cx, "Shape", shaped));
		int64_t inv[P2O_MAX_RANK];
		for (int i = 0; i < r; i++)
			inv[rp[i]] = i;
		val = p2o_transpose(cx, val, inv, r);
	} else {
		val = p2o_op2(cx, "Expand", val, p2o_op1(cx, "Shape", got));
	}
	if (val == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t nd = p2o_node_new(cx, "ScatterND", 3,
				   (uint32_t[]){ xt, ind, val }, 1);
	if (acc)
		p2o_attr_str(cx, nd, "reduction", "add");
	uint32_t y = p2o_node_done(cx, nd);
	if (xt != x && y != P2O_NOVAL) {
		for (int i = 0; i < rank; i++)
			back[perm[i]] = i;
		y = p2o_transpose(cx, y, back, rank);
	}
	return p2o_set_result(cx, n, y);
}

/* aten::one_hot(self, num_classes=-1): OneHot with values [0, 1] as
 * int64. num_classes -1 means max(self) + 1, a size known only from the
 * data: taken from a constant self, refused otherwise. */
P2O_HANDLER(one_hot)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:v num_classes:i", v);
	if (rc)
		return rc;
	int64_t depth = v[1].i;
	const pts_const *k = v[0].k;
	if (depth < 0) {
		if (!k || k->kind != PTS_C_TENSOR || k->t.dtype != PTS_INT64)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"one_hot without num_classes (the size "
					"would come from the data)");
		const int64_t *d = k->t.data;
		depth = 0;
		for (size_t i = 0; i < k->t.nbytes / 8; i++)
			depth = d[i] + 1 > depth ? d[i] + 1 : depth;
	}
	uint32_t x = p2o_arg_tensor(cx, n, (uint32_t)v[0].idx);
	int64_t vals[2] = { 0, 1 };
	uint32_t in[3] = { p2o_cast(cx, x, P2O_INT64),
			   p2o_const_scalar(cx, P2O_INT64, (double)depth),
			   p2o_const_i64s(cx, vals, 2) };
	uint32_t y = op_n(cx, "OneHot", in, 3);
	return p2o_set_result(cx, n, y);
}

/* aten::rot90(self, k=1, dims=[0, 1]): flips and a transpose, as
 * PyTorch defines it. */
P2O_HANDLER(rot90)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t k:i dims:is", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int rank = p2o_t(cx, x)->rank;
	int64_t a, b;
	if (v[2].n != 2 || rank < 2)
		return p2o_fail(cx, P2O_ERR_CONVERT, "rot90 takes two dims of "
				"a tensor of 2 or more dims");
	if ((rc = p2o_norm_dim(cx, v[2].ints[0], rank, &a)) ||
	    (rc = p2o_norm_dim(cx, v[2].ints[1], rank, &b)))
		return rc;
	if (a == b)
		return p2o_fail(cx, P2O_ERR_CONVERT, "rot90 of one dim twice");
	int64_t k = ((v[1].i % 4) + 4) % 4;
	if (k == 0)
		return p2o_set_result(cx, n, x);
	int64_t st[2] = { -1, -1 }, en[2] = { INT64_MIN, INT64_MIN },
		sp[2] = { -1, -1 }, ax[2] = { a, b }, perm[P2O_MAX_RANK];
	for (int i = 0; i < rank; i++)
		perm[i] = i;
	perm[a] = b;
	perm[b] = a;
	if (k == 2)
		return p2o_set_result(cx, n, p2o_slice(cx, x, st, en, ax, sp, 2));
	uint32_t f = p2o_slice(cx, x, st, en, k == 1 ? &b : &a, sp, 1);
	return p2o_set_result(cx, n, p2o_transpose(cx, f, perm, rank));
}

/* aten::diagonal(self, offset=0, dim1=0, dim2=1): the two dims moved
 * last and flattened into one, then a Gather of the diagonal's places
 * (known sizes only), which PyTorch puts last. */
P2O_HANDLER(diagonal)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t offset:i dim1:i dim2:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	int rank = t->rank;
	int64_t a, b, off = v[1].i;
	if (rank < 2)
		return p2o_fail(cx, P2O_ERR_CONVERT, "diagonal of a tensor of "
				"fewer than 2 dims");
	if ((rc = p2o_norm_dim(cx, v[2].i, rank, &a)) ||
	    (rc = p2o_norm_dim(cx, v[3].i, rank, &b)))
		return rc;
	if (a == b)
		return p2o_fail(cx, P2O_ERR_CONVERT, "diagonal dims are equal");
	int64_t h = t->dims[a].v, w = t->dims[b].v;
	if (h < 0 || w < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "diagonal along a "
				"symbolic dim");
	int64_t r0 = off < 0 ? -off : 0, c0 = off > 0 ? off : 0;
	int64_t len = h - r0 < w - c0 ? h - r0 : w - c0;
	if (len < 0)
		len = 0;
	int64_t perm[P2O_MAX_RANK], shape[P2O_MAX_RANK];
	int np = 0;
	for (int i = 0; i < rank; i++)
		if (i != a && i != b)
			perm[np++] = i;
	perm[np++] = a;
	perm[np++] = b;
	uint32_t y = p2o_transpose(cx, x, perm, rank);
	/* [others..., h*w]: 0 copies the leading dims, whatever they are. */
	for (int i = 0; i < rank - 2; i++)
		shape[i] = 0;
	shape[rank - 2] = h * w;
	y = p2o_reshape_to(cx, y, shape, rank - 1);
	int64_t *at = p2o_alloc(cx, sizeof *at * (size_t)(len + 1));
	for (int64_t i = 0; i < len; i++)
		at[i] = (r0 + i) * w + c0 + i;
	return p2o_set_result(cx, n, gather(cx, y, p2o_const_i64s(
							cx, at, (size_t)len),
					    rank - 2));
}

/* aten::bucketize(self, boundaries, out_int32=False, right=False) and
 * aten::searchsorted(sorted_sequence, self, out_int32=False, right=False,
 * side=None, sorter=None): the count of boundaries below each value (or
 * not above it, right=True), by one broadcast comparison and a ReduceSum
 * over the boundaries' axis. */
static int bucket(p2o_cx *cx, const pts_node *n, uint32_t seq, uint32_t x,
		  bool i32, bool right)
{
	const p2o_type *ts = p2o_t(cx, seq), *tx = p2o_t(cx, x);
	if (ts->rank < 1 || tx->rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "bucketize with "
				"boundaries of unknown or 0 rank");
	if (ts->rank > 1 && ts->rank != tx->rank)
		return p2o_fail(cx, P2O_ERR_CONVERT, "searchsorted of a %d-dim "
				"sequence with %d-dim values", ts->rank,
				tx->rank);
	int dt = p2o_promote(ts->dtype, true, tx->dtype, true);
	/* Less takes integers from Less-9; before, compare in double. */
	if (p2o_onnx_version(cx, "Less") < 9)
		dt = P2O_DOUBLE;
	int64_t last = tx->rank, pen = ts->rank - 1;
	uint32_t xv = p2o_unsqueeze(cx, p2o_cast(cx, x, dt), &last, 1);
	uint32_t sv = p2o_cast(cx, seq, dt);
	if (ts->rank > 1) /* [..., 1, M] against values [..., N, 1] */
		sv = p2o_unsqueeze(cx, sv, &pen, 1);
	uint32_t c = right ? p2o_compare_or_equal(cx, false, sv, xv) :
			     p2o_op2(cx, "Less", sv, xv);
	uint32_t y = p2o_reduce(cx, "ReduceSum", p2o_cast(cx, c, P2O_INT64),
				&last, 1, false);
	return p2o_set_result(cx, n, p2o_cast(cx, y, i32 ? P2O_INT32 :
							    P2O_INT64));
}

P2O_HANDLER(bucketize)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t boundaries:t out_int32:b right:b", v);
	if (rc)
		return rc;
	if (p2o_t(cx, v[1].tensor)->rank != 1)
		return p2o_fail(cx, P2O_ERR_CONVERT, "boundaries must be 1-D");
	return bucket(cx, n, v[1].tensor, v[0].tensor, v[2].b, v[3].b);
}

P2O_HANDLER(searchsorted)
{
	p2o_arg v[6];
	int rc = p2o_args(cx, n, "sorted_sequence:t self:t out_int32:b "
			  "right:b side:s? sorter:t?", v);
	if (rc)
		return rc;
	if (!v[5].none)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "searchsorted with a "
				"sorter");
	bool right = v[3].b || (!v[4].none && strcmp(v[4].s, "right") == 0);
	return bucket(cx, n, v[0].tensor, v[1].tensor, v[2].b, right);
}

/* aten::embedding_renorm_(self, indices, max_norm, norm_type): rescales
 * rows of the weight in place at run time (embedding with max_norm), so
 * the weights would differ from one run to the next: refused. */
P2O_HANDLER(embedding_renorm)
{
	(void)n;
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "embedding with max_norm "
			"rewrites the weight at run time; export the model "
			"without max_norm (renormalize the weight once "
			"instead)");
}

/* aten::embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode,
 * sparse, per_sample_weights, include_last_offset[, padding_idx]) ->
 * (output, offset2bag, bag_size, max_indices), 1-D indices with offsets:
 * each index's bag is the count of offsets at or before its position,
 * minus one; its row (weighted, and dropped when it is padding_idx or past
 * the last offset) is added into its bag by ScatterND (opset 16), or
 * maxed (18). Mean divides by the bag's count; empty bags are 0, as in
 * PyTorch. Only the output is given; the other three are not. */
P2O_HANDLER(embedding_bag)
{
	p2o_arg v[7];
	int rc = p2o_args(cx, n, "weight:t indices:t offsets:t mode:i "
			  "per_sample_weights:t? include_last_offset:b "
			  "padding_idx:i?", v);
	if (rc)
		return rc;
	int64_t mode = v[3].i, pad = v[6].none ? -1 : v[6].i;
	if (mode < 0 || mode > 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "embedding_bag mode "
				"%lld", (long long)mode);
	if ((rc = p2o_need_opset(cx, mode == 2 ? 18 : 16,
				 mode == 2 ? "embedding_bag max" :
					     "embedding_bag")))
		return rc;
	/* offset2bag, bag_size and max_indices are bookkeeping for the
	 * backward pass: bound to a constant no handler takes as a tensor,
	 * so that a model reading them fails to convert, naming the value. */
	pts_const *none = p2o_new_const(cx, PTS_C_OTHER);
	for (uint32_t k = 1; k < n->n_out; k++)
		p2o_set_const(cx, n, k, none);
	uint32_t w = v[0].tensor, idx = p2o_cast(cx, v[1].tensor, P2O_INT64);
	uint32_t offs = p2o_cast(cx, v[2].tensor, P2O_INT64);
	const p2o_type *tw = p2o_t(cx, w);
	if (tw->rank != 2 || p2o_t(cx, idx)->rank != 1 ||
	    p2o_t(cx, offs)->rank != 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "embedding_bag other "
				"than of 1-D indices with offsets");
	int dt = tw->dtype;
	int64_t zero = 0, one = 1, m1 = -1, big = INT64_MAX;
	/* pos = 0..N-1, by an exclusive CumSum of ones */
	uint32_t ones = p2o_op2(cx, "Expand", p2o_const_scalar(cx, P2O_INT64, 1),
				p2o_op1(cx, "Shape", idx));
	uint32_t cs = p2o_node_new(cx, "CumSum", 2, (uint32_t[]){
		ones, p2o_const_scalar(cx, P2O_INT64, 0) }, 1);
	p2o_attr_int(cx, cs, "exclusive", 1);
	uint32_t pos = p2o_node_done(cx, cs);
	uint32_t starts = offs, valid = P2O_NOVAL;
	if (v[5].b) {
		starts = p2o_slice(cx, offs, &zero, &m1, &zero, NULL, 1);
		uint32_t last = p2o_slice(cx, offs, &m1, &big, &zero, NULL, 1);
		valid = p2o_op2(cx, "Less", pos, last);
	}
	if (pad >= 0) {
		uint32_t keep = p2o_op1(cx, "Not", p2o_op2(
			cx, "Equal", idx, p2o_const_scalar(cx, P2O_INT64,
							   (double)pad)));
		valid = valid == P2O_NOVAL ? keep :
					     p2o_op2(cx, "And", valid, keep);
	}
	uint32_t le = p2o_compare_or_equal(cx, false,
					   p2o_unsqueeze(cx, starts, &zero, 1),
					   p2o_unsqueeze(cx, pos, &one, 1));
	uint32_t seg = p2o_op2(cx, "Sub", p2o_reduce(cx, "ReduceSum",
						     p2o_cast(cx, le, P2O_INT64),
						     &one, 1, false),
			       p2o_const_scalar(cx, P2O_INT64, 1));
	/* Indices before the first offset belong to no bag in PyTorch. */
	uint32_t inbag = p2o_compare_or_equal(cx, true, seg,
					      p2o_const_scalar(cx, P2O_INT64, 0));
	valid = valid == P2O_NOVAL ? inbag : p2o_op2(cx, "And", valid, inbag);
	seg = op_n(cx, "Where", (uint32_t[]){
		inbag, seg, p2o_const_scalar(cx, P2O_INT64, 0) }, 3);
	uint32_t rows = gather(cx, w, idx, 0);
	if (!v[4].none) {
		if (mode != 0)
			return p2o_fail(cx, P2O_ERR_CONVERT, "per_sample_weights "
					"need mode 'sum'");
		rows = p2o_op2(cx, "Mul", rows, p2o_unsqueeze(
				       cx, p2o_cast(cx, v[4].tensor, dt), &one,
				       1));
	}
	uint32_t validc = p2o_unsqueeze(cx, valid, &one, 1);
	uint32_t fill = p2o_const_scalar(cx, dt, mode == 2 ? -INFINITY : 0);
	rows = op_n(cx, "Where", (uint32_t[]){ validc, rows, fill }, 3);
	uint32_t shape = concat(cx, (uint32_t[]){
		p2o_op1(cx, "Shape", starts), p2o_dims_value(cx, w, 1, 2) }, 2, 0);
	uint32_t init = p2o_op2(cx, "Expand", fill, shape);
	uint32_t nd = p2o_node_new(cx, "ScatterND", 3, (uint32_t[]){
		init, p2o_unsqueeze(cx, seg, &one, 1), rows }, 1);
	for (uint32_t i = 0; i < 3; i++)
		if (p2o_n(cx, nd)->in[i] == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	p2o_attr_str(cx, nd, "reduction", mode == 2 ? "max" : "add");
	uint32_t y = p2o_node_done(cx, nd);
	if (mode == 0 || y == P2O_NOVAL)
		return p2o_set_result(cx, n, y);
	/* Rows per bag: ScatterElements adds the valid flags. */
	uint32_t cnt = p2o_scatter_elements(
		cx, p2o_op2(cx, "Expand", p2o_const_scalar(cx, P2O_INT64, 0),
			    p2o_op1(cx, "Shape", starts)),
		seg, p2o_cast(cx, valid, P2O_INT64), 0, "add");
	uint32_t empty = p2o_unsqueeze(cx, p2o_op2(cx, "Equal", cnt,
						   p2o_const_scalar(
							   cx, P2O_INT64, 0)),
				       &one, 1);
	if (mode == 1) {
		uint32_t div = p2o_cast(cx, p2o_op2(cx, "Add", cnt, p2o_cast(
						    cx, p2o_squeeze(cx, empty,
								    &one, 1),
						    P2O_INT64)), dt);
		return p2o_set_result(cx, n, p2o_op2(cx, "Div", y, p2o_unsqueeze(
							     cx, div, &one, 1)));
	}
	return p2o_set_result(cx, n, op_n(cx, "Where", (uint32_t[]){
		empty, p2o_const_scalar(cx, dt, 0), y }, 3));
}

/* aten::diag_embed(self, offset=0, dim1=-2, dim2=-1): the last dim of self
 * (known length n) laid on the offset diagonal of new N x N matrices at
 * dims dim1 (rows) and dim2 (columns). self gets a zero column appended;
 * one Gather picks, for each of the N*N places, its diagonal element or
 * that zero; a Reshape and a Transpose put the two dims in place. */
P2O_HANDLER(diag_embed)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t offset:i dim1:i dim2:i", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	int r = t->rank;
	if (r < 1 || r + 1 > P2O_MAX_RANK)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "diag_embed of a %s "
				"tensor", r < 1 ? "0-dim or unknown-rank" :
						  "high-rank");
	int64_t a, b, off = v[1].i, len = t->dims[r - 1].v;
	if ((rc = p2o_norm_dim(cx, v[2].i, r + 1, &a)) ||
	    (rc = p2o_norm_dim(cx, v[3].i, r + 1, &b)))
		return rc;
	if (a == b)
		return p2o_fail(cx, P2O_ERR_CONVERT, "diag_embed dims are equal");
	if (len < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "diag_embed of a "
				"symbolic last dim");
	if ((rc = p2o_need_opset(cx, 8, "diag_embed")))
		return rc;
	int64_t big = len + (off < 0 ? -off : off), one = 1;
	if (big * big > (1 << 24))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "diag_embed of %lld x "
				"%lld matrices", (long long)big, (long long)big);
	int64_t *at = p2o_alloc(cx, sizeof *at * (size_t)(big * big));
	for (int64_t i = 0; i < big * big; i++)
		at[i] = len; /* the zero column */
	for (int64_t k = 0; k < len; k++) {
		int64_t row = off < 0 ? k - off : k, col = off > 0 ? k + off : k;
		at[row * big + col] = k;
	}
	uint32_t zshape = concat(cx, (uint32_t[]){
		p2o_dims_value(cx, x, 0, r - 1), p2o_const_i64s(cx, &one, 1) },
		2, 0);
	uint32_t zero = p2o_op2(cx, "Expand", p2o_const_scalar(cx, t->dtype, 0),
				zshape);
	uint32_t ext = concat(cx, (uint32_t[]){ x, zero }, 2, r - 1);
	uint32_t flat = gather(cx, ext, p2o_const_i64s(cx, at,
						      (size_t)(big * big)),
			       r - 1);
	int64_t shape[P2O_MAX_RANK + 1], perm[P2O_MAX_RANK + 1];
	for (int i = 0; i < r - 1; i++)
		shape[i] = 0; /* copied from flat's own dims */
	shape[r - 1] = big;
	shape[r] = big;
	uint32_t y = p2o_reshape_to(cx, flat, shape, r + 1);
	for (int p = 0, bi = 0; p <= r; p++)
		perm[p] = p == a ? r - 1 : p == b ? r : bi++;
	bool ident = true;
	for (int p = 0; p <= r; p++)
		ident = ident && perm[p] == p;
	return p2o_set_result(cx, n, ident ? y : p2o_transpose(cx, y, perm,
							       r + 1));
}
