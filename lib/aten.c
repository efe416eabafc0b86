/* aten.c — what torch.onnx.export's operator_export_type and
 * export_modules_as_functions do, over the converted IR:
 *
 * - p2o_fallback: an op with no converter (or whose handler refuses it as
 *   unsupported) exported unconverted, as torch.onnx 1.13 does: an `ATen`
 *   node in domain org.pytorch.aten with string attributes `operator`
 *   (the name without namespace or in-place underscore) and
 *   `overload_name`, or (fallthrough) the node itself in a domain named
 *   after its namespace. Arguments stay inputs, as in torch.onnx: constant
 *   ints, floats, bools and their lists become 0-D/1-D int64, double and
 *   bool tensors, None an omitted input (""). Output dtypes and ranks are
 *   libtorch's shape analysis's for the node alone with the input types
 *   converted so far; what it cannot type is opaque (p2o_val.opaque).
 * - p2o_functions: module instances of chosen types as ONNX local
 *   functions, one FunctionProto per type and distinct converted body.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ATEN_DOMAIN "org.pytorch.aten"

/* A constant tensor of dtype with data copied into the arena (the
 * arguments are small: scalars and short lists). */
static uint32_t small_const(p2o_cx *cx, int dtype, int rank, int64_t n,
			    const void *data, size_t elem)
{
	p2o_tensor *t = p2o_alloc(cx, sizeof *t);
	t->dtype = dtype;
	t->rank = rank;
	if (rank) {
		int64_t *dims = p2o_alloc(cx, sizeof *dims);
		dims[0] = n;
		t->dims = dims;
	}
	t->nbytes = (size_t)n * elem;
	t->data = p2o_memdup(cx, data, t->nbytes ? t->nbytes : 1);
	uint32_t id = p2o_initializer(cx, t, NULL);
	p2o_dim d = { n, NULL };
	p2o_set_type(cx, id, dtype, rank, rank ? &d : NULL);
	return id;
}

/* Node input i as an ATen/fallthrough input: true with *out set (P2O_NOVAL
 * for None), false when it has no tensor form (a string, a device, a list
 * of tensors or of values known only at run time). */
static bool arg_input(p2o_cx *cx, const pts_node *n, uint32_t i, uint32_t *out)
{
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	if (tv->kind == P2O_TV_TENSOR) {
		*out = tv->onnx;
		return true;
	}
	if (tv->kind != P2O_TV_CONST || !tv->k)
		return false;
	const pts_const *k = tv->k;
	switch (k->kind) {
	case PTS_C_NONE:
		*out = P2O_NOVAL;
		return true;
	case PTS_C_INT:
		*out = small_const(cx, P2O_INT64, 0, 1, &k->i, sizeof k->i);
		return true;
	case PTS_C_FLOAT:
		*out = small_const(cx, P2O_DOUBLE, 0, 1, &k->f, sizeof k->f);
		return true;
	case PTS_C_BOOL: {
		uint8_t b = k->i != 0;
		*out = small_const(cx, P2O_BOOL, 0, 1, &b, 1);
		return true;
	}
	case PTS_C_INTS:
		*out = small_const(cx, P2O_INT64, 1, (int64_t)k->n, k->ints,
				   sizeof *k->ints);
		return true;
	case PTS_C_FLOATS:
		*out = small_const(cx, P2O_DOUBLE, 1, (int64_t)k->n, k->floats,
				   sizeof *k->floats);
		return true;
	case PTS_C_BOOLS: {
		uint8_t *b = p2o_alloc(cx, k->n ? k->n : 1);
		for (size_t j = 0; j < k->n; j++)
			b[j] = k->ints[j] != 0;
		*out = small_const(cx, P2O_BOOL, 1, (int64_t)k->n, b, 1);
		return true;
	}
	case PTS_C_TENSOR:
		*out = p2o_value_tensor(cx, n->in[i]);
		return *out != P2O_NOVAL;
	default:
		return false;
	}
}

/* The ONNX types of n's outputs: a tensor's dtype and rank as libtorch's
 * shape analysis finds them for the types its inputs have here (their
 * dims are left unknown: never invented), a number as a 0-D tensor.
 * False for outputs with no tensor form. */
