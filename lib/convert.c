/* convert.c — the conversion: context lifecycle, loading through the shim,
 * the graph walk that dispatches each TorchScript node to its handler, and
 * the graph's inputs and outputs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

p2o_ctx *p2o_new(void)
{
	p2o_ctx *cx = calloc(1, sizeof *cx);
	return cx;
}

void p2o_free(p2o_ctx *cx)
{
	if (!cx)
		return;
	pts_free(cx->model);
	free(cx->val_chunks);
	free(cx->tv_chunks);
	free(cx->node_chunks);
	free(cx->names);
	free(cx->diags);
	free(cx->onnx_text);
	free(cx->trials); /* ---- aten ---- */
	p2o_arena_free(&cx->arena);
	free(cx);
}

const char *p2o_torch_text(p2o_ctx *cx)
{
	return cx->model ? pts_graph_text(cx->model) : "";
}

void p2o_get_stats(const p2o_ctx *cx, p2o_stats *out)
{
	*out = cx->stats;
}

void p2o_progress(p2o_cx *cx, const char *stage, uint64_t done,
		  uint64_t total)
{
	if (cx->progress)
		cx->progress(cx->progress_user, stage, done, total);
}

static void take_progress(p2o_cx *cx, const p2o_options *opt)
{
	cx->progress = opt ? opt->progress : NULL;
	cx->progress_user = opt ? opt->progress_user : NULL;
}

/* Checks what the shim would only report in libtorch's words: that the
 * file exists, is a regular non-empty file, and is a zip archive. */
static int precheck(p2o_cx *cx, const char *path)
{
	char msg[1024];
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(msg, sizeof msg, "cannot open model '%s': %s", path,
			 strerror(errno));
		return p2o_diag_add(cx, P2O_ERR_OPEN, NULL, NULL, msg);
	}
	int rc = P2O_OK;
	unsigned char magic[4] = { 0 };
	ssize_t got;
	if (fstat(fd, &st) != 0) {
		snprintf(msg, sizeof msg, "cannot read model '%s': %s", path,
			 strerror(errno));
		rc = P2O_ERR_OPEN;
	} else if (S_ISDIR(st.st_mode)) {
		snprintf(msg, sizeof msg,
			 "model '%s' is a directory, not a TorchScript archive",
			 path);
		rc = P2O_ERR_OPEN;
	} else if (st.st_size == 0) {
		snprintf(msg, sizeof msg,
			 "model '%s' is empty, not a TorchScript archive", path);
		rc = P2O_ERR_MODEL;
	} else if ((got = read(fd, magic, 4)) < 0) {
		snprintf(msg, sizeof msg, "cannot read model '%s': %s", path,
			 strerror(errno));
		rc = P2O_ERR_OPEN;
	} else if (got < 4 || memcmp(magic, "PK\3\4", 4) != 0) {
		snprintf(msg, sizeof msg,
			 "model '%s' is not a TorchScript archive (not a zip "
			 "file; expected the output of torch.jit.save)",
			 path);
		rc = P2O_ERR_MODEL;
	}
	close(fd);
	if (rc != P2O_OK)
		p2o_diag_add(cx, rc, NULL, NULL, msg);
	return rc;
}

int p2o_load(p2o_ctx *cx, const char *path, const p2o_options *opt)
{
	jmp_buf oom;
	P2O_ENTER(cx, oom, "loading");
	cx->model_path = p2o_strdup(cx, path);
	int rc = precheck(cx, path);
	if (rc == P2O_OK) {
		char err[1024 + 3 * 4096];
		rc = p2o_load_torch_for(path, err, sizeof err);
		if (rc != P2O_OK)
			p2o_diag_add(cx, rc, NULL, NULL, err);
	}
	if (rc == P2O_OK) {
		take_progress(cx, opt);
		p2o_progress(cx, "loading", 0, 0);
		char err[1024];
		/* ---- knobs ---- */
		pts_load_opts lo = {
			.training = opt ? opt->training : 0,
			.keep_params = opt && opt->no_export_params,
		};
		int st = pts_load_with(path, &lo, &cx->model, err, sizeof err);
		if (st != PTS_OK) {
			char msg[1200];
			snprintf(msg, sizeof msg, "model '%s': %s", path, err);
			rc = st == PTS_E_NOMEM	     ? P2O_ERR_NOMEM :
			     st == PTS_E_OPEN	     ? P2O_ERR_OPEN :
			     st == PTS_E_UNSUPPORTED ? P2O_ERR_UNSUPPORTED :
						       P2O_ERR_MODEL;
			p2o_diag_add(cx, rc, NULL, NULL, msg);
		} else {
			cx->g = pts_graph_of(cx->model);
		}
	}
	cx->oom = NULL;
	return rc;
}

