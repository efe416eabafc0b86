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

static uint32_t floor_div_float(p2o_cx *cx, uint32_t a, uint32_t b,
				uint32_t quotient);
static uint32_t sign_differs(p2o_cx *cx, uint32_t m, uint32_t b);

/* a OP alpha*b, with promotion, optional rounding ("trunc"/"floor"). */
/* Whether value id holds known contents that are all sizes: numbers >= 0
 * (> 0 when positive) or symbolic dims (which are >= 0). */
static bool known_sizes(p2o_cx *cx, uint32_t id, bool positive)
{
	const p2o_val *v = p2o_v(cx, id);
	if (v->init && v->init->dtype == P2O_INT64) {
		const int64_t *x = v->init->data;
		for (size_t i = 0; i < v->init->nbytes / sizeof *x; i++)
			if (positive ? x[i] <= 0 : x[i] < 0)
				return false;
		return true;
	}
	if (v->n_known <= 0)
		return false;
	for (int32_t i = 0; i < v->n_known; i++) {
		p2o_dim d = v->known[i];
		if (positive ? d.v <= 0 : (d.v < 0 && !d.sym))
			return false;
	}
	return true;
}

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
		   p2o_dtype_category(dt) == 1 && known_sizes(cx, a, false) &&
		   known_sizes(cx, b, true)) {
		/* Sizes (known numbers or symbolic dims) over positive known
		 * numbers: Div truncates, which is floor here, and inference
		 * follows it (a view's channels // groups stays known). */
		y = p2o_op2(cx, "Div", a, b);
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
				y = floor_div_float(cx, a, b, y);
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
	if (p2o_overload_is(n, "t"))
		return p2o_h_list_op(cx, n); /* list + list */
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
	/* Equal takes bool, int32 and int64 only before version 11: the
	 * narrower integers compare the same widened (exactly) to int32. */
	if (eq && p2o_dtype_is_int(dt) && dt != P2O_INT64 && dt != P2O_INT32 &&
	    p2o_onnx_version(cx, "Equal") < 11)
		dt = P2O_INT32;
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
	uint32_t x = p2o_arg_tensor(cx, n, (uint32_t)v.idx);
	int dt = x == P2O_NOVAL ? 0 : p2o_t(cx, x)->dtype;
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"neg of a bool tensor (PyTorch has none)");
	/* ONNX's Neg has no uint8; 0 - x wraps around as PyTorch's does,
	 * with Sub-14, the first to take uint8. */
	if (dt == P2O_UINT8) {
		int rc = p2o_need_opset(cx, 14, "neg of a uint8 tensor");
		return rc ? rc : p2o_set_result(cx, n, p2o_op2(cx, "Sub",
			p2o_const_scalar(cx, dt, 0), x));
	}
	return p2o_set_result(cx, n, p2o_op1(cx, "Neg", x));
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

/* ---- binary family: more arithmetic ---------------------------------------------- */

/* Operands ia, ib as ONNX tensors of their promoted dtype *dt (PyTorch's
 * result_type). Fails when the types are unknown. */
