/* loop.c — prim::Loop, unrolled: TorchScript's for and while loops whose
 * trip count and condition are known at conversion time (loops over
 * range(len(x.shape)), over a constant list, the size checks of scripted
 * group_norm and F.interpolate's scale list) become their iterations'
 * nodes one after another, and the index arithmetic TorchScript records
 * for range(a, b, step) loops (aten::__range_length, __derive_index). */
#include <string.h>

#include "../internal.h"

/* Bounds on one unrolled loop: its iterations, and the ONNX nodes its
 * iterations add (nested loops count toward both the inner loop's and
 * the outer one's). Past either the conversion is refused rather than
 * writing a model of millions of nodes. */
#define MAX_ITERATIONS 10000
#define MAX_NODES 200000

static bool in_body(p2o_cx *cx, uint32_t id)
{
	return cx->loop_vals && id < cx->g->n_values && cx->loop_vals[id];
}

uint32_t p2o_tv_pin(p2o_cx *cx, uint32_t id)
{
	if (!cx->loop_depth || !in_body(cx, id))
		return id;
	p2o_tv saved = P2O_TV(cx, id);
	uint32_t pin = p2o_tv_new(cx);
	P2O_TV(cx, pin) = saved;
	return pin;
}

const char *p2o_tv_name(p2o_cx *cx, uint32_t id)
{
	return id < cx->g->n_values ? cx->g->values[id].name : "(list item)";
}

/* Marks (mark) or unbinds (!mark) every value block b defines: its
 * parameters and its nodes' outputs, nested blocks included. Unbinding
 * before each iteration makes a handler that leaves an output unset an
 * error again, instead of it silently reading the last iteration's. */
static void body_values(p2o_cx *cx, const pts_block *b, bool mark)
{
	for (uint32_t j = 0; j < b->n_in; j++) {
		if (mark)
			cx->loop_vals[b->in[j]] = 1;
		else
			memset(&P2O_TV(cx, b->in[j]), 0, sizeof(p2o_tv));
	}
	for (uint32_t i = 0; i < b->n_nodes; i++) {
		const pts_node *n = &b->nodes[i];
		for (uint32_t k = 0; k < n->n_out; k++) {
			if (mark)
				cx->loop_vals[n->out[k]] = 1;
			else
				memset(&P2O_TV(cx, n->out[k]), 0,
				       sizeof(p2o_tv));
		}
		for (uint32_t k = 0; k < n->n_blocks; k++)
			body_values(cx, &n->blocks[k], mark);
	}
}

/* A constant bool or int's truth; -1 when not known now. */
static int known_truth(const p2o_tv *tv)
{
	if (tv->kind != P2O_TV_CONST ||
	    (tv->k->kind != PTS_C_BOOL && tv->k->kind != PTS_C_INT))
		return -1;
	return tv->k->i != 0;
}

/* prim::Loop(max_trip_count, cond, carried...) with one block
 * (iteration, carried...) -> (cond, carried...): the block is walked once
 * per iteration, each walk binding the iteration number and the values
 * the last one produced, until the trip count is reached or the
 * condition the block returns is false. Every iteration's ONNX values
 * get names of their own (the name set makes them unique), and values
 * the body keeps in lists are pinned (p2o_tv_pin), so rebinding the
 * body's TorchScript values on the next walk changes neither. */
