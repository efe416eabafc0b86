/*
 * internal.h — what lib/'s files share. Every cross-file symbol starts with
 * p2o_; everything else in lib/ is static.
 *
 * Ownership: the IR (values, nodes, attributes, names, small constant data)
 * lives in the context's arena, freed at once by p2o_free(). Values and
 * nodes are addressed by id (p2o_v, p2o_n) and sit in chunks that never
 * move, so pointers to them stay valid for the whole conversion. Weight data is never copied:
 * p2o_tensor.data of a weight points into the shim's memory, which lives as
 * long as the context.
 */
#ifndef PT2ONNX_INTERNAL_H
#define PT2ONNX_INTERNAL_H

#include <assert.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pt2onnx.h"
#include "pts.h"

#define P2O_NOVAL UINT32_MAX /* "no value": an omitted optional input */
#define P2O_CHUNK_BITS 10    /* values/nodes per storage chunk: 1024 */
#define P2O_MAX_DIAGS 256    /* distinct diagnostics kept one by one */

/* ---- arena (arena.c) ---------------------------------------------------- */

typedef struct p2o_chunk p2o_chunk;

typedef struct p2o_arena {
	p2o_chunk *head;   /* newest chunk; chunks are freed all at once */
	size_t used, size; /* bytes used and available in head */
} p2o_arena;

/* ---- types --------------------------------------------------------------- */

/* One dimension: a number (v >= 0), a symbol (v < 0, sym set) or unknown
 * (v < 0, sym NULL). */
typedef struct p2o_dim {
	int64_t v;
	const char *sym;
} p2o_dim;

/* What is known of an ONNX value's type. */
typedef struct p2o_type {
	int dtype;       /* enum p2o_dtype; 0 when unknown */
	int rank;        /* -1 when unknown */
	p2o_dim *dims;   /* rank entries, arena-owned */
} p2o_type;

/* Constant tensor data (initializers). */
typedef struct p2o_tensor {
	int dtype;
	int rank;
	const int64_t *dims;
	const void *data;  /* shim-owned (weights) or arena-owned (small ones) */
	size_t nbytes;
} p2o_tensor;

/* ---- ONNX IR ------------------------------------------------------------- */

typedef struct p2o_val {
	const char *name;         /* unique in the graph */
	p2o_type t;
	const p2o_tensor *init;   /* non-NULL: an initializer */
	int32_t producer;         /* node index; -1 for inputs and initializers */
	int32_t n_known;          /* a small int64 tensor whose contents are
	                             known (numbers or symbolic dims, e.g. a
	                             Shape's): how many, or -1 */
	const p2o_dim *known;     /* those contents, arena-owned */
	bool graph_input;
	bool graph_output;        /* set by p2o_finalize */
	bool named;               /* name came from TorchScript or the user */
	bool live;                /* set by the dead-code pass */
} p2o_val;

typedef struct p2o_attr {
	const char *name;
	int type;                 /* ONNX AttributeProto.AttributeType number */
	int64_t i;                /* INT */
	float f;                  /* FLOAT */
	const char *s;            /* STRING */
	size_t n;                 /* count of INTS / FLOATS */
	const int64_t *ints;      /* INTS */
	const float *floats;      /* FLOATS */
	const p2o_tensor *t;      /* TENSOR */
} p2o_attr;

enum { P2O_AT_FLOAT = 1, P2O_AT_INT = 2, P2O_AT_STRING = 3, P2O_AT_TENSOR = 4,
       P2O_AT_FLOATS = 6, P2O_AT_INTS = 7 };

typedef struct p2o_node {
	const char *op;           /* ONNX op_type, default domain */
	const char *name;         /* unique node name */
	uint32_t n_in, n_out, n_attr, cap_attr;
	uint32_t *in;             /* value ids; P2O_NOVAL for omitted inputs */
	uint32_t *out;            /* value ids */
	p2o_attr *attrs;
	bool live;                /* set by the dead-code pass */
} p2o_node;

/* ---- TorchScript values as the converter sees them ----------------------- */

enum p2o_tvkind {
	P2O_TV_UNSET = 0,  /* not produced yet */
	P2O_TV_TENSOR,     /* an ONNX value (tensor, or a dynamic scalar) */
	P2O_TV_CONST,      /* a constant known at conversion time */
	P2O_TV_LIST,       /* a list built from other TorchScript values */
	P2O_TV_POISON,     /* produced by a node that failed to convert */
};

