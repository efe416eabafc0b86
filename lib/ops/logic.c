/* logic.c — logic and bits (aten::logical_*, bitwise_*, __and__/__or__/
 * __xor__, shifts) and selection (aten::where, aten::masked_fill).
 *
 * Operands are promoted as for arithmetic (elementwise.c's
 * p2o_binary_promoted). Bool tensors take ONNX's And/Or/Xor; integer
 * tensors the Bitwise* ops, which ONNX has only from opset 18. */
#include <string.h>

#include "../internal.h"

/* logical_and/or/xor(self, other): any dtype, nonzero is true. */
static int logical(p2o_cx *cx, const pts_node *n, const char *op)
{
	uint32_t ia, ib;
	int rc = p2o_binary_operands(cx, n, &ia, &ib);
	if (rc)
		return rc;
	uint32_t a = p2o_cast(cx, p2o_arg_tensor(cx, n, ia), P2O_BOOL);
	uint32_t b = p2o_cast(cx, p2o_arg_tensor(cx, n, ib), P2O_BOOL);
	if (a == P2O_NOVAL || b == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_op2(cx, op, a, b));
}

P2O_HANDLER(logical_and) { return logical(cx, n, "And"); }
P2O_HANDLER(logical_or) { return logical(cx, n, "Or"); }
P2O_HANDLER(logical_xor) { return logical(cx, n, "Xor"); }

P2O_HANDLER(logical_not)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	return p2o_set_result(cx, n, p2o_op1(cx, "Not",
					      p2o_cast(cx, v.tensor, P2O_BOOL)));
}

/* bitwise_and/or/xor and __and__/__or__/__xor__, Tensor and Scalar. */
static int bitwise(p2o_cx *cx, const pts_node *n, const char *bool_op,
		   const char *int_op)
{
	uint32_t ia, ib, a, b;
	int dt, rc;
	if ((rc = p2o_binary_operands(cx, n, &ia, &ib)))
		return rc;
	/* Numbers known now (an unrolled loop's `i < n and not done`
	 * condition): folded, so the loop can tell when it ends. */
	const pts_const *ka = p2o_konst(cx, n, ia), *kb = p2o_konst(cx, n, ib);
	if (ka && kb && (ka->kind == PTS_C_BOOL || ka->kind == PTS_C_INT) &&
	    (kb->kind == PTS_C_BOOL || kb->kind == PTS_C_INT)) {
		int64_t x = ka->i, y = kb->i;
		int64_t r = bool_op[0] == 'A' ? x & y : bool_op[0] == 'O' ?
			    x | y : x ^ y;
		if (ka->kind == PTS_C_BOOL && kb->kind == PTS_C_BOOL)
			return p2o_set_bool(cx, n, 0, r != 0);
		return p2o_set_int(cx, n, 0, r);
	}
	if ((rc = p2o_binary_promoted(cx, n, ia, ib, &dt, &a, &b)))
		return rc;
	if (p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"bitwise operation on floating tensors "
				"(PyTorch refuses it too)");
	if (dt == P2O_BOOL)
		return p2o_set_result(cx, n, p2o_op2(cx, bool_op, a, b));
	if ((rc = p2o_need_opset(cx, 18, "bitwise operations on integer "
					 "tensors")))
		return rc;
	return p2o_set_result(cx, n, p2o_op2(cx, int_op, a, b));
}

P2O_HANDLER(bitwise_and) { return bitwise(cx, n, "And", "BitwiseAnd"); }
P2O_HANDLER(bitwise_or) { return bitwise(cx, n, "Or", "BitwiseOr"); }
P2O_HANDLER(bitwise_xor) { return bitwise(cx, n, "Xor", "BitwiseXor"); }

/* Shifts by a constant amount k in [0, bits): uint8 takes BitShift
 * (unsigned only, opset 11); signed integers shift as PyTorch does,
 * arithmetically: x << k wraps like x * 2^k, and x >> k is floor(x / 2^k),
 * computed in int64 as (x - mod(x, 2^k)) / 2^k (Mod with the divisor's
 * sign, opset 10), then cast back, which wraps as PyTorch's narrow types
 * do. A shift amount known only at run time is refused: PyTorch's result
 * for amounts past the width is not what a product gives. */
