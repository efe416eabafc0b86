/* writer.c — the ONNX model on disk: protobuf-c messages built over the IR
 * (names and weight data are pointed at, not copied), packed straight into
 * the output stream, into a temporary file renamed into place.
 *
 * Weights: TensorProto.raw_data points at the shim's tensor memory, and
 * protobuf-c hands such a field to the buffer's append() as one block, so
 * the weights go from libtorch's storage to the file with no copy of ours. */
#define _GNU_SOURCE /* sync_file_range (Linux) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "onnx.pb-c.h"

#define ALLOC(cx, T) ((T *)p2o_alloc((cx), sizeof(T)))
#define ALLOCN(cx, T, n) ((T *)p2o_alloc((cx), sizeof(T) * ((n) ? (n) : 1)))

static Onnx__TensorProto *tensor_proto(p2o_cx *cx, const p2o_tensor *t,
				       const char *name)
{
	Onnx__TensorProto *tp = ALLOC(cx, Onnx__TensorProto);
	onnx__tensor_proto__init(tp);
	tp->n_dims = (size_t)t->rank;
	tp->dims = (int64_t *)t->dims; /* read-only to protobuf-c's packer */
	tp->has_data_type = 1;
	tp->data_type = t->dtype;
	tp->name = (char *)name;
	tp->has_raw_data = 1;
	tp->raw_data.len = t->nbytes;
	tp->raw_data.data = (uint8_t *)t->data;
	return tp;
}

static Onnx__AttributeProto *attr_proto(p2o_cx *cx, const p2o_attr *a)
{
	Onnx__AttributeProto *ap = ALLOC(cx, Onnx__AttributeProto);
	onnx__attribute_proto__init(ap);
	ap->name = (char *)a->name;
	ap->has_type = 1;
	ap->type = (Onnx__AttributeProto__AttributeType)a->type;
	switch (a->type) {
	case P2O_AT_INT:
		ap->has_i = 1;
		ap->i = a->i;
		break;
	case P2O_AT_FLOAT:
		ap->has_f = 1;
		ap->f = a->f;
		break;
	case P2O_AT_STRING:
		ap->has_s = 1;
		ap->s.len = strlen(a->s);
		ap->s.data = (uint8_t *)a->s;
		break;
	case P2O_AT_INTS:
		ap->n_ints = a->n;
		ap->ints = (int64_t *)a->ints;
		break;
	case P2O_AT_FLOATS:
		ap->n_floats = a->n;
		ap->floats = (float *)a->floats;
		break;
	case P2O_AT_TENSOR:
		ap->t = tensor_proto(cx, a->t, NULL);
		break;
	case P2O_AT_STRINGS:
		ap->n_strings = a->n;
		ap->strings = ALLOCN(cx, ProtobufCBinaryData, a->n);
		for (size_t i = 0; i < a->n; i++) {
			ap->strings[i].len = strlen(a->strs[i]);
			ap->strings[i].data = (uint8_t *)a->strs[i];
		}
		break;
	default:
		assert(!"attribute type the writer does not know");
	}
	return ap;
}

static Onnx__ValueInfoProto *value_info(p2o_cx *cx, const p2o_val *v)
{
	Onnx__ValueInfoProto *vi = ALLOC(cx, Onnx__ValueInfoProto);
	onnx__value_info_proto__init(vi);
	vi->name = (char *)v->name;
	Onnx__TypeProto *tp = ALLOC(cx, Onnx__TypeProto);
	onnx__type_proto__init(tp);
	Onnx__TypeProto__Tensor *tt = ALLOC(cx, Onnx__TypeProto__Tensor);
	onnx__type_proto__tensor__init(tt);
	if (v->t.dtype) {
		tt->has_elem_type = 1;
		tt->elem_type = v->t.dtype;
	}
	if (v->t.rank >= 0) {
		Onnx__TensorShapeProto *sp = ALLOC(cx, Onnx__TensorShapeProto);
		onnx__tensor_shape_proto__init(sp);
		sp->n_dim = (size_t)v->t.rank;
		sp->dim = ALLOCN(cx, Onnx__TensorShapeProto__Dimension *,
				 sp->n_dim);
		Onnx__TensorShapeProto__Dimension *ds =
			ALLOCN(cx, Onnx__TensorShapeProto__Dimension, sp->n_dim);
		for (size_t i = 0; i < sp->n_dim; i++) {
			Onnx__TensorShapeProto__Dimension *d = &ds[i];
			onnx__tensor_shape_proto__dimension__init(d);
			if (v->t.dims[i].v >= 0) {
				d->value_case =
					ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
				d->dim_value = v->t.dims[i].v;
			} else if (v->t.dims[i].sym) {
				d->value_case =
					ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
				d->dim_param = (char *)v->t.dims[i].sym;
			}
			sp->dim[i] = d;
		}
		tt->shape = sp;
	}
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	vi->type = tp;
	return vi;
}