/* "x.1" -> "x": TorchScript's uniquing suffix is noise in an input name. */
static const char *input_base_name(p2o_cx *cx, const char *debug)
{
	char *s = p2o_strdup(cx, debug);
	char *dot = strrchr(s, '.');
	if (dot && dot != s && dot[1]) {
		bool digits = true;
		for (char *c = dot + 1; *c; c++)
			digits = digits && *c >= '0' && *c <= '9';
		if (digits)
			*dot = '\0';
	}
	return s;
}

/* Whether a forward() input can take a --input-shape: a tensor, or an
 * Optional[Tensor] (which takes one only if one is left). */
static bool takes_shape(const pts_value *pv, bool *optional)
{
	*optional = pv->kind == PTS_V_OPTIONAL && pv->elem == PTS_V_TENSOR;
	return pv->kind == PTS_V_TENSOR || *optional;
}

static int too_many_shapes(p2o_cx *cx, const p2o_options *opt, uint32_t n)
{
	const pts_block *top = &cx->g->top;
	char names[512] = "";
	size_t o = 0;
	bool optional;
	for (uint32_t i = 0; i < top->n_in && o < sizeof names; i++) {
		const pts_value *pv = &cx->g->values[top->in[i]];
		if (takes_shape(pv, &optional))
			o += (size_t)snprintf(names + o, sizeof names - o, "%s'%s'",
					      o ? ", " : "",
					      input_base_name(cx, pv->name));
	}
	return p2o_fail_graph(cx, P2O_ERR_INPUTS,
			  "%zu --input-shape given but forward() takes %u tensor "
			  "input%s%s%s",
			  opt->n_inputs, n, n == 1 ? "" : "s", n ? ": " : "", names);
}

/* Binds forward()'s inputs in order: a tensor input takes the next
 * --input-shape, an Optional[Tensor] one takes it if one is left, and any
 * other input takes its default value. */
static int bind_inputs(p2o_cx *cx, const p2o_options *opt)
{
	const pts_block *top = &cx->g->top;
	uint32_t n_shaped = 0, n_required = 0;
	bool optional;
	for (uint32_t i = 0; i < top->n_in; i++) {
		const pts_value *pv = &cx->g->values[top->in[i]];
		if (takes_shape(pv, &optional)) {
			n_shaped++;
			n_required += !optional;
		} else if (pv->kind != PTS_V_OBJECT && !pv->deflt) {
			return p2o_fail_graph(cx, P2O_ERR_INPUTS,
					  "forward() input '%s' is not a tensor "
					  "and has no default; only tensor inputs "
					  "can be given",
					  input_base_name(cx, pv->name));
		}
	}
	if (opt->n_inputs > n_shaped)
		return too_many_shapes(cx, opt, n_shaped);
	uint32_t n_bound = opt->n_inputs > n_required ? (uint32_t)opt->n_inputs :
							n_required;
	if (opt->input_names && opt->n_input_names != n_bound)
		return p2o_fail_graph(cx, P2O_ERR_USAGE,
				  "--input-names gives %zu names for %u inputs",
				  opt->n_input_names, n_bound);
	cx->inputs = p2o_alloc(cx, sizeof *cx->inputs * (n_shaped + 1));
	uint32_t k = 0;
	for (uint32_t i = 0; i < top->n_in; i++) {
		uint32_t tid = top->in[i];
		const pts_value *pv = &cx->g->values[tid];
		if (pv->kind == PTS_V_OBJECT)
			continue; /* `self` */
		if (!takes_shape(pv, &optional) ||
		    (optional && k >= opt->n_inputs && pv->deflt)) {
			P2O_TV(cx, tid).kind = P2O_TV_CONST;
			P2O_TV(cx, tid).k = pv->deflt;
			continue;
		}
		const char *name = opt->input_names && k < opt->n_input_names ?
					   opt->input_names[k] :
					   input_base_name(cx, pv->name);
		if (k >= opt->n_inputs)
			return p2o_fail_graph(
				cx, P2O_ERR_INPUTS,
				"forward() input %u ('%s') needs a shape: pass "
				"--input-shape DIMS[:DTYPE] once per input, in "
				"order (e.g. --input-shape 1x3x224x224); the model "
				"takes %u tensor input%s",
				k + 1, name, n_required, n_required == 1 ? "" : "s");
		const p2o_input_spec *sp = &opt->inputs[k];
		uint32_t id = p2o_val_new(cx, name, true);
		if (opt->input_names && strcmp(p2o_v(cx, id)->name, name) != 0)
			return p2o_fail_graph(cx, P2O_ERR_USAGE,
					  "input name '%s' is used twice or clashes "
					  "with an output name",
					  name);
		p2o_dim dims[P2O_MAX_RANK];
		for (int d = 0; d < sp->rank; d++)
			dims[d] = (p2o_dim){ sp->dims[d],
					     sp->dims[d] < 0 ?
						     p2o_strdup(cx, sp->symbols[d]) :
						     NULL };
		p2o_set_type(cx, id, sp->dtype, sp->rank, dims);
		p2o_v(cx, id)->graph_input = true;
		cx->inputs[cx->n_inputs++] = id;
		P2O_TV(cx, tid).kind = P2O_TV_TENSOR;
		P2O_TV(cx, tid).onnx = id;
		k++;
	}
	return P2O_OK;
}

