/* infer.c — type inference for the ONNX ops the converter emits.
 *
 * Types flow forward: every emitted node gets its outputs' dtype, rank and
 * dims from its inputs here, once, by ONNX semantics. Handlers thus never
 * compute shapes themselves, and a handler that emits several ONNX nodes
 * gets every intermediate typed for free. A dim that cannot be known stays
 * unknown (or symbolic); an inconsistency that proves the model cannot run
 * with the given input shapes is a diagnostic.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct ictx {
	p2o_cx *cx;
	p2o_node *nd;
	uint32_t node;
} ictx;

static const p2o_type *in_t(ictx *c, uint32_t i)
{
	if (i >= c->nd->n_in || c->nd->in[i] == P2O_NOVAL)
		return NULL;
	return p2o_t(c->cx, c->nd->in[i]);
}

static void set_out(ictx *c, uint32_t k, int dtype, int rank,
		    const p2o_dim *dims)
{
	p2o_set_type(c->cx, c->nd->out[k], dtype, rank, dims);
}

static int64_t attr_i(const p2o_node *nd, const char *name, int64_t def)
{
	const p2o_attr *a = p2o_attr_get(nd, name);
	return a ? a->i : def;
}

/* The int64 contents of a constant 1-D (or 0-D) input, or NULL. */
static const int64_t *const_ints(ictx *c, uint32_t i, size_t *n)
{
	if (i >= c->nd->n_in || c->nd->in[i] == P2O_NOVAL)
		return NULL;
	const p2o_val *v = p2o_v(c->cx, c->nd->in[i]);
	if (!v->init || v->init->dtype != P2O_INT64 || v->init->rank > 1)
		return NULL;
	*n = v->init->nbytes / 8;
	return v->init->data;
}

/* ---- contents of shape tensors ------------------------------------------------
 *
 * Sizes computed in the graph (Shape, Gather, Concat, arithmetic on them)
 * feed Reshape, Expand and the like. Following their contents, as numbers
 * or symbolic dims, lets the result keep `batch*seq` instead of turning
 * unknown. Only small 0-D/1-D int64 tensors are followed. */

/* Input i's contents: up to P2O_MAX_RANK dims into out; false if unknown. */
static bool known_ints(ictx *c, uint32_t i, p2o_dim *out, int *n)
{
	if (i >= c->nd->n_in || c->nd->in[i] == P2O_NOVAL)
		return false;
	const p2o_val *v = p2o_v(c->cx, c->nd->in[i]);
	if (v->n_known >= 0) {
		memcpy(out, v->known, sizeof *out * (size_t)v->n_known);
		*n = v->n_known;
		return true;
	}
	size_t k;
	const int64_t *ints = const_ints(c, i, &k);
	if (!ints || k > P2O_MAX_RANK)
		return false;
	for (size_t j = 0; j < k; j++)
		out[j] = (p2o_dim){ ints[j], NULL };
	*n = (int)k;
	return true;
}

static void set_known(ictx *c, uint32_t k, const p2o_dim *d, int n)
{
	p2o_val *v = p2o_v(c->cx, c->nd->out[k]);
	v->known = p2o_memdup(c->cx, d, sizeof *d * (size_t)(n ? n : 1));
	v->n_known = n;
}

/* Elementwise arithmetic on followed contents (numpy broadcasting of a
 * single element). */
static void known_arith(ictx *c, char op)
{
	p2o_dim a[P2O_MAX_RANK], b[P2O_MAX_RANK], r[P2O_MAX_RANK];
	int na, nb;
	if (!op || p2o_t(c->cx, c->nd->out[0])->dtype != P2O_INT64 ||
	    !known_ints(c, 0, a, &na) || !known_ints(c, 1, b, &nb) ||
	    (na != nb && na != 1 && nb != 1))
		return;
	int n = na > nb ? na : nb;
	for (int j = 0; j < n; j++) {
		p2o_dim x = a[na == 1 ? 0 : j], y = b[nb == 1 ? 0 : j];
		switch (op) {
		case '+': r[j] = p2o_dim_add(c->cx, x, y); break;
		case '*': r[j] = p2o_dim_mul(c->cx, x, y); break;
		case '-':
			r[j] = y.v >= 0 ? p2o_dim_addk(c->cx, x, -y.v) :
					  (p2o_dim){ -1, NULL };
			break;
		default: /* '/': sizes are >= 0, where truncation is floor */
			r[j] = y.v > 0 ? p2o_dim_divk(c->cx, x, y.v) :
					 (p2o_dim){ -1, NULL };
			break;
		}
	}
	set_known(c, 0, r, n);
}

static int bad(ictx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bad(ictx *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return p2o_fail(c->cx, P2O_ERR_CONVERT, "%s: %s", c->nd->op, buf);
}

static char *dims_str(const p2o_type *t, char *buf, size_t len)
{
	size_t o = 0;
	o += (size_t)snprintf(buf + o, len - o, "[");
	for (int i = 0; i < t->rank && o < len; i++) {
		if (t->dims[i].v >= 0)
			o += (size_t)snprintf(buf + o, len - o, "%s%lld",
					      i ? "," : "",
					      (long long)t->dims[i].v);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
					      i ? "," : "",
					      t->dims[i].sym ? t->dims[i].sym : "?");
	}
	if (o < len)
		snprintf(buf + o, len - o, "]");
	return buf;
}

#define dim_eq p2o_dim_eq

static const p2o_dim unknown = { -1, NULL };

/* ---- families ---------------------------------------------------------------- */

static int same_as_input(ictx *c)
{
	const p2o_type *a = in_t(c, 0);
	for (uint32_t k = 0; k < c->nd->n_out; k++)
		set_out(c, k, a->dtype, a->rank, a->dims);
	return P2O_OK;
}

/* Multidirectional (numpy) broadcasting of inputs [first, n_in). */
static int broadcast(ictx *c, uint32_t first, int dtype)
{
	int rank = 0;
	for (uint32_t i = first; i < c->nd->n_in; i++) {
		const p2o_type *t = in_t(c, i);
		if (t->rank < 0) {
			set_out(c, 0, dtype, -1, NULL);
			return P2O_OK;
		}
		if (t->rank > rank)
			rank = t->rank;
	}
	p2o_dim d[P2O_MAX_RANK];
	for (int j = 0; j < rank; j++) {
		p2o_dim r = { 1, NULL };
		bool any_unknown = false;
		for (uint32_t i = first; i < c->nd->n_in; i++) {
			const p2o_type *t = in_t(c, i);
			int k = j - (rank - t->rank);
			if (k < 0)
				continue;
			p2o_dim x = t->dims[k];
			if (x.v == 1)
				continue;
			if (r.v == 1) {
				r = x;
			} else if (x.v >= 0 && r.v >= 0 && x.v != r.v) {
				char b1[128], b2[128];
				return bad(c, "shapes %s and %s do not broadcast",
					   dims_str(in_t(c, first), b1, sizeof b1),
					   dims_str(t, b2, sizeof b2));
			} else if (!dim_eq(x, r)) {
				if (x.v >= 0)
					r = x; /* the known one is the result */
				else if (r.v < 0)
					any_unknown = true;
			}
		}
		d[j] = any_unknown ? unknown : r;
	}
	set_out(c, 0, dtype, rank, d);
	return P2O_OK;
}

static int elementwise(ictx *c)
{
	int rc = broadcast(c, 0, in_t(c, 0)->dtype);
	const char *op = c->nd->op;
	if (rc == P2O_OK && c->nd->n_in == 2)
		known_arith(c, strcmp(op, "Add") == 0 ? '+' :
			       strcmp(op, "Mul") == 0 ? '*' :
			       strcmp(op, "Sub") == 0 ? '-' :
			       strcmp(op, "Div") == 0 ? '/' : 0);
	return rc;
}

