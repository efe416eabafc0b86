/* knobs.c — torch.onnx.export's parameters that change the model rather
 * than the walk: the options kept for the writer, weights as graph inputs
 * (--no-export-params), ONNX-level constant folding and initializer
 * deduplication (on unless --no-constant-folding), and node names from
 * module paths (--node-names).
 *
 * Folding evaluates nodes whose inputs are all initializers, in the graph's
 * topological order (so chains fold in one sweep), for the ops and dtypes
 * whose results this file computes exactly as ONNX Runtime does; anything
 * else (float16, overflow, an integer division by zero, a NaN cast to an
 * integer) is left as a node. Ops that only relabel dims (Reshape,
 * Unsqueeze, Squeeze, Flatten, Identity) fold without copying: the new
 * initializer points at the input's data. Deduplication hashes each live
 * initializer once (dtype, dims, bytes) into an open-addressing table:
 * linear in the weight bytes, no copy. */
#include <math.h>
#include <string.h>

#include "internal.h"

/* Computing ops fold only small tensors: what they make is new memory. */
#define FOLD_MAX_ELEMS 65536

int p2o_take_knobs(p2o_cx *cx, const p2o_options *opt)
{
	p2o_options *k = &cx->knobs;
	*k = *opt;
	k->inputs = NULL; /* only the knob fields are kept */
	k->input_names = k->output_names = NULL;
	if (k->training < P2O_TRAINING_EVAL || k->training > P2O_TRAINING_TRAIN)
		return p2o_fail_graph(cx, P2O_ERR_USAGE, "training mode %d is not "
				      "eval, preserve or train", k->training);
	if (k->producer_name) {
		if (!*k->producer_name)
			return p2o_fail_graph(cx, P2O_ERR_USAGE,
					      "empty producer name");
		k->producer_name = p2o_strdup(cx, k->producer_name);
	}
	p2o_opset_id *os = p2o_alloc(cx, sizeof *os * (k->n_custom_opsets + 1));
	for (size_t i = 0; i < k->n_custom_opsets; i++) {
		const p2o_opset_id *o = &opt->custom_opsets[i];
		if (!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0)
			return p2o_fail_graph(cx, P2O_ERR_USAGE, "custom opset "
					      "'%s': the default domain's version "
					      "is the opset", o->domain ? o->domain : "");
		if (o->version < 1)
			return p2o_fail_graph(cx, P2O_ERR_USAGE, "custom opset "
					      "'%s': version %lld is not >= 1",
					      o->domain, (long long)o->version);
		/* A handful of domains: the pairwise check is cheap. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(os[j].domain, o->domain) == 0)
				return p2o_fail_graph(cx, P2O_ERR_USAGE, "custom "
						      "opset '%s' given twice",
						      o->domain);
		os[i] = (p2o_opset_id){ p2o_strdup(cx, o->domain), o->version };
	}
	k->custom_opsets = os;
	p2o_metadata *md = p2o_alloc(cx, sizeof *md * (k->n_metadata + 1));
	for (size_t i = 0; i < k->n_metadata; i++) {
		const p2o_metadata *m = &opt->metadata[i];
		if (!m->key || !*m->key)
			return p2o_fail_graph(cx, P2O_ERR_USAGE,
					      "metadata with an empty key");
		for (size_t j = 0; j < i; j++)
			if (strcmp(md[j].key, m->key) == 0)
				return p2o_fail_graph(cx, P2O_ERR_USAGE, "metadata "
						      "key '%s' given twice",
						      m->key);
		md[i] = (p2o_metadata){ p2o_strdup(cx, m->key),
					p2o_strdup(cx, m->value ? m->value : "") };
	}
	k->metadata = md;
	cx->train = pts_training(cx->model);
	return P2O_OK;
}

/* --no-export-params: each parameter or buffer the graph reads becomes a
 * graph input named after its state_dict key, after forward()'s inputs,
 * in state_dict order. Constants that are not parameters (and what
 * TorchScript computed from parameters while freezing) stay initializers. */
int p2o_params_as_inputs(p2o_cx *cx)
{
	if (!cx->knobs.no_export_params)
		return P2O_OK;
	const char *const *names;
	const uint32_t *values;
	size_t n = pts_params(cx->model, &names, &values);
	uint32_t *in = p2o_alloc(cx, sizeof *in * (cx->n_inputs + n + 1));
	memcpy(in, cx->inputs, sizeof *in * cx->n_inputs);
	cx->inputs = in;
	for (size_t i = 0; i < n; i++) {
		if (values[i] == UINT32_MAX)
			continue;
		const p2o_tv *tv = &P2O_TV(cx, values[i]);
		if (tv->kind != P2O_TV_CONST || tv->onnx == P2O_NOVAL)
			continue; /* read as a constant argument, or not at all */
		p2o_val *v = p2o_v(cx, tv->onnx);
		if (!v->init)
			continue;
		v->init = NULL;
		v->graph_input = true;
		v->named = true;
		v->name = p2o_unique_name(cx, names[i]);
		cx->inputs[cx->n_inputs++] = tv->onnx;
	}
	return P2O_OK;
}

/* ---- constant folding ---------------------------------------------------- */

static bool foldable_dtype(int dt)
{
	return dt == P2O_FLOAT || dt == P2O_DOUBLE || dt == P2O_INT64 ||
	       dt == P2O_INT32 || dt == P2O_BOOL;
}

static int64_t get_i(const p2o_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case P2O_INT64: return ((const int64_t *)t->data)[i];
	case P2O_INT32: return ((const int32_t *)t->data)[i];
	case P2O_BOOL: return ((const uint8_t *)t->data)[i] != 0;
	}
	assert(!"get_i of a float tensor");
	return 0;
}

static double get_f(const p2o_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case P2O_FLOAT: return ((const float *)t->data)[i];
	case P2O_DOUBLE: return ((const double *)t->data)[i];
	}
	return (double)get_i(t, i);
}

