/* prim.c — TorchScript plumbing: lists and tuples built and taken apart,
 * numbers turned into tensors and back. Nothing here emits ONNX unless a
 * value is only known at run time. */
#include "../internal.h"

/* prim::ListConstruct / prim::TupleConstruct: a list of the inputs. */
P2O_HANDLER(list_construct)
{
	p2o_tv *tv = &P2O_TV(cx, n->out[0]);
	tv->kind = P2O_TV_LIST;
	tv->onnx = P2O_NOVAL;
	tv->n = n->n_in;
	tv->items = n->in;
	if (cx->loop_depth) { /* inside an unrolled loop: see p2o_tv_pin */
		uint32_t *items = p2o_alloc(cx, sizeof *items *
						    (n->n_in ? n->n_in : 1));
		for (uint32_t j = 0; j < n->n_in; j++)
			items[j] = p2o_tv_pin(cx, n->in[j]);
		tv->items = items;
	}
	return P2O_OK;
}

/* Item j of input `list` (a list) bound to output k. */
static int take_item(p2o_cx *cx, const pts_node *n, uint32_t list, int64_t j,
		     uint32_t k)
{
	const p2o_tv *l = p2o_tvin(cx, n, list);
	if (l->kind == P2O_TV_LIST) {
		if (j < 0)
			j += l->n;
		if (j < 0 || j >= l->n)
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"index %lld out of range for a list of %u",
					(long long)j, l->n);
		P2O_TV(cx, n->out[k]) = P2O_TV(cx, l->items[j]);
		return P2O_OK;
	}
	if (l->kind == P2O_TV_CONST && (l->k->kind == PTS_C_INTS ||
					l->k->kind == PTS_C_FLOATS ||
					l->k->kind == PTS_C_BOOLS)) {
		if (j < 0)
			j += (int64_t)l->k->n;
		if (j < 0 || j >= (int64_t)l->k->n)
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"index %lld out of range for a list of %zu",
					(long long)j, l->k->n);
		/* float[] and bool[] constants: a buffer's tolist() */
		if (l->k->kind == PTS_C_FLOATS)
			return p2o_set_float(cx, n, k, l->k->floats[j]);
		if (l->k->kind == PTS_C_BOOLS)
			return p2o_set_bool(cx, n, k, l->k->ints[j] != 0);
		return p2o_set_int(cx, n, k, l->k->ints[j]);
	}
	if (l->kind == P2O_TV_TENSOR && p2o_t(cx, l->onnx)->rank == 1) {
		/* A run-time int list (a symbolic shape): one Gather. */
		uint32_t idx = p2o_const_scalar(cx, P2O_INT64, (double)j);
		uint32_t y = p2o_op2(cx, "Gather", l->onnx, idx);
		if (y == P2O_NOVAL)
			return P2O_ERR_CONVERT;
		p2o_set_tensor(cx, n, k, y);
		return P2O_OK;
	}
	return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
			"taking items of a list not built in the graph");
}

/* prim::ListUnpack / prim::TupleUnpack */
P2O_HANDLER(list_unpack)
{
	for (uint32_t k = 0; k < n->n_out; k++) {
		int rc = take_item(cx, n, 0, k, k);
		if (rc)
			return rc;
	}
	return P2O_OK;
}

/* aten::__getitem__.t(list, idx) */
P2O_HANDLER(getitem)
{
	p2o_arg v[2];
	int rc = p2o_args(cx, n, "list:v idx:i", v);
	return rc ? rc : take_item(cx, n, (uint32_t)v[0].idx, v[1].i, 0);
}

/* prim::NumToTensor(number): a 0-dim tensor of the number; constants stay
 * constants (they become initializers where used as tensors). */
P2O_HANDLER(num_to_tensor)
{
	const p2o_tv *in = p2o_tvin(cx, n, 0);
	if (in->kind == P2O_TV_TENSOR) {
		p2o_set_tensor(cx, n, 0, in->onnx);
		return P2O_OK;
	}
	P2O_TV(cx, n->out[0]) = *in;
	return P2O_OK;
}

/* Number conversions (aten::Int, aten::Float, aten::Bool and the implicit
 * forms): to is P2O_INT64, P2O_FLOAT or P2O_BOOL. */
static int to_number(p2o_cx *cx, const pts_node *n, int to)
{
	p2o_arg a;
	int rc = p2o_args(cx, n, "a:v", &a);
	if (rc)
		return rc;
	const pts_const *k = a.k;
	double v = 0;
	bool known = true;
	if (k && (k->kind == PTS_C_INT || k->kind == PTS_C_BOOL)) {
		v = (double)k->i;
	} else if (k && k->kind == PTS_C_FLOAT) {
		v = k->f;
	} else if (k && k->kind == PTS_C_TENSOR) {
		const pts_tensor *t = &k->t;
		if (!t->data || t->nbytes != p2o_dtype_size(t->dtype))
			return p2o_fail(cx, P2O_ERR_CONVERT,
					"a tensor of more than one element "
					"cannot become a number");
		switch (t->dtype) {
		case P2O_FLOAT: v = *(const float *)t->data; break;
		case P2O_DOUBLE: v = *(const double *)t->data; break;
		case P2O_INT64: v = (double)*(const int64_t *)t->data; break;
		case P2O_INT32: v = *(const int32_t *)t->data; break;
		case P2O_BOOL: case P2O_UINT8: v = *(const uint8_t *)t->data; break;
		default:
			return p2o_fail(cx, P2O_ERR_UNSUPPORTED,
					"a number from a constant of this dtype");
		}
	} else {
		known = false;
	}
	if (known)
		return to == P2O_INT64 ? p2o_set_int(cx, n, 0, (int64_t)v) :
		       to == P2O_BOOL  ? p2o_set_bool(cx, n, 0, v != 0) :
					 p2o_set_float(cx, n, 0, v);
	uint32_t x = p2o_arg_tensor(cx, n, (uint32_t)a.idx);
	if (x == P2O_NOVAL)
		return P2O_ERR_UNSUPPORTED;
	return p2o_set_result(cx, n, p2o_cast(cx, x, to));
}

P2O_HANDLER(to_int)
{
	return to_number(cx, n, P2O_INT64);
}

P2O_HANDLER(to_float)
{
	return to_number(cx, n, P2O_FLOAT);
}

P2O_HANDLER(to_bool)
{
	return to_number(cx, n, P2O_BOOL);
}