static bool has_poison(p2o_cx *cx, const pts_node *n)
{
	for (uint32_t i = 0; i < n->n_in; i++) {
		const p2o_tv *tv = &P2O_TV(cx, n->in[i]);
		if (tv->kind == P2O_TV_POISON)
			return true;
		if (tv->kind == P2O_TV_LIST)
			for (uint32_t j = 0; j < tv->n; j++)
				if (P2O_TV(cx, tv->items[j]).kind == P2O_TV_POISON)
					return true;
	}
	return false;
}

static void poison_outputs(p2o_cx *cx, const pts_node *n)
{
	for (uint32_t k = 0; k < n->n_out; k++)
		if (P2O_TV(cx, n->out[k]).kind == P2O_TV_UNSET)
			P2O_TV(cx, n->out[k]).kind = P2O_TV_POISON;
}

/* Finds the handler for a node; an in-place op ("aten::relu_",
 * "aten::__iand__") without one of its own uses its pure form's, and
 * *inplace says so. *table_kind is the
 * kind whose table rows decided (the pure form's when it was used), for the
 * diagnostic when there is no handler. */
p2o_handler p2o_find_handler(p2o_cx *cx, const char *kind, bool *inplace,
			     const char **table_kind)
{
	bool known;
	*inplace = false;
	*table_kind = kind;
	p2o_handler fn = p2o_lookup(kind, cx->opset, &known);
	size_t len = strlen(kind);
	char base[128];
	if (fn || known || len >= sizeof base)
		return fn;
	if (strncmp(kind, "aten::__i", 9) == 0 && len > 11 &&
	    strcmp(kind + len - 2, "__") == 0) {
		/* Python's augmented operators: aten::__ior__ is __or__ in
		 * place. */
		snprintf(base, sizeof base, "aten::__%s", kind + 9);
	} else if (len >= 2 && kind[len - 1] == '_' && kind[len - 2] != '_') {
		memcpy(base, kind, len - 1);
		base[len - 1] = '\0';
	} else {
		return fn;
	}
	fn = p2o_lookup(base, cx->opset, &known);
	*inplace = fn != NULL;
	if (known)
		*table_kind = p2o_strdup(cx, base);
	return fn;
}

/* ---- aten ---- */
/* After a handler ran in trial mode (diagnostics held in cx->trials from
 * index from on): when it failed only for being unsupported and the node
 * can be exported unconverted, it is (its partial output is dead code)
 * and true is returned; otherwise what it held is recorded now, and the
 * walk goes on as usual. */