static int compare(ictx *c)
{
	return broadcast(c, 0, P2O_BOOL);
}

static int where(ictx *c)
{
	return broadcast(c, 0, in_t(c, 1)->dtype);
}

static int cast(ictx *c)
{
	const p2o_type *a = in_t(c, 0);
	set_out(c, 0, (int)attr_i(c->nd, "to", 0), a->rank, a->dims);
	p2o_dim k[P2O_MAX_RANK];
	int n;
	if (attr_i(c->nd, "to", 0) == P2O_INT64 && p2o_dtype_is_int(a->dtype) &&
	    known_ints(c, 0, k, &n))
		set_known(c, 0, k, n);
	return P2O_OK;
}

/* Output length of one spatial dim of a convolution or pooling window. */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t d,
			  int64_t pb, int64_t pe, bool ceil_mode)
{
	int64_t span = in + pb + pe - d * (k - 1) - 1;
	if (span < 0)
		return -1;
	int64_t out = span / s + 1;
	if (ceil_mode && span % s) {
		out++;
		/* The last window must start inside the input or the left
		 * padding (PyTorch's rule, which ONNX Runtime follows). */
		if ((out - 1) * s >= in + pb)
			out--;
	}
	return out;
}

static int window(ictx *c, bool conv)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank < 3) {
		if (x->rank < 0) {
			set_out(c, 0, x->dtype, -1, NULL);
			return P2O_OK;
		}
		return bad(c, "input must have rank >= 3 (N, C, spatial...), "
			      "got rank %d", x->rank);
	}
	int sp = x->rank - 2;
	int64_t k[P2O_MAX_RANK], s[P2O_MAX_RANK], d[P2O_MAX_RANK],
		p[2 * P2O_MAX_RANK];
	const p2o_attr *ak = p2o_attr_get(c->nd, "kernel_shape");
	const p2o_attr *as = p2o_attr_get(c->nd, "strides");
	const p2o_attr *ad = p2o_attr_get(c->nd, "dilations");
	const p2o_attr *ap = p2o_attr_get(c->nd, "pads");
	const p2o_type *w = conv ? in_t(c, 1) : NULL;
	for (int i = 0; i < sp; i++) {
		if (ak)
			k[i] = ak->ints[i];
		else if (w && w->rank == x->rank)
			k[i] = w->dims[2 + i].v;
		else
			k[i] = -1;
		s[i] = as ? as->ints[i] : 1;
		d[i] = ad ? ad->ints[i] : 1;
		p[i] = ap ? ap->ints[i] : 0;
		p[sp + i] = ap ? ap->ints[sp + i] : 0;
	}
	bool ceil_mode = attr_i(c->nd, "ceil_mode", 0) != 0;
	bool transposed = strcmp(c->nd->op, "ConvTranspose") == 0;
	const p2o_attr *aop = p2o_attr_get(c->nd, "output_padding");
	p2o_dim o[P2O_MAX_RANK];
	o[0] = x->dims[0];
	o[1] = x->dims[1];
	if (transposed) {
		int64_t g = attr_i(c->nd, "group", 1);
		if (w && w->rank == x->rank) {
			int64_t cin = x->dims[1].v, wc = w->dims[0].v;
			if (cin >= 0 && wc >= 0 && cin != wc)
				return bad(c, "input has %lld channels but the "
					      "weight expects %lld; check "
					      "--input-shape",
					   (long long)cin, (long long)wc);
			o[1] = w->dims[1].v >= 0 ?
				       (p2o_dim){ w->dims[1].v * g, NULL } :
				       unknown;
		} else {
			o[1] = unknown;
		}
		for (int i = 0; i < sp; i++) {
			int64_t op = aop ? aop->ints[i] : 0;
			/* s*(in-1) + op + d*(k-1) + 1 - pads, in may be a symbol */
			o[2 + i] = k[i] < 0 ? unknown :
				   p2o_dim_addk(c->cx,
						p2o_dim_mul(c->cx, x->dims[2 + i],
							    (p2o_dim){ s[i], NULL }),
						op + d[i] * (k[i] - 1) + 1 - p[i] -
							p[sp + i] - s[i]);
		}
		set_out(c, 0, x->dtype, x->rank, o);
		return P2O_OK;
	}
	if (conv) {
		int64_t g = attr_i(c->nd, "group", 1);
		if (w && w->rank == x->rank) {
			int64_t cin = x->dims[1].v, wc = w->dims[1].v;
			if (cin >= 0 && wc >= 0 && cin != wc * g)
				return bad(c, "input has %lld channels but the "
					      "weight expects %lld (groups %lld); "
					      "check --input-shape",
					   (long long)cin, (long long)(wc * g),
					   (long long)g);
			o[1] = w->dims[0];
		} else {
			o[1] = unknown;
		}
	}
	for (int i = 0; i < sp; i++) {
		int64_t in = x->dims[2 + i].v;
		if (k[i] < 0 || (in < 0 && (ceil_mode || !x->dims[2 + i].sym))) {
			o[2 + i] = unknown;
			continue;
		}
		if (in < 0) {
			/* (in + pads - d*(k-1) - 1) / s + 1 with a symbolic in */
			p2o_dim span = p2o_dim_addk(c->cx, x->dims[2 + i],
						    p[i] + p[sp + i] -
							    d[i] * (k[i] - 1) - 1);
			o[2 + i] = p2o_dim_addk(c->cx,
						p2o_dim_divk(c->cx, span, s[i]), 1);
			continue;
		}
		int64_t v = window_out(in, k[i], s[i], d[i], p[i], p[sp + i],
				       ceil_mode);
		if (v <= 0) {
			char b[128];
			return bad(c, "input %s is smaller than the window (kernel "
				      "%lld at spatial dim %d); check "
				      "--input-shape",
				   dims_str(x, b, sizeof b), (long long)k[i], i);
		}
		o[2 + i] = (p2o_dim){ v, NULL };
	}
	set_out(c, 0, x->dtype, x->rank, o);
	return P2O_OK;
}

static int conv(ictx *c)
{
	return window(c, true);
}

static int pool(ictx *c)
{
	return window(c, false);
}

static int global_pool(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	p2o_dim o[P2O_MAX_RANK];
	for (int i = 0; i < x->rank; i++)
		o[i] = i < 2 ? x->dims[i] : (p2o_dim){ 1, NULL };
	set_out(c, 0, x->dtype, x->rank, o);
	return P2O_OK;
}

static int flatten(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank < 0) {
		set_out(c, 0, x->dtype, 2, NULL);
		return P2O_OK;
	}
	int64_t axis = attr_i(c->nd, "axis", 1);
	if (axis < 0)
		axis += x->rank;
	p2o_dim o[2] = { { 1, NULL }, { 1, NULL } };
	for (int i = 0; i < x->rank; i++) {
		p2o_dim *t = &o[i < axis ? 0 : 1];
		*t = p2o_dim_mul(c->cx, *t, x->dims[i]);
	}
	set_out(c, 0, x->dtype, 2, o);
	return P2O_OK;
}

static int gemm(ictx *c)
{
	const p2o_type *a = in_t(c, 0), *b = in_t(c, 1);
	if (a->rank != 2 || b->rank != 2)
		return bad(c, "inputs must be matrices (ranks %d and %d)",
			   a->rank, b->rank);
	bool ta = attr_i(c->nd, "transA", 0), tb = attr_i(c->nd, "transB", 0);
	p2o_dim m = a->dims[ta ? 1 : 0], ka = a->dims[ta ? 0 : 1];
	p2o_dim kb = b->dims[tb ? 1 : 0], n = b->dims[tb ? 0 : 1];
	if (ka.v >= 0 && kb.v >= 0 && ka.v != kb.v)
		return bad(c, "inner dimensions differ (%lld and %lld); check "
			      "--input-shape",
			   (long long)ka.v, (long long)kb.v);
	p2o_dim o[2] = { m, n };
	set_out(c, 0, a->dtype, 2, o);
	return P2O_OK;
}

