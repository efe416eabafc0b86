/* args.c — reading a TorchScript node's inputs (constant arguments, tensors,
 * number operands, shape lists) and binding its outputs. The one place that
 * knows how TorchScript values map to ONNX values.
 *
 * aten:: handlers read their arguments through p2o_args, by the names of
 * the node's libtorch schema: an op's overloads put the same argument at
 * different positions (aten::to.dtype vs to.device), so a position means
 * nothing without the overload, and a name means the same in all. The
 * positional readers below are for prim:: ops, which have no schema, and
 * are what p2o_args builds on. */
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
	return &P2O_TV(cx, n->in[i]);
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
			const p2o_tv *it = &P2O_TV(cx, tv->items[j]);
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

static int need_const(p2o_cx *cx, const pts_node *n, uint32_t i,
		      const char *what)
{
	if (n->schema && i < n->schema->n_args)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"argument '%s' must be a constant %s",
				n->schema->args[i].name, what);
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"argument %u ('%s') must be a constant %s", i,
			i < n->n_in ? cx->g->values[n->in[i]].name : "?", what);
}

/* An initializer for a shim constant tensor, made once per TorchScript
 * value and pointing at the shim's data (no copy). */
static uint32_t weight(p2o_cx *cx, uint32_t tvid)
{
	p2o_tv *tv = &P2O_TV(cx, tvid);
	if (tv->onnx != P2O_NOVAL)
		return tv->onnx;
	const pts_tensor *pt = &tv->k->t;
	if (!pt->dtype || !p2o_dtype_name(pt->dtype)) {
		p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			 "constant '%s' has an element type ONNX export does "
			 "not support (complex, quantized or sparse)",
			 p2o_tv_name(cx, tvid));
		return P2O_NOVAL;
	}
	p2o_tensor *t = p2o_alloc(cx, sizeof *t);
	t->dtype = pt->dtype;
	t->rank = pt->rank;
	t->dims = pt->dims;
	t->data = pt->data;
	t->nbytes = pt->nbytes;
	tv->onnx = p2o_initializer(cx, t, tvid < cx->g->n_values ?
						  cx->g->values[tvid].name :
						  NULL);
	return tv->onnx;
}

static uint32_t const_tensor(p2o_cx *cx, uint32_t tvid)
{
	const pts_const *k = P2O_TV(cx, tvid).k;
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
			 p2o_tv_name(cx, tvid));
		return P2O_NOVAL;
	}
}

uint32_t p2o_arg_tensor(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	const p2o_tv *tv = &P2O_TV(cx, n->in[i]);
	if (tv->kind == P2O_TV_LIST)
		return p2o_arg_shape(cx, n, i);
	return p2o_value_tensor(cx, n->in[i]);
}