static int promoted(p2o_cx *cx, const pts_node *n, uint32_t ia, uint32_t ib,
		    int *dt, uint32_t *a, uint32_t *b)
{
	*dt = result_dtype(cx, n, ia, ib);
	if (!*dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"operand types are unknown");
	*a = p2o_arg_tensor_as(cx, n, ia, *dt);
	*b = p2o_arg_tensor_as(cx, n, ib, *dt);
	if (*a == P2O_NOVAL || *b == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return P2O_OK;
}

int p2o_binary_operands(p2o_cx *cx, const pts_node *n, uint32_t *ia,
			uint32_t *ib)
{
	return operands(cx, n, ia, ib, NULL);
}

int p2o_binary_promoted(p2o_cx *cx, const pts_node *n, uint32_t ia,
			uint32_t ib, int *dt, uint32_t *a, uint32_t *b)
{
	return promoted(cx, n, ia, ib, dt, a, b);
}

/* Like promoted, for ops whose result is floating whatever the inputs
 * (atan2, hypot, copysign): integer and bool results become float32. */
static int promoted_float(p2o_cx *cx, const pts_node *n, uint32_t ia,
			  uint32_t ib, int *dt, uint32_t *a, uint32_t *b)
{
	int rc = promoted(cx, n, ia, ib, dt, a, b);
	if (rc || p2o_dtype_is_float(*dt))
		return rc;
	*dt = P2O_FLOAT;
	*a = p2o_cast(cx, *a, P2O_FLOAT);
	*b = p2o_cast(cx, *b, P2O_FLOAT);
	return P2O_OK;
}

/* aten::floor_divide(self, other): floors since PyTorch 1.13. */
P2O_HANDLER(floor_divide)
{
	uint32_t a, b;
	int rc = operands(cx, n, &a, &b, NULL);
	return rc ? rc : arith(cx, n, '/', a, b, 1, "floor");
}

/* aten::fmod(self, other): C's fmod, the sign of the dividend; Mod with
 * fmod=1, which exists from opset 10. */
P2O_HANDLER(fmod)
{
	uint32_t ia, ib, a, b;
	int dt, rc;
	if ((rc = operands(cx, n, &ia, &ib, NULL)) ||
	    (rc = p2o_need_opset(cx, 10, "fmod")) ||
	    (rc = promoted(cx, n, ia, ib, &dt, &a, &b)))
		return rc;
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "fmod of bool tensors");
	return p2o_set_result(cx, n, p2o_mod(cx, a, b, true));
}

/* aten::remainder(self, other): Python's %, the sign of the divisor.
 * Integers: Mod with fmod=0; floats: from fmod (Mod with fmod=1). Mod
 * exists from opset 10. */
P2O_HANDLER(remainder)
{
	uint32_t ia, ib, a, b;
	int dt, rc;
	if ((rc = operands(cx, n, &ia, &ib, NULL)))
		return rc;
	const pts_const *ka = p2o_konst(cx, n, ia), *kb = p2o_konst(cx, n, ib);
	if (ka && kb && ka->kind == PTS_C_INT && kb->kind == PTS_C_INT &&
	    kb->i != 0) {
		int64_t r = ka->i % kb->i;
		if (r != 0 && (r < 0) != (kb->i < 0))
			r += kb->i;
		return p2o_set_int(cx, n, 0, r);
	}
	if ((rc = promoted(cx, n, ia, ib, &dt, &a, &b)))
		return rc;
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"remainder of bool tensors");
	if (!p2o_dtype_is_float(dt)) {
		if ((rc = p2o_need_opset(cx, 10, "integer remainder")))
			return rc;
		return p2o_set_result(cx, n, p2o_mod(cx, a, b, false));
	}
	/* fmod(a, b), plus b where the signs differ: exact, as PyTorch
	 * computes it (a - floor(a / b) * b is not, where a / b rounds). */
	if ((rc = p2o_need_opset(cx, 10, "remainder")))
		return rc;
	uint32_t m = p2o_mod(cx, a, b, true);
	return p2o_set_result(cx, n, p2o_select(cx, sign_differs(cx, m, b),
						p2o_op2(cx, "Add", m, b), m));
}

/* aten::pow: Tensor_Tensor, Tensor_Scalar, Scalar (a number base) and the
 * TorchScript number forms, all promoted to one dtype. Pow takes integers
 * from version 12. */