static int matmul(ictx *c)
{
	const p2o_type *a = in_t(c, 0), *b = in_t(c, 1);
	if (a->rank < 1 || b->rank < 1) {
		if (a->rank == 0 || b->rank == 0)
			return bad(c, "operands must not be scalars");
		set_out(c, 0, a->dtype, -1, NULL);
		return P2O_OK;
	}
	/* Promote 1-D operands, broadcast the batch dims, drop promoted. */
	p2o_dim ad[P2O_MAX_RANK + 1], bd[P2O_MAX_RANK + 1];
	int ar = a->rank, br = b->rank;
	memcpy(ad, a->dims, sizeof *ad * (size_t)ar);
	memcpy(bd, b->dims, sizeof *bd * (size_t)br);
	if (ar == 1) {
		ad[1] = ad[0];
		ad[0] = (p2o_dim){ 1, NULL };
		ar = 2;
	}
	if (br == 1) {
		bd[1] = (p2o_dim){ 1, NULL };
		br = 2;
	}
	if (ad[ar - 1].v >= 0 && bd[br - 2].v >= 0 &&
	    ad[ar - 1].v != bd[br - 2].v)
		return bad(c, "inner dimensions differ (%lld and %lld); check "
			      "--input-shape",
			   (long long)ad[ar - 1].v, (long long)bd[br - 2].v);
	int batch = (ar > br ? ar : br) - 2;
	p2o_dim o[P2O_MAX_RANK + 2];
	int r = 0;
	for (int j = 0; j < batch; j++) {
		int ka = j - (batch - (ar - 2)), kb = j - (batch - (br - 2));
		p2o_dim x = ka >= 0 ? ad[ka] : (p2o_dim){ 1, NULL };
		p2o_dim y = kb >= 0 ? bd[kb] : (p2o_dim){ 1, NULL };
		o[r++] = x.v == 1 ? y : y.v == 1 ? x : dim_eq(x, y) ? x :
			 x.v >= 0 ? x : y.v >= 0 ? y : unknown;
	}
	if (a->rank > 1)
		o[r++] = ad[ar - 2];
	if (b->rank > 1)
		o[r++] = bd[br - 1];
	set_out(c, 0, a->dtype, r, o);
	return P2O_OK;
}

static int concat(ictx *c)
{
	const p2o_type *a = in_t(c, 0);
	if (a->rank < 0) {
		set_out(c, 0, a->dtype, -1, NULL);
		return P2O_OK;
	}
	int64_t axis = attr_i(c->nd, "axis", 0);
	if (axis < 0)
		axis += a->rank;
	p2o_dim o[P2O_MAX_RANK];
	memcpy(o, a->dims, sizeof *o * (size_t)a->rank);
	for (uint32_t i = 1; i < c->nd->n_in; i++) {
		const p2o_type *t = in_t(c, i);
		if (t->rank != a->rank)
			return bad(c, "inputs have ranks %d and %d", a->rank,
				   t->rank);
		for (int j = 0; j < a->rank; j++) {
			if (j == axis) {
				o[j] = p2o_dim_add(c->cx, o[j], t->dims[j]);
			} else if (o[j].v >= 0 && t->dims[j].v >= 0 &&
				   o[j].v != t->dims[j].v) {
				char b1[128], b2[128];
				return bad(c, "shapes %s and %s differ outside "
					      "axis %lld",
					   dims_str(a, b1, sizeof b1),
					   dims_str(t, b2, sizeof b2),
					   (long long)axis);
			}
		}
	}
	set_out(c, 0, a->dtype, a->rank, o);
	return P2O_OK;
}

