/* unary.c — elementwise math of one tensor: one table-driven handler for
 * the ops that are one ONNX op (abs, sqrt, exp, sin, floor, isnan, ...,
 * and their TorchScript-number overloads, math.sqrt(n)), and handlers for
 * those ONNX spells as a formula (rsqrt, log2, expm1, trunc, frac,
 * isfinite, nan_to_num, round with decimals, bitwise_not, ...).
 *
 * PyTorch's dtype rules: a float function (sqrt, exp, sin, ...) of an
 * integer or bool tensor is float32, its default dtype, so those are cast
 * first; abs and sign keep integers; floor/ceil/round/trunc of an integer
 * are the integer itself. ONNX Runtime lacks float64 kernels for some ops
 * (Tan, Asin, ..., Erf): a float64 input computes those in float32
 * (p2o_narrow_f64), which keeps float32's precision rather than fail. */
#include <math.h>
#include <string.h>

#include "../internal.h"

enum {
	U_INT = 1,     /* integers stay integer, through the same ONNX op */
	U_INT_ID = 2,  /* integers stay integer, unchanged (floor of an int) */
	U_BOOL_ID = 4, /* a bool tensor is its own result (sign) */
	U_NO_F64 = 8,  /* no float64 kernel in ONNX Runtime: compute float32 */
	U_PRED = 16,   /* a float predicate: bool result, false for non-floats */
	U_NO_BOOL = 32 /* PyTorch refuses bool tensors (abs, floor, ...) */
};

/* One op that is one ONNX op of its input. */
typedef struct uop {
	const char *kind;      /* the aten:: op kind */
	const char *onnx;      /* the ONNX op */
	int since;             /* the opset it appears in */
	int flags;             /* U_* */
	double (*num)(double); /* its number overload (aten::sqrt.float) */
} uop;

static double sign_num(double x) { return (x > 0) - (x < 0); }
static double isnan_num(double x) { return isnan(x); }
static double isinf_num(double x) { return isinf(x); }
static double sigmoid_num(double x) { return 1 / (1 + exp(-x)); }

/* Plain float functions (int and bool inputs become float32) unless the
 * flags say otherwise. */
static const uop uops[] = {
	{ "aten::abs", "Abs", 7, U_INT | U_NO_BOOL, fabs },
	{ "aten::acos", "Acos", 7, U_NO_F64, acos },
	{ "aten::acosh", "Acosh", 9, U_NO_F64, acosh },
	{ "aten::asin", "Asin", 7, U_NO_F64, asin },
	{ "aten::asinh", "Asinh", 9, U_NO_F64, asinh },
	{ "aten::atan", "Atan", 7, U_NO_F64, atan },
	{ "aten::atanh", "Atanh", 9, U_NO_F64, atanh },
	{ "aten::ceil", "Ceil", 7, U_INT_ID | U_NO_BOOL, ceil },
	{ "aten::cos", "Cos", 7, 0, cos },
	{ "aten::cosh", "Cosh", 9, U_NO_F64, cosh },
	{ "aten::erf", "Erf", 9, U_NO_F64, erf },
	{ "aten::exp", "Exp", 7, 0, exp },
	{ "aten::floor", "Floor", 7, U_INT_ID | U_NO_BOOL, floor },
	{ "aten::isinf", "IsInf", 10, U_PRED, isinf_num },
	{ "aten::isnan", "IsNaN", 9, U_PRED, isnan_num },
	{ "aten::log", "Log", 7, 0, log },
	{ "aten::sgn", "Sign", 9, U_INT | U_BOOL_ID, NULL },
	{ "aten::sigmoid", "Sigmoid", 7, 0, sigmoid_num },
	{ "aten::sign", "Sign", 9, U_INT | U_BOOL_ID, sign_num },
	{ "aten::sin", "Sin", 7, 0, sin },
	{ "aten::sinh", "Sinh", 9, U_NO_F64, sinh },
	{ "aten::sqrt", "Sqrt", 7, 0, sqrt },
	{ "aten::tan", "Tan", 7, U_NO_F64, tan },
	{ "aten::tanh", "Tanh", 7, 0, tanh },
};

/* The row of kind, its in-place form ("aten::sqrt_") included. */
static const uop *find_uop(const char *kind)
{
	size_t len = strlen(kind);
	if (len && kind[len - 1] == '_')
		len--;
	for (size_t i = 0; i < sizeof uops / sizeof *uops; i++)
		if (strlen(uops[i].kind) == len &&
		    memcmp(uops[i].kind, kind, len) == 0)
			return &uops[i];
	return NULL;
}