/* The names of n values ("" for P2O_NOVAL, an omitted optional input). */
static char **value_names(p2o_cx *cx, const uint32_t *ids, uint32_t n)
{
	char **v = ALLOCN(cx, char *, n);
	for (uint32_t j = 0; j < n; j++)
		v[j] = ids[j] == P2O_NOVAL ? "" : (char *)p2o_v(cx, ids[j])->name;
	return v;
}

static Onnx__NodeProto *node_proto(p2o_cx *cx, const p2o_node *nd)
{
	Onnx__NodeProto *np = ALLOC(cx, Onnx__NodeProto);
	onnx__node_proto__init(np);
	np->name = (char *)nd->name;
	np->op_type = (char *)nd->op;
	np->n_input = nd->n_in;
	np->input = value_names(cx, nd->in, nd->n_in);
	np->n_output = nd->n_out;
	np->output = value_names(cx, nd->out, nd->n_out);
	np->n_attribute = nd->n_attr;
	np->attribute = ALLOCN(cx, Onnx__AttributeProto *, nd->n_attr);
	for (uint32_t a = 0; a < nd->n_attr; a++)
		np->attribute[a] = attr_proto(cx, &nd->attrs[a]);
	np->domain = (char *)nd->domain; /* ---- aten ---- */
	return np;
}

/* ---- aten ---- */
/* The domains other than ai.onnx that nodes use, each imported once at
 * version 1 (as torch.onnx imports org.pytorch.aten and a function's
 * domain). A short list: few distinct domains, so a linear search. */
typedef struct domain_set {
	const char **v;
	uint32_t n, cap;
} domain_set;

static void domain_add(p2o_cx *cx, domain_set *ds, const char *d)
{
	if (!d || !*d)
		return;
	for (uint32_t i = 0; i < ds->n; i++)
		if (strcmp(ds->v[i], d) == 0)
			return;
	p2o_grow(cx, (void **)&ds->v, &ds->cap, ds->n + 1, sizeof *ds->v);
	ds->v[ds->n++] = d;
}

/* The version of domain d in opset_import: --custom-opset's when it
 * names d, else 1. */
static int64_t domain_version(const p2o_cx *cx, const char *d)
{
	for (size_t i = 0; i < cx->knobs.n_custom_opsets; i++)
		if (strcmp(cx->knobs.custom_opsets[i].domain, d) == 0)
			return cx->knobs.custom_opsets[i].version;
	return 1;
}

/* opset_import: the default domain at the target opset, then ds. */
static Onnx__OperatorSetIdProto **opset_imports(p2o_cx *cx,
						const domain_set *ds,
						size_t *n)
{
	Onnx__OperatorSetIdProto **v =
		ALLOCN(cx, Onnx__OperatorSetIdProto *, ds->n + 1);
	for (uint32_t i = 0; i <= ds->n; i++) {
		Onnx__OperatorSetIdProto *os = ALLOC(cx, Onnx__OperatorSetIdProto);
		onnx__operator_set_id_proto__init(os);
		os->domain = i ? (char *)ds->v[i - 1] : "";
		os->has_version = 1;
		os->version = i ? domain_version(cx, ds->v[i - 1]) : cx->opset;
		v[i] = os;
	}
	*n = ds->n + 1;
	return v;
}

static Onnx__FunctionProto *function_proto(p2o_cx *cx, const p2o_function *f)
{
	Onnx__FunctionProto *fp = ALLOC(cx, Onnx__FunctionProto);
	onnx__function_proto__init(fp);
	fp->name = (char *)f->name;
	fp->domain = (char *)f->domain;
	fp->n_input = f->n_in;
	fp->input = value_names(cx, f->in, f->n_in);
	fp->n_output = f->n_out;
	fp->output = value_names(cx, f->out, f->n_out);
	fp->n_node = f->n_nodes;
	fp->node = ALLOCN(cx, Onnx__NodeProto *, f->n_nodes);
	domain_set ds = { 0 };
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		fp->node[i] = node_proto(cx, &f->body[i]);
		domain_add(cx, &ds, f->body[i].domain);
	}
	fp->opset_import = opset_imports(cx, &ds, &fp->n_opset_import);
	free(ds.v);
	return fp;
}

