/* view.c — views and layout: unsqueeze/squeeze, permutations of dims
 * (permute, transpose, t, mT, movedim...), select, expand and broadcasting,
 * repeat/tile/repeat_interleave, reshapes after another tensor, unflatten,
 * narrow, and size queries (numel, _shape_as_tensor). Copies and views are
 * the same thing in an ONNX graph: what matters is the values. */
#include <string.h>

#include "../internal.h"

/* The rank of x, or a diagnostic naming what needed it. */
static int known_rank(p2o_cx *cx, uint32_t x, const char *what, int *rank)
{
	*rank = p2o_t(cx, x)->rank;
	if (*rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s of a tensor of unknown rank", what);
	return P2O_OK;
}

/* x transposed by perm, or x itself when perm keeps every dim. */
static uint32_t permuted(p2o_cx *cx, uint32_t x, const int64_t *perm, int r)
{
	for (int i = 0; i < r; i++)
		if (perm[i] != i)
			return p2o_transpose(cx, x, perm, r);
	return x;
}

/* aten::unsqueeze(self, dim): dim counts in the result's rank. */
P2O_HANDLER(unsqueeze)
{
	p2o_arg v[2];
	int r, rc = p2o_args(cx, n, "self:t dim:i", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, "unsqueeze", &r)))
		return rc;
	int64_t d;
	if ((rc = p2o_norm_dim(cx, v[1].i, r + 1, &d)))
		return rc;
	return p2o_set_result(cx, n, p2o_unsqueeze(cx, v[0].tensor, &d, 1));
}

/* aten::squeeze(self) and aten::squeeze.dim(self, dim). PyTorch drops a
 * dim only when its size is 1 at run time; ONNX's Squeeze fails on any
 * other size. A known size decides here; a symbolic one could go either
 * way, and the result's rank with it, so it is refused. */
P2O_HANDLER(squeeze)
{
	p2o_arg v[2];
	int r, rc = p2o_args(cx, n, "self:t dim:i?", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, "squeeze", &r)))
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	int64_t axes[P2O_MAX_RANK];
	size_t na = 0;
	int lo = 0, hi = r;
	if (!v[1].none) {
		int64_t d;
		if ((rc = p2o_norm_dim(cx, v[1].i, r, &d)))
			return rc;
		if (r == 0)
			return p2o_set_result(cx, n, x);
		lo = (int)d;
		hi = (int)d + 1;
	}
	for (int i = lo; i < hi; i++) {
		if (t->dims[i].v < 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"squeeze of dim %d, whose size %s is "
					"not known to be 1 or not (give it "
					"with --input-shape)", i,
					t->dims[i].sym ? t->dims[i].sym : "?");
		if (t->dims[i].v == 1)
			axes[na++] = i;
	}
	if (!na)
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, p2o_squeeze(cx, x, axes, na));
}

/* aten::permute(self, dims) */
P2O_HANDLER(permute)
{
	p2o_arg v[2];
	int r, rc = p2o_args(cx, n, "self:t dims:is", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, "permute", &r)))
		return rc;
	if (v[1].n != (size_t)r)
		return p2o_fail(cx, P2O_ERR_CONVERT, "permute of a rank-%d tensor "
				"by %zu dims", r, v[1].n);
	int64_t perm[P2O_MAX_RANK];
	bool seen[P2O_MAX_RANK] = { false };
	for (int i = 0; i < r; i++) {
		if ((rc = p2o_norm_dim(cx, v[1].ints[i], r, &perm[i])))
			return rc;
		if (seen[perm[i]])
			return p2o_fail(cx, P2O_ERR_CONVERT, "permute names dim "
					"%lld twice", (long long)perm[i]);
		seen[perm[i]] = true;
	}
	return p2o_set_result(cx, n, permuted(cx, v[0].tensor, perm, r));
}

/* x with dims a and b (normalized) swapped. */
static uint32_t swapped(p2o_cx *cx, uint32_t x, int r, int64_t a, int64_t b)
{
	int64_t perm[P2O_MAX_RANK];
	for (int i = 0; i < r; i++)
		perm[i] = i == a ? b : i == b ? a : i;
	return permuted(cx, x, perm, r);
}

/* aten::transpose.int(self, dim0, dim1), aten::swapaxes(self, axis0,
 * axis1), aten::swapdims(self, dim0, dim1) */
P2O_HANDLER(transpose)
{
	p2o_arg v[3];
	int r, rc = p2o_args(cx, n, "self:t dim0|axis0:i dim1|axis1:i", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, "transpose", &r)))
		return rc;
	int64_t a, b;
	if ((rc = p2o_norm_dim(cx, v[1].i, r, &a)) ||
	    (rc = p2o_norm_dim(cx, v[2].i, r, &b)))
		return rc;
	return p2o_set_result(cx, n, swapped(cx, v[0].tensor, r, a, b));
}

