/*
 * pt2onnx.h — the public API of the converter library; the only header the
 * command (cmd/) includes.
 *
 * A conversion is one p2o_ctx: load a TorchScript archive, convert it for a
 * target opset and input signature, write the ONNX model. The library never
 * prints: what went wrong is recorded as diagnostics in the context and the
 * caller decides how to show them.
 */
#ifndef PT2ONNX_H
#define PT2ONNX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PT2ONNX_VERSION "0.1.0"
#define P2O_OPSET_MIN 7
#define P2O_OPSET_MAX 23
#define P2O_OPSET_DEFAULT 17
#define P2O_MAX_RANK 16

/* Status codes. Append only: a code is never renumbered or reused. */
typedef enum p2o_err {
	P2O_OK = 0,
	P2O_ERR_NOMEM = 1,       /* out of memory */
	P2O_ERR_INTERNAL = 2,    /* a bug: an invariant of pt2onnx broke */
	P2O_ERR_USAGE = 3,       /* an option or shape text is malformed */
	P2O_ERR_OPEN = 4,        /* the model file cannot be opened or read */
	P2O_ERR_MODEL = 5,       /* not a TorchScript archive, or unfreezable */
	P2O_ERR_INPUTS = 6,      /* input shapes do not fit forward()'s inputs */
	P2O_ERR_UNSUPPORTED = 7, /* ops that cannot be converted at this opset */
	P2O_ERR_CONVERT = 8,     /* the graph is inconsistent with the shapes */
	P2O_ERR_OUTPUT = 9,      /* the output cannot be written */
	P2O_ERR_RUNTIME = 10,    /* libtorch (the shim .so) cannot be loaded */
	/* ---- aten ---- */
	P2O_WARN_FALLBACK = 11,  /* a warning, not a failure: an op with no
	                            converter was exported unconverted (as an
	                            ATen node, or left in its own domain) by
	                            --operator-export-type */
	P2O_WARN_INLINED = 12,   /* a warning: module instances left inlined,
	                            not made local functions
	                            (--export-modules-as-functions) */
} p2o_err;

/* A short description of a status code; static storage. */
const char *p2o_strerror(int code);

/* Element types, numbered as ONNX's TensorProto.DataType. */
enum p2o_dtype {
	P2O_FLOAT = 1, P2O_UINT8 = 2, P2O_INT8 = 3, P2O_INT16 = 5,
	P2O_INT32 = 6, P2O_INT64 = 7, P2O_BOOL = 9, P2O_FLOAT16 = 10,
	P2O_DOUBLE = 11, P2O_BFLOAT16 = 16,
};

/* One forward() input as given by --input-shape. */
typedef struct p2o_input_spec {
	int dtype;                           /* enum p2o_dtype */
	int rank;                            /* 0 .. P2O_MAX_RANK */
	int64_t dims[P2O_MAX_RANK];          /* >= 0, or -1 when symbolic */
	char symbols[P2O_MAX_RANK][32];      /* the symbol where dims[i] == -1 */
} p2o_input_spec;

/* Parses "1x3x224x224", "batchx3x224x224:float16" or "" (a scalar, with
 * ":DTYPE" only). Returns P2O_OK, or P2O_ERR_USAGE with a message in err. */
int p2o_parse_input_spec(const char *text, p2o_input_spec *out, char *err,
			 size_t errlen);

/* The name of a dtype ("float32"), or NULL if it is not one of ours. */
const char *p2o_dtype_name(int dtype);

/* Progress callback: stage is a short verb phrase ("loading", "writing
 * MiB"), done/total count units of that stage (total 0 when unknown).
 * p2o_write calls it once with done 0 right after creating its temporary
 * file, so that a supervisor can learn p2o_pending_path(). */
typedef void (*p2o_progress_fn)(void *user, const char *stage, uint64_t done,
				uint64_t total);