static bool settle_trial(p2o_cx *cx, const pts_node *n, uint32_t from)
{
	if (cx->n_trials == from)
		return false;
	bool unsupported = true;
	for (uint32_t i = from; i < cx->n_trials; i++)
		unsupported = unsupported &&
			      cx->trials[i].code == P2O_ERR_UNSUPPORTED;
	if (unsupported) {
		uint32_t to = cx->n_trials;
		const char *why = cx->trials[from].msg;
		for (uint32_t k = 0; k < n->n_out; k++)
			P2O_TV(cx, n->out[k]).kind = P2O_TV_UNSET;
		cx->n_trials = from;
		cx->n_reports -= to - from;
		if (p2o_fallback(cx, n, n->kind, why))
			return true;
		cx->n_trials = to;
		cx->n_reports += to - from;
	}
	if (cx->trial)
		return false; /* the enclosing node's trial settles them */
	uint32_t to = cx->n_trials;
	cx->n_trials = from;
	for (uint32_t i = from; i < to; i++) {
		const struct p2o_trial *t = &cx->trials[i];
		cx->n_reports--; /* counted once already, when held */
		p2o_diag_add(cx, t->code, t->op, t->source, t->msg);
	}
	return false;
}

void p2o_walk_block(p2o_cx *cx, const pts_block *b)
{
	const pts_node *outer = cx->cur;
	bool top = b == &cx->g->top;
	for (uint32_t i = 0; i < b->n_nodes; i++) {
		const pts_node *n = &b->nodes[i];
		cx->cur = n;
		if (top && (i & 255) == 0)
			p2o_progress(cx, "converting", i, b->n_nodes);
		bool inplace;
		const char *table_kind;
		p2o_handler fn = p2o_find_handler(cx, n->kind, &inplace,
						  &table_kind);
		if (!fn) {
			if (!has_poison(cx, n) &&
			    p2o_fallback(cx, n, n->kind, "no converter"))
				continue; /* ---- aten ---- */
			p2o_fail(cx, P2O_ERR_UNSUPPORTED, "%s",
				 p2o_where(cx, table_kind));
			poison_outputs(cx, n);
			continue;
		}
		if (inplace && n->aliased_read) {
			/* Rebinding the written value would leave the value
			 * sharing its memory with the old data. */
			p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				 "writes in place into '%s', which shares memory "
				 "with '%s' (a view of it, or the tensor it "
				 "views), read afterwards; ONNX has no aliasing, "
				 "so the write cannot be exported (write it "
				 "out of place: y = x.op(...))",
				 n->n_in ? cx->g->values[n->in[0]].name : "?",
				 n->aliased_read);
			poison_outputs(cx, n);
			continue;
		}
		if (has_poison(cx, n)) {
			poison_outputs(cx, n);
			continue;
		}
		/* ---- aten ---- */
		uint32_t which;
		if (p2o_reads_opaque(cx, n, &which)) {
			/* No handler may guess the dtype or rank it reads. */
			if (p2o_fallback(cx, n, n->kind,
					 "reads the output of an op exported "
					 "unconverted, of unknown type"))
				continue;
			p2o_fail(cx, P2O_ERR_UNSUPPORTED,
				 "reads '%s', made by an op exported unconverted "
				 "whose dtype and rank libtorch's shape analysis "
				 "cannot tell, so no converter can take it",
				 cx->g->values[n->in[which]].name);
			poison_outputs(cx, n);
			continue;
		}
		/* ---- end aten ---- */
		/* The contract: a handler succeeds (returns P2O_OK and records
		 * nothing) or fails having recorded why. What it recorded
		 * decides, whatever it returned: its outputs must not reach
		 * the model. A failure with nothing recorded is a bug. */
		uint64_t before = cx->n_reports;
		/* ---- aten ---- */
		bool was_trial = cx->trial;
		uint32_t trials0 = cx->n_trials;
		cx->trial = cx->export_type != P2O_EXPORT_ONNX;
		int rc = fn(cx, n);
		cx->cur = n;
		cx->trial = was_trial;
		if (settle_trial(cx, n, trials0))
			continue;
		/* ---- end aten ---- */
		bool recorded = cx->n_reports != before;
		if (rc != P2O_OK || recorded) {
			if (!recorded)
				p2o_fail(cx, P2O_ERR_INTERNAL,
					 "handler failed without saying why");
			poison_outputs(cx, n);
			continue;
		}
		for (uint32_t k = 0; k < n->n_out; k++)
			if (P2O_TV(cx, n->out[k]).kind == P2O_TV_UNSET) {
				p2o_fail(cx, P2O_ERR_INTERNAL,
					 "handler left output %u unset", k);
				poison_outputs(cx, n);
				break;
			}
		/* x.relu_() leaves x holding the result: later readers of x
		 * read the new value (straight-line code, no aliasing views). */
		if (inplace && n->n_in && n->n_out &&
		    P2O_TV(cx, n->out[0]).kind != P2O_TV_POISON) {
			/* An in-place op keeps the written tensor's dtype
			 * (h.mul_(f) on a float16 h stays float16), where
			 * its pure form would promote. */
			p2o_tv *in = &P2O_TV(cx, n->in[0]);
			p2o_tv *out = &P2O_TV(cx, n->out[0]);
			if (in->kind == P2O_TV_TENSOR &&
			    out->kind == P2O_TV_TENSOR && !in->scalar) {
				int dt = p2o_t(cx, in->onnx)->dtype;
				if (dt && p2o_t(cx, out->onnx)->dtype != dt)
					out->onnx = p2o_cast(cx, out->onnx, dt);
			}
			P2O_TV(cx, n->in[0]) = P2O_TV(cx, n->out[0]);
		}
	}
	cx->cur = outer;
}

