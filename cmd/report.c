/* report.c — --report: one conversion as a JSON document (cJSON). The
 * library hands over data (p2o_get_summary, the diagnostics, the stats);
 * this file only shapes it. Field by field it follows
 * docs/report.schema.json, and man/pt2onnx.1's REPORT section. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "sha256.h"

#define REPORT_FORMAT 1 /* bumped when a field changes meaning or goes */

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *num_or_null(double v, int known)
{
	return known ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* {path, size, sha256} of a file; size and sha256 are null when it is not
 * a regular file that can be read (stdout, a device, missing). */
static cJSON *file_entry(const char *path, int exists)
{
	cJSON *o = cJSON_CreateObject();
	struct stat st;
	char hex[65];
	int regular = exists && path && strcmp(path, "-") != 0 &&
		      stat(path, &st) == 0 && S_ISREG(st.st_mode);
	cJSON_AddItemToObject(o, "path", str_or_null(path));
	cJSON_AddItemToObject(o, "size", num_or_null(regular ? (double)st.st_size
							      : 0,
						     regular));
	int hashed = regular && sha256_file(path, hex) == 0;
	cJSON_AddItemToObject(o, "sha256", str_or_null(hashed ? hex : NULL));
	return o;
}

/* The files written beside the model (ONNX external data): one
 * file_entry each, listed, sized and hashed like the model. */
static cJSON *external_data(const report_in *r, int written)
{
	cJSON *a = cJSON_CreateArray();
	if (!r->cx || !written)
		return a;
	p2o_stats st;
	p2o_get_stats(r->cx, &st);
	if (st.data_path)
		cJSON_AddItemToArray(a, file_entry(st.data_path, 1));
	return a;
}

static cJSON *dims_json(const p2o_io *io)
{
	if (io->rank < 0)
		return cJSON_CreateNull();
	cJSON *a = cJSON_CreateArray();
	for (int d = 0; d < io->rank; d++) {
		if (io->dims[d] >= 0)
			cJSON_AddItemToArray(a, cJSON_CreateNumber((double)io->dims[d]));
		else
			cJSON_AddItemToArray(a, str_or_null(io->symbols[d]));
	}
	return a;
}

static cJSON *ios_json(const p2o_io *io, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "name", str_or_null(io[i].name));
		cJSON_AddItemToObject(o, "dtype", str_or_null(p2o_dtype_name(io[i].dtype)));
		cJSON_AddItemToObject(o, "dims", dims_json(&io[i]));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *diag_json(const p2o_diag *d)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "severity", d->warning ? "warning" : "error");
	cJSON_AddStringToObject(o, "code", p2o_errname(d->code));
	cJSON_AddNumberToObject(o, "code_number", d->code);
	cJSON_AddItemToObject(o, "op", str_or_null(d->op));
	cJSON_AddNumberToObject(o, "count", d->count);
	cJSON_AddStringToObject(o, "message", d->message ? d->message : "");
	cJSON *src = cJSON_CreateArray();
	for (size_t i = 0; i < d->n_sources; i++)
		cJSON_AddItemToArray(src, cJSON_CreateString(d->sources[i]));
	cJSON_AddItemToObject(o, "sources", src);
	cJSON_AddItemToObject(o, "argument", str_or_null(d->arg));
	cJSON_AddItemToObject(o, "min_opset", num_or_null(d->min_opset,
							  d->min_opset > 0));
	return o;
}

/* What would fix a failure of code, one sentence: opset_fix is the
 * lowest opset that converts the ops diagnosed with a min_opset (0: none
 * has one), no_opset whether some op has none. */
#define NO_CONVERTER "have no converter at the opsets pt2onnx targets: " \
	"compute them differently in the model, or add a converter (README: " \
	"Adding an op)"

