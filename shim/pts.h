/*
 * pts.h — the C view of a frozen TorchScript graph (the only boundary between
 * libtorch's C++ and the converter's C).
 *
 * The shim loads a TorchScript archive, puts it in eval mode, freezes it
 * (parameters become constants), inlines calls, lowers tuples, replaces
 * in-place ops by pure ones where alias analysis allows, propagates constants
 * and removes dead code. It then hands C a flat, read-only description of the
 * resulting graph. No C++ type crosses this header and no C++ exception
 * escapes it: every failure becomes a status code plus a message.
 *
 * Ownership: everything reachable from a pts_model (strings, arrays, tensor
 * data) is owned by the shim and lives until pts_free(). Tensor data pointers
 * point at libtorch's own storage: they are never copied by the shim (a
 * non-contiguous constant is made contiguous once, and that copy is owned by
 * the shim too).
 */
#ifndef PT2ONNX_PTS_H
#define PT2ONNX_PTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by pts_load(). */
enum pts_status {
	PTS_OK = 0,
	PTS_E_OPEN = 1,    /* the file cannot be opened or read */
	PTS_E_ARCHIVE = 2, /* not a TorchScript archive, or a corrupt one */
	PTS_E_MODEL = 3,   /* loaded, but cannot be frozen/canonicalized */
	PTS_E_NOMEM = 4,   /* out of memory */
	PTS_E_UNSUPPORTED = 5, /* a valid model doing what cannot be exported */
};

/* What kind of TorchScript value a pts_value is (its static type). */
enum pts_vkind {
	PTS_V_OTHER = 0, /* anything not listed (devices, objects, dicts, ...) */
	PTS_V_TENSOR,
	PTS_V_INT,
	PTS_V_FLOAT,
	PTS_V_BOOL,
	PTS_V_NONE,
	PTS_V_STRING,
	PTS_V_LIST,     /* elem tells the element kind */
	PTS_V_TUPLE,
	PTS_V_OPTIONAL, /* Optional[T]; elem tells T */
	PTS_V_DEVICE,
	PTS_V_OBJECT,   /* a module or class instance (e.g. `self`) */
	PTS_V_SCALAR,   /* TorchScript `number` (int or float) */
};

/* Element types, numbered as ONNX's TensorProto.DataType so that C needs no
 * second mapping. 0 means unknown or not representable in ONNX. */
enum pts_dtype {
	PTS_UNDEFINED = 0, PTS_FLOAT = 1, PTS_UINT8 = 2, PTS_INT8 = 3,
	PTS_INT16 = 5, PTS_INT32 = 6, PTS_INT64 = 7, PTS_BOOL = 9,
	PTS_FLOAT16 = 10, PTS_DOUBLE = 11, PTS_COMPLEX64 = 14,
	PTS_COMPLEX128 = 15, PTS_BFLOAT16 = 16,
};

/* A constant tensor: contiguous, row-major, host memory. */
typedef struct pts_tensor {
	int dtype;            /* enum pts_dtype */
	int rank;             /* number of dims (0 for a scalar tensor) */
	const int64_t *dims;  /* rank entries */
	const void *data;     /* nbytes bytes, owned by the shim */
	size_t nbytes;        /* element size times element count */
} pts_tensor;

/* Kinds of constant a prim::Constant can carry. */
enum pts_ckind {
	PTS_C_NONE = 0, PTS_C_INT, PTS_C_FLOAT, PTS_C_BOOL, PTS_C_STRING,
	PTS_C_INTS, PTS_C_FLOATS, PTS_C_BOOLS, PTS_C_TENSOR, PTS_C_DEVICE,
	PTS_C_OTHER, /* a constant of a kind C has no use for (object, dict) */
	PTS_C_STRINGS, /* str[] (scripted checks: `device.type in [...]`) */
};

/* The value of a prim::Constant. */
typedef struct pts_const {
	int kind;             /* enum pts_ckind */
	int64_t i;            /* INT and BOOL (0/1) */
	double f;             /* FLOAT */
	const char *s;        /* STRING and DEVICE (NUL-terminated) */
	size_t n;             /* element count of INTS, FLOATS, BOOLS */
	const int64_t *ints;  /* INTS and BOOLS (0/1) */
	const double *floats; /* FLOATS */
	pts_tensor t;         /* TENSOR */
	const char *const *strs; /* STRINGS: n NUL-terminated strings */
} pts_const;

/* A value of the graph: a graph or block input, or a node output. */
typedef struct pts_value {
	const char *name;       /* TorchScript debug name, unique in the graph */
	int kind;               /* enum pts_vkind */
	int elem;               /* LIST/OPTIONAL: the element's pts_vkind */
	int dtype;              /* TENSOR: enum pts_dtype if known, else 0 */
	int rank;               /* TENSOR: rank if known, else -1 */
	const pts_const *konst; /* non-NULL when produced by prim::Constant */
	const pts_const *deflt; /* forward() inputs: the default, or NULL */
} pts_value;

