/* ir.c — the converter's ONNX IR: values, nodes, attributes, initializers,
 * unique names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHUNK ((uint32_t)1 << P2O_CHUNK_BITS)

p2o_val *p2o_v(p2o_cx *cx, uint32_t id)
{
	assert(id < cx->n_vals);
	return &cx->val_chunks[id >> P2O_CHUNK_BITS][id & (CHUNK - 1)];
}

const p2o_type *p2o_t(p2o_cx *cx, uint32_t id)
{
	return &p2o_v(cx, id)->t;
}

p2o_node *p2o_n(p2o_cx *cx, uint32_t node)
{
	assert(node < cx->n_nodes);
	return &cx->node_chunks[node >> P2O_CHUNK_BITS][node & (CHUNK - 1)];
}

/* Room for item n of a chunked store: a new zeroed arena chunk every
 * CHUNK items; the directory of chunks is the only thing that moves. */
static void *chunk_slot(p2o_cx *cx, void ***dir, uint32_t *n_chunks,
			uint32_t *cap, uint32_t n, size_t sz)
{
	uint32_t c = n >> P2O_CHUNK_BITS;
	if (c == *n_chunks) {
		p2o_grow(cx, (void **)dir, cap, c + 1, sizeof **dir);
		(*dir)[c] = p2o_alloc(cx, sz * CHUNK);
		(*n_chunks)++;
	}
	return (char *)(*dir)[c] + sz * (n & (CHUNK - 1));
}

p2o_tv *p2o_tvp(p2o_cx *cx, uint32_t id)
{
	assert(id < cx->n_tv);
	return &cx->tv_chunks[id >> P2O_CHUNK_BITS][id & (CHUNK - 1)];
}

