/* dims.c — arithmetic on dimensions that may be symbolic, so that type
 * inference keeps `batch*seq`, `h+2` or `(h+1)/2` where a dim the user
 * declared symbolic flows through a flatten, a concat or a convolution,
 * instead of dropping to unknown.
 *
 * A symbolic dim's text is an integer polynomial over atoms: sums of terms
 * `c*a*b`, an atom being a --input-shape symbol or a floor division
 * `(expr)/k` that does not divide out. The text is canonical (terms and
 * factors sorted, like terms merged), so two dims are equal exactly when
 * their texts are: it is what ONNX's dim_param carries, and what equality
 * of dims compares. Polynomials past a small size become unknown dims:
 * shapes in real models stay far below that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_TERMS 8
#define MAX_FACTORS 6
#define MAX_TEXT 256

typedef struct term {
	int64_t c;                      /* coefficient, never 0 */
	int nf;                         /* factors, sorted */
	const char *f[MAX_FACTORS];     /* atoms (arena or input strings) */
	size_t flen[MAX_FACTORS];       /* their lengths (not NUL-ended) */
} term;

typedef struct poly {
	bool ok;                        /* false: unknown */
	int nt;
	term t[MAX_TERMS];
} poly;

static int cmp_atom(const char *a, size_t la, const char *b, size_t lb)
{
	size_t n = la < lb ? la : lb;
	int c = memcmp(a, b, n);
	return c ? c : (la > lb) - (la < lb);
}

/* Order of terms: by factor list, shorter first, the constant last. */
static int cmp_factors(const term *a, const term *b)
{
	if (a->nf != b->nf) {
		if (!a->nf || !b->nf)
			return a->nf ? -1 : 1;
		return a->nf - b->nf;
	}
	for (int i = 0; i < a->nf; i++) {
		int c = cmp_atom(a->f[i], a->flen[i], b->f[i], b->flen[i]);
		if (c)
			return c;
	}
	return 0;
}

static void add_term(poly *p, const term *t)
{
	if (!p->ok || t->c == 0)
		return;
	int i = 0;
	while (i < p->nt && cmp_factors(&p->t[i], t) < 0)
		i++;
	if (i < p->nt && cmp_factors(&p->t[i], t) == 0) {
		p->t[i].c += t->c;
		if (p->t[i].c == 0) {
			memmove(&p->t[i], &p->t[i + 1],
				sizeof *p->t * (size_t)(p->nt - i - 1));
			p->nt--;
		}
		return;
	}
	if (p->nt == MAX_TERMS) {
		p->ok = false;
		return;
	}
	memmove(&p->t[i + 1], &p->t[i], sizeof *p->t * (size_t)(p->nt - i));
	p->t[i] = *t;
	p->nt++;
}

static void add_factor(term *t, const char *f, size_t len, bool *ok)
{
	if (t->nf == MAX_FACTORS) {
		*ok = false;
		return;
	}
	int i = 0;
	while (i < t->nf && cmp_atom(t->f[i], t->flen[i], f, len) <= 0)
		i++;
	memmove(&t->f[i + 1], &t->f[i], sizeof *t->f * (size_t)(t->nf - i));
	memmove(&t->flen[i + 1], &t->flen[i],
		sizeof *t->flen * (size_t)(t->nf - i));
	t->f[i] = f;
	t->flen[i] = len;
	t->nf++;
}