/* Collects the ONNX values forward() returns, flattening lists. */
static void collect_outputs(p2o_cx *cx, uint32_t tid, uint32_t **out,
			    uint32_t *n, uint32_t *cap)
{
	p2o_tv *tv = &P2O_TV(cx, tid);
	if (tv->kind == P2O_TV_LIST) {
		for (uint32_t j = 0; j < tv->n; j++)
			collect_outputs(cx, tv->items[j], out, n, cap);
		return;
	}
	uint32_t id = P2O_NOVAL;
	if (tv->kind == P2O_TV_TENSOR) {
		id = tv->onnx;
	} else if (tv->kind == P2O_TV_CONST) {
		id = p2o_value_tensor(cx, tid); /* an Identity will name it */
	}
	if (id == P2O_NOVAL)
		return;
	p2o_grow(cx, (void **)out, cap, *n + 1, sizeof **out);
	(*out)[(*n)++] = id;
}

static int bind_outputs(p2o_cx *cx, const p2o_options *opt)
{
	const pts_block *top = &cx->g->top;
	uint32_t *outs = NULL, n = 0, cap = 0;
	for (uint32_t i = 0; i < top->n_out; i++)
		collect_outputs(cx, top->out[i], &outs, &n, &cap);
	/* Copy into the arena so the context frees it with the rest. */
	cx->outputs = p2o_alloc(cx, sizeof *outs * (n ? n : 1));
	if (n)
		memcpy(cx->outputs, outs, sizeof *outs * n);
	free(outs);
	if (opt->output_names && opt->n_output_names != n)
		return p2o_fail_graph(cx, P2O_ERR_USAGE,
				  "--output-names gives %zu names but the model "
				  "has %u outputs",
				  opt->n_output_names, n);
	bool *seen = p2o_alloc(cx, sizeof *seen * cx->n_vals);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = cx->outputs[i];
		const char *want = opt->output_names ? opt->output_names[i] :
				   n == 1 ? "output" :
					    p2o_fmt(cx, "output_%u", i);
		p2o_val *v = p2o_v(cx, id);
		bool dup = seen[id];
		seen[id] = true;
		/* Reserved names fit unless a list output changed the count. */
		if (i >= cx->n_reserved ||
		    (!opt->output_names && n != cx->g->top.n_out))
			want = p2o_unique_name(cx, want);
		if (!dup && v->producer >= 0) {
			v->name = want; /* reserved up front: unique */
			v->named = true;
		} else {
			/* An input, a weight or a repeated output: an Identity
			 * gives the output a value of its own. */
			uint32_t nd = p2o_node_new(cx, "Identity", 1, &id, 1);
			uint32_t o = p2o_node_done(cx, nd);
			p2o_v(cx, o)->name = want;
			p2o_v(cx, o)->named = true;
			cx->outputs[i] = o;
		}
	}
	cx->n_outputs = n;
	return P2O_OK;
}

/* Reserves graph output names before any other name is handed out, so the
 * names the user asked for are theirs exactly. */
static int reserve_output_names(p2o_cx *cx, const p2o_options *opt)
{
	const pts_block *top = &cx->g->top;
	size_t n = opt->output_names ? opt->n_output_names : top->n_out;
	for (size_t i = 0; i < n; i++) {
		const char *want = opt->output_names ? opt->output_names[i] :
				   n == 1 ? "output" :
					    p2o_fmt(cx, "output_%zu", i);
		const char *got = p2o_unique_name(cx, want);
		if (strcmp(got, want) != 0)
			return p2o_fail_graph(cx, P2O_ERR_USAGE,
					  "output name '%s' is used twice", want);
	}
	cx->n_reserved = (uint32_t)n;
	return P2O_OK;
}