P2O_HANDLER(pow)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self|a:n exponent|b:n", v);
	if (rc)
		return rc;
	if (v[0].idx < 0 || v[1].idx < 0)
		return p2o_fail(cx, P2O_ERR_MODEL, "an operand is missing");
	uint32_t ia = (uint32_t)v[0].idx, ib = (uint32_t)v[1].idx, a, b;
	int dt;
	if ((rc = promoted(cx, n, ia, ib, &dt, &a, &b)))
		return rc;
	if (p2o_arg_is_number(cx, n, ia) && p2o_arg_is_number(cx, n, ib) &&
	    !p2o_dtype_is_float(dt)) {
		/* pow.int(int a, int b) -> float */
		dt = P2O_FLOAT;
		a = p2o_cast(cx, a, dt);
		b = p2o_cast(cx, b, dt);
	}
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "pow of bool tensors");
	if (!p2o_dtype_is_float(dt)) {
		if ((rc = p2o_need_opset(cx, 12, "pow of integer tensors")))
			return rc;
		if (dt != P2O_INT32 && dt != P2O_INT64) {
			/* Pow-12 knows int32 and int64 only; the narrow
			 * types wrap around as PyTorch's do on the way back. */
			int narrow = dt;
			uint32_t y = p2o_op2(cx, "Pow", p2o_cast(cx, a, P2O_INT64),
					     p2o_cast(cx, b, P2O_INT64));
			return p2o_set_result(cx, n, p2o_cast(cx, y, narrow));
		}
	}
	return p2o_set_result(cx, n, p2o_op2(cx, "Pow", a, b));
}

/* Whether x == 0, elementwise, for a floating x: Equal takes floats from
 * version 11; before it, neither less nor greater nor NaN. */
static uint32_t is_zero(p2o_cx *cx, uint32_t x)
{
	int dt = p2o_t(cx, x)->dtype;
	uint32_t z = p2o_const_scalar(cx, dt, 0);
	if (p2o_onnx_version(cx, "Equal") >= 11)
		return p2o_op2(cx, "Equal", x, z);
	uint32_t lg = p2o_op2(cx, "Or", p2o_op2(cx, "Less", x, z),
			      p2o_op2(cx, "Greater", x, z));
	return p2o_op1(cx, "Not", p2o_op2(cx, "Or", lg, p2o_op1(cx, "IsNaN", x)));
}

/* Where m, a remainder with the dividend's sign (C's fmod), and b differ
 * in sign: there Python's remainder is m + b and its floor division one
 * less than the truncated quotient. */
static uint32_t sign_differs(p2o_cx *cx, uint32_t m, uint32_t b)
{
	uint32_t zero = p2o_const_scalar(cx, p2o_t(cx, m)->dtype, 0);
	return p2o_op2(cx, "And", p2o_op1(cx, "Not", is_zero(cx, m)),
		       p2o_op2(cx, "Xor", p2o_op2(cx, "Less", m, zero),
			       p2o_op2(cx, "Less", b, zero)));
}

/* PyTorch's floor division of floats: from the exact fmod, not from the
 * rounded quotient, so that 1 // 0.1 is 9 as in PyTorch and Python:
 * d = (a - fmod(a, b)) / b, minus one where the signs differ, rounded to
 * the nearest integer; a / b where b is 0. Mod with fmod=1 exists from
 * opset 10; before it, the floor of the rounded quotient, which differs
 * only where a / b rounds up to an integer. */
static uint32_t floor_div_float(p2o_cx *cx, uint32_t a, uint32_t b,
				uint32_t quotient)
{
	if (!p2o_onnx_version(cx, "Mod"))
		return p2o_op1(cx, "Floor", quotient);
	int dt = p2o_t(cx, quotient)->dtype;
	uint32_t m = p2o_mod(cx, a, b, true);
	uint32_t d = p2o_op2(cx, "Div", p2o_op2(cx, "Sub", a, m), b);
	d = p2o_op2(cx, "Sub", d, p2o_cast(cx, sign_differs(cx, m, b), dt));
	uint32_t fl = p2o_op1(cx, "Floor", d);
	uint32_t up = p2o_op2(cx, "Greater", p2o_op2(cx, "Sub", d, fl),
			      p2o_const_scalar(cx, dt, 0.5));
	fl = p2o_op2(cx, "Add", fl, p2o_cast(cx, up, dt));
	return p2o_select(cx, is_zero(cx, b), quotient, fl);
}

/* aten::atan2(self, other) = the angle of (other, self). ONNX has no
 * atan2: atan(y / x), plus or minus pi where x < 0, and 0 where both are
 * zero (where y / x would be NaN). Where and IsNaN exist from opset 9. */
