/* create.c — tensors made rather than computed: zeros/ones/full/empty and
 * their _like and new_ forms, fill, arange, linspace, eye, tensor,
 * hann_window, and the random ops (rand, randn, normal, bernoulli,
 * multinomial).
 *
 * Sizes come in as 1-D int64 values (p2o_arg_shape), so a size computed from
 * a symbolic dim stays a run-time value: the result is a ConstantOfShape of
 * it, never a baked size. What is all constants is usually folded by the
 * shim before it reaches us; what reaches us with sizes known only here (a
 * static dim of a declared input) is folded to an initializer below the
 * opset that has the run-time op.
 *
 * dtype, layout, device and pin_memory: the dtype is honoured (PyTorch's
 * default when None: float32, or the value's or self's dtype as each op
 * says), a layout other than strided is refused, device and pin_memory mean
 * nothing in ONNX. */
#include <math.h>
#include <string.h>

#include "../internal.h"

/* The dtype= and layout= options: *dt is the dtype given, or dflt when
 * None (or absent from the overload). */
static int options(p2o_cx *cx, const pts_node *n, int dflt, int *dt)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "dtype:dtype? layout:i?", v);
	if (rc)
		return rc;
	/* c10::Layout 0 is strided, the dense layout ONNX tensors have. */
	if (!v[1].none && v[1].i != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"layout %lld (sparse or mkldnn) has no ONNX "
				"equivalent", (long long)v[1].i);
	*dt = v[0].none ? dflt : v[0].dtype;
	if (!*dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"the dtype is not known at conversion time");
	return P2O_OK;
}

/* The dtype PyTorch gives a number of constant kind k (or a list of them). */
static int number_dtype(int kind)
{
	return kind == PTS_C_FLOAT || kind == PTS_C_FLOATS ? P2O_FLOAT :
	       kind == PTS_C_BOOL || kind == PTS_C_BOOLS   ? P2O_BOOL :
							    P2O_INT64;
}

/* The dtype PyTorch gives a number held in a tensor of dtype dt (a bool,
 * an int or a float): bool, int64 or float32. */
static int number_dtype_of(int dt)
{
	int cat = p2o_dtype_category(dt);
	return cat == 0 ? P2O_BOOL : cat == 1 ? P2O_INT64 : P2O_FLOAT;
}

/* A fill value: a number known now, or a run-time value. */
typedef struct fillv {
	bool known;
	double v;      /* known */
	uint32_t x;    /* run time: its tensor (0-D or one element) */
	int dtype;     /* the dtype PyTorch infers from it: bool, int64 or
	                  float32 */
} fillv;

static int fill_value(p2o_cx *cx, const pts_node *n, const p2o_arg *a,
		      fillv *f)
{
	const pts_const *k = a->k;
	memset(f, 0, sizeof *f);
	if (k && (k->kind == PTS_C_INT || k->kind == PTS_C_BOOL ||
		  k->kind == PTS_C_FLOAT)) {
		f->known = true;
		f->v = k->kind == PTS_C_FLOAT ? k->f : (double)k->i;
		f->dtype = number_dtype(k->kind);
		return P2O_OK;
	}
	if (a->idx < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a fill value that is not a number");
	f->x = p2o_arg_tensor(cx, n, (uint32_t)a->idx);
	if (f->x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	const p2o_type *t = p2o_t(cx, f->x);
	int64_t ne = p2o_numel(t);
	if (t->rank > 0 && ne != 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a fill value must be a number or a one-element "
				"tensor");
	f->dtype = number_dtype_of(t->dtype);
	return P2O_OK;
}

static uint32_t make_filled(p2o_cx *cx, uint32_t shape, int dt,
			    const fillv *f)
{
	return f->known ? p2o_constant_of_shape(cx, shape, dt, f->v) :
			  p2o_filled_with(cx, shape, dt, f->x);
}

/* The sizes of x as a 1-D int64 value (constant where known). */
static uint32_t shape_of(p2o_cx *cx, uint32_t x)
{
	int r = p2o_t(cx, x)->rank;
	if (r < 0) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			 "a tensor shaped like one of unknown rank");
		return P2O_NOVAL;
	}
	return p2o_dims_value(cx, x, 0, r);
}