static int64_t numel_of(int rank, const int64_t *dims)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= dims[i];
	return n;
}

/* A new arena tensor with o's (known) type. */
static p2o_tensor *new_tensor(p2o_cx *cx, const p2o_val *o, int dtype)
{
	p2o_tensor *t = p2o_alloc(cx, sizeof *t);
	int64_t *dims = p2o_alloc(cx, sizeof *dims * (size_t)(o->t.rank + 1));
	for (int i = 0; i < o->t.rank; i++)
		dims[i] = o->t.dims[i].v;
	t->dtype = dtype;
	t->rank = o->t.rank;
	t->dims = dims;
	t->nbytes = (size_t)numel_of(t->rank, dims) * p2o_dtype_size(dtype);
	t->data = p2o_alloc(cx, t->nbytes ? t->nbytes : 1);
	return t;
}

/* A value whose contents inference knows to be numbers (a Shape of static
 * dims, arithmetic on such): those numbers. */
static const p2o_tensor *from_known(p2o_cx *cx, const p2o_val *o)
{
	if (o->n_known < 0 || o->t.dtype != P2O_INT64 || o->t.rank < 0 ||
	    o->t.rank > 1 || !p2o_dims_known(&o->t) ||
	    p2o_numel(&o->t) != o->n_known)
		return NULL;
	for (int32_t i = 0; i < o->n_known; i++)
		if (o->known[i].v < 0 || o->known[i].sym)
			return NULL;
	p2o_tensor *t = new_tensor(cx, o, P2O_INT64);
	for (int32_t i = 0; i < o->n_known; i++)
		((int64_t *)t->data)[i] = o->known[i].v;
	return t;
}

/* Stores v as element k of an int64 or int32 y; false when it does not
 * fit (ONNX Runtime's wrap-around is not C's to promise). */
static bool store_int(p2o_tensor *y, int64_t k, int64_t v)
{
	if (y->dtype == P2O_INT64) {
		((int64_t *)y->data)[k] = v;
		return true;
	}
	if (v < INT32_MIN || v > INT32_MAX)
		return false;
	((int32_t *)y->data)[k] = (int32_t)v;
	return true;
}

/* Cast of one element; false when ONNX Runtime's result is not defined
 * by C's (NaN or out-of-range to an integer, narrowing an int64). */
static bool cast_elem(const p2o_tensor *x, int64_t i, p2o_tensor *y, int64_t k)
{
	bool fx = p2o_dtype_is_float(x->dtype);
	switch (y->dtype) {
	case P2O_FLOAT:
		((float *)y->data)[k] = fx ? (float)get_f(x, i) : (float)get_i(x, i);
		return true;
	case P2O_DOUBLE:
		((double *)y->data)[k] = fx ? get_f(x, i) : (double)get_i(x, i);
		return true;
	case P2O_BOOL:
		((uint8_t *)y->data)[k] = fx ? get_f(x, i) != 0 : get_i(x, i) != 0;
		return true;
	case P2O_INT64: case P2O_INT32: {
		int64_t v;
		if (fx) {
			double d = get_f(x, i);
			if (!(d > -9.2e18 && d < 9.2e18))
				return false;
			v = (int64_t)d;
		} else {
			v = get_i(x, i);
		}
		return store_int(y, k, v);
	}
	}
	return false;
}

