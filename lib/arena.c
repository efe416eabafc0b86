/* arena.c — the context's bump allocator and small allocation helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct p2o_chunk {
	p2o_chunk *next;
	max_align_t data[]; /* keeps every allocation maximally aligned */
};

#define CHUNK_MIN ((size_t)64 * 1024)

_Noreturn void p2o_oom(p2o_cx *cx)
{
	if (!cx->oom_hit) {
		cx->oom_hit = true;
		snprintf(cx->oom_msg, sizeof cx->oom_msg, "out of memory while %s",
			 cx->stage ? cx->stage : "converting");
		cx->oom_diag = (p2o_diag){ .code = P2O_ERR_NOMEM,
					   .message = cx->oom_msg, .count = 1 };
	}
	if (!cx->oom)
		abort(); /* unreachable: every public call sets it (P2O_ENTER) */
	longjmp(*cx->oom, 1);
}

void *p2o_alloc(p2o_cx *cx, size_t n)
{
	p2o_arena *a = &cx->arena;
	const size_t al = sizeof(max_align_t);
	n = (n + al - 1) / al * al;
	if (n == 0)
		n = al;
	if (!a->head || a->size - a->used < n) {
		size_t sz = n > CHUNK_MIN ? n : CHUNK_MIN;
		p2o_chunk *c = malloc(sizeof *c + sz);
		if (!c)
			p2o_oom(cx);
		c->next = a->head;
		a->head = c;
		a->used = 0;
		a->size = sz;
	}
	void *p = (char *)a->head->data + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

void *p2o_memdup(p2o_cx *cx, const void *p, size_t n)
{
	void *q = p2o_alloc(cx, n);
	if (n)
		memcpy(q, p, n);
	return q;
}

char *p2o_strdup(p2o_cx *cx, const char *s)
{
	return p2o_memdup(cx, s, strlen(s) + 1);
}

char *p2o_fmt(p2o_cx *cx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	char *s = p2o_alloc(cx, (size_t)len + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return s;
}

void p2o_arena_free(p2o_arena *a)
{
	p2o_chunk *c = a->head;
	while (c) {
		p2o_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used = a->size = 0;
}

void p2o_grow(p2o_cx *cx, void **arr, uint32_t *cap, uint32_t need, size_t sz)
{
	if (need <= *cap)
		return;
	uint32_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*arr, (size_t)nc * sz);
	if (!p)
		p2o_oom(cx);
	memset((char *)p + (size_t)*cap * sz, 0, (size_t)(nc - *cap) * sz);
	*arr = p;
	*cap = nc;
}