/* The creation ops that fill: what = the value of zeros/ones/empty (empty
 * is zeros: its contents are unspecified, zeros are one choice of them), or
 * NAN for the ones that take a fill_value. `self` is the tensor of the
 * _like forms (shape and dtype) and of the new_ forms (dtype), and what
 * fill(self, value) fills. */
static int create(p2o_cx *cx, const pts_node *n, double what)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t? size:sh? fill_value|value:v?", v);
	if (rc)
		return rc;
	fillv f = { .known = true, .v = what, .dtype = P2O_FLOAT };
	if (isnan(what) && (rc = fill_value(cx, n, &v[2], &f)))
		return rc;
	bool has_self = v[0].tensor != P2O_NOVAL;
	/* PyTorch's dtype when none is given: self's for the _like and new_
	 * forms and fill, the value's for full, else float32. */
	int dflt = has_self ? p2o_t(cx, v[0].tensor)->dtype : f.dtype;
	int dt;
	if ((rc = options(cx, n, dflt, &dt)))
		return rc;
	uint32_t shape = v[1].tensor != P2O_NOVAL ? v[1].tensor :
			 has_self ? shape_of(cx, v[0].tensor) : P2O_NOVAL;
	if (shape == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, make_filled(cx, shape, dt, &f));
}

/* aten::zeros(size, ...), zeros_like(self, ...), new_zeros(self, size, ...) */
P2O_HANDLER(zeros) { return create(cx, n, 0); }
/* aten::ones, ones_like, new_ones */
P2O_HANDLER(ones) { return create(cx, n, 1); }
/* aten::empty, empty_like, new_empty: zeros */
P2O_HANDLER(empty) { return create(cx, n, 0); }
/* aten::full(size, fill_value), full_like(self, fill_value),
 * new_full(self, size, fill_value), fill(self, value) (and fill_, as the
 * converter maps in-place ops to their pure forms). */
P2O_HANDLER(full) { return create(cx, n, NAN); }

/* ---- arange ---------------------------------------------------------------- */

/* One end of an arange: a number known now or a run-time value. */
typedef struct bound {
	bool known, is_int;
	double f;
	int64_t i;
	uint32_t idx;  /* node input (run time) */
} bound;

static int read_bound(p2o_cx *cx, const pts_node *n, const p2o_arg *a,
		      double dflt, bound *b)
{
	memset(b, 0, sizeof *b);
	if (a->none) { /* start or step left out */
		b->known = b->is_int = true;
		b->f = dflt;
		b->i = (int64_t)dflt;
		return P2O_OK;
	}
	const pts_const *k = a->k;
	if (k && (k->kind == PTS_C_INT || k->kind == PTS_C_BOOL)) {
		b->known = b->is_int = true;
		b->i = k->i;
		b->f = (double)k->i;
		return P2O_OK;
	}
	if (k && k->kind == PTS_C_FLOAT) {
		b->known = true;
		b->f = k->f;
		b->i = (int64_t)k->f;
		return P2O_OK;
	}
	if (a->idx < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "an arange bound that "
				"is not a number");
	uint32_t x = p2o_arg_tensor(cx, n, (uint32_t)a->idx);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	b->idx = (uint32_t)a->idx;
	b->is_int = p2o_dtype_category(p2o_t(cx, x)->dtype) < 2;
	return P2O_OK;
}

static uint32_t bound_value(p2o_cx *cx, const pts_node *n, const bound *b,
			    int dt)
{
	if (b->known)
		return p2o_const_scalar(cx, dt, dt == P2O_DOUBLE ? b->f :
						(double)b->i);
	uint32_t x = p2o_arg_tensor(cx, n, b->idx);
	if (x != P2O_NOVAL && p2o_t(cx, x)->rank > 0)
		x = p2o_reshape_to(cx, x, NULL, 0);
	return p2o_cast(cx, x, dt);
}

/* Known bounds: PyTorch's values, an initializer. Like PyTorch, an
 * integer result is start + i * step with start and step truncated to
 * integers, a floating one start + i * step in double; the length is
 * ceil((end - start) / step) over the bounds truncated for an int64
 * result, over the bounds as given for any other. */
