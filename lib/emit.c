/* emit.c — opset-aware emit helpers, so that handlers never branch on opset
 * for plumbing (where axes go, how Clip takes its bounds), and small
 * constants made once. */
#include <math.h>
#include <string.h>

#include "internal.h"

/* ---- small constants ---------------------------------------------------------- */

#define KCACHE_MAX_BYTES 256 /* larger constants are not worth hashing */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* Shared with knobs.c's initializer deduplication. */
/* Hashes dtype, dims and data; of a large tensor's data, a fixed sample
 * (both ends and 64 slices between): equal tensors still hash alike, and
 * p2o_tensor_eq settles the rest, but hashing every weight of a model
 * (initializer dedup) no longer reads all its bytes: 12% of resnet50's
 * conversion went to that. */
uint64_t p2o_tensor_hash(const p2o_tensor *t)
{
	enum { WHOLE = 4096, END = 1024, SLICES = 64, SLICE = 16 };
	uint64_t h = 1469598103934665603ull;
	h = hash_bytes(h, &t->dtype, sizeof t->dtype);
	h = hash_bytes(h, &t->rank, sizeof t->rank);
	h = hash_bytes(h, t->dims, sizeof *t->dims * (size_t)t->rank);
	h = hash_bytes(h, &t->nbytes, sizeof t->nbytes);
	if (t->nbytes <= WHOLE)
		return hash_bytes(h, t->data, t->nbytes);
	const unsigned char *d = t->data;
	h = hash_bytes(h, d, END);
	h = hash_bytes(h, d + t->nbytes - END, END);
	uint64_t span = (uint64_t)t->nbytes - 2 * END - SLICE;
	for (uint64_t i = 0; i < SLICES; i++)
		h = hash_bytes(h, d + END + span * i / (SLICES - 1), SLICE);
	return h;
}

bool p2o_tensor_eq(const p2o_tensor *a, const p2o_tensor *b)
{
	return a->dtype == b->dtype && a->rank == b->rank &&
	       a->nbytes == b->nbytes &&
	       memcmp(a->dims, b->dims, sizeof *a->dims * (size_t)a->rank) == 0 &&
	       (a->data == b->data || memcmp(a->data, b->data, a->nbytes) == 0);
}

/* An initializer for t, reusing an equal small one made before. t and its
 * arrays must be arena-owned. */
static uint32_t small_const(p2o_cx *cx, const p2o_tensor *t)
{
	if (t->nbytes > KCACHE_MAX_BYTES)
		return p2o_initializer(cx, t, NULL);
	if ((cx->kcache_used + 1) * 2 > cx->kcache_cap) {
		uint32_t old = cx->kcache_cap, ncap = old ? old * 2 : 64;
		uint32_t *nt = p2o_alloc(cx, sizeof *nt * ncap);
		memset(nt, 0xff, sizeof *nt * ncap);
		for (uint32_t i = 0; i < old; i++) {
			uint32_t id = cx->kcache[i];
			if (id == P2O_NOVAL)
				continue;
			uint32_t j = (uint32_t)(p2o_tensor_hash(p2o_v(cx, id)->init) &
						(ncap - 1));
			while (nt[j] != P2O_NOVAL)
				j = (j + 1) & (ncap - 1);
			nt[j] = id;
		}
		cx->kcache = nt;
		cx->kcache_cap = ncap;
	}
	uint32_t mask = cx->kcache_cap - 1;
	uint32_t j = (uint32_t)(p2o_tensor_hash(t) & mask);
	while (cx->kcache[j] != P2O_NOVAL) {
		if (p2o_tensor_eq(p2o_v(cx, cx->kcache[j])->init, t))
			return cx->kcache[j];
		j = (j + 1) & mask;
	}
	uint32_t id = p2o_initializer(cx, t, NULL);
	cx->kcache[j] = id;
	cx->kcache_used++;
	return id;
}

static p2o_tensor *new_tensor(p2o_cx *cx, int dtype, const int64_t *dims,
			      int rank)
{
	p2o_tensor *t = p2o_alloc(cx, sizeof *t);
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= dims[i];
	t->dtype = dtype;
	t->rank = rank;
	t->dims = p2o_memdup(cx, dims, sizeof *dims * (size_t)rank);
	t->nbytes = (size_t)n * p2o_dtype_size(dtype);
	t->data = p2o_alloc(cx, t->nbytes);
	return t;
}

uint32_t p2o_const_i64s(p2o_cx *cx, const int64_t *v, size_t n)
{
	int64_t dims[1] = { (int64_t)n };
	p2o_tensor *t = new_tensor(cx, P2O_INT64, dims, 1);
	memcpy((void *)t->data, v, n * sizeof *v);
	return small_const(cx, t);
}

static uint16_t f32_to_f16(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	uint32_t sign = (x >> 16) & 0x8000;
	int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
	uint32_t man = x & 0x7fffff;
	if (((x >> 23) & 0xff) == 0xff) /* inf, nan */
		return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
	if (exp >= 31)
		return (uint16_t)(sign | 0x7c00);
	if (exp <= 0) {
		if (exp < -10)
			return (uint16_t)sign;
		man |= 0x800000;
		uint32_t shift = (uint32_t)(14 - exp);
		uint32_t h = man >> shift;
		uint32_t rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (h & 1)))
			h++;
		return (uint16_t)(sign | h);
	}
	uint32_t h = sign | ((uint32_t)exp << 10) | (man >> 13);
	uint32_t rem = man & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++;
	return (uint16_t)h;
}