static bool out_types(p2o_cx *cx, const pts_node *n, int *dt, int *rank,
		      bool *scalar)
{
	uint32_t ni = n->n_in ? n->n_in : 1;
	int *idt = p2o_alloc(cx, sizeof *idt * ni);
	int *irk = p2o_alloc(cx, sizeof *irk * ni);
	const int64_t **idims = p2o_alloc(cx, sizeof *idims * ni);
	for (uint32_t i = 0; i < n->n_in; i++) {
		const p2o_tv *tv = p2o_tvin(cx, n, i);
		irk[i] = -1;
		if (tv->kind != P2O_TV_TENSOR || p2o_v(cx, tv->onnx)->opaque)
			continue;
		const p2o_type *t = p2o_t(cx, tv->onnx);
		idt[i] = t->dtype;
		irk[i] = t->rank;
		/* Symbolic sizes are not made up: rank only then. */
		if (t->rank >= 0 && p2o_dims_known(t)) {
			int64_t *d = p2o_alloc(cx, sizeof *d * ((size_t)t->rank + 1));
			for (int k = 0; k < t->rank; k++)
				d[k] = t->dims[k].v;
			idims[i] = d;
		}
	}
	if (pts_node_types(cx->model, n, idt, irk, idims, dt, rank) != PTS_OK)
		for (uint32_t k = 0; k < n->n_out; k++) {
			dt[k] = 0;
			rank[k] = -1;
		}
	for (uint32_t k = 0; k < n->n_out; k++) {
		const pts_value *pv = &cx->g->values[n->out[k]];
		scalar[k] = pv->kind != PTS_V_TENSOR;
		switch (pv->kind) {
		case PTS_V_TENSOR: break;
		case PTS_V_INT: dt[k] = P2O_INT64; rank[k] = 0; break;
		case PTS_V_FLOAT: dt[k] = P2O_DOUBLE; rank[k] = 0; break;
		case PTS_V_BOOL: dt[k] = P2O_BOOL; rank[k] = 0; break;
		default: return false;
		}
	}
	return true;
}

bool p2o_fallback(p2o_cx *cx, const pts_node *n, const char *kind,
		  const char *why)
{
	if (cx->export_type == P2O_EXPORT_ONNX || n->n_blocks || n->aliased_read)
		return false;
	const char *sep = strstr(kind, "::");
	if (!sep || sep == kind || !sep[2])
		return false;
	bool aten = strncmp(kind, "aten::", 6) == 0;
	if (cx->export_type == P2O_EXPORT_ATEN_FALLBACK && !aten)
		return false;
	/* An in-place op writes its input: unconverted, later readers would
	 * read the old value (ONNX has no in-place ops). */
	size_t len = strlen(kind);
	if (kind[len - 1] == '_' && kind[len - 2] != '_')
		return false;
	for (uint32_t k = 0; k < n->n_out; k++) {
		int vk = cx->g->values[n->out[k]].kind;
		if (vk != PTS_V_TENSOR && vk != PTS_V_INT && vk != PTS_V_FLOAT &&
		    vk != PTS_V_BOOL)
			return false;
	}
	uint32_t *in = p2o_alloc(cx, sizeof *in * (n->n_in ? n->n_in : 1));
	for (uint32_t i = 0; i < n->n_in; i++)
		if (!arg_input(cx, n, i, &in[i]))
			return false;
	/* Trailing omitted inputs are dropped, as ONNX writers do. */
	uint32_t n_in = n->n_in;
	while (n_in && in[n_in - 1] == P2O_NOVAL)
		n_in--;
	uint32_t no = n->n_out ? n->n_out : 1;
	int *dts = p2o_alloc(cx, sizeof *dts * no);
	int *ranks = p2o_alloc(cx, sizeof *ranks * no);
	bool *scalars = p2o_alloc(cx, sizeof *scalars * no);
	if (!out_types(cx, n, dts, ranks, scalars))
		return false;
	const char *name = p2o_strdup(cx, sep + 2);
	char *ns = p2o_strdup(cx, kind);
	ns[sep - kind] = '\0';
	bool as_aten = cx->export_type == P2O_EXPORT_ATEN_FALLBACK;
	uint32_t nd = p2o_node_new(cx, as_aten ? "ATen" : name, n_in, in,
				   n->n_out);
	p2o_node *node = p2o_n(cx, nd);
	/* torch.onnx names the domain of aten:: ops org.pytorch.aten and of
	 * any other namespace the namespace itself. */
	node->domain = aten ? ATEN_DOMAIN : ns;
	if (as_aten) {
		p2o_attr_str(cx, nd, "operator", name);
		p2o_attr_str(cx, nd, "overload_name",
			     n->schema ? n->schema->overload : "");
	}
	for (uint32_t k = 0; k < n->n_out; k++) {
		uint32_t v = node->out[k];
		if (!dts[k] || ranks[k] < 0) {
			dts[k] = 0;
			ranks[k] = -1;
			p2o_v(cx, v)->opaque = true;
		}
		p2o_set_type(cx, v, dts[k], ranks[k], NULL);
		p2o_tv *tv = &P2O_TV(cx, n->out[k]);
		tv->kind = P2O_TV_TENSOR;
		tv->onnx = v;
		tv->scalar = scalars[k];
	}
	if (as_aten)
		p2o_fail(cx, P2O_WARN_FALLBACK,
			 "%s: exported as an ATen node (operator '%s', overload "
			 "'%s') in domain " ATEN_DOMAIN
			 ", which ONNX Runtime cannot run",
			 why, name, n->schema ? n->schema->overload : "");
	else
		p2o_fail(cx, P2O_WARN_FALLBACK,
			 "%s: left unconverted as op '%s' in domain '%s', which "
			 "ONNX Runtime cannot run",
			 why, name, node->domain);
	return true;
}