static int arange_const(p2o_cx *cx, const pts_node *n, const bound *b,
			int dt)
{
	double len = dt == P2O_INT64 ?
		ceil((double)(b[1].i - b[0].i) / (double)b[2].i) :
		ceil((b[1].f - b[0].f) / b[2].f);
	if (b[2].f == 0 || (dt == P2O_INT64 && b[2].i == 0) || !(len >= 0) ||
	    len > 1e9)
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"arange(%g, %g, %g) has no valid length",
				b[0].f, b[1].f, b[2].f);
	int64_t cnt = (int64_t)len;
	bool fl = p2o_dtype_is_float(dt);
	if (dt == P2O_BOOL)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "arange of dtype bool");
	double *vals = p2o_alloc(cx, sizeof *vals * (size_t)(cnt ? cnt : 1));
	for (int64_t i = 0; i < cnt; i++)
		vals[i] = fl ? b[0].f + (double)i * b[2].f :
			       (double)(b[0].i + i * b[2].i);
	return p2o_set_result(cx, n, p2o_const_values(cx, dt, &cnt, 1, vals));
}

/* aten::arange(end), arange.start(start, end), arange.start_step(start,
 * end, step=1), all with dtype=None...: int64 when every bound is an int,
 * else float32 (PyTorch's default dtype). Range from opset 11; below, only
 * bounds known now. */
P2O_HANDLER(arange)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "start:n? end:n step:n?", v);
	if (rc)
		return rc;
	bound b[3];
	if ((rc = read_bound(cx, n, &v[0], 0, &b[0])) ||
	    (rc = read_bound(cx, n, &v[1], 0, &b[1])) ||
	    (rc = read_bound(cx, n, &v[2], 1, &b[2])))
		return rc;
	bool all_int = b[0].is_int && b[1].is_int && b[2].is_int;
	int dt;
	if ((rc = options(cx, n, all_int ? P2O_INT64 : P2O_FLOAT, &dt)))
		return rc;
	if (b[0].known && b[1].known && b[2].known)
		return arange_const(cx, n, b, dt);
	if ((rc = p2o_need_opset(cx, 11, "arange with bounds computed at run "
				 "time")))
		return rc;
	if (dt == P2O_BOOL || dt == P2O_BFLOAT16)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"arange of dtype %s (Range has no such type)",
				p2o_dtype_name(dt));
	uint32_t y;
	if (dt == P2O_INT64 || (all_int && !p2o_dtype_is_float(dt))) {
		/* PyTorch's int64 arange works on the truncated bounds, and
		 * integer bounds are that already: Range is exact. */
		uint32_t in[3];
		for (int i = 0; i < 3; i++)
			in[i] = bound_value(cx, n, &b[i], P2O_INT64);
		y = p2o_node_done(cx, p2o_node_new(cx, "Range", 3, in, 1));
	} else {
		/* PyTorch's length, ceil((end - start) / step) in double,
		 * then start + i * step in double (integers for an integer
		 * result, as arange_const says). */
		int at = p2o_dtype_is_float(dt) ? P2O_DOUBLE : P2O_INT64;
		uint32_t s = bound_value(cx, n, &b[0], P2O_DOUBLE);
		uint32_t e = bound_value(cx, n, &b[1], P2O_DOUBLE);
		uint32_t st = bound_value(cx, n, &b[2], P2O_DOUBLE);
		uint32_t len = p2o_cast(cx, p2o_op1(cx, "Ceil",
				p2o_op2(cx, "Div", p2o_op2(cx, "Sub", e, s), st)),
				P2O_INT64);
		uint32_t in[3] = { p2o_const_scalar(cx, P2O_INT64, 0), len,
				   p2o_const_scalar(cx, P2O_INT64, 1) };
		uint32_t i = p2o_node_done(cx, p2o_node_new(cx, "Range", 3,
							    in, 1));
		y = p2o_op2(cx, "Add", p2o_op2(cx, "Mul", p2o_cast(cx, i, at),
				bound_value(cx, n, &b[2], at)),
			    bound_value(cx, n, &b[0], at));
	}
	return p2o_set_result(cx, n, p2o_cast(cx, y, dt));
}

