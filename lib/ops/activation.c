/* activation.c — activation functions (aten::leaky_relu, elu, selu, celu,
 * silu, mish, softplus, hardsigmoid, hardswish, hardshrink, softshrink,
 * threshold, prelu, rrelu, glu, log_sigmoid) and softmax/log_softmax.
 * (relu, relu6, hardtanh and gelu are in elementwise.c; sigmoid and tanh
 * are one ONNX op each, in unary.c's table.)
 *
 * PyTorch defines these for floating tensors only. Where ONNX has the op
 * (LeakyRelu, Elu, Selu, Celu, Mish, HardSwish, ...) it is used from the
 * opset it appears in, PyTorch's own formula below it; ONNX Runtime has no
 * float64 kernel for several of them, so a float64 input computes those
 * in float32 (p2o_narrow_f64). */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* The input of an activation: a floating tensor, or a diagnostic and
 * P2O_NOVAL. */
static uint32_t float_tensor(p2o_cx *cx, const pts_node *n, uint32_t x)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	if (!p2o_dtype_is_float(p2o_t(cx, x)->dtype)) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s of a non-floating tensor "
			 "(PyTorch has none)", n->kind + 6);
		return P2O_NOVAL;
	}
	return x;
}

/* Decodes the arguments of spec into v, the first of which is the
 * activation's input: returned when it is a floating tensor, else a
 * diagnostic and P2O_NOVAL. */
static uint32_t float_args(p2o_cx *cx, const pts_node *n, const char *spec,
			   p2o_arg *v)
{
	if (p2o_args(cx, n, spec, v))
		return P2O_NOVAL;
	return float_tensor(cx, n, v[0].tensor);
}

/* The input of an activation that takes no other argument. */
static uint32_t float_self(p2o_cx *cx, const pts_node *n)
{
	p2o_arg v;
	return float_args(cx, n, "self:t", &v);
}

static uint32_t k_like(p2o_cx *cx, uint32_t x, double v)
{
	return p2o_const_scalar(cx, p2o_t(cx, x)->dtype, v);
}

/* op(x) with float attributes (names[i] = vals[i]), in float32 for a
 * float64 x (see the header), and cast back. */
static uint32_t act_op(p2o_cx *cx, const char *op, uint32_t x, int n_attr,
		       const char *const *names, const double *vals)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	int dt = p2o_t(cx, x)->dtype;
	uint32_t xf = p2o_narrow_f64(cx, x);
	uint32_t nd = p2o_node_new(cx, op, 1, &xf, 1);
	for (int i = 0; i < n_attr; i++)
		p2o_attr_float(cx, nd, names[i], (float)vals[i]);
	return p2o_cast(cx, p2o_node_done(cx, nd), dt);
}

static uint32_t act1(p2o_cx *cx, const char *op, uint32_t x)
{
	return act_op(cx, op, x, 0, NULL, NULL);
}

static uint32_t leaky(p2o_cx *cx, uint32_t x, double slope)
{
	static const char *const names[] = { "alpha" };
	return act_op(cx, "LeakyRelu", x, 1, names, &slope);
}

/* aten::leaky_relu(self, negative_slope=0.01) */
P2O_HANDLER(leaky_relu)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t negative_slope:f", v);
	if (rc)
		return rc;
	return p2o_set_result(cx, n, leaky(cx, float_tensor(cx, n, v[0].tensor),
					   v[1].f));
}

/* aten::rrelu(self, lower, upper, training=False, generator=None): in
 * evaluation, leaky_relu with the mean slope (lower + upper) / 2. */
P2O_HANDLER(rrelu)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t lower:f upper:f training:b", v);
	if (rc)
		return rc;
	if (v[3].b)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "rrelu with training="
				"True draws random slopes; ONNX export needs "
				"training=False");
	return p2o_set_result(cx, n, leaky(cx, float_tensor(cx, n, v[0].tensor),
					   (v[1].f + v[2].f) / 2));
}

/* PyTorch's elu: scale * x for x > 0, else scale * alpha *
 * (exp(x * input_scale) - 1), as scale * (relu(x) + alpha * (exp(min(x, 0)
 * * input_scale) - 1)), min(x, 0) being -relu(-x). */