/* ---- local functions -------------------------------------------------------- */

/* "__torch__.torch.nn.modules.linear.___torch_mangle_3.Linear" ->
 * "torch.nn.modules.linear.Linear"; a class of the script's own module
 * ("__torch__.Block") is "__main__.Block", as Python names it. */
static const char *python_name(p2o_cx *cx, const char *q)
{
	if (strncmp(q, "__torch__.", 10) == 0)
		q += 10;
	char *out = p2o_alloc(cx, strlen(q) + 10);
	size_t o = 0;
	for (const char *p = q; *p;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (strncmp(p, "___torch_mangle_", 16) != 0) {
			if (o)
				out[o++] = '.';
			memcpy(out + o, p, l);
			o += l;
		}
		p += l + (dot != NULL);
	}
	out[o] = '\0';
	if (!strchr(out, '.'))
		return p2o_fmt(cx, "__main__.%s", out);
	return out;
}

/* Whether python name q is one of the requested types (full name, or its
 * last component); every type when the list is NULL. */
static bool wanted(const p2o_options *opt, const char *q)
{
	if (!opt->function_types)
		return true;
	const char *last = strrchr(q, '.');
	last = last ? last + 1 : q;
	for (size_t i = 0; i < opt->n_function_types; i++)
		if (strcmp(opt->function_types[i], q) == 0 ||
		    strcmp(opt->function_types[i], last) == 0)
			return true;
	return false;
}

/* One instance being made a function. */
typedef struct inst {
	const pts_scope *scope;
	const char *qname;       /* python name of its type */
	uint32_t first, last;    /* node ids of its first and last live node */
	uint32_t *nodes, n_nodes, cap_nodes;
	bool broken;             /* its nodes are not contiguous */
} inst;

/* A growing text buffer for body signatures. */
typedef struct sbuf {
	char *s;
	size_t n, cap;
} sbuf;