/* aten::_dim_arange(like, dim): arange(like.size(dim)), int64. */
P2O_HANDLER(dim_arange)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "like:t dim:i", v);
	if (rc)
		return rc;
	const p2o_type *t = p2o_t(cx, v[0].tensor);
	int64_t d;
	if (t->rank < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a size of a tensor of unknown rank");
	if ((rc = p2o_norm_dim(cx, v[1].i, t->rank, &d)))
		return rc;
	int64_t len = t->dims[d].v;
	if (len >= 0) {
		double *vals = p2o_alloc(cx, sizeof *vals * (size_t)(len ? len : 1));
		for (int64_t i = 0; i < len; i++)
			vals[i] = (double)i;
		return p2o_set_result(cx, n, p2o_const_values(cx, P2O_INT64,
							      &len, 1, vals));
	}
	if ((rc = p2o_need_opset(cx, 11, "arange of a symbolic size")))
		return rc;
	uint32_t in[3] = { p2o_const_scalar(cx, P2O_INT64, 0),
			   p2o_dim_value(cx, v[0].tensor, (int)d),
			   p2o_const_scalar(cx, P2O_INT64, 1) };
	return p2o_set_result(cx, n, p2o_node_done(cx, p2o_node_new(cx, "Range",
								    3, in, 1)));
}

/* ---- random ---------------------------------------------------------------- */

/* Random numbers: ONNX makes float16, float32 and float64 ones. */
static int random_dtype(p2o_cx *cx, int dt)
{
	if (dt == P2O_FLOAT || dt == P2O_DOUBLE || dt == P2O_FLOAT16)
		return P2O_OK;
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"random numbers of dtype %s (ONNX makes float16, "
			"float32 and float64 ones)",
			p2o_dtype_name(dt) ? p2o_dtype_name(dt) : "?");
}

/* The generator argument: only the default one (None) has a meaning in
 * ONNX, whose random ops have their own. */
static int no_generator(p2o_cx *cx, const pts_node *n)
{
	p2o_arg g;
	int rc = p2o_args(cx, n, "generator:v?", &g);
	if (rc)
		return rc;
	if (g.idx >= 0 && !g.none)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a random op with an explicit generator");
	return P2O_OK;
}

/* aten::rand/randn(size, ...) and rand_like/randn_like(self, ...):
 * uniform [0, 1) or standard normal numbers. */
static int random_op(p2o_cx *cx, const pts_node *n, bool normal)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t? size:sh?", v);
	if (rc || (rc = no_generator(cx, n)))
		return rc;
	bool like = v[0].tensor != P2O_NOVAL;
	int dt;
	if ((rc = options(cx, n, like ? p2o_t(cx, v[0].tensor)->dtype :
				  P2O_FLOAT, &dt)) ||
	    (rc = random_dtype(cx, dt)))
		return rc;
	return p2o_set_result(cx, n, p2o_random(cx, normal, v[1].tensor,
						v[0].tensor, dt, 0,
						1));
}

P2O_HANDLER(rand) { return random_op(cx, n, false); }
P2O_HANDLER(randn) { return random_op(cx, n, true); }

/* aten::normal: mean and std each a tensor or a number:
 *   normal.Tensor_float(mean, std=1), normal.float_Tensor(mean, std),
 *   normal.Tensor_Tensor(mean, std): of their broadcast shape, dtype of the
 *   tensor(s); normal.float_float(mean, std, size, dtype=None...). */