typedef struct p2o_tv {
	int kind;                 /* enum p2o_tvkind */
	uint32_t onnx;            /* TENSOR: value id; CONST tensor: the
	                             initializer made for it, or P2O_NOVAL */
	bool scalar;              /* TENSOR standing for an int/float/bool */
	const pts_const *k;       /* CONST */
	uint32_t n;               /* LIST: item count */
	const uint32_t *items;    /* LIST: TorchScript value ids */
} p2o_tv;

/* ---- the conversion context ------------------------------------------------ */

struct p2o_ctx {
	p2o_arena arena;
	jmp_buf *oom;             /* where allocation failure jumps: set by
	                             P2O_ENTER in every public call */
	const char *stage;        /* "loading", "converting", "writing" */
	bool oom_hit;             /* an allocation failed: oom_diag holds it */
	p2o_diag oom_diag;        /* made without allocating: the last diag */
	char oom_msg[64];

	pts_model *model;         /* owned; freed by p2o_free */
	const pts_graph *g;       /* view of model */
	const char *model_path;

	int opset;
	p2o_progress_fn progress; /* from the options of load/convert */
	void *progress_user;
	p2o_tv *tv;               /* one per TorchScript value */

	/* ONNX values and nodes, addressed by id. They live in fixed-size
	 * arena chunks that never move, so a p2o_val/p2o_node pointer stays
	 * valid while more are made; only the chunk directories grow. */
	p2o_val **val_chunks;
	uint32_t n_vals, n_val_chunks, cap_val_chunks;
	p2o_node **node_chunks;   /* nodes in topological order */
	uint32_t n_nodes, n_node_chunks, cap_node_chunks;
	uint32_t *inputs, n_inputs;   /* graph inputs (value ids) */
	uint32_t *outputs, n_outputs; /* graph outputs (value ids) */
	uint32_t n_reserved;          /* output names reserved up front */

	/* Name set: open addressing over arena strings, for unique names;
	 * each entry also keeps the next suffix to try for names made from
	 * it, so that a base asked for n times costs O(n), not O(n^2). */
	struct p2o_name { const char *s; uint32_t next; } *names;
	uint32_t names_cap, names_used;
	/* Small-constant cache: equal small initializers are made once. */
	uint32_t *kcache;
	uint32_t kcache_cap, kcache_used;

	p2o_diag *diags;
	size_t n_diags, cap_diags;
	uint64_t n_reports;       /* diagnostics recorded, merged ones too */

	const pts_node *cur;      /* the TorchScript node being converted */
	const char *volatile pending; /* temp file being written, or NULL */
	char *onnx_text;
	p2o_stats stats;
	bool converted;
};

typedef struct p2o_ctx p2o_cx;

/* ---- arena.c --------------------------------------------------------------- */