static int shift(p2o_cx *cx, const pts_node *n, bool left)
{
	uint32_t ia, ib, a, b;
	int dt, rc;
	if ((rc = p2o_binary_operands(cx, n, &ia, &ib)) ||
	    (rc = p2o_binary_promoted(cx, n, ia, ib, &dt, &a, &b)))
		return rc;
	if (!p2o_dtype_is_int(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"shifting a non-integer tensor");
	const pts_const *k = p2o_konst(cx, n, ib);
	int64_t amount = -1;
	if (k && k->kind == PTS_C_INT)
		amount = k->i;
	else if (k && k->kind == PTS_C_TENSOR && k->t.rank == 0 &&
		 k->t.dtype == P2O_INT64)
		memcpy(&amount, k->t.data, sizeof amount);
	int bits = (int)p2o_dtype_size(dt) * 8;
	if (amount < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a shift by an amount computed at run time");
	if (amount >= (dt == P2O_INT64 ? 63 : bits))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a shift by %lld of a %d-bit integer",
				(long long)amount, bits);
	if (dt == P2O_UINT8) {
		if ((rc = p2o_need_opset(cx, 11, "shifting uint8 tensors")))
			return rc;
		uint32_t in[2] = { a, b };
		uint32_t nd = p2o_node_new(cx, "BitShift", 2, in, 1);
		p2o_attr_str(cx, nd, "direction", left ? "LEFT" : "RIGHT");
		return p2o_set_result(cx, n, p2o_node_done(cx, nd));
	}
	uint32_t x = p2o_cast(cx, a, P2O_INT64);
	uint32_t p = p2o_const_scalar(cx, P2O_INT64, (double)((int64_t)1 << amount));
	uint32_t y;
	if (left) {
		y = p2o_op2(cx, "Mul", x, p);
	} else {
		if ((rc = p2o_need_opset(cx, 10, "shifting signed integers "
						 "right")))
			return rc;
		uint32_t m = p2o_mod(cx, x, p, false);
		y = p2o_op2(cx, "Div", p2o_op2(cx, "Sub", x, m), p);
	}
	return p2o_set_result(cx, n, p2o_cast(cx, y, dt));
}

P2O_HANDLER(lshift) { return shift(cx, n, true); }
P2O_HANDLER(rshift) { return shift(cx, n, false); }

/* aten::where(condition, self, other), self and other tensors or numbers
 * (where.self/ScalarSelf/ScalarOther/Scalar), promoted to one dtype. The
 * one-argument where(condition) is nonzero's, not this handler's. */
P2O_HANDLER(where)
{
	if (n->n_in == 1) /* where(condition): nonzero(condition, as_tuple) */
		return p2o_h_nonzero_numpy(cx, n);
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "condition:t self:n other:n", v);
	if (rc)
		return rc;
	if (v[1].idx < 0 || v[2].idx < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"where(condition) with one argument");
	if ((rc = p2o_need_opset(cx, 9, "where")))
		return rc;
	uint32_t a, b;
	int dt;
	if ((rc = p2o_binary_promoted(cx, n, (uint32_t)v[1].idx,
				      (uint32_t)v[2].idx, &dt, &a, &b)))
		return rc;
	uint32_t c = p2o_cast(cx, v[0].tensor, P2O_BOOL);
	return p2o_set_result(cx, n, p2o_select(cx, c, a, b));
}

/* aten::masked_fill(self, mask, value): value (a number or a 0-dim
 * tensor) where mask is true, in self's dtype; a uint8 mask as bool. */
P2O_HANDLER(masked_fill)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t mask:t value:n", v);
	if (rc)
		return rc;
	if ((rc = p2o_need_opset(cx, 9, "masked_fill")))
		return rc;
	uint32_t x = v[0].tensor;
	int dt = p2o_t(cx, x)->dtype;
	uint32_t val = p2o_arg_tensor_as(cx, n, (uint32_t)v[2].idx, dt);
	if (val == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (p2o_t(cx, val)->rank > 0)
		return p2o_fail(cx, P2O_ERR_MODEL,
				"masked_fill's value must be a 0-dim tensor");
	uint32_t m = p2o_cast(cx, v[1].tensor, P2O_BOOL);
	return p2o_set_result(cx, n, p2o_select(cx, m, val, x));
}