static const char *fix_text(int code, int opset_fix, int no_opset, char *buf,
			    size_t len)
{
	switch (code) {
	case P2O_OK: return NULL;
	case P2O_ERR_UNSUPPORTED:
		if (opset_fix && !no_opset) {
			snprintf(buf, len, "convert with --opset %d (the lowest "
					   "opset that converts every op listed)",
				 opset_fix);
			return buf;
		}
		if (opset_fix) {
			snprintf(buf, len, "the ops with a min_opset convert from "
					   "--opset %d on; the others " NO_CONVERTER,
				 opset_fix);
			return buf;
		}
		return "the ops listed " NO_CONVERTER;
	case P2O_ERR_OPEN: return "check that MODEL exists and is readable";
	case P2O_ERR_MODEL: return "save the model again with torch.jit.save "
				   "(of torch.jit.script or torch.jit.trace) "
				   "and check that the file is complete";
	case P2O_ERR_USAGE:
	case P2O_ERR_INPUTS: return "give one -s DIMS[:DTYPE] per tensor input "
				    "of forward(), in order, with its rank and "
				    "dtype";
	case P2O_ERR_CONVERT: return "check the -s shapes against those the "
				     "model was written for";
	case P2O_ERR_OUTPUT: return "write to a path whose folder exists and is "
				    "writable, on a file system with room (-o)";
	case P2O_ERR_RUNTIME: return "install libtorch (Debian: libtorch-dev) "
				     "and keep libpt2onnx-torch.so beside the "
				     "pt2onnx binary";
	case P2O_ERR_NOMEM: return "free memory, or convert on a machine with "
				   "more";
	default: return "a bug in pt2onnx: report it with this file and the "
			"model";
	}
}

static void add_status(cJSON *root, const report_in *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "exit", r->exit_status);
	cJSON_AddBoolToObject(o, "ok", r->exit_status == 0);
	cJSON_AddItemToObject(o, "stage", str_or_null(r->stage));
	int code = r->code;
	cJSON_AddItemToObject(o, "code", str_or_null(code ? p2o_errname(code) : NULL));
	const char *msg = r->message;
	size_t n = r->cx ? p2o_diag_count(r->cx) : 0;
	int opset_fix = 0, no_opset = 0;
	unsigned nodes = 0;
	for (size_t i = 0; i < n; i++) {
		const p2o_diag *d = p2o_diag_at(r->cx, i);
		nodes += d->count;
		if (!msg && !d->warning)
			msg = d->message;
		if (d->code != P2O_ERR_UNSUPPORTED)
			continue;
		if (d->min_opset <= 0 || d->min_opset > P2O_OPSET_MAX)
			no_opset = 1;
		else if (d->min_opset > opset_fix)
			opset_fix = d->min_opset;
	}
	char head[200];
	if (!r->message && n > 1) {
		/* Several problems: stderr's header line, in the same words. */
		snprintf(head, sizeof head, "%zu problems (%u nodes) prevent "
					    "conversion at opset %d",
			 n, nodes, p2o_get_summary(r->cx) ?
					   p2o_get_summary(r->cx)->opset : 0);
		msg = head;
	}
	if (!msg && code)
		msg = p2o_strerror(code);
	cJSON_AddItemToObject(o, "message", str_or_null(msg));
	char buf[400];
	const char *fix = fix_text(code, opset_fix, no_opset, buf, sizeof buf);
	if (r->exit_status > 128) /* 128 + the signal that stopped it */
		fix = "nothing in the model: the conversion was stopped from "
		      "outside (a signal); run it again";
	cJSON_AddItemToObject(o, "fix", str_or_null(fix));
	cJSON_AddItemToObject(root, "status", o);
}