static int reduce(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	bool keep = attr_i(c->nd, "keepdims", 1) != 0;
	size_t n = 0;
	const int64_t *axes = NULL;
	const p2o_attr *aa = p2o_attr_get(c->nd, "axes");
	if (aa) {
		axes = aa->ints;
		n = aa->n;
	} else if (c->nd->n_in > 1) {
		axes = const_ints(c, 1, &n);
		if (!axes) {
			set_out(c, 0, x->dtype, keep ? x->rank : -1, NULL);
			return P2O_OK;
		}
	}
	if (x->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	bool red[P2O_MAX_RANK] = { false };
	for (int i = 0; i < x->rank; i++)
		red[i] = (n == 0);
	for (size_t i = 0; i < n; i++) {
		int64_t a = axes[i] < 0 ? axes[i] + x->rank : axes[i];
		if (a < 0 || a >= x->rank)
			return bad(c, "axis %lld out of range for rank %d",
				   (long long)axes[i], x->rank);
		red[a] = true;
	}
	p2o_dim o[P2O_MAX_RANK];
	int r = 0;
	for (int i = 0; i < x->rank; i++) {
		if (!red[i])
			o[r++] = x->dims[i];
		else if (keep)
			o[r++] = (p2o_dim){ 1, NULL };
	}
	set_out(c, 0, x->dtype, r, o);
	return P2O_OK;
}

static int reshape(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	p2o_dim sd[P2O_MAX_RANK];
	int nsd;
	if (!known_ints(c, 1, sd, &nsd)) {
		const p2o_type *st = in_t(c, 1);
		int r = (st->rank == 1 && st->dims[0].v >= 0) ?
				(int)st->dims[0].v : -1;
		if (r > P2O_MAX_RANK)
			return bad(c, "target rank %d is too large", r);
		set_out(c, 0, x->dtype, r, NULL);
		return P2O_OK;
	}
	size_t n = (size_t)nsd;
	bool allowzero = attr_i(c->nd, "allowzero", 0) != 0;
	p2o_dim o[P2O_MAX_RANK];
	int infer_at = -1;
	p2o_dim known = { 1, NULL }; /* product of the dims given */
	for (size_t i = 0; i < n; i++) {
		if (sd[i].v == 0 && !allowzero) {
			o[i] = (int)i < x->rank ? x->dims[i] : unknown;
		} else if (sd[i].v == -1 && !sd[i].sym) {
			/* -1, or a size nothing is known of: the same to us */
			if (infer_at >= 0)
				known = unknown;
			infer_at = (int)i;
			o[i] = unknown;
			continue;
		} else {
			o[i] = sd[i];
		}
		known = p2o_dim_mul(c->cx, known, o[i]);
	}
	p2o_dim total = { 1, NULL };
	for (int i = 0; i < x->rank; i++)
		total = p2o_dim_mul(c->cx, total, x->dims[i]);
	if (x->rank < 0)
		total = unknown;
	if (total.v >= 0 && known.v >= 0) {
		if (infer_at >= 0 && (known.v == 0 || total.v % known.v))
			return bad(c, "cannot reshape %lld elements to the "
				      "requested shape",
				   (long long)total.v);
		if (infer_at < 0 && known.v != total.v)
			return bad(c, "cannot reshape %lld elements into %lld; "
				      "check --input-shape",
				   (long long)total.v, (long long)known.v);
	}
	/* The -1 is what the given dims leave of the total, which may be
	 * symbolic: [batch, seq, 8] -> [-1, 8] is batch*seq. */
	if (infer_at >= 0)
		o[infer_at] = p2o_dim_div(c->cx, total, known);
	set_out(c, 0, x->dtype, (int)n, o);
	return P2O_OK;
}

static int shape(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	p2o_dim o = { x->rank >= 0 ? x->rank : -1, NULL };
	if (x->rank >= 0) {
		/* Shape-15's start/end: a range of dims, clamped. */
		int64_t r = x->rank, a = attr_i(c->nd, "start", 0),
			b = attr_i(c->nd, "end", r);
		a = a < 0 ? a + r : a;
		b = b < 0 ? b + r : b;
		a = a < 0 ? 0 : a > r ? r : a;
		b = b < 0 ? 0 : b > r ? r : b;
		o.v = b > a ? b - a : 0;
		set_out(c, 0, P2O_INT64, 1, &o);
		set_known(c, 0, x->dims + a, (int)o.v);
		return P2O_OK;
	}
	set_out(c, 0, P2O_INT64, 1, &o);
	return P2O_OK;
}

static int gather(ictx *c)
{
	const p2o_type *x = in_t(c, 0), *idx = in_t(c, 1);
	if (x->rank < 0 || idx->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	int64_t axis = attr_i(c->nd, "axis", 0);
	if (axis < 0)
		axis += x->rank;
	p2o_dim o[2 * P2O_MAX_RANK];
	int r = 0;
	for (int i = 0; i < x->rank; i++) {
		if (i == axis)
			for (int j = 0; j < idx->rank; j++)
				o[r++] = idx->dims[j];
		else
			o[r++] = x->dims[i];
	}
	if (r > P2O_MAX_RANK)
		return bad(c, "result rank %d is too large", r);
	set_out(c, 0, x->dtype, r, o);
	return P2O_OK;
}

static const int64_t *axes_of(ictx *c, size_t *n)
{
	const p2o_attr *aa = p2o_attr_get(c->nd, "axes");
	if (aa) {
		*n = aa->n;
		return aa->ints;
	}
	return const_ints(c, 1, n);
}

static int unsqueeze(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	size_t n = 0;
	const int64_t *axes = axes_of(c, &n);
	if (!axes || x->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	int r = x->rank + (int)n;
	if (r > P2O_MAX_RANK)
		return bad(c, "result rank %d is too large", r);
	bool ins[P2O_MAX_RANK] = { false };
	for (size_t i = 0; i < n; i++) {
		int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
		if (a < 0 || a >= r)
			return bad(c, "axis %lld out of range", (long long)axes[i]);
		ins[a] = true;
	}
	p2o_dim o[P2O_MAX_RANK];
	for (int i = 0, j = 0; i < r; i++)
		o[i] = ins[i] ? (p2o_dim){ 1, NULL } : x->dims[j++];
	set_out(c, 0, x->dtype, r, o);
	return P2O_OK;
}

static int squeeze(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	size_t n = 0;
	const int64_t *axes = axes_of(c, &n);
	if (x->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	bool del[P2O_MAX_RANK] = { false };
	for (size_t i = 0; i < n; i++) {
		int64_t a = axes[i] < 0 ? axes[i] + x->rank : axes[i];
		if (a < 0 || a >= x->rank)
			return bad(c, "axis %lld out of range", (long long)axes[i]);
		del[a] = true;
	}
	p2o_dim o[P2O_MAX_RANK];
	int r = 0;
	for (int i = 0; i < x->rank; i++) {
		if (!axes && x->dims[i].v < 0) {
			set_out(c, 0, x->dtype, -1, NULL);
			return P2O_OK;
		}
		if (axes ? !del[i] : x->dims[i].v != 1)
			o[r++] = x->dims[i];
	}
	set_out(c, 0, x->dtype, r, o);
	return P2O_OK;
}

static int transpose(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	const p2o_attr *pa = p2o_attr_get(c->nd, "perm");
	p2o_dim o[P2O_MAX_RANK];
	for (int i = 0; i < x->rank; i++)
		o[i] = x->dims[pa ? pa->ints[i] : x->rank - 1 - i];
	set_out(c, 0, x->dtype, x->rank, o);
	return P2O_OK;
}

static int constant(ictx *c)
{
	const p2o_attr *a = p2o_attr_get(c->nd, "value");
	p2o_dim o[P2O_MAX_RANK];
	for (int i = 0; i < a->t->rank; i++)
		o[i] = (p2o_dim){ a->t->dims[i], NULL };
	set_out(c, 0, a->t->dtype, a->t->rank, o);
	return P2O_OK;
}

static int pad(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	size_t n = 0;
	const int64_t *p = NULL;
	const p2o_attr *pa = p2o_attr_get(c->nd, "pads");
	if (pa) {
		p = pa->ints;
		n = pa->n;
	} else {
		p = const_ints(c, 1, &n);
	}
	if (!p || x->rank < 0 || n != 2 * (size_t)x->rank) {
		set_out(c, 0, x->dtype, x->rank, NULL);
		return P2O_OK;
	}
	p2o_dim o[P2O_MAX_RANK];
	for (int i = 0; i < x->rank; i++)
		o[i] = p2o_dim_addk(c->cx, x->dims[i], p[i] + p[x->rank + i]);
	set_out(c, 0, x->dtype, x->rank, o);
	return P2O_OK;
}

static int expand(ictx *c)
{
	const p2o_type *x = in_t(c, 0), *st = in_t(c, 1);
	p2o_dim s[P2O_MAX_RANK];
	int n = 0;
	if (x->rank < 0 || !known_ints(c, 1, s, &n)) {
		/* Sizes computed at run time: the rank is still known when
		 * their count is. */
		int64_t k = st->rank == 1 ? st->dims[0].v : -1;
		int r = k < 0 || k > P2O_MAX_RANK || x->rank < 0 ? -1 :
			(int)k > x->rank ? (int)k : x->rank;
		p2o_dim o[P2O_MAX_RANK];
		for (int j = 0; j < r; j++) {
			int kx = j - (r - x->rank);
			o[j] = kx >= 0 && x->dims[kx].v > 1 ? x->dims[kx] : unknown;
		}
		set_out(c, 0, x->dtype, r, r >= 0 ? o : NULL);
		return P2O_OK;
	}
	int r = n > x->rank ? n : x->rank;
	p2o_dim o[P2O_MAX_RANK];
	for (int j = 0; j < r; j++) {
		int kx = j - (r - x->rank), ks = j - (r - n);
		p2o_dim a = kx >= 0 ? x->dims[kx] : (p2o_dim){ 1, NULL };
		p2o_dim b = ks >= 0 ? s[ks] : (p2o_dim){ 1, NULL };
		/* Broadcasting both ways: a size other than 1 wins. */
		if (a.v > 1 && b.v > 1 && a.v != b.v)
			return bad(c, "cannot broadcast size %lld to %lld",
				   (long long)a.v, (long long)b.v);
		o[j] = b.v == 1 || a.v > 1 ? a : b;
	}
	set_out(c, 0, x->dtype, r, o);
	return P2O_OK;
}

/* The ints of attribute name, else of constant input i; NULL if neither. */
static const int64_t *ints_of(ictx *c, const char *name, uint32_t i,
			      size_t *n)
{
	const p2o_attr *a = p2o_attr_get(c->nd, name);
	if (a) {
		*n = a->n;
		return a->ints;
	}
	return const_ints(c, i, n);
}

/* Length of x[s:e:step] on a dim of length d, with ONNX Slice's clamping. */
static int64_t slice_len(int64_t d, int64_t s, int64_t e, int64_t step)
{
	s = s < 0 ? s + d : s;
	e = e < 0 ? e + d : e;
	if (step > 0) {
		s = s < 0 ? 0 : s > d ? d : s;
		e = e < 0 ? 0 : e > d ? d : e;
		return e > s ? (e - s + step - 1) / step : 0;
	}
	s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
	e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
	return s > e ? (s - e - step - 1) / -step : 0;
}

static int slice(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	size_t ns = 0, ne = 0, na = 0, nst = 0;
	const int64_t *st = ints_of(c, "starts", 1, &ns);
	const int64_t *en = ints_of(c, "ends", 2, &ne);
	const int64_t *ax = ints_of(c, "axes", 3, &na);
	const int64_t *sp = const_ints(c, 4, &nst);
	bool has_steps = c->nd->n_in > 4 && c->nd->in[4] != P2O_NOVAL;
	p2o_dim o[P2O_MAX_RANK];
	memcpy(o, x->dims, sizeof *o * (size_t)x->rank);
	if (!st || !en || !ax || ns != ne || ns != na ||
	    (has_steps && (!sp || nst != ns))) {
		/* Bounds not known here: the rank stays, and so do the dims
		 * of the axes not sliced when those are known. */
		for (int i = 0; i < x->rank; i++) {
			bool sliced = !ax;
			for (size_t j = 0; ax && j < na; j++)
				sliced |= ax[j] == i || ax[j] + x->rank == i;
			if (sliced)
				o[i] = unknown;
		}
		set_out(c, 0, x->dtype, x->rank, o);
		return P2O_OK;
	}
	for (size_t i = 0; i < ns; i++) {
		int64_t a = ax[i] < 0 ? ax[i] + x->rank : ax[i];
		int64_t step = has_steps ? sp[i] : 1;
		if (a < 0 || a >= x->rank)
			return bad(c, "axis %lld out of range for rank %d",
				   (long long)ax[i], x->rank);
		if (step == 0)
			return bad(c, "step 0 on axis %lld", (long long)ax[i]);
		int64_t d = x->dims[a].v;
		if (d >= 0)
			o[a] = (p2o_dim){ slice_len(d, st[i], en[i], step), NULL };
		else if (!(step == 1 && st[i] == 0 && en[i] == INT64_MAX))
			o[a] = unknown; /* a whole symbolic dim stays as is */
	}
	set_out(c, 0, x->dtype, x->rank, o);
	return P2O_OK;
}

static int split(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	uint32_t n_out = c->nd->n_out;
	if (x->rank < 0) {
		for (uint32_t k = 0; k < n_out; k++)
			set_out(c, k, x->dtype, -1, NULL);
		return P2O_OK;
	}
	int64_t axis = attr_i(c->nd, "axis", 0);
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis >= x->rank)
		return bad(c, "axis %lld out of range for rank %d",
			   (long long)attr_i(c->nd, "axis", 0), x->rank);
	size_t ns = 0;
	const int64_t *sizes = ints_of(c, "split", 1, &ns);
	if (sizes && ns != n_out)
		return bad(c, "%zu sizes for %u outputs", ns, n_out);
	int64_t d = x->dims[axis].v;
	/* Without sizes the parts are equal, the last one smaller
	 * (num_outputs) when the length does not divide. */
	int64_t part = d >= 0 ? (d + n_out - 1) / n_out : -1;
	if (sizes && d >= 0) {
		int64_t sum = 0;
		for (size_t k = 0; k < ns; k++)
			sum += sizes[k];
		if (sum != d)
			return bad(c, "sizes add up to %lld, the axis has %lld",
				   (long long)sum, (long long)d);
	}
	p2o_dim o[P2O_MAX_RANK];
	for (uint32_t k = 0; k < n_out; k++) {
		memcpy(o, x->dims, sizeof *o * (size_t)x->rank);
		if (sizes)
			o[axis] = (p2o_dim){ sizes[k], NULL };
		else if (part >= 0)
			o[axis] = (p2o_dim){ k + 1 < n_out ? part :
					     d - part * (n_out - 1), NULL };
		else
			o[axis] = unknown;
		set_out(c, k, x->dtype, x->rank, o);
	}
	return P2O_OK;
}

/* ---- rules of the unary family ---- */

/* IsNaN, IsInf: a bool of each element. */
static int predicate(ictx *c)
{
	const p2o_type *a = in_t(c, 0);
	set_out(c, 0, P2O_BOOL, a->rank, a->dims);
	return P2O_OK;
}

/* ---- rules of the binary family ---- */

/* ---- rules of the reduce family ---- */

/* ArgMax/ArgMin: int64 indices, axis removed or kept as 1. */
static int argreduce(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank < 0) {
		set_out(c, 0, P2O_INT64, -1, NULL);
		return P2O_OK;
	}
	int64_t axis = attr_i(c->nd, "axis", 0);
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis >= x->rank)
		return bad(c, "axis %lld out of range for rank %d",
			   (long long)attr_i(c->nd, "axis", 0), x->rank);
	bool keep = attr_i(c->nd, "keepdims", 1) != 0;
	p2o_dim o[P2O_MAX_RANK];
	int r = 0;
	for (int i = 0; i < x->rank; i++) {
		if (i != axis)
			o[r++] = x->dims[i];
		else if (keep)
			o[r++] = (p2o_dim){ 1, NULL };
	}
	set_out(c, 0, P2O_INT64, r, o);
	return P2O_OK;
}

/* Det: the batch dims of a stack of square matrices. */
static int det(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank >= 0 && x->rank < 2)
		return bad(c, "input of rank %d is not a matrix", x->rank);
	set_out(c, 0, x->dtype, x->rank < 0 ? -1 : x->rank - 2, x->dims);
	return P2O_OK;
}