/* The index into an input of dims in_dims (rank in_rank, broadcast to the
 * output's rank out_rank) of the output element at multi-index idx. */
static int64_t bcast_index(const int64_t *idx, int out_rank,
			   const int64_t *in_dims, int in_rank)
{
	int64_t off = 0;
	for (int d = 0; d < in_rank; d++) {
		int od = out_rank - in_rank + d;
		off = off * in_dims[d] + (in_dims[d] == 1 ? 0 : idx[od]);
	}
	return off;
}

static bool arith(const char *op, int dt, const p2o_tensor *a, int64_t ia,
		  const p2o_tensor *b, int64_t ib, p2o_tensor *y, int64_t k)
{
	if (p2o_dtype_is_float(dt)) {
		double x = get_f(a, ia), z = get_f(b, ib), r;
		switch (op[0]) {
		case 'A': r = x + z; break;
		case 'S': r = x - z; break;
		case 'M': r = x * z; break;
		default: r = x / z; break;
		}
		if (dt == P2O_FLOAT)
			((float *)y->data)[k] = (float)r;
		else
			((double *)y->data)[k] = r;
		return true;
	}
	int64_t x = get_i(a, ia), z = get_i(b, ib), r;
	bool ovf = false;
	switch (op[0]) {
	case 'A': ovf = __builtin_add_overflow(x, z, &r); break;
	case 'S': ovf = __builtin_sub_overflow(x, z, &r); break;
	case 'M': ovf = __builtin_mul_overflow(x, z, &r); break;
	default:
		if (z == 0 || (x == INT64_MIN && z == -1))
			return false;
		r = x / z; /* truncation, as ONNX Runtime's integer Div */
		break;
	}
	return !ovf && store_int(y, k, r);
}

static int norm_axis(const p2o_node *nd, int rank)
{
	const p2o_attr *a = p2o_attr_get(nd, "axis");
	int64_t ax = a ? a->i : 0;
	return (int)(ax < 0 ? ax + rank : ax);
}

/* Evaluates nd (all inputs initializers, output o of known type) or
 * returns NULL. */