P2O_HANDLER(loop)
{
	if (n->n_blocks != 1 || n->n_in < 2 ||
	    n->blocks[0].n_in != n->n_in - 1 ||
	    n->blocks[0].n_out != n->n_in - 1 || n->n_out != n->n_in - 2)
		return p2o_fail(cx, P2O_ERR_MODEL,
				"prim::Loop of an unexpected form");
	const pts_block *b = &n->blocks[0];
	uint32_t nc = n->n_out;
	const p2o_tv *trip_tv = p2o_tvin(cx, n, 0);
	if (trip_tv->kind != P2O_TV_CONST || trip_tv->k->kind != PTS_C_INT)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a loop whose trip count is only known at run "
				"time (a size declared symbolic, or data); "
				"pt2onnx unrolls loops whose trip count and "
				"condition are known at conversion time");
	int64_t trip = trip_tv->k->i;
	int go = known_truth(p2o_tvin(cx, n, 1));
	if (go < 0)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"a while loop whose condition is only known "
				"at run time; pt2onnx unrolls loops whose trip "
				"count and condition are known at conversion "
				"time");
	p2o_tv *cur = p2o_alloc(cx, sizeof *cur * (nc ? nc : 1));
	for (uint32_t j = 0; j < nc; j++)
		cur[j] = *p2o_tvin(cx, n, 2 + j);
	if (!cx->loop_vals)
		cx->loop_vals = p2o_alloc(cx, cx->g->n_values ?
						      cx->g->n_values : 1);
	body_values(cx, b, true);
	uint32_t first_node = cx->n_nodes;
	int rc = P2O_OK;
	cx->loop_depth++;
	for (int64_t i = 0; go && i < trip; i++) {
		if (i == MAX_ITERATIONS || cx->n_nodes - first_node > MAX_NODES) {
			rc = p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				      "a loop of more than %s: unrolling it "
				      "would make too large a model",
				      i == MAX_ITERATIONS ?
					      "10000 iterations" :
					      "200000 ONNX nodes");
			break;
		}
		body_values(cx, b, false);
		pts_const *k = p2o_new_const(cx, PTS_C_INT);
		k->i = i;
		P2O_TV(cx, b->in[0]).kind = P2O_TV_CONST;
		P2O_TV(cx, b->in[0]).k = k;
		P2O_TV(cx, b->in[0]).onnx = P2O_NOVAL;
		for (uint32_t j = 0; j < nc; j++)
			P2O_TV(cx, b->in[1 + j]) = cur[j];
		uint64_t before = cx->n_reports;
		p2o_walk_block(cx, b);
		if (cx->n_reports != before) {
			rc = P2O_ERR_UNSUPPORTED; /* the body said why */
			break;
		}
		go = known_truth(&P2O_TV(cx, b->out[0]));
		if (go < 0) {
			rc = p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				      "a loop whose condition is only known at "
				      "run time (data-dependent control flow)");
			break;
		}
		for (uint32_t j = 0; j < nc; j++)
			cur[j] = P2O_TV(cx, b->out[1 + j]);
	}
	cx->loop_depth--;
	if (rc != P2O_OK)
		return rc;
	for (uint32_t j = 0; j < nc; j++)
		P2O_TV(cx, n->out[j]) = cur[j];
	return P2O_OK;
}

/* aten::__range_length(lo, hi, step): the number of items of
 * range(lo, hi, step), Python's rule (0 when the range is empty, either
 * sign of step). Folded when all three are known; with a run-time bound
 * (a symbolic size) the arithmetic is emitted, for a known step. */
P2O_HANDLER(range_length)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "lo:n hi:n step:i", v);
	if (rc)
		return rc;
	int64_t step = v[2].i;
	if (step == 0)
		return p2o_fail(cx, P2O_ERR_CONVERT, "range() step must not be "
				"zero");
	if (v[0].k && v[1].k && v[0].k->kind == PTS_C_INT &&
	    v[1].k->kind == PTS_C_INT) {
		int64_t lo = v[0].k->i, hi = v[1].k->i, len = 0;
		/* In unsigned arithmetic: hi - lo may not fit an int64. */
		if (step > 0 && lo < hi)
			len = (int64_t)(((uint64_t)hi - (uint64_t)lo - 1) /
					(uint64_t)step + 1);
		else if (step < 0 && lo > hi)
			len = (int64_t)(((uint64_t)lo - (uint64_t)hi - 1) /
					(0 - (uint64_t)step) + 1);
		return p2o_set_int(cx, n, 0, len);
	}
	if (cx->opset < 9)
		return p2o_need_opset(cx, 9, "a range() whose bounds are only "
				      "known at run time");
	/* span = the distance in the step's direction; the length is
	 * ceil(span / |step|) when span > 0, else 0. Div truncates, which is
	 * the floor for the positive numerators it is used on. */
	uint32_t lo = p2o_arg_tensor_as(cx, n, (uint32_t)v[0].idx, P2O_INT64);
	uint32_t hi = p2o_arg_tensor_as(cx, n, (uint32_t)v[1].idx, P2O_INT64);
	uint64_t mag = step > 0 ? (uint64_t)step : 0 - (uint64_t)step;
	uint32_t span = step > 0 ? p2o_op2(cx, "Sub", hi, lo) :
				   p2o_op2(cx, "Sub", lo, hi);
	uint32_t zero = p2o_const_scalar(cx, P2O_INT64, 0);
	uint32_t num = p2o_op2(cx, "Add", span,
			       p2o_const_scalar(cx, P2O_INT64,
						(double)(mag - 1)));
	uint32_t len = p2o_op2(cx, "Div", num,
			       p2o_const_scalar(cx, P2O_INT64, (double)mag));
	return p2o_set_result(cx, n,
			      p2o_select(cx, p2o_op2(cx, "Greater", span, zero),
					 len, zero));
}

