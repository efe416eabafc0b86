/* rnn.c — recurrent layers: aten::lstm, gru, rnn_tanh, rnn_relu (one
 * ONNX LSTM/GRU/RNN per layer, both directions in one op) and their cells
 * (the same op over a sequence of one step).
 *
 * PyTorch and ONNX agree on the recurrences but not on the layout of the
 * weights: PyTorch stacks an LSTM's gates i,f,g,o and a GRU's r,z,n; ONNX
 * wants i,o,f,c and z,r,h, the two directions stacked on a new first axis,
 * and the input and hidden biases concatenated. So the weights are
 * regathered: once, into new initializers, when they are constants (the
 * frozen case: the one copy the format forces), else with Split/Concat in
 * the graph. A GRU's candidate applies the reset gate after the hidden
 * matmul in PyTorch: ONNX's linear_before_reset=1. */
#include <string.h>

#include "../internal.h"

enum rnn_kind { RNN_TANH, RNN_RELU, RNN_GRU, RNN_LSTM };

static const struct rnn_form {
	const char *op;     /* ONNX op */
	const char *what;   /* for diagnostics */
	int gates;          /* gate blocks in a weight's first axis */
	int64_t perm[4];    /* ONNX's gate k is PyTorch's gate perm[k] */
} forms[] = {
	[RNN_TANH] = { "RNN", "rnn_tanh", 1, { 0 } },
	[RNN_RELU] = { "RNN", "rnn_relu", 1, { 0 } },
	[RNN_GRU] = { "GRU", "gru", 3, { 1, 0, 2 } },
	[RNN_LSTM] = { "LSTM", "lstm", 4, { 0, 3, 1, 2 } },
};

/* Whether TorchScript value id is a constant tensor (a frozen weight). */
static const pts_tensor *const_weight(p2o_cx *cx, uint32_t id)
{
	const p2o_tv *tv = &P2O_TV(cx, id);
	if (tv->kind != P2O_TV_CONST || tv->k->kind != PTS_C_TENSOR ||
	    !tv->k->t.dtype || tv->k->t.rank < 1)
		return NULL;
	return &tv->k->t;
}

/* PyTorch weights as one ONNX W, R or B: src holds nsrc TorchScript value
 * ids per direction (ndir of them, direction-major), each [G*H, ...]
 * (P2O_NOVAL: an absent bias, zeros); the result is [ndir, nsrc*G*H, ...]
 * with each source's gate blocks in ONNX's order, the sources of a
 * direction concatenated on axis 1 (B = [Wb, Rb]). */
