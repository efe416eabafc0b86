/* elementwise.c — arithmetic (aten::add/sub/rsub/mul/div/floordiv, on
 * tensors and on TorchScript numbers) and clamping activations
 * (aten::relu, aten::hardtanh, aten::relu6).
 *
 * Arithmetic follows PyTorch's type promotion: dimensioned tensors decide
 * the result type over 0-dim tensors, which decide over plain numbers,
 * unless the lower-priority operand is of a higher category (bool < integer
 * < floating); true division of integers gives float32. ONNX wants both
 * operands of one type, so each is cast (numbers are made in that type). */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* 0: a TorchScript number, 1: a 0-dim tensor, 2: a dimensioned tensor. */
static int priority(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	if (p2o_arg_is_number(cx, n, i))
		return 0;
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	if (tv->kind == P2O_TV_TENSOR && p2o_t(cx, tv->onnx)->rank == 0)
		return 1;
	if (tv->kind == P2O_TV_CONST && tv->k->kind == PTS_C_TENSOR &&
	    tv->k->t.rank == 0)
		return 1;
	return 2;
}

static int operand_dtype(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	if (p2o_arg_is_number(cx, n, i))
		return p2o_number_dtype(cx, n, i);
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	if (tv->kind == P2O_TV_CONST && tv->k->kind == PTS_C_TENSOR)
		return tv->k->t.dtype;
	if (tv->kind == P2O_TV_TENSOR)
		return p2o_t(cx, tv->onnx)->dtype;
	return 0;
}

static int result_dtype(p2o_cx *cx, const pts_node *n, uint32_t a, uint32_t b)
{
	int pa = priority(cx, n, a), pb = priority(cx, n, b);
	return p2o_promote(operand_dtype(cx, n, a), pa >= pb,
			   operand_dtype(cx, n, b), pb >= pa);
}

/* Both operands constant numbers: compute at conversion time. */
static bool fold(p2o_cx *cx, const pts_node *n, char op, uint32_t ia,
		 uint32_t ib, double alpha, const char *rounding)
{
	const pts_const *a = p2o_konst(cx, n, ia), *b = p2o_konst(cx, n, ib);
	if (!a || !b || !p2o_arg_is_number(cx, n, ia) ||
	    !p2o_arg_is_number(cx, n, ib) || a->kind == PTS_C_TENSOR ||
	    b->kind == PTS_C_TENSOR)
		return false;
	bool ints = a->kind != PTS_C_FLOAT && b->kind != PTS_C_FLOAT &&
		    alpha == floor(alpha);
	double x = a->kind == PTS_C_FLOAT ? a->f : (double)a->i;
	double y = b->kind == PTS_C_FLOAT ? b->f : (double)b->i;
	double r;
	switch (op) {
	case '+': r = x + alpha * y; break;
	case '-': r = x - alpha * y; break;
	case '*': r = x * y; break;
	default:
		if (y == 0)
			return false; /* leave the error to run time */
		r = x / y;
		if (rounding && strcmp(rounding, "floor") == 0)
			r = floor(r);
		else if (rounding && strcmp(rounding, "trunc") == 0)
			r = trunc(r);
		else
			ints = false; /* true division */
		break;
	}
	if (ints)
		p2o_set_int(cx, n, 0, (int64_t)r);
	else
		p2o_set_float(cx, n, 0, r);
	return true;
}

