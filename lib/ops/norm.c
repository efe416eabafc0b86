/* norm.c — normalization: aten::batch_norm in eval mode (running
 * statistics) becomes BatchNormalization. */
#include "../internal.h"

/* aten::batch_norm(input, weight, bias, running_mean, running_var,
 *   training, momentum, eps, cudnn_enabled) */
P2O_HANDLER(batch_norm)
{
	p2o_arg v[8];
	int rc = p2o_args(cx, n, "training:b eps:f input:t weight:t? bias:t? "
				 "running_mean:t? running_var:t?", v);
	if (rc)
		return rc;
	double eps = v[1].f;
	if (v[0].b)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"batch_norm in training mode (the model is "
				"exported in eval mode; call .eval() before "
				"torch.jit.save)");
	if (v[5].none || v[6].none)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"batch_norm without running statistics "
				"(track_running_stats=False)");
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
	uint32_t nd = p2o_node_new(cx, "BatchNormalization", 5, in, 1);
	p2o_attr_float(cx, nd, "epsilon", (float)eps);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}
