/* linear.c — matrix products: aten::linear, aten::addmm, aten::matmul
 * (and aten::mm / aten::bmm, which are matmul with fixed ranks), baddbmm,
 * addmv, addbmm, dot, mv, outer, tensordot, einsum, cross, det, logdet. */
#include <string.h>

#include "../internal.h"

/* aten::linear(input, weight, bias=None): y = x W^T + b. A 2-D input is
 * one Gemm with transB (the weight is used as stored, never transposed in
 * memory); other ranks are MatMul with a Transpose of W, then Add
 * (p2o_matmul_bt, which knows where Gemm's C is optional). */
P2O_HANDLER(linear)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "input:t weight:t bias:t?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor, w = v[1].tensor, b = v[2].tensor;
	const p2o_type *wt = p2o_t(cx, w);
	if (wt->rank != 2)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"weight must be a matrix, got rank %d", wt->rank);
	return p2o_set_result(cx, n, p2o_matmul_bt(cx, x, w, b));
}

/* aten::addmm(self, mat1, mat2, beta=1, alpha=1):
 * beta * self + alpha * (mat1 @ mat2). */
P2O_HANDLER(addmm)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "beta:f alpha:f self:t mat1:t mat2:t", v);
	if (rc)
		return rc;
	double beta = v[0].f, alpha = v[1].f;
	uint32_t c = v[2].tensor, a = v[3].tensor, b = v[4].tensor;
	if (p2o_t(cx, a)->rank != 2 || p2o_t(cx, b)->rank != 2)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"mat1 and mat2 must be matrices (ranks %d, %d)",
				p2o_t(cx, a)->rank, p2o_t(cx, b)->rank);
	int dt = p2o_t(cx, a)->dtype;
	if (beta == 0) {
		/* PyTorch ignores self entirely (even NaN) when beta is 0. */
		uint32_t y = p2o_op2(cx, "MatMul", a, b);
		if (alpha != 1)
			y = p2o_op2(cx, "Mul", y, p2o_const_scalar(cx, dt, alpha));
		return p2o_set_result(cx, n, y);
	}
	uint32_t in[3] = { a, b, p2o_cast(cx, c, dt) };
	uint32_t nd = p2o_node_new(cx, "Gemm", 3, in, 1);
	if (alpha != 1)
		p2o_attr_float(cx, nd, "alpha", (float)alpha);
	if (beta != 1)
		p2o_attr_float(cx, nd, "beta", (float)beta);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* aten::matmul / mm / bmm(self, other): numpy matmul semantics, as ONNX
 * MatMul has them. */
P2O_HANDLER(matmul)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t other|mat2:t", v);
	return rc ? rc : p2o_set_result(cx, n, p2o_op2(cx, "MatMul", v[0].tensor,
						       v[1].tensor));
}

/* a @ b: MatMul, which takes integers from its version 9. */
static uint32_t matmul_of(p2o_cx *cx, uint32_t a, uint32_t b)
{
	if (!p2o_dtype_is_float(p2o_t(cx, a)->dtype) &&
	    p2o_need_opset(cx, 9, "a product of integer tensors (MatMul)"))
		return P2O_NOVAL;
	return p2o_op2(cx, "MatMul", a, b);
}

/* beta * c + alpha * p in p's dtype; beta == 0 ignores c entirely (NaN and
 * inf in it too), as PyTorch's addmm family does. */
static uint32_t scaled_add(p2o_cx *cx, uint32_t c, uint32_t p, double beta,
			   double alpha)
{
	if (p == P2O_NOVAL || c == P2O_NOVAL)
		return P2O_NOVAL;
	int dt = p2o_t(cx, p)->dtype;
	if (alpha != 1)
		p = p2o_op2(cx, "Mul", p, p2o_const_scalar(cx, dt, alpha));
	if (beta == 0)
		return p;
	c = p2o_cast(cx, c, dt);
	if (beta != 1)
		c = p2o_op2(cx, "Mul", c, p2o_const_scalar(cx, dt, beta));
	return p2o_op2(cx, "Add", c, p);
}