static uint16_t f32_to_bf16(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((x >> 16) | 0x40);
	x += 0x7fff + ((x >> 16) & 1); /* round to nearest even */
	return (uint16_t)(x >> 16);
}

/* Stores v as element i of data in dtype. */
static void store(void *data, size_t i, int dtype, double v)
{
	switch (dtype) {
	case P2O_FLOAT: ((float *)data)[i] = (float)v; break;
	case P2O_DOUBLE: ((double *)data)[i] = v; break;
	case P2O_FLOAT16: ((uint16_t *)data)[i] = f32_to_f16((float)v); break;
	case P2O_BFLOAT16: ((uint16_t *)data)[i] = f32_to_bf16((float)v); break;
	case P2O_INT64: ((int64_t *)data)[i] = (int64_t)v; break;
	case P2O_INT32: ((int32_t *)data)[i] = (int32_t)v; break;
	case P2O_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
	case P2O_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
	case P2O_UINT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
	case P2O_BOOL: ((uint8_t *)data)[i] = v != 0; break;
	default: assert(!"dtype without storage"); break;
	}
}

uint32_t p2o_const_scalar(p2o_cx *cx, int dtype, double v)
{
	p2o_tensor *t = new_tensor(cx, dtype, NULL, 0);
	store((void *)t->data, 0, dtype, v);
	return small_const(cx, t);
}

uint32_t p2o_const_filled(p2o_cx *cx, int dtype, const int64_t *dims,
			  int rank, double v)
{
	p2o_tensor *t = new_tensor(cx, dtype, dims, rank);
	size_t n = t->nbytes / p2o_dtype_size(dtype);
	for (size_t i = 0; i < n; i++)
		store((void *)t->data, i, dtype, v);
	return small_const(cx, t);
}

/* ---- opset-aware ops --------------------------------------------------------------- */

uint32_t p2o_cast(p2o_cx *cx, uint32_t x, int dtype)
{
	if (x == P2O_NOVAL || p2o_t(cx, x)->dtype == dtype)
		return x;
	uint32_t nd = p2o_node_new(cx, "Cast", 1, &x, 1);
	p2o_attr_int(cx, nd, "to", dtype);
	return p2o_node_done(cx, nd);
}

/* Squeeze/Unsqueeze: axes an attribute up to version 11, an input from
 * version 13 on. */
static uint32_t axes_op(p2o_cx *cx, const char *op, uint32_t x,
			const int64_t *axes, size_t n)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	if (p2o_onnx_version(cx, op) >= 13) {
		uint32_t in[2] = { x, n ? p2o_const_i64s(cx, axes, n) : P2O_NOVAL };
		return p2o_node_done(cx, p2o_node_new(cx, op, n ? 2 : 1, in, 1));
	}
	uint32_t nd = p2o_node_new(cx, op, 1, &x, 1);
	if (n)
		p2o_attr_ints(cx, nd, "axes", axes, n);
	return p2o_node_done(cx, nd);
}

uint32_t p2o_unsqueeze(p2o_cx *cx, uint32_t x, const int64_t *axes, size_t n)
{
	return axes_op(cx, "Unsqueeze", x, axes, n);
}

uint32_t p2o_squeeze(p2o_cx *cx, uint32_t x, const int64_t *axes, size_t n)
{
	return axes_op(cx, "Squeeze", x, axes, n);
}

uint32_t p2o_reduce(p2o_cx *cx, const char *op, uint32_t x,
		    const int64_t *axes, size_t n, bool keepdims)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	/* ReduceSum takes axes as an input from its version 13, the other
	 * Reduce* from their version 18. */
	int since = strcmp(op, "ReduceSum") == 0 ? 13 : 18;
	uint32_t nd;
	if (p2o_onnx_version(cx, op) >= since && n) {
		uint32_t in[2] = { x, p2o_const_i64s(cx, axes, n) };
		nd = p2o_node_new(cx, op, 2, in, 1);
	} else {
		nd = p2o_node_new(cx, op, 1, &x, 1);
		if (n)
			p2o_attr_ints(cx, nd, "axes", axes, n);
	}
	p2o_attr_int(cx, nd, "keepdims", keepdims);
	return p2o_node_done(cx, nd);
}

uint32_t p2o_clip(p2o_cx *cx, uint32_t x, const double *lo, const double *hi)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	/* Clip's bounds are attributes before version 11, inputs from it. */
	if (p2o_onnx_version(cx, "Clip") < 11) {
		uint32_t nd = p2o_node_new(cx, "Clip", 1, &x, 1);
		if (lo)
			p2o_attr_float(cx, nd, "min", (float)*lo);
		if (hi)
			p2o_attr_float(cx, nd, "max", (float)*hi);
		return p2o_node_done(cx, nd);
	}
	int dt = p2o_t(cx, x)->dtype;
	uint32_t in[3] = { x, lo ? p2o_const_scalar(cx, dt, *lo) : P2O_NOVAL,
			   hi ? p2o_const_scalar(cx, dt, *hi) : P2O_NOVAL };
	uint32_t n_in = hi ? 3 : lo ? 2 : 1;
	return p2o_node_done(cx, p2o_node_new(cx, "Clip", n_in, in, 1));
}

uint32_t p2o_reshape(p2o_cx *cx, uint32_t x, uint32_t shape)
{
	return p2o_op2(cx, "Reshape", x, shape);
}