static uint32_t elu_formula(p2o_cx *cx, uint32_t x, double alpha,
			    double scale, double input_scale)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	uint32_t neg = p2o_op1(cx, "Neg", p2o_op1(cx, "Relu",
						   p2o_op1(cx, "Neg", x)));
	if (input_scale != 1)
		neg = p2o_op2(cx, "Mul", neg, k_like(cx, x, input_scale));
	uint32_t e = p2o_op2(cx, "Sub", p2o_op1(cx, "Exp", neg), k_like(cx, x, 1));
	if (alpha != 1)
		e = p2o_op2(cx, "Mul", e, k_like(cx, x, alpha));
	uint32_t y = p2o_op2(cx, "Add", p2o_op1(cx, "Relu", x), e);
	if (scale != 1)
		y = p2o_op2(cx, "Mul", y, k_like(cx, x, scale));
	return y;
}

/* aten::elu(self, alpha=1, scale=1, input_scale=1): ONNX's Elu when the
 * scales are 1. */
P2O_HANDLER(elu)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t alpha:f scale:f input_scale:f", v);
	if (rc)
		return rc;
	uint32_t x = float_tensor(cx, n, v[0].tensor);
	static const char *const names[] = { "alpha" };
	if (v[2].f == 1 && v[3].f == 1)
		return p2o_set_result(cx, n, act_op(cx, "Elu", x, 1, names,
						    &v[1].f));
	return p2o_set_result(cx, n, elu_formula(cx, x, v[1].f, v[2].f,
						 v[3].f));
}

/* aten::selu: ONNX's Selu with PyTorch's constants (ONNX's defaults are
 * rounded differently). */
P2O_HANDLER(selu)
{
	static const char *const names[] = { "alpha", "gamma" };
	static const double vals[] = { 1.6732632423543772848170429916717,
				       1.0507009873554804934193349852946 };
	return p2o_set_result(cx, n, act_op(cx, "Selu",
					    float_self(cx, n), 2, names, vals));
}

/* aten::celu(self, alpha=1): max(0, x) + min(0, alpha * (exp(x / alpha) -
 * 1)), ONNX's Celu from opset 12 (float32 only: other dtypes take the
 * formula, which is elu's with input_scale 1/alpha). */
P2O_HANDLER(celu)
{
	p2o_arg v[2];
	uint32_t x = float_args(cx, n, "self:t alpha:f", v);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (v[1].f == 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "celu with alpha=0");
	if (p2o_onnx_version(cx, "Celu") && p2o_t(cx, x)->dtype == P2O_FLOAT) {
		static const char *const names[] = { "alpha" };
		return p2o_set_result(cx, n, act_op(cx, "Celu", x, 1, names,
						    &v[1].f));
	}
	return p2o_set_result(cx, n, elu_formula(cx, x, v[1].f, 1,
						 1 / v[1].f));
}

/* aten::silu: x * sigmoid(x) */
P2O_HANDLER(silu)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", x,
					      p2o_op1(cx, "Sigmoid", x)));
}

/* aten::mish: ONNX's Mish from opset 18, x * tanh(softplus(x)) below. */
P2O_HANDLER(mish)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (p2o_onnx_version(cx, "Mish"))
		return p2o_set_result(cx, n, act1(cx, "Mish", x));
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", x, p2o_op1(cx, "Tanh",
					      act1(cx, "Softplus", x))));
}

/* aten::softplus(self, beta=1, threshold=20): x where x * beta >
 * threshold, else log(1 + exp(x * beta)) / beta. The selection needs
 * Where (opset 9); below it only a threshold of 20 or more, where
 * softplus(x) and x agree to float precision (log(1 + e^-20) ~ 2e-9). */
P2O_HANDLER(softplus)
{
	p2o_arg v[3];
	uint32_t x = float_args(cx, n, "self:t beta:f threshold:f", v);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	double beta = v[1].f, th = v[2].f;
	if (beta == 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "softplus with beta=0");
	uint32_t xb = beta == 1 ? x : p2o_op2(cx, "Mul", x, k_like(cx, x, beta));
	uint32_t sp = act1(cx, "Softplus", xb);
	if (beta != 1)
		sp = p2o_op2(cx, "Div", sp, k_like(cx, x, beta));
	if (!p2o_onnx_version(cx, "Where")) {
		if (th >= 20 && p2o_t(cx, x)->dtype != P2O_DOUBLE)
			return p2o_set_result(cx, n, sp);
		return p2o_need_opset(cx, 9, "softplus with a threshold below "
				      "20 or of a float64 tensor");
	}
	uint32_t in[3] = { p2o_op2(cx, "Greater", xb, k_like(cx, x, th)), x, sp };
	return p2o_set_result(cx, n, p2o_node_done(cx, p2o_node_new(cx, "Where",
								   3, in, 1)));
}