/* aten::baddbmm(self, batch1, batch2, beta=1, alpha=1):
 * beta * self + alpha * (batch1 @ batch2); aten::addmv(self, mat, vec, ...)
 * the same with a matrix-vector product. */
P2O_HANDLER(baddbmm)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t batch1|mat:t batch2|vec:t beta:f "
				 "alpha:f", v);
	if (rc)
		return rc;
	uint32_t p = matmul_of(cx, v[1].tensor, v[2].tensor);
	return p2o_set_result(cx, n, scaled_add(cx, v[0].tensor, p, v[3].f,
						v[4].f));
}

/* aten::addbmm(self, batch1, batch2, beta=1, alpha=1): beta * self +
 * alpha * (sum over the batch of batch1[i] @ batch2[i]). */
P2O_HANDLER(addbmm)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t batch1:t batch2:t beta:f alpha:f", v);
	if (rc)
		return rc;
	int64_t zero = 0;
	uint32_t p = p2o_reduce(cx, "ReduceSum",
				matmul_of(cx, v[1].tensor, v[2].tensor),
				&zero, 1, false);
	return p2o_set_result(cx, n, scaled_add(cx, v[0].tensor, p, v[3].f,
						v[4].f));
}

/* aten::dot(self, tensor) and aten::mv(self, vec): MatMul of a vector. */
P2O_HANDLER(dot)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t tensor|vec:t", v);
	if (rc)
		return rc;
	if (p2o_t(cx, v[1].tensor)->rank != 1)
		return p2o_fail(cx, P2O_ERR_CONVERT, "expected a 1-D tensor");
	return p2o_set_result(cx, n, matmul_of(cx, v[0].tensor, v[1].tensor));
}

/* aten::outer(self, vec2) (torch.ger too): self[:, None] * vec2, in the
 * promoted dtype as PyTorch's multiplication gives. */
P2O_HANDLER(outer)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t vec2:t", v);
	if (rc)
		return rc;
	uint32_t a = v[0].tensor, b = v[1].tensor;
	int dt = p2o_promote(p2o_t(cx, a)->dtype, true, p2o_t(cx, b)->dtype,
			     true);
	int64_t one = 1;
	a = p2o_unsqueeze(cx, p2o_cast(cx, a, dt), &one, 1);
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", a, p2o_cast(cx, b, dt)));
}

/* Flatten(x, axis) for tensordot: 2-D [prod dims < axis, prod dims >=
 * axis], sizes left to the graph. */
static uint32_t flatten_at(p2o_cx *cx, uint32_t x, int axis)
{
	uint32_t nd = p2o_node_new(cx, "Flatten", 1, &x, 1);
	p2o_attr_int(cx, nd, "axis", axis);
	return p2o_node_done(cx, nd);
}

/* aten::tensordot(self, other, dims_self, dims_other): contracts the
 * listed dims pairwise. self is permuted to (free..., contracted...) and
 * other to (contracted..., free...), both flattened to matrices, one
 * MatMul, and the free dims restored from the operands' own shapes. */
