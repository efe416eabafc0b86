/* report.c — the conversion as data for --report (p2o_get_summary): op
 * counts, how each TorchScript kind converted, graph inputs and outputs,
 * weights. Sorting keeps every table O(n log n) in the graph's nodes. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Collected TorchScript kinds (pointers into the shim's strings). */
struct kinds {
	const char **v;
	size_t n, cap;
};

static void push_kind(p2o_cx *cx, struct kinds *k, const char *kind)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		const char **v = realloc(k->v, cap * sizeof *v);
		if (!v) {
			free(k->v);
			k->v = NULL;
			p2o_oom(cx);
		}
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n++] = kind;
}

/* Every node of b and of the blocks nested in it (prim::If bodies). */
static void collect_kinds(p2o_cx *cx, const pts_block *b, struct kinds *k)
{
	for (uint32_t i = 0; i < b->n_nodes; i++) {
		const pts_node *n = &b->nodes[i];
		push_kind(cx, k, n->kind);
		for (uint32_t j = 0; j < n->n_blocks; j++)
			collect_kinds(cx, &n->blocks[j], k);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A TorchScript kind and an ONNX op type one of its nodes became. */
struct pair {
	const char *kind, *op;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);
	return c ? c : strcmp(x->op, y->op);
}

static void torch_side(p2o_cx *cx, p2o_summary *s, struct kinds *k)
{
	collect_kinds(cx, &cx->g->top, k);
	s->torch_nodes = k->n;
	if (k->n == 0)
		return;
	qsort(k->v, k->n, sizeof *k->v, cmp_str);
	size_t distinct = 1;
	for (size_t i = 1; i < k->n; i++)
		distinct += strcmp(k->v[i], k->v[i - 1]) != 0;
	p2o_op_use *u = p2o_alloc(cx, distinct * sizeof *u);
	size_t m = 0;
	for (size_t i = 0; i < k->n; i++) {
		if (i == 0 || strcmp(k->v[i], k->v[i - 1]) != 0) {
			u[m].kind = k->v[i];
			if (cx->opset) {
				bool inplace;
				const char *table_kind;
				u[m].handler = p2o_handler_name(p2o_find_handler(
					cx, k->v[i], &inplace, &table_kind));
			}
			m++;
		}
		u[m - 1].count++;
	}
	s->torch_ops = u;
	s->n_torch_ops = m;
}

/* ONNX op counts, and for each TorchScript kind the op types its nodes
 * became, from the live nodes (what was written). */
static void onnx_side(p2o_cx *cx, p2o_summary *s, struct pair **pairs)
{
	/* *pairs is the caller's, freed by it also after an allocation
	 * failure jumps out of here. */
	size_t live = 0;
	for (uint32_t i = 0; i < cx->n_nodes; i++)
		live += p2o_n(cx, i)->live;
	s->onnx_nodes = live;
	if (live == 0)
		return;
	const char **ops = p2o_alloc(cx, live * sizeof *ops);
	*pairs = malloc(live * sizeof **pairs);
	if (!*pairs)
		p2o_oom(cx);
	size_t n = 0, np = 0;
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		const p2o_node *nd = p2o_n(cx, i);
		if (!nd->live)
			continue;
		ops[n++] = nd->op;
		if (nd->from)
			(*pairs)[np++] = (struct pair){ nd->from->kind, nd->op };
	}
	qsort(ops, n, sizeof *ops, cmp_str);
	p2o_count *c = p2o_alloc(cx, n * sizeof *c);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(ops[i], ops[i - 1]) != 0)
			c[m++].name = ops[i];
		c[m - 1].count++;
	}
	s->onnx_ops = c;
	s->n_onnx_ops = m;

	/* Both sorted by kind: one merge pass hands each kind its types. */
	qsort(*pairs, np, sizeof **pairs, cmp_pair);
	p2o_op_use *u = (p2o_op_use *)s->torch_ops;
	size_t j = 0;
	for (size_t i = 0; i < s->n_torch_ops; i++) {
		while (j < np && strcmp((*pairs)[j].kind, u[i].kind) < 0)
			j++;
		size_t start = j, distinct = 0;
		for (; j < np && strcmp((*pairs)[j].kind, u[i].kind) == 0; j++)
			distinct += j == start ||
				    strcmp((*pairs)[j].op, (*pairs)[j - 1].op);
		if (!distinct)
			continue;
		const char **v = p2o_alloc(cx, distinct * sizeof *v);
		size_t d = 0;
		for (size_t q = start; q < j; q++)
			if (q == start || strcmp((*pairs)[q].op, (*pairs)[q - 1].op))
				v[d++] = (*pairs)[q].op;
		u[i].onnx = v;
		u[i].n_onnx = d;
	}
}