static uint32_t gather_gates(p2o_cx *cx, const struct rnn_form *f,
			     const uint32_t *src, int nsrc, int ndir,
			     const char *role, bool narrow)
{
	int nall = nsrc * ndir;
	uint32_t named = P2O_NOVAL;
	bool all_const = true;
	const pts_tensor *shape = NULL;
	for (int i = 0; i < nall; i++) {
		if (src[i] == P2O_NOVAL)
			continue;
		if (named == P2O_NOVAL)
			named = src[i];
		const pts_tensor *t = const_weight(cx, src[i]);
		if (!t)
			all_const = false;
		else if (!shape)
			shape = t;
		else if (t->dtype != shape->dtype || t->rank != shape->rank ||
			 t->nbytes != shape->nbytes)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"%s weights of different shapes or types",
					f->what), P2O_NOVAL;
	}
	if (named == P2O_NOVAL)
		return P2O_NOVAL; /* no bias at all: ONNX's default, zeros */
	if (all_const) {
		if (shape->dims[0] % f->gates)
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"%s weight of %lld rows for %d gates",
					f->what, (long long)shape->dims[0],
					f->gates), P2O_NOVAL;
		/* float64 weights narrowed to float32 in the same copy. */
		bool cvt = narrow && shape->dtype == P2O_DOUBLE;
		size_t esz = p2o_dtype_size(shape->dtype);
		size_t osz = cvt ? sizeof(float) : esz;
		size_t nel = shape->nbytes / esz, bel = nel / (size_t)f->gates;
		size_t block = bel * osz;
		int rank = shape->rank + 1;
		int64_t *dims = p2o_alloc(cx, sizeof *dims * (size_t)rank);
		dims[0] = ndir;
		dims[1] = shape->dims[0] * nsrc;
		for (int d = 1; d < shape->rank; d++)
			dims[d + 1] = shape->dims[d];
		p2o_tensor *t = p2o_alloc(cx, sizeof *t);
		t->dtype = cvt ? P2O_FLOAT : shape->dtype;
		t->rank = rank;
		t->dims = dims;
		t->nbytes = nel * osz * (size_t)nall;
		char *data = p2o_alloc(cx, t->nbytes ? t->nbytes : 1);
		for (int i = 0; i < nall; i++) {
			const pts_tensor *w = src[i] == P2O_NOVAL ? NULL :
					      const_weight(cx, src[i]);
			char *at = data + nel * osz * (size_t)i;
			for (int g = 0; w && g < f->gates; g++) {
				const char *from = (const char *)w->data +
						   bel * esz * (size_t)f->perm[g];
				if (!cvt) {
					memcpy(at + block * (size_t)g, from, block);
					continue;
				}
				float *to = (float *)(void *)(at + block * (size_t)g);
				const double *d = (const double *)(const void *)from;
				for (size_t e = 0; e < bel; e++)
					to[e] = (float)d[e];
			}
		}
		t->data = data;
		return p2o_initializer(cx, t, p2o_fmt(cx, "%s_%s",
			cx->g->values[named].name, role));
	}
	/* Weights computed in the graph: the same gathering as ops. */
	uint32_t *dirs = p2o_alloc(cx, sizeof *dirs * (size_t)ndir);
	uint32_t parts[8];
	for (int d = 0; d < ndir; d++) {
		uint32_t cat[2];
		for (int s = 0; s < nsrc; s++) {
			uint32_t id = src[d * nsrc + s];
			uint32_t other = src[d * nsrc + (nsrc - 1 - s)];
			if (id == P2O_NOVAL) {
				/* The other bias is there: zeros of its size. */
				uint32_t o = p2o_value_tensor(cx, other);
				if (o == P2O_NOVAL)
					return P2O_NOVAL;
				cat[s] = p2o_constant_of_shape(cx,
					p2o_dims_value(cx, o, 0, 1),
					p2o_t(cx, o)->dtype, 0);
				continue;
			}
			uint32_t w = p2o_value_tensor(cx, id);
			if (w == P2O_NOVAL)
				return P2O_NOVAL;
			const p2o_type *wt = p2o_t(cx, w);
			if (f->gates > 1) {
				if (wt->rank < 1 || wt->dims[0].v < 0 ||
				    wt->dims[0].v % f->gates)
					return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
							"%s weights of unknown size",
							f->what), P2O_NOVAL;
				int64_t sizes[4], blk = wt->dims[0].v / f->gates;
				uint32_t split[4];
				for (int g = 0; g < f->gates; g++)
					sizes[g] = blk;
				if (p2o_split(cx, w, 0, sizes, (size_t)f->gates,
					      split))
					return P2O_NOVAL;
				for (int g = 0; g < f->gates; g++)
					parts[g] = split[f->perm[g]];
				w = p2o_concat(cx, parts, (uint32_t)f->gates, 0);
			}
			cat[s] = w;
		}
		static const int64_t zero = 0;
		dirs[d] = p2o_unsqueeze(cx, p2o_concat(cx, cat, (uint32_t)nsrc, 0),
					&zero, 1);
	}
	uint32_t y = p2o_concat(cx, dirs, (uint32_t)ndir, 0);
	return narrow && y != P2O_NOVAL ? p2o_cast(cx, y, P2O_FLOAT) : y;
}

/* The hidden size: the second dim of the first hidden weight. */
static int hidden_size(p2o_cx *cx, const struct rnn_form *f, uint32_t w_hh,
		       int64_t *h)
{
	const pts_tensor *t = const_weight(cx, w_hh);
	if (t && t->rank == 2) {
		*h = t->dims[1];
		return P2O_OK;
	}
	uint32_t w = p2o_value_tensor(cx, w_hh);
	if (w == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	const p2o_type *wt = p2o_t(cx, w);
	if (wt->rank == 2 && wt->dims[1].v >= 0) {
		*h = wt->dims[1].v;
		return P2O_OK;
	}
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"%s with a hidden weight of unknown size", f->what);
}