P2O_HANDLER(tensordot)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t other:t dims_self:is dims_other:is", v);
	if (rc)
		return rc;
	uint32_t a = v[0].tensor, b = v[1].tensor;
	int ra = p2o_t(cx, a)->rank, rb = p2o_t(cx, b)->rank;
	int64_t ca[P2O_MAX_RANK], cb[P2O_MAX_RANK];
	size_t nc, ncb;
	if ((rc = p2o_arg_ints_to(cx, &v[2], ca, P2O_MAX_RANK, &nc)) ||
	    (rc = p2o_arg_ints_to(cx, &v[3], cb, P2O_MAX_RANK, &ncb)))
		return rc;
	if (nc != ncb)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"both dimension lists must have the same length");
	bool in_a[P2O_MAX_RANK] = { false }, in_b[P2O_MAX_RANK] = { false };
	for (size_t i = 0; i < nc; i++) {
		if ((rc = p2o_norm_dim(cx, ca[i], ra, &ca[i])) ||
		    (rc = p2o_norm_dim(cx, cb[i], rb, &cb[i])))
			return rc;
		if (in_a[ca[i]] || in_b[cb[i]])
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"a dim is listed twice");
		in_a[ca[i]] = in_b[cb[i]] = true;
	}
	int64_t pa[P2O_MAX_RANK], pb[P2O_MAX_RANK];
	int ka = 0, kb = (int)nc;
	for (int i = 0; i < ra; i++)
		if (!in_a[i])
			pa[ka++] = i;
	int nfa = ka;
	for (size_t i = 0; i < nc; i++) {
		pa[ka++] = ca[i];
		pb[i] = cb[i];
	}
	for (int i = 0; i < rb; i++)
		if (!in_b[i])
			pb[kb++] = i;
	uint32_t at = p2o_transpose(cx, a, pa, ra);
	uint32_t bt = p2o_transpose(cx, b, pb, rb);
	uint32_t y = matmul_of(cx, flatten_at(cx, at, nfa),
			     flatten_at(cx, bt, (int)nc));
	if (y == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	uint32_t parts[2];
	uint32_t np = 0;
	if (nfa > 0)
		parts[np++] = p2o_dims_value(cx, at, 0, nfa);
	if (rb > (int)nc)
		parts[np++] = p2o_dims_value(cx, bt, (int)nc, rb);
	uint32_t shape;
	if (np == 0) {
		shape = p2o_const_i64s(cx, NULL, 0);
	} else if (np == 1) {
		shape = parts[0];
	} else {
		uint32_t nd = p2o_node_new(cx, "Concat", 2, parts, 1);
		p2o_attr_int(cx, nd, "axis", 0);
		shape = p2o_node_done(cx, nd);
	}
	return p2o_set_result(cx, n, p2o_reshape(cx, y, shape));
}

/* aten::einsum(equation, tensors, path=None): ONNX Einsum (12+) with the
 * equation as PyTorch reads it: spaces dropped, and an implicit output
 * (no "->") made explicit as PyTorch defines it (the ellipsis, then the
 * letters used once, in ASCII order: upper case first). */
P2O_HANDLER(einsum)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "equation:s tensors:v", v);
	if (rc)
		return rc;
	const p2o_tv *list = p2o_tvin(cx, n, (uint32_t)v[1].idx);
	if (list->kind != P2O_TV_LIST || list->n == 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"einsum of a list that is not built in the graph");
	size_t len = strlen(v[0].s);
	char *eq = p2o_alloc(cx, len + 64 + 8);
	size_t k = 0;
	int count[128] = { 0 };
	bool ell = false, arrow = false;
	for (const char *p = v[0].s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == ' ')
			continue;
		if (ch == '-' && p[1] == '>')
			arrow = true;
		if (ch < 128 && ((ch >= 'a' && ch <= 'z') ||
				 (ch >= 'A' && ch <= 'Z')))
			count[ch]++;
		else if (ch != '.' && ch != ',' && ch != '-' && ch != '>')
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"einsum equation '%s' has a character "
					"ONNX does not take", v[0].s);
		if (ch == '.')
			ell = true;
		eq[k++] = (char)ch;
	}
	if (!arrow) {
		eq[k++] = '-';
		eq[k++] = '>';
		if (ell) {
			memcpy(eq + k, "...", 3);
			k += 3;
		}
		for (int ch = 'A'; ch <= 'z'; ch++)
			if (count[ch] == 1)
				eq[k++] = (char)ch;
	}
	eq[k] = 0;
	uint32_t *in = p2o_alloc(cx, sizeof *in * list->n);
	for (uint32_t i = 0; i < list->n; i++)
		if ((in[i] = p2o_value_tensor(cx, list->items[i])) == P2O_NOVAL)
			return P2O_ERR_UNSUPPORTED;
	uint32_t nd = p2o_node_new(cx, "Einsum", list->n, in, 1);
	p2o_attr_str(cx, nd, "equation", eq);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* aten::linalg_cross(self, other, dim=-1) and aten::cross(self, other,
 * dim=None) (None: the first dim of self of size 3): with a' = a rotated
 * by one along dim and a'' by two, a x b = a' * b'' - a'' * b'. */