/* aten::t(self): a 0-D or 1-D tensor as it is, a matrix transposed. */
P2O_HANDLER(t)
{
	p2o_arg v;
	int r, rc = p2o_args(cx, n, "self:t", &v);
	if (rc || (rc = known_rank(cx, v.tensor, "t", &r)))
		return rc;
	if (r > 2)
		return p2o_fail(cx, P2O_ERR_CONVERT, "t() of a rank-%d tensor "
				"(it takes at most 2 dims)", r);
	return p2o_set_result(cx, n, r < 2 ? v.tensor :
				       swapped(cx, v.tensor, 2, 0, 1));
}

/* aten::mT, aten::mH, aten::adjoint (real tensors: mH is mT): the last
 * two dims swapped. */
P2O_HANDLER(mT)
{
	p2o_arg v;
	int r, rc = p2o_args(cx, n, "self:t", &v);
	if (rc || (rc = known_rank(cx, v.tensor, "mT", &r)))
		return rc;
	if (r < 2)
		return p2o_fail(cx, P2O_ERR_CONVERT, "%s of a rank-%d tensor "
				"(it needs at least 2 dims)", n->kind, r);
	return p2o_set_result(cx, n, swapped(cx, v.tensor, r, r - 2, r - 1));
}

/* aten::numpy_T(self): every dim reversed. */
P2O_HANDLER(numpy_T)
{
	p2o_arg v;
	int r, rc = p2o_args(cx, n, "self:t", &v);
	if (rc || (rc = known_rank(cx, v.tensor, "numpy_T", &r)))
		return rc;
	int64_t perm[P2O_MAX_RANK];
	for (int i = 0; i < r; i++)
		perm[i] = r - 1 - i;
	return p2o_set_result(cx, n, permuted(cx, v.tensor, perm, r));
}

/* aten::movedim / aten::moveaxis (int and int[] overloads): dims source[i]
 * go to destination[i]; the others keep their order in the places left. */
P2O_HANDLER(movedim)
{
	p2o_arg v[3];
	int r, rc = p2o_args(cx, n, "self:t source:is destination:is", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, "movedim", &r)))
		return rc;
	if (v[1].n != v[2].n)
		return p2o_fail(cx, P2O_ERR_CONVERT, "movedim: %zu source dims "
				"and %zu destination dims", v[1].n, v[2].n);
	int64_t perm[P2O_MAX_RANK];
	bool src_used[P2O_MAX_RANK] = { false }, dst_used[P2O_MAX_RANK] = { false };
	for (size_t i = 0; i < v[1].n; i++) {
		int64_t s, d;
		if ((rc = p2o_norm_dim(cx, v[1].ints[i], r, &s)) ||
		    (rc = p2o_norm_dim(cx, v[2].ints[i], r, &d)))
			return rc;
		if (src_used[s] || dst_used[d])
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"movedim repeats a dim");
		src_used[s] = dst_used[d] = true;
		perm[d] = s;
	}
	for (int i = 0, s = 0; i < r; i++) {
		if (dst_used[i])
			continue;
		while (src_used[s])
			s++;
		perm[i] = s++;
	}
	return p2o_set_result(cx, n, permuted(cx, v[0].tensor, perm, r));
}

/* aten::select.int(self, dim, index): index may be negative, and a
 * run-time int. Gather with a 0-D index drops the dim. */
P2O_HANDLER(select)
{
	if (!p2o_overload_is(n, "int"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"selecting from a list is not supported");
	p2o_arg v[3];
	int r, rc = p2o_args(cx, n, "self:t dim:i index:n", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, "select", &r)))
		return rc;
	uint32_t x = v[0].tensor;
	if (r == 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "select on a 0-D tensor");
	int64_t d;
	if ((rc = p2o_norm_dim(cx, v[1].i, r, &d)))
		return rc;
	int64_t size = p2o_t(cx, x)->dims[d].v;
	const pts_const *k = v[2].k;
	uint32_t idx;
	if (k && k->kind == PTS_C_INT) {
		int64_t i = k->i;
		if (size >= 0 && (i < -size || i >= size))
			return p2o_fail(cx, P2O_ERR_CONVERT, "index %lld is out "
					"of range for dim %lld of size %lld",
					(long long)i, (long long)d,
					(long long)size);
		if (i < 0 && size >= 0)
			i += size;
		idx = p2o_const_scalar(cx, P2O_INT64, (double)i);
		/* Gather takes negative indices from version 11; before, the
		 * size is added in the graph. */
		if (i < 0 && p2o_onnx_version(cx, "Gather") < 11)
			idx = p2o_op2(cx, "Add", idx,
				      p2o_dim_value(cx, x, (int)d));
	} else {
		if ((rc = p2o_need_opset(cx, 11, "select with a run-time "
					 "index")))
			return rc;
		idx = p2o_cast(cx, p2o_arg_tensor(cx, n, (uint32_t)v[2].idx),
			       P2O_INT64);
		if (idx == P2O_NOVAL)
			return P2O_ERR_UNSUPPORTED;
		if (p2o_t(cx, idx)->rank != 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"select index is not a scalar");
	}
	uint32_t in[2] = { x, idx };
	uint32_t nd = p2o_node_new(cx, "Gather", 2, in, 1);
	p2o_attr_int(cx, nd, "axis", d);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* The target shape of aten::expand / broadcast_to as a 1-D int64 value,
 * with PyTorch's -1 ("keep this dim") made 1: Expand broadcasts, so a 1
 * keeps the input's size there, whatever it is. */
