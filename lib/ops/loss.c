/* loss.c — loss functions (mse, l1, smooth_l1, huber, kl_div, binary cross
 * entropy with and without logits, nll, cross entropy), the
 * broadcast_tensors their functional forms record, and native_dropout.
 * Each is PyTorch 1.13's own formula, reduction codes 0 none, 1 mean,
 * 2 sum. */
#include <string.h>

#include "../internal.h"

enum { RED_NONE = 0, RED_MEAN = 1, RED_SUM = 2 };

/* Applies reduction code r to the elementwise loss l. */
static uint32_t reduce_loss(p2o_cx *cx, uint32_t l, int64_t r)
{
	if (l == P2O_NOVAL || r == RED_NONE || p2o_t(cx, l)->rank == 0)
		return l;
	return p2o_reduce(cx, r == RED_MEAN ? "ReduceMean" : "ReduceSum", l,
			  NULL, 0, false);
}

static int check_reduction(p2o_cx *cx, int64_t r)
{
	if (r < RED_NONE || r > RED_SUM)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"%lld is not a reduction", (long long)r);
	return P2O_OK;
}

/* Input and target in their promoted floating dtype. */
static int operands(p2o_cx *cx, const p2o_arg *v, uint32_t *x, uint32_t *t)
{
	const p2o_type *a = p2o_t(cx, v[0].tensor), *b = p2o_t(cx, v[1].tensor);
	int dt = p2o_promote(a->dtype, a->rank != 0, b->dtype, b->rank != 0);
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a loss of integer tensors (an error in PyTorch)");
	*x = p2o_cast(cx, v[0].tensor, dt);
	*t = p2o_cast(cx, v[1].tensor, dt);
	return P2O_OK;
}

static uint32_t scalar_like(p2o_cx *cx, uint32_t x, double v)
{
	return p2o_const_scalar(cx, p2o_t(cx, x)->dtype, v);
}

/* aten::mse_loss / l1_loss (self, target, reduction=mean). */
static int pointwise_loss(p2o_cx *cx, const pts_node *n, bool square)
{
	p2o_arg v[3];
	uint32_t x, t;
	int rc = p2o_args(cx, n, "self:t target:t reduction:i", v);
	if (rc || (rc = check_reduction(cx, v[2].i)) ||
	    (rc = operands(cx, v, &x, &t)))
		return rc;
	uint32_t d = p2o_op2(cx, "Sub", x, t);
	d = square ? p2o_op2(cx, "Mul", d, d) : p2o_op1(cx, "Abs", d);
	return p2o_set_result(cx, n, reduce_loss(cx, d, v[2].i));
}

P2O_HANDLER(mse_loss)
{
	return pointwise_loss(cx, n, true);
}

P2O_HANDLER(l1_loss)
{
	return pointwise_loss(cx, n, false);
}

/* aten::smooth_l1_loss(self, target, reduction, beta=1) and
 * aten::huber_loss(self, target, reduction, delta=1). With z = |x - t| and
 * m = min(z, b): smooth L1 is 0.5 m^2 / b + (z - m), Huber 0.5 m^2 +
 * b (z - m), each equal to its two-branch definition on either side of
 * b, with Clip (any opset) instead of Where. */
static int smooth_loss(p2o_cx *cx, const pts_node *n, bool huber)
{
	p2o_arg v[4];
	uint32_t x, t;
	int rc = p2o_args(cx, n, huber ? "self:t target:t reduction:i delta:f"
				       : "self:t target:t reduction:i beta:f", v);
	if (rc || (rc = check_reduction(cx, v[2].i)) ||
	    (rc = operands(cx, v, &x, &t)))
		return rc;
	double b = v[3].f;
	uint32_t z = p2o_op1(cx, "Abs", p2o_op2(cx, "Sub", x, t));
	if (!huber && b == 0)
		return p2o_set_result(cx, n, reduce_loss(cx, z, v[2].i));
	uint32_t m = p2o_clip(cx, z, NULL, &b);
	uint32_t q = p2o_op2(cx, "Mul", p2o_op2(cx, "Mul", m, m),
			     scalar_like(cx, z, huber ? 0.5 : 0.5 / b));
	uint32_t lin = p2o_op2(cx, "Sub", z, m);
	if (huber)
		lin = p2o_op2(cx, "Mul", lin, scalar_like(cx, z, b));
	return p2o_set_result(cx, n, reduce_loss(cx, p2o_op2(cx, "Add", q, lin),
						 v[2].i));
}

P2O_HANDLER(smooth_l1_loss)
{
	return smooth_loss(cx, n, false);
}