static const p2o_io *ios(p2o_cx *cx, const uint32_t *ids, uint32_t n)
{
	p2o_io *io = p2o_alloc(cx, (n ? n : 1) * sizeof *io);
	for (uint32_t i = 0; i < n; i++) {
		const p2o_val *v = p2o_v(cx, ids[i]);
		io[i].name = v->name;
		io[i].dtype = v->t.dtype;
		io[i].rank = v->t.rank;
		if (v->t.rank <= 0)
			continue;
		int64_t *dims = p2o_alloc(cx, (size_t)v->t.rank * sizeof *dims);
		const char **syms = p2o_alloc(cx, (size_t)v->t.rank * sizeof *syms);
		for (int d = 0; d < v->t.rank; d++) {
			dims[d] = v->t.dims[d].v >= 0 ? v->t.dims[d].v : -1;
			syms[d] = v->t.dims[d].v >= 0 ? NULL : v->t.dims[d].sym;
		}
		io[i].dims = dims;
		io[i].symbols = syms;
	}
	return io;
}

static void weights(p2o_cx *cx, p2o_summary *s)
{
	enum { NDT = 32 };
	p2o_weight_dtype h[NDT] = { { 0 } };
	for (uint32_t v = 0; v < cx->n_vals; v++) {
		const p2o_val *val = p2o_v(cx, v);
		if (!val->live || !val->init)
			continue;
		int dt = val->init->dtype >= 0 && val->init->dtype < NDT ?
				 val->init->dtype : 0;
		h[dt].dtype = val->init->dtype;
		h[dt].count++;
		h[dt].bytes += val->init->nbytes;
		s->n_weights++;
		s->weight_bytes += val->init->nbytes;
	}
	p2o_weight_dtype *out = p2o_alloc(cx, NDT * sizeof *out);
	for (int i = 0; i < NDT; i++)
		if (h[i].count)
			out[s->n_weight_dtypes++] = h[i];
	s->weight_dtypes = out;
}

const p2o_summary *p2o_get_summary(p2o_ctx *cx)
{
	if (cx->summary)
		return cx->summary;
	/* Malloc'ed scratch, in memory (not registers) across the jump. */
	struct {
		struct kinds k;
		struct pair *pairs;
	} sc = { { 0 }, NULL };
	jmp_buf oom;
	const char *stage = cx->stage;
	cx->stage = "reporting";
	cx->oom = &oom;
	if (setjmp(oom)) {
		free(sc.k.v);
		free(sc.pairs);
		cx->oom = NULL;
		cx->stage = stage;
		return NULL;
	}
	p2o_summary *s = p2o_alloc(cx, sizeof *s);
	s->opset = cx->opset;
	if (cx->g)
		torch_side(cx, s, &sc.k);
	s->inputs = ios(cx, cx->inputs, cx->n_inputs);
	s->n_inputs = cx->n_inputs;
	if (cx->converted) {
		onnx_side(cx, s, &sc.pairs);
		s->outputs = ios(cx, cx->outputs, cx->n_outputs);
		s->n_outputs = cx->n_outputs;
		weights(cx, s);
	}
	free(sc.k.v);
	free(sc.pairs);
	cx->oom = NULL;
	cx->stage = stage;
	cx->summary = s;
	return s;
}

double p2o_freeze_seconds(const p2o_ctx *cx)
{
	return cx->model ? pts_freeze_seconds(cx->model) : -1;
}