P2O_HANDLER(normal)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "mean:v std:v size:sh?", v);
	if (rc || (rc = no_generator(cx, n)))
		return rc;
	const pts_const *km = v[0].k, *ks = v[1].k;
	bool num_m = p2o_arg_is_number(cx, n, (uint32_t)v[0].idx);
	bool num_s = p2o_arg_is_number(cx, n, (uint32_t)v[1].idx);
	if (v[2].tensor != P2O_NOVAL) { /* float_float */
		int dt;
		if ((rc = options(cx, n, P2O_FLOAT, &dt)) ||
		    (rc = random_dtype(cx, dt)))
			return rc;
		if (km && ks && km->kind != PTS_C_TENSOR &&
		    ks->kind != PTS_C_TENSOR) {
			double m = km->kind == PTS_C_FLOAT ? km->f : (double)km->i;
			double s = ks->kind == PTS_C_FLOAT ? ks->f : (double)ks->i;
			return p2o_set_result(cx, n, p2o_random(cx, true,
					v[2].tensor, P2O_NOVAL, dt, m, s));
		}
		/* Run-time mean or std: a standard normal, scaled. */
		uint32_t z = p2o_random(cx, true, v[2].tensor, P2O_NOVAL, dt, 0, 1);
		uint32_t m = p2o_arg_tensor_as(cx, n, (uint32_t)v[0].idx, dt);
		uint32_t s = p2o_arg_tensor_as(cx, n, (uint32_t)v[1].idx, dt);
		return p2o_set_result(cx, n, p2o_op2(cx, "Add",
					p2o_op2(cx, "Mul", z, s), m));
	}
	/* One of them a tensor: its dtype, the other made in it. */
	uint32_t tm = num_m ? P2O_NOVAL : p2o_arg_tensor(cx, n, (uint32_t)v[0].idx);
	uint32_t ts = num_s ? P2O_NOVAL : p2o_arg_tensor(cx, n, (uint32_t)v[1].idx);
	int dt = tm != P2O_NOVAL ? p2o_t(cx, tm)->dtype :
		 ts != P2O_NOVAL ? p2o_t(cx, ts)->dtype : 0;
	if (!dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"normal of two numbers without a size");
	if ((rc = random_dtype(cx, dt)))
		return rc;
	if (tm == P2O_NOVAL)
		tm = p2o_arg_tensor_as(cx, n, (uint32_t)v[0].idx, dt);
	if (ts == P2O_NOVAL)
		ts = p2o_arg_tensor_as(cx, n, (uint32_t)v[1].idx, dt);
	if (p2o_t(cx, ts)->dtype != dt)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"normal with mean and std of different dtypes");
	/* The broadcast shape of mean and std is that of their sum. */
	uint32_t z = p2o_random(cx, true, P2O_NOVAL,
				p2o_op2(cx, "Add", tm, ts), dt, 0, 1);
	return p2o_set_result(cx, n, p2o_op2(cx, "Add", p2o_op2(cx, "Mul", z, ts),
					     tm));
}

/* aten::bernoulli(self): 1 with probability self, else 0, in self's
 * dtype; bernoulli.p(self, p): probability p, self's shape and dtype. A
 * uniform number below the probability, at every opset: ONNX Runtime 1.30
 * runs Bernoulli-15 as 1 with probability 1 - p (p = 0 gives all ones),
 * which the decomposition does not depend on. */
P2O_HANDLER(bernoulli)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:t p:v?", v);
	if (rc || (rc = no_generator(cx, n)))
		return rc;
	uint32_t x = v[0].tensor;
	int dt = p2o_t(cx, x)->dtype;
	if ((rc = random_dtype(cx, dt)))
		return rc;
	uint32_t p = x;
	if (v[1].decl) {
		if (v[1].idx < 0 || v[1].none)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"bernoulli without a probability");
		p = p2o_arg_tensor_as(cx, n, (uint32_t)v[1].idx, dt);
	}
	uint32_t u = p2o_random(cx, false, P2O_NOVAL, x, dt, 0, 1);
	return p2o_set_result(cx, n, p2o_cast(cx, p2o_op2(cx, "Less", u, p), dt));
}

/* aten::multinomial(self, num_samples, replacement=False): indices drawn
 * by the weights of self's last dim. ONNX Multinomial draws with
 * replacement from log-probabilities: without replacement only one sample
 * is the same thing. */
P2O_HANDLER(multinomial)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "self:t num_samples:i replacement:b", v);
	if (rc || (rc = no_generator(cx, n)))
		return rc;
	if (!v[2].b && v[1].i != 1)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"multinomial without replacement of more than "
				"one sample (ONNX Multinomial draws with "
				"replacement)");
	uint32_t x = v[0].tensor;
	const p2o_type *t = p2o_t(cx, x);
	if (t->rank != 1 && t->rank != 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"multinomial of a tensor of rank %d", t->rank);
	if ((rc = random_dtype(cx, t->dtype)))
		return rc;
	static const int64_t zero = 0;
	bool vec = t->rank == 1;
	/* Weights in float32: ONNX Runtime's Multinomial takes no other. */
	x = p2o_cast(cx, x, P2O_FLOAT);
	uint32_t lg = p2o_op1(cx, "Log", vec ? p2o_unsqueeze(cx, x, &zero, 1) : x);
	uint32_t nd = p2o_node_new(cx, "Multinomial", 1, &lg, 1);
	p2o_attr_int(cx, nd, "sample_size", v[1].i);
	p2o_attr_int(cx, nd, "dtype", P2O_INT64);
	uint32_t y = p2o_node_done(cx, nd);
	return p2o_set_result(cx, n, vec ? p2o_squeeze(cx, y, &zero, 1) : y);
}