P2O_HANDLER(huber_loss)
{
	return smooth_loss(cx, n, true);
}

/* aten::kl_div(self, target, reduction=mean, log_target=False): with
 * log_target exp(t) (t - x), else xlogy(t, t) - t x, xlogy being 0 where
 * t == 0 (Equal on floats: opset 11). 'batchmean' is a sum divided in
 * Python, recorded as such. */
P2O_HANDLER(kl_div)
{
	p2o_arg v[4];
	uint32_t x, t;
	int rc = p2o_args(cx, n, "self:t target:t reduction:i log_target:b", v);
	if (rc || (rc = check_reduction(cx, v[2].i)) ||
	    (rc = operands(cx, v, &x, &t)))
		return rc;
	uint32_t l;
	if (v[3].b) {
		l = p2o_op2(cx, "Mul", p2o_op1(cx, "Exp", t),
			    p2o_op2(cx, "Sub", t, x));
	} else {
		if ((rc = p2o_need_opset(cx, 11, "kl_div without log_target "
						 "(Equal on floats)")))
			return rc;
		uint32_t zero = scalar_like(cx, t, 0);
		uint32_t xlogy = p2o_select(cx, p2o_op2(cx, "Equal", t, zero),
					   zero, p2o_op2(cx, "Mul", t,
							 p2o_op1(cx, "Log", t)));
		l = p2o_op2(cx, "Sub", xlogy, p2o_op2(cx, "Mul", t, x));
	}
	return p2o_set_result(cx, n, reduce_loss(cx, l, v[2].i));
}

/* aten::binary_cross_entropy(self, target, weight=None, reduction=mean):
 * -w (t log(x) + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch
 * does. */
P2O_HANDLER(binary_cross_entropy)
{
	p2o_arg v[4];
	uint32_t x, t;
	int rc = p2o_args(cx, n, "self:t target:t weight:t? reduction:i", v);
	if (rc || (rc = check_reduction(cx, v[3].i)) ||
	    (rc = operands(cx, v, &x, &t)))
		return rc;
	double lo = -100;
	uint32_t one = scalar_like(cx, x, 1);
	uint32_t lx = p2o_clip(cx, p2o_op1(cx, "Log", x), &lo, NULL);
	uint32_t l1x = p2o_clip(cx, p2o_op1(cx, "Log", p2o_op2(cx, "Sub", one,
							       x)), &lo, NULL);
	uint32_t s = p2o_op2(cx, "Add", p2o_op2(cx, "Mul", t, lx),
			     p2o_op2(cx, "Mul", p2o_op2(cx, "Sub", one, t), l1x));
	uint32_t l = p2o_op1(cx, "Neg", s);
	if (!v[2].none)
		l = p2o_op2(cx, "Mul", l, p2o_cast(cx, v[2].tensor,
						   p2o_t(cx, x)->dtype));
	return p2o_set_result(cx, n, reduce_loss(cx, l, v[3].i));
}

/* aten::binary_cross_entropy_with_logits(self, target, weight=None,
 * pos_weight=None, reduction=mean), in PyTorch's stable form: with
 * m = max(-x, 0) and s = log(exp(-m) + exp(-x - m)),
 * (1 - t) x + lw (m + s), lw = 1 + (pos_weight - 1) t (1 without it). */
P2O_HANDLER(binary_cross_entropy_with_logits)
{
	p2o_arg v[5];
	uint32_t x, t;
	int rc = p2o_args(cx, n, "self:t target:t weight:t? pos_weight:t? "
				 "reduction:i", v);
	if (rc || (rc = check_reduction(cx, v[4].i)) ||
	    (rc = operands(cx, v, &x, &t)))
		return rc;
	int dt = p2o_t(cx, x)->dtype;
	uint32_t one = scalar_like(cx, x, 1);
	uint32_t nx = p2o_op1(cx, "Neg", x);
	uint32_t m = p2o_op1(cx, "Relu", nx);
	uint32_t s = p2o_op1(cx, "Log",
			     p2o_op2(cx, "Add",
				     p2o_op1(cx, "Exp", p2o_op1(cx, "Neg", m)),
				     p2o_op1(cx, "Exp", p2o_op2(cx, "Sub", nx, m))));
	uint32_t ms = p2o_op2(cx, "Add", m, s);
	if (!v[3].none) {
		uint32_t pw = p2o_cast(cx, v[3].tensor, dt);
		uint32_t lw = p2o_op2(cx, "Add", p2o_op2(cx, "Mul",
							 p2o_op2(cx, "Sub", pw,
								 one), t),
				      one);
		ms = p2o_op2(cx, "Mul", lw, ms);
	}
	uint32_t l = p2o_op2(cx, "Add", p2o_op2(cx, "Mul",
						p2o_op2(cx, "Sub", one, t), x),
			     ms);
	if (!v[2].none)
		l = p2o_op2(cx, "Mul", l, p2o_cast(cx, v[2].tensor, dt));
	return p2o_set_result(cx, n, reduce_loss(cx, l, v[4].i));
}