static uint32_t expand_shape(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	const pts_const *k = p2o_konst(cx, n, i);
	if (k && k->kind == PTS_C_INTS) {
		int64_t *s = p2o_memdup(cx, k->ints, sizeof *s * (k->n ? k->n : 1));
		for (size_t j = 0; j < k->n; j++)
			s[j] = s[j] == -1 ? 1 : s[j];
		return p2o_const_i64s(cx, s, k->n);
	}
	p2o_tv *tv = &P2O_TV(cx, n->in[i]);
	if (tv->kind != P2O_TV_LIST)
		return p2o_arg_shape(cx, n, i);
	/* Run-time sizes beside -1s: the list as p2o_arg_shape reads it, with
	 * its -1 items bound to a constant 1 while it does, so the sizes
	 * known here stay known in the result's type. */
	uint32_t one = P2O_NOVAL, *items = p2o_alloc(cx, sizeof *items *
						     (tv->n ? tv->n : 1));
	for (uint32_t j = 0; j < tv->n; j++) {
		const p2o_tv *it = &P2O_TV(cx, tv->items[j]);
		items[j] = tv->items[j];
		if (it->kind != P2O_TV_CONST || it->k->kind != PTS_C_INT ||
		    it->k->i != -1)
			continue;
		if (one == P2O_NOVAL) {
			pts_const *c = p2o_new_const(cx, PTS_C_INT);
			c->i = 1;
			one = p2o_tv_new(cx);
			tv = &P2O_TV(cx, n->in[i]);
			P2O_TV(cx, one).kind = P2O_TV_CONST;
			P2O_TV(cx, one).k = c;
			P2O_TV(cx, one).onnx = P2O_NOVAL;
		}
		items[j] = one;
	}
	const uint32_t *saved = tv->items;
	tv->items = items;
	uint32_t s = p2o_arg_shape(cx, n, i);
	P2O_TV(cx, n->in[i]).items = saved;
	return s;
}

/* aten::expand(self, size, implicit=False), aten::broadcast_to(self,
 * size) */
P2O_HANDLER(expand)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t size:v", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int r = p2o_t(cx, x)->rank;
	uint32_t s = expand_shape(cx, n, (uint32_t)v[1].idx);
	if (s == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	const p2o_type *st = p2o_t(cx, s);
	if (r >= 0 && st->rank == 1 && st->dims[0].v >= 0 && st->dims[0].v < r)
		return p2o_fail(cx, P2O_ERR_CONVERT, "expand of a rank-%d tensor "
				"to %lld dims", r, (long long)st->dims[0].v);
	return p2o_set_result(cx, n, p2o_op2(cx, "Expand", x, s));
}

/* aten::expand_as(self, other) */
P2O_HANDLER(expand_as)
{
	p2o_arg v[2];
	int r, rc = p2o_args(cx, n, "self:t other:t", v);
	if (rc || (rc = known_rank(cx, v[1].tensor, "expand_as", &r)))
		return rc;
	return p2o_set_result(cx, n, p2o_op2(cx, "Expand", v[0].tensor,
		p2o_dims_value(cx, v[1].tensor, 0, r)));
}

/* x with `lead` dims of size 1 in front (repeat and tile with more
 * repeats than dims). */
static uint32_t lead_ones(p2o_cx *cx, uint32_t x, int lead)
{
	int64_t axes[P2O_MAX_RANK];
	for (int i = 0; i < lead; i++)
		axes[i] = i;
	return lead ? p2o_unsqueeze(cx, x, axes, (size_t)lead) : x;
}

/* aten::repeat(self, repeats) (at least rank entries; more add leading
 * dims) and aten::tile(self, dims) (fewer mean leading 1s): Tile. */
P2O_HANDLER(repeat)
{
	bool tile = strcmp(n->kind, "aten::tile") == 0;
	p2o_arg v[2];
	int r, rc = p2o_args(cx, n, "self:t repeats|dims:sh", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, n->kind, &r)))
		return rc;
	uint32_t x = v[0].tensor, reps = v[1].tensor;
	const p2o_type *rt = p2o_t(cx, reps);
	int64_t nr = rt->rank == 1 ? rt->dims[0].v : -1;
	if (nr < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s with a repeat "
				"count of unknown length", n->kind);
	if (nr < r && !tile)
		return p2o_fail(cx, P2O_ERR_CONVERT, "repeat of a rank-%d tensor "
				"with %lld repeats", r, (long long)nr);
	if (nr < r) {
		int64_t ones[P2O_MAX_RANK];
		for (int64_t i = 0; i < r - nr; i++)
			ones[i] = 1;
		uint32_t parts[2] = { p2o_const_i64s(cx, ones, (size_t)(r - nr)),
				      reps };
		uint32_t nd = p2o_node_new(cx, "Concat", 2, parts, 1);
		p2o_attr_int(cx, nd, "axis", 0);
		reps = p2o_node_done(cx, nd);
	}
	if (nr == 0) /* repeat(()) of a 0-D tensor */
		return p2o_set_result(cx, n, x);
	x = lead_ones(cx, x, nr > r ? (int)(nr - r) : 0);
	return p2o_set_result(cx, n, p2o_op2(cx, "Tile", x, reps));
}

