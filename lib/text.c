/* text.c — a readable listing of the converted ONNX graph (--verbose). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct sbuf {
	p2o_cx *cx;
	char *s;
	size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		while (nc < b->len + (size_t)n + 1)
			nc *= 2;
		char *p = realloc(b->s, nc);
		if (!p)
			p2o_oom(b->cx);
		b->s = p;
		b->cap = nc;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void put_type(sbuf *b, const p2o_type *t)
{
	const char *dn = p2o_dtype_name(t->dtype);
	put(b, "%s", dn ? dn : "?");
	if (t->rank < 0) {
		put(b, "[...]");
		return;
	}
	put(b, "[");
	for (int i = 0; i < t->rank; i++) {
		if (t->dims[i].v >= 0)
			put(b, "%s%lld", i ? "," : "", (long long)t->dims[i].v);
		else
			put(b, "%s%s", i ? "," : "",
			    t->dims[i].sym ? t->dims[i].sym : "?");
	}
	put(b, "]");
}

static void put_attr(sbuf *b, const p2o_attr *a)
{
	put(b, "%s=", a->name);
	switch (a->type) {
	case P2O_AT_INT: put(b, "%lld", (long long)a->i); break;
	case P2O_AT_FLOAT: put(b, "%g", (double)a->f); break;
	case P2O_AT_STRING: put(b, "'%s'", a->s); break;
	case P2O_AT_INTS:
		put(b, "[");
		for (size_t i = 0; i < a->n; i++)
			put(b, "%s%lld", i ? "," : "", (long long)a->ints[i]);
		put(b, "]");
		break;
	case P2O_AT_FLOATS:
		put(b, "[");
		for (size_t i = 0; i < a->n; i++)
			put(b, "%s%g", i ? "," : "", (double)a->floats[i]);
		put(b, "]");
		break;
	case P2O_AT_STRINGS:
		put(b, "[");
		for (size_t i = 0; i < a->n; i++)
			put(b, "%s'%s'", i ? "," : "", a->strs[i]);
		put(b, "]");
		break;
	default: put(b, "<tensor>"); break;
	}
}

const char *p2o_onnx_text(p2o_ctx *cx)
{
	if (!cx->converted)
		return "";
	if (cx->onnx_text)
		return cx->onnx_text;
	/* On the heap, not in this frame: after a longjmp, locals changed
	 * since setjmp are indeterminate. */
	sbuf *bp = calloc(1, sizeof *bp);
	if (!bp)
		return "";
	bp->cx = cx;
	jmp_buf oom;
	if (setjmp(oom)) {
		cx->oom = NULL;
		free(bp->s);
		free(bp);
		return "";
	}
	cx->oom = &oom;
	cx->stage = "listing the ONNX graph";
	sbuf *const b = bp;
	put(b, "ONNX graph (opset %d, IR version %d)\n", cx->opset,
	    p2o_ir_version(cx->opset));
	for (uint32_t i = 0; i < cx->n_inputs; i++) {
		const p2o_val *v = p2o_v(cx, cx->inputs[i]);
		put(b, "  input  %s: ", v->name);
		put_type(b, &v->t);
		put(b, "\n");
	}
	for (uint32_t i = 0; i < cx->n_vals; i++) {
		const p2o_val *v = p2o_v(cx, i);
		if (!v->live || !v->init)
			continue;
		put(b, "  weight %s: ", v->name);
		put_type(b, &v->t);
		put(b, "\n");
	}
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		const p2o_node *nd = p2o_n(cx, i);
		if (!nd->live)
			continue;
		put(b, "  ");
		for (uint32_t k = 0; k < nd->n_out; k++)
			put(b, "%s%s", k ? ", " : "", p2o_v(cx, nd->out[k])->name);
		put(b, " = %s", nd->op);
		if (nd->n_attr) {
			put(b, "[");
			for (uint32_t a = 0; a < nd->n_attr; a++) {
				if (a)
					put(b, ", ");
				put_attr(b, &nd->attrs[a]);
			}
			put(b, "]");
		}
		put(b, "(");
		for (uint32_t j = 0; j < nd->n_in; j++)
			put(b, "%s%s", j ? ", " : "",
			    nd->in[j] == P2O_NOVAL ? "" : p2o_v(cx, nd->in[j])->name);
		put(b, ") : ");
		put_type(b, &p2o_v(cx, nd->out[0])->t);
		put(b, "\n");
	}
	for (uint32_t i = 0; i < cx->n_outputs; i++) {
		const p2o_val *v = p2o_v(cx, cx->outputs[i]);
		put(b, "  output %s: ", v->name);
		put_type(b, &v->t);
		put(b, "\n");
	}
	cx->oom = NULL;
	cx->onnx_text = b->s;
	free(b);
	return cx->onnx_text ? cx->onnx_text : "";
}