static Onnx__ModelProto *model_proto(p2o_cx *cx)
{
	Onnx__GraphProto *g = ALLOC(cx, Onnx__GraphProto);
	onnx__graph_proto__init(g);
	g->name = "pt2onnx";

	g->node = ALLOCN(cx, Onnx__NodeProto *, cx->n_nodes);
	for (uint32_t i = 0; i < cx->n_nodes; i++)
		if (p2o_n(cx, i)->live) {
			g->node[g->n_node++] = node_proto(cx, p2o_n(cx, i));
			/* ---- knobs ---- */
			const p2o_node *nd = p2o_n(cx, i);
			Onnx__NodeProto *np = g->node[g->n_node - 1];
			if (cx->knobs.node_names)
				np->name = (char *)p2o_scoped_node_name(cx, nd);
			if (cx->knobs.doc_strings && nd->from && nd->from->source)
				np->doc_string = (char *)nd->from->source;
		}

	size_t n_init = 0, n_vi = 0;
	uint64_t weight_bytes = 0;
	for (uint32_t v = 0; v < cx->n_vals; v++) {
		const p2o_val *val = p2o_v(cx, v);
		if (!val->live)
			continue;
		if (val->init)
			n_init++;
		else if (!val->graph_input && !val->graph_output && val->t.dtype)
			n_vi++;
	}
	/* IR version 3 wants every initializer listed as an input too. */
	bool init_inputs = p2o_ir_version(cx->opset) < 4 ||
			   cx->knobs.keep_initializers_as_inputs; /* knobs */
	g->initializer = ALLOCN(cx, Onnx__TensorProto *, n_init);
	g->value_info = ALLOCN(cx, Onnx__ValueInfoProto *, n_vi);
	g->input = ALLOCN(cx, Onnx__ValueInfoProto *,
			  cx->n_inputs + (init_inputs ? n_init : 0));
	for (uint32_t i = 0; i < cx->n_inputs; i++)
		g->input[g->n_input++] = value_info(cx, p2o_v(cx, cx->inputs[i]));
	for (uint32_t v = 0; v < cx->n_vals; v++) {
		const p2o_val *val = p2o_v(cx, v);
		if (!val->live)
			continue;
		if (val->init) {
			g->initializer[g->n_initializer++] =
				tensor_proto(cx, val->init, val->name);
			weight_bytes += val->init->nbytes;
			if (init_inputs)
				g->input[g->n_input++] = value_info(cx, val);
		} else if (!val->graph_input && !val->graph_output && val->t.dtype) {
			g->value_info[g->n_value_info++] = value_info(cx, val);
		}
	}
	g->n_output = cx->n_outputs;
	g->output = ALLOCN(cx, Onnx__ValueInfoProto *, cx->n_outputs);
	for (uint32_t i = 0; i < cx->n_outputs; i++)
		g->output[i] = value_info(cx, p2o_v(cx, cx->outputs[i]));

	Onnx__ModelProto *m = ALLOC(cx, Onnx__ModelProto);
	onnx__model_proto__init(m);
	m->has_ir_version = 1;
	m->ir_version = p2o_ir_version(cx->opset);
	m->producer_name = "pt2onnx";
	m->producer_version = PT2ONNX_VERSION;
	/* ---- aten ---- */
	domain_set ds = { 0 };
	/* ---- knobs ---- --custom-opset's domains first, in their order */
	for (size_t i = 0; i < cx->knobs.n_custom_opsets; i++)
		domain_add(cx, &ds, cx->knobs.custom_opsets[i].domain);
	for (size_t i = 0; i < g->n_node; i++)
		domain_add(cx, &ds, g->node[i]->domain);
	m->n_functions = cx->n_functions;
	m->functions = ALLOCN(cx, Onnx__FunctionProto *, cx->n_functions);
	for (uint32_t i = 0; i < cx->n_functions; i++) {
		const p2o_function *f = &cx->functions[i];
		m->functions[i] = function_proto(cx, f);
		for (uint32_t j = 0; j < f->n_nodes; j++)
			domain_add(cx, &ds, f->body[j].domain);
	}
	m->opset_import = opset_imports(cx, &ds, &m->n_opset_import);
	free(ds.v);
	/* ---- end aten ---- */
	m->graph = g;
	/* ---- knobs ---- */
	const p2o_options *k = &cx->knobs;
	if (k->producer_name)
		m->producer_name = (char *)k->producer_name;
	if (k->n_metadata) {
		m->metadata_props = ALLOCN(cx, Onnx__StringStringEntryProto *,
					   k->n_metadata);
		for (size_t i = 0; i < k->n_metadata; i++) {
			Onnx__StringStringEntryProto *e =
				ALLOC(cx, Onnx__StringStringEntryProto);
			onnx__string_string_entry_proto__init(e);
			e->key = (char *)k->metadata[i].key;
			e->value = (char *)k->metadata[i].value;
			m->metadata_props[i] = e;
		}
		m->n_metadata_props = k->n_metadata;
	}

	cx->stats.nodes = g->n_node;
	cx->stats.initializers = g->n_initializer;
	cx->stats.inputs = cx->n_inputs;
	cx->stats.outputs = cx->n_outputs;
	cx->stats.weight_bytes = weight_bytes;
	cx->stats.opset = cx->opset;
	cx->stats.ir_version = (int)m->ir_version;
	return m;
}