/* The int64 contents of a constant tensor (int64 or int32), or NULL. */
static const int64_t *const_index_tensor(p2o_cx *cx, const pts_const *k,
					 size_t *count)
{
	if (!k || k->kind != PTS_C_TENSOR)
		return NULL;
	const pts_tensor *t = &k->t;
	if (t->rank > 1 || (t->dtype != P2O_INT64 && t->dtype != P2O_INT32))
		return NULL;
	size_t es = t->dtype == P2O_INT64 ? 8 : 4, cnt = t->nbytes / es;
	int64_t *v = p2o_alloc(cx, sizeof *v * (cnt ? cnt : 1));
	for (size_t i = 0; i < cnt; i++) {
		if (es == 8)
			memcpy(&v[i], (const char *)t->data + 8 * i, 8);
		else {
			int32_t w;
			memcpy(&w, (const char *)t->data + 4 * i, 4);
			v[i] = w;
		}
	}
	*count = cnt;
	return v;
}

/* aten::repeat_interleave: .self_int(self, repeats, dim=None,
 * output_size=None), .self_Tensor(self, repeats, ...) and .Tensor(repeats,
 * output_size=None). dim None works on self flattened. An int repeat (or
 * a one-element tensor) is Tile on a new axis after dim, then a Reshape
 * merging the two; constant per-element repeats are a Gather of known
 * indices. Repeats computed at run time make a data-dependent size:
 * refused. output_size only tells the length, which is known here. */
P2O_HANDLER(repeat_interleave)
{
	bool no_self = p2o_overload_is(n, "Tensor");
	p2o_arg v[3];
	/* self and dim are absent from the .Tensor overload. */
	int rc = p2o_args(cx, n, "self:t? repeats:n dim:i?", v);
	if (rc)
		return rc;
	const pts_const *k = v[1].k;
	int64_t one;
	size_t cnt = 0;
	const int64_t *reps = NULL;
	if (k && k->kind == PTS_C_INT) {
		one = k->i;
		reps = &one;
		cnt = 1;
	} else {
		reps = const_index_tensor(cx, k, &cnt);
	}
	if (!reps)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "repeat_interleave with "
				"repeats computed at run time (the result's "
				"size depends on their values)");
	for (size_t i = 0; i < cnt; i++)
		if (reps[i] < 0)
			return p2o_fail(cx, P2O_ERR_CONVERT, "repeat_interleave: "
					"negative repeat %lld", (long long)reps[i]);
	if (no_self) {
		/* arange(len(repeats)) repeated: a constant. */
		int64_t total = 0;
		for (size_t i = 0; i < cnt; i++)
			total += reps[i];
		int64_t *o = p2o_alloc(cx, sizeof *o * (total ? (size_t)total : 1));
		for (size_t i = 0, at = 0; i < cnt; i++)
			for (int64_t j = 0; j < reps[i]; j++)
				o[at++] = (int64_t)i;
		return p2o_set_result(cx, n, p2o_const_i64s(cx, o, (size_t)total));
	}
	uint32_t x = v[0].tensor;
	int r;
	if ((rc = known_rank(cx, x, "repeat_interleave", &r)))
		return rc;
	int64_t d = 0;
	if (v[2].none) { /* over the flattened tensor */
		int64_t m1 = -1;
		x = p2o_reshape_to(cx, x, &m1, 1);
		r = 1;
	} else if ((rc = p2o_norm_dim(cx, v[2].i, r, &d))) {
		return rc;
	}
	if (r == 0) {
		int64_t one1 = 1;
		x = p2o_reshape_to(cx, x, &one1, 1);
		r = 1;
	}
	int64_t size = p2o_t(cx, x)->dims[d].v;
	if (cnt == 1) {
		/* One repeat for all: [.., D, 1, ..] tiled to [.., D, R, ..],
		 * then [.., D*R, ..]. The -1 of that Reshape cannot stand for
		 * a zero size. */
		if (reps[0] == 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"repeat_interleave with 0 repeats");
		int64_t ax = d + 1, tiles[P2O_MAX_RANK + 1];
		for (int i = 0; i <= r; i++)
			tiles[i] = i == ax ? reps[0] : 1;
		uint32_t y = p2o_op2(cx, "Tile", p2o_unsqueeze(cx, x, &ax, 1),
				     p2o_const_i64s(cx, tiles, (size_t)r + 1));
		int64_t m1 = -1;
		uint32_t shape = p2o_dims_around(cx, x, (int)d, (int)d + 1,
						 p2o_const_i64s(cx, &m1, 1));
		return p2o_set_result(cx, n, p2o_reshape(cx, y, shape));
	}
	if (size < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "repeat_interleave with "
				"per-element repeats along a dim of symbolic "
				"size");
	if ((int64_t)cnt != size)
		return p2o_fail(cx, P2O_ERR_CONVERT, "repeat_interleave: %zu "
				"repeats for a dim of size %lld", cnt,
				(long long)size);
	int64_t total = 0;
	for (size_t i = 0; i < cnt; i++)
		total += reps[i];
	int64_t *idx = p2o_alloc(cx, sizeof *idx * (total ? (size_t)total : 1));
	for (size_t i = 0, at = 0; i < cnt; i++)
		for (int64_t j = 0; j < reps[i]; j++)
			idx[at++] = (int64_t)i;
	uint32_t in[2] = { x, p2o_const_i64s(cx, idx, (size_t)total) };
	uint32_t nd = p2o_node_new(cx, "Gather", 2, in, 1);
	p2o_attr_int(cx, nd, "axis", d);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* x reshaped to shape (a value holding real sizes, no -1): allowzero
 * where Reshape has it, so that a zero size stays zero. */