static const p2o_tensor *eval_node(p2o_cx *cx, const p2o_node *nd,
				   const p2o_val *o)
{
	const p2o_tensor *in[8] = { 0 };
	if (nd->n_in == 0 || nd->n_in > 8 || !p2o_dims_known(&o->t) ||
	    o->t.rank < 0)
		return NULL;
	for (uint32_t j = 0; j < nd->n_in; j++) {
		if (nd->in[j] == P2O_NOVAL)
			continue;
		in[j] = p2o_v(cx, nd->in[j])->init;
		if (!in[j])
			return NULL;
	}
	const char *op = nd->op;
	const p2o_tensor *x = in[0];
	int64_t n = p2o_numel(&o->t);
	if (!x)
		return NULL;
	/* Relabelling dims: the same bytes, no copy. */
	if (strcmp(op, "Reshape") == 0 || strcmp(op, "Unsqueeze") == 0 ||
	    strcmp(op, "Squeeze") == 0 || strcmp(op, "Flatten") == 0 ||
	    strcmp(op, "Identity") == 0) {
		if (o->t.dtype != x->dtype ||
		    numel_of(x->rank, x->dims) != n)
			return NULL;
		p2o_tensor *t = p2o_alloc(cx, sizeof *t);
		int64_t *dims = p2o_alloc(cx, sizeof *dims * (size_t)(o->t.rank + 1));
		for (int i = 0; i < o->t.rank; i++)
			dims[i] = o->t.dims[i].v;
		*t = (p2o_tensor){ x->dtype, o->t.rank, dims, x->data, x->nbytes };
		return t;
	}
	if (n > FOLD_MAX_ELEMS || !foldable_dtype(o->t.dtype))
		return NULL;
	for (uint32_t j = 0; j < nd->n_in; j++)
		if (in[j] && !foldable_dtype(in[j]->dtype))
			return NULL;
	if (strcmp(op, "Cast") == 0) {
		p2o_tensor *y = new_tensor(cx, o, o->t.dtype);
		for (int64_t i = 0; i < n; i++)
			if (!cast_elem(x, i, y, i))
				return NULL;
		return y;
	}
	if (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 ||
	    strcmp(op, "Mul") == 0 || strcmp(op, "Div") == 0) {
		const p2o_tensor *b = in[1];
		if (!b || x->dtype != b->dtype || x->dtype != o->t.dtype ||
		    x->dtype == P2O_BOOL || x->rank > o->t.rank ||
		    b->rank > o->t.rank)
			return NULL;
		p2o_tensor *y = new_tensor(cx, o, o->t.dtype);
		int64_t idx[P2O_MAX_RANK] = { 0 };
		for (int64_t k = 0; k < n; k++) {
			if (!arith(op, x->dtype, x,
				   bcast_index(idx, y->rank, x->dims, x->rank), b,
				   bcast_index(idx, y->rank, b->dims, b->rank), y, k))
				return NULL;
			for (int d = y->rank - 1; d >= 0; d--) {
				if (++idx[d] < y->dims[d])
					break;
				idx[d] = 0;
			}
		}
		return y;
	}
	if (strcmp(op, "Neg") == 0 && x->dtype == o->t.dtype) {
		p2o_tensor *y = new_tensor(cx, o, o->t.dtype);
		for (int64_t i = 0; i < n; i++) {
			if (x->dtype == P2O_FLOAT)
				((float *)y->data)[i] = -((const float *)x->data)[i];
			else if (x->dtype == P2O_DOUBLE)
				((double *)y->data)[i] = -((const double *)x->data)[i];
			else if (x->dtype == P2O_INT64 && get_i(x, i) != INT64_MIN)
				((int64_t *)y->data)[i] = -get_i(x, i);
			else if (x->dtype == P2O_INT32 && get_i(x, i) != INT32_MIN)
				((int32_t *)y->data)[i] = (int32_t)-get_i(x, i);
			else
				return NULL;
		}
		return y;
	}
	size_t es = p2o_dtype_size(o->t.dtype);
	if (strcmp(op, "Concat") == 0) {
		int ax = norm_axis(nd, o->t.rank);
		if (ax < 0 || ax >= o->t.rank)
			return NULL;
		p2o_tensor *y = new_tensor(cx, o, o->t.dtype);
		int64_t outer = numel_of(ax, y->dims);
		int64_t inner = numel_of(y->rank - ax - 1, y->dims + ax + 1);
		int64_t ybase = 0; /* offset along the axis so far */
		for (uint32_t j = 0; j < nd->n_in; j++) {
			const p2o_tensor *p = in[j];
			if (!p || p->dtype != y->dtype || p->rank != y->rank)
				return NULL;
			int64_t len = p->dims[ax];
			for (int64_t a = 0; a < outer; a++)
				memcpy((char *)y->data +
					       (size_t)((a * y->dims[ax] + ybase) *
							inner) * es,
				       (const char *)p->data +
					       (size_t)(a * len * inner) * es,
				       (size_t)(len * inner) * es);
			ybase += len;
		}
		return ybase == y->dims[ax] ? y : NULL;
	}
	if (strcmp(op, "Gather") == 0) {
		const p2o_tensor *ix = in[1];
		int ax = norm_axis(nd, x->rank);
		if (!ix || ax < 0 || ax >= x->rank || x->dtype != o->t.dtype ||
		    (ix->dtype != P2O_INT64 && ix->dtype != P2O_INT32) ||
		    o->t.rank != x->rank - 1 + ix->rank)
			return NULL;
		p2o_tensor *y = new_tensor(cx, o, o->t.dtype);
		int64_t outer = numel_of(ax, x->dims);
		int64_t inner = numel_of(x->rank - ax - 1, x->dims + ax + 1);
		int64_t ni = numel_of(ix->rank, ix->dims), len = x->dims[ax];
		for (int64_t a = 0; a < outer; a++)
			for (int64_t i = 0; i < ni; i++) {
				int64_t v = get_i(ix, i);
				if (v < 0)
					v += len;
				if (v < 0 || v >= len)
					return NULL;
				memcpy((char *)y->data +
					       (size_t)((a * ni + i) * inner) * es,
				       (const char *)x->data +
					       (size_t)((a * len + v) * inner) * es,
				       (size_t)inner * es);
			}
		return y;
	}
	return NULL;
}

