/* dtype.c — element type conversions: aten::to in all its overloads,
 * aten::type_as, and prim::dtype (which scripted `x.to(y.dtype)` reads).
 * Devices, memory formats, copy and non_blocking mean nothing in ONNX and
 * are ignored; what remains is one Cast, or nothing when the type is the
 * same. */
#include "../internal.h"

/* Casts x to dt; bfloat16 needs the opset where Cast learnt it. */
static int cast_to(p2o_cx *cx, const pts_node *n, uint32_t x, int dt)
{
	if (!dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"the target dtype is not known at conversion time");
	int rc;
	if (dt == P2O_BFLOAT16 && p2o_t(cx, x)->dtype != dt &&
	    (rc = p2o_need_opset(cx, 13, "casting to bfloat16")))
		return rc;
	return p2o_set_result(cx, n, p2o_cast(cx, x, dt));
}

/* aten::to: the overloads say the target in different arguments, at
 * different positions:
 *   to.dtype(self, dtype, non_blocking, copy, memory_format)
 *   to.device(self, device, dtype, ...)
 *   to.other(self, other, ...)                 other's dtype
 *   to.dtype_layout(self, *, dtype=None, layout=None, device=None, ...)
 *   to.prim_dtype(self, dtype=None, ...), to.prim_Device(self, device,
 *   dtype=None, ...), to.prim_other(self, ...)  None: the same dtype */
P2O_HANDLER(to)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:t dtype:dtype? other:t? layout:i?", v);
	if (rc)
		return rc;
	/* c10::Layout 0 is strided, the dense layout ONNX tensors have. */
	if (!v[3].none && v[3].i != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"layout %lld (sparse or mkldnn) has no ONNX "
				"equivalent", (long long)v[3].i);
	uint32_t x = v[0].tensor;
	int dt = !v[1].none ? v[1].dtype :
		 !v[2].none ? p2o_t(cx, v[2].tensor)->dtype :
			      p2o_t(cx, x)->dtype;
	return cast_to(cx, n, x, dt);
}

/* aten::type_as(self, other): self in other's dtype. */
P2O_HANDLER(type_as)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t other:t", v);
	return rc ? rc : cast_to(cx, n, v[0].tensor, p2o_t(cx, v[1].tensor)->dtype);
}

/* prim::dtype(a) -> int: the torch ScalarType number of a tensor whose
 * type is known (it always is once input types are given). */
P2O_HANDLER(dtype)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "a:t", &v);
	if (rc)
		return rc;
	int dt = p2o_t(cx, v.tensor)->dtype;
	/* p2o_dtype_from_torch is one-to-one: invert it by search. */
	for (int64_t st = 0; dt && st < 32; st++)
		if (p2o_dtype_from_torch(st) == dt)
			return p2o_set_int(cx, n, 0, st);
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"the dtype of a tensor whose type is not known");
}