/* Kinds of node attribute (few nodes have any once the graph is frozen). */
enum pts_akind {
	PTS_A_INT = 1, PTS_A_FLOAT, PTS_A_STRING, PTS_A_INTS, PTS_A_FLOATS,
	PTS_A_STRINGS, PTS_A_TENSOR, PTS_A_OTHER,
};

typedef struct pts_attr {
	const char *name;           /* attribute symbol without namespace */
	int kind;                   /* enum pts_akind */
	int64_t i;                  /* INT */
	double f;                   /* FLOAT */
	const char *s;              /* STRING */
	size_t n;                   /* count of INTS, FLOATS, STRINGS */
	const int64_t *ints;        /* INTS */
	const double *floats;       /* FLOATS */
	const char *const *strings; /* STRINGS */
	pts_tensor t;               /* TENSOR */
} pts_attr;

/* What a schema argument takes: its declared type. Optional[T] is T with
 * pts_arg.optional set. ScalarType, Layout, MemoryFormat are ints at run
 * time; they are told apart here because handlers read them differently. */
enum pts_atype {
	PTS_T_OTHER = 0,   /* anything not listed (Generator, Dict, ...) */
	PTS_T_TENSOR,
	PTS_T_INT,         /* int and SymInt */
	PTS_T_FLOAT,
	PTS_T_BOOL,
	PTS_T_STR,
	PTS_T_SCALAR,      /* Scalar / number: an int or a float */
	PTS_T_SCALARTYPE,  /* a dtype (torch ScalarType number) */
	PTS_T_LAYOUT,
	PTS_T_DEVICE,
	PTS_T_MEMFORMAT,
	PTS_T_TENSORS,     /* Tensor[] */
	PTS_T_OPT_TENSORS, /* Tensor?[] */
	PTS_T_INTS,        /* int[] and SymInt[] */
	PTS_T_FLOATS,
	PTS_T_BOOLS,
	PTS_T_STRS,
	PTS_T_LIST,        /* a list of any other element type (t[]) */
	PTS_T_ANY,         /* a type variable (t, t1) or Any */
};

/* One argument of an operator schema. */
typedef struct pts_arg {
	const char *name;       /* as in the schema: "self", "dim", "dtype" */
	int type;               /* enum pts_atype */
	int optional;           /* 1: Optional[T] (None accepted) */
	int kwarg_only;         /* 1: after the schema's `*` */
	int list_len;           /* fixed list length (`int[2]`), else 0 */
	const pts_const *deflt; /* the default value, or NULL when it has none */
} pts_arg;

/* The libtorch FunctionSchema a node was matched to. Interned: every node
 * of the same overload points at the same pts_schema. */
typedef struct pts_schema {
	const char *name;       /* qualified operator name, "aten::to" */
	const char *overload;   /* "dtype", or "" for the default overload */
	uint32_t n_args;
	const pts_arg *args;    /* n_args arguments, in call order */
	int vararg;             /* 1: takes more inputs than listed (`...`) */
} pts_schema;

struct pts_block;

/* ---- aten ---- */
/* A module instance a node was inlined from: TorchScript keeps, per node,
 * the call stack of the methods inlined into forward() (InlinedCallStack),
 * with the module instance (class type and attribute name) of each method
 * call. Interned: every node of one call of one instance points at the
 * same pts_scope, and a second call of the same instance (the module
 * used twice) is a scope of its own. */
typedef struct pts_scope {
	const char *type;              /* the class's qualified name,
	                                  "__torch__.torch.nn.modules.linear.Linear" */
	const char *name;              /* the attribute it is held in ("fc",
	                                  "0"), as libtorch records it */
	const struct pts_scope *parent; /* the enclosing module call; NULL
	                                  directly under forward() */
	uint32_t id;                   /* 0, 1, ... in order of first use */
} pts_scope;

/* One node. Inputs and outputs are indices into pts_graph.values. */
typedef struct pts_node {
	const char *kind;              /* qualified op name, "aten::conv2d" */
	uint32_t n_in, n_out, n_attrs, n_blocks;
	const uint32_t *in;            /* n_in value indices */
	const uint32_t *out;           /* n_out value indices */
	const pts_attr *attrs;         /* n_attrs attributes */
	const struct pts_block *blocks; /* prim::If / prim::Loop bodies */
	const char *source;            /* "file.py:LINE:COL", or NULL */
	const char *aliased_read;      /* an in-place write whose memory is
	                                  shared with a value read after it
	                                  (a view, or the tensor viewed): that
	                                  value's name; NULL when the write
	                                  can be converted as a rebinding */
	const pts_schema *schema;      /* the operator's schema; NULL for ops
	                                  that have none (prim::If, prim::
	                                  ListConstruct, ...) */
	/* ---- aten ---- */
	const pts_scope *scope;        /* the innermost module call it was
	                                  inlined from; NULL for forward()'s
	                                  own nodes */
} pts_node;