static void add_ops(cJSON *root, const p2o_summary *s)
{
	cJSON *ts = cJSON_CreateObject();
	cJSON_AddNumberToObject(ts, "nodes", s ? (double)s->torch_nodes : 0);
	cJSON *ops = cJSON_CreateArray();
	for (size_t i = 0; s && i < s->n_torch_ops; i++) {
		const p2o_op_use *u = &s->torch_ops[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", u->kind);
		cJSON_AddNumberToObject(o, "count", (double)u->count);
		cJSON_AddItemToObject(o, "handler", str_or_null(u->handler));
		cJSON *on = cJSON_CreateArray();
		for (size_t k = 0; k < u->n_onnx; k++)
			cJSON_AddItemToArray(on, cJSON_CreateString(u->onnx[k]));
		cJSON_AddItemToObject(o, "onnx", on);
		cJSON_AddItemToArray(ops, o);
	}
	cJSON_AddItemToObject(ts, "ops", ops);
	cJSON_AddItemToObject(root, "torchscript", ts);

	cJSON *ox = cJSON_CreateObject();
	cJSON_AddNumberToObject(ox, "nodes", s ? (double)s->onnx_nodes : 0);
	ops = cJSON_CreateArray();
	for (size_t i = 0; s && i < s->n_onnx_ops; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "op_type", s->onnx_ops[i].name);
		cJSON_AddNumberToObject(o, "count", (double)s->onnx_ops[i].count);
		cJSON_AddItemToArray(ops, o);
	}
	cJSON_AddItemToObject(ox, "ops", ops);
	cJSON_AddItemToObject(root, "onnx", ox);
}

static void add_weights(cJSON *root, const p2o_summary *s)
{
	cJSON *w = cJSON_CreateObject();
	cJSON_AddNumberToObject(w, "count", s ? (double)s->n_weights : 0);
	cJSON_AddNumberToObject(w, "bytes", s ? (double)s->weight_bytes : 0);
	cJSON *dt = cJSON_CreateArray();
	for (size_t i = 0; s && i < s->n_weight_dtypes; i++) {
		const p2o_weight_dtype *d = &s->weight_dtypes[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "dtype", str_or_null(p2o_dtype_name(d->dtype)));
		cJSON_AddNumberToObject(o, "count", (double)d->count);
		cJSON_AddNumberToObject(o, "bytes", (double)d->bytes);
		cJSON_AddItemToArray(dt, o);
	}
	cJSON_AddItemToObject(w, "dtypes", dt);
	cJSON_AddItemToObject(root, "weights", w);
}

static void add_timings(cJSON *root, const report_in *r)
{
	static const char *const name[N_STAGES] = { "libtorch", "load", "freeze",
						    "convert", "write" };
	cJSON *t = cJSON_CreateObject();
	for (int i = 0; i < N_STAGES; i++)
		cJSON_AddItemToObject(t, name[i], num_or_null(r->secs[i],
							      r->secs[i] >= 0));
	cJSON_AddStringToObject(t, "note", r->secs[STAGE_FREEZE] >= 0 ?
		"load: reading and checking the archive; freeze: freezing and "
		"canonicalizing forward()" :
		"freeze not measured apart: load includes it");
	/* Peak RSS: of this process, or of the worker that converted (a
	 * child), whichever is higher. Linux gives KiB. */
	struct rusage self, kids;
	long kib = 0;
	if (getrusage(RUSAGE_SELF, &self) == 0)
		kib = self.ru_maxrss;
	if (getrusage(RUSAGE_CHILDREN, &kids) == 0 && kids.ru_maxrss > kib)
		kib = kids.ru_maxrss;
	cJSON_AddNumberToObject(t, "peak_rss_bytes", (double)kib * 1024);
	cJSON_AddItemToObject(root, "timings", t);
}