/* One ONNX op over x [seq, batch, input]: weights in w (per direction:
 * w_ih, w_hh, b_ih or NOVAL, b_hh or NOVAL), initial states h0/c0 [ndir,
 * batch, hidden] or P2O_NOVAL (zeros). Outputs into out[0..2] (Y, Y_h,
 * Y_c). */
static int layer(p2o_cx *cx, const struct rnn_form *f, bool relu, uint32_t x,
		 const uint32_t *w, int ndir, int64_t hidden, uint32_t h0,
		 uint32_t c0, uint32_t *out)
{
	uint32_t wih[2], whh[2], bias[4];
	bool any_bias = false;
	/* ONNX Runtime has no float64 kernel of LSTM, GRU or RNN: as for
	 * the unary ops (p2o_narrow_f64), computed in float32 and cast back. */
	bool narrow = p2o_t(cx, x)->dtype == P2O_DOUBLE;
	if (narrow) {
		x = p2o_cast(cx, x, P2O_FLOAT);
		h0 = h0 == P2O_NOVAL ? h0 : p2o_cast(cx, h0, P2O_FLOAT);
		c0 = c0 == P2O_NOVAL ? c0 : p2o_cast(cx, c0, P2O_FLOAT);
	}
	for (int d = 0; d < ndir; d++) {
		wih[d] = w[4 * d];
		whh[d] = w[4 * d + 1];
		bias[2 * d] = w[4 * d + 2];
		bias[2 * d + 1] = w[4 * d + 3];
		any_bias |= bias[2 * d] != P2O_NOVAL || bias[2 * d + 1] != P2O_NOVAL;
	}
	uint32_t in[8] = { x, gather_gates(cx, f, wih, 1, ndir, "W", narrow),
			   gather_gates(cx, f, whh, 1, ndir, "R", narrow),
			   any_bias ? gather_gates(cx, f, bias, 2, ndir, "B",
						   narrow) : P2O_NOVAL,
			   P2O_NOVAL, h0, c0, P2O_NOVAL };
	if (in[1] == P2O_NOVAL || in[2] == P2O_NOVAL ||
	    (any_bias && in[3] == P2O_NOVAL))
		return P2O_ERR_UNSUPPORTED;
	uint32_t n_in = f->gates == 4 ? 7 : 6;
	while (in[n_in - 1] == P2O_NOVAL)
		n_in--;
	uint32_t nd = p2o_node_new(cx, f->op, n_in, in, f->gates == 4 ? 3 : 2);
	p2o_attr_int(cx, nd, "hidden_size", hidden);
	if (ndir == 2)
		p2o_attr_str(cx, nd, "direction", "bidirectional");
	if (f->gates == 3)
		p2o_attr_int(cx, nd, "linear_before_reset", 1);
	if (relu) {
		/* RNN's default is Tanh; a list names one per direction. */
		static const char *const acts[2] = { "Relu", "Relu" };
		p2o_attr_strs(cx, nd, "activations", acts, (size_t)ndir);
	}
	if (p2o_node_done(cx, nd) == P2O_NOVAL)
		return P2O_ERR_CONVERT;
	const p2o_node *node = p2o_n(cx, nd);
	for (uint32_t k = 0; k < node->n_out; k++)
		out[k] = narrow ? p2o_cast(cx, node->out[k], P2O_DOUBLE) :
				  node->out[k];
	return P2O_OK;
}

/* The two tensors of an LSTM's hx list (h, c) into hc. */
static int state_pair(p2o_cx *cx, const pts_node *n, const p2o_arg *a,
		      uint32_t *hc)
{
	const p2o_tv *l = p2o_tvin(cx, n, (uint32_t)a->idx);
	if (l->kind != P2O_TV_LIST || l->n != 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"an LSTM state that is not a list of (h, c) "
				"built in the graph");
	for (int i = 0; i < 2; i++)
		if ((hc[i] = p2o_value_tensor(cx, l->items[i])) == P2O_NOVAL)
			return P2O_ERR_UNSUPPORTED;
	return P2O_OK;
}

/* Checks the input's dtype (what: "" or "_cell" after the op's name) and
 * reads the initial states hx: a tensor h, or an LSTM's list (h, c). */