static uint32_t reshape_exact(p2o_cx *cx, uint32_t x, uint32_t shape)
{
	if (x == P2O_NOVAL || shape == P2O_NOVAL)
		return P2O_NOVAL;
	uint32_t in[2] = { x, shape };
	uint32_t nd = p2o_node_new(cx, "Reshape", 2, in, 1);
	if (p2o_onnx_version(cx, "Reshape") >= 14)
		p2o_attr_int(cx, nd, "allowzero", 1);
	return p2o_node_done(cx, nd);
}

/* aten::view_as(self, other), aten::reshape_as(self, other) */
P2O_HANDLER(view_as)
{
	p2o_arg v[2];
	int r, rc = p2o_args(cx, n, "self:t other:t", v);
	if (rc || (rc = known_rank(cx, v[1].tensor, n->kind, &r)))
		return rc;
	const p2o_type *ot = p2o_t(cx, v[1].tensor);
	for (int i = 0; i < r; i++)
		if (ot->dims[i].v == 0 &&
		    (rc = p2o_need_opset(cx, 14, "reshaping to a zero-size dim")))
			return rc;
	return p2o_set_result(cx, n, reshape_exact(cx, v[0].tensor,
		p2o_dims_value(cx, v[1].tensor, 0, r)));
}

/* aten::_reshape_from_tensor(self, shape): the sizes are a 1-D tensor. */
P2O_HANDLER(reshape_from_tensor)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t shape:t", v);
	if (rc)
		return rc;
	return p2o_set_result(cx, n, p2o_reshape(cx, v[0].tensor,
		p2o_cast(cx, v[1].tensor, P2O_INT64)));
}

/* aten::unflatten.int(self, dim, sizes): dim becomes sizes (one may be
 * -1); the dims around it come from the input itself. */
P2O_HANDLER(unflatten)
{
	p2o_arg v[3];
	int r, rc = p2o_args(cx, n, "self:t dim:i sizes:is", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, "unflatten", &r)))
		return rc;
	uint32_t x = v[0].tensor;
	int64_t d;
	if (r == 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "unflatten of a 0-D tensor");
	if ((rc = p2o_norm_dim(cx, v[1].i, r, &d)))
		return rc;
	for (size_t i = 0; i < v[2].n; i++)
		if (v[2].ints[i] == 0)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"unflatten to a zero-size dim");
	if (v[2].n == 0 || r - 1 + (int)v[2].n > P2O_MAX_RANK)
		return p2o_fail(cx, P2O_ERR_CONVERT, "unflatten to %zu sizes",
				v[2].n);
	uint32_t shape = p2o_dims_around(cx, x, (int)d, (int)d + 1,
		p2o_const_i64s(cx, v[2].ints, v[2].n));
	return p2o_set_result(cx, n, p2o_reshape(cx, x, shape));
}

/* aten::narrow(self, dim, start, length) and narrow.Tensor (start a 0-D
 * tensor): self[start:start+length] along dim, a negative start counting
 * from the end. */