/* aten::__derive_index(index, start, step): start + index * step, the
 * item of range(start, _, step) that iteration `index` takes. */
P2O_HANDLER(derive_index)
{
	p2o_arg v[3];
	int rc = p2o_args(cx, n, "index:n start:n step:n", v);
	if (rc)
		return rc;
	bool known = true;
	for (int j = 0; j < 3; j++)
		known = known && v[j].k && v[j].k->kind == PTS_C_INT;
	if (known)
		return p2o_set_int(cx, n, 0,
				   (int64_t)((uint64_t)v[1].k->i +
					     (uint64_t)v[0].k->i *
						     (uint64_t)v[2].k->i));
	uint32_t t[3];
	for (int j = 0; j < 3; j++)
		t[j] = p2o_arg_tensor_as(cx, n, (uint32_t)v[j].idx, P2O_INT64);
	return p2o_set_result(cx, n,
			      p2o_op2(cx, "Add", t[1],
				      p2o_op2(cx, "Mul", t[0], t[2])));
}

/* Element i of constant tensor t: int64 or floating (float32/float64),
 * the dtypes PyTorch's tolist() accepts for int and float lists. */
static int64_t int_elem(const pts_tensor *t, size_t i)
{
	int64_t x;
	memcpy(&x, (const char *)t->data + 8 * i, 8);
	return x;
}

static double float_elem(const pts_tensor *t, size_t i)
{
	if (t->dtype == P2O_FLOAT) {
		float x;
		memcpy(&x, (const char *)t->data + 4 * i, 4);
		return x;
	}
	double x;
	memcpy(&x, (const char *)t->data + 8 * i, 8);
	return x;
}

/* The nested lists of t's elements from flat index `at`, dims [d, rank):
 * a p2o_tv id (a constant list for the last dim, a list of lists above,
 * a number for a 0-dim tensor). elem: 0 int, 1 float, 2 bool. */
static uint32_t const_lists(p2o_cx *cx, const pts_tensor *t, int d,
			    size_t at, int elem)
{
	uint32_t id = p2o_tv_new(cx);
	if (d < t->rank - 1) {
		size_t inner = 1;
		for (int j = d + 1; j < t->rank; j++)
			inner *= (size_t)t->dims[j];
		uint32_t cnt = (uint32_t)t->dims[d];
		uint32_t *items = p2o_alloc(cx, sizeof *items * (cnt ? cnt : 1));
		for (uint32_t j = 0; j < cnt; j++)
			items[j] = const_lists(cx, t, d + 1, at + j * inner, elem);
		p2o_tv *tv = &P2O_TV(cx, id);
		tv->kind = P2O_TV_LIST;
		tv->n = cnt;
		tv->items = items;
		return id;
	}
	bool scalar = t->rank == 0;
	size_t cnt = scalar ? 1 : (size_t)t->dims[d];
	pts_const *k = p2o_new_const(cx, scalar ? (elem == 1 ? PTS_C_FLOAT :
						   elem == 2 ? PTS_C_BOOL :
							       PTS_C_INT) :
						  (elem == 1 ? PTS_C_FLOATS :
						   elem == 2 ? PTS_C_BOOLS :
							       PTS_C_INTS));
	int64_t *ints = p2o_alloc(cx, sizeof *ints * (cnt ? cnt : 1));
	double *floats = p2o_alloc(cx, sizeof *floats * (cnt ? cnt : 1));
	for (size_t j = 0; j < cnt; j++) {
		if (elem == 1)
			floats[j] = float_elem(t, at + j);
		else if (elem == 2)
			ints[j] = ((const uint8_t *)t->data)[at + j] != 0;
		else
			ints[j] = int_elem(t, at + j);
	}
	k->n = cnt;
	k->ints = ints;
	k->floats = floats;
	k->i = ints[0];
	k->f = floats[0];
	P2O_TV(cx, id).kind = P2O_TV_CONST;
	P2O_TV(cx, id).k = k;
	return id;
}