P2O_HANDLER(cross)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t other:t dim:i?", v);
	if (rc)
		return rc;
	uint32_t a = v[0].tensor, b = v[1].tensor;
	const p2o_type *ta = p2o_t(cx, a), *tb = p2o_t(cx, b);
	int rank = ta->rank > tb->rank ? ta->rank : tb->rank;
	int64_t d = -1;
	if (!v[2].none) {
		d = v[2].i;
	} else {
		for (int i = 0; i < ta->rank && d < 0; i++) {
			if (ta->dims[i].v < 0)
				return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
						"cross without dim over a "
						"symbolic dim: which dim has "
						"size 3 is not known");
			if (ta->dims[i].v == 3)
				d = i;
		}
		if (d < 0)
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"no dimension of size 3 in input");
	}
	if ((rc = p2o_norm_dim(cx, d, rank, &d)))
		return rc;
	int dt = p2o_promote(ta->dtype, ta->rank != 0, tb->dtype,
			     tb->rank != 0);
	a = p2o_cast(cx, a, dt);
	b = p2o_cast(cx, b, dt);
	static const int64_t r1[3] = { 1, 2, 0 }, r2[3] = { 2, 0, 1 };
	uint32_t i1 = p2o_const_i64s(cx, r1, 3), i2 = p2o_const_i64s(cx, r2, 3);
	uint32_t g[4];
	uint32_t src[4] = { a, b, a, b }, idx[4] = { i1, i2, i2, i1 };
	for (int i = 0; i < 4; i++) {
		/* Gather's axis counts in each operand's own rank. */
		int64_t ax = d - (rank - p2o_t(cx, src[i])->rank);
		if (ax < 0)
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"operands of rank %d and %d do not "
					"both have dim %lld", ta->rank,
					tb->rank, (long long)d);
		uint32_t in[2] = { src[i], idx[i] };
		uint32_t nd = p2o_node_new(cx, "Gather", 2, in, 1);
		p2o_attr_int(cx, nd, "axis", ax);
		g[i] = p2o_node_done(cx, nd);
	}
	return p2o_set_result(cx, n, p2o_op2(cx, "Sub",
					     p2o_op2(cx, "Mul", g[0], g[1]),
					     p2o_op2(cx, "Mul", g[2], g[3])));
}

/* aten::linalg_det(A) / aten::det(self): ONNX Det (11+), whose ONNX
 * Runtime kernel is float32 only: half floats go through float32 (exact
 * enough for them), float64 is refused rather than computed in lower
 * precision. */
static uint32_t det_of(p2o_cx *cx, uint32_t x)
{
	int dt = p2o_t(cx, x)->dtype;
	if (dt == P2O_DOUBLE || !p2o_dtype_is_float(dt)) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			 "determinant of a %s tensor (ONNX Runtime's Det is "
			 "float32 only)", dt == P2O_DOUBLE ? "float64" :
			 "non-floating");
		return P2O_NOVAL;
	}
	uint32_t y = p2o_op1(cx, "Det", p2o_cast(cx, x, P2O_FLOAT));
	return y == P2O_NOVAL ? y : p2o_cast(cx, y, dt);
}

P2O_HANDLER(det)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self|A:t", &v);
	return rc ? rc : p2o_set_result(cx, n, det_of(cx, v.tensor));
}

/* aten::logdet(self): log(det), NaN for a negative determinant and -inf
 * for a singular matrix, as PyTorch gives. */
P2O_HANDLER(logdet)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	uint32_t d = det_of(cx, v.tensor);
	return p2o_set_result(cx, n, d == P2O_NOVAL ? d : p2o_op1(cx, "Log", d));
}