/* a OP alpha*b, with promotion, optional rounding ("trunc"/"floor"). */
static int arith(p2o_cx *cx, const pts_node *n, char op, uint32_t ia,
		 uint32_t ib, double alpha, const char *rounding)
{
	if (fold(cx, n, op, ia, ib, alpha, rounding))
		return P2O_OK;
	int dt = result_dtype(cx, n, ia, ib);
	if (!dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"operand types are unknown");
	if (op == '/' && !rounding && p2o_dtype_category(dt) < 2)
		dt = P2O_FLOAT; /* true division */
	if (dt == P2O_BOOL && op != '+' && op != '*')
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"this arithmetic on bool tensors");
	uint32_t a = p2o_arg_tensor_as(cx, n, ia, dt);
	uint32_t b = p2o_arg_tensor_as(cx, n, ib, dt);
	if (a == P2O_NOVAL || b == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (alpha != 1)
		b = p2o_op2(cx, "Mul", b, p2o_const_scalar(cx, dt, alpha));
	uint32_t y;
	if (dt == P2O_BOOL) {
		y = p2o_op2(cx, op == '+' ? "Or" : "And", a, b);
	} else if (op == '/' && rounding && strcmp(rounding, "floor") == 0 &&
		   p2o_dtype_category(dt) == 1) {
		/* Integer floor division: (a - mod(a, b)) / b is exact, and
		 * Mod (fmod=0) takes the divisor's sign as Python does. */
		int rc = p2o_need_opset(cx, 10, "integer floor division");
		if (rc)
			return rc;
		uint32_t m = p2o_op2(cx, "Mod", a, b);
		y = p2o_op2(cx, "Div", p2o_op2(cx, "Sub", a, m), b);
	} else {
		const char *name = op == '+' ? "Add" : op == '-' ? "Sub" :
				   op == '*' ? "Mul" : "Div";
		y = p2o_op2(cx, name, a, b);
		if (op == '/' && rounding && p2o_dtype_category(dt) == 2) {
			if (strcmp(rounding, "floor") == 0) {
				y = p2o_op1(cx, "Floor", y);
			} else {
				/* trunc(y) = sign(y) * floor(|y|) */
				int rc = p2o_need_opset(cx, 9, "rounding_mode="
							       "'trunc'");
				if (rc)
					return rc;
				y = p2o_op2(cx, "Mul", p2o_op1(cx, "Sign", y),
					    p2o_op1(cx, "Floor",
						    p2o_op1(cx, "Abs", y)));
			}
		}
	}
	return p2o_set_result(cx, n, y);
}

/* The two operands of a binary op by name: aten::add.Tensor(self,
 * other, *, alpha) and aten::add(a, b) on numbers alike; alpha (1 when
 * the overload has none) into *alpha. The operands stay node inputs (ia,
 * ib) because promotion looks at what they are. */
static int operands(p2o_cx *cx, const pts_node *n, uint32_t *ia,
		    uint32_t *ib, double *alpha)
{
	p2o_arg v[3];
	*ia = *ib = 0;
	if (alpha)
		*alpha = 1;
	int rc = p2o_args(cx, n, "self|a:n other|b:n alpha:f?", v);
	if (rc)
		return rc;
	if (v[0].idx < 0 || v[1].idx < 0)
		return p2o_fail(cx, P2O_ERR_MODEL, "an operand is missing");
	*ia = (uint32_t)v[0].idx;
	*ib = (uint32_t)v[1].idx;
	if (alpha && !v[2].none)
		*alpha = v[2].f;
	else if (!v[2].none)
		return p2o_fail(cx, P2O_ERR_INTERNAL, "unexpected alpha");
	return P2O_OK;
}

/* aten::add(self, other, alpha=1), on tensors and numbers; and
 * aten::add.str(a, b), which scripted checks use to build exception
 * messages ("AssertionError: " + msg). */
P2O_HANDLER(add)
{
	const pts_const *sa = n->n_in == 2 ? p2o_konst(cx, n, 0) : NULL;
	const pts_const *sb = n->n_in == 2 ? p2o_konst(cx, n, 1) : NULL;
	if (sa && sb && sa->kind == PTS_C_STRING && sb->kind == PTS_C_STRING) {
		pts_const *s = p2o_new_const(cx, PTS_C_STRING);
		s->s = p2o_fmt(cx, "%s%s", sa->s, sb->s);
		p2o_set_const(cx, n, 0, s);
		return P2O_OK;
	}
	double alpha;
	uint32_t a, b;
	int rc = operands(cx, n, &a, &b, &alpha);
	return rc ? rc : arith(cx, n, '+', a, b, alpha, NULL);
}