static const char *const red_names[3] = { "none", "mean", "sum" };

/* Input [C] (no batch) as [1, C] with target [1], and back. */
static bool unbatched(p2o_cx *cx, uint32_t *x, uint32_t *t, bool t_too)
{
	if (p2o_t(cx, *x)->rank != 1)
		return false;
	int64_t zero = 0;
	*x = p2o_unsqueeze(cx, *x, &zero, 1);
	if (t_too)
		*t = p2o_unsqueeze(cx, *t, &zero, 1);
	return true;
}

/* aten::nll_loss / nll_loss2d / nll_loss_nd(self, target, weight=None,
 * reduction=mean, ignore_index=-100): ONNX NegativeLogLikelihoodLoss
 * (12+) has PyTorch's semantics, weighted mean included. ONNX Runtime's
 * kernel takes float32 and float64 only. */
P2O_HANDLER(nll_loss)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t target:t weight:t? reduction:i "
				 "ignore_index:i", v);
	if (rc || (rc = check_reduction(cx, v[3].i)))
		return rc;
	uint32_t x = v[0].tensor, t = v[1].tensor;
	int dt = p2o_t(cx, x)->dtype;
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"nll_loss of a non-floating input");
	int wdt = dt == P2O_DOUBLE ? dt : P2O_FLOAT;
	bool one = unbatched(cx, &x, &t, true);
	uint32_t in[3] = { p2o_cast(cx, x, wdt), t,
			   v[2].none ? P2O_NOVAL : p2o_cast(cx, v[2].tensor, wdt) };
	uint32_t nd = p2o_node_new(cx, "NegativeLogLikelihoodLoss",
				   v[2].none ? 2 : 3, in, 1);
	p2o_attr_str(cx, nd, "reduction", red_names[v[3].i]);
	p2o_attr_int(cx, nd, "ignore_index", v[4].i);
	uint32_t y = p2o_node_done(cx, nd);
	if (one && v[3].i == RED_NONE && y != P2O_NOVAL) {
		int64_t zero = 0;
		y = p2o_squeeze(cx, y, &zero, 1);
	}
	return p2o_set_result(cx, n, y == P2O_NOVAL ? y : p2o_cast(cx, y, dt));
}

/* LogSoftmax of x along axis 1: LogSoftmax-13 takes any axis; before it
 * LogSoftmax flattens from its axis, right only for the last one, so the
 * class axis goes last and back. */
static uint32_t log_softmax1(p2o_cx *cx, uint32_t x)
{
	int rank = p2o_t(cx, x)->rank;
	bool move = rank > 2 && p2o_onnx_version(cx, "LogSoftmax") < 13;
	int64_t perm[P2O_MAX_RANK], inv[P2O_MAX_RANK];
	if (move) {
		int k = 0;
		for (int i = 0; i < rank; i++)
			if (i != 1)
				perm[k++] = i;
		perm[k] = 1;
		for (int i = 0; i < rank; i++)
			inv[perm[i]] = i;
		x = p2o_transpose(cx, x, perm, rank);
	}
	uint32_t nd = p2o_node_new(cx, "LogSoftmax", 1, &x, 1);
	p2o_attr_int(cx, nd, "axis", move ? rank - 1 : 1);
	uint32_t y = p2o_node_done(cx, nd);
	return move ? p2o_transpose(cx, y, inv, rank) : y;
}

/* weight viewed as [C, 1, ...] to broadcast along axis 1 of rank r. */
static uint32_t class_weight(p2o_cx *cx, uint32_t w, int rank, int dt)
{
	int64_t axes[P2O_MAX_RANK];
	for (int i = 0; i < rank - 2; i++)
		axes[i] = i + 1;
	w = p2o_cast(cx, w, dt);
	return rank > 2 ? p2o_unsqueeze(cx, w, axes, (size_t)(rank - 2)) : w;
}

/* Cross entropy with class probabilities as target (1.13): with
 * t' = t (1 - ls) + ls / C and logp = log_softmax(x, 1),
 * -sum(logp t' w) over classes; 'mean' divides the total by N * d...
 * (numel / C), weights or not. */