/* The TorchScript kind of output 0: a tensor, or an int/float/bool. */
static int out_kind(p2o_cx *cx, const pts_node *n)
{
	return cx->g->values[n->out[0]].kind;
}

/* A float function's input: integers and bools as float32 (PyTorch's
 * default dtype), floats as they are. */
static uint32_t float_input(p2o_cx *cx, uint32_t x)
{
	if (x == P2O_NOVAL || p2o_dtype_is_float(p2o_t(cx, x)->dtype))
		return x;
	return p2o_cast(cx, x, P2O_FLOAT);
}

/* x's dtype, or a diagnostic (0) when it is unknown. */
static int known_dtype(p2o_cx *cx, uint32_t x)
{
	int dt = x == P2O_NOVAL ? 0 : p2o_t(cx, x)->dtype;
	if (x != P2O_NOVAL && !dt)
		p2o_fail(cx, P2O_ERR_UNSUPPORTED, "the input's dtype is unknown");
	return dt;
}

/* Ops whose number overload folds: math.sqrt(2.0) and the like. */
static int fold_number(p2o_cx *cx, const pts_node *n, const uop *u,
		       const pts_const *k)
{
	double x = k->kind == PTS_C_FLOAT ? k->f : (double)k->i;
	double r = u->num(x);
	switch (out_kind(cx, n)) {
	case PTS_V_INT:
		return p2o_set_int(cx, n, 0, (int64_t)r);
	case PTS_V_BOOL:
		return p2o_set_bool(cx, n, 0, r != 0);
	case PTS_V_FLOAT:
		return p2o_set_float(cx, n, 0, r);
	default:
		/* aten::abs.Scalar keeps an int an int */
		if (k->kind == PTS_C_INT && (u->flags & (U_INT | U_INT_ID)))
			return p2o_set_int(cx, n, 0, (int64_t)r);
		return p2o_set_float(cx, n, 0, r);
	}
}

/* aten::log.int_int(a, b) and its kin, math.log(a, b): ln a / ln b. */
static int log_of_base(p2o_cx *cx, const pts_node *n, p2o_arg a, p2o_arg b)
{
	const pts_const *ka = a.k, *kb = b.k;
	if (ka && kb && ka->kind != PTS_C_TENSOR && kb->kind != PTS_C_TENSOR) {
		double x = ka->kind == PTS_C_FLOAT ? ka->f : (double)ka->i;
		double y = kb->kind == PTS_C_FLOAT ? kb->f : (double)kb->i;
		return p2o_set_float(cx, n, 0, log(x) / log(y));
	}
	uint32_t x = p2o_arg_tensor_as(cx, n, (uint32_t)a.idx, P2O_FLOAT);
	uint32_t y = b.idx >= 0 ? p2o_arg_tensor_as(cx, n, (uint32_t)b.idx,
						    P2O_FLOAT) : P2O_NOVAL;
	if (x == P2O_NOVAL || y == P2O_NOVAL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "math.log of these "
				"operands");
	return p2o_set_result(cx, n, p2o_op2(cx, "Div", p2o_op1(cx, "Log", x),
					      p2o_op1(cx, "Log", y)));
}

/* The one-ONNX-op handler: aten::abs, sqrt, exp, sin, floor, isnan, ...
 * (the table above), on tensors and TorchScript numbers. */