/* PyTorch's hardsigmoid: relu6(x + 3) / 6, ONNX's HardSigmoid with
 * alpha 1/6, beta 1/2. */
static uint32_t hardsigmoid(p2o_cx *cx, uint32_t x)
{
	static const char *const names[] = { "alpha", "beta" };
	static const double vals[] = { 1.0 / 6, 0.5 };
	return act_op(cx, "HardSigmoid", x, 2, names, vals);
}

P2O_HANDLER(hardsigmoid)
{
	return p2o_set_result(cx, n, hardsigmoid(cx, float_self(cx, n)));
}

/* aten::hardswish: x * hardsigmoid(x), ONNX's HardSwish from opset 14. */
P2O_HANDLER(hardswish)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (p2o_onnx_version(cx, "HardSwish"))
		return p2o_set_result(cx, n, act1(cx, "HardSwish", x));
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", x, hardsigmoid(cx, x)));
}

/* aten::hardshrink(self, lambd=0.5): x where |x| > lambd, else 0; as x *
 * (|x| > lambd), which keeps NaN a NaN as PyTorch does (ONNX's Shrink
 * would make it 0). */
P2O_HANDLER(hardshrink)
{
	p2o_arg v[2];
	uint32_t x = float_args(cx, n, "self:t lambd:f", v);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	uint32_t keep = p2o_op2(cx, "Greater", p2o_op1(cx, "Abs", x),
				k_like(cx, x, v[1].f));
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", x, p2o_cast(cx, keep,
					      p2o_t(cx, x)->dtype)));
}

/* aten::softshrink(self, lambd=0.5): x - lambd above lambd, x + lambd
 * below -lambd, else 0 (NaN too): ONNX's Shrink with bias lambd, exactly. */
P2O_HANDLER(softshrink)
{
	p2o_arg v[2];
	uint32_t x = float_args(cx, n, "self:t lambd:f", v);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (v[1].f < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "softshrink with a "
				"negative lambd");
	uint32_t nd = p2o_node_new(cx, "Shrink", 1, &x, 1);
	p2o_attr_float(cx, nd, "lambd", (float)v[1].f);
	p2o_attr_float(cx, nd, "bias", (float)v[1].f);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* aten::threshold(self, threshold, value): value where x <= threshold,
 * else x. Kept where x > threshold or x is NaN (NaN <= t is false). */
P2O_HANDLER(threshold)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t threshold:f value:f", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	int dt = p2o_t(cx, x)->dtype;
	if (dt == P2O_BOOL || !dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "threshold of a bool "
				"tensor or one of unknown dtype");
	uint32_t keep = p2o_op2(cx, "Greater", x, k_like(cx, x, v[1].f));
	if (p2o_dtype_is_float(dt))
		keep = p2o_op2(cx, "Or", keep, p2o_op1(cx, "IsNaN", x));
	uint32_t in[3] = { keep, x, k_like(cx, x, v[2].f) };
	return p2o_set_result(cx, n, p2o_node_done(cx, p2o_node_new(cx, "Where",
								   3, in, 1)));
}

/* aten::prelu(self, weight): one slope, or one per channel (dim 1). ONNX's
 * PRelu broadcasts the slope numpy-wise from the right, so per-channel
 * weights become [C, 1, ..., 1]. */
P2O_HANDLER(prelu)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t weight:t", v);
	if (rc)
		return rc;
	uint32_t x = float_tensor(cx, n, v[0].tensor), w = v[1].tensor;
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	const p2o_type *xt = p2o_t(cx, x), *wt = p2o_t(cx, w);
	int64_t c = p2o_numel(wt);
	if (xt->rank < 0 || c < 1 || wt->rank != (c == 1 ? wt->rank : 1))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "prelu needs a known "
				"rank and a 1-D weight of known length");
	int64_t dims[P2O_MAX_RANK];
	int r = 0;
	if (c > 1) {
		if (xt->rank < 2)
			return p2o_fail(cx, P2O_ERR_MODEL, "prelu: %lld weights "
					"for an input without channels",
					(long long)c);
		dims[r++] = c;
		while (r < xt->rank - 1)
			dims[r++] = 1;
	}
	int dt = xt->dtype;
	uint32_t xf = p2o_narrow_f64(cx, x);
	w = p2o_cast(cx, p2o_reshape_to(cx, w, dims, r), p2o_t(cx, xf)->dtype);
	return p2o_set_result(cx, n, p2o_cast(cx, p2o_op2(cx, "PRelu", xf, w),
					      dt));
}