P2O_HANDLER(sub)
{
	double alpha;
	uint32_t a, b;
	int rc = operands(cx, n, &a, &b, &alpha);
	return rc ? rc : arith(cx, n, '-', a, b, alpha, NULL);
}

/* aten::rsub(self, other, alpha=1) = other - alpha * self */
P2O_HANDLER(rsub)
{
	double alpha;
	uint32_t a, b;
	int rc = operands(cx, n, &a, &b, &alpha);
	return rc ? rc : arith(cx, n, '-', b, a, alpha, NULL);
}

P2O_HANDLER(mul)
{
	uint32_t a, b;
	int rc = operands(cx, n, &a, &b, NULL);
	return rc ? rc : arith(cx, n, '*', a, b, 1, NULL);
}

/* aten::div(self, other, *, rounding_mode=None) */
P2O_HANDLER(div)
{
	uint32_t a, b;
	p2o_arg mode;
	int rc;
	if ((rc = operands(cx, n, &a, &b, NULL)) ||
	    (rc = p2o_args(cx, n, "rounding_mode:s?", &mode)))
		return rc;
	if (!mode.none && strcmp(mode.s, "trunc") && strcmp(mode.s, "floor"))
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"rounding_mode '%s' is not 'trunc' or 'floor'",
				mode.s);
	return arith(cx, n, '/', a, b, 1, mode.none ? NULL : mode.s);
}

/* aten::floordiv(a, b) on TorchScript numbers. */
P2O_HANDLER(floordiv)
{
	uint32_t a, b;
	int rc = operands(cx, n, &a, &b, NULL);
	return rc ? rc : arith(cx, n, '/', a, b, 1, "floor");
}

P2O_HANDLER(relu)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	uint32_t x = v.tensor;
	if (!p2o_dtype_is_float(p2o_t(cx, x)->dtype)) {
		if ((rc = p2o_need_opset(cx, 14, "relu on integer tensors")))
			return rc;
	}
	return p2o_set_result(cx, n, p2o_op1(cx, "Relu", x));
}

static int clamp(p2o_cx *cx, const pts_node *n, uint32_t x, double lo,
		 double hi)
{
	int dt = p2o_t(cx, x)->dtype;
	if (!p2o_dtype_is_float(dt)) {
		int rc = p2o_need_opset(cx, 12, "clamping integer tensors");
		if (rc)
			return rc;
	}
	return p2o_set_result(cx, n, p2o_clip(cx, x, &lo, &hi));
}

/* aten::hardtanh(self, min_val=-1, max_val=1) */
P2O_HANDLER(hardtanh)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t min_val:f max_val:f", v);
	return rc ? rc : clamp(cx, n, v[0].tensor, v[1].f, v[2].f);
}

P2O_HANDLER(relu6)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	return rc ? rc : clamp(cx, n, v.tensor, 0, 6);
}

/* Comparisons: constant numbers (and strings, for eq/ne) fold; tensors
 * become Greater/Less/Equal after promotion to one dtype. */