P2O_HANDLER(narrow)
{
	p2o_arg v[4];
	int r, rc = p2o_args(cx, n, "self:t dim:i start:n length:i", v);
	if (rc || (rc = known_rank(cx, v[0].tensor, "narrow", &r)))
		return rc;
	uint32_t x = v[0].tensor;
	int64_t d, len = v[3].i;
	if (r == 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "narrow of a 0-D tensor");
	if ((rc = p2o_norm_dim(cx, v[1].i, r, &d)))
		return rc;
	if (len < 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "narrow: negative length "
				"%lld", (long long)len);
	int64_t size = p2o_t(cx, x)->dims[d].v;
	const pts_const *k = v[2].k;
	size_t cnt = 0;
	const int64_t *ks = k && k->kind == PTS_C_INT ? &k->i :
			    const_index_tensor(cx, k, &cnt);
	if (ks && (k->kind == PTS_C_INT || cnt == 1)) {
		int64_t start = *ks;
		if (start < 0 && size >= 0)
			start += size;
		if (size >= 0 && (start < 0 || start + len > size))
			return p2o_fail(cx, P2O_ERR_CONVERT, "narrow: [%lld, "
					"%lld) is out of range for size %lld",
					(long long)start, (long long)(start + len),
					(long long)size);
		/* A negative start on a symbolic dim: an end of 0 would be
		 * the start of the dim, not its end. */
		int64_t end = start < 0 && start + len == 0 ? INT64_MAX :
			      start + len;
		return p2o_set_result(cx, n, p2o_slice(cx, x, &start, &end, &d,
							 NULL, 1));
	}
	if ((rc = p2o_need_opset(cx, 10, "narrow with a run-time start")))
		return rc;
	uint32_t s = p2o_cast(cx, p2o_arg_tensor(cx, n, (uint32_t)v[2].idx),
			      P2O_INT64);
	if (s == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	int64_t one = 1;
	s = p2o_reshape_to(cx, s, &one, 1);
	/* start < 0 counts from the end: start + size there. */
	uint32_t zero = p2o_const_i64s(cx, (int64_t[]){ 0 }, 1);
	uint32_t neg = p2o_op2(cx, "Less", s, zero);
	uint32_t wrapped = p2o_op2(cx, "Add", s, p2o_reshape_to(cx,
		p2o_dim_value(cx, x, (int)d), &one, 1));
	uint32_t w[3] = { neg, wrapped, s };
	s = p2o_node_done(cx, p2o_node_new(cx, "Where", 3, w, 1));
	uint32_t e = p2o_op2(cx, "Add", s, p2o_const_i64s(cx, &len, 1));
	uint32_t in[4] = { x, s, e, p2o_const_i64s(cx, &d, 1) };
	return p2o_set_result(cx, n, p2o_node_done(cx, p2o_node_new(cx, "Slice",
								  4, in, 1)));
}

/* aten::numel(self) -> int: a constant when every dim is known, else
 * Size. */
P2O_HANDLER(numel)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	int64_t k = p2o_numel(p2o_t(cx, v.tensor));
	if (k >= 0)
		return p2o_set_int(cx, n, 0, k);
	return p2o_set_result(cx, n, p2o_op1(cx, "Size", v.tensor));
}

/* aten::_shape_as_tensor(self): the sizes as a 1-D int64 tensor. */
P2O_HANDLER(shape_as_tensor)
{
	p2o_arg v;
	int r, rc = p2o_args(cx, n, "self:t", &v);
	if (rc || (rc = known_rank(cx, v.tensor, "_shape_as_tensor", &r)))
		return rc;
	return p2o_set_result(cx, n, p2o_dims_value(cx, v.tensor, 0, r));
}

#define AS_STRIDED_MAX_GATHER (1 << 20) /* indices made for as_strided */

/* aten::as_strided(self, size, stride, storage_offset=None): a view of
 * self's storage. Only a forward() input is known to be stored
 * contiguously from offset 0 (anything else may itself be a view, whose
 * storage the ONNX value does not show), so only such an input converts:
 * contiguous strides as a Slice of it flattened and a Reshape, others as
 * a Gather of the element indices, computed here. */
P2O_HANDLER(as_strided)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t size:is stride:is storage_offset:i?",
			  v);
	if (rc)
		return rc;
	bool input = false;
	for (uint32_t j = 0; j < cx->g->top.n_in; j++)
		input |= cx->g->top.in[j] == n->in[v[0].idx];
	if (!input)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "as_strided of a "
				"tensor that is not a forward() input (its "
				"storage may be laid out otherwise)");
	uint32_t x = v[0].tensor;
	int64_t total = p2o_numel(p2o_t(cx, x));
	if (total < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "as_strided of a "
				"tensor whose size is not known");
	size_t r = v[1].n;
	int64_t off = v[3].none ? 0 : v[3].i, count = 1, last = off;
	if (v[2].n != r || r > P2O_MAX_RANK)
		return p2o_fail(cx, P2O_ERR_CONVERT, "as_strided with %zu sizes "
				"and %zu strides", r, v[2].n);
	bool contiguous = true;
	int64_t want = 1;
	for (size_t i = r; i-- > 0;) {
		int64_t sz = v[1].ints[i], st = v[2].ints[i];
		if (sz < 0 || st < 0 || off < 0)
			return p2o_fail(cx, P2O_ERR_CONVERT, "as_strided with a "
					"negative size, stride or offset");
		contiguous &= sz == 1 || st == want;
		want *= sz;
		count *= sz;
		last += sz ? (sz - 1) * st : 0;
	}
	if (count == 0 || last >= total)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "as_strided %s",
				count ? "reaches past the input's elements" :
					"to an empty tensor");
	int64_t m1 = -1, end = off + count;
	uint32_t flat = p2o_reshape_to(cx, x, &m1, 1);
	uint32_t y;
	if (contiguous) {
		int64_t zero = 0;
		y = p2o_slice(cx, flat, &off, &end, &zero, NULL, 1);
	} else {
		if (count > AS_STRIDED_MAX_GATHER)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "as_strided to "
					"%lld elements with strides that are not "
					"contiguous", (long long)count);
		int64_t *idx = p2o_alloc(cx, sizeof *idx * (size_t)count);
		for (int64_t e = 0; e < count; e++) {
			int64_t rem = e, at = off;
			for (size_t i = r; i-- > 0;) {
				at += rem % v[1].ints[i] * v[2].ints[i];
				rem /= v[1].ints[i];
			}
			idx[e] = at;
		}
		y = p2o_op2(cx, "Gather", flat,
			    p2o_const_i64s(cx, idx, (size_t)count));
	}
	return p2o_set_result(cx, n, p2o_reshape_to(cx, y, v[1].ints, (int)r));
}

