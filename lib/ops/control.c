/* control.c — control flow and the checks scripted code makes: prim::If
 * whose condition is known at conversion time (the common case once
 * shapes are known: torchvision's argument checks), exceptions, None
 * tests, list lengths. Branches decided only at run time are reported. */
#include <string.h>

#include "../internal.h"

/* Whether block b always raises (a check's failure branch). */
static bool raises(const pts_block *b)
{
	for (uint32_t i = 0; i < b->n_nodes; i++)
		if (strcmp(b->nodes[i].kind, "prim::RaiseException") == 0)
			return true;
	return false;
}

/* prim::If(cond) with two blocks; outputs are the taken block's outputs.
 * A condition known only at run time is still decided when one branch
 * only raises: that is a check of the inputs (scripted group_norm's
 * "more than 1 value per channel" on a symbolic batch), and the model
 * exported is the one for the inputs that pass it, as a traced model
 * would be. */
P2O_HANDLER(if)
{
	if (n->n_blocks != 2)
		return p2o_fail(cx, P2O_ERR_MODEL, "prim::If without two blocks");
	const pts_const *k = p2o_konst(cx, n, 0);
	int taken = k && (k->kind == PTS_C_BOOL || k->kind == PTS_C_INT) ?
			    !k->i : -1;
	if (taken < 0 && raises(&n->blocks[0]) != raises(&n->blocks[1]))
		taken = raises(&n->blocks[0]) ? 1 : 0;
	if (taken < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"an if whose condition is only known at run time "
				"(data-dependent control flow)");
	const pts_block *b = &n->blocks[taken];
	uint64_t before = cx->n_reports;
	p2o_walk_block(cx, b);
	if (cx->n_reports != before)
		return P2O_ERR_UNSUPPORTED; /* the branch said why */
	for (uint32_t j = 0; j < n->n_out && j < b->n_out; j++)
		P2O_TV(cx, n->out[j]) = P2O_TV(cx, b->out[j]);
	return P2O_OK;
}

/* prim::RaiseException(message, ...): reached means the model refuses
 * these inputs (a torchvision argument check, say). */
P2O_HANDLER(raise)
{
	const pts_const *k = n->n_in ? p2o_konst(cx, n, 0) : NULL;
	return p2o_fail(cx, P2O_ERR_CONVERT,
			"the model raises an exception for these input shapes%s%s",
			k && k->kind == PTS_C_STRING ? ": " : "",
			k && k->kind == PTS_C_STRING ? k->s : "");
}

/* Ops with no effect on an exported graph: warnings. */
P2O_HANDLER(nothing)
{
	for (uint32_t k = 0; k < n->n_out; k++)
		p2o_set_const(cx, n, k, p2o_new_const(cx, PTS_C_OTHER));
	return P2O_OK;
}

/* aten::len(list or tensor) */
P2O_HANDLER(len)
{
	p2o_arg a;
	int rc = p2o_args(cx, n, "a|t|s|self:v", &a);
	if (rc)
		return rc;
	const p2o_tv *tv = p2o_tvin(cx, n, (uint32_t)a.idx);
	int64_t len = -1;
	if (tv->kind == P2O_TV_CONST && tv->k->kind == PTS_C_STRING) {
		/* Python's len of a str counts code points: the UTF-8 bytes
		 * that do not continue one. */
		len = 0;
		for (const unsigned char *c = (const unsigned char *)tv->k->s;
		     *c; c++)
			len += (*c & 0xC0) != 0x80;
		return p2o_set_int(cx, n, 0, len);
	}
	if (tv->kind == P2O_TV_LIST)
		len = tv->n;
	else if (tv->kind == P2O_TV_CONST && (tv->k->kind == PTS_C_INTS ||
					      tv->k->kind == PTS_C_FLOATS ||
					      tv->k->kind == PTS_C_BOOLS))
		len = (int64_t)tv->k->n;
	else if (tv->kind == P2O_TV_CONST && tv->k->kind == PTS_C_TENSOR &&
		 tv->k->t.rank > 0)
		len = tv->k->t.dims[0];
	else if (tv->kind == P2O_TV_TENSOR) {
		const p2o_type *t = p2o_t(cx, tv->onnx);
		bool is_list = p2o_pv(cx, n, (uint32_t)a.idx)->kind == PTS_V_LIST;
		if (t->rank >= 1 && t->dims[0].v >= 0)
			len = t->dims[0].v;
		else if (t->rank >= 1 && !is_list)
			return p2o_set_result(cx, n,
					      p2o_dim_value(cx, tv->onnx, 0));
	}
	if (len < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"len of a value whose length is only known at "
				"run time");
	return p2o_set_int(cx, n, 0, len);
}