P2O_HANDLER(unary)
{
	const uop *u = find_uop(n->kind);
	if (!u)
		return p2o_fail(cx, P2O_ERR_INTERNAL, "internal: %s is not in "
				"the unary table", n->kind);
	p2o_arg a[2];
	int rc = p2o_args(cx, n, "self|a:n b:n?", a);
	if (rc)
		return rc;
	p2o_arg v = a[0];
	if (v.idx < 0)
		return p2o_fail(cx, P2O_ERR_MODEL, "the operand is missing");
	if (!a[1].none)
		return log_of_base(cx, n, v, a[1]);
	bool number = out_kind(cx, n) != PTS_V_TENSOR;
	if (number && v.k && v.k->kind != PTS_C_TENSOR && u->num)
		return fold_number(cx, n, u, v.k);
	uint32_t x = p2o_arg_tensor(cx, n, (uint32_t)v.idx);
	int dt = known_dtype(cx, x);
	if (!dt)
		return P2O_ERR_UNSUPPORTED;
	bool is_float = p2o_dtype_is_float(dt);
	if (dt == P2O_BOOL && (u->flags & U_NO_BOOL))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s of a bool tensor (PyTorch has none)",
				n->kind + 6);
	uint32_t y;
	bool op_used = (is_float || !(u->flags & (U_PRED | U_INT_ID))) &&
		       !(dt == P2O_BOOL && (u->flags & U_BOOL_ID));
	if (op_used && (rc = p2o_need_opset(cx, u->since, n->kind + 6)))
		return rc;
	if (!is_float && (u->flags & U_PRED)) {
		/* No integer is NaN or infinite: all false, shaped as x. */
		uint32_t b = p2o_cast(cx, x, P2O_BOOL);
		y = p2o_op2(cx, "And", b, p2o_op1(cx, "Not", b));
	} else if ((!is_float && (u->flags & U_INT_ID)) ||
		   (dt == P2O_BOOL && (u->flags & U_BOOL_ID))) {
		y = x;
	} else if (!is_float && (u->flags & U_INT)) {
		if (dt == P2O_BOOL)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s of a bool "
					"tensor", n->kind + 6);
		y = p2o_op1(cx, u->onnx, x);
	} else {
		x = float_input(cx, x);
		int fdt = p2o_t(cx, x)->dtype;
		if (u->flags & U_NO_F64)
			x = p2o_narrow_f64(cx, x);
		y = p2o_op1(cx, u->onnx, x);
		if (!(u->flags & U_PRED))
			y = p2o_cast(cx, y, fdt);
	}
	/* floor.float(float a) -> int: a number result of another kind */
	if (number && out_kind(cx, n) == PTS_V_INT)
		y = p2o_cast(cx, y, P2O_INT64);
	else if (number && out_kind(cx, n) == PTS_V_FLOAT)
		y = p2o_cast(cx, y, P2O_FLOAT);
	return p2o_set_result(cx, n, y);
}

/* The self argument of an op that takes no other, and its dtype;
 * P2O_NOVAL with a diagnostic. */
static uint32_t tensor_self(p2o_cx *cx, const pts_node *n, int *dt)
{
	p2o_arg v;
	if (p2o_args(cx, n, "self|a:t", &v))
		return P2O_NOVAL;
	*dt = known_dtype(cx, v.tensor);
	return *dt ? v.tensor : P2O_NOVAL;
}

/* A float function's input, read and cast; P2O_NOVAL with a diagnostic. */
static uint32_t float_self(p2o_cx *cx, const pts_node *n)
{
	p2o_arg v;
	if (p2o_args(cx, n, "self:t", &v))
		return P2O_NOVAL;
	if (!known_dtype(cx, v.tensor))
		return P2O_NOVAL;
	return float_input(cx, v.tensor);
}

static uint32_t scalar_like(p2o_cx *cx, uint32_t x, double k)
{
	return p2o_const_scalar(cx, p2o_t(cx, x)->dtype, k);
}

/* aten::rsqrt: 1 / sqrt(x), as PyTorch computes it. */
P2O_HANDLER(rsqrt)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_op1(cx, "Reciprocal",
					      p2o_op1(cx, "Sqrt", x)));
}

/* aten::log2 and aten::log10: ln(x) / ln(base). */
P2O_HANDLER(log_base)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	double base = strncmp(n->kind, "aten::log2", 10) == 0 ? M_LN2 : M_LN10;
	return p2o_set_result(cx, n, p2o_op2(cx, "Div", p2o_op1(cx, "Log", x),
					      scalar_like(cx, x, base)));
}

/* aten::log1p: ln(1 + x); aten::expm1: e^x - 1; aten::erfc: 1 - erf(x).
 * ONNX has no fused forms: these lose the fused ops' precision for
 * |x| much below float epsilon (log1p, expm1) and x beyond ~4 (erfc), in
 * absolute terms below 1e-7. */
P2O_HANDLER(log1p)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_op1(cx, "Log", p2o_op2(cx, "Add", x,
					      scalar_like(cx, x, 1))));
}

P2O_HANDLER(expm1)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_op2(cx, "Sub", p2o_op1(cx, "Exp", x),
					      scalar_like(cx, x, 1)));
}

P2O_HANDLER(erfc)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	int dt = p2o_t(cx, x)->dtype;
	uint32_t e = p2o_cast(cx, p2o_op1(cx, "Erf", p2o_narrow_f64(cx, x)), dt);
	return p2o_set_result(cx, n, p2o_op2(cx, "Sub", scalar_like(cx, x, 1),
					      e));
}