static uint32_t ce_probs(p2o_cx *cx, uint32_t x, uint32_t t, uint32_t w,
			 int64_t red, double ls)
{
	int dt = p2o_t(cx, x)->dtype, rank = p2o_t(cx, x)->rank;
	uint32_t logp = log_softmax1(cx, x);
	uint32_t c = p2o_cast(cx, p2o_dim_value(cx, x, 1), dt);
	if (ls > 0)
		t = p2o_op2(cx, "Add", p2o_op2(cx, "Mul", t,
					       p2o_const_scalar(cx, dt, 1 - ls)),
			    p2o_op2(cx, "Div", p2o_const_scalar(cx, dt, ls), c));
	uint32_t p = p2o_op2(cx, "Mul", logp, t);
	if (w != P2O_NOVAL)
		p = p2o_op2(cx, "Mul", p, class_weight(cx, w, rank, dt));
	p = p2o_op1(cx, "Neg", p);
	int64_t one = 1;
	if (red == RED_NONE)
		return p2o_reduce(cx, "ReduceSum", p, &one, 1, false);
	uint32_t s = p2o_reduce(cx, "ReduceSum", p, NULL, 0, false);
	if (red == RED_SUM)
		return s;
	/* numel / C: the product of the other dims. */
	uint32_t k = p2o_dim_value(cx, x, 0);
	for (int i = 2; i < rank; i++)
		k = p2o_op2(cx, "Mul", k, p2o_dim_value(cx, x, i));
	return p2o_op2(cx, "Div", s, p2o_cast(cx, k, dt));
}

/* Cross entropy with class indices: SoftmaxCrossEntropyLoss (12+), which
 * is PyTorch's without label smoothing; with it, 1.13 adds
 * ls / C * smooth, smooth = -sum(logp w) over classes, 0 where ignored,
 * reduced as the loss is (the weighted mean by the weights of the
 * targets), to (1 - ls) * the plain loss. */
static uint32_t ce_indices(p2o_cx *cx, uint32_t x, uint32_t t, uint32_t w,
			   int64_t red, int64_t ignore, double ls)
{
	int dt = p2o_t(cx, x)->dtype, rank = p2o_t(cx, x)->rank;
	int wdt = dt == P2O_DOUBLE ? dt : P2O_FLOAT;
	x = p2o_cast(cx, x, wdt);
	if (w != P2O_NOVAL)
		w = p2o_cast(cx, w, wdt);
	uint32_t in[3] = { x, t, w };
	uint32_t nd = p2o_node_new(cx, "SoftmaxCrossEntropyLoss",
				   w == P2O_NOVAL ? 2 : 3, in, ls > 0 ? 2 : 1);
	p2o_attr_str(cx, nd, "reduction", red_names[red]);
	p2o_attr_int(cx, nd, "ignore_index", ignore);
	uint32_t loss = p2o_node_done(cx, nd);
	if (ls == 0 || loss == P2O_NOVAL)
		return p2o_cast(cx, loss, dt);
	uint32_t logp = p2o_n(cx, nd)->out[1];
	uint32_t p = logp;
	if (w != P2O_NOVAL)
		p = p2o_op2(cx, "Mul", p, class_weight(cx, w, rank, wdt));
	int64_t one = 1;
	uint32_t smooth = p2o_op1(cx, "Neg", p2o_reduce(cx, "ReduceSum", p, &one,
							1, false));
	uint32_t ign = p2o_op2(cx, "Equal", t,
			       p2o_const_scalar(cx, p2o_t(cx, t)->dtype,
						(double)ignore));
	uint32_t zero = p2o_const_scalar(cx, wdt, 0);
	smooth = p2o_select(cx, ign, zero, smooth);
	if (red != RED_NONE) {
		uint32_t s = p2o_reduce(cx, "ReduceSum", smooth, NULL, 0, false);
		if (red == RED_MEAN) {
			/* Denominator: the weights of the non-ignored targets,
			 * or their count. */
			uint32_t keep = p2o_cast(cx, p2o_op1(cx, "Not", ign), wdt);
			if (w != P2O_NOVAL) {
				uint32_t tz = p2o_const_scalar(cx, p2o_t(cx, t)->dtype,
							       0);
				uint32_t safe = p2o_select(cx, ign, tz, t);
				keep = p2o_op2(cx, "Mul", keep,
					       p2o_op2(cx, "Gather", w, safe));
			}
			s = p2o_op2(cx, "Div", s, p2o_reduce(cx, "ReduceSum",
							     keep, NULL, 0,
							     false));
		}
		smooth = s;
	}
	uint32_t c = p2o_cast(cx, p2o_dim_value(cx, x, 1), wdt);
	uint32_t y = p2o_op2(cx, "Add",
			     p2o_op2(cx, "Mul", loss,
				     p2o_const_scalar(cx, wdt, 1 - ls)),
			     p2o_op2(cx, "Mul", smooth,
				     p2o_op2(cx, "Div",
					     p2o_const_scalar(cx, wdt, ls), c)));
	return p2o_cast(cx, y, dt);
}