uint32_t p2o_reshape_to(p2o_cx *cx, uint32_t x, const int64_t *dims, int n)
{
	return p2o_reshape(cx, x, p2o_const_i64s(cx, dims, (size_t)n));
}

uint32_t p2o_transpose(p2o_cx *cx, uint32_t x, const int64_t *perm, int n)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	uint32_t nd = p2o_node_new(cx, "Transpose", 1, &x, 1);
	p2o_attr_ints(cx, nd, "perm", perm, (size_t)n);
	return p2o_node_done(cx, nd);
}

uint32_t p2o_dim_value(p2o_cx *cx, uint32_t x, int axis)
{
	const p2o_type *t = p2o_t(cx, x);
	assert(axis >= 0 && axis < t->rank);
	if (t->dims[axis].v >= 0)
		return p2o_const_scalar(cx, P2O_INT64, (double)t->dims[axis].v);
	uint32_t shape = p2o_op1(cx, "Shape", x);
	uint32_t idx = p2o_const_scalar(cx, P2O_INT64, axis);
	return p2o_op2(cx, "Gather", shape, idx);
}

uint32_t p2o_dims_value(p2o_cx *cx, uint32_t x, int from, int to)
{
	const p2o_type *t = p2o_t(cx, x);
	assert(from >= 0 && from <= to && to <= t->rank);
	int64_t v[P2O_MAX_RANK];
	bool all = true;
	for (int i = from; i < to; i++) {
		v[i - from] = t->dims[i].v;
		all = all && t->dims[i].v >= 0;
	}
	if (all)
		return p2o_const_i64s(cx, v, (size_t)(to - from));
	if (cx->opset >= 15) {
		/* Shape-15 takes the range itself. */
		uint32_t nd = p2o_node_new(cx, "Shape", 1, &x, 1);
		if (from > 0)
			p2o_attr_int(cx, nd, "start", from);
		if (to < t->rank)
			p2o_attr_int(cx, nd, "end", to);
		return p2o_node_done(cx, nd);
	}
	uint32_t shape = p2o_op1(cx, "Shape", x);
	if (from == 0 && to == t->rank)
		return shape;
	for (int i = from; i < to; i++)
		v[i - from] = i;
	return p2o_op2(cx, "Gather", shape,
		       p2o_const_i64s(cx, v, (size_t)(to - from)));
}

int p2o_need_opset(p2o_cx *cx, int need, const char *what)
{
	if (cx->opset >= need)
		return P2O_OK;
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"%s needs opset %d or later (target is %d)", what, need,
			cx->opset);
}

/* ---- helpers whose ONNX form the operator table decides ------------------------------- */

uint32_t p2o_matmul_bt(p2o_cx *cx, uint32_t x, uint32_t w, uint32_t b)
{
	if (x == P2O_NOVAL || w == P2O_NOVAL)
		return P2O_NOVAL;
	/* Gemm needs a 2-D input; its C input is optional from version 11. */
	if (p2o_t(cx, x)->rank == 2 &&
	    (b != P2O_NOVAL || p2o_onnx_version(cx, "Gemm") >= 11)) {
		uint32_t in[3] = { x, w, b };
		uint32_t nd = p2o_node_new(cx, "Gemm", b != P2O_NOVAL ? 3 : 2,
					   in, 1);
		p2o_attr_int(cx, nd, "transB", 1);
		return p2o_node_done(cx, nd);
	}
	static const int64_t perm[2] = { 1, 0 };
	uint32_t y = p2o_op2(cx, "MatMul", x, p2o_transpose(cx, w, perm, 2));
	return b != P2O_NOVAL ? p2o_op2(cx, "Add", y, b) : y;
}

uint32_t p2o_compare_or_equal(p2o_cx *cx, bool greater, uint32_t x,
			      uint32_t y)
{
	const char *op = greater ? "GreaterOrEqual" : "LessOrEqual";
	if (p2o_onnx_version(cx, op))
		return p2o_op2(cx, op, x, y);
	/* a >= b as not(a < b): equal but for NaN operands. */
	return p2o_op1(cx, "Not", p2o_op2(cx, greater ? "Less" : "Greater",
					  x, y));
}