/* ---- tensors of given values ---------------------------------------------------- */

/* aten::tensor(data, dtype=None, device=None, requires_grad=False) and
 * aten::as_tensor(data, dtype=None, device=None), for a number, a tensor
 * (as_tensor: a cast) or a flat list of numbers; nested lists reach the
 * converter only as constants the shim folded. */
P2O_HANDLER(tensor)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "t|data:v dtype:dtype?", v);
	if (rc)
		return rc;
	uint32_t i = (uint32_t)v[0].idx;
	const pts_const *k = v[0].k;
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	if (k && (k->kind == PTS_C_FLOATS || k->kind == PTS_C_BOOLS ||
		  k->kind == PTS_C_INTS)) {
		int dt = v[1].none ? number_dtype(k->kind) : v[1].dtype;
		double *vals = p2o_alloc(cx, sizeof *vals * (k->n ? k->n : 1));
		for (size_t j = 0; j < k->n; j++)
			vals[j] = k->kind == PTS_C_FLOATS ? k->floats[j] :
							    (double)k->ints[j];
		int64_t len = (int64_t)k->n;
		return p2o_set_result(cx, n, p2o_const_values(cx, dt, &len, 1,
							      vals));
	}
	if (tv->kind == P2O_TV_LIST) {
		/* A flat list with run-time items: one Concat of them. */
		int nat = P2O_BOOL;
		for (uint32_t j = 0; j < tv->n; j++) {
			const p2o_tv *it = &P2O_TV(cx, tv->items[j]);
			int d = it->kind == P2O_TV_CONST ? number_dtype(it->k->kind) :
				it->kind == P2O_TV_TENSOR && it->scalar ?
					p2o_t(cx, it->onnx)->dtype : 0;
			if (!d || (it->kind == P2O_TV_CONST &&
				   it->k->kind != PTS_C_INT &&
				   it->k->kind != PTS_C_FLOAT &&
				   it->k->kind != PTS_C_BOOL))
				return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
						"a tensor of a nested list computed "
						"at run time");
			int c = p2o_dtype_category(d);
			if (c > p2o_dtype_category(nat))
				nat = c == 2 ? P2O_FLOAT : P2O_INT64;
		}
		int dt = v[1].none ? nat : v[1].dtype;
		uint32_t *parts = p2o_alloc(cx, sizeof *parts * (tv->n ? tv->n : 1));
		static const int64_t zero = 0;
		for (uint32_t j = 0; j < tv->n; j++) {
			uint32_t x = p2o_cast(cx, p2o_value_tensor(cx, tv->items[j]),
					      dt);
			if (x == P2O_NOVAL)
				return P2O_ERR_UNSUPPORTED;
			parts[j] = p2o_t(cx, x)->rank == 0 ?
					   p2o_unsqueeze(cx, x, &zero, 1) : x;
		}
		if (tv->n == 1)
			return p2o_set_result(cx, n, parts[0]);
		uint32_t nd = p2o_node_new(cx, "Concat", tv->n, parts, 1);
		p2o_attr_int(cx, nd, "axis", 0);
		return p2o_set_result(cx, n, p2o_node_done(cx, nd));
	}
	uint32_t x = p2o_arg_tensor(cx, n, i);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	/* A number: its kind's dtype; a tensor (as_tensor): its own. */
	int dt = !v[1].none ? v[1].dtype :
		 !p2o_arg_is_number(cx, n, i) ? p2o_t(cx, x)->dtype :
		 k ? number_dtype(k->kind) : number_dtype_of(p2o_t(cx, x)->dtype);
	return p2o_set_result(cx, n, p2o_cast(cx, x, dt));
}

/* aten::scalar_tensor(s, dtype=None, ...): a 0-dim tensor of s, float32
 * unless dtype says otherwise. */
P2O_HANDLER(scalar_tensor)
{
	p2o_arg s;
	int dt, rc = p2o_args(cx, n, "s:n", &s);
	if (rc || (rc = options(cx, n, P2O_FLOAT, &dt)))
		return rc;
	uint32_t x = p2o_arg_tensor_as(cx, n, (uint32_t)s.idx, dt);
	if (x != P2O_NOVAL && p2o_t(cx, x)->rank != 0)
		x = p2o_reshape_to(cx, x, NULL, 0);
	return p2o_set_result(cx, n, x);
}