void p2o_fold(p2o_cx *cx)
{
	if (cx->knobs.no_constant_folding)
		return;
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		p2o_node *nd = p2o_n(cx, i);
		if (nd->n_out != 1)
			continue;
		p2o_val *o = p2o_v(cx, nd->out[0]);
		if (o->graph_output || o->init)
			continue;
		const p2o_tensor *t = from_known(cx, o);
		if (!t)
			t = eval_node(cx, nd, o);
		if (!t)
			continue;
		/* The output is now an initializer; the dead-code pass drops
		 * the node (see p2o_folded). */
		o->init = t;
		o->producer = -1;
	}
}

bool p2o_folded(p2o_cx *cx, const p2o_node *nd)
{
	for (uint32_t k = 0; k < nd->n_out; k++)
		if (!p2o_v(cx, nd->out[k])->init)
			return false;
	return nd->n_out > 0;
}

/* ---- initializer deduplication -------------------------------------------- */

/* After dead-code removal: every live initializer equal (dtype, dims,
 * bytes) to an earlier one is replaced by it in its readers. */
void p2o_dedup(p2o_cx *cx)
{
	if (cx->knobs.no_constant_folding)
		return;
	uint32_t n = 0;
	for (uint32_t v = 0; v < cx->n_vals; v++)
		n += p2o_v(cx, v)->live && p2o_v(cx, v)->init;
	if (n < 2)
		return;
	uint32_t cap = 4;
	while (cap < 2 * n)
		cap *= 2;
	struct slot { uint64_t h; uint32_t id; } *tab =
		p2o_alloc(cx, sizeof *tab * cap);
	for (uint32_t i = 0; i < cap; i++)
		tab[i].id = P2O_NOVAL;
	uint32_t *alias = NULL;
	for (uint32_t v = 0; v < cx->n_vals; v++) {
		p2o_val *val = p2o_v(cx, v);
		if (!val->live || !val->init || val->graph_output)
			continue;
		uint64_t h = p2o_tensor_hash(val->init);
		uint32_t s = (uint32_t)h & (cap - 1);
		for (; tab[s].id != P2O_NOVAL; s = (s + 1) & (cap - 1))
			if (tab[s].h == h &&
			    p2o_tensor_eq(p2o_v(cx, tab[s].id)->init, val->init))
				break;
		if (tab[s].id == P2O_NOVAL) {
			tab[s] = (struct slot){ h, v };
			continue;
		}
		if (!alias) {
			alias = p2o_alloc(cx, sizeof *alias * cx->n_vals);
			for (uint32_t k = 0; k < cx->n_vals; k++)
				alias[k] = k;
		}
		alias[v] = tab[s].id;
		val->live = false;
	}
	if (!alias)
		return;
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		p2o_node *nd = p2o_n(cx, i);
		for (uint32_t j = 0; j < nd->n_in; j++)
			if (nd->in[j] != P2O_NOVAL)
				nd->in[j] = alias[nd->in[j]];
	}
}

/* ---- node names ------------------------------------------------------------- */

/* --node-names: names as torch.onnx gives them, "/layer1/layer1.0/conv1/
 * Conv": one level per module call, named by its attribute in the parent,
 * a container's index joined to the container's level name ("layer1.0"),
 * then the ONNX op; made unique. */
const char *p2o_scoped_node_name(p2o_cx *cx, const p2o_node *nd)
{
	const char *scope = nd->from ? pts_node_scope(cx->model, nd->from) : "";
	size_t len = strlen(scope);
	/* Each level at most repeats the previous level's name once. */
	char *buf = p2o_alloc(cx, 3 * len + strlen(nd->op) + 4);
	char *o = buf;
	const char *prev = NULL; /* the previous level's name in buf */
	size_t prev_len = 0;
	for (const char *p = scope; *p;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		bool index = n > 0 && strspn(p, "0123456789") >= n;
		*o++ = '/';
		char *level = o;
		if (index && prev) {
			memmove(o, prev, prev_len);
			o += prev_len;
			*o++ = '.';
		}
		memcpy(o, p, n);
		o += n;
		prev = level;
		prev_len = (size_t)(o - level);
		p += n + (dot != NULL);
	}
	*o++ = '/';
	strcpy(o, nd->op);
	return p2o_unique_name(cx, buf);
}