static int compare(p2o_cx *cx, const pts_node *n, const char *rel)
{
	uint32_t ia, ib;
	int rc = operands(cx, n, &ia, &ib, NULL);
	if (rc)
		return rc;
	const pts_const *a = p2o_konst(cx, n, ia), *b = p2o_konst(cx, n, ib);
	bool num = p2o_arg_is_number(cx, n, ia) && p2o_arg_is_number(cx, n, ib);
	if (a && b && a->kind == PTS_C_STRING && b->kind == PTS_C_STRING &&
	    rel[0] != 'g' && rel[0] != 'l') {
		return p2o_set_bool(cx, n, 0,
				    (strcmp(a->s, b->s) == 0) == (rel[0] == 'e'));
	}
	if (a && b && num && a->kind != PTS_C_TENSOR && b->kind != PTS_C_TENSOR) {
		double x = a->kind == PTS_C_FLOAT ? a->f : (double)a->i;
		double y = b->kind == PTS_C_FLOAT ? b->f : (double)b->i;
		bool r = strcmp(rel, "gt") == 0 ? x > y :
			 strcmp(rel, "lt") == 0 ? x < y :
			 strcmp(rel, "ge") == 0 ? x >= y :
			 strcmp(rel, "le") == 0 ? x <= y :
			 strcmp(rel, "eq") == 0 ? x == y : x != y;
		return p2o_set_bool(cx, n, 0, r);
	}
	int dt = result_dtype(cx, n, ia, ib);
	if (!dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "operand types are unknown");
	bool eq = rel[0] == 'e' || rel[0] == 'n';
	if (eq && p2o_dtype_is_float(dt) &&
	    (rc = p2o_need_opset(cx, 11, "comparing floats for equality")))
		return rc;
	if (!eq && !p2o_dtype_is_float(dt) &&
	    (rc = p2o_need_opset(cx, 9, "ordering integer tensors")))
		return rc;
	uint32_t x = p2o_arg_tensor_as(cx, n, ia, dt);
	uint32_t y = p2o_arg_tensor_as(cx, n, ib, dt);
	uint32_t r;
	if (eq) {
		r = p2o_op2(cx, "Equal", x, y);
		if (rel[0] == 'n')
			r = p2o_op1(cx, "Not", r);
	} else if (rel[1] == 't') {
		r = p2o_op2(cx, rel[0] == 'g' ? "Greater" : "Less", x, y);
	} else {
		r = p2o_compare_or_equal(cx, rel[0] == 'g', x, y);
	}
	return p2o_set_result(cx, n, r);
}

P2O_HANDLER(gt) { return compare(cx, n, "gt"); }
P2O_HANDLER(lt) { return compare(cx, n, "lt"); }
P2O_HANDLER(ge) { return compare(cx, n, "ge"); }
P2O_HANDLER(le) { return compare(cx, n, "le"); }
P2O_HANDLER(eq) { return compare(cx, n, "eq"); }
P2O_HANDLER(ne) { return compare(cx, n, "ne"); }

/* aten::neg: constant numbers fold; tensors become Neg. */
P2O_HANDLER(neg)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self|a:n", &v);
	if (rc)
		return rc;
	if (v.k && v.k->kind == PTS_C_INT)
		return p2o_set_int(cx, n, 0, -v.k->i);
	if (v.k && v.k->kind == PTS_C_FLOAT)
		return p2o_set_float(cx, n, 0, -v.k->f);
	return p2o_set_result(cx, n, p2o_op1(cx, "Neg",
					      p2o_arg_tensor(cx, n, (uint32_t)v.idx)));
}

/* aten::reciprocal: 1 / x, in float for integer inputs (as PyTorch). */
P2O_HANDLER(reciprocal)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	uint32_t x = v.tensor;
	if (!p2o_dtype_is_float(p2o_t(cx, x)->dtype))
		x = p2o_cast(cx, x, P2O_FLOAT);
	return p2o_set_result(cx, n, p2o_op1(cx, "Reciprocal", x));
}

/* aten::gelu(self, approximate='none'|'tanh'). Since opset 9: the exact
 * form needs Erf, which ONNX has from opset 9 (as PyTorch's exporter). */
P2O_HANDLER(gelu)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t approximate:s?", v);
	if (rc)
		return rc;
	const char *approx = v[1].none ? "none" : v[1].s;
	bool tanh_approx = strcmp(approx, "tanh") == 0;
	if (!tanh_approx && strcmp(approx, "none") != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"approximate='%s' is not a gelu mode", approx);
	uint32_t x = v[0].tensor;
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (!p2o_dtype_is_float(p2o_t(cx, x)->dtype))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"gelu of a non-floating tensor");
	return p2o_set_result(cx, n, p2o_gelu(cx, x, tanh_approx));
}