static int states(p2o_cx *cx, const pts_node *n, const struct rnn_form *f,
		  const char *what, int dtype, const p2o_arg *hx, uint32_t *hc)
{
	if (!p2o_dtype_is_float(dtype) || dtype == P2O_BFLOAT16)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s%s of a %s input (ONNX's %s takes float16, "
				"float32 and float64)", f->what, what,
				p2o_dtype_name(dtype), f->op);
	if (f->gates == 4)
		return state_pair(cx, n, hx, hc);
	hc[0] = p2o_value_tensor(cx, n->in[hx->idx]);
	return hc[0] == P2O_NOVAL ? P2O_ERR_UNSUPPORTED : P2O_OK;
}

/* Y [seq, ndir, batch, hidden] as PyTorch's [seq, batch, ndir*hidden]. */
static uint32_t merge_directions(p2o_cx *cx, uint32_t y, int ndir)
{
	static const int64_t one = 1, perm[4] = { 0, 2, 1, 3 },
			     shape[3] = { 0, 0, -1 };
	if (ndir == 1)
		return p2o_squeeze(cx, y, &one, 1);
	return p2o_reshape(cx, p2o_transpose(cx, y, perm, 4),
			   p2o_const_i64s(cx, shape, 3));
}

/* aten::lstm/gru/rnn_tanh/rnn_relu.input(input, hx, params, has_biases,
 * num_layers, dropout, train, bidirectional, batch_first): one ONNX op per
 * layer, the output of one the input of the next; params holds per layer
 * and direction w_ih, w_hh and, with has_biases, b_ih, b_hh. */
static int rnn_seq(p2o_cx *cx, const pts_node *n, enum rnn_kind kind)
{
	const struct rnn_form *f = &forms[kind];
	bool lstm = kind == RNN_LSTM;
	if (p2o_overload_is(n, "data"))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s over a packed sequence (pack_padded_sequence) "
				"does not convert: pass the padded batch", f->what);
	p2o_arg v[9];
	int rc = p2o_args(cx, n, "input:t hx:v params:v has_biases:b "
			  "num_layers:i dropout:f train:b bidirectional:b "
			  "batch_first:b", v);
	if (rc)
		return rc;
	int ndir = v[7].b ? 2 : 1;
	int64_t nl = v[4].i;
	if (v[6].b && v[5].f != 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s with dropout in training mode (train=True, "
				"dropout %g): export the model in eval mode",
				f->what, v[5].f);
	const p2o_tv *pl = p2o_tvin(cx, n, (uint32_t)v[2].idx);
	if (pl->kind != P2O_TV_LIST)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s whose weights are not a list built in the graph",
				f->what);
	int per = v[3].b ? 4 : 2;
	if (nl < 1 || nl > 1024)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s of %lld layers",
				f->what, (long long)nl);
	if (lstm && pl->n == (uint32_t)(nl * ndir * (per + 1)))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"lstm with proj_size (a projection of the hidden "
				"state, weight_hr): ONNX's LSTM has no projection");
	if (pl->n != (uint32_t)(nl * ndir * per))
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s given %u weights for %lld layers", f->what,
				pl->n, (long long)nl);
	uint32_t x = v[0].tensor;
	const p2o_type *xt = p2o_t(cx, x);
	if (xt->rank != 3)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s of an input that is not 3-D", f->what);
	uint32_t hc[2] = { P2O_NOVAL, P2O_NOVAL };
	if ((rc = states(cx, n, f, "", xt->dtype, &v[1], hc)))
		return rc;
	int64_t hidden;
	if ((rc = hidden_size(cx, f, pl->items[1], &hidden)))
		return rc;
	static const int64_t swap[3] = { 1, 0, 2 };
	if (v[8].b)
		x = p2o_transpose(cx, x, swap, 3);
	uint32_t *hn = p2o_alloc(cx, sizeof *hn * (size_t)nl * 2);
	uint32_t *cn = hn + nl;
	for (int64_t l = 0; l < nl; l++) {
		uint32_t w[8];
		for (int d = 0; d < ndir; d++)
			for (int k = 0; k < 4; k++)
				w[4 * d + k] = k < per ?
					pl->items[(l * ndir + d) * per + k] :
					P2O_NOVAL;
		uint32_t st[2];
		for (int i = 0; i < 2; i++) {
			int64_t lo = l * ndir, hi = lo + ndir, ax = 0;
			st[i] = hc[i] == P2O_NOVAL || nl == 1 ? hc[i] :
				p2o_slice(cx, hc[i], &lo, &hi, &ax, NULL, 1);
		}
		uint32_t out[3];
		if ((rc = layer(cx, f, kind == RNN_RELU, x, w, ndir, hidden,
				st[0], st[1], out)))
			return rc;
		x = merge_directions(cx, out[0], ndir);
		hn[l] = out[1];
		cn[l] = lstm ? out[2] : P2O_NOVAL;
	}
	if (v[8].b)
		x = p2o_transpose(cx, x, swap, 3);
	p2o_set_tensor(cx, n, 1, p2o_concat(cx, hn, (uint32_t)nl, 0));
	if (lstm)
		p2o_set_tensor(cx, n, 2, p2o_concat(cx, cn, (uint32_t)nl, 0));
	return p2o_set_result(cx, n, x);
}