static int worst_code(p2o_cx *cx)
{
	int code = P2O_OK;
	for (size_t i = 0; i < cx->n_diags; i++) {
		int c = cx->diags[i].code;
		if (cx->diags[i].warning)
			continue; /* ---- aten ---- */
		if (c == P2O_ERR_INTERNAL || c == P2O_ERR_NOMEM)
			return c;
		if (code == P2O_OK || c == P2O_ERR_UNSUPPORTED)
			code = c;
	}
	return code;
}

int p2o_convert(p2o_ctx *cx, const p2o_options *opt)
{
	jmp_buf oom;
	P2O_ENTER(cx, oom, "converting");
	int rc = P2O_OK;
	if (!cx->g)
		rc = p2o_fail_graph(cx, P2O_ERR_USAGE, "no model loaded");
	else if (opt->opset < P2O_OPSET_MIN || opt->opset > P2O_OPSET_MAX)
		rc = p2o_fail_graph(cx, P2O_ERR_USAGE,
				    "opset %d is not supported (supported: %d-%d)",
				    opt->opset, P2O_OPSET_MIN, P2O_OPSET_MAX);
	if (rc != P2O_OK) {
		cx->oom = NULL;
		return rc;
	}
	cx->opset = opt->opset;
	take_progress(cx, opt);
	/* ---- extdata ---- */
	cx->ext_data = opt->external_data != 0;
	cx->ext_file = opt->external_data_file ?
			       p2o_strdup(cx, opt->external_data_file) :
			       NULL;
	/* ---- aten ---- */
	cx->export_type = opt->operator_export_type;
	if (opt->n_function_types && cx->opset < 15) {
		rc = p2o_fail_graph(cx, P2O_ERR_UNSUPPORTED,
				    "--export-modules-as-functions needs opset 15 "
				    "or later (target is %d): ONNX local functions "
				    "need IR version 8",
				    cx->opset);
		cx->oom = NULL;
		return rc;
	}
	/* ---- knobs ---- */
	rc = p2o_take_knobs(cx, opt);
	if (rc != P2O_OK) {
		cx->oom = NULL;
		return rc;
	}
	for (uint32_t i = 0; i < cx->g->n_values; i++)
		p2o_tv_new(cx);
	for (uint32_t i = 0; i < cx->g->n_values; i++) {
		P2O_TV(cx, i).onnx = P2O_NOVAL;
		if (cx->g->values[i].konst) {
			P2O_TV(cx, i).kind = P2O_TV_CONST;
			P2O_TV(cx, i).k = cx->g->values[i].konst;
		}
	}
	rc = p2o_registry_check(cx);
	if (rc == P2O_OK)
		rc = p2o_onnx_check(cx);
	if (rc == P2O_OK)
		rc = reserve_output_names(cx, opt);
	if (rc == P2O_OK)
		rc = bind_inputs(cx, opt);
	if (rc == P2O_OK) {
		p2o_walk_block(cx, &cx->g->top);
		rc = worst_code(cx);
	}
	if (rc == P2O_OK)
		rc = bind_outputs(cx, opt);
	/* ---- aten ---- */
	for (uint32_t i = 0; rc == P2O_OK && i < cx->n_outputs; i++)
		if (p2o_v(cx, cx->outputs[i])->opaque)
			p2o_fail_graph(cx, P2O_ERR_UNSUPPORTED,
				       "output '%s' is made by an op exported "
				       "unconverted whose dtype and rank libtorch's "
				       "shape analysis cannot tell, and an ONNX "
				       "graph output needs them",
				       p2o_v(cx, cx->outputs[i])->name);
	/* ---- end aten ---- */
	if (rc == P2O_OK)
		rc = worst_code(cx);
	/* ---- knobs ---- (before the passes: a weight that is an input is
	 * not folded) */
	if (rc == P2O_OK)
		rc = p2o_params_as_inputs(cx);
	if (rc == P2O_OK) {
		p2o_finalize(cx);
		if (opt->n_function_types) /* ---- aten ---- */
			rc = p2o_functions(cx, opt);
		cx->converted = rc == P2O_OK;
	}
	cx->oom = NULL;
	return rc;
}