/* ---- knobs ---- */
/* --training: the mode the module is exported in. */
enum p2o_training {
	P2O_TRAINING_EVAL = 0,     /* .eval() first (torch.onnx's default) */
	P2O_TRAINING_PRESERVE = 1, /* the mode the module was saved in */
	P2O_TRAINING_TRAIN = 2,    /* .train(): dropout, batch statistics */
};
/* An opset_import entry of a custom domain (--custom-opset). */
typedef struct p2o_opset_id {
	const char *domain;  /* non-empty, not "ai.onnx" */
	int64_t version;     /* >= 1 */
} p2o_opset_id;
/* One metadata_props entry (--metadata KEY=VALUE). */
typedef struct p2o_metadata {
	const char *key;     /* non-empty, unique */
	const char *value;
} p2o_metadata;

typedef struct p2o_options {
	int opset;                        /* P2O_OPSET_MIN .. P2O_OPSET_MAX */
	const p2o_input_spec *inputs;     /* one per tensor input of forward() */
	size_t n_inputs;
	const char *const *input_names;   /* NULL, or n_input_names names */
	size_t n_input_names;
	const char *const *output_names;  /* NULL, or n_output_names names */
	size_t n_output_names;
	p2o_progress_fn progress;         /* NULL for none */
	void *progress_user;              /* passed back to progress */
	/* ---- extdata ---- */
	int external_data;                /* 1: weights of >= 1 KiB go to an
					     external data file whatever the
					     size; 0: only when the model
					     would pass protobuf's 2 GiB */
	const char *external_data_file;   /* that file's name, in the
					     model's folder (see
					     p2o_check_data_name); NULL for
					     "<model file name>.data" */
	/* ---- aten ---- */
	int operator_export_type;         /* enum p2o_export_type */
	/* Module types whose instances become ONNX local functions
	 * (--export-modules-as-functions): n_function_types names, each a
	 * TorchScript class name ("torch.nn.modules.linear.Linear") or its
	 * last component ("Linear"); function_types NULL with
	 * n_function_types 1 means every module type. Needs opset 15. */
	const char *const *function_types;
	size_t n_function_types;
	/* ---- knobs ---- */
	/* torch.onnx.export's parameters (see README "Export options"). All
	 * zero is torch.onnx's default export. */
	bool no_export_params;            /* weights become graph inputs */
	bool keep_initializers_as_inputs; /* initializers listed as inputs */
	bool no_constant_folding;         /* keep constant subgraphs */
	int training;                     /* enum p2o_training */
	const p2o_opset_id *custom_opsets; /* extra opset_import entries */
	size_t n_custom_opsets;
	bool doc_strings;                 /* source locations on nodes */
	bool node_names;                  /* module-path node names */
	const char *producer_name;        /* NULL: "pt2onnx" */
	const p2o_metadata *metadata;     /* ModelProto.metadata_props */
	size_t n_metadata;
} p2o_options;

/* ---- extdata ---- */
/* Whether name can name an external data file: a plain file name (no '/',
 * not "." or ".."), since ONNX resolves it against the model's folder and
 * pt2onnx writes it there. P2O_OK, or P2O_ERR_USAGE with the reason in
 * err (one line). */
int p2o_check_data_name(const char *name, char *err, size_t errlen);

/* ---- aten ---- */
/* What to do with an op that has no converter (torch.onnx's
 * operator_export_type). */
enum p2o_export_type {
	P2O_EXPORT_ONNX = 0,      /* fail: exit 4 naming the op (default) */
	P2O_EXPORT_ATEN_FALLBACK, /* an aten:: op becomes an ATen node in
	                             domain org.pytorch.aten */
	P2O_EXPORT_FALLTHROUGH,   /* any op is left as it is, in a domain
	                             named after its namespace */
};