/* ---- eye, linspace, hann_window --------------------------------------------------- */

/* aten::eye(n, ...) and eye.m(n, m, ...): float32 unless dtype says
 * otherwise. Known sizes: an initializer; run-time ones: EyeLike of a
 * ConstantOfShape (opset 9). */
P2O_HANDLER(eye)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "n:n m:n?", v);
	if (rc)
		return rc;
	int dt;
	if ((rc = options(cx, n, P2O_FLOAT, &dt)))
		return rc;
	const pts_const *kn = v[0].k, *km = v[1].none ? v[0].k : v[1].k;
	if (kn && km && kn->kind == PTS_C_INT && km->kind == PTS_C_INT) {
		int64_t d[2] = { kn->i, km->i };
		if (d[0] < 0 || d[1] < 0)
			return p2o_fail(cx, P2O_ERR_CONVERT, "eye of a negative "
					"size");
		size_t cnt = (size_t)(d[0] * d[1]);
		double *vals = p2o_alloc(cx, sizeof *vals * (cnt ? cnt : 1));
		for (int64_t i = 0; i < d[0] && i < d[1]; i++)
			vals[i * d[1] + i] = 1;
		return p2o_set_result(cx, n, p2o_const_values(cx, dt, d, 2, vals));
	}
	static const int64_t zero = 0;
	uint32_t a = p2o_unsqueeze(cx, p2o_arg_tensor_as(cx, n,
				   (uint32_t)v[0].idx, P2O_INT64), &zero, 1);
	uint32_t b = v[1].none ? a :
		     p2o_unsqueeze(cx, p2o_arg_tensor_as(cx, n, (uint32_t)v[1].idx,
							 P2O_INT64), &zero, 1);
	uint32_t in[2] = { a, b };
	uint32_t nd = p2o_node_new(cx, "Concat", 2, in, 1);
	p2o_attr_int(cx, nd, "axis", 0);
	/* In float32, then cast: ONNX Runtime's EyeLike has no kernel for
	 * bool, float16 or the small integers; 0 and 1 are exact anywhere. */
	uint32_t z = p2o_constant_of_shape(cx, p2o_node_done(cx, nd), P2O_FLOAT, 0);
	if (z == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	nd = p2o_node_new(cx, "EyeLike", 1, &z, 1);
	return p2o_set_result(cx, n, p2o_cast(cx, p2o_node_done(cx, nd), dt));
}

/* aten::linspace(start, end, steps, dtype=None...): PyTorch's values:
 * step = (end - start) / (steps - 1), the first half start + i * step,
 * the second end - (steps - 1 - i) * step; in float for a float32 result,
 * in double otherwise (integers are truncated from it). */