/* aten::cross_entropy_loss(self, target, weight=None, reduction=mean,
 * ignore_index=-100, label_smoothing=0): class indices (an integer
 * target) or class probabilities (a floating one, the shape of self). */
P2O_HANDLER(cross_entropy_loss)
{
	p2o_arg v[6];
	int rc = p2o_args(cx, n, "self:t target:t weight:t? reduction:i "
				 "ignore_index:i label_smoothing:f", v);
	if (rc || (rc = check_reduction(cx, v[3].i)))
		return rc;
	uint32_t x = v[0].tensor, t = v[1].tensor;
	uint32_t w = v[2].none ? P2O_NOVAL : v[2].tensor;
	int dt = p2o_t(cx, x)->dtype;
	double ls = v[5].f;
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"cross_entropy of a non-floating input");
	if (ls < 0 || ls > 1)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"label_smoothing must be in [0, 1]");
	bool probs = p2o_dtype_is_float(p2o_t(cx, t)->dtype);
	bool one = unbatched(cx, &x, &t, true);
	uint32_t y;
	if (probs) {
		y = ce_probs(cx, x, p2o_cast(cx, t, dt), w, v[3].i, ls);
	} else {
		if ((rc = p2o_need_opset(cx, 12, "cross_entropy with class "
						 "indices "
						 "(SoftmaxCrossEntropyLoss)")))
			return rc;
		y = ce_indices(cx, x, t, w, v[3].i, v[4].i, ls);
	}
	if (one && v[3].i == RED_NONE && y != P2O_NOVAL) {
		int64_t zero = 0;
		y = p2o_squeeze(cx, y, &zero, 1);
	}
	return p2o_set_result(cx, n, y);
}

/* aten::broadcast_tensors(tensors) before opset 8 (Expand; shape.c's
 * handler from 8), as the functional losses record it before the loss op:
 * tensors of one shape are themselves. */
P2O_HANDLER(broadcast_tensors_same)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "tensors:v", &v);
	if (rc)
		return rc;
	const p2o_tv *list = p2o_tvin(cx, n, (uint32_t)v.idx);
	if (list->kind != P2O_TV_LIST || list->n == 0 || list->n > 64)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"broadcast_tensors of a list that is not built "
				"in the graph");
	uint32_t in[64];
	bool same = true;
	for (uint32_t i = 0; i < list->n; i++) {
		if ((in[i] = p2o_value_tensor(cx, list->items[i])) == P2O_NOVAL)
			return P2O_ERR_UNSUPPORTED;
		const p2o_type *a = p2o_t(cx, in[0]), *b = p2o_t(cx, in[i]);
		same &= a->rank == b->rank;
		for (int j = 0; same && j < a->rank; j++)
			same = p2o_dim_eq(a->dims[j], b->dims[j]);
	}
	if (!same)
		return p2o_need_opset(cx, 8, "broadcast_tensors of different "
				      "shapes (Expand)");
	p2o_set_tensor_list(cx, n, 0, in, list->n);
	return P2O_OK;
}

/* aten::native_dropout(input, p, train) -> (output, mask): the input and
 * an all-true mask when it does nothing (not training, or p == 0);
 * real dropout is random and refused. */
P2O_HANDLER(native_dropout)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "input:t p:f train:b?", v);
	if (rc)
		return rc;
	if (!v[2].none && v[2].b && v[1].f != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"dropout with train=True and p=%g is random",
				v[1].f);
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	uint32_t mask;
	if (p2o_dims_known(t)) {
		int64_t d[P2O_MAX_RANK];
		for (int i = 0; i < t->rank; i++)
			d[i] = t->dims[i].v;
		mask = p2o_const_filled(cx, P2O_BOOL, d, t->rank, 1);
	} else {
		if ((rc = p2o_need_opset(cx, 9, "native_dropout's mask of a "
						"symbolic shape (Where)")))
			return rc;
		uint32_t tru = p2o_const_scalar(cx, P2O_BOOL, 1);
		mask = p2o_select(cx, p2o_cast(cx, x, P2O_BOOL), tru, tru);
		if (mask == P2O_NOVAL)
			return P2O_ERR_CONVERT;
	}
	p2o_set_tensor(cx, n, 0, x);
	p2o_set_tensor(cx, n, 1, mask);
	return P2O_OK;
}
