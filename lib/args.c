/* args.c — reading a TorchScript node's inputs (constant arguments, tensors,
 * number operands, shape lists) and binding its outputs. The one place that
 * knows how TorchScript values map to ONNX values. */
#include <string.h>

#include "internal.h"

const pts_value *p2o_pv(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	assert(i < n->n_in);
	return &cx->g->values[n->in[i]];
}

p2o_tv *p2o_tvin(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	assert(i < n->n_in);
	return &cx->tv[n->in[i]];
}

pts_const *p2o_new_const(p2o_cx *cx, int kind)
{
	pts_const *c = p2o_alloc(cx, sizeof *c);
	c->kind = kind;
	return c;
}

const pts_const *p2o_konst(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	if (i >= n->n_in)
		return NULL;
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	if (tv->kind == P2O_TV_CONST)
		return tv->k;
	if (tv->kind == P2O_TV_LIST) {
		/* A list of constant ints is a constant int list. */
		int64_t *v = p2o_alloc(cx, sizeof *v * (tv->n ? tv->n : 1));
		for (uint32_t j = 0; j < tv->n; j++) {
			const p2o_tv *it = &cx->tv[tv->items[j]];
			if (it->kind != P2O_TV_CONST || it->k->kind != PTS_C_INT)
				return NULL;
			v[j] = it->k->i;
		}
		pts_const *c = p2o_new_const(cx, PTS_C_INTS);
		c->n = tv->n;
		c->ints = v;
		return c;
	}
	return NULL;
}

bool p2o_arg_none(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	if (i >= n->n_in)
		return true;
	const pts_const *k = p2o_konst(cx, n, i);
	return k && k->kind == PTS_C_NONE;
}

static int need_const(p2o_cx *cx, const pts_node *n, uint32_t i,
		      const char *what)
{
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"argument %u ('%s') must be a constant %s", i,
			i < n->n_in ? cx->g->values[n->in[i]].name : "?", what);
}

int p2o_arg_int(p2o_cx *cx, const pts_node *n, uint32_t i, int64_t *v)
{
	const pts_const *k = p2o_konst(cx, n, i);
	if (!k || (k->kind != PTS_C_INT && k->kind != PTS_C_BOOL))
		return need_const(cx, n, i, "int");
	*v = k->i;
	return P2O_OK;
}

int p2o_arg_float(p2o_cx *cx, const pts_node *n, uint32_t i, double *v)
{
	const pts_const *k = p2o_konst(cx, n, i);
	if (k && k->kind == PTS_C_FLOAT)
		*v = k->f;
	else if (k && (k->kind == PTS_C_INT || k->kind == PTS_C_BOOL))
		*v = (double)k->i;
	else
		return need_const(cx, n, i, "number");
	return P2O_OK;
}

int p2o_arg_bool(p2o_cx *cx, const pts_node *n, uint32_t i, bool *v)
{
	const pts_const *k = p2o_konst(cx, n, i);
	if (!k || (k->kind != PTS_C_BOOL && k->kind != PTS_C_INT))
		return need_const(cx, n, i, "bool");
	*v = k->i != 0;
	return P2O_OK;
}

int p2o_arg_str(p2o_cx *cx, const pts_node *n, uint32_t i, const char **v)
{
	const pts_const *k = p2o_konst(cx, n, i);
	if (!k || k->kind != PTS_C_STRING)
		return need_const(cx, n, i, "string");
	*v = k->s;
	return P2O_OK;
}

int p2o_arg_ints(p2o_cx *cx, const pts_node *n, uint32_t i, int64_t *v,
		 size_t max, size_t *count)
{
	const pts_const *k = p2o_konst(cx, n, i);
	if (k && k->kind == PTS_C_INT) {
		v[0] = k->i;
		*count = 1;
		return P2O_OK;
	}
	if (!k || k->kind != PTS_C_INTS)
		return need_const(cx, n, i, "int list");
	if (k->n > max)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"argument %u has %zu entries, at most %zu "
				"supported", i, k->n, max);
	if (k->n) /* an empty list has no array: memcpy(NULL) is undefined */
		memcpy(v, k->ints, sizeof *v * k->n);
	*count = k->n;
	return P2O_OK;
}

/* An initializer for a shim constant tensor, made once per TorchScript
 * value and pointing at the shim's data (no copy). */