/* A ProtobufCBuffer that streams into a FILE. */
typedef struct file_buffer {
	ProtobufCBuffer base;
	FILE *f;
	bool failed;
	int err;                 /* errno of the first failed write */
	uint64_t written, total, next_report;
	int sync_fd;             /* a file to be fsynced, or -1 */
	uint64_t synced;         /* bytes handed to writeback so far */
	p2o_cx *cx;
} file_buffer;

#define REPORT_EVERY ((uint64_t)32 << 20) /* progress every 32 MiB */
#define WRITEBACK_EVERY ((uint64_t)8 << 20)

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data);

/* A stream into f; durable when f will be fsynced before its rename. */
static file_buffer file_buffer_on(p2o_cx *cx, FILE *f, uint64_t total,
				  bool durable)
{
	return (file_buffer){ .base = { .append = file_append },
			      .f = f,
			      .total = total,
			      .next_report = REPORT_EVERY,
			      .sync_fd = durable ? fileno(f) : -1,
			      .cx = cx };
}

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	file_buffer *fb = (file_buffer *)b;
	if (fb->failed || len == 0)
		return;
	if (fwrite(data, 1, len, fb->f) != len) {
		fb->failed = true;
		fb->err = errno;
		return;
	}
	fb->written += len;
#ifdef SYNC_FILE_RANGE_WRITE
	/* The file is fsynced before it replaces the old one: start its disk
	 * writes as it grows, so that the fsync waits for the tail only
	 * (resnet50: the fsync 35 ms -> 5 ms, the write stage ~15 ms
	 * shorter). Bytes still in stdio's buffer go with the fsync. */
	if (fb->sync_fd >= 0 && fb->written - fb->synced >= WRITEBACK_EVERY) {
		(void)sync_file_range(fb->sync_fd, (off_t)fb->synced,
				      (off_t)(fb->written - fb->synced),
				      SYNC_FILE_RANGE_WRITE);
		fb->synced = fb->written;
	}
#endif
	if (fb->written >= fb->next_report) {
		p2o_progress(fb->cx, "writing MiB", fb->written >> 20,
			     fb->total >> 20);
		fb->next_report = fb->written + REPORT_EVERY;
	}
}

/* Packs m into o's stream; returns an errno (0 on success). */
static int stream(p2o_cx *cx, Onnx__ModelProto *m, FILE *f, size_t size,
		  bool durable)
{
	file_buffer fb = file_buffer_on(cx, f, size, durable);
	errno = 0;
	protobuf_c_message_pack_to_buffer(&m->base, &fb.base);
	cx->stats.file_bytes = fb.written;
	if (fb.failed)
		return fb.err ? fb.err : EIO;
	return 0;
}

/* ---- extdata ---- */

/* External data (the ONNX external-data convention): a tensor's bytes in a
 * file beside the model, which names it by TensorProto.external_data
 * entries "location" (relative to the model's folder), "offset" and
 * "length", with data_location EXTERNAL and no raw_data. */
#define EXT_MIN_BYTES 1024 /* smaller tensors stay inside the model */
#define EXT_ALIGN 4096     /* offsets on page boundaries, for loaders that
			      mmap the data file */
#define EXT_CHUNK ((uint64_t)64 << 20) /* write size: progress between */

