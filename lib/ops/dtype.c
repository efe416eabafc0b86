/* dtype.c — element type conversions: aten::to in all its overloads,
 * aten::type_as, and prim::dtype (which scripted `x.to(y.dtype)` reads).
 * Devices, memory formats, copy and non_blocking mean nothing in ONNX and
 * are ignored; what remains is one Cast, or nothing when the type is the
 * same. */
#include <string.h>

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
	p2o_arg v[5];
	int rc = p2o_args(cx, n, "self:t dtype:dtype? other:t? layout:i? copy:b?",
			  v);
	if (rc)
		return rc;
	/* libtorch 1.13 runs to.prim_other(self, non_blocking, copy=True) as
	 * a cast to uint8 (x.to(False, True) returns uint8), not as the copy
	 * its schema says: refused rather than guessed at. */
	if (p2o_overload_is(n, "prim_other") && !v[4].none && v[4].b)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"to(non_blocking, copy=True) without a dtype: "
				"libtorch computes a uint8 cast here, not a copy");
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

/* aten::_cast_Byte(self, non_blocking=False) and its siblings (libtorch
 * 1.13 has these eight): the dtype is in the op's name. */
P2O_HANDLER(cast_named)
{
	static const struct { const char *suffix; int dtype; } names[] = {
		{ "Byte", P2O_UINT8 },   { "Char", P2O_INT8 },
		{ "Double", P2O_DOUBLE }, { "Float", P2O_FLOAT },
		{ "Half", P2O_FLOAT16 }, { "Int", P2O_INT32 },
		{ "Long", P2O_INT64 },   { "Short", P2O_INT16 },
	};
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	const char *s = strstr(n->kind, "_cast_");
	s = s ? s + 6 : "";
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(s, names[i].suffix) == 0)
			return cast_to(cx, n, v.tensor, names[i].dtype);
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"casting to %s, which has no ONNX equivalent", s);
}

/* aten::is_floating_point(self) -> bool: known from the dtype. */
P2O_HANDLER(is_floating_point)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	int dt = p2o_t(cx, v.tensor)->dtype;
	if (!dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"the dtype of a tensor whose type is not known");
	return p2o_set_bool(cx, n, 0, p2o_dtype_is_float(dt));
}

/* aten::item(self) -> Scalar: the one element, a 0-D value of self's
 * dtype (a number known now when self is a constant). */
P2O_HANDLER(item)
{
	p2o_arg v;
	int rc = p2o_args(cx, n, "self:t", &v);
	if (rc)
		return rc;
	const p2o_type *t = p2o_t(cx, v.tensor);
	int64_t ne = p2o_numel(t);
	if (t->rank < 0 || (ne >= 0 && ne != 1))
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"item() of a tensor that may not have one "
				"element");
	uint32_t x = v.tensor;
	if (t->rank != 0)
		x = p2o_reshape_to(cx, x, NULL, 0);
	return p2o_set_result(cx, n, x);
}

/* prim::device(a) -> Device: every tensor of an exported model is on the
 * one ONNX device; "cpu" for what reads it (to(device), zeros(device=)). */
P2O_HANDLER(device)
{
	pts_const *c = p2o_new_const(cx, PTS_C_DEVICE);
	c->s = "cpu";
	p2o_set_const(cx, n, 0, c);
	return P2O_OK;
}

/* prim::layout(a) -> Layout: strided (0), the only one ONNX has. */
P2O_HANDLER(layout)
{
	return p2o_set_int(cx, n, 0, 0);
}

/* aten::is_pinned(self, device=None) -> bool: no memory is pinned in an
 * ONNX graph. */
P2O_HANDLER(is_pinned)
{
	return p2o_set_bool(cx, n, 0, false);
}