/* Einsum with an explicit output ("...->..."): each output letter takes
 * the dim its inputs give it, the ellipsis the broadcast of theirs. */
static int einsum(ictx *c)
{
	const p2o_attr *a = p2o_attr_get(c->nd, "equation");
	const char *eq = a ? a->s : "";
	const char *arrow = strstr(eq, "->");
	int dt = in_t(c, 0)->dtype;
	if (!arrow) {
		set_out(c, 0, dt, -1, NULL);
		return P2O_OK;
	}
	p2o_dim letter[128];
	bool seen[128] = { false };
	p2o_dim ell[P2O_MAX_RANK];
	int n_ell = 0;
	const char *p = eq;
	for (uint32_t i = 0; i < c->nd->n_in; i++) {
		const p2o_type *t = in_t(c, i);
		const char *end = p;
		while (*end && *end != ',' && end != arrow)
			end++;
		if (t->rank < 0) {
			set_out(c, 0, dt, -1, NULL);
			return P2O_OK;
		}
		int n_letters = 0;
		bool has_ell = false;
		for (const char *q = p; q < end; q++) {
			if (*q == '.')
				has_ell = true;
			else
				n_letters++;
		}
		int k = has_ell ? t->rank - n_letters : 0, j = 0;
		if (k < 0 || (!has_ell && n_letters != t->rank))
			return bad(c, "equation term %d does not match rank %d",
				   (int)i, t->rank);
		for (const char *q = p; q < end; q++) {
			if (*q == '.') {
				q += 2;
				/* Right-aligned broadcast of ellipsis dims. */
				for (int e = 0; e < k; e++) {
					int at = n_ell - k + e;
					p2o_dim d = t->dims[j + e];
					if (k > n_ell) {
						memmove(ell + (k - n_ell), ell,
							sizeof *ell * (size_t)n_ell);
						for (int f = 0; f < k - n_ell; f++)
							ell[f] = (p2o_dim){ 1, NULL };
						n_ell = k;
						at = e;
					}
					if (ell[at].v == 1 || (ell[at].v < 0 &&
							       d.v >= 0))
						ell[at] = d;
				}
				j += k;
				continue;
			}
			unsigned char ch = (unsigned char)*q;
			if (!seen[ch] || letter[ch].v == 1)
				letter[ch] = t->dims[j];
			seen[ch] = true;
			j++;
		}
		p = *end == ',' ? end + 1 : end;
	}
	p2o_dim o[P2O_MAX_RANK];
	int r = 0;
	for (const char *q = arrow + 2; *q && r < P2O_MAX_RANK; q++) {
		if (*q == '.') {
			q += 2;
			for (int e = 0; e < n_ell && r < P2O_MAX_RANK; e++)
				o[r++] = ell[e];
			continue;
		}
		unsigned char ch = (unsigned char)*q;
		o[r++] = seen[ch] ? letter[ch] : unknown;
	}
	set_out(c, 0, dt, r, o);
	return P2O_OK;
}

/* NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss: the loss has the
 * target's shape (reduction "none") or none; SoftmaxCrossEntropyLoss's
 * optional log_prob the input's. */