static uint32_t weight(p2o_cx *cx, uint32_t tvid)
{
	p2o_tv *tv = &cx->tv[tvid];
	if (tv->onnx != P2O_NOVAL)
		return tv->onnx;
	const pts_tensor *pt = &tv->k->t;
	if (!pt->dtype || !p2o_dtype_name(pt->dtype)) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			 "constant '%s' has an element type ONNX export does "
			 "not support (complex, quantized or sparse)",
			 cx->g->values[tvid].name);
		return P2O_NOVAL;
	}
	p2o_tensor *t = p2o_alloc(cx, sizeof *t);
	t->dtype = pt->dtype;
	t->rank = pt->rank;
	t->dims = pt->dims;
	t->data = pt->data;
	t->nbytes = pt->nbytes;
	tv->onnx = p2o_initializer(cx, t, cx->g->values[tvid].name);
	return tv->onnx;
}

static uint32_t const_tensor(p2o_cx *cx, uint32_t tvid)
{
	const pts_const *k = cx->tv[tvid].k;
	switch (k->kind) {
	case PTS_C_TENSOR:
		return weight(cx, tvid);
	case PTS_C_INT:
		return p2o_const_scalar(cx, P2O_INT64, (double)k->i);
	case PTS_C_BOOL:
		return p2o_const_scalar(cx, P2O_BOOL, (double)k->i);
	case PTS_C_FLOAT:
		return p2o_const_scalar(cx, P2O_FLOAT, k->f);
	case PTS_C_INTS:
		return p2o_const_i64s(cx, k->ints, k->n);
	default:
		p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			 "'%s' is a constant that cannot be a tensor here",
			 cx->g->values[tvid].name);
		return P2O_NOVAL;
	}
}

uint32_t p2o_arg_tensor(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	const p2o_tv *tv = &cx->tv[n->in[i]];
	if (tv->kind == P2O_TV_LIST)
		return p2o_arg_shape(cx, n, i);
	return p2o_value_tensor(cx, n->in[i]);
}

uint32_t p2o_value_tensor(p2o_cx *cx, uint32_t id)
{
	const p2o_tv *tv = &cx->tv[id];
	switch (tv->kind) {
	case P2O_TV_TENSOR:
		return tv->onnx;
	case P2O_TV_CONST:
		return const_tensor(cx, id);
	default:
		p2o_fail(cx, P2O_ERR_INTERNAL, "input '%s' has no value",
			 cx->g->values[id].name);
		return P2O_NOVAL;
	}
}

bool p2o_arg_is_number(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	const pts_value *v = p2o_pv(cx, n, i);
	if (v->kind == PTS_V_INT || v->kind == PTS_V_FLOAT ||
	    v->kind == PTS_V_BOOL || v->kind == PTS_V_SCALAR)
		return true;
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	return (tv->kind == P2O_TV_TENSOR && tv->scalar) ||
	       (tv->kind == P2O_TV_CONST &&
		(tv->k->kind == PTS_C_INT || tv->k->kind == PTS_C_FLOAT ||
		 tv->k->kind == PTS_C_BOOL));
}

int p2o_number_dtype(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	if (tv->kind == P2O_TV_CONST)
		return tv->k->kind == PTS_C_FLOAT ? P2O_FLOAT :
		       tv->k->kind == PTS_C_BOOL  ? P2O_BOOL :
						    P2O_INT64;
	if (tv->kind == P2O_TV_TENSOR)
		return p2o_t(cx, tv->onnx)->dtype;
	const pts_value *v = p2o_pv(cx, n, i);
	return v->kind == PTS_V_FLOAT ? P2O_FLOAT :
	       v->kind == PTS_V_BOOL  ? P2O_BOOL :
					P2O_INT64;
}

uint32_t p2o_arg_tensor_as(p2o_cx *cx, const pts_node *n, uint32_t i,
			   int dtype)
{
	const pts_const *k = p2o_konst(cx, n, i);
	if (k && (k->kind == PTS_C_INT || k->kind == PTS_C_BOOL))
		return p2o_const_scalar(cx, dtype, (double)k->i);
	if (k && k->kind == PTS_C_FLOAT)
		return p2o_const_scalar(cx, dtype, k->f);
	return p2o_cast(cx, p2o_arg_tensor(cx, n, i), dtype);
}