/* Parses a canonical text (or a plain symbol) into p. */
static void parse(const char *s, poly *p)
{
	memset(p, 0, sizeof *p);
	p->ok = true;
	term t = { .c = 1 };
	int sign = 1;
	const char *c = s;
	if (*c == '-') {
		sign = -1;
		c++;
	}
	for (;;) {
		/* One factor: a number, an atom, or "(...)/k". */
		const char *start = c;
		if (*c == '(') {
			int depth = 0;
			do {
				depth += *c == '(';
				depth -= *c == ')';
				c++;
			} while (*c && depth);
			if (*c == '/')
				c++;
			while (*c >= '0' && *c <= '9')
				c++;
			add_factor(&t, start, (size_t)(c - start), &p->ok);
		} else if (*c >= '0' && *c <= '9') {
			t.c *= strtoll(c, (char **)&c, 10);
		} else {
			while (*c && *c != '*' && *c != '+' && *c != '-')
				c++;
			if (c == start) {
				p->ok = false;
				return;
			}
			add_factor(&t, start, (size_t)(c - start), &p->ok);
		}
		if (*c == '*') {
			c++;
			continue;
		}
		t.c *= sign;
		add_term(p, &t);
		if (!*c || !p->ok)
			return;
		sign = *c == '-' ? -1 : 1;
		if (*c != '+' && *c != '-') {
			p->ok = false;
			return;
		}
		c++;
		t = (term){ .c = 1 };
	}
}

static poly of_dim(p2o_dim d)
{
	poly p = { .ok = d.v >= 0 || d.sym };
	if (d.v >= 0) {
		term t = { .c = d.v };
		add_term(&p, &t);
	} else if (d.sym) {
		parse(d.sym, &p);
	}
	return p;
}

static bool is_const(const poly *p, int64_t *v)
{
	if (p->nt == 0) {
		*v = 0;
		return true;
	}
	if (p->nt == 1 && p->t[0].nf == 0) {
		*v = p->t[0].c;
		return true;
	}
	return false;
}

static void render(const poly *p, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < p->nt && o < len; i++) {
		const term *t = &p->t[i];
		int64_t c = t->c;
		if (i && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s",
					      c < 0 ? "-" : "+");
		else if (c < 0 && o < len)
			o += (size_t)snprintf(buf + o, len - o, "-");
		if (c < 0)
			c = -c;
		bool first = true;
		if (c != 1 || t->nf == 0) {
			o += (size_t)snprintf(buf + o, len - o, "%lld",
					      (long long)c);
			first = false;
		}
		for (int j = 0; j < t->nf && o < len; j++) {
			o += (size_t)snprintf(buf + o, len - o, "%s%.*s",
					      first ? "" : "*", (int)t->flen[j],
					      t->f[j]);
			first = false;
		}
	}
}

static p2o_dim to_dim(p2o_cx *cx, const poly *p)
{
	int64_t v;
	if (!p->ok)
		return (p2o_dim){ -1, NULL };
	if (is_const(p, &v))
		return (p2o_dim){ v >= 0 ? v : -1, NULL };
	char buf[MAX_TEXT];
	render(p, buf, sizeof buf);
	if (strlen(buf) >= sizeof buf - 1)
		return (p2o_dim){ -1, NULL };
	return (p2o_dim){ -1, p2o_strdup(cx, buf) };
}

static bool known(p2o_dim d)
{
	return d.v >= 0 || d.sym;
}

p2o_dim p2o_dim_add(p2o_cx *cx, p2o_dim a, p2o_dim b)
{
	if (!known(a) || !known(b))
		return (p2o_dim){ -1, NULL };
	if (a.v >= 0 && b.v >= 0)
		return (p2o_dim){ a.v + b.v, NULL };
	poly p = of_dim(a), q = of_dim(b);
	for (int i = 0; i < q.nt; i++)
		add_term(&p, &q.t[i]);
	p.ok = p.ok && q.ok;
	return to_dim(cx, &p);
}

p2o_dim p2o_dim_addk(p2o_cx *cx, p2o_dim a, int64_t k)
{
	if (a.v >= 0)
		return (p2o_dim){ a.v + k >= 0 ? a.v + k : -1, NULL };
	if (k >= 0)
		return p2o_dim_add(cx, a, (p2o_dim){ k, NULL });
	if (!a.sym)
		return a;
	poly p = of_dim(a);
	term t = { .c = k };
	add_term(&p, &t);
	return to_dim(cx, &p);
}