static int nll(ictx *c)
{
	const p2o_type *x = in_t(c, 0), *t = in_t(c, 1);
	const p2o_attr *r = p2o_attr_get(c->nd, "reduction");
	bool none = r && strcmp(r->s, "none") == 0;
	if (none)
		set_out(c, 0, x->dtype, t->rank, t->dims);
	else
		set_out(c, 0, x->dtype, 0, NULL);
	if (c->nd->n_out > 1)
		set_out(c, 1, x->dtype, x->rank, x->dims);
	return P2O_OK;
}

/* ---- rules of the shape family ---- */

static int tile(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	p2o_dim reps[P2O_MAX_RANK];
	int n = 0;
	if (x->rank < 0 || !known_ints(c, 1, reps, &n) || n != x->rank) {
		set_out(c, 0, x->dtype, x->rank, NULL);
		if (x->rank > 0) {
			p2o_dim o[P2O_MAX_RANK];
			for (int i = 0; i < x->rank; i++)
				o[i] = unknown;
			set_out(c, 0, x->dtype, x->rank, o);
		}
		return P2O_OK;
	}
	p2o_dim o[P2O_MAX_RANK];
	for (int i = 0; i < x->rank; i++)
		o[i] = p2o_dim_mul(c->cx, x->dims[i], reps[i]);
	set_out(c, 0, x->dtype, x->rank, o);
	return P2O_OK;
}

/* Size: the element count, a 0-D int64 whose contents are followed. */
static int size(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	set_out(c, 0, P2O_INT64, 0, NULL);
	p2o_dim total = { 1, NULL };
	for (int i = 0; i < x->rank; i++)
		total = p2o_dim_mul(c->cx, total, x->dims[i]);
	if (x->rank >= 0)
		set_known(c, 0, &total, 1);
	return P2O_OK;
}

/* ---- rules of the index family ---- */

/* GatherElements: the data's dtype, the indices' shape. */
static int gather_elements(ictx *c)
{
	const p2o_type *x = in_t(c, 0), *idx = in_t(c, 1);
	set_out(c, 0, x->dtype, idx->rank, idx->dims);
	return P2O_OK;
}

/* GatherND (batch_dims 0): indices [B..., k] pick [B..., data dims k...]. */
static int gather_nd(ictx *c)
{
	const p2o_type *x = in_t(c, 0), *idx = in_t(c, 1);
	if (x->rank < 0 || idx->rank < 1 || idx->dims[idx->rank - 1].v < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	int64_t k = idx->dims[idx->rank - 1].v;
	if (k > x->rank)
		return bad(c, "indices pick %lld dims of a rank-%d tensor",
			   (long long)k, x->rank);
	int r = idx->rank - 1 + x->rank - (int)k;
	if (r > P2O_MAX_RANK)
		return bad(c, "result rank %d is too large", r);
	p2o_dim o[P2O_MAX_RANK];
	memcpy(o, idx->dims, sizeof *o * (size_t)(idx->rank - 1));
	memcpy(o + idx->rank - 1, x->dims + k,
	       sizeof *o * (size_t)(x->rank - k));
	set_out(c, 0, x->dtype, r, o);
	return P2O_OK;
}

/* TopK: values and int64 indices, the axis k long (k from the attribute
 * before TopK-10, from the constant input after). */
static int topk(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		set_out(c, 1, P2O_INT64, -1, NULL);
		return P2O_OK;
	}
	int64_t axis = attr_i(c->nd, "axis", -1);
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis >= x->rank)
		return bad(c, "axis %lld out of range for rank %d",
			   (long long)attr_i(c->nd, "axis", -1), x->rank);
	p2o_dim o[P2O_MAX_RANK], k[P2O_MAX_RANK];
	int nk;
	memcpy(o, x->dims, sizeof *o * (size_t)x->rank);
	if (p2o_attr_get(c->nd, "k"))
		o[axis] = (p2o_dim){ attr_i(c->nd, "k", 0), NULL };
	else if (known_ints(c, 1, k, &nk) && nk == 1)
		o[axis] = k[0];
	else
		o[axis] = unknown;
	set_out(c, 0, x->dtype, x->rank, o);
	set_out(c, 1, P2O_INT64, x->rank, o);
	return P2O_OK;
}

/* NonZero: int64 [rank, number of non-zeros]. */
static int nonzero(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	p2o_dim o[2] = { { x->rank, NULL }, unknown };
	if (x->rank < 0)
		o[0] = unknown;
	set_out(c, 0, P2O_INT64, 2, o);
	return P2O_OK;
}

/* Compress without an axis: a 1-D tensor of unknown length. */
static int compress(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (p2o_attr_get(c->nd, "axis")) {
		p2o_dim o[P2O_MAX_RANK];
		int64_t a = attr_i(c->nd, "axis", 0);
		if (x->rank < 0) {
			set_out(c, 0, x->dtype, -1, NULL);
			return P2O_OK;
		}
		a = a < 0 ? a + x->rank : a;
		memcpy(o, x->dims, sizeof *o * (size_t)x->rank);
		o[a] = unknown;
		set_out(c, 0, x->dtype, x->rank, o);
		return P2O_OK;
	}
	set_out(c, 0, x->dtype, 1, &unknown);
	return P2O_OK;
}


/* OneHot: the values' dtype, a new last axis of `depth` (axis -1). */
static int one_hot(ictx *c)
{
	const p2o_type *idx = in_t(c, 0), *vals = in_t(c, 2);
	p2o_dim o[P2O_MAX_RANK], k[P2O_MAX_RANK];
	int nk;
	if (idx->rank < 0 || idx->rank + 1 > P2O_MAX_RANK ||
	    attr_i(c->nd, "axis", -1) != -1) {
		set_out(c, 0, vals->dtype, -1, NULL);
		return P2O_OK;
	}
	memcpy(o, idx->dims, sizeof *o * (size_t)idx->rank);
	o[idx->rank] = known_ints(c, 1, k, &nk) && nk == 1 ? k[0] : unknown;
	set_out(c, 0, vals->dtype, idx->rank + 1, o);
	return P2O_OK;
}

/* Unique: values (1-D, or x with the axis of unknown length), first
 * indices, inverse indices (x's length along the axis, or its element
 * count) and counts. */
static int unique(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	const p2o_attr *aa = p2o_attr_get(c->nd, "axis");
	p2o_dim o[P2O_MAX_RANK], inv = unknown;
	if (aa && x->rank > 0) {
		int64_t a = aa->i < 0 ? aa->i + x->rank : aa->i;
		memcpy(o, x->dims, sizeof *o * (size_t)x->rank);
		o[a] = unknown;
		inv = x->dims[a];
		set_out(c, 0, x->dtype, x->rank, o);
	} else {
		if (x->rank >= 0) {
			inv = (p2o_dim){ 1, NULL };
			for (int i = 0; i < x->rank; i++)
				inv = p2o_dim_mul(c->cx, inv, x->dims[i]);
		}
		set_out(c, 0, x->dtype, 1, &unknown);
	}
	set_out(c, 1, P2O_INT64, 1, &unknown);
	set_out(c, 2, P2O_INT64, 1, &inv);
	set_out(c, 3, P2O_INT64, 1, &unknown);
	return P2O_OK;
}

/* ---- rules of the spatial family ---- */

/* Resize (X, roi, scales, sizes from 11; X, scales at 10), Upsample (X,
 * scales from 9; a scales attribute before): each output dim is the
 * sizes entry, else floor(in * scale). */