/* prim::tolist(self, dim, elem_type): the tensor's elements as nested
 * Python lists (elem_type 0 int, 1 float, 2 bool). A tensor whose
 * values are known at conversion time (a buffer, a constant) becomes
 * constant lists, so what the model computes from them folds; a 1-D
 * int64 run-time tensor of known length (sizes: torch.tensor(x.shape))
 * becomes a list of its items. Anything else is data the model would
 * read at run time into Python numbers, which a graph cannot. */
P2O_HANDLER(tolist)
{
	const pts_const *kd = p2o_konst(cx, n, 1), *ke = p2o_konst(cx, n, 2);
	if (!kd || !ke || kd->kind != PTS_C_INT || ke->kind != PTS_C_INT ||
	    ke->i < 0 || ke->i > 2)
		return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				"tolist() with a dimension or element type "
				"that is not a constant int, or of complex "
				"numbers");
	int64_t dim = kd->i;
	int elem = (int)ke->i;
	const p2o_tv *tv = p2o_tvin(cx, n, 0);
	if (tv->kind == P2O_TV_CONST && tv->k->kind == PTS_C_TENSOR) {
		const pts_tensor *t = &tv->k->t;
		int dt = t->dtype;
		/* PyTorch checks both at run time, and raises unless the
		 * dtype is int64 for int, float32/float64 for float, bool
		 * for bool. */
		bool ok = elem == 0 ? dt == P2O_INT64 : elem == 1 ?
			  dt == P2O_FLOAT || dt == P2O_DOUBLE : dt == P2O_BOOL;
		if (t->rank != dim || !ok)
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"tolist() of a %d-D %s tensor into a "
					"%lld-D list of %s (PyTorch raises "
					"here)",
					t->rank,
					p2o_dtype_name(dt) ? p2o_dtype_name(dt) :
							     "?",
					(long long)dim,
					elem == 0 ? "int" :
					elem == 1 ? "float" : "bool");
		P2O_TV(cx, n->out[0]) =
			P2O_TV(cx, const_lists(cx, t, 0, 0, elem));
		return P2O_OK;
	}
	if (tv->kind == P2O_TV_TENSOR && elem == 0 && dim == 1) {
		const p2o_type *t = p2o_t(cx, tv->onnx);
		if (t->rank == 1 && t->dtype == P2O_INT64 && t->dims[0].v >= 0 &&
		    t->dims[0].v <= P2O_MAX_SPLIT) {
			uint32_t cnt = (uint32_t)t->dims[0].v;
			uint32_t *items = p2o_alloc(cx, sizeof *items *
							    (cnt ? cnt : 1));
			if (p2o_int_items(cx, tv->onnx, items, cnt) < 0)
				return P2O_ERR_CONVERT;
			p2o_tv *o = &P2O_TV(cx, n->out[0]);
			o->kind = P2O_TV_LIST;
			o->onnx = P2O_NOVAL;
			o->n = cnt;
			o->items = items;
			return P2O_OK;
		}
	}
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"tolist() of a tensor whose values are only known at "
			"run time (only constants, and 1-D int64 tensors of "
			"known length, such as sizes, convert)");
}