uint32_t p2o_tv_new(p2o_cx *cx)
{
	p2o_tv *tv = chunk_slot(cx, (void ***)&cx->tv_chunks, &cx->n_tv_chunks,
				&cx->cap_tv_chunks, cx->n_tv, sizeof *tv);
	memset(tv, 0, sizeof *tv);
	tv->onnx = P2O_NOVAL;
	return cx->n_tv++;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The name set's entry for s: found, or the empty slot where it goes. */
static struct p2o_name *name_slot(p2o_cx *cx, const char *s)
{
	if ((cx->names_used + 1) * 2 > cx->names_cap) {
		uint32_t ncap = cx->names_cap ? cx->names_cap * 2 : 256;
		struct p2o_name *nt = calloc(ncap, sizeof *nt);
		if (!nt)
			p2o_oom(cx);
		for (uint32_t i = 0; i < cx->names_cap; i++) {
			if (!cx->names[i].s)
				continue;
			uint32_t j = (uint32_t)(hash_str(cx->names[i].s) & (ncap - 1));
			while (nt[j].s)
				j = (j + 1) & (ncap - 1);
			nt[j] = cx->names[i];
		}
		free(cx->names);
		cx->names = nt;
		cx->names_cap = ncap;
	}
	uint32_t mask = cx->names_cap - 1;
	uint32_t j = (uint32_t)(hash_str(s) & mask);
	while (cx->names[j].s && strcmp(cx->names[j].s, s) != 0)
		j = (j + 1) & mask;
	return &cx->names[j];
}

/* Inserts s (arena-owned) unless present; returns whether inserted. */
static bool name_insert(p2o_cx *cx, const char *s)
{
	struct p2o_name *e = name_slot(cx, s);
	if (e->s)
		return false;
	e->s = s;
	e->next = 1;
	cx->names_used++;
	return true;
}

const char *p2o_unique_name(p2o_cx *cx, const char *base)
{
	const char *s = p2o_strdup(cx, base);
	if (name_insert(cx, s))
		return s;
	/* Taken: try base_k from where the last such name stopped. A k may
	 * still be taken by a name given outright, hence the loop. */
	uint32_t k = name_slot(cx, base)->next;
	do
		s = p2o_fmt(cx, "%s_%u", base, k++);
	while (!name_insert(cx, s));
	name_slot(cx, base)->next = k; /* the set may have been rehashed */
	return s;
}

uint32_t p2o_val_new(p2o_cx *cx, const char *base, bool named)
{
	p2o_val *v = chunk_slot(cx, (void ***)&cx->val_chunks,
				&cx->n_val_chunks, &cx->cap_val_chunks,
				cx->n_vals, sizeof *v);
	uint32_t id = cx->n_vals++;
	memset(v, 0, sizeof *v);
	v->name = p2o_unique_name(cx, base);
	v->named = named;
	v->producer = -1;
	v->n_known = -1;
	v->t.rank = -1;
	return id;
}

void p2o_set_type(p2o_cx *cx, uint32_t id, int dtype, int rank,
		  const p2o_dim *dims)
{
	p2o_val *v = p2o_v(cx, id);
	v->t.dtype = dtype;
	v->t.rank = rank;
	v->t.dims = NULL;
	if (rank > 0) {
		v->t.dims = p2o_alloc(cx, sizeof(p2o_dim) * (size_t)rank);
		for (int i = 0; i < rank; i++) {
			if (dims)
				v->t.dims[i] = dims[i];
			else
				v->t.dims[i].v = -1;
		}
	}
}

uint32_t p2o_initializer(p2o_cx *cx, const p2o_tensor *t, const char *name)
{
	uint32_t id = p2o_val_new(cx, name ? name : "onnx::c", name != NULL);
	p2o_val *v = p2o_v(cx, id);
	v->init = t;
	p2o_dim dims[P2O_MAX_RANK];
	for (int i = 0; i < t->rank && i < P2O_MAX_RANK; i++)
		dims[i] = (p2o_dim){ t->dims[i], NULL };
	p2o_set_type(cx, id, t->dtype, t->rank, dims);
	return id;
}

uint32_t p2o_node_new(p2o_cx *cx, const char *op, uint32_t n_in,
		      const uint32_t *in, uint32_t n_out)
{
	p2o_node *nd = chunk_slot(cx, (void ***)&cx->node_chunks,
				  &cx->n_node_chunks, &cx->cap_node_chunks,
				  cx->n_nodes, sizeof *nd);
	uint32_t idx = cx->n_nodes++;
	memset(nd, 0, sizeof *nd);
	nd->op = op;
	nd->from = cx->cur; /* ---- report ---- */
	nd->name = p2o_fmt(cx, "%s_%u", op, idx);
	nd->n_in = n_in;
	nd->in = p2o_memdup(cx, in, sizeof *in * n_in);
	nd->n_out = n_out;
	nd->out = p2o_alloc(cx, sizeof *nd->out * (n_out ? n_out : 1));
	char base[64];
	snprintf(base, sizeof base, "onnx::%s_%u", op, cx->n_vals);
	for (uint32_t k = 0; k < n_out; k++) {
		uint32_t v = p2o_val_new(cx, base, false);
		nd->out[k] = v;
		p2o_v(cx, v)->producer = (int32_t)idx;
	}
	return idx;
}

static p2o_attr *attr_add(p2o_cx *cx, uint32_t node, const char *name,
			  int type)
{
	p2o_node *nd = p2o_n(cx, node);
	if (nd->n_attr == nd->cap_attr) {
		uint32_t nc = nd->cap_attr ? nd->cap_attr * 2 : 4;
		p2o_attr *na = p2o_alloc(cx, sizeof *na * nc);
		if (nd->n_attr)
			memcpy(na, nd->attrs, sizeof *na * nd->n_attr);
		nd->attrs = na;
		nd->cap_attr = nc;
	}
	p2o_attr *a = &nd->attrs[nd->n_attr++];
	a->name = name;
	a->type = type;
	return a;
}

void p2o_attr_int(p2o_cx *cx, uint32_t node, const char *name, int64_t v)
{
	attr_add(cx, node, name, P2O_AT_INT)->i = v;
}

void p2o_attr_float(p2o_cx *cx, uint32_t node, const char *name, float v)
{
	attr_add(cx, node, name, P2O_AT_FLOAT)->f = v;
}

void p2o_attr_str(p2o_cx *cx, uint32_t node, const char *name, const char *v)
{
	attr_add(cx, node, name, P2O_AT_STRING)->s = p2o_strdup(cx, v);
}

void p2o_attr_ints(p2o_cx *cx, uint32_t node, const char *name,
		   const int64_t *v, size_t n)
{
	p2o_attr *a = attr_add(cx, node, name, P2O_AT_INTS);
	a->n = n;
	a->ints = p2o_memdup(cx, v, sizeof *v * n);
}

void p2o_attr_floats(p2o_cx *cx, uint32_t node, const char *name,
		     const float *v, size_t n)
{
	p2o_attr *a = attr_add(cx, node, name, P2O_AT_FLOATS);
	a->n = n;
	a->floats = p2o_memdup(cx, v, sizeof *v * n);
}

void p2o_attr_tensor(p2o_cx *cx, uint32_t node, const char *name,
		     const p2o_tensor *t)
{
	attr_add(cx, node, name, P2O_AT_TENSOR)->t = t;
}

const p2o_attr *p2o_attr_get(const p2o_node *n, const char *name)
{
	for (uint32_t i = 0; i < n->n_attr; i++)
		if (strcmp(n->attrs[i].name, name) == 0)
			return &n->attrs[i];
	return NULL;
}

uint32_t p2o_node_done(p2o_cx *cx, uint32_t node)
{
	if (p2o_infer(cx, node) != P2O_OK)
		return P2O_NOVAL;
	return p2o_n(cx, node)->out[0];
}

uint32_t p2o_op1(p2o_cx *cx, const char *op, uint32_t a)
{
	if (a == P2O_NOVAL)
		return P2O_NOVAL;
	return p2o_node_done(cx, p2o_node_new(cx, op, 1, &a, 1));
}

uint32_t p2o_op2(p2o_cx *cx, const char *op, uint32_t a, uint32_t b)
{
	if (a == P2O_NOVAL || b == P2O_NOVAL)
		return P2O_NOVAL;
	uint32_t in[2] = { a, b };
	return p2o_node_done(cx, p2o_node_new(cx, op, 2, in, 1));
}