static int resize(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	if (x->rank < 0) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	int r = x->rank, n;
	p2o_dim o[P2O_MAX_RANK];
	bool v11 = c->nd->n_in > 2; /* roi is there from Resize-11 */
	if (v11 && known_ints(c, 3, o, &n) && n == r) {
		set_out(c, 0, x->dtype, r, o);
		return P2O_OK;
	}
	const p2o_attr *as = p2o_attr_get(c->nd, "scales");
	const float *sc = as ? as->floats : NULL;
	uint32_t si = v11 ? 2 : 1;
	if (!sc && si < c->nd->n_in && c->nd->in[si] != P2O_NOVAL) {
		const p2o_val *v = p2o_v(c->cx, c->nd->in[si]);
		if (v->init && v->init->dtype == P2O_FLOAT &&
		    v->init->nbytes == 4 * (size_t)r)
			sc = v->init->data;
	}
	for (int i = 0; i < r; i++) {
		p2o_dim d = x->dims[i];
		float f = sc ? sc[i] : -1;
		if (f == 1)
			o[i] = d;
		else if (f > 0 && d.v >= 0)
			o[i] = (p2o_dim){ (int64_t)floor((double)d.v * f), NULL };
		else if (f >= 1 && f == floorf(f))
			o[i] = p2o_dim_mul(c->cx, d, (p2o_dim){ (int64_t)f, NULL });
		else
			o[i] = unknown;
	}
	set_out(c, 0, x->dtype, r, o);
	return P2O_OK;
}

/* MaxPool: the window rule; its indices (second output) are int64 of
 * the same shape. */
static int max_pool(ictx *c)
{
	int rc = window(c, false);
	if (rc == P2O_OK && c->nd->n_out > 1) {
		const p2o_type *y = p2o_t(c->cx, c->nd->out[0]);
		set_out(c, 1, P2O_INT64, y->rank, y->dims);
	}
	return rc;
}

/* GridSample: [N, C] of X, then the grid's sampled dims. */
static int grid_sample(ictx *c)
{
	const p2o_type *x = in_t(c, 0), *g = in_t(c, 1);
	if (x->rank < 0 || g->rank < 0) {
		set_out(c, 0, x->dtype, x->rank < 0 ? g->rank : x->rank, NULL);
		return P2O_OK;
	}
	if (g->rank != x->rank)
		return bad(c, "grid has rank %d for an input of rank %d", g->rank,
			   x->rank);
	p2o_dim o[P2O_MAX_RANK];
	o[0] = x->dims[0];
	o[1] = x->dims[1];
	for (int i = 2; i < x->rank; i++)
		o[i] = g->dims[i - 1];
	set_out(c, 0, x->dtype, x->rank, o);
	return P2O_OK;
}

/* Col2Im: [N, C*K, L] with image_shape and block_shape inputs ->
 * [N, C, image_shape...]. */
static int col2im(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	p2o_dim img[P2O_MAX_RANK], blk[P2O_MAX_RANK];
	int ni, nb;
	if (x->rank != 3 || !known_ints(c, 1, img, &ni) ||
	    !known_ints(c, 2, blk, &nb) || ni != nb || ni + 2 > P2O_MAX_RANK) {
		set_out(c, 0, x->dtype, -1, NULL);
		return P2O_OK;
	}
	int64_t k = 1;
	for (int i = 0; i < nb; i++)
		k = blk[i].v > 0 && k > 0 ? k * blk[i].v : -1;
	p2o_dim o[P2O_MAX_RANK];
	o[0] = x->dims[0];
	o[1] = k > 0 ? p2o_dim_div(c->cx, x->dims[1], (p2o_dim){ k, NULL }) :
		       unknown;
	memcpy(o + 2, img, sizeof *o * (size_t)ni);
	set_out(c, 0, x->dtype, ni + 2, o);
	return P2O_OK;
}

/* ---- rules of the v2 family ---- */

/* Attention (as emitted: Q/K/V of one rank, 3-D ones one head): Q's dims
 * with V's last. */
static int attention(ictx *c)
{
	const p2o_type *q = in_t(c, 0), *v = in_t(c, 2);
	if (q->rank < 0 || v->rank < 1) {
		set_out(c, 0, q->dtype, -1, NULL);
		return P2O_OK;
	}
	p2o_dim d[P2O_MAX_RANK];
	memcpy(d, q->dims, sizeof *d * (size_t)q->rank);
	d[q->rank - 1] = v->dims[v->rank - 1];
	set_out(c, 0, q->dtype, q->rank, d);
	return P2O_OK;
}

/* ---- rules of the rnn family ---- */

/* RNN, GRU, LSTM (layout 0, as emitted): X [seq, batch, input] gives
 * Y [seq, num_directions, batch, hidden] and the last states Y_h (Y_c)
 * [num_directions, batch, hidden]. */
static int recurrent(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	const p2o_attr *dir = p2o_attr_get(c->nd, "direction");
	p2o_dim nd = { dir && strcmp(dir->s, "bidirectional") == 0 ? 2 : 1, NULL };
	p2o_dim h = { attr_i(c->nd, "hidden_size", -1), NULL };
	p2o_dim seq = unknown, batch = unknown;
	if (x && x->rank == 3) {
		seq = x->dims[0];
		batch = x->dims[1];
	}
	int dt = x ? x->dtype : 0;
	p2o_dim y[4] = { seq, nd, batch, h };
	if (c->nd->n_out > 0 && c->nd->out[0] != P2O_NOVAL)
		set_out(c, 0, dt, 4, y);
	for (uint32_t k = 1; k < c->nd->n_out; k++)
		if (c->nd->out[k] != P2O_NOVAL)
			set_out(c, k, dt, 3, y + 1);
	return P2O_OK;
}

/* ---- rules of the create family ---- */

/* ConstantOfShape(shape): the dims the shape input holds (numbers or
 * symbols), the dtype of its value attribute (float32 without one). */
static int constant_of_shape(ictx *c)
{
	const p2o_attr *a = p2o_attr_get(c->nd, "value");
	int dt = a ? a->t->dtype : P2O_FLOAT;
	p2o_dim d[P2O_MAX_RANK];
	int n;
	if (known_ints(c, 0, d, &n)) {
		set_out(c, 0, dt, n, d);
		return P2O_OK;
	}
	const p2o_type *s = in_t(c, 0);
	int r = s->rank == 1 && s->dims[0].v >= 0 && s->dims[0].v <= P2O_MAX_RANK ?
			(int)s->dims[0].v : -1;
	set_out(c, 0, dt, r, NULL);
	if (r > 0) {
		/* Rank known, sizes not: unknown dims. */
		p2o_dim u[P2O_MAX_RANK];
		for (int i = 0; i < r; i++)
			u[i] = unknown;
		set_out(c, 0, dt, r, u);
	}
	return P2O_OK;
}

/* The 0-D constant input i as a double. */
static bool const_number(ictx *c, uint32_t i, double *out)
{
	if (i >= c->nd->n_in || c->nd->in[i] == P2O_NOVAL)
		return false;
	const p2o_val *v = p2o_v(c->cx, c->nd->in[i]);
	if (!v->init || v->init->nbytes != p2o_dtype_size(v->init->dtype))
		return false;
	const void *p = v->init->data;
	switch (v->init->dtype) {
	case P2O_INT64: *out = (double)*(const int64_t *)p; return true;
	case P2O_INT32: *out = *(const int32_t *)p; return true;
	case P2O_FLOAT: *out = *(const float *)p; return true;
	case P2O_DOUBLE: *out = *(const double *)p; return true;
	default: return false;
	}
}

/* Range(start, limit, delta): max(ceil((limit - start) / delta), 0)
 * elements, known when the three are constants; for 0..n step 1 the
 * length is n, followed when symbolic (a causal mask's rows and columns
 * keep their symbolic length). */