uint32_t p2o_arg_shape(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	const pts_const *k = p2o_konst(cx, n, i);
	if (k && k->kind == PTS_C_INTS)
		return p2o_const_i64s(cx, k->ints, k->n);
	if (k && k->kind == PTS_C_INT)
		return p2o_const_i64s(cx, &k->i, 1);
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	if (tv->kind == P2O_TV_TENSOR)
		return p2o_cast(cx, tv->onnx, P2O_INT64);
	if (tv->kind != P2O_TV_LIST) {
		need_const(cx, n, i, "int list");
		return P2O_NOVAL;
	}
	/* Mixed constant and dynamic sizes: one 1-D piece per item, then one
	 * Concat. Consecutive constants are one piece. */
	uint32_t *parts = p2o_alloc(cx, sizeof *parts * (tv->n ? tv->n : 1));
	int64_t *run = p2o_alloc(cx, sizeof *run * (tv->n ? tv->n : 1));
	uint32_t np = 0, nr = 0;
	static const int64_t zero = 0;
	for (uint32_t j = 0; j <= tv->n; j++) {
		const p2o_tv *it = j < tv->n ? &cx->tv[tv->items[j]] : NULL;
		if (it && it->kind == P2O_TV_CONST && it->k->kind == PTS_C_INT) {
			run[nr++] = it->k->i;
			continue;
		}
		if (nr) {
			parts[np++] = p2o_const_i64s(cx, run, nr);
			nr = 0;
		}
		if (!it)
			break;
		if (it->kind != P2O_TV_TENSOR) {
			p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				 "list item %u of argument %u is not an int", j, i);
			return P2O_NOVAL;
		}
		uint32_t x = p2o_cast(cx, it->onnx, P2O_INT64);
		if (p2o_t(cx, x)->rank == 0)
			x = p2o_unsqueeze(cx, x, &zero, 1);
		parts[np++] = x;
	}
	if (np == 1)
		return parts[0];
	uint32_t nd = p2o_node_new(cx, "Concat", np, parts, 1);
	p2o_attr_int(cx, nd, "axis", 0);
	return p2o_node_done(cx, nd);
}

int p2o_norm_dim(p2o_cx *cx, int64_t d, int rank, int64_t *out)
{
	int64_t r = d < 0 ? d + rank : d;
	if (r < 0 || r >= (rank ? rank : 1))
		return p2o_fail(cx, P2O_ERR_CONVERT,
				"dim %lld is out of range for a tensor of rank %d",
				(long long)d, rank);
	*out = r;
	return P2O_OK;
}

void p2o_set_tensor(p2o_cx *cx, const pts_node *n, uint32_t k, uint32_t id)
{
	assert(k < n->n_out && id != P2O_NOVAL);
	uint32_t tid = n->out[k];
	p2o_tv *tv = &cx->tv[tid];
	const pts_value *pv = &cx->g->values[tid];
	tv->kind = P2O_TV_TENSOR;
	tv->onnx = id;
	tv->scalar = pv->kind != PTS_V_TENSOR;
	/* Name the ONNX value after the TorchScript one, for readable
	 * models: the first TorchScript value bound to it wins. */
	p2o_val *v = p2o_v(cx, id);
	if (!v->named && v->producer >= 0) {
		v->name = p2o_unique_name(cx, pv->name);
		v->named = true;
	}
}

void p2o_set_const(p2o_cx *cx, const pts_node *n, uint32_t k,
		   const pts_const *c)
{
	assert(k < n->n_out);
	p2o_tv *tv = &cx->tv[n->out[k]];
	tv->kind = P2O_TV_CONST;
	tv->k = c;
	tv->onnx = P2O_NOVAL;
}

int p2o_set_int(p2o_cx *cx, const pts_node *n, uint32_t k, int64_t v)
{
	pts_const *c = p2o_new_const(cx, PTS_C_INT);
	c->i = v;
	p2o_set_const(cx, n, k, c);
	return P2O_OK;
}

int p2o_set_float(p2o_cx *cx, const pts_node *n, uint32_t k, double v)
{
	pts_const *c = p2o_new_const(cx, PTS_C_FLOAT);
	c->f = v;
	p2o_set_const(cx, n, k, c);
	return P2O_OK;
}

int p2o_set_bool(p2o_cx *cx, const pts_node *n, uint32_t k, bool v)
{
	pts_const *c = p2o_new_const(cx, PTS_C_BOOL);
	c->i = v;
	p2o_set_const(cx, n, k, c);
	return P2O_OK;
}

int p2o_set_result(p2o_cx *cx, const pts_node *n, uint32_t y)
{
	if (y == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	p2o_set_tensor(cx, n, 0, y);
	return P2O_OK;
}