uint32_t p2o_gelu(p2o_cx *cx, uint32_t x, bool tanh_approx)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	if (p2o_onnx_version(cx, "Gelu")) {
		uint32_t nd = p2o_node_new(cx, "Gelu", 1, &x, 1);
		if (tanh_approx)
			p2o_attr_str(cx, nd, "approximate", "tanh");
		return p2o_node_done(cx, nd);
	}
	/* Before Gelu-20, PyTorch's formulas: x/2 * (1 + erf(x / sqrt 2)), or
	 * x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
	int dt = p2o_t(cx, x)->dtype;
	uint32_t inner;
	if (tanh_approx) {
		uint32_t x3 = p2o_op2(cx, "Mul", x, p2o_op2(cx, "Mul", x, x));
		uint32_t s = p2o_op2(cx, "Add", x, p2o_op2(cx, "Mul", x3,
			p2o_const_scalar(cx, dt, 0.044715)));
		inner = p2o_op1(cx, "Tanh", p2o_op2(cx, "Mul", s,
			p2o_const_scalar(cx, dt, sqrt(2.0 / M_PI))));
	} else {
		inner = p2o_op1(cx, "Erf", p2o_op2(cx, "Mul", x,
			p2o_const_scalar(cx, dt, M_SQRT1_2)));
	}
	uint32_t one_plus = p2o_op2(cx, "Add", inner,
				    p2o_const_scalar(cx, dt, 1.0));
	uint32_t half_x = p2o_op2(cx, "Mul", x, p2o_const_scalar(cx, dt, 0.5));
	return p2o_op2(cx, "Mul", half_x, one_plus);
}

uint32_t p2o_slice(p2o_cx *cx, uint32_t x, const int64_t *starts,
		   const int64_t *ends, const int64_t *axes,
		   const int64_t *steps, size_t n)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	bool stepped = false;
	for (size_t i = 0; i < n; i++)
		stepped |= steps && steps[i] != 1;
	/* Slice takes its bounds as inputs from version 10, which added
	 * steps; version 1 has attributes and no steps. */
	if (p2o_onnx_version(cx, "Slice") >= 10) {
		uint32_t in[5] = { x, p2o_const_i64s(cx, starts, n),
				   p2o_const_i64s(cx, ends, n),
				   p2o_const_i64s(cx, axes, n),
				   stepped ? p2o_const_i64s(cx, steps, n) :
					     P2O_NOVAL };
		return p2o_node_done(cx, p2o_node_new(cx, "Slice",
						      stepped ? 5 : 4, in, 1));
	}
	if (stepped) {
		p2o_need_opset(cx, 10, "slicing with a step other than 1");
		return P2O_NOVAL;
	}
	uint32_t nd = p2o_node_new(cx, "Slice", 1, &x, 1);
	p2o_attr_ints(cx, nd, "starts", starts, n);
	p2o_attr_ints(cx, nd, "ends", ends, n);
	p2o_attr_ints(cx, nd, "axes", axes, n);
	return p2o_node_done(cx, nd);
}

uint32_t p2o_pad(p2o_cx *cx, uint32_t x, const int64_t *pads, int rank,
		 double value)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	/* Pad takes pads and the constant as attributes before version 11,
	 * inputs from it (the value a scalar of x's dtype). */
	if (p2o_onnx_version(cx, "Pad") >= 11) {
		uint32_t in[3] = { x, p2o_const_i64s(cx, pads, 2 * (size_t)rank),
				   value != 0 ? p2o_const_scalar(cx,
						p2o_t(cx, x)->dtype, value) :
						P2O_NOVAL };
		return p2o_node_done(cx, p2o_node_new(cx, "Pad",
						      value != 0 ? 3 : 2, in, 1));
	}
	/* Pad-2 pads floating tensors only. */
	if (!p2o_dtype_is_float(p2o_t(cx, x)->dtype)) {
		p2o_need_opset(cx, 11, "padding a non-floating tensor");
		return P2O_NOVAL;
	}
	uint32_t nd = p2o_node_new(cx, "Pad", 1, &x, 1);
	p2o_attr_ints(cx, nd, "pads", pads, 2 * (size_t)rank);
	if (value != 0)
		p2o_attr_float(cx, nd, "value", (float)value);
	return p2o_node_done(cx, nd);
}