P2O_HANDLER(linspace)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "start:n end:n steps:i", v);
	if (rc)
		return rc;
	int dt;
	if ((rc = options(cx, n, P2O_FLOAT, &dt)))
		return rc;
	int64_t steps = v[2].i;
	if (steps < 0 || steps > 100000000)
		return p2o_fail(cx, P2O_ERR_CONVERT, "linspace of %lld steps",
				(long long)steps);
	int ct = dt == P2O_FLOAT || dt == P2O_FLOAT16 ? P2O_FLOAT : P2O_DOUBLE;
	size_t sz = (size_t)(steps ? steps : 1);
	double *idx = p2o_alloc(cx, sizeof *idx * sz);
	double *rev = p2o_alloc(cx, sizeof *rev * sz);
	double *lo = p2o_alloc(cx, sizeof *lo * sz);
	int64_t half = steps / 2;
	for (int64_t i = 0; i < steps; i++) {
		idx[i] = (double)i;
		rev[i] = (double)(steps - 1 - i);
		lo[i] = i < half;
	}
	const pts_const *ks = v[0].k, *ke = v[1].k;
	bool ks_num = ks && (ks->kind == PTS_C_INT || ks->kind == PTS_C_FLOAT);
	bool ke_num = ke && (ke->kind == PTS_C_INT || ke->kind == PTS_C_FLOAT);
	if (ks_num && ke_num) {
		double s = ks->kind == PTS_C_FLOAT ? ks->f : (double)ks->i;
		double e = ke->kind == PTS_C_FLOAT ? ke->f : (double)ke->i;
		double *vals = p2o_alloc(cx, sizeof *vals * sz);
		if (ct == P2O_FLOAT) {
			float fs = (float)s, fe = (float)e;
			float st = steps > 1 ? (fe - fs) / (float)(steps - 1) : 0;
			for (int64_t i = 0; i < steps; i++)
				vals[i] = i < half ? fs + st * (float)i :
					  fe - st * (float)(steps - 1 - i);
		} else {
			double st = steps > 1 ? (e - s) / (double)(steps - 1) : 0;
			for (int64_t i = 0; i < steps; i++)
				vals[i] = i < half ? s + st * (double)i :
					  e - st * (double)(steps - 1 - i);
		}
		return p2o_set_result(cx, n, p2o_const_values(cx, dt, &steps, 1,
							      vals));
	}
	/* Run-time ends: the same formula over constant index vectors. */
	if (steps < 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"linspace of fewer than 2 steps between ends "
				"computed at run time");
	uint32_t s = p2o_arg_tensor_as(cx, n, (uint32_t)v[0].idx, ct);
	uint32_t e = p2o_arg_tensor_as(cx, n, (uint32_t)v[1].idx, ct);
	uint32_t st = p2o_op2(cx, "Div", p2o_op2(cx, "Sub", e, s),
			      p2o_const_scalar(cx, ct, (double)(steps - 1)));
	uint32_t first = p2o_op2(cx, "Add", s, p2o_op2(cx, "Mul", st,
				 p2o_const_values(cx, ct, &steps, 1, idx)));
	uint32_t second = p2o_op2(cx, "Sub", e, p2o_op2(cx, "Mul", st,
				  p2o_const_values(cx, ct, &steps, 1, rev)));
	uint32_t in[3] = { p2o_const_values(cx, P2O_BOOL, &steps, 1, lo), first,
			   second };
	if ((rc = p2o_need_opset(cx, 9, "linspace between ends computed at run "
				 "time")))
		return rc;
	uint32_t y = p2o_node_done(cx, p2o_node_new(cx, "Where", 3, in, 1));
	return p2o_set_result(cx, n, p2o_cast(cx, y, dt));
}

/* aten::hann_window(window_length, periodic=True, dtype=None...):
 * 0.5 - 0.5 cos(2 pi i / (N - 1)), N = length + 1 when periodic. A known
 * length: PyTorch's values (in float32 arithmetic for a float32 window);
 * a run-time one: HannWindow (opset 17), the same formula. */
P2O_HANDLER(hann_window)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "window_length:n periodic:b?", v);
	if (rc)
		return rc;
	int dt;
	if ((rc = options(cx, n, P2O_FLOAT, &dt)))
		return rc;
	if (!p2o_dtype_is_float(dt))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"hann_window of a non-floating dtype");
	bool periodic = v[1].none ? true : v[1].b;
	const pts_const *k = v[0].k;
	if (k && k->kind == PTS_C_INT) {
		int64_t len = k->i;
		if (len < 0 || len > 100000000)
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"hann_window of length %lld",
					(long long)len);
		double *vals = p2o_alloc(cx, sizeof *vals * (size_t)(len ? len : 1));
		int64_t N = periodic ? len + 1 : len;
		if (len == 1)
			vals[0] = 1;
		for (int64_t i = 0; len > 1 && i < len; i++) {
			if (dt == P2O_DOUBLE) {
				vals[i] = 0.5 - 0.5 * cos((double)i * (2 * M_PI /
							  (double)(N - 1)));
			} else {
				float w = (float)i * (float)(2 * M_PI /
							     (double)(N - 1));
				vals[i] = 0.5f - 0.5f * cosf(w);
			}
		}
		return p2o_set_result(cx, n, p2o_const_values(cx, dt, &len, 1,
							      vals));
	}
	if ((rc = p2o_need_opset(cx, 17, "hann_window of a length computed at "
				 "run time")))
		return rc;
	uint32_t len = p2o_arg_tensor_as(cx, n, (uint32_t)v[0].idx, P2O_INT64);
	uint32_t nd = p2o_node_new(cx, "HannWindow", 1, &len, 1);
	p2o_attr_int(cx, nd, "periodic", periodic);
	p2o_attr_int(cx, nd, "output_datatype", dt);
	return p2o_set_result(cx, n, p2o_node_done(cx, nd));
}