/* A diagnostic recorded during a conversion. */
typedef struct p2o_diag {
	int code;            /* enum p2o_err */
	const char *op;      /* TorchScript op kind, or NULL */
	const char *source;  /* "file.py:LINE:COL" of the first occurrence */
	const char *message; /* one line, no trailing newline */
	unsigned count;      /* how many nodes this diagnostic stands for */
	/* ---- report ---- */
	int warning;         /* 1: a warning (the conversion went on); 0: an
				error. Warnings have the P2O_WARN_* codes */
	const char *arg;     /* the schema argument at fault, or NULL */
	int min_opset;       /* the lowest opset that converts it, or 0 when
				no opset would (or it is not known) */
	const char *const *sources; /* "file.py:LINE:COL" of every occurrence
				       that has one, in graph order */
	size_t n_sources;
} p2o_diag;

typedef struct p2o_ctx p2o_ctx;

/* A new, empty context; NULL when out of memory. Free with p2o_free(). */
p2o_ctx *p2o_new(void);
void p2o_free(p2o_ctx *cx);

/* Loads, freezes and canonicalizes the archive at path. */
int p2o_load(p2o_ctx *cx, const char *path, const p2o_options *opt);

/* Converts the loaded graph to ONNX for opt (the same options as load). On
 * P2O_ERR_UNSUPPORTED every unsupported op has its own diagnostic. */
int p2o_convert(p2o_ctx *cx, const p2o_options *opt);

/* Writes the converted model to path ("-" for stdout), by the rules of
 * p2o_check_output: a file is written to a temporary name in its folder
 * and renamed into place (through symlinks), so that a failure never
 * leaves a partial file or clobbers an existing one; a device or FIFO is
 * written in place. */
int p2o_write(p2o_ctx *cx, const char *path);

/* Whether path can take an output of a conversion of model (NULL: no
 * model), checked before the work starts: P2O_OK; P2O_ERR_USAGE when it is
 * the model itself (the same file through any path or link) or empty;
 * P2O_ERR_OUTPUT when it is a directory, block device or socket, or its
 * folder is missing or not writable. The reason goes to err (one line,
 * naming the path). */
int p2o_check_output(const char *path, const char *model, char *err,
		     size_t errlen);

/* While p2o_write writes a file: the temporary file's path (to unlink
 * from a signal handler on SIGINT/SIGTERM); NULL otherwise. Reading it is
 * async-signal-safe. */
const char *p2o_pending_path(const p2o_ctx *cx);
/* ---- extdata ---- */
/* The same for every temporary file of the write: i = 0 is the model's
 * (p2o_pending_path), i = 1 its external data file's; NULL past the last
 * and when none is being written. Async-signal-safe: a handler unlinks
 * each of them. */
#define P2O_PENDING_MAX 2
const char *p2o_pending_path_at(const p2o_ctx *cx, int i);

/* Diagnostics recorded so far (owned by cx). */
size_t p2o_diag_count(const p2o_ctx *cx);
const p2o_diag *p2o_diag_at(const p2o_ctx *cx, size_t i);

/* Texts for --verbose, owned by cx and valid until p2o_free: TorchScript's
 * printout of the canonicalized graph (after p2o_load) and a readable
 * listing of the ONNX graph (after p2o_convert). */
const char *p2o_torch_text(p2o_ctx *cx);
const char *p2o_onnx_text(p2o_ctx *cx);

/* Counts of the converted graph, for the summary line. */
typedef struct p2o_stats {
	size_t nodes, initializers, inputs, outputs;
	uint64_t weight_bytes;  /* raw bytes of all initializers */
	uint64_t file_bytes;    /* bytes written by p2o_write */
	int opset, ir_version;
	/* ---- extdata ---- */
	uint64_t data_bytes;    /* bytes of the external data file (0: none) */
	const char *data_path;  /* its path, owned by the context; NULL when
				   the weights are inside the model */
} p2o_stats;
void p2o_get_stats(const p2o_ctx *cx, p2o_stats *out);