static void sput(p2o_cx *cx, sbuf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 256;
		while (nc < b->n + n + 1)
			nc *= 2;
		char *ns = realloc(b->s, nc);
		if (!ns)
			p2o_oom(cx);
		b->s = ns;
		b->cap = nc;
	}
	memcpy(b->s + b->n, p, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void sputs(p2o_cx *cx, sbuf *b, const char *s)
{
	sput(cx, b, s, strlen(s) + 1); /* with its NUL: unambiguous */
}

static void sputi(p2o_cx *cx, sbuf *b, int64_t v)
{
	sput(cx, b, &v, sizeof v);
}

/* The body of instance in as text: ops, domains, attributes and inputs
 * numbered by position (formal input k, or the j-th value made in the
 * body), so that two instances of equal bodies give equal texts whatever
 * their value names. local[v] holds that numbering (1-based; inputs
 * negative) and is cleared again. */
static void signature(p2o_cx *cx, const inst *in, const uint32_t *ins,
		      uint32_t n_ins, const uint32_t *outs, uint32_t n_outs,
		      int64_t *local, sbuf *b)
{
	b->n = 0;
	int64_t made = 0;
	for (uint32_t i = 0; i < n_ins; i++)
		local[ins[i]] = -(int64_t)i - 1;
	for (uint32_t k = 0; k < in->n_nodes; k++) {
		const p2o_node *nd = p2o_n(cx, in->nodes[k]);
		sputs(cx, b, nd->op);
		sputs(cx, b, nd->domain ? nd->domain : "");
		sputi(cx, b, nd->n_in);
		for (uint32_t j = 0; j < nd->n_in; j++)
			sputi(cx, b, nd->in[j] == P2O_NOVAL ? 0 : local[nd->in[j]]);
		sputi(cx, b, nd->n_out);
		for (uint32_t j = 0; j < nd->n_out; j++)
			local[nd->out[j]] = ++made;
		sputi(cx, b, nd->n_attr);
		for (uint32_t a = 0; a < nd->n_attr; a++) {
			const p2o_attr *at = &nd->attrs[a];
			sputs(cx, b, at->name);
			sputi(cx, b, at->type);
			switch (at->type) {
			case P2O_AT_INT: sputi(cx, b, at->i); break;
			case P2O_AT_FLOAT: sput(cx, b, &at->f, sizeof at->f); break;
			case P2O_AT_STRING: sputs(cx, b, at->s); break;
			case P2O_AT_INTS:
				sputi(cx, b, (int64_t)at->n);
				sput(cx, b, at->ints, sizeof *at->ints * at->n);
				break;
			case P2O_AT_FLOATS:
				sputi(cx, b, (int64_t)at->n);
				sput(cx, b, at->floats, sizeof *at->floats * at->n);
				break;
			case P2O_AT_TENSOR:
				sputi(cx, b, at->t->dtype);
				sputi(cx, b, at->t->rank);
				sput(cx, b, at->t->dims,
				     sizeof *at->t->dims * (size_t)at->t->rank);
				sput(cx, b, at->t->data, at->t->nbytes);
				break;
			}
		}
	}
	for (uint32_t j = 0; j < n_outs; j++)
		sputi(cx, b, local[outs[j]]);
	for (uint32_t i = 0; i < n_ins; i++)
		local[ins[i]] = 0;
	for (uint32_t k = 0; k < in->n_nodes; k++) {
		const p2o_node *nd = p2o_n(cx, in->nodes[k]);
		for (uint32_t j = 0; j < nd->n_out; j++)
			local[nd->out[j]] = 0;
	}
}

/* A function made so far, with what decides whether a body is its. */
typedef struct made_fn {
	const char *qname;
	char *sig;
	size_t sig_len;
	uint32_t index;          /* into cx->functions */
} made_fn;

/* Whether every attribute of the graph is of a type the signature reads
 * and none holds a subgraph, whose implicit reads of outer values the
 * boundary computation could not see. */
static bool plain_attrs(p2o_cx *cx)
{
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		const p2o_node *nd = p2o_n(cx, i);
		for (uint32_t a = 0; nd->live && a < nd->n_attr; a++)
			switch (nd->attrs[a].type) {
			case P2O_AT_FLOAT: case P2O_AT_INT: case P2O_AT_STRING:
			case P2O_AT_TENSOR: case P2O_AT_FLOATS: case P2O_AT_INTS:
				break;
			default:
				return false;
			}
	}
	return true;
}