uint32_t p2o_value_tensor(p2o_cx *cx, uint32_t id)
{
	const p2o_tv *tv = &P2O_TV(cx, id);
	switch (tv->kind) {
	case P2O_TV_TENSOR:
		return tv->onnx;
	case P2O_TV_CONST:
		return const_tensor(cx, id);
	default:
		p2o_fail(cx, P2O_ERR_INTERNAL, "input '%s' has no value",
			 p2o_tv_name(cx, id));
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
		const p2o_tv *it = j < tv->n ? &P2O_TV(cx, tv->items[j]) : NULL;
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

void p2o_set_tensor_list(p2o_cx *cx, const pts_node *n, uint32_t k,
			 const uint32_t *vals, uint32_t count)
{
	assert(k < n->n_out);
	/* A list's items are tv entries: these get entries of their own past
	 * the TorchScript values', so every list consumer works unchanged. */
	uint32_t *items = p2o_alloc(cx, sizeof *items * (count ? count : 1));
	for (uint32_t j = 0; j < count; j++) {
		assert(vals[j] != P2O_NOVAL);
		uint32_t id = p2o_tv_new(cx);
		P2O_TV(cx, id).kind = P2O_TV_TENSOR;
		P2O_TV(cx, id).onnx = vals[j];
		items[j] = id;
	}
	p2o_tv *tv = &P2O_TV(cx, n->out[k]);
	tv->kind = P2O_TV_LIST;
	tv->onnx = P2O_NOVAL;
	tv->n = count;
	tv->items = items;
}

void p2o_set_tensor(p2o_cx *cx, const pts_node *n, uint32_t k, uint32_t id)
{
	assert(k < n->n_out && id != P2O_NOVAL);
	uint32_t tid = n->out[k];
	p2o_tv *tv = &P2O_TV(cx, tid);
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
	p2o_tv *tv = &P2O_TV(cx, n->out[k]);
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

/* ---- arguments by schema ------------------------------------------------- */

/* What a type code reads, and which schema types it may read. */
enum code { C_T, C_I, C_IS, C_F, C_B, C_S, C_DTYPE, C_SH, C_ANY };

static const struct {
	const char *name;
	int code;
	const char *what;       /* for "must be a constant ..." */
} codes[] = {
	{ "t", C_T, "tensor" },      { "i", C_I, "int" },
	{ "is", C_IS, "int list" },  { "f", C_F, "number" },
	{ "b", C_B, "bool" },        { "s", C_S, "string" },
	{ "dtype", C_DTYPE, "dtype" }, { "sh", C_SH, "int list" },
	{ "n", C_ANY, "value" },     { "v", C_ANY, "value" },
};

/* Whether code can read an argument the schema declares as type: a
 * mismatch is a handler bug, reported rather than misread. */
static bool readable(int code, int type)
{
	switch (code) {
	case C_T: /* numbers and int lists become tensors too */
		return type == PTS_T_TENSOR || type == PTS_T_ANY ||
		       type == PTS_T_INT || type == PTS_T_FLOAT ||
		       type == PTS_T_BOOL || type == PTS_T_SCALAR ||
		       type == PTS_T_INTS;
	case C_I:
		return type == PTS_T_INT || type == PTS_T_BOOL ||
		       type == PTS_T_SCALAR || type == PTS_T_SCALARTYPE ||
		       type == PTS_T_LAYOUT || type == PTS_T_MEMFORMAT;
	case C_IS:
	case C_SH:
		return type == PTS_T_INTS || type == PTS_T_INT ||
		       (code == C_SH && type == PTS_T_TENSOR);
	case C_F:
		return type == PTS_T_FLOAT || type == PTS_T_INT ||
		       type == PTS_T_BOOL || type == PTS_T_SCALAR;
	case C_B:
		return type == PTS_T_BOOL || type == PTS_T_INT;
	case C_S:
		return type == PTS_T_STR;
	case C_DTYPE:
		return type == PTS_T_SCALARTYPE || type == PTS_T_INT;
	default:
		return true;
	}
}

/* The argument of s named by one of the '|'-separated names in
 * names[0..len), and its position. */
static const pts_arg *find_arg(const pts_schema *s, const char *names,
			       size_t len, uint32_t *pos)
{
	const char *end = names + len;
	while (names < end) {
		const char *bar = memchr(names, '|', (size_t)(end - names));
		size_t l = (size_t)((bar ? bar : end) - names);
		for (uint32_t j = 0; j < s->n_args; j++)
			if (strlen(s->args[j].name) == l &&
			    memcmp(s->args[j].name, names, l) == 0) {
				*pos = j;
				return &s->args[j];
			}
		names += l + (bar != NULL);
	}
	return NULL;
}

/* Describes what a constant is, for "must be a constant X (it is Y)". */
static const char *const_kind(const pts_const *k)
{
	switch (k->kind) {
	case PTS_C_NONE: return "None";
	case PTS_C_INT: return "an int";
	case PTS_C_FLOAT: return "a float";
	case PTS_C_BOOL: return "a bool";
	case PTS_C_STRING: return "a string";
	case PTS_C_INTS: return "an int list";
	case PTS_C_FLOATS: return "a float list";
	case PTS_C_BOOLS: return "a bool list";
	case PTS_C_TENSOR: return "a tensor";
	case PTS_C_DEVICE: return "a device";
	default: return "a constant of another kind";
	}
}

static int bad_arg(p2o_cx *cx, const pts_arg *d, const pts_const *k,
		   const char *what)
{
	if (!k)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"argument '%s' must be a constant %s (it is "
				"computed at run time)", d->name, what);
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"argument '%s' must be a constant %s (it is %s)",
			d->name, what, const_kind(k));
}

/* Decodes one argument whose schema entry and position are known. */
static int decode(p2o_cx *cx, const pts_node *n, const pts_arg *d,
		  uint32_t pos, int code, const char *what, bool opt,
		  p2o_arg *a)
{
	a->decl = d;
	a->idx = pos < n->n_in ? (int32_t)pos : -1;
	if (a->idx >= 0)
		a->k = p2o_konst(cx, n, pos);
	else if (d->deflt)
		a->k = d->deflt;
	else
		return p2o_fail(cx, P2O_ERR_MODEL,
				"argument '%s' is missing and has no default",
				d->name);
	const pts_const *k = a->k;
	a->none = k && k->kind == PTS_C_NONE;
	if (a->none) {
		if (opt || code == C_ANY)
			return P2O_OK;
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"argument '%s' must be a %s, not None", d->name,
				what);
	}
	switch (code) {
	case C_T:
		if (a->idx >= 0)
			a->tensor = p2o_arg_tensor(cx, n, pos);
		else if (k->kind == PTS_C_INT || k->kind == PTS_C_BOOL)
			a->tensor = p2o_const_scalar(cx, k->kind == PTS_C_INT ?
							 P2O_INT64 : P2O_BOOL,
						     (double)k->i);
		else if (k->kind == PTS_C_FLOAT)
			a->tensor = p2o_const_scalar(cx, P2O_FLOAT, k->f);
		else
			return bad_arg(cx, d, k, what);
		return a->tensor == P2O_NOVAL ? P2O_ERR_UNSUPPORTED : P2O_OK;
	case C_SH:
		a->tensor = a->idx >= 0 ? p2o_arg_shape(cx, n, pos) :
			    k->kind == PTS_C_INTS ? p2o_const_i64s(cx, k->ints, k->n) :
			    k->kind == PTS_C_INT ? p2o_const_i64s(cx, &k->i, 1) :
						   P2O_NOVAL;
		if (a->tensor == P2O_NOVAL && a->idx < 0)
			return bad_arg(cx, d, k, what);
		return a->tensor == P2O_NOVAL ? P2O_ERR_UNSUPPORTED : P2O_OK;
	case C_ANY:
		return P2O_OK;
	default:
		break;
	}
	bool ok = k != NULL;
	if (ok) {
		switch (code) {
		case C_I:
		case C_B:
		case C_DTYPE:
			ok = k->kind == PTS_C_INT || k->kind == PTS_C_BOOL;
			a->i = k->i;
			a->b = k->i != 0;
			a->f = (double)k->i;
			break;
		case C_F:
			ok = k->kind == PTS_C_INT || k->kind == PTS_C_BOOL ||
			     k->kind == PTS_C_FLOAT;
			a->f = k->kind == PTS_C_FLOAT ? k->f : (double)k->i;
			break;
		case C_IS:
			ok = k->kind == PTS_C_INTS || k->kind == PTS_C_INT;
			a->ints = k->kind == PTS_C_INT ? &k->i : k->ints;
			a->n = k->kind == PTS_C_INT ? 1 : k->n;
			break;
		case C_S:
			ok = k->kind == PTS_C_STRING;
			a->s = k->s;
			break;
		}
	}
	if (!ok)
		return bad_arg(cx, d, k, what);
	if (code == C_DTYPE && !(a->dtype = p2o_dtype_from_torch(a->i)))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"argument '%s' is torch dtype %lld, which has "
				"no ONNX equivalent", d->name, (long long)a->i);
	return P2O_OK;
}