/* A block: a straight-line list of nodes (prim::Constant nodes are not
 * listed; their outputs carry pts_value.konst instead). */
typedef struct pts_block {
	uint32_t n_in, n_nodes, n_out;
	const uint32_t *in;     /* block parameters (graph inputs at top level) */
	const pts_node *nodes;  /* in execution order */
	const uint32_t *out;    /* block returns */
} pts_block;

typedef struct pts_graph {
	uint32_t n_values;
	const pts_value *values; /* every value of every block */
	pts_block top;           /* forward()'s body; top.in[0] is `self` when
	                            the value kind is PTS_V_OBJECT */
	/* ---- aten ---- */
	uint32_t n_scopes;       /* module calls nodes were inlined from */
} pts_graph;

typedef struct pts_model pts_model;

/* Loads, freezes and canonicalizes the archive at path. On success returns
 * PTS_OK and sets *out (free it with pts_free). On failure returns a status
 * and writes a one-line NUL-terminated message into err (errlen bytes). */
int pts_load(const char *path, pts_model **out, char *err, size_t errlen);

/* The flat view; valid until pts_free(m). */
const pts_graph *pts_graph_of(const pts_model *m);

/* TorchScript's own printout of the canonicalized graph (for --verbose),
 * made on first call; owned by m. */
const char *pts_graph_text(pts_model *m);

/* Releases the model and everything reachable from it. NULL is allowed. */
void pts_free(pts_model *m);

/* ---- aten ---- */
/* The dtypes and ranks of node n's outputs as libtorch's shape analysis
 * (PropagateInputShapes, which torch.onnx runs on scripted models) finds
 * them for inputs of the given types: for input i, dtypes[i] and ranks[i]
 * when it is a tensor (dtype 0 or rank -1: unknown), dims[i] its sizes
 * when all are known (else NULL); constant inputs are read as they are.
 * out_dtypes and out_ranks (n->n_out entries) get 0 and -1 where the
 * analysis cannot tell. Returns PTS_OK, or PTS_E_MODEL when it failed. */
int pts_node_types(pts_model *m, const pts_node *n, const int *dtypes,
		   const int *ranks, const int64_t *const *dims,
		   int *out_dtypes, int *out_ranks);

/* libtorch's version string, e.g. "1.13.1". Static storage. */
const char *pts_torch_version(void);

/* Builds libtorch's lazily made operator table now, so that processes
 * forked afterwards share it (optional: an older shim lacks it). */
void pts_warm(void);

/* Hands libtorch len bytes of mapped, already-faulted memory at base for
 * the tensors it allocates from now on (large ones, first come first
 * served; the rest of its allocations are its own). The memory is never
 * returned: for a process that converts one model and exits. Returns
 * nonzero when it took the pool, 0 when the caller keeps it. Optional. */
int pts_weight_pool(void *base, size_t len);

/* ---- report ---- */
/* Of the pts_load that made m, the seconds spent freezing and
 * canonicalizing forward() (the rest is reading and checking the
 * archive); -1 when not measured. Optional: lib/shimload.c does without
 * it in a shim that lacks it. */
double pts_freeze_seconds(const pts_model *m);
/* ---- knobs ---- */
/* How pts_load_with prepares the module (all zero: as pts_load). */
typedef struct pts_load_opts {
	int training;    /* 0: eval() first; 1: the mode it was saved in;
	                    2: train() first */
	int keep_params; /* 1: parameters stay as saved (no conv+batch_norm
	                    folding into the convolution's weights) */
} pts_load_opts;
int pts_load_with(const char *path, const pts_load_opts *opts,
		  pts_model **out, char *err, size_t errlen);
/* Whether forward() was frozen in training mode. */
int pts_training(const pts_model *m);
/* The module's parameters then buffers, module by module, in state_dict
 * order: *names ("features.0.weight") and, for each, the graph value (a
 * constant) holding it, or UINT32_MAX when the graph does not use it.
 * Returns the count; the arrays are owned by m. */
size_t pts_params(const pts_model *m, const char *const **names,
		  const uint32_t **values);
/* The module path n was inlined from ("layer1.0.conv1"), "" for
 * forward()'s own nodes; owned by m. */
const char *pts_node_scope(const pts_model *m, const pts_node *n);

#ifdef __cplusplus
}
#endif
#endif