/* aten::glu(self, dim=-1): a * sigmoid(b), a and b the halves along dim. */
P2O_HANDLER(glu)
{
	p2o_arg v[2];
	uint32_t x = float_args(cx, n, "self:t dim:i", v);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	const p2o_type *t = p2o_t(cx, x);
	int64_t d;
	int rc;
	if (t->rank < 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"glu of a 0-dim tensor or one of unknown rank");
	if ((rc = p2o_norm_dim(cx, v[1].i, t->rank, &d)))
		return rc;
	if (t->dims[d].v >= 0 && t->dims[d].v % 2)
		return p2o_fail(cx, P2O_ERR_MODEL, "glu: dim %lld has odd "
				"length %lld", (long long)v[1].i,
				(long long)t->dims[d].v);
	uint32_t h[2];
	if ((rc = p2o_split_halves(cx, x, (int)d, h)))
		return rc;
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", h[0],
					      p2o_op1(cx, "Sigmoid", h[1])));
}

/* aten::log_sigmoid: -softplus(-x), which stays finite where
 * log(sigmoid(x)) would underflow. */
P2O_HANDLER(log_sigmoid)
{
	uint32_t x = float_self(cx, n);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_op1(cx, "Neg", act1(cx, "Softplus",
					      p2o_op1(cx, "Neg", x))));
}

/* Softmax or LogSoftmax of x along dim d (non-negative). The opset-13
 * ops take the axis itself; before, they flatten x to 2-D at the axis,
 * which is the softmax along d only when d is the last dim: another d
 * is transposed to last and back. */
static uint32_t softmax_along(p2o_cx *cx, const char *op, uint32_t x, int d)
{
	int r = p2o_t(cx, x)->rank;
	if (r == 0) {
		/* a 0-dim tensor is its own (single) row */
		int64_t zero = 0;
		uint32_t y = softmax_along(cx, op, p2o_unsqueeze(cx, x, &zero, 1), 0);
		return p2o_squeeze(cx, y, &zero, 1);
	}
	bool moved = p2o_onnx_version(cx, op) < 13 && d != r - 1;
	int64_t perm[P2O_MAX_RANK];
	for (int i = 0; i < r; i++)
		perm[i] = i;
	perm[d] = r - 1;
	perm[r - 1] = d;
	if (moved)
		x = p2o_transpose(cx, x, perm, r);
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	uint32_t nd = p2o_node_new(cx, op, 1, &x, 1);
	p2o_attr_int(cx, nd, "axis", moved ? r - 1 : d);
	uint32_t y = p2o_node_done(cx, nd);
	return moved ? p2o_transpose(cx, y, perm, r) : y;
}

/* aten::softmax(self, dim, dtype=None), aten::_softmax(self, dim,
 * half_to_float), and the log_ forms: the input cast to dtype first, or
 * float16 to float32 with half_to_float, as PyTorch computes them. */
static int softmax(p2o_cx *cx, const pts_node *n, const char *op)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t dim:i dtype:dtype? half_to_float:b?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	if (!v[2].none) {
		if (!v[2].dtype)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "dtype %lld "
					"has no ONNX type", (long long)v[2].i);
		x = p2o_cast(cx, x, v[2].dtype);
	}
	if (!v[3].none && v[3].b && p2o_t(cx, x)->dtype == P2O_FLOAT16)
		x = p2o_cast(cx, x, P2O_FLOAT);
	if ((x = float_tensor(cx, n, x)) == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	int r = p2o_t(cx, x)->rank;
	int64_t d;
	if (r < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s of a tensor of unknown rank", n->kind + 6);
	if ((rc = p2o_norm_dim(cx, v[1].i, r ? r : 1, &d)))
		return rc;
	return p2o_set_result(cx, n, softmax_along(cx, op, x, (int)d));
}

P2O_HANDLER(softmax) { return softmax(cx, n, "Softmax"); }
P2O_HANDLER(log_softmax) { return softmax(cx, n, "LogSoftmax"); }