/* One tensor's bytes bound for the data file: still libtorch's memory. */
typedef struct ext_item {
	const uint8_t *data;
	uint64_t len, offset;
} ext_item;

int p2o_check_data_name(const char *name, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!*name)
		why = "it is empty";
	else if (strchr(name, '/'))
		why = "it has a folder part; it is always written in the "
		      "model's folder, so give a file name only";
	else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		why = "it is not a file name";
	if (!why)
		return P2O_OK;
	if (err && errlen)
		snprintf(err, errlen, "external data file '%s': %s", name, why);
	return P2O_ERR_USAGE;
}

static Onnx__StringStringEntryProto *entry(p2o_cx *cx, const char *key,
					   const char *value)
{
	Onnx__StringStringEntryProto *e =
		ALLOC(cx, Onnx__StringStringEntryProto);
	onnx__string_string_entry_proto__init(e);
	e->key = (char *)key;
	e->value = (char *)value;
	return e;
}

/* Moves each initializer of at least EXT_MIN_BYTES from m into the data
 * file named location: its TensorProto gets the entries, the bytes become
 * an item at an aligned offset. Returns the items (*n of them, in file
 * order) and sets *end to the data file's size. */
static ext_item *externalize(p2o_cx *cx, Onnx__ModelProto *m,
			     const char *location, size_t *n, uint64_t *end)
{
	Onnx__GraphProto *g = m->graph;
	ext_item *items = ALLOCN(cx, ext_item, g->n_initializer);
	uint64_t pos = 0;
	*n = 0;
	for (size_t i = 0; i < g->n_initializer; i++) {
		Onnx__TensorProto *tp = g->initializer[i];
		if (!tp->has_raw_data || tp->raw_data.len < EXT_MIN_BYTES)
			continue;
		uint64_t off = (pos + EXT_ALIGN - 1) / EXT_ALIGN * EXT_ALIGN;
		uint64_t len = tp->raw_data.len;
		items[*n] = (ext_item){ tp->raw_data.data, len, off };
		++*n;
		tp->n_external_data = 3;
		tp->external_data =
			ALLOCN(cx, Onnx__StringStringEntryProto *, 3);
		tp->external_data[0] = entry(cx, "location", location);
		tp->external_data[1] = entry(
			cx, "offset", p2o_fmt(cx, "%llu", (unsigned long long)off));
		tp->external_data[2] = entry(
			cx, "length", p2o_fmt(cx, "%llu", (unsigned long long)len));
		tp->has_data_location = 1;
		tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
		tp->has_raw_data = 0;
		tp->raw_data.len = 0;
		tp->raw_data.data = NULL;
		pos = off + len;
	}
	*end = pos;
	return items;
}

/* Streams the items into f straight from libtorch's storage (zero bytes
 * between them); returns an errno (0 on success). */
static int stream_data(p2o_cx *cx, const ext_item *items, size_t n, FILE *f,
		       uint64_t total)
{
	static const uint8_t zeros[EXT_ALIGN];
	file_buffer fb = file_buffer_on(cx, f, total, true);
	for (size_t i = 0; i < n && !fb.failed; i++) {
		assert(items[i].offset >= fb.written &&
		       items[i].offset - fb.written < EXT_ALIGN);
		file_append(&fb.base, (size_t)(items[i].offset - fb.written),
			    zeros);
		for (uint64_t done = 0; done < items[i].len && !fb.failed;) {
			uint64_t k = items[i].len - done;
			if (k > EXT_CHUNK)
				k = EXT_CHUNK;
			file_append(&fb.base, (size_t)k, items[i].data + done);
			done += k;
		}
	}
	cx->stats.data_bytes = fb.written;
	if (fb.failed)
		return fb.err ? fb.err : EIO;
	return 0;
}

/* A usage error of the write (no file touched). */
static int ext_refuse(p2o_cx *cx, const char *fmt, const char *a,
		      const char *b)
{
	char msg[2 * PATH_MAX + 256];
	snprintf(msg, sizeof msg, fmt, a, b);
	return p2o_diag_add(cx, P2O_ERR_USAGE, NULL, NULL, msg);
}

/* Writes m to path with its large weights in a data file beside it; why
 * says why (for messages). */
