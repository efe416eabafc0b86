/* norm.c — normalization: aten::batch_norm in eval mode (running
 * statistics) becomes BatchNormalization; batch statistics, layer, group
 * and instance normalization are PyTorch's formula (mean, biased
 * variance, rstd) over the dims they normalize, or LayerNormalization
 * where ONNX has it (opset 17). */
#include "../internal.h"

#include <string.h>

/* (x - mean) * rstd over axes (kept as size-1 dims), with the biased
 * variance and rstd = 1 / sqrt(var + eps), in x's dtype, as PyTorch's
 * normalizations compute; the mean and rstd into *mean, *rstd if not
 * NULL. */
uint32_t p2o_standardize(p2o_cx *cx, uint32_t x, const int64_t *axes,
			 size_t n, double eps, uint32_t *mean_out,
			 uint32_t *rstd_out)
{
	int dt = p2o_t(cx, x)->dtype;
	uint32_t mean = p2o_reduce(cx, "ReduceMean", x, axes, n, true);
	uint32_t d = p2o_op2(cx, "Sub", x, mean);
	uint32_t var = p2o_reduce(cx, "ReduceMean", p2o_op2(cx, "Mul", d, d),
				  axes, n, true);
	uint32_t rstd = p2o_op1(cx, "Reciprocal", p2o_op1(cx, "Sqrt",
		p2o_op2(cx, "Add", var, p2o_const_scalar(cx, dt, eps))));
	if (mean_out)
		*mean_out = mean;
	if (rstd_out)
		*rstd_out = rstd;
	return p2o_op2(cx, "Mul", d, rstd);
}

/* A per-channel 1-D tensor t (dim 1 of a rank-`rank` tensor) in dtype dt,
 * reshaped to (C, 1, ..., 1) to broadcast against it. */
static uint32_t per_channel(p2o_cx *cx, uint32_t t, int dt, int rank)
{
	int64_t shape[P2O_MAX_RANK];
	shape[0] = -1;
	for (int i = 1; i < rank - 1; i++)
		shape[i] = 1;
	return p2o_reshape_to(cx, p2o_cast(cx, t, dt), shape, rank - 1);
}

/* y * w + b for per-channel w, b (either P2O_NOVAL). */
static uint32_t channel_affine(p2o_cx *cx, uint32_t y, uint32_t w, uint32_t b,
			       int rank)
{
	int dt = p2o_t(cx, y)->dtype;
	if (w != P2O_NOVAL)
		y = p2o_op2(cx, "Mul", y, per_channel(cx, w, dt, rank));
	if (b != P2O_NOVAL)
		y = p2o_op2(cx, "Add", y, per_channel(cx, b, dt, rank));
	return y;
}

/* The input of a normalization: a floating tensor of known rank >= min. */
static int norm_input(p2o_cx *cx, uint32_t x, int min_rank)
{
	const p2o_type *t = p2o_t(cx, x);
	if (!p2o_dtype_is_float(t->dtype))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"normalizing a non-floating tensor");
	if (t->rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"the input's rank is unknown (give --input-shape)");
	if (t->rank < min_rank)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"input has rank %d; this normalization takes "
				"rank %d or more", t->rank, min_rank);
	return P2O_OK;
}

/* Batch statistics: mean and variance over every dim but the channels. */
static int batch_stats_norm(p2o_cx *cx, const pts_node *n, uint32_t x,
			    uint32_t w, uint32_t b, double eps)
{
	int rc = norm_input(cx, x, 2);
	if (rc)
		return rc;
	int rank = p2o_t(cx, x)->rank;
	int64_t axes[P2O_MAX_RANK];
	size_t k = 0;
	for (int i = 0; i < rank; i++)
		if (i != 1)
			axes[k++] = i;
	uint32_t y = p2o_standardize(cx, x, axes, k, eps, NULL, NULL);
	return p2o_set_result(cx, n, channel_affine(cx, y, w, b, rank));
}

/* aten::batch_norm(input, weight, bias, running_mean, running_var,
 *   training, momentum, eps, cudnn_enabled) */
