/* diag.c — diagnostics recorded in the context, and status texts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- report ---- */
/* Whether the capacity of a sources array of n entries is full: arrays
 * grow by doubling in the arena, so their capacity is n rounded up to a
 * power of two and needs no field of its own. */
static bool pow2(size_t n)
{
	return (n & (n - 1)) == 0;
}

/* Appends one occurrence's source to d->sources (amortized O(1): the
 * arena copies double, so n occurrences copy fewer than 2n pointers). The
 * strings are the shim's, alive as long as cx. */
static void add_source(p2o_cx *cx, p2o_diag *d, const char *source)
{
	if (!source)
		return;
	if (d->n_sources == 0 || pow2(d->n_sources)) {
		size_t cap = d->n_sources ? 2 * d->n_sources : 1;
		const char **v = p2o_alloc(cx, cap * sizeof *v);
		if (d->n_sources)
			memcpy(v, d->sources, d->n_sources * sizeof *v);
		d->sources = v;
	}
	((const char **)d->sources)[d->n_sources++] = source;
}

/* What a message says of itself, for the report: "needs opset N" (from
 * p2o_need_opset and p2o_where) and "argument 'NAME'" (from p2o_args and
 * the handlers' own argument checks) are the library's phrasing of the
 * lowest opset that converts the op and of the argument at fault. */
static void read_message(p2o_cx *cx, p2o_diag *d, const char *msg)
{
	const char *p = strstr(msg, "needs opset ");
	if (p)
		d->min_opset = atoi(p + strlen("needs opset "));
	p = strstr(msg, "argument '");
	if (p) {
		p += strlen("argument '");
		const char *q = strchr(p, '\'');
		if (q && q > p) {
			char *a = p2o_alloc(cx, (size_t)(q - p) + 1);
			memcpy(a, p, (size_t)(q - p));
			d->arg = a;
		}
	}
}

const char *p2o_errname(int code)
{
	switch (code) {
	case P2O_OK: return "ok";
	case P2O_ERR_NOMEM: return "nomem";
	case P2O_ERR_INTERNAL: return "internal";
	case P2O_ERR_USAGE: return "usage";
	case P2O_ERR_OPEN: return "open";
	case P2O_ERR_MODEL: return "model";
	case P2O_ERR_INPUTS: return "inputs";
	case P2O_ERR_UNSUPPORTED: return "unsupported";
	case P2O_ERR_CONVERT: return "convert";
	case P2O_ERR_OUTPUT: return "output";
	case P2O_ERR_RUNTIME: return "runtime";
	default: return "unknown";
	}
}

const char *p2o_strerror(int code)
{
	switch (code) {
	case P2O_OK: return "success";
	case P2O_ERR_NOMEM: return "out of memory";
	case P2O_ERR_INTERNAL: return "internal error";
	case P2O_ERR_USAGE: return "usage error";
	case P2O_ERR_OPEN: return "cannot read the model file";
	case P2O_ERR_MODEL: return "not a valid TorchScript model";
	case P2O_ERR_INPUTS: return "input shapes do not fit the model";
	case P2O_ERR_UNSUPPORTED: return "unsupported ops";
	case P2O_ERR_CONVERT: return "conversion failed";
	case P2O_ERR_OUTPUT: return "cannot write the output";
	case P2O_ERR_RUNTIME: return "cannot load libtorch";
	default: return "unknown error";
	}
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

int p2o_diag_add(p2o_cx *cx, int code, const char *op, const char *source,
		 const char *msg)
{
	cx->n_reports++;
	/* Merge repeats so that an op used 50 times is one line with a count.
	 * Distinct problems are capped (the last entry counts the rest), so
	 * this scan stays bounded however large the graph. */
	if (cx->n_diags == P2O_MAX_DIAGS) {
		p2o_diag *last = &cx->diags[cx->n_diags - 1];
		last->count++;
		return code;
	}
	for (size_t i = 0; i < cx->n_diags; i++) {
		p2o_diag *d = &cx->diags[i];
		if (d->code == code && same(d->op, op) &&
		    same(d->message, msg)) {
			d->count++;
			add_source(cx, d, source);
			return code;
		}
	}
	uint32_t cap = (uint32_t)cx->cap_diags;
	p2o_grow(cx, (void **)&cx->diags, &cap, (uint32_t)cx->n_diags + 1,
		 sizeof *cx->diags);
	cx->cap_diags = cap;
	p2o_diag *d = &cx->diags[cx->n_diags++];
	memset(d, 0, sizeof *d);
	d->code = code;
	d->count = 1;
	if (cx->n_diags == P2O_MAX_DIAGS) {
		d->op = NULL;
		d->source = NULL;
		d->message = "more problems, not listed one by one";
		return code;
	}
	d->op = op ? p2o_strdup(cx, op) : NULL;
	d->source = source ? p2o_strdup(cx, source) : NULL;
	d->message = p2o_strdup(cx, msg);
	/* ---- report ---- */
	read_message(cx, d, d->message);
	add_source(cx, d, d->source);
	return code;
}

static int vfail(p2o_cx *cx, int code, const pts_node *at, const char *fmt,
		 va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof buf, fmt, ap);
	return p2o_diag_add(cx, code, at ? at->kind : NULL,
			    at ? at->source : NULL, buf);
}

int p2o_fail(p2o_cx *cx, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail(cx, code, cx->cur, fmt, ap);
	va_end(ap);
	return rc;
}

int p2o_fail_graph(p2o_cx *cx, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail(cx, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

size_t p2o_diag_count(const p2o_ctx *cx)
{
	return cx->n_diags + cx->oom_hit;
}

const p2o_diag *p2o_diag_at(const p2o_ctx *cx, size_t i)
{
	if (i < cx->n_diags)
		return &cx->diags[i];
	return i == cx->n_diags && cx->oom_hit ? &cx->oom_diag : NULL;
}