/* Zeroed memory from the context's arena; never NULL (jumps to cx->oom). */
void *p2o_alloc(p2o_cx *cx, size_t n);
char *p2o_strdup(p2o_cx *cx, const char *s);
char *p2o_fmt(p2o_cx *cx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void *p2o_memdup(p2o_cx *cx, const void *p, size_t n);
void p2o_arena_free(p2o_arena *a);
/* Grows a malloc'ed array to hold at least need elements of size sz. */
void p2o_grow(p2o_cx *cx, void **arr, uint32_t *cap, uint32_t need, size_t sz);
/* Out-of-memory exit: records "out of memory while STAGE" without
 * allocating and jumps to cx->oom. */
_Noreturn void p2o_oom(p2o_cx *cx);

/* The first statement of every public call that allocates: an allocation
 * failure anywhere below returns P2O_ERR_NOMEM from that call, with the
 * out-of-memory diagnostic. One jump buffer per call, so no path reaches
 * p2o_oom without one. The caller clears cx->oom before returning. */
#define P2O_ENTER(cx, jb, stage_)                     \
	do {                                          \
		(cx)->stage = (stage_);               \
		if (setjmp(jb)) {                     \
			(cx)->oom = NULL;             \
			return P2O_ERR_NOMEM;         \
		}                                     \
		(cx)->oom = &(jb);                    \
	} while (0)

/* ---- diag.c ------------------------------------------------------------------ */

/* Records a diagnostic for the current TorchScript node (cx->cur) and
 * returns code. Diagnostics with the same op and message are merged into
 * one with a count. */
int p2o_fail(p2o_cx *cx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records a diagnostic about the whole graph (no op, no source). */
int p2o_fail_graph(p2o_cx *cx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports progress through the options' callback, if any. */
void p2o_progress(p2o_cx *cx, const char *stage, uint64_t done,
		  uint64_t total);
/* Records a diagnostic with an explicit op/source. */
int p2o_diag_add(p2o_cx *cx, int code, const char *op, const char *source,
		 const char *msg);

/* ---- types.c ----------------------------------------------------------------- */

size_t p2o_dtype_size(int dtype);
bool p2o_dtype_is_float(int dtype);
bool p2o_dtype_is_int(int dtype);    /* signed or unsigned integers */
/* PyTorch's category for promotion: 0 bool, 1 integer, 2 floating. */
int p2o_dtype_category(int dtype);
/* torch.result_type of two tensors of dimensioned (d) or 0-dim operands. */
int p2o_promote(int a, bool a_dim, int b, bool b_dim);
/* ONNX dtype of a PyTorch ScalarType number (as in a dtype= argument), or
 * 0 when ONNX has none. */
int p2o_dtype_from_torch(int64_t scalar_type);
/* Number of elements when every dim is known, else -1. */
int64_t p2o_numel(const p2o_type *t);
bool p2o_dims_known(const p2o_type *t);

/* ---- dims.c: arithmetic on dims that may be symbolic ---------------------------- */

/* Each gives a number when its operands are numbers, a canonical
 * symbolic dim ("batch*seq", "h+2", "(h-1)/2") when one is symbolic, and
 * unknown when one is unknown. */
p2o_dim p2o_dim_add(p2o_cx *cx, p2o_dim a, p2o_dim b);
p2o_dim p2o_dim_addk(p2o_cx *cx, p2o_dim a, int64_t k);
p2o_dim p2o_dim_mul(p2o_cx *cx, p2o_dim a, p2o_dim b);
/* floor(a / k), k > 0. */
p2o_dim p2o_dim_divk(p2o_cx *cx, p2o_dim a, int64_t k);
/* a / b when b divides a exactly (known to), else unknown. */
p2o_dim p2o_dim_div(p2o_cx *cx, p2o_dim a, p2o_dim b);
/* Equal dims: the same number, or the same symbolic expression. */
bool p2o_dim_eq(p2o_dim a, p2o_dim b);

/* ---- ir.c -------------------------------------------------------------------- */

p2o_val *p2o_v(p2o_cx *cx, uint32_t id);
const p2o_type *p2o_t(p2o_cx *cx, uint32_t id);
/* A new value named after base (made unique). */
uint32_t p2o_val_new(p2o_cx *cx, const char *base, bool named);
/* Registers and returns a unique version of base in the name set. */
const char *p2o_unique_name(p2o_cx *cx, const char *base);
void p2o_set_type(p2o_cx *cx, uint32_t id, int dtype, int rank,
		  const p2o_dim *dims);
/* An initializer holding t (not copied); name may be NULL. */
uint32_t p2o_initializer(p2o_cx *cx, const p2o_tensor *t, const char *name);

/* Node building: new, attributes, done. p2o_node_done runs type inference
 * and returns the first output's id, or P2O_NOVAL on a recorded error. */
uint32_t p2o_node_new(p2o_cx *cx, const char *op, uint32_t n_in,
		      const uint32_t *in, uint32_t n_out);
p2o_node *p2o_n(p2o_cx *cx, uint32_t node);
void p2o_attr_int(p2o_cx *cx, uint32_t node, const char *name, int64_t v);
void p2o_attr_float(p2o_cx *cx, uint32_t node, const char *name, float v);
void p2o_attr_str(p2o_cx *cx, uint32_t node, const char *name, const char *v);
void p2o_attr_ints(p2o_cx *cx, uint32_t node, const char *name,
		   const int64_t *v, size_t n);
void p2o_attr_floats(p2o_cx *cx, uint32_t node, const char *name,
		     const float *v, size_t n);
void p2o_attr_tensor(p2o_cx *cx, uint32_t node, const char *name,
		     const p2o_tensor *t);
const p2o_attr *p2o_attr_get(const p2o_node *n, const char *name);
uint32_t p2o_node_done(p2o_cx *cx, uint32_t node);

/* One-liners for attribute-free single-output ops. */
uint32_t p2o_op1(p2o_cx *cx, const char *op, uint32_t a);
uint32_t p2o_op2(p2o_cx *cx, const char *op, uint32_t a, uint32_t b);

/* ---- emit.c: opset-aware emit helpers ------------------------------------------ */

/* Small constants (cached: equal ones are one initializer). */
uint32_t p2o_const_i64s(p2o_cx *cx, const int64_t *v, size_t n);  /* 1-D */
uint32_t p2o_const_scalar(p2o_cx *cx, int dtype, double v);      /* 0-D */
uint32_t p2o_const_filled(p2o_cx *cx, int dtype, const int64_t *dims,
			  int rank, double v);
uint32_t p2o_cast(p2o_cx *cx, uint32_t x, int dtype);  /* x when same */
uint32_t p2o_unsqueeze(p2o_cx *cx, uint32_t x, const int64_t *axes, size_t n);
uint32_t p2o_squeeze(p2o_cx *cx, uint32_t x, const int64_t *axes, size_t n);
/* Reduce* with axes as attribute or input per opset; n == 0: all axes. */
uint32_t p2o_reduce(p2o_cx *cx, const char *op, uint32_t x,
		    const int64_t *axes, size_t n, bool keepdims);
uint32_t p2o_clip(p2o_cx *cx, uint32_t x, const double *lo, const double *hi);
uint32_t p2o_reshape(p2o_cx *cx, uint32_t x, uint32_t shape);
uint32_t p2o_reshape_to(p2o_cx *cx, uint32_t x, const int64_t *dims, int n);
uint32_t p2o_transpose(p2o_cx *cx, uint32_t x, const int64_t *perm, int n);
/* Dims as values: every size a handler feeds to the graph comes from
 * these, so that no size the user declared symbolic is baked in.
 * The size of dim `axis` of x as a 0-D int64 value (constant if known). */
uint32_t p2o_dim_value(p2o_cx *cx, uint32_t x, int axis);
/* Dims [from, to) of x as a 1-D int64 value: a constant when all are
 * known, else Shape(start, end) (opset 15) or Shape then Gather. */
uint32_t p2o_dims_value(p2o_cx *cx, uint32_t x, int from, int to);
/* A handler-level block: records that this use needs opset >= need. */
int p2o_need_opset(p2o_cx *cx, int need, const char *what);

/* ---- args.c: reading TorchScript node inputs -------------------------------------- */

const pts_value *p2o_pv(p2o_cx *cx, const pts_node *n, uint32_t i);
p2o_tv *p2o_tvin(p2o_cx *cx, const pts_node *n, uint32_t i);
/* The constant behind input i, or NULL when it is not a constant. */
const pts_const *p2o_konst(p2o_cx *cx, const pts_node *n, uint32_t i);
bool p2o_arg_none(p2o_cx *cx, const pts_node *n, uint32_t i);
int p2o_arg_int(p2o_cx *cx, const pts_node *n, uint32_t i, int64_t *v);
int p2o_arg_float(p2o_cx *cx, const pts_node *n, uint32_t i, double *v);
int p2o_arg_bool(p2o_cx *cx, const pts_node *n, uint32_t i, bool *v);
int p2o_arg_str(p2o_cx *cx, const pts_node *n, uint32_t i, const char **v);
/* An int list (or a single int, as one element) of at most max entries. */
int p2o_arg_ints(p2o_cx *cx, const pts_node *n, uint32_t i, int64_t *v,
		 size_t max, size_t *count);
/* Input i as an ONNX tensor value (constants become initializers, numbers
 * 0-D tensors of their own dtype); P2O_NOVAL with a diagnostic on failure. */
uint32_t p2o_arg_tensor(p2o_cx *cx, const pts_node *n, uint32_t i);
/* TorchScript value id as an ONNX tensor value (as p2o_arg_tensor, for
 * values that are not a node input: list items, graph outputs). */
uint32_t p2o_value_tensor(p2o_cx *cx, uint32_t tvid);
/* Input i as a 1-D int64 tensor (an int list, constant or built from
 * dynamic sizes). */
uint32_t p2o_arg_shape(p2o_cx *cx, const pts_node *n, uint32_t i);
/* Whether input i is a number (int/float/bool), not a tensor. */
bool p2o_arg_is_number(p2o_cx *cx, const pts_node *n, uint32_t i);
/* The ONNX dtype a number input i has (int64, float32 or bool). */
int p2o_number_dtype(p2o_cx *cx, const pts_node *n, uint32_t i);
/* Input i as a tensor of dtype (numbers are made directly in that dtype). */
uint32_t p2o_arg_tensor_as(p2o_cx *cx, const pts_node *n, uint32_t i,
			   int dtype);
/* Normalizes a possibly negative dim against rank; diagnostic if out. */
int p2o_norm_dim(p2o_cx *cx, int64_t d, int rank, int64_t *out);

/* Setting node outputs. */
void p2o_set_tensor(p2o_cx *cx, const pts_node *n, uint32_t k, uint32_t id);
void p2o_set_const(p2o_cx *cx, const pts_node *n, uint32_t k,
		   const pts_const *c);
/* Binds output 0 to y; P2O_ERR_CONVERT when y is P2O_NOVAL (its
 * diagnostic already recorded). The usual last line of a handler. */
int p2o_set_result(p2o_cx *cx, const pts_node *n, uint32_t y);
/* Binds output k to a constant number known at conversion time. */
int p2o_set_int(p2o_cx *cx, const pts_node *n, uint32_t k, int64_t v);
int p2o_set_float(p2o_cx *cx, const pts_node *n, uint32_t k, double v);
int p2o_set_bool(p2o_cx *cx, const pts_node *n, uint32_t k, bool v);
pts_const *p2o_new_const(p2o_cx *cx, int kind);

/* ---- infer.c ------------------------------------------------------------------------ */

/* Infers output types of node from its inputs and attributes. */
int p2o_infer(p2o_cx *cx, uint32_t node);

/* ---- registry.c ---------------------------------------------------------------------- */

typedef int (*p2o_handler)(p2o_cx *cx, const pts_node *n);

typedef struct p2o_reg {
	const char *kind;     /* TorchScript op kind */
	int since;            /* first opset this entry applies to */
	p2o_handler fn;       /* NULL: blocked from `since` on */
} p2o_reg;

/* The handler for kind at opset, or NULL. *known tells whether the kind
 * has any entry at all. */
p2o_handler p2o_lookup(const char *kind, int opset, bool *known);
/* Describes at which opsets kind converts ("opsets 9-23", "no handler"). */
const char *p2o_where(p2o_cx *cx, const char *kind);

/* convert.c: converts the nodes of a block in order (prim::If's chosen
 * branch is walked this way). */
void p2o_walk_block(p2o_cx *cx, const pts_block *b);

/* ---- outfile.c: the rules of every file pt2onnx writes ----------------------------- */

/* One output being written. */
typedef struct p2o_out {
	const char *path;   /* as given ("-" for stdout) */
	const char *target; /* the file replaced: path with links followed */
	const char *tmp;    /* temporary file beside target, or NULL */
	int fd;             /* -1 when closed */
	FILE *f;            /* stream over fd (stdout for "-") */
	bool in_place;      /* stdout, a device or a FIFO: never renamed */
} p2o_out;

/* Opens path for writing by the rules of outfile.c; a diagnostic and its
 * code on failure (nothing is left open then). */
int p2o_out_open(p2o_cx *cx, p2o_out *o, const char *path);
/* Finishes: flush, fsync, close, rename into place. werr is an errno the
 * caller met while writing (0 if none): then, or on any failure here, the
 * temporary file is removed and the old file stays as it was. */
int p2o_out_commit(p2o_cx *cx, p2o_out *o, int werr);
/* Gives up: closes and removes the temporary file. */
void p2o_out_abort(p2o_cx *cx, p2o_out *o);

/* ---- passes.c / writer.c ------------------------------------------------------------------- */

void p2o_finalize(p2o_cx *cx);  /* identity removal, dead-code removal */
int p2o_ir_version(int opset);

/* ---- handlers (lib/ops/) ------------------------------------------------------------------- */

#define P2O_HANDLER(name) int p2o_h_##name(p2o_cx *cx, const pts_node *n)
#include "ops/ops.h"

#endif