int p2o_args(p2o_cx *cx, const pts_node *n, const char *spec, p2o_arg *out)
{
	const pts_schema *s = n->schema;
	if (!s)
		return p2o_fail(cx, P2O_ERR_INTERNAL,
				"%s has no schema to read its arguments by",
				n->kind);
	const char *p = spec;
	for (size_t k = 0;; k++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return P2O_OK;
		size_t len = strcspn(p, " ");
		const char *colon = memchr(p, ':', len);
		assert(colon && "p2o_args spec entries are NAME:CODE");
		size_t nlen = (size_t)(colon - p);
		size_t clen = len - nlen - 1;
		bool opt = clen && colon[clen] == '?';
		clen -= opt;
		int code = -1;
		const char *what = "value";
		for (size_t c = 0; c < sizeof codes / sizeof *codes; c++)
			if (strlen(codes[c].name) == clen &&
			    memcmp(codes[c].name, colon + 1, clen) == 0) {
				code = codes[c].code;
				what = codes[c].what;
			}
		assert(code >= 0 && "unknown p2o_args type code");
		p2o_arg *a = &out[k];
		memset(a, 0, sizeof *a);
		a->idx = -1;
		a->tensor = P2O_NOVAL;
		uint32_t pos;
		const pts_arg *d = find_arg(s, p, nlen, &pos);
		if (!d) {
			a->none = true;
			if (!opt)
				return p2o_fail(cx, P2O_ERR_INTERNAL,
						"the handler reads argument '%.*s', "
						"which %s%s%s does not have",
						(int)nlen, p, s->name,
						*s->overload ? "." : "", s->overload);
		} else if (code < 0 || !readable(code, d->type)) {
			return p2o_fail(cx, P2O_ERR_INTERNAL,
					"the handler reads argument '%s' as "
					"'%.*s', which its schema type does not "
					"allow", d->name, (int)(len - nlen - 1),
					colon + 1);
		} else {
			int rc = decode(cx, n, d, pos, code, what, opt, a);
			if (rc)
				return rc;
		}
		p += len;
	}
}

int p2o_arg_ints_to(p2o_cx *cx, const p2o_arg *a, int64_t *v, size_t max,
		    size_t *count)
{
	if (a->n > max)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"argument '%s' has %zu entries, at most %zu "
				"supported", a->decl ? a->decl->name : "?", a->n,
				max);
	if (a->n)
		memcpy(v, a->ints, sizeof *v * a->n);
	*count = a->n;
	return P2O_OK;
}

bool p2o_overload_is(const pts_node *n, const char *ov)
{
	return n->schema && strcmp(n->schema->overload, ov) == 0;
}