/* aten::square: x * x; integers stay integer, bools become int64 (as
 * PyTorch's pow(x, 2)). */
P2O_HANDLER(square)
{
	int dt, rc;
	uint32_t x = tensor_self(cx, n, &dt);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (dt == P2O_BOOL)
		x = p2o_cast(cx, x, P2O_INT64);
	/* Mul takes 8- and 16-bit integers from Mul-14, and their products
	 * wrap around as PyTorch's do. */
	if (p2o_dtype_size(dt) < 4 && dt != P2O_BOOL && !p2o_dtype_is_float(dt) &&
	    (rc = p2o_need_opset(cx, 14, "square of an 8- or 16-bit integer "
				 "tensor")))
		return rc;
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", x, x));
}

/* trunc(x) = sign(x) * floor(|x|), exact for every float (Sign from
 * opset 9); integers are their own trunc. */
static uint32_t trunc_of(p2o_cx *cx, uint32_t x)
{
	if (p2o_need_opset(cx, 9, "trunc of a floating tensor"))
		return P2O_NOVAL;
	return p2o_op2(cx, "Mul", p2o_op1(cx, "Sign", x),
		       p2o_op1(cx, "Floor", p2o_op1(cx, "Abs", x)));
}

/* aten::trunc (and aten::fix, its alias) */
P2O_HANDLER(trunc)
{
	int dt;
	uint32_t x = tensor_self(cx, n, &dt);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "trunc of a bool tensor");
	if (!p2o_dtype_is_float(dt))
		return p2o_set_result(cx, n, x);
	return p2o_set_result(cx, n, trunc_of(cx, x));
}

/* aten::frac: x - trunc(x) (floats only, as in PyTorch). */
P2O_HANDLER(frac)
{
	int dt;
	uint32_t x = tensor_self(cx, n, &dt);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"frac of a non-floating tensor");
	uint32_t t = trunc_of(cx, x);
	if (t == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_op2(cx, "Sub", x, t));
}

/* Round(x * 10^d) / 10^d (d > 0), Round(x / 10^-d) * 10^-d (d < 0). */
static uint32_t round_decimals(p2o_cx *cx, uint32_t x, int64_t d)
{
	if (d == 0)
		return p2o_op1(cx, "Round", x);
	int dt = p2o_t(cx, x)->dtype;
	int cdt = dt == P2O_DOUBLE ? P2O_DOUBLE : P2O_FLOAT;
	uint32_t xc = p2o_cast(cx, x, cdt);
	uint32_t p = p2o_const_scalar(cx, cdt, pow(10, (double)(d < 0 ? -d : d)));
	uint32_t y = d > 0 ? p2o_op2(cx, "Div", p2o_op1(cx, "Round",
					p2o_op2(cx, "Mul", xc, p)), p) :
			     p2o_op2(cx, "Mul", p2o_op1(cx, "Round",
					p2o_op2(cx, "Div", xc, p)), p);
	return p2o_cast(cx, y, dt);
}

/* aten::round(self) and aten::round.decimals(self, *, decimals): half to
 * even, as ONNX's Round (opset 11). With decimals d, PyTorch computes
 * round(x * 10^d) / 10^d, or round(x / 10^-d) * 10^-d for d < 0, in
 * float32 for float16 inputs: so does the model. */
P2O_HANDLER(round)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self|a:n decimals:i?", v);
	if (rc)
		return rc;
	if (v[0].idx < 0)
		return p2o_fail(cx, P2O_ERR_MODEL, "the operand is missing");
	bool number = out_kind(cx, n) != PTS_V_TENSOR;
	if (number && v[0].k && v[0].k->kind != PTS_C_TENSOR) {
		double x = v[0].k->kind == PTS_C_FLOAT ? v[0].k->f :
			   (double)v[0].k->i;
		return p2o_set_float(cx, n, 0, nearbyint(x));
	}
	uint32_t x = p2o_arg_tensor(cx, n, (uint32_t)v[0].idx);
	int dt = known_dtype(cx, x);
	if (!dt)
		return P2O_ERR_UNSUPPORTED;
	int64_t d = v[1].none ? 0 : v[1].i;
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "round of a bool tensor");
	uint32_t y = x;
	if (!p2o_dtype_is_float(dt) && d != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "round of an integer "
				"tensor with decimals");
	if (p2o_dtype_is_float(dt)) {
		if ((rc = p2o_need_opset(cx, 11, "round of a floating tensor")))
			return rc;
		y = round_decimals(cx, x, d);
	}
	/* aten::round.int(int a) -> float */
	return p2o_set_result(cx, n, number ? p2o_cast(cx, y, P2O_FLOAT) : y);
}