P2O_HANDLER(atan2)
{
	uint32_t ia, ib, y, x;
	int dt, rc;
	if ((rc = operands(cx, n, &ia, &ib, NULL)) ||
	    (rc = p2o_need_opset(cx, 9, "atan2")) ||
	    (rc = promoted_float(cx, n, ia, ib, &dt, &y, &x)))
		return rc;
	uint32_t zero = p2o_const_scalar(cx, dt, 0);
	uint32_t both0 = p2o_op2(cx, "And", is_zero(cx, x), is_zero(cx, y));
	uint32_t safe_x = p2o_select(cx, both0, p2o_const_scalar(cx, dt, 1), x);
	uint32_t r = p2o_op1(cx, "Atan", p2o_op2(cx, "Div", y, safe_x));
	uint32_t pi = p2o_select(cx, p2o_op2(cx, "Less", y, zero),
			     p2o_const_scalar(cx, dt, -M_PI),
			     p2o_const_scalar(cx, dt, M_PI));
	uint32_t fix = p2o_select(cx, p2o_op2(cx, "Less", x, zero), pi, zero);
	return p2o_set_result(cx, n, p2o_op2(cx, "Add", r, fix));
}

/* Max or Min of two tensors of one dtype: bool as Or/And; Max/Min
 * broadcast from version 8 and take integers from 12. */
static int max_min(p2o_cx *cx, bool max, uint32_t a, uint32_t b, int dt,
		   uint32_t *y)
{
	int rc;
	if (dt == P2O_BOOL) {
		*y = p2o_op2(cx, max ? "Or" : "And", a, b);
		return P2O_OK;
	}
	if (!p2o_dtype_is_float(dt) && p2o_onnx_version(cx, "Max") < 12) {
		/* Integers before Max-12: select by comparison (exact, with
		 * no NaN to propagate); Greater-9 compares them, widened so
		 * that every runtime has a kernel. */
		if ((rc = p2o_need_opset(cx, 9, max ? "maximum of integer "
						      "tensors" :
						      "minimum of integer "
						      "tensors")))
			return rc;
		uint32_t wa = p2o_cast(cx, a, P2O_INT64);
		uint32_t wb = p2o_cast(cx, b, P2O_INT64);
		*y = p2o_select(cx, p2o_op2(cx, max ? "Greater" : "Less", wa, wb),
				a, b);
		return P2O_OK;
	}
	if ((rc = p2o_need_opset(cx, 8, max ? "maximum" : "minimum")))
		return rc;
	*y = p2o_op2(cx, max ? "Max" : "Min", a, b);
	return P2O_OK;
}

static int maxmin_op(p2o_cx *cx, const pts_node *n, bool max, bool fnan)
{
	uint32_t ia, ib, a, b, y;
	int dt, rc;
	if ((rc = operands(cx, n, &ia, &ib, NULL)) ||
	    (rc = promoted(cx, n, ia, ib, &dt, &a, &b)) ||
	    (rc = max_min(cx, max, a, b, dt, &y)))
		return rc;
	if (fnan && p2o_dtype_is_float(dt)) {
		/* fmax/fmin ignore a NaN operand: the other one wins. */
		if ((rc = p2o_need_opset(cx, 9, max ? "fmax" : "fmin")))
			return rc;
		y = p2o_select(cx, p2o_op1(cx, "IsNaN", a), b,
			   p2o_select(cx, p2o_op1(cx, "IsNaN", b), a, y));
	}
	return p2o_set_result(cx, n, y);
}

P2O_HANDLER(maximum) { return maxmin_op(cx, n, true, false); }
P2O_HANDLER(minimum) { return maxmin_op(cx, n, false, false); }
P2O_HANDLER(fmax) { return maxmin_op(cx, n, true, true); }
P2O_HANDLER(fmin) { return maxmin_op(cx, n, false, true); }

/* aten::hypot(self, other) = sqrt(self^2 + other^2) */
P2O_HANDLER(hypot)
{
	uint32_t ia, ib, a, b;
	int dt, rc;
	if ((rc = operands(cx, n, &ia, &ib, NULL)) ||
	    (rc = promoted_float(cx, n, ia, ib, &dt, &a, &b)))
		return rc;
	uint32_t s = p2o_op2(cx, "Add", p2o_op2(cx, "Mul", a, a),
			     p2o_op2(cx, "Mul", b, b));
	return p2o_set_result(cx, n, p2o_op1(cx, "Sqrt", s));
}