int p2o_functions(p2o_cx *cx, const p2o_options *opt)
{
	uint32_t n_sc = cx->g->n_scopes;
	if (!n_sc)
		return P2O_OK;
	if (!plain_attrs(cx)) {
		p2o_diag_add(cx, P2O_WARN_INLINED, NULL, NULL,
			     "modules left inlined, not made local functions: the "
			     "graph has subgraph attributes, which functions do "
			     "not support yet");
		return P2O_OK;
	}
	/* The instance each scope belongs to: its outermost enclosing scope
	 * of a wanted type (nested modules are part of its body), or none.
	 * Memoized per scope, so each scope is resolved once. */
	int64_t *owner_of = p2o_alloc(cx, sizeof *owner_of * n_sc);
	inst *insts = p2o_alloc(cx, sizeof *insts * n_sc);
	uint32_t n_insts = 0;
	int64_t *inst_of_scope = p2o_alloc(cx, sizeof *inst_of_scope * n_sc);
	for (uint32_t i = 0; i < n_sc; i++)
		owner_of[i] = inst_of_scope[i] = -2; /* not resolved yet */
	/* Each live node's instance, and the node lists. */
	uint32_t *node_inst = p2o_alloc(cx, sizeof *node_inst * (cx->n_nodes + 1));
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		p2o_node *nd = p2o_n(cx, i);
		node_inst[i] = UINT32_MAX;
		if (!nd->live || !nd->scope)
			continue;
		/* The outermost wanted scope on the path. */
		const pts_scope *pick = NULL;
		for (const pts_scope *s = nd->scope; s; s = s->parent) {
			if (owner_of[s->id] == -2) {
				owner_of[s->id] =
					wanted(opt, python_name(cx, s->type)) ? 1 : 0;
			}
			if (owner_of[s->id] == 1)
				pick = s;
		}
		if (!pick)
			continue;
		if (inst_of_scope[pick->id] < 0) {
			inst *in = &insts[n_insts];
			in->scope = pick;
			in->qname = python_name(cx, pick->type);
			in->first = i;
			inst_of_scope[pick->id] = n_insts++;
		}
		uint32_t k = (uint32_t)inst_of_scope[pick->id];
		inst *in = &insts[k];
		p2o_grow(cx, (void **)&in->nodes, &in->cap_nodes,
			 in->n_nodes + 1, sizeof *in->nodes);
		in->nodes[in->n_nodes++] = i;
		in->last = i;
		node_inst[i] = k;
	}
	/* Contiguity: no live node of anything else between an instance's
	 * first and last node (counted with a prefix sum of live nodes);
	 * then its call can stand where its first node was and the graph
	 * stays in topological order. */
	uint32_t *live_before = p2o_alloc(cx, sizeof *live_before * (cx->n_nodes + 1));
	for (uint32_t i = 0; i < cx->n_nodes; i++)
		live_before[i + 1] = live_before[i] + p2o_n(cx, i)->live;
	for (uint32_t k = 0; k < n_insts; k++)
		insts[k].broken = live_before[insts[k].last + 1] -
					  live_before[insts[k].first] !=
				  insts[k].n_nodes;
	/* Values read outside their instance (or graph outputs) are outputs
	 * of it; values an instance reads but did not make are its inputs. */
	uint32_t nv = cx->n_vals;
	uint32_t *made_by = p2o_alloc(cx, sizeof *made_by * (nv ? nv : 1));
	bool *escapes = p2o_alloc(cx, sizeof *escapes * (nv ? nv : 1));
	for (uint32_t v = 0; v < nv; v++)
		made_by[v] = UINT32_MAX;
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		const p2o_node *nd = p2o_n(cx, i);
		if (nd->live && node_inst[i] != UINT32_MAX)
			for (uint32_t k = 0; k < nd->n_out; k++)
				made_by[nd->out[k]] = node_inst[i];
	}
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		const p2o_node *nd = p2o_n(cx, i);
		if (!nd->live)
			continue;
		for (uint32_t j = 0; j < nd->n_in; j++) {
			uint32_t v = nd->in[j];
			if (v != P2O_NOVAL && made_by[v] != UINT32_MAX &&
			    made_by[v] != node_inst[i])
				escapes[v] = true;
		}
	}
	for (uint32_t i = 0; i < cx->n_outputs; i++)
		escapes[cx->outputs[i]] = true;

	int64_t *local = p2o_alloc(cx, sizeof *local * (nv ? nv : 1));
	uint32_t *stamp = p2o_alloc(cx, sizeof *stamp * (nv ? nv : 1));
	made_fn *fns = NULL;
	uint32_t n_fns = 0, cap_fns = 0;
	cx->functions = p2o_alloc(cx, sizeof *cx->functions * (n_insts + 1));
	sbuf sb = { 0 };
	unsigned n_broken = 0;
	const char *broken_type = NULL;
	for (uint32_t k = 0; k < n_insts; k++) {
		inst *in = &insts[k];
		if (in->broken) {
			n_broken++;
			broken_type = in->qname;
			continue;
		}
		uint32_t *ins = NULL, n_ins = 0, cap_ins = 0;
		uint32_t *outs = NULL, n_outs = 0, cap_outs = 0;
		for (uint32_t j = 0; j < in->n_nodes; j++) {
			const p2o_node *nd = p2o_n(cx, in->nodes[j]);
			for (uint32_t a = 0; a < nd->n_in; a++) {
				uint32_t v = nd->in[a];
				if (v == P2O_NOVAL || made_by[v] == k ||
				    stamp[v] == k + 1)
					continue;
				stamp[v] = k + 1;
				p2o_grow(cx, (void **)&ins, &cap_ins, n_ins + 1,
					 sizeof *ins);
				ins[n_ins++] = v;
			}
			for (uint32_t a = 0; a < nd->n_out; a++)
				if (escapes[nd->out[a]]) {
					p2o_grow(cx, (void **)&outs, &cap_outs,
						 n_outs + 1, sizeof *outs);
					outs[n_outs++] = nd->out[a];
				}
		}
		signature(cx, in, ins, n_ins, outs, n_outs, local, &sb);
		/* The same type with the same body: that function. */
		uint32_t fi = UINT32_MAX, same_type = 0;
		for (uint32_t f = 0; f < n_fns; f++) {
			if (strcmp(fns[f].qname, in->qname) != 0)
				continue;
			same_type++;
			if (fns[f].sig_len == sb.n &&
			    memcmp(fns[f].sig, sb.s, sb.n) == 0)
				fi = fns[f].index;
		}
		if (fi == UINT32_MAX) {
			/* A new body: its own FunctionProto, named after the
			 * class, with _1, _2... for further bodies of it. */
			fi = cx->n_functions++;
			p2o_function *fn = &cx->functions[fi];
			const char *dot = strrchr(in->qname, '.');
			char *domain = p2o_strdup(cx, in->qname);
			domain[dot - in->qname] = '\0';
			fn->domain = domain;
			fn->name = same_type ? p2o_fmt(cx, "%s_%u", dot + 1, same_type) :
					       p2o_strdup(cx, dot + 1);
			fn->n_in = n_ins;
			fn->in = p2o_memdup(cx, ins, sizeof *ins * (n_ins ? n_ins : 1));
			fn->n_out = n_outs;
			fn->out = p2o_memdup(cx, outs,
					     sizeof *outs * (n_outs ? n_outs : 1));
			/* The body keeps copies of the nodes: their slots in
			 * the graph are reused below. */
			p2o_node *body = p2o_alloc(cx, sizeof *body * in->n_nodes);
			for (uint32_t j = 0; j < in->n_nodes; j++)
				body[j] = *p2o_n(cx, in->nodes[j]);
			fn->n_nodes = in->n_nodes;
			fn->body = body;
			p2o_grow(cx, (void **)&fns, &cap_fns, n_fns + 1, sizeof *fns);
			made_fn *m = &fns[n_fns++];
			m->qname = in->qname;
			m->sig = p2o_memdup(cx, sb.s, sb.n ? sb.n : 1);
			m->sig_len = sb.n;
			m->index = fi;
		}
		const p2o_function *fn = &cx->functions[fi];
		/* The call takes the first node's slot; the others leave the
		 * graph, and so do the values made and used inside only. */
		for (uint32_t j = 0; j < in->n_nodes; j++) {
			p2o_node *nd = p2o_n(cx, in->nodes[j]);
			for (uint32_t a = 0; a < nd->n_out; a++)
				if (!escapes[nd->out[a]])
					p2o_v(cx, nd->out[a])->live = false;
			nd->live = false;
		}
		p2o_node *call = p2o_n(cx, in->first);
		memset(call, 0, sizeof *call);
		call->op = fn->name;
		call->domain = fn->domain;
		call->name = p2o_fmt(cx, "%s_%u", fn->name, in->first);
		call->n_in = n_ins;
		call->in = p2o_memdup(cx, ins, sizeof *ins * (n_ins ? n_ins : 1));
		call->n_out = n_outs;
		call->out = p2o_memdup(cx, outs, sizeof *outs * (n_outs ? n_outs : 1));
		call->live = true;
		call->scope = in->scope->parent;
		free(ins);
		free(outs);
	}
	free(sb.s);
	free(fns);
	for (uint32_t k = 0; k < n_insts; k++)
		free(insts[k].nodes);
	if (n_broken) {
		/* Not expected (an instance's nodes are made together); the
		 * model stays right, inlined, and the user is told. */
		p2o_diag_add(cx, P2O_WARN_INLINED, NULL, NULL,
			     p2o_fmt(cx, "%u instance%s of %s%s left inlined, "
					 "not made a local function: "
					 "its nodes are interleaved with others",
				     n_broken, n_broken == 1 ? "" : "s",
				     broken_type, n_broken > 1 ? " and others" : ""));
	}
	return P2O_OK;
}

bool p2o_reads_opaque(p2o_cx *cx, const pts_node *n, uint32_t *which)
{
	for (uint32_t i = 0; i < n->n_in; i++) {
		const p2o_tv *tv = p2o_tvin(cx, n, i);
		if (tv->kind == P2O_TV_TENSOR && tv->onnx != P2O_NOVAL &&
		    p2o_v(cx, tv->onnx)->opaque) {
			*which = i;
			return true;
		}
	}
	return false;
}