p2o_dim p2o_dim_mul(p2o_cx *cx, p2o_dim a, p2o_dim b)
{
	if (a.v == 0 || b.v == 0)
		return (p2o_dim){ 0, NULL };
	if (!known(a) || !known(b))
		return (p2o_dim){ -1, NULL };
	if (a.v >= 0 && b.v >= 0)
		return (p2o_dim){ a.v * b.v, NULL };
	poly p = of_dim(a), q = of_dim(b), r = { .ok = p.ok && q.ok };
	for (int i = 0; i < p.nt && r.ok; i++)
		for (int j = 0; j < q.nt && r.ok; j++) {
			term t = p.t[i];
			t.c *= q.t[j].c;
			for (int f = 0; f < q.t[j].nf; f++)
				add_factor(&t, q.t[j].f[f], q.t[j].flen[f], &r.ok);
			add_term(&r, &t);
		}
	return to_dim(cx, &r);
}

/* floor(a / k) for k > 0. Divides out when every coefficient is a
 * multiple of k; otherwise the quotient is an atom of its own. */
p2o_dim p2o_dim_divk(p2o_cx *cx, p2o_dim a, int64_t k)
{
	if (k <= 0 || !known(a))
		return (p2o_dim){ -1, NULL };
	if (a.v >= 0)
		return (p2o_dim){ a.v / k, NULL };
	if (k == 1)
		return a;
	poly p = of_dim(a);
	if (!p.ok)
		return (p2o_dim){ -1, NULL };
	bool exact = true;
	for (int i = 0; i < p.nt; i++)
		exact = exact && p.t[i].c % k == 0;
	if (exact) {
		for (int i = 0; i < p.nt; i++)
			p.t[i].c /= k;
		return to_dim(cx, &p);
	}
	char buf[MAX_TEXT];
	snprintf(buf, sizeof buf, "(%s)/%lld", a.sym, (long long)k);
	if (strlen(buf) >= sizeof buf - 1)
		return (p2o_dim){ -1, NULL };
	return (p2o_dim){ -1, p2o_strdup(cx, buf) };
}

/* a / b when it divides exactly (the -1 of a reshape): b a single term
 * whose factors each term of a has and whose coefficient divides theirs;
 * unknown otherwise. */
p2o_dim p2o_dim_div(p2o_cx *cx, p2o_dim a, p2o_dim b)
{
	if (!known(a) || !known(b) || b.v == 0)
		return (p2o_dim){ -1, NULL };
	if (a.v >= 0 && b.v > 0)
		return a.v % b.v ? (p2o_dim){ -1, NULL } :
				   (p2o_dim){ a.v / b.v, NULL };
	poly p = of_dim(a), q = of_dim(b);
	if (!p.ok || !q.ok || q.nt != 1 || q.t[0].c <= 0)
		return (p2o_dim){ -1, NULL };
	const term *d = &q.t[0];
	for (int i = 0; i < p.nt; i++) {
		term *t = &p.t[i];
		if (t->c % d->c)
			return (p2o_dim){ -1, NULL };
		t->c /= d->c;
		for (int j = 0; j < d->nf; j++) {
			int f = 0;
			while (f < t->nf && cmp_atom(t->f[f], t->flen[f], d->f[j],
						     d->flen[j]) != 0)
				f++;
			if (f == t->nf)
				return (p2o_dim){ -1, NULL };
			memmove(&t->f[f], &t->f[f + 1],
				sizeof *t->f * (size_t)(t->nf - f - 1));
			memmove(&t->flen[f], &t->flen[f + 1],
				sizeof *t->flen * (size_t)(t->nf - f - 1));
			t->nf--;
		}
	}
	/* Terms that became alike (b*h + b*w over b is h + w: still
	 * distinct) are merged by re-adding. */
	poly r = { .ok = true };
	for (int i = 0; i < p.nt; i++)
		add_term(&r, &p.t[i]);
	return to_dim(cx, &r);
}

bool p2o_dim_eq(p2o_dim a, p2o_dim b)
{
	if (a.v >= 0 || b.v >= 0)
		return a.v == b.v;
	return a.sym && b.sym && strcmp(a.sym, b.sym) == 0;
}