/* aten::copysign(self, other) = |self| with the sign of other: |self|
 * times 1 - 2 [other < 0] (Less on a floating other: any opset). The sign
 * bit of -0.0 is not seen: copysign(x, -0.0) gives +|x|. */
P2O_HANDLER(copysign)
{
	uint32_t ia, ib, a, b;
	int dt, rc;
	if ((rc = operands(cx, n, &ia, &ib, NULL)) ||
	    (rc = promoted_float(cx, n, ia, ib, &dt, &a, &b)))
		return rc;
	uint32_t neg = p2o_cast(cx, p2o_op2(cx, "Less", b,
					    p2o_const_scalar(cx, dt, 0)), dt);
	uint32_t sign = p2o_op2(cx, "Sub", p2o_const_scalar(cx, dt, 1),
				p2o_op2(cx, "Mul", neg,
					p2o_const_scalar(cx, dt, 2)));
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", p2o_op1(cx, "Abs", a),
					     sign));
}

/* aten::lerp(self, end, weight) = self + weight * (end - self), weight a
 * number or a tensor; in self's (floating) dtype, as PyTorch requires. */
P2O_HANDLER(lerp)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t end:t weight:n", v);
	if (rc)
		return rc;
	uint32_t a = v[0].tensor;
	int dt = p2o_t(cx, a)->dtype;
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"lerp of non-floating tensors");
	uint32_t e = p2o_cast(cx, v[1].tensor, dt);
	uint32_t w = p2o_arg_tensor_as(cx, n, (uint32_t)v[2].idx, dt);
	if (w == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	uint32_t d = p2o_op2(cx, "Mul", w, p2o_op2(cx, "Sub", e, a));
	return p2o_set_result(cx, n, p2o_op2(cx, "Add", a, d));
}

/* aten::addcmul / addcdiv(self, tensor1, tensor2, value=1) =
 * self + value * tensor1 (* or /) tensor2, promoted over the three. */
static int addc(p2o_cx *cx, const pts_node *n, bool div)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:n tensor1:n tensor2:n value:f?", v);
	if (rc)
		return rc;
	uint32_t idx[3];
	int pr[3], dts[3];
	for (int i = 0; i < 3; i++) {
		if (v[i].idx < 0)
			return p2o_fail(cx, P2O_ERR_MODEL, "an operand is missing");
		idx[i] = (uint32_t)v[i].idx;
		pr[i] = priority(cx, n, idx[i]);
		dts[i] = operand_dtype(cx, n, idx[i]);
	}
	/* result_type over three: the highest priority present decides
	 * within a category, as for two. */
	int best = pr[0] > pr[1] ? pr[0] : pr[1];
	best = best > pr[2] ? best : pr[2];
	int dt = 0;
	for (int i = 0; i < 3; i++)
		if (pr[i] == best)
			dt = dt ? p2o_promote(dt, true, dts[i], true) : dts[i];
	for (int i = 0; i < 3; i++)
		if (pr[i] != best)
			dt = p2o_promote(dt, true, dts[i], false);
	if (!dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "operand types are unknown");
	if (div && !p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"addcdiv of integer tensors (PyTorch refuses "
				"it too)");
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "addcmul of bool tensors");
	uint32_t t[3];
	for (int i = 0; i < 3; i++)
		if ((t[i] = p2o_arg_tensor_as(cx, n, idx[i], dt)) == P2O_NOVAL)
			return P2O_ERR_UNSUPPORTED;
	uint32_t p = p2o_op2(cx, div ? "Div" : "Mul", t[1], t[2]);
	double value = v[3].none ? 1 : v[3].f;
	if (value != 1)
		p = p2o_op2(cx, "Mul", p, p2o_const_scalar(cx, dt, value));
	return p2o_set_result(cx, n, p2o_op2(cx, "Add", t[0], p));
}

