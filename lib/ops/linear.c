/* linear.c — matrix products: aten::linear, aten::addmm, aten::matmul
 * (and aten::mm / aten::bmm, which are matmul with fixed ranks). */
#include "../internal.h"

/* aten::linear(input, weight, bias=None): y = x W^T + b. A 2-D input is
 * one Gemm with transB (the weight is used as stored, never transposed in
 * memory); other ranks are MatMul with a Transpose of W, then Add
 * (p2o_matmul_bt, which knows where Gemm's C is optional). */
P2O_HANDLER(linear)
{
	uint32_t x = p2o_arg_tensor(cx, n, 0);
	uint32_t w = p2o_arg_tensor(cx, n, 1);
	bool has_b = !p2o_arg_none(cx, n, 2);
	uint32_t b = has_b ? p2o_arg_tensor(cx, n, 2) : P2O_NOVAL;
	if (x == P2O_NOVAL || w == P2O_NOVAL || (has_b && b == P2O_NOVAL))
		return P2O_ERR_UNSUPPORTED;
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
	double beta = 1, alpha = 1;
	int rc;
	if ((n->n_in > 3 && (rc = p2o_arg_float(cx, n, 3, &beta))) ||
	    (n->n_in > 4 && (rc = p2o_arg_float(cx, n, 4, &alpha))))
		return rc;
	uint32_t c = p2o_arg_tensor(cx, n, 0);
	uint32_t a = p2o_arg_tensor(cx, n, 1);
	uint32_t b = p2o_arg_tensor(cx, n, 2);
	if (a == P2O_NOVAL || b == P2O_NOVAL || c == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
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
	uint32_t a = p2o_arg_tensor(cx, n, 0);
	uint32_t b = p2o_arg_tensor(cx, n, 1);
	if (a == P2O_NOVAL || b == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_op2(cx, "MatMul", a, b));
}
