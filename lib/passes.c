/* passes.c — ONNX-level clean-up after the walk: Identity removal and
 * dead-code removal. Both are single sweeps over the node list (which is
 * in topological order), so linear in the graph's size. */
#include <string.h>

#include "internal.h"

void p2o_finalize(p2o_cx *cx)
{
	uint32_t nv = cx->n_vals;
	uint32_t *alias = p2o_alloc(cx, sizeof *alias * (nv ? nv : 1));
	for (uint32_t v = 0; v < nv; v++)
		alias[v] = v;
	for (uint32_t i = 0; i < cx->n_outputs; i++)
		p2o_v(cx, cx->outputs[i])->graph_output = true;

	/* Identity removal: consumers of an Identity read its input instead.
	 * Every consumer comes after its producer, so one forward sweep sees
	 * each alias before its uses. Identities that are graph outputs stay:
	 * they give the output its own name. */
	for (uint32_t i = 0; i < cx->n_nodes; i++) {
		p2o_node *nd = p2o_n(cx, i);
		for (uint32_t j = 0; j < nd->n_in; j++)
			if (nd->in[j] != P2O_NOVAL)
				nd->in[j] = alias[nd->in[j]];
		if (strcmp(nd->op, "Identity") == 0 && !p2o_v(cx, nd->out[0])->graph_output)
			alias[nd->out[0]] = nd->in[0];
	}

	/* ---- knobs ---- */
	p2o_fold(cx);

	/* Dead-code removal: a node lives if one of its outputs is read by a
	 * live node or is a graph output. */
	for (uint32_t v = 0; v < nv; v++)
		p2o_v(cx, v)->live = p2o_v(cx, v)->graph_output;
	for (uint32_t i = 0; i < cx->n_inputs; i++)
		p2o_v(cx, cx->inputs[i])->live = true;
	for (uint32_t i = cx->n_nodes; i-- > 0;) {
		p2o_node *nd = p2o_n(cx, i);
		nd->live = false;
		if (p2o_folded(cx, nd)) /* ---- knobs ---- */
			continue;
		for (uint32_t k = 0; k < nd->n_out && !nd->live; k++)
			nd->live = p2o_v(cx, nd->out[k])->live;
		if (!nd->live)
			continue;
		for (uint32_t j = 0; j < nd->n_in; j++)
			if (nd->in[j] != P2O_NOVAL)
				p2o_v(cx, nd->in[j])->live = true;
		for (uint32_t k = 0; k < nd->n_out; k++)
			p2o_v(cx, nd->out[k])->live = true;
	}
	p2o_dedup(cx); /* ---- knobs ---- */
}

int p2o_ir_version(int opset)
{
	/* The lowest IR version that can carry each opset. */
	if (opset <= 8)
		return 3;
	if (opset == 9)
		return 4;
	if (opset == 10)
		return 5;
	if (opset == 11)
		return 6;
	if (opset <= 14)
		return 7;
	if (opset <= 18)
		return 8;
	if (opset <= 20)
		return 9;
	if (opset <= 22)
		return 10;
	return 11;
}