P2O_HANDLER(batch_norm)
{
	p2o_arg v[9];
	int rc = p2o_args(cx, n, "training:b eps:f input:t weight:t? bias:t? "
				 "running_mean:t? running_var:t? momentum:f", v);
	if (rc)
		return rc;
	double eps = v[1].f;
	/* Without running statistics (track_running_stats=False) PyTorch
	 * normalizes by the batch's, in eval mode too (training is then
	 * true). */
	if (v[5].none && v[6].none)
		return batch_stats_norm(cx, n, v[2].tensor, v[3].none ? P2O_NOVAL :
					v[3].tensor, v[4].none ? P2O_NOVAL :
					v[4].tensor, eps);
	/* ---- knobs ---- --training train: BatchNormalization's training
	 * form normalizes by the batch's statistics, as PyTorch does in
	 * training; its extra outputs are the updated running statistics. */
	bool train = v[0].b && cx->train;
	if (train && (rc = p2o_need_opset(cx, 14, "batch_norm in training "
					  "mode (BatchNormalization's "
					  "training_mode)")))
		return rc;
	if (v[0].b && !train)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"batch_norm in training mode (the model is "
				"exported in eval mode; call .eval() before "
				"torch.jit.save)");
	if (v[5].none || v[6].none)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"batch_norm with only one of running_mean and "
				"running_var");
	uint32_t x = v[2].tensor, mean = v[5].tensor, var = v[6].tensor;
	const p2o_type *xt = p2o_t(cx, x), *mt = p2o_t(cx, mean);
	int dt = xt->dtype;
	if (xt->rank >= 0 && xt->rank < 2)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"input has rank %d; batch_norm takes (N, C, ...)",
				xt->rank);
	if (mt->rank != 1 || mt->dims[0].v < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"running_mean must be a 1-D tensor of known size");
	int64_t c = mt->dims[0].v;
	if (xt->rank >= 2 && xt->dims[1].v >= 0 && xt->dims[1].v != c)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"input has %lld channels, running statistics "
				"have %lld; check --input-shape",
				(long long)xt->dims[1].v, (long long)c);
	uint32_t scale = v[3].none ? p2o_const_filled(cx, dt, &c, 1, 1.0) :
				     p2o_cast(cx, v[3].tensor, dt);
	uint32_t bias = v[4].none ? p2o_const_filled(cx, dt, &c, 1, 0.0) :
				    p2o_cast(cx, v[4].tensor, dt);
	uint32_t in[5] = { x, scale, bias, p2o_cast(cx, mean, dt),
			   p2o_cast(cx, var, dt) };
	for (int i = 0; i < 5; i++)
		if (in[i] == P2O_NOVAL)
			return P2O_ERR_UNSUPPORTED;
	uint32_t nd = p2o_node_new(cx, "BatchNormalization", 5, in, train ? 3 : 1);
	p2o_attr_float(cx, nd, "epsilon", (float)eps);
	if (!train)
		return p2o_set_result(cx, n, p2o_node_done(cx, nd));
	/* ---- knobs ---- ONNX weighs the old running value by momentum,
	 * PyTorch the new batch value. */
	p2o_attr_int(cx, nd, "training_mode", 1);
	p2o_attr_float(cx, nd, "momentum", (float)(1.0 - v[7].f));
	uint32_t y = p2o_node_done(cx, nd);
	if (y == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_dim cd = { c, NULL };
	for (uint32_t k = 1; k < 3; k++)
		p2o_set_type(cx, p2o_n(cx, cx->n_nodes - 1)->out[k], dt, 1, &cd);
	return p2o_set_result(cx, n, y);
}

/* The arguments of aten::layer_norm and native_layer_norm (input,
 * normalized_shape, weight, bias, eps) into v[5], and the normalized axes
 * (the last len(normalized_shape)) into axes[*k]. */