/* ---- lists of sizes: the list ops scripted code records on them ----------
 *
 * `s = list(x.shape); s.append(4); x.view(s)` records aten::list, then ops
 * that change the list in place. Nodes convert in order, so changing the
 * list's p2o_tv in place gives every later reader the list as it is then,
 * as in Python; readers before it have already taken what they needed. */

/* A new array of the item ids of list input i (count in *count): a list
 * built in the graph, a constant int list (items made constants), or a
 * 1-D int64 tensor of known length (a symbolic shape: one Gather each).
 * NULL with a diagnostic otherwise. */
static uint32_t *list_items(p2o_cx *cx, const pts_node *n, uint32_t i,
			    uint32_t *count)
{
	const p2o_tv *l = p2o_tvin(cx, n, i);
	uint32_t v = P2O_NOVAL, cnt = 0;
	if (l->kind == P2O_TV_LIST)
		cnt = l->n;
	else if (l->kind == P2O_TV_CONST && l->k->kind == PTS_C_INTS)
		v = p2o_const_i64s(cx, l->k->ints, l->k->n);
	else if (l->kind == P2O_TV_TENSOR)
		v = l->onnx;
	const p2o_type *vt = v == P2O_NOVAL ? NULL : p2o_t(cx, v);
	int64_t len = !vt ? cnt : vt->rank == 1 && vt->dtype == P2O_INT64 ?
		      vt->dims[0].v : -1;
	if (l->kind != P2O_TV_LIST && (len < 0 || len > P2O_MAX_SPLIT)) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s of a list not built in "
			 "the graph", n->kind);
		return NULL;
	}
	/* One spare entry for an append or insert. */
	uint32_t *items = p2o_alloc(cx, sizeof *items * ((size_t)len + 1));
	if (l->kind == P2O_TV_LIST)
		memcpy(items, l->items, sizeof *items * cnt);
	else if (p2o_int_items(cx, v, items, (size_t)len) < 0)
		return NULL;
	*count = (uint32_t)len;
	return items;
}

/* Makes TorchScript value tvid the list items[0..count). */
static void bind_list(p2o_cx *cx, uint32_t tvid, const uint32_t *items,
		      uint32_t count)
{
	p2o_tv *tv = &P2O_TV(cx, tvid);
	memset(tv, 0, sizeof *tv);
	tv->kind = P2O_TV_LIST;
	tv->onnx = P2O_NOVAL;
	tv->n = count;
	tv->items = items;
}

/* list.append(el) of a list built in the graph (input li), in place when
 * the list ends where its block's used part does (see p2o_tv.room);
 * else into a new block with room to grow, doubling, so that n appends
 * cost O(n) in all. */
static int list_append(p2o_cx *cx, const pts_node *n, uint32_t li,
		       uint32_t el)
{
	p2o_tv l = *p2o_tvin(cx, n, li);
	uint32_t *room = l.room;
	if (!room || room[0] != l.n || room[0] == room[1]) {
		uint32_t cap = l.n < 4 ? 8 : l.n * 2;
		room = p2o_alloc(cx, sizeof *room * ((size_t)cap + 2));
		room[0] = l.n;
		room[1] = cap;
		if (l.n)
			memcpy(room + 2, l.items, sizeof *room * l.n);
	}
	room[2 + room[0]++] = el;
	bind_list(cx, n->in[li], room + 2, room[0]);
	P2O_TV(cx, n->in[li]).room = room;
	if (n->n_out) {
		bind_list(cx, n->out[0], room + 2, room[0]);
		P2O_TV(cx, n->out[0]).room = room;
	}
	return P2O_OK;
}