/* aten::__not__(bool) */
P2O_HANDLER(not)
{
	p2o_arg a;
	int rc = p2o_args(cx, n, "self:v", &a);
	if (rc)
		return rc;
	const pts_const *k = a.k;
	if (k && (k->kind == PTS_C_BOOL || k->kind == PTS_C_INT))
		return p2o_set_bool(cx, n, 0, !k->i);
	return p2o_set_result(cx, n, p2o_op1(cx, "Not",
					      p2o_arg_tensor_as(cx, n,
								(uint32_t)a.idx,
								P2O_BOOL)));
}

/* Whether input i is None; -1 when that is not known. */
static int noneness(p2o_cx *cx, const pts_node *n, uint32_t i)
{
	const p2o_tv *tv = p2o_tvin(cx, n, i);
	if (tv->kind == P2O_TV_CONST)
		return tv->k->kind == PTS_C_NONE;
	if (tv->kind == P2O_TV_TENSOR || tv->kind == P2O_TV_LIST)
		return 0;
	return -1;
}

static int identity_test(p2o_cx *cx, const pts_node *n, bool is)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "self:v obj:v", v);
	if (rc)
		return rc;
	/* One TorchScript value is one object (nn.MultiheadAttention asks
	 * `query is not key` of self-attention). Different values may still
	 * be one object at run time (x.contiguous() can return x), so only
	 * this case and None are decided here. */
	if (n->in[v[0].idx] == n->in[v[1].idx])
		return p2o_set_bool(cx, n, 0, is);
	int a = noneness(cx, n, (uint32_t)v[0].idx);
	int b = noneness(cx, n, (uint32_t)v[1].idx);
	/* `x is None` is all TorchScript asks of `is` once frozen. */
	if (a >= 0 && b >= 0 && (a == 1 || b == 1))
		return p2o_set_bool(cx, n, 0, (a == b) == is);
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"identity test of values that are not None");
}

P2O_HANDLER(is)
{
	return identity_test(cx, n, true);
}

P2O_HANDLER(isnot)
{
	return identity_test(cx, n, false);
}

/* aten::__contains__(list, item) on constants (scripted argument checks
 * such as `input.dim() in (3, 4)`). */
P2O_HANDLER(contains)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "l|dict:v item|key:v", v);
	if (rc)
		return rc;
	const pts_const *l = v[0].k, *x = v[1].k;
	if (l && x && l->kind == PTS_C_INTS &&
	    (x->kind == PTS_C_INT || x->kind == PTS_C_BOOL)) {
		bool found = false;
		for (size_t i = 0; i < l->n; i++)
			found = found || l->ints[i] == x->i;
		return p2o_set_bool(cx, n, 0, found);
	}
	if (l && x && l->kind == PTS_C_FLOATS && x->kind == PTS_C_FLOAT) {
		bool found = false;
		for (size_t i = 0; i < l->n; i++)
			found = found || l->floats[i] == x->f;
		return p2o_set_bool(cx, n, 0, found);
	}
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"membership test of values known only at run time");
}

/* aten::format(str self, ...): Python's str.format for "{}" fields, which
 * scripted code uses to build the messages of its checks
 * (torch._assert(cond, f"...")). Fields whose argument is a constant are
 * filled in; the others (sizes known only at run time) stay "{}". The
 * result only ever reaches an exception message, where an unfilled field
 * is still readable. */