static int range(ictx *c)
{
	double a, b, s;
	p2o_dim d = unknown;
	p2o_dim st[P2O_MAX_RANK], lim[P2O_MAX_RANK], dl[P2O_MAX_RANK];
	int ns = 0, nl = 0, nd = 0;
	if (const_number(c, 0, &a) && const_number(c, 1, &b) &&
	    const_number(c, 2, &s) && s != 0) {
		double k = ceil((b - a) / s);
		d.v = k > 0 ? (int64_t)k : 0;
	} else if (known_ints(c, 0, st, &ns) && known_ints(c, 1, lim, &nl) &&
		   known_ints(c, 2, dl, &nd) && ns == 1 && nl == 1 &&
		   nd == 1 && st[0].v == 0 && dl[0].v == 1) {
		d = lim[0];
	}
	set_out(c, 0, in_t(c, 0)->dtype, 1, &d);
	return P2O_OK;
}

/* RandomNormal/RandomUniform: the shape attribute, dtype (default
 * float32). */
static int random_shape(ictx *c)
{
	const p2o_attr *sh = p2o_attr_get(c->nd, "shape");
	if (!sh || sh->n > P2O_MAX_RANK)
		return bad(c, "needs a shape of at most %d dims", P2O_MAX_RANK);
	p2o_dim d[P2O_MAX_RANK];
	for (size_t i = 0; i < sh->n; i++)
		d[i] = (p2o_dim){ sh->ints[i], NULL };
	set_out(c, 0, (int)attr_i(c->nd, "dtype", P2O_FLOAT), (int)sh->n, d);
	return P2O_OK;
}

/* The Like ops, Bernoulli, EyeLike: the input's shape, the dtype
 * attribute's dtype or else the input's. */
static int like_input(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	set_out(c, 0, (int)attr_i(c->nd, "dtype", x->dtype), x->rank, x->dims);
	return P2O_OK;
}

/* HannWindow(size) and the other windows: 1-D of output_datatype
 * (float32 by default), as long as the size input says when known. */
static int window_fn(ictx *c)
{
	p2o_dim d[P2O_MAX_RANK];
	int n;
	p2o_dim o = unknown;
	if (known_ints(c, 0, d, &n) && n == 1)
		o = d[0];
	set_out(c, 0, (int)attr_i(c->nd, "output_datatype", P2O_FLOAT), 1, &o);
	return P2O_OK;
}

/* Multinomial(input [batch, classes]) -> [batch, sample_size]. */
static int multinomial(ictx *c)
{
	const p2o_type *x = in_t(c, 0);
	int dt = (int)attr_i(c->nd, "dtype", P2O_INT32);
	if (x->rank != 2) {
		set_out(c, 0, dt, x->rank < 0 ? -1 : 2, NULL);
		return x->rank < 0 ? P2O_OK : bad(c, "input must be 2-D");
	}
	p2o_dim d[2] = { x->dims[0], { attr_i(c->nd, "sample_size", 1), NULL } };
	set_out(c, 0, dt, 2, d);
	return P2O_OK;
}

/* ---- the ONNX operator table ------------------------------------------------- */

#define MAX_VERSIONS 10 /* versions one row can list; unused ones are 0 */

/* One row of onnx_ops.def. */
typedef struct onnx_op {
	const char *op;              /* ONNX op_type, default domain */
	int (*rule)(ictx *c);        /* type inference; NULL: not emitted yet */
	int versions[MAX_VERSIONS];  /* ascending; -v: removed from opset v */
} onnx_op;

static const onnx_op onnx_ops[] = {
#define P2O_ONNX(op, rule, ...) { #op, rule, { __VA_ARGS__ } },
#include "onnx_ops.def"
#undef P2O_ONNX
};

#define N_ONNX_OPS (sizeof onnx_ops / sizeof *onnx_ops)

static int cmp_onnx_op(const void *k, const void *e)
{
	return strcmp(k, ((const onnx_op *)e)->op);
}

static const onnx_op *onnx_row(const char *op)
{
	return bsearch(op, onnx_ops, N_ONNX_OPS, sizeof *onnx_ops, cmp_onnx_op);
}

/* The version of row r in force at opset, or 0 when absent there. */
static int version_at(const onnx_op *r, int opset)
{
	int v = 0;
	for (size_t i = 0; i < MAX_VERSIONS && r->versions[i]; i++) {
		int x = r->versions[i];
		if ((x > 0 ? x : -x) > opset)
			break;
		v = x > 0 ? x : 0;
	}
	return v;
}

int p2o_onnx_version(p2o_cx *cx, const char *op)
{
	const onnx_op *r = onnx_row(op);
	return r ? version_at(r, cx->opset) : 0;
}

int p2o_onnx_check(p2o_cx *cx)
{
	/* Lookups are binary searches: a misplaced row would make an op look
	 * absent. Versions must ascend for version_at. */
	for (size_t i = 0; i < N_ONNX_OPS; i++) {
		const int *v = onnx_ops[i].versions;
		if (i && strcmp(onnx_ops[i - 1].op, onnx_ops[i].op) >= 0)
			return p2o_fail_graph(cx, P2O_ERR_INTERNAL,
					      "internal: ONNX op table "
					      "(lib/onnx_ops.def) is not sorted "
					      "or has a duplicate row at %s",
					      onnx_ops[i].op);
		for (size_t j = 1; j < MAX_VERSIONS && v[j]; j++)
			if (abs(v[j]) <= abs(v[j - 1]))
				return p2o_fail_graph(cx, P2O_ERR_INTERNAL,
						      "internal: ONNX op table: "
						      "versions of %s do not "
						      "ascend", onnx_ops[i].op);
	}
	return P2O_OK;
}

/* Contents of small int64 tensors through the ops that move them. */
static void follow(ictx *c)
{
	const p2o_type *o = p2o_t(c->cx, c->nd->out[0]);
	if (o->dtype != P2O_INT64 || o->rank > 1 || c->nd->n_out != 1)
		return;
	const char *op = c->nd->op;
	p2o_dim d[P2O_MAX_RANK], part[P2O_MAX_RANK];
	int n = 0, k;
	if (strcmp(op, "Concat") == 0) {
		for (uint32_t i = 0; i < c->nd->n_in; i++) {
			if (!known_ints(c, i, part, &k) || n + k > P2O_MAX_RANK)
				return;
			memcpy(d + n, part, sizeof *d * (size_t)k);
			n += k;
		}
	} else if (strcmp(op, "Gather") == 0) {
		size_t ni;
		const int64_t *idx = const_ints(c, 1, &ni);
		if (attr_i(c->nd, "axis", 0) != 0 || !idx ||
		    !known_ints(c, 0, part, &k))
			return;
		for (size_t j = 0; j < ni; j++) {
			int64_t at = idx[j] < 0 ? idx[j] + k : idx[j];
			if (at < 0 || at >= k)
				return;
			d[n++] = part[at];
		}
	} else if (strcmp(op, "Unsqueeze") == 0 || strcmp(op, "Squeeze") == 0 ||
		   strcmp(op, "Identity") == 0 || strcmp(op, "Reshape") == 0) {
		if (!known_ints(c, 0, d, &n))
			return;
	} else {
		return;
	}
	set_known(c, 0, d, n);
}

int p2o_infer(p2o_cx *cx, uint32_t node)
{
	ictx c = { cx, p2o_n(cx, node), node };
	const onnx_op *r = onnx_row(c.nd->op);
	/* A handler or helper asked for an op the target lacks: a bug of
	 * ours, reported (the model would not load), never an abort. */
	if (!r || !version_at(r, cx->opset))
		return p2o_fail(cx, P2O_ERR_INTERNAL,
				"internal: ONNX op %s does not exist at opset %d",
				c.nd->op, cx->opset);
	if (!r->rule)
		return p2o_fail(cx, P2O_ERR_INTERNAL,
				"internal: ONNX op %s has no type-inference rule",
				c.nd->op);
	int rc = r->rule(&c);
	if (rc == P2O_OK && c.nd->n_out && p2o_v(cx, c.nd->out[0])->n_known < 0)
		follow(&c);
	return rc;
}