/* Python's position for list.insert / an index: negative from the end. */
static int list_index(p2o_cx *cx, int64_t idx, uint32_t count, bool insert,
		      uint32_t *at)
{
	int64_t j = idx < 0 ? idx + count : idx;
	if (insert) { /* insert clamps */
		*at = (uint32_t)(j < 0 ? 0 : j > count ? count : j);
		return P2O_OK;
	}
	if (j < 0 || j >= count)
		return p2o_fail(cx, P2O_ERR_CONVERT, "list index %lld out of "
				"range for a list of %u", (long long)idx, count);
	*at = (uint32_t)j;
	return P2O_OK;
}

/* aten::slice.t(l, start=None, end=None, step=1): l[start:end:step] of a
 * list whose items are known here (x.shape[1:]), with Python's clamping.
 * Reached from the slice handler, which takes the Tensor overload. */
static int list_slice(p2o_cx *cx, const pts_node *n)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "l:v start:i? end:i? step:i", v);
	if (rc)
		return rc;
	if (v[3].i <= 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "slicing a list with "
				"step %lld", (long long)v[3].i);
	uint32_t cnt, kept = 0;
	uint32_t *items = list_items(cx, n, (uint32_t)v[0].idx, &cnt);
	if (!items)
		return P2O_ERR_UNSUPPORTED;
	int64_t len = cnt, s = v[1].none ? 0 : v[1].i,
		e = v[2].none ? len : v[2].i;
	s = s < 0 ? s + len : s;
	e = e < 0 ? e + len : e;
	s = s < 0 ? 0 : s > len ? len : s;
	e = e < 0 ? 0 : e > len ? len : e;
	for (int64_t j = s; j < e; j += v[3].i)
		items[kept++] = items[j];
	bind_list(cx, n->out[0], items, kept);
	return P2O_OK;
}

/* aten::list.t(l) and aten::copy.t(self) (list(l), l.copy()),
 * aten::append.t(self, el), aten::insert.t(self, idx,
 * el), aten::pop.t(self, idx=-1), aten::Delete.t(self, idx),
 * aten::_set_item.t(l, idx, el), and aten::slice.t (from the slice
 * handler): on lists whose items are known here. */
P2O_HANDLER(list_op)
{
	if (!p2o_overload_is(n, "t"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s of a string or "
				"dict is not supported", n->kind);
	const char *op = n->kind + strlen("aten::");
	if (strcmp(op, "slice") == 0)
		return list_slice(cx, n);
	if (strcmp(op, "add") == 0) { /* a + b of lists: a new list */
		p2o_arg ab[2];
		uint32_t ca, cb;
		int rc = p2o_args(cx, n, "a:v b:v", ab);
		uint32_t *ia = rc ? NULL : list_items(cx, n, (uint32_t)ab[0].idx, &ca);
		uint32_t *ib = ia ? list_items(cx, n, (uint32_t)ab[1].idx, &cb) : NULL;
		if (!ib)
			return rc ? rc : P2O_ERR_UNSUPPORTED;
		uint32_t *items = p2o_alloc(cx, sizeof *items * (ca + cb + 1));
		memcpy(items, ia, sizeof *items * ca);
		memcpy(items + ca, ib, sizeof *items * cb);
		bind_list(cx, n->out[0], items, ca + cb);
		return P2O_OK;
	}
	bool copy = strcmp(op, "list") == 0 || strcmp(op, "copy") == 0,
	     append = strcmp(op, "append") == 0,
	     insert = strcmp(op, "insert") == 0, pop = strcmp(op, "pop") == 0,
	     set = strcmp(op, "_set_item") == 0;
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self|l:v idx:i? el:v?", v);
	if (rc)
		return rc;
	if (append && p2o_tvin(cx, n, (uint32_t)v[0].idx)->kind == P2O_TV_LIST)
		return list_append(cx, n, (uint32_t)v[0].idx,
				   p2o_tv_pin(cx, n->in[v[2].idx]));
	uint32_t cnt, at = 0;
	uint32_t *items = list_items(cx, n, (uint32_t)v[0].idx, &cnt);
	if (!items)
		return P2O_ERR_UNSUPPORTED;
	if (!copy && !append &&
	    (rc = list_index(cx, v[1].i, cnt, insert, &at)))
		return rc;
	uint32_t el = v[2].idx >= 0 ? p2o_tv_pin(cx, n->in[v[2].idx]) : 0;
	if (append) {
		items[cnt++] = el;
	} else if (insert) {
		memmove(items + at + 1, items + at, sizeof *items * (cnt - at));
		items[at] = el;
		cnt++;
	} else if (set) {
		items[at] = el;
	} else if (!copy) { /* pop, Delete */
		if (pop)
			P2O_TV(cx, n->out[0]) = P2O_TV(cx, items[at]);
		memmove(items + at, items + at + 1,
			sizeof *items * (cnt - at - 1));
		cnt--;
	}
	if (copy) {
		bind_list(cx, n->out[0], items, cnt);
		return P2O_OK;
	}
	bind_list(cx, n->in[v[0].idx], items, cnt);
	if ((append || set) && n->n_out)
		bind_list(cx, n->out[0], items, cnt);
	return P2O_OK;
}