/* aten::isfinite: not NaN and not infinite, i.e. x - x is not NaN (Inf -
 * Inf is NaN); every integer and bool is finite. */
P2O_HANDLER(isfinite)
{
	int dt, rc;
	uint32_t x = tensor_self(cx, n, &dt);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	uint32_t y;
	if (!p2o_dtype_is_float(dt)) {
		uint32_t b = p2o_cast(cx, x, P2O_BOOL);
		y = p2o_op2(cx, "Or", b, p2o_op1(cx, "Not", b));
	} else {
		if ((rc = p2o_need_opset(cx, 9, "isfinite of a floating tensor")))
			return rc;
		y = p2o_op1(cx, "Not", p2o_op1(cx, "IsNaN",
					       p2o_op2(cx, "Sub", x, x)));
	}
	return p2o_set_result(cx, n, y);
}

/* The largest finite value of a float dtype. */
static double float_max(int dt)
{
	switch (dt) {
	case P2O_FLOAT16: return 65504.0;
	case P2O_BFLOAT16: return 3.38953138925153547590470800371487866880e+38;
	case P2O_DOUBLE: return 1.79769313486231570815e+308;
	default: return 3.40282346638528859811704183484516925440e+38;
	}
}

/* aten::nan_to_num(self, nan=None, posinf=None, neginf=None): NaN to nan
 * (0), +inf to posinf (the dtype's max), -inf to neginf (its lowest).
 * Infinities are found as x > max and x < lowest, which holds for them
 * alone; integers and bools are returned as they are. */
P2O_HANDLER(nan_to_num)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t nan:f? posinf:f? neginf:f?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int dt = known_dtype(cx, x);
	if (!dt)
		return P2O_ERR_UNSUPPORTED;
	if (!p2o_dtype_is_float(dt))
		return p2o_set_result(cx, n, x);
	if ((rc = p2o_need_opset(cx, 9, "nan_to_num of a floating tensor")))
		return rc;
	double max = float_max(dt);
	uint32_t nanv = p2o_const_scalar(cx, dt, v[1].none ? 0 : v[1].f);
	uint32_t posv = p2o_const_scalar(cx, dt, v[2].none ? max : v[2].f);
	uint32_t negv = p2o_const_scalar(cx, dt, v[3].none ? -max : v[3].f);
	uint32_t in[3] = { p2o_op1(cx, "IsNaN", x), nanv, x };
	uint32_t y = p2o_node_done(cx, p2o_node_new(cx, "Where", 3, in, 1));
	in[0] = p2o_op2(cx, "Greater", x, p2o_const_scalar(cx, dt, max));
	in[1] = posv;
	in[2] = y;
	y = p2o_node_done(cx, p2o_node_new(cx, "Where", 3, in, 1));
	in[0] = p2o_op2(cx, "Less", x, p2o_const_scalar(cx, dt, -max));
	in[1] = negv;
	in[2] = y;
	return p2o_set_result(cx, n, p2o_node_done(cx, p2o_node_new(cx, "Where",
								   3, in, 1)));
}

/* aten::bitwise_not: Not of a bool; of an integer BitwiseNot (opset 18),
 * below it -1 - x (255 - x for uint8), which is ~x in two's complement
 * for every value, the most negative one included. */
P2O_HANDLER(bitwise_not)
{
	int dt;
	uint32_t x = tensor_self(cx, n, &dt);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (dt == P2O_BOOL)
		return p2o_set_result(cx, n, p2o_op1(cx, "Not", x));
	if (!p2o_dtype_is_int(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"bitwise_not of a floating tensor");
	if (p2o_onnx_version(cx, "BitwiseNot"))
		return p2o_set_result(cx, n, p2o_op1(cx, "BitwiseNot", x));
	/* Sub takes 8- and 16-bit integers from Sub-14: before, in int32,
	 * where the result stays in the input type's range. */
	int wdt = p2o_dtype_size(dt) < 4 && p2o_onnx_version(cx, "Sub") < 14 ?
		  P2O_INT32 : dt;
	uint32_t all_ones = p2o_const_scalar(cx, wdt, dt == P2O_UINT8 ? 255 : -1);
	return p2o_set_result(cx, n, p2o_cast(cx, p2o_op2(cx, "Sub", all_ones,
						      p2o_cast(cx, x, wdt)), dt));
}