static int layer_norm_args(p2o_cx *cx, const pts_node *n, p2o_arg *v,
			   int64_t *axes, int *k)
{
	int rc = p2o_args(cx, n, "input:t normalized_shape:is weight:t? "
				 "bias:t? eps:f", v);
	if (rc || (rc = norm_input(cx, v[0].tensor, (int)v[1].n)))
		return rc;
	int rank = p2o_t(cx, v[0].tensor)->rank;
	*k = (int)v[1].n;
	if (*k < 1)
		return p2o_fail(cx, P2O_ERR_MODEL, "normalized_shape is empty");
	for (int i = 0; i < *k; i++)
		axes[i] = rank - *k + i;
	return P2O_OK;
}

/* PyTorch's layer norm formula, with weight and bias if given. */
static uint32_t layer_norm_formula(p2o_cx *cx, const p2o_arg *v,
				   const int64_t *axes, int k, uint32_t *mean,
				   uint32_t *rstd)
{
	uint32_t x = v[0].tensor;
	int dt = p2o_t(cx, x)->dtype;
	uint32_t y = p2o_standardize(cx, x, axes, (size_t)k, v[4].f, mean, rstd);
	if (!v[2].none)
		y = p2o_op2(cx, "Mul", y, p2o_cast(cx, v[2].tensor, dt));
	if (!v[3].none)
		y = p2o_op2(cx, "Add", y, p2o_cast(cx, v[3].tensor, dt));
	return y;
}

/* aten::layer_norm(input, normalized_shape, weight, bias, eps,
 * cudnn_enable): over the last len(normalized_shape) dims.
 * LayerNormalization from opset 17 (its scale is not optional: ones when
 * weight is None), the formula before. */
P2O_HANDLER(layer_norm)
{
	p2o_arg v[5];
	int64_t axes[P2O_MAX_RANK];
	int k;
	int rc = layer_norm_args(cx, n, v, axes, &k);
	if (rc)
		return rc;
	if (!p2o_onnx_version(cx, "LayerNormalization"))
		return p2o_set_result(cx, n, layer_norm_formula(cx, v, axes, k,
								NULL, NULL));
	uint32_t x = v[0].tensor;
	int dt = p2o_t(cx, x)->dtype;
	uint32_t w = v[2].none ? p2o_const_filled(cx, dt, v[1].ints, k, 1.0) :
				 p2o_cast(cx, v[2].tensor, dt);
	uint32_t b = v[3].none ? P2O_NOVAL : p2o_cast(cx, v[3].tensor, dt);
	uint32_t in[3] = { x, w, b };
	uint32_t nd = p2o_node_new(cx, "LayerNormalization",
				   b == P2O_NOVAL ? 2 : 3, in, 1);
	p2o_attr_int(cx, nd, "axis", axes[0]);
	p2o_attr_float(cx, nd, "epsilon", (float)v[4].f);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}

/* aten::native_layer_norm(input, normalized_shape, weight, bias, eps) ->
 * (out, mean, rstd), mean and rstd shaped as input with the normalized
 * dims 1: the formula at every opset (LayerNormalization's statistics
 * outputs are in its stash type, not the input's). */
P2O_HANDLER(native_layer_norm)
{
	p2o_arg v[5];
	int64_t axes[P2O_MAX_RANK];
	int k;
	int rc = layer_norm_args(cx, n, v, axes, &k);
	if (rc)
		return rc;
	if (n->n_out != 3)
		return p2o_fail(cx, P2O_ERR_MODEL, "expected 3 outputs");
	uint32_t mean, rstd;
	uint32_t y = layer_norm_formula(cx, v, axes, k, &mean, &rstd);
	if (y == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 1, mean);
	p2o_set_tensor(cx, n, 2, rstd);
	return p2o_set_result(cx, n, y);
}

/* aten::group_norm(input, num_groups, weight, bias, eps, cudnn_enabled):
 * (N, C, ...) as (N, G, rest) normalized over its last dim, then back to
 * the input's shape (Reshape's 0 keeps N, so a symbolic batch stays one)
 * and the per-channel affine. GroupNormalization (opset 18) is not used:
 * its scale and bias were per group until version 21. */