/* The op registry, entry i (i from 0): the TorchScript op kind and the
 * opsets [*since, *until] over which it converts. Returns 0 past the last
 * entry. Entries are sorted by kind. */
int p2o_supported_op(size_t i, const char **kind, int *since, int *until);

/* Loads libtorch: the shared object libpt2onnx-torch.so, found next to the
 * executable or in PREFIX/lib/pt2onnx/. p2o_load does it when first needed;
 * call it earlier to pay for it once before forking workers, or to learn
 * why it fails. Returns P2O_OK (also when already loaded) or
 * P2O_ERR_RUNTIME with a one-line message in err naming what was looked
 * for. Loading runs libtorch's static constructors but no op, and starts
 * no thread. */
int p2o_load_torch(char *err, size_t errlen);

/* p2o_load_torch for a process about to convert the model at path (or
 * NULL): meanwhile, on a second thread (joined before it returns), readies
 * memory for the model's weights, which libtorch then reads into. Pays
 * off once a process: a --batch loads libtorch with p2o_load_torch. */
int p2o_load_torch_for(const char *path, char *err, size_t errlen);

/* libtorch's version ("1.13.1"); loads libtorch first. NULL when it cannot
 * be loaded (p2o_load_torch says why). */
const char *p2o_torch_version(void);

/* ---- report ---- */

/* The short name of a status code ("unsupported"), as --report prints it;
 * static storage. */
const char *p2o_errname(int code);

/* A name and how often it occurs. */
typedef struct p2o_count {
	const char *name;
	uint64_t count;
} p2o_count;

/* One TorchScript op kind of the model and how it converted. */
typedef struct p2o_op_use {
	const char *kind;        /* "aten::conv2d" */
	uint64_t count;          /* its nodes, nested blocks included */
	const char *handler;     /* the converter it went through (ops.def's
				    name, "conv"), or NULL: none at the opset */
	size_t n_onnx;           /* the distinct ONNX op types its nodes
				    became in the written graph, sorted; none
				    when folded away or not converted */
	const char *const *onnx;
} p2o_op_use;

/* A graph input or output as written. */
typedef struct p2o_io {
	const char *name;
	int dtype;               /* enum p2o_dtype; 0 when unknown */
	int rank;                /* -1 when unknown */
	const int64_t *dims;     /* rank entries; -1 where not a number */
	const char *const *symbols; /* rank entries: the symbol of a symbolic
				       dim, else NULL */
} p2o_io;

/* Initializers of one element type. */
typedef struct p2o_weight_dtype {
	int dtype;
	uint64_t count, bytes;
} p2o_weight_dtype;

/* What --report needs of a conversion, as data. Parts not reached are
 * empty: no ops before p2o_load succeeds, no ONNX side before p2o_convert
 * succeeds. */
typedef struct p2o_summary {
	size_t n_torch_ops;      /* by kind, sorted */
	const p2o_op_use *torch_ops;
	uint64_t torch_nodes;    /* TorchScript nodes in all */
	size_t n_onnx_ops;       /* by op type, sorted; live nodes only */
	const p2o_count *onnx_ops;
	uint64_t onnx_nodes;
	size_t n_inputs, n_outputs;
	const p2o_io *inputs, *outputs;
	uint64_t n_weights, weight_bytes; /* initializers written */
	size_t n_weight_dtypes;  /* by dtype, ascending */
	const p2o_weight_dtype *weight_dtypes;
	int opset;               /* the target opset; 0 before p2o_convert */
} p2o_summary;

/* Of the p2o_load of cx, the seconds spent freezing and canonicalizing
 * (part of p2o_load's time); -1 when not known (no model loaded). */
double p2o_freeze_seconds(const p2o_ctx *cx);

/* Made on first call from the context's state (O(n log n) in the nodes),
 * owned by cx and valid until p2o_free. NULL when out of memory. */
const p2o_summary *p2o_get_summary(p2o_ctx *cx);

#ifdef __cplusplus
}
#endif
#endif