static int write_external(p2o_cx *cx, Onnx__ModelProto *m, const char *path,
			  const char *why)
{
	if (strcmp(path, "-") == 0)
		return ext_refuse(cx, "cannot write the model to standard "
				      "output: %s, so its weights go to an "
				      "external data file, which must lie "
				      "beside a model file%s; give -o FILE",
				  why, "");
	char err[PATH_MAX + 256];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *name = cx->ext_file ? cx->ext_file :
					  p2o_fmt(cx, "%s.data", base);
	if (p2o_check_data_name(name, err, sizeof err) != P2O_OK)
		return p2o_diag_add(cx, P2O_ERR_USAGE, NULL, NULL, err);
	if (strcmp(name, base) == 0)
		return ext_refuse(cx, "external data file '%s' is the model "
				      "file '%s' itself; choose another name",
				  name, path);
	/* Beside the path as given: ONNX loaders resolve the location
	 * against the folder of the path they open, links not followed. */
	const char *dpath = slash ? p2o_fmt(cx, "%.*s/%s", (int)(slash - path),
					    path, name) :
				    name;
	size_t n;
	uint64_t dsize;
	ext_item *items = externalize(cx, m, name, &n, &dsize);
	size_t size = protobuf_c_message_get_packed_size(&m->base);
	if (size > (size_t)INT32_MAX) {
		char msg[PATH_MAX + 128];
		snprintf(msg, sizeof msg,
			 "cannot write output '%s': without its weights the "
			 "model is still larger than 2 GiB, which a single "
			 "ONNX protobuf file cannot hold",
			 path);
		return p2o_diag_add(cx, P2O_ERR_OUTPUT, NULL, NULL, msg);
	}
	p2o_out mo, d;
	int rc = p2o_out_open_slot(cx, &mo, path, 0);
	if (rc != P2O_OK)
		return rc;
	if (mo.in_place) {
		p2o_out_abort(cx, &mo);
		return ext_refuse(cx, "cannot write '%s' with external data: "
				      "it is a device, FIFO or open file, and "
				      "the data file must lie beside a model "
				      "file%s; give a file path",
				  path, "");
	}
	rc = p2o_out_open_slot(cx, &d, dpath, 1);
	if (rc != P2O_OK) {
		p2o_out_abort(cx, &mo);
		return rc;
	}
	if (d.in_place || strcmp(d.target, mo.target) == 0) {
		p2o_out_abort(cx, &d);
		p2o_out_abort(cx, &mo);
		return ext_refuse(cx, "cannot write the external data file "
				      "'%s': it is a device, FIFO, open file "
				      "or the model file '%s' itself",
				  dpath, path);
	}
	cx->stats.data_path = dpath;
	p2o_progress(cx, "writing MiB", 0, (dsize + size) >> 20);
	int werr_d = stream_data(cx, items, n, d.f, dsize + size);
	int werr_m = werr_d ? 0 : stream(cx, m, mo.f, size, true);
	rc = p2o_out_commit_pair(cx, &mo, werr_m, &d, werr_d);
	if (rc != P2O_OK)
		cx->stats.data_path = NULL;
	return rc;
}

int p2o_write(p2o_ctx *cx, const char *path)
{
	jmp_buf oom;
	P2O_ENTER(cx, oom, "writing");
	if (!cx->converted) {
		int rc = p2o_diag_add(cx, P2O_ERR_USAGE, NULL, NULL,
				      "nothing converted to write");
		cx->oom = NULL;
		return rc;
	}
	Onnx__ModelProto *m = model_proto(cx);
	/* The whole size, weights inside, decides: protobuf's limit. */
	size_t size = protobuf_c_message_get_packed_size(&m->base);
	int rc;
	if (cx->ext_data || size > (size_t)INT32_MAX) {
		const char *why =
			cx->ext_data ?
				"--external-data was given" :
				p2o_fmt(cx, "the model is %.2f GiB, over "
					    "protobuf's 2 GiB limit",
					(double)size / (1u << 30));
		rc = write_external(cx, m, path, why);
	} else {
		p2o_out o;
		rc = p2o_out_open(cx, &o, path);
		if (rc == P2O_OK) {
			p2o_progress(cx, "writing MiB", 0, size >> 20);
			rc = p2o_out_commit(cx, &o, stream(cx, m, o.f, size, !o.in_place));
		}
	}
	cx->oom = NULL;
	return rc;
}

const char *p2o_pending_path(const p2o_ctx *cx)
{
	return cx->pending[0];
}

const char *p2o_pending_path_at(const p2o_ctx *cx, int i)
{
	return i >= 0 && i < P2O_PENDING_MAX ? cx->pending[i] : NULL;
}