P2O_HANDLER(lstm) { return rnn_seq(cx, n, RNN_LSTM); }
P2O_HANDLER(gru) { return rnn_seq(cx, n, RNN_GRU); }
P2O_HANDLER(rnn_tanh) { return rnn_seq(cx, n, RNN_TANH); }
P2O_HANDLER(rnn_relu) { return rnn_seq(cx, n, RNN_RELU); }

/* aten::lstm_cell/gru_cell/rnn_tanh_cell/rnn_relu_cell(input, hx, w_ih,
 * w_hh, b_ih=None, b_hh=None): the op of the sequence form over one step;
 * input [batch, input] or unbatched [input], hx alike (lstm_cell: a list
 * of h and c). */
static int rnn_cell(p2o_cx *cx, const pts_node *n, enum rnn_kind kind)
{
	const struct rnn_form *f = &forms[kind];
	bool lstm = kind == RNN_LSTM;
	p2o_arg v[6];
	int rc = p2o_args(cx, n, "input:t hx:v w_ih:v w_hh:v b_ih:v? b_hh:v?", v);
	if (rc)
		return rc;
	uint32_t x = v[0].tensor;
	const p2o_type *xt = p2o_t(cx, x);
	if (xt->rank != 1 && xt->rank != 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"%s_cell of an input that is not 1-D or 2-D",
				f->what);
	uint32_t hc[2] = { P2O_NOVAL, P2O_NOVAL };
	if ((rc = states(cx, n, f, "_cell", xt->dtype, &v[1], hc)))
		return rc;
	uint32_t w[4] = { n->in[v[2].idx], n->in[v[3].idx],
			  v[4].none ? P2O_NOVAL : n->in[v[4].idx],
			  v[5].none ? P2O_NOVAL : n->in[v[5].idx] };
	int64_t hidden;
	if ((rc = hidden_size(cx, f, w[1], &hidden)))
		return rc;
	/* A sequence of one step (and a batch of one when unbatched). */
	static const int64_t axes[2] = { 0, 1 };
	size_t na = xt->rank == 1 ? 2 : 1;
	x = p2o_unsqueeze(cx, x, axes, na);
	for (int i = 0; i < 2; i++)
		if (hc[i] != P2O_NOVAL)
			hc[i] = p2o_unsqueeze(cx, hc[i], axes, na);
	uint32_t out[3];
	if ((rc = layer(cx, f, kind == RNN_RELU, x, w, 1, hidden, hc[0], hc[1],
			out)))
		return rc;
	if (lstm)
		p2o_set_tensor(cx, n, 1, p2o_squeeze(cx, out[2], axes, na));
	return p2o_set_result(cx, n, p2o_squeeze(cx, out[1], axes, na));
}

P2O_HANDLER(lstm_cell) { return rnn_cell(cx, n, RNN_LSTM); }
P2O_HANDLER(gru_cell) { return rnn_cell(cx, n, RNN_GRU); }
P2O_HANDLER(rnn_tanh_cell) { return rnn_cell(cx, n, RNN_TANH); }
P2O_HANDLER(rnn_relu_cell) { return rnn_cell(cx, n, RNN_RELU); }