static cJSON *build(const report_in *r)
{
	cJSON *root = cJSON_CreateObject();
	const p2o_summary *s = r->cx ? p2o_get_summary(r->cx) : NULL;
	p2o_stats st = { 0 };
	if (r->cx)
		p2o_get_stats(r->cx, &st);
	int ok = r->exit_status == 0;

	cJSON_AddNumberToObject(root, "report_format", REPORT_FORMAT);
	cJSON *tool = cJSON_CreateObject();
	cJSON_AddStringToObject(tool, "name", "pt2onnx");
	cJSON_AddStringToObject(tool, "version", PT2ONNX_VERSION);
	cJSON_AddItemToObject(tool, "libtorch", str_or_null(p2o_torch_version()));
	cJSON_AddItemToObject(root, "tool", tool);
	add_status(root, r);
	cJSON_AddItemToObject(root, "input", file_entry(r->model, 1));
	cJSON *out = file_entry(r->output, ok);
	cJSON_AddItemToObject(out, "external_data", external_data(r, ok));
	cJSON_AddItemToObject(root, "output", out);
	cJSON_AddItemToObject(root, "options",
			      r->options ? r->options : cJSON_CreateObject());
	cJSON_AddItemToObject(root, "opset", num_or_null(s ? s->opset : 0,
							 s && s->opset));
	cJSON_AddItemToObject(root, "ir_version", num_or_null(st.ir_version,
							      st.ir_version));
	cJSON *g = cJSON_CreateObject();
	cJSON_AddItemToObject(g, "inputs", ios_json(s ? s->inputs : NULL,
						    s ? s->n_inputs : 0));
	cJSON_AddItemToObject(g, "outputs", ios_json(s ? s->outputs : NULL,
						     s ? s->n_outputs : 0));
	cJSON_AddItemToObject(root, "graph", g);
	add_ops(root, s);

	cJSON *diags = cJSON_CreateArray();
	if (r->message) {
		/* A failure outside the library's work (the output checked
		 * before, a worker's crash): a diagnostic of its own. */
		p2o_diag d = { .code = r->code ? r->code : P2O_ERR_INTERNAL,
			       .message = r->message, .count = 1 };
		cJSON_AddItemToArray(diags, diag_json(&d));
	}
	size_t n = r->cx ? p2o_diag_count(r->cx) : 0;
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(diags, diag_json(p2o_diag_at(r->cx, i)));
	cJSON_AddItemToObject(root, "diagnostics", diags);
	add_weights(root, s);
	add_timings(root, r);
	cJSON_AddNumberToObject(root, "exit_status", r->exit_status);
	return root;
}

static int write_text(FILE *f, const char *text)
{
	size_t len = strlen(text);
	if (fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF)
		return -1;
	return fflush(f);
}

int report_write(const report_in *r, char *err, size_t errlen)
{
	cJSON *root = build(r);
	char *text = root ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!text) {
		snprintf(err, errlen, "--report: out of memory");
		return -1;
	}
	int rc = 0;
	if (strcmp(r->path, "-") == 0) {
		if (write_text(stdout, text) != 0) {
			snprintf(err, errlen, "--report: cannot write to stdout: %s",
				 strerror(errno));
			rc = -1;
		}
		free(text);
		return rc;
	}
	/* Beside the target, renamed into place: a reader never sees half a
	 * report, and a failed write leaves the old one. */
	size_t len = strlen(r->path);
	char *tmp = malloc(len + 16);
	int fd = -1;
	if (tmp) {
		snprintf(tmp, len + 16, "%s.tmp-XXXXXX", r->path);
		fd = mkstemp(tmp);
	}
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		snprintf(err, errlen, "--report: cannot create a file beside '%s': %s",
			 r->path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		free(text);
		return -1;
	}
	/* mkstemp's 0600 is for secrets: a report gets a new file's mode. */
	mode_t um = umask(0);
	umask(um);
	fchmod(fd, 0666 & ~um);
	int bad = write_text(f, text) != 0;
	int e = errno;
	bad |= fclose(f) != 0;
	if (!bad && rename(tmp, r->path) != 0) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(tmp);
		snprintf(err, errlen, "--report: cannot write '%s': %s", r->path,
			 strerror(e));
		rc = -1;
	}
	free(tmp);
	free(text);
	return rc;
}