P2O_HANDLER(format)
{
	const pts_const *f = n->n_in ? p2o_konst(cx, n, 0) : NULL;
	if (!f || f->kind != PTS_C_STRING)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a format string known only at run time");
	char *out = p2o_strdup(cx, "");
	const char *p = f->s;
	uint32_t arg = 1;
	while (*p) {
		const char *q = strstr(p, "{}");
		size_t lit = q ? (size_t)(q - p) : strlen(p);
		out = p2o_fmt(cx, "%s%.*s", out, (int)lit, p);
		if (!q)
			break;
		const pts_const *k = arg < n->n_in ? p2o_konst(cx, n, arg) : NULL;
		arg++;
		if (k && k->kind == PTS_C_INT)
			out = p2o_fmt(cx, "%s%lld", out, (long long)k->i);
		else if (k && k->kind == PTS_C_FLOAT)
			out = p2o_fmt(cx, "%s%g", out, k->f);
		else if (k && k->kind == PTS_C_BOOL)
			out = p2o_fmt(cx, "%s%s", out, k->i ? "True" : "False");
		else if (k && k->kind == PTS_C_STRING)
			out = p2o_fmt(cx, "%s%s", out, k->s);
		else
			out = p2o_fmt(cx, "%s{}", out);
		p = q + 2;
	}
	pts_const *s = p2o_new_const(cx, PTS_C_STRING);
	s->s = out;
	p2o_set_const(cx, n, 0, s);
	return P2O_OK;
}

/* Queries whose answer is false for an exported model, which runs outside
 * any torch.autocast region, without autograd, on no CUDA device, on
 * plain (not nested) tensors: aten::is_autocast_enabled,
 * aten::is_grad_enabled, prim::requires_grad, prim::is_cuda,
 * prim::is_nested.
 * nn.MultiheadAttention asks them to pick its fast path, whose result is
 * the same as the other path's. */
P2O_HANDLER(const_false)
{
	return p2o_set_bool(cx, n, 0, false);
}

/* aten::str(elem) of a constant: the text Python's str gives for a
 * device, string, int or bool (the fast-path check
 * `'cpu' in str(x.device)`); prim::type(device), device.type, the same
 * for the devices a model has here (the CPU). */
P2O_HANDLER(str)
{
	const pts_const *k = n->n_in ? p2o_konst(cx, n, 0) : NULL;
	pts_const *s = p2o_new_const(cx, PTS_C_STRING);
	if (k && (k->kind == PTS_C_DEVICE || k->kind == PTS_C_STRING))
		s->s = k->s;
	else if (k && k->kind == PTS_C_INT)
		s->s = p2o_fmt(cx, "%lld", (long long)k->i);
	else if (k && k->kind == PTS_C_BOOL)
		s->s = k->i ? "True" : "False";
	else
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"str() of a value known only at run time or "
				"of this kind");
	p2o_set_const(cx, n, 0, s);
	return P2O_OK;
}

/* aten::find(self, substr, start=0, end=-1) on constant strings: the
 * index of the first occurrence in self[start:end], or -1 (what `in`
 * on strings compiles to). Byte offsets: exact for ASCII text, and
 * refused otherwise. */
P2O_HANDLER(find)
{
	p2o_arg v[4];
	int rc = p2o_args(cx, n, "self:s substr:s start:i end:i", v);
	if (rc)
		return rc;
	const char *h = v[0].s, *nd = v[1].s;
	int64_t len = (int64_t)strlen(h), st = v[2].i, en = v[3].i;
	for (const unsigned char *c = (const unsigned char *)h; *c; c++)
		if (*c >= 0x80)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"find in a non-ASCII string");
	/* Python's slice bounds: negative from the end, clamped. */
	if (st < 0)
		st = st + len < 0 ? 0 : st + len;
	if (en < 0)
		en = en + len < 0 ? 0 : en + len;
	if (st > len)
		st = len;
	if (en > len)
		en = len;
	int64_t found = -1, k = (int64_t)strlen(nd);
	for (int64_t i = st; found < 0 && i + k <= en; i++)
		if (strncmp(h + i, nd, (size_t)k) == 0)
			found = i;
	return p2o_set_int(cx, n, 0, found);
}