P2O_HANDLER(group_norm)
{
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "input:t num_groups:i weight:t? bias:t? "
				 "eps:f", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	if ((rc = norm_input(cx, x, 2)))
		return rc;
	const p2o_type *t = p2o_t(cx, x);
	int rank = t->rank;
	int64_t g = v[1].i;
	if (g < 1 || (t->dims[1].v >= 0 && t->dims[1].v % g))
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"%lld groups do not divide %lld channels",
				(long long)g, (long long)t->dims[1].v);
	int64_t grouped[3] = { 0, g, -1 };
	static const int64_t last[1] = { 2 };
	uint32_t xg = p2o_reshape_to(cx, x, grouped, 3);
	uint32_t y = p2o_standardize(cx, xg, last, 1, v[4].f, NULL, NULL);
	y = p2o_reshape(cx, y, p2o_dims_value(cx, x, 0, rank));
	y = channel_affine(cx, y, v[2].none ? P2O_NOVAL : v[2].tensor,
			   v[3].none ? P2O_NOVAL : v[3].tensor, rank);
	return p2o_set_result(cx, n, y);
}

/* aten::instance_norm(input, weight, bias, running_mean, running_var,
 *   use_input_stats, momentum, eps, cudnn_enabled): each (sample,
 * channel) over its spatial dims; with use_input_stats false (eval mode
 * with track_running_stats), the running statistics instead. */
P2O_HANDLER(instance_norm)
{
	p2o_arg v[7];
	int rc = p2o_args(cx, n, "input:t weight:t? bias:t? running_mean:t? "
				 "running_var:t? use_input_stats:b eps:f", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	if ((rc = norm_input(cx, x, 3)))
		return rc;
	int rank = p2o_t(cx, x)->rank, dt = p2o_t(cx, x)->dtype;
	double eps = v[6].f;
	uint32_t y;
	if (v[5].b) {
		int64_t axes[P2O_MAX_RANK];
		for (int i = 2; i < rank; i++)
			axes[i - 2] = i;
		y = p2o_standardize(cx, x, axes, (size_t)(rank - 2), eps, NULL, NULL);
	} else {
		if (v[3].none || v[4].none)
			return p2o_fail(cx, P2O_ERR_MODEL,
					"instance_norm without input statistics "
					"needs running_mean and running_var");
		uint32_t mean = per_channel(cx, v[3].tensor, dt, rank);
		uint32_t var = p2o_op2(cx, "Add", per_channel(cx, v[4].tensor,
							      dt, rank),
				       p2o_const_scalar(cx, dt, eps));
		y = p2o_op2(cx, "Div", p2o_op2(cx, "Sub", x, mean),
			    p2o_op1(cx, "Sqrt", var));
	}
	y = channel_affine(cx, y, v[1].none ? P2O_NOVAL : v[1].tensor,
			   v[2].none ? P2O_NOVAL : v[2].tensor, rank);
	return p2o_set_result(cx, n, y);
}

/* aten::_weight_norm(v, g, dim=0) = v * g / ||v||, the norm over every dim
 * but dim (over all of v when dim is -1). */
P2O_HANDLER(weight_norm)
{
	p2o_arg a[3];
	int rc = p2o_args(cx, n, "v:t g:t dim:i", a);
	if (rc)
		return rc;
	uint32_t v = a[0].tensor;
	if ((rc = norm_input(cx, v, 1)))
		return rc;
	int rank = p2o_t(cx, v)->rank, dt = p2o_t(cx, v)->dtype;
	int64_t axes[P2O_MAX_RANK];
	size_t k = 0;
	if (a[2].i != -1) {
		int64_t d;
		if ((rc = p2o_norm_dim(cx, a[2].i, rank, &d)))
			return rc;
		for (int i = 0; i < rank; i++)
			if (i != d)
				axes[k++] = i;
	}
	uint32_t norm = k || a[2].i == -1 ?
			p2o_reduce(cx, "ReduceL2", v, axes, k, true) :
			p2o_op1(cx, "Abs", v);
	uint32_t scale = p2o_op2(cx, "Div", p2o_cast(cx, a[1].tensor, dt), norm);
	return p2o_set_result(cx, n, p2o_op2(cx, "Mul", v, scale));
}