P2O_HANDLER(addcmul) { return addc(cx, n, false); }
P2O_HANDLER(addcdiv) { return addc(cx, n, true); }

/* aten::clamp / clip (min, max numbers or tensors, either None),
 * clamp_min, clamp_max. The result is promoted over x and the bounds.
 * Constant number bounds: Clip (floats from opset 7, integers from 12);
 * tensor bounds: Max then Min, which is also PyTorch's order when
 * min > max (the result is max). */
static int clamp_op(p2o_cx *cx, const pts_node *n, const char *lo_name,
		    const char *hi_name)
{
	char spec[64];
	snprintf(spec, sizeof spec, "self:n %s%s%s", lo_name ? lo_name : "",
		 lo_name ? ":n? " : "", hi_name ? hi_name : "");
	if (hi_name)
		strcat(spec, ":n?");
	p2o_arg v[3];
	int rc = p2o_args(cx, n, spec, v);
	if (rc)
		return rc;
	p2o_arg *lo = lo_name ? &v[1] : NULL;
	p2o_arg *hi = hi_name ? &v[lo_name ? 2 : 1] : NULL;
	if (lo && lo->none)
		lo = NULL;
	if (hi && hi->none)
		hi = NULL;
	uint32_t ix = (uint32_t)v[0].idx;
	int dt = operand_dtype(cx, n, ix);
	if (!dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "operand types are unknown");
	if (lo)
		dt = p2o_promote(dt, true, operand_dtype(cx, n, (uint32_t)lo->idx),
				 priority(cx, n, (uint32_t)lo->idx) == 2);
	if (hi)
		dt = p2o_promote(dt, true, operand_dtype(cx, n, (uint32_t)hi->idx),
				 priority(cx, n, (uint32_t)hi->idx) == 2);
	if (!lo && !hi)
		return p2o_fail(cx, P2O_ERR_MODEL,
				"clamp needs min or max (PyTorch refuses both "
				"None)");
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "clamping bool tensors");
	uint32_t x = p2o_arg_tensor_as(cx, n, ix, dt);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	bool numbers = (!lo || (lo->k && p2o_arg_is_number(cx, n, (uint32_t)lo->idx))) &&
		       (!hi || (hi->k && p2o_arg_is_number(cx, n, (uint32_t)hi->idx)));
	/* Clip takes integers from version 12; before it, Max and Min's
	 * form (max_min). */
	if (!p2o_dtype_is_float(dt) && p2o_onnx_version(cx, "Clip") < 12)
		numbers = false;
	if (numbers) {
		double l = 0, h = 0;
		if (lo)
			l = lo->k->kind == PTS_C_FLOAT ? lo->k->f : (double)lo->k->i;
		if (hi)
			h = hi->k->kind == PTS_C_FLOAT ? hi->k->f : (double)hi->k->i;
		/* min > max gives max everywhere in PyTorch; Clip-6 refuses
		 * such bounds, and clamping to [max, max] is the same. */
		if (lo && hi && l > h)
			l = h;
		return p2o_set_result(cx, n, p2o_clip(cx, x, lo ? &l : NULL,
						      hi ? &h : NULL));
	}
	uint32_t y = x;
	if (lo) {
		uint32_t l = p2o_arg_tensor_as(cx, n, (uint32_t)lo->idx, dt);
		if (l == P2O_NOVAL || (rc = max_min(cx, true, y, l, dt, &y)))
			return rc ? rc : P2O_ERR_UNSUPPORTED;
	}
	if (hi) {
		uint32_t h = p2o_arg_tensor_as(cx, n, (uint32_t)hi->idx, dt);
		if (h == P2O_NOVAL || (rc = max_min(cx, false, y, h, dt, &y)))
			return rc ? rc : P2O_ERR_UNSUPPORTED;
	}
	return p2o_set_result(cx, n, y);
}

P2O_HANDLER(clamp) { return clamp_op(cx, n, "min", "max"); }
P2O_HANDLER(clamp_min) { return clamp_op(cx, n, "min", NULL); }
P2O_HANDLER(clamp_max) { return clamp_op(cx, n, NULL, "max"); }