int p2o_split(p2o_cx *cx, uint32_t x, int axis, const int64_t *sizes,
	      size_t n, uint32_t *outs)
{
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	if (n == 1) {
		outs[0] = x;
		return P2O_OK;
	}
	bool even = true;
	for (size_t i = 1; i < n; i++)
		even &= sizes[i] == sizes[0];
	/* Split-18 takes num_outputs (equal parts) instead of sizes; sizes
	 * are an attribute before Split-13 and an input from it. */
	int v = p2o_onnx_version(cx, "Split");
	uint32_t nd;
	if (v >= 18 && even) {
		nd = p2o_node_new(cx, "Split", 1, &x, (uint32_t)n);
		p2o_attr_int(cx, nd, "num_outputs", (int64_t)n);
	} else if (v >= 13) {
		uint32_t in[2] = { x, p2o_const_i64s(cx, sizes, n) };
		nd = p2o_node_new(cx, "Split", 2, in, (uint32_t)n);
	} else {
		nd = p2o_node_new(cx, "Split", 1, &x, (uint32_t)n);
		p2o_attr_ints(cx, nd, "split", sizes, n);
	}
	p2o_attr_int(cx, nd, "axis", axis);
	if (p2o_node_done(cx, nd) == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	const p2o_node *node = p2o_n(cx, nd);
	for (size_t i = 0; i < n; i++)
		outs[i] = node->out[i];
	return P2O_OK;
}

/* ---- emit helpers of the unary family ---- */

uint32_t p2o_narrow_f64(p2o_cx *cx, uint32_t x)
{
	if (x == P2O_NOVAL || p2o_t(cx, x)->dtype != P2O_DOUBLE)
		return x;
	return p2o_cast(cx, x, P2O_FLOAT);
}

/* Both halves of x along axis in one Split: sizes when the length is
 * known, equal parts (no sizes; num_outputs from Split-18) when it is
 * symbolic. */
int p2o_split_halves(p2o_cx *cx, uint32_t x, int axis, uint32_t *outs)
{
	int64_t d = p2o_t(cx, x)->dims[axis].v;
	if (d >= 0) {
		int64_t sizes[2] = { d / 2, d / 2 };
		return p2o_split(cx, x, axis, sizes, 2, outs);
	}
	uint32_t nd = p2o_node_new(cx, "Split", 1, &x, 2);
	if (p2o_onnx_version(cx, "Split") >= 18)
		p2o_attr_int(cx, nd, "num_outputs", 2);
	p2o_attr_int(cx, nd, "axis", axis);
	if (p2o_node_done(cx, nd) == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	outs[0] = p2o_n(cx, nd)->out[0];
	outs[1] = p2o_n(cx, nd)->out[1];
	return P2O_OK;
}

/* ---- emit helpers of the binary family ---- */

uint32_t p2o_select(p2o_cx *cx, uint32_t cond, uint32_t a, uint32_t b)
{
	if (cond == P2O_NOVAL || a == P2O_NOVAL || b == P2O_NOVAL)
		return P2O_NOVAL;
	/* ONNX Runtime has no Where kernel for int8, int16, bool and the
	 * 16-bit floats: select them as int32, uint8 or float (exact both
	 * ways). */
	int dt = p2o_t(cx, a)->dtype;
	int wide = dt == P2O_INT8 || dt == P2O_INT16 ? P2O_INT32 :
		   dt == P2O_BOOL ? P2O_UINT8 :
		   dt == P2O_FLOAT16 || dt == P2O_BFLOAT16 ? P2O_FLOAT : 0;
	if (wide)
		return p2o_cast(cx, p2o_select(cx, cond, p2o_cast(cx, a, wide),
					       p2o_cast(cx, b, wide)), dt);
	uint32_t in[3] = { cond, a, b };
	return p2o_node_done(cx, p2o_node_new(cx, "Where", 3, in, 1));
}

uint32_t p2o_mod(p2o_cx *cx, uint32_t a, uint32_t b, bool fmod)
{
	uint32_t in[2] = { a, b };
	uint32_t nd = p2o_node_new(cx, "Mod", 2, in, 1);
	p2o_attr_int(cx, nd, "fmod", fmod);
	return p2o_node_done(cx, nd);
}

/* ---- emit helpers of the shape family ---- */

uint32_t p2o_dims_around(p2o_cx *cx, uint32_t x, int from, int to,
			 uint32_t mid)
{
	if (x == P2O_NOVAL || mid == P2O_NOVAL)
		return P2O_NOVAL;
	int r = p2o_t(cx, x)->rank;
	uint32_t parts[3], np = 0;
	if (from > 0)
		parts[np++] = p2o_dims_value(cx, x, 0, from);
	parts[np++] = mid;
	if (to < r)
		parts[np++] = p2o_dims_value(cx, x, to, r);
	if (np == 1)
		return mid;
	uint32_t nd = p2o_node_new(cx, "Concat", np, parts, 1);
	p2o_attr_int(cx, nd, "axis", 0);
	return p2o_node_done(cx, nd);
}

int64_t p2o_int_items(p2o_cx *cx, uint32_t v, uint32_t *items, size_t max)
{
	const p2o_type *t = p2o_t(cx, v);
	if (t->dtype != P2O_INT64 || t->rank != 1 || t->dims[0].v < 0 ||
	    (size_t)t->dims[0].v > max)
		return -1;
	int64_t cnt = t->dims[0].v;
	const p2o_val *val = p2o_v(cx, v);
	for (int64_t j = 0; j < cnt; j++) {
		int64_t k = -1;
		if (val->n_known == cnt && val->known[j].v >= 0)
			k = val->known[j].v;
		else if (val->init)
			memcpy(&k, (const char *)val->init->data + 8 * j, 8);
		bool known = (val->n_known == cnt && val->known[j].v >= 0) ||
			     val->init;
		uint32_t id = p2o_tv_new(cx);
		p2o_tv *it = &P2O_TV(cx, id);
		if (known) {
			pts_const *c = p2o_new_const(cx, PTS_C_INT);
			c->i = k;
			it->kind = P2O_TV_CONST;
			it->k = c;
			it->onnx = P2O_NOVAL;
		} else {
			uint32_t y = p2o_op2(cx, "Gather", v,
					     p2o_const_scalar(cx, P2O_INT64, j));
			if (y == P2O_NOVAL)
				return -1;
			it = &P2O_TV(cx, id);
			it->kind = P2O_TV_TENSOR;
			it->onnx = y;
			it->scalar = true;
		}
		items[j] = id;
		val = p2o_v(cx, v);
	}
	return cnt;
}

/* ---- emit helpers of the index family ---- */

int p2o_index_dim(p2o_cx *cx, uint32_t x, int64_t dim, const char *what,
		  int64_t *d)
{
	int rank = p2o_t(cx, x)->rank;
	if (rank <= 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s a 0-dim or "
				"unknown-rank tensor", what);
	return p2o_norm_dim(cx, dim, rank, d);
}

uint32_t p2o_index_norm(p2o_cx *cx, uint32_t idx, uint32_t x, int axis)
{
	if (idx == P2O_NOVAL)
		return P2O_NOVAL;
	idx = p2o_cast(cx, idx, P2O_INT64);
	/* idx + (idx < 0) * size: no Where, so it holds from opset 7. */
	/* Less takes integers from Less-9; before, compare in double,
	 * which holds every index a tensor can have exactly. */
	int cdt = p2o_onnx_version(cx, "Less") >= 9 ? P2O_INT64 : P2O_DOUBLE;
	uint32_t zero = p2o_const_scalar(cx, cdt, 0);
	uint32_t neg = p2o_cast(cx, p2o_op2(cx, "Less", p2o_cast(cx, idx, cdt),
					    zero), P2O_INT64);
	uint32_t add = p2o_op2(cx, "Mul", neg, p2o_dim_value(cx, x, axis));
	return p2o_op2(cx, "Add", idx, add);
}

int p2o_topk(p2o_cx *cx, uint32_t x, int axis, uint32_t k, int64_t kconst,
	     bool largest, uint32_t *values, uint32_t *indices)
{
	int ver = p2o_onnx_version(cx, "TopK"), rc;
	*values = *indices = P2O_NOVAL;
	if (!largest && (rc = p2o_need_opset(cx, 11, "smallest-first TopK")))
		return rc;
	if (ver < 10 && kconst < 0)
		return p2o_need_opset(cx, 10, "TopK with a k known at run time");
	if (x == P2O_NOVAL || k == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	int dt = p2o_t(cx, x)->dtype, wdt = dt;
	/* ONNX Runtime's TopK takes float, double, int32 and int64: others
	 * go through a type that holds every value exactly. */
	if (dt == P2O_FLOAT16 || dt == P2O_BFLOAT16)
		wdt = P2O_FLOAT;
	else if (dt != P2O_FLOAT && dt != P2O_DOUBLE && dt != P2O_INT32)
		wdt = P2O_INT64;
	/* TopK takes integers from TopK-11; before, narrow ones go through
	 * double exactly, int64 ones would not. */
	if (ver < 11 && wdt == P2O_INT64 &&
	    (rc = p2o_need_opset(cx, 11, "TopK of int64 values")))
		return rc;
	if (ver < 11 && wdt == P2O_INT32)
		wdt = P2O_DOUBLE;
	uint32_t in[2] = { p2o_cast(cx, x, wdt), k };
	uint32_t nd = p2o_node_new(cx, "TopK", ver >= 10 ? 2 : 1, in, 2);
	p2o_attr_int(cx, nd, "axis", axis);
	if (ver < 10)
		p2o_attr_int(cx, nd, "k", kconst);
	if (ver >= 11) {
		p2o_attr_int(cx, nd, "largest", largest);
		p2o_attr_int(cx, nd, "sorted", 1);
	}
	if (p2o_node_done(cx, nd) == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	*values = p2o_cast(cx, p2o_n(cx, nd)->out[0], dt);
	*indices = p2o_n(cx, nd)->out[1];
	return *values == P2O_NOVAL ? P2O_ERR_CONVERT : P2O_OK;
}

uint32_t p2o_scatter_elements(p2o_cx *cx, uint32_t data, uint32_t idx,
			      uint32_t upd, int axis, const char *reduction)
{
	if (data == P2O_NOVAL || idx == P2O_NOVAL || upd == P2O_NOVAL)
		return P2O_NOVAL;
	int need = !reduction ? 0 :
		   (strcmp(reduction, "max") == 0 ||
		    strcmp(reduction, "min") == 0) ? 18 : 16;
	if (need && p2o_need_opset(cx, need,
				   p2o_fmt(cx, "scatter with reduction '%s'",
					   reduction)))
		return P2O_NOVAL;
	/* Scatter-9 is ScatterElements-11 under its old name. */
	const char *op = p2o_onnx_version(cx, "ScatterElements") ?
				 "ScatterElements" : "Scatter";
	uint32_t in[3] = { data, p2o_cast(cx, idx, P2O_INT64), upd };
	uint32_t nd = p2o_node_new(cx, op, 3, in, 1);
	p2o_attr_int(cx, nd, "axis", axis);
	if (reduction)
		p2o_attr_str(cx, nd, "reduction", reduction);
	return p2o_node_done(cx, nd);
}

/* ---- emit helpers of the spatial family ---- */

uint32_t p2o_concat(p2o_cx *cx, const uint32_t *vals, uint32_t n, int axis)
{
	for (uint32_t i = 0; i < n; i++)
		if (vals[i] == P2O_NOVAL)
			return P2O_NOVAL;
	if (n == 1)
		return vals[0];
	uint32_t nd = p2o_node_new(cx, "Concat", n, vals, 1);
	p2o_attr_int(cx, nd, "axis", axis);
	return p2o_node_done(cx, nd);
}

uint32_t p2o_pad_mode(p2o_cx *cx, uint32_t x, const int64_t *pads, int rank,
		      const char *mode)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	/* Pad-2 has edge and reflect too, with pads as an attribute, but
	 * only for floating tensors; Pad-11 takes pads as an input. */
	if (p2o_onnx_version(cx, "Pad") >= 11) {
		uint32_t in[2] = { x, p2o_const_i64s(cx, pads,
						     2 * (size_t)rank) };
		uint32_t nd = p2o_node_new(cx, "Pad", 2, in, 1);
		p2o_attr_str(cx, nd, "mode", mode);
		return p2o_node_done(cx, nd);
	}
	if (!p2o_dtype_is_float(p2o_t(cx, x)->dtype)) {
		p2o_need_opset(cx, 11, "padding a non-floating tensor");
		return P2O_NOVAL;
	}
	uint32_t nd = p2o_node_new(cx, "Pad", 1, &x, 1);
	p2o_attr_ints(cx, nd, "pads", pads, 2 * (size_t)rank);
	p2o_attr_str(cx, nd, "mode", mode);
	return p2o_node_done(cx, nd);
}

/* A 1-D float32 constant. */
static uint32_t const_floats(p2o_cx *cx, const double *v, size_t n)
{
	int64_t dim = (int64_t)n;
	return p2o_const_data(cx, P2O_FLOAT, &dim, 1, v);
}

uint32_t p2o_resize(p2o_cx *cx, uint32_t x, const p2o_resize_how *how)
{
	if (x == P2O_NOVAL)
		return P2O_NOVAL;
	const p2o_type *t = p2o_t(cx, x);
	int r = t->rank, sp = r - 2;
	assert(sp >= 1 && sp <= 3);
	double sc[P2O_MAX_RANK] = { 1, 1 };
	bool have_scales = how->scales != NULL;
	for (int i = 0; have_scales && i < sp; i++)
		sc[2 + i] = how->scales[i];
	int ver = p2o_onnx_version(cx, "Resize");
	if (ver >= 11) {
		/* Resize-11 wants roi and scales present (empty when unused);
		 * from 13 both may be omitted. */
		uint32_t empty = ver < 13 ? p2o_const_filled(cx, P2O_FLOAT,
							     (int64_t[]){ 0 }, 1,
							     0) :
					    P2O_NOVAL;
		uint32_t in[4] = { x, empty,
				   have_scales ? const_floats(cx, sc, (size_t)r) :
						 empty,
				   have_scales ? P2O_NOVAL : how->sizes };
		uint32_t nd = p2o_node_new(cx, "Resize", have_scales ? 3 : 4,
					   in, 1);
		p2o_attr_str(cx, nd, "mode", how->mode);
		p2o_attr_str(cx, nd, "coordinate_transformation_mode",
			     how->coord);
		if (strcmp(how->mode, "nearest") == 0)
			p2o_attr_str(cx, nd, "nearest_mode", how->nearest);
		if (strcmp(how->mode, "cubic") == 0)
			p2o_attr_float(cx, nd, "cubic_coeff_a", -0.75f);
		return p2o_node_done(cx, nd);
	}
	/* Resize-10 and Upsample map output to input coordinates by
	 * x / scale and pick a nearest pixel by truncation when enlarging
	 * (rounding up when shrinking): PyTorch's nearest enlarging, no
	 * more. */
	if (strcmp(how->mode, "nearest") || strcmp(how->coord, "asymmetric") ||
	    strcmp(how->nearest, "floor")) {
		p2o_need_opset(cx, 11, p2o_fmt(cx, "%s resizing with %s "
					       "coordinates", how->mode,
					       how->coord));
		return P2O_NOVAL;
	}
	for (int i = 0; i < sp; i++) {
		if (have_scales)
			continue;
		/* A size that is a whole multiple of a known input size is
		 * the scale out/in, exactly. */
		int64_t in = t->dims[2 + i].v,
			out = how->out ? how->out[i] : -1;
		if (in <= 0 || out < in || out % in) {
			p2o_need_opset(cx, 11, "resizing to a size that is not "
					       "a whole multiple of a known "
					       "input size");
			return P2O_NOVAL;
		}
		sc[2 + i] = (double)(out / in);
	}
	for (int i = 0; i < sp; i++)
		if (sc[2 + i] < 1) {
			p2o_need_opset(cx, 11, "nearest downsampling");
			return P2O_NOVAL;
		}
	const char *op = ver ? "Resize" : "Upsample";
	if (ver || p2o_onnx_version(cx, "Upsample") >= 9) {
		uint32_t in[2] = { x, const_floats(cx, sc, (size_t)r) };
		uint32_t nd = p2o_node_new(cx, op, 2, in, 1);
		p2o_attr_str(cx, nd, "mode", "nearest");
		return p2o_node_done(cx, nd);
	}
	float f[P2O_MAX_RANK];
	for (int i = 0; i < r; i++)
		f[i] = (float)sc[i];
	uint32_t nd = p2o_node_new(cx, "Upsample", 1, &x, 1);
	p2o_attr_str(cx, nd, "mode", "nearest");
	p2o_attr_floats(cx, nd, "scales", f, (size_t)r);
	return p2o_node_done(cx, nd);
}

uint32_t p2o_grid_sample(p2o_cx *cx, uint32_t x, uint32_t grid,
			 int interp, int padding, bool align_corners)
{
	static const char *const pads[3] = { "zeros", "border", "reflection" };
	/* GridSample-20 renamed bilinear and bicubic. */
	bool v20 = p2o_onnx_version(cx, "GridSample") >= 20;
	static const char *const modes16[3] = { "bilinear", "nearest",
						"bicubic" },
				 *const modes20[3] = { "linear", "nearest",
						       "cubic" };
	assert(interp >= 0 && interp < 3 && padding >= 0 && padding < 3);
	uint32_t in[2] = { x, grid };
	uint32_t nd = p2o_node_new(cx, "GridSample", 2, in, 1);
	p2o_attr_str(cx, nd, "mode", (v20 ? modes20 : modes16)[interp]);
	p2o_attr_str(cx, nd, "padding_mode", pads[padding]);
	p2o_attr_int(cx, nd, "align_corners", align_corners);
	return p2o_node_done(cx, nd);
}

uint32_t p2o_const_data(p2o_cx *cx, int dtype, const int64_t *dims, int rank,
			const double *v)
{
	p2o_tensor *t = new_tensor(cx, dtype, dims, rank);
	size_t n = t->nbytes / p2o_dtype_size(dtype);
	for (size_t i = 0; i < n; i++)
		store((void *)t->data, i, dtype, v[i]);
	return small_const(cx, t);
}

/* ---- emit helpers of the v2 family ---- */

/* ---- emit helpers of the create family ---- */

/* The contents of a 1-D int64 value when every entry is a known number
 * (a constant, or a Shape of static dims): up to max entries into v. */
static bool known_sizes(p2o_cx *cx, uint32_t shape, int64_t *v, size_t max,
			size_t *n)
{
	const p2o_val *s = p2o_v(cx, shape);
	if (s->init && s->init->dtype == P2O_INT64 && s->init->rank == 1 &&
	    s->init->nbytes / 8 <= max) {
		*n = s->init->nbytes / 8;
		memcpy(v, s->init->data, s->init->nbytes);
		return true;
	}
	if (s->n_known < 0 || (size_t)s->n_known > max)
		return false;
	for (int32_t i = 0; i < s->n_known; i++)
		if ((v[i] = s->known[i].v) < 0)
			return false;
	*n = (size_t)s->n_known;
	return true;
}

uint32_t p2o_constant_of_shape(p2o_cx *cx, uint32_t shape, int dtype, double v)
{
	if (shape == P2O_NOVAL)
		return P2O_NOVAL;
	int cv = p2o_onnx_version(cx, "ConstantOfShape");
	if (cv) {
		/* bfloat16 values from ConstantOfShape-20; before, a Cast of
		 * the float one (Cast knows bfloat16 from 13). */
		int vt = dtype == P2O_BFLOAT16 && cv < 20 ? P2O_FLOAT : dtype;
		if (vt != dtype && p2o_need_opset(cx, 13, "a bfloat16 tensor"))
			return P2O_NOVAL;
		int64_t one = 1;
		p2o_tensor *t = new_tensor(cx, vt, &one, 1);
		store((void *)t->data, 0, vt, v);
		uint32_t nd = p2o_node_new(cx, "ConstantOfShape", 1, &shape, 1);
		p2o_attr_tensor(cx, nd, "value", t);
		return p2o_cast(cx, p2o_node_done(cx, nd), dtype);
	}
	/* Before ConstantOfShape only a size known now can be filled: an
	 * initializer. */
	int64_t dims[P2O_MAX_RANK];
	size_t n;
	if (!known_sizes(cx, shape, dims, P2O_MAX_RANK, &n)) {
		p2o_need_opset(cx, 9, "a tensor of a size computed at run time");
		return P2O_NOVAL;
	}
	return p2o_const_filled(cx, dtype, dims, (int)n, v);
}

uint32_t p2o_filled_with(p2o_cx *cx, uint32_t shape, int dtype, uint32_t x)
{
	if (shape == P2O_NOVAL || x == P2O_NOVAL)
		return P2O_NOVAL;
	x = p2o_cast(cx, x, dtype);
	if (p2o_t(cx, x)->rank != 0)
		x = p2o_reshape_to(cx, x, NULL, 0);
	/* Where(true of the shape, x, x) broadcasts x to the shape exactly,
	 * and unlike Expand its result type keeps the shape's known and
	 * symbolic dims. */
	uint32_t in[3] = { p2o_constant_of_shape(cx, shape, P2O_BOOL, 1), x, x };
	if (in[0] == P2O_NOVAL)
		return P2O_NOVAL;
	if (!p2o_onnx_version(cx, "Where")) {
		p2o_need_opset(cx, 9, "filling with a value computed at run time");
		return P2O_NOVAL;
	}
	return p2o_node_done(cx, p2o_node_new(cx, "Where", 3, in, 1));
}

uint32_t p2o_random(p2o_cx *cx, bool normal, uint32_t shape, uint32_t like,
		    int dtype, double a, double b)
{
	const char *op = normal ? "RandomNormal" : "RandomUniform";
	const char *op_like = normal ? "RandomNormalLike" : "RandomUniformLike";
	/* float16 ones are drawn in float32 and cast: ONNX Runtime has no
	 * float16 kernels for these ops. */
	int gen = dtype == P2O_FLOAT16 ? P2O_FLOAT : dtype;
	uint32_t nd;
	int64_t dims[P2O_MAX_RANK];
	size_t n;
	if (like == P2O_NOVAL && shape != P2O_NOVAL &&
	    known_sizes(cx, shape, dims, P2O_MAX_RANK, &n)) {
		nd = p2o_node_new(cx, op, 0, NULL, 1);
		p2o_attr_ints(cx, nd, "shape", dims, n);
	} else {
		/* A run-time shape: the Like form, over a tensor of that
		 * shape. */
		if (like == P2O_NOVAL)
			like = p2o_constant_of_shape(cx, shape, gen, 0);
		if (like == P2O_NOVAL)
			return P2O_NOVAL;
		nd = p2o_node_new(cx, op_like, 1, &like, 1);
	}
	p2o_attr_int(cx, nd, "dtype", gen);
	p2o_attr_float(cx, nd, normal ? "mean" : "low", (float)a);
	p2o_attr_float(cx, nd, normal ? "scale" : "high", (float)b);
	return p2o_cast(cx, p2o_node_done(cx, nd), dtype);
}

uint32_t p2o_const_values(p2o_cx *cx, int dtype, const int64_t *dims,
			  int rank, const double *v)
{
	p2o_tensor *t = new_tensor(cx, dtype, dims, rank);
	size_t n = t->nbytes / p2o_dtype_size(dtype);
	for (size_t i = 0; i < n; i++)
		store((void *)t->data, i, dtype, v[i]);
	return small_const(cx, t);
}

/* ---- emit helpers of the reduce family ---- */

int p2o_wide_dtype(int dtype)
{
	switch (dtype) {
	case P2O_FLOAT16:
	case P2O_BFLOAT16:
		return P2O_FLOAT;
	case P2O_BOOL:
	case P2O_INT8:
	case P2O_INT16:
	case P2O_UINT8:
		return P2O_INT32;
	default:
		return dtype;
	}
}

