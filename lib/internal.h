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
#define P2O_MAX_SPLIT 1024   /* parts one aten::split/chunk may make */

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
	/* ---- aten ---- */
	bool opaque;              /* output of an op exported unconverted
	                             whose dtype/rank are not known: only
	                             other unconverted ops may read it */
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
	const char *const *strs;  /* STRINGS (n of them) */
	const p2o_tensor *t;      /* TENSOR */
} p2o_attr;

enum { P2O_AT_FLOAT = 1, P2O_AT_INT = 2, P2O_AT_STRING = 3, P2O_AT_TENSOR = 4,
       P2O_AT_FLOATS = 6, P2O_AT_INTS = 7, P2O_AT_STRINGS = 8 };

typedef struct p2o_node {
	const char *op;           /* ONNX op_type, default domain */
	const char *name;         /* unique node name */
	uint32_t n_in, n_out, n_attr, cap_attr;
	uint32_t *in;             /* value ids; P2O_NOVAL for omitted inputs */
	uint32_t *out;            /* value ids */
	p2o_attr *attrs;
	bool live;                /* set by the dead-code pass */
	/* ---- report ---- */
	const pts_node *from;     /* the TorchScript node whose handler made
	                             it (cx->cur then), or NULL */
	/* ---- aten ---- */
	const char *domain;       /* NULL: the default domain (ai.onnx) */
	const pts_scope *scope;   /* module call of the TorchScript node it
	                             was made for (cx->cur->scope), or NULL */
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
	/* ---- loop ---- */
	uint32_t *room;           /* LIST made by append: {used, capacity}
	                             of the block items sits in (room + 2),
	                             shared by the copies of this p2o_tv;
	                             NULL otherwise. Appending where n ==
	                             used writes in place, so a loop of
	                             appends stays linear. */
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
	/* One p2o_tv per TorchScript value, then the items of lists made by
	 * handlers (aten::split's parts): chunks that never move, like the
	 * values', so a p2o_tv pointer stays valid as items are added. */
	p2o_tv **tv_chunks;
	uint32_t n_tv, n_tv_chunks, cap_tv_chunks;

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
	/* Temporary files being written, or NULL: [0] the model's, [1] its
	 * external data file's (see p2o_out.slot). */
	const char *volatile pending[P2O_PENDING_MAX];
	char *onnx_text;
	p2o_stats stats;
	/* ---- extdata ---- */
	bool ext_data;            /* --external-data: whatever the size */
	const char *ext_file;     /* its file name, or NULL for the default */
	bool converted;
	/* ---- report ---- */
	const p2o_summary *summary; /* made by p2o_get_summary, arena-owned */
	/* ---- loop ---- */
	/* prim::Loop bodies being unrolled (lib/ops/loop.c): how deep, and
	 * per TorchScript value whether one of those bodies defines it
	 * (arena-owned, n_values entries, made on the first loop). */
	uint32_t loop_depth;
	uint8_t *loop_vals;
	/* ---- loop end ---- */
	/* ---- aten ---- */
	int export_type;          /* enum p2o_export_type */
	/* While a handler runs under aten-fallback/fallthrough, what it
	 * records is held here (trial) instead: an unsupported op falls back
	 * and these are dropped, anything else is recorded after all. */
	bool trial;
	struct p2o_trial { int code; const char *op, *source, *msg; } *trials;
	uint32_t n_trials, cap_trials;
	/* The model's local functions (--export-modules-as-functions), made
	 * by p2o_functions after p2o_finalize. */
	struct p2o_function *functions;
	uint32_t n_functions;
	/* ---- knobs ---- */
	p2o_options knobs;        /* the options of p2o_convert, strings and
	                             arrays copied into the arena */
	bool train;               /* export dropout/batch_norm in training form */
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
void p2o_attr_strs(p2o_cx *cx, uint32_t node, const char *name,
		   const char *const *v, size_t n);
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
/* y = x W^T (+ b): one Gemm for a 2-D x where the opset's Gemm allows (C
 * optional from Gemm-11), else MatMul with a transposed W (and Add). b may
 * be P2O_NOVAL. */
uint32_t p2o_matmul_bt(p2o_cx *cx, uint32_t x, uint32_t w, uint32_t b);
/* x >= y (greater) or x <= y: GreaterOrEqual/LessOrEqual where they exist
 * (12+), else Not(Less)/Not(Greater). */
uint32_t p2o_compare_or_equal(p2o_cx *cx, bool greater, uint32_t x,
			      uint32_t y);
/* PyTorch's gelu (exact or tanh approximation): Gelu where it exists (20+),
 * else its formula over Erf (9+) or Tanh. */
uint32_t p2o_gelu(p2o_cx *cx, uint32_t x, bool tanh_approx);
/* x[starts:ends:steps] along axes (n of each; axes non-negative, bounds
 * may be negative or past the end): Slice with attributes before Slice-10,
 * inputs from it. A step other than 1 before opset 10 is a diagnostic
 * (needs opset 10) and P2O_NOVAL. steps may be NULL (all 1). */
uint32_t p2o_slice(p2o_cx *cx, uint32_t x, const int64_t *starts,
		   const int64_t *ends, const int64_t *axes,
		   const int64_t *steps, size_t n);
/* Constant padding: pads in ONNX order (all begins, then all ends; 2*rank
 * entries), as attributes before Pad-11, inputs from it. Before Pad-11 a
 * non-floating x is a diagnostic (needs opset 11) and P2O_NOVAL. */
uint32_t p2o_pad(p2o_cx *cx, uint32_t x, const int64_t *pads, int rank,
		 double value);
/* Splits x along axis (non-negative) into n parts of the given sizes,
 * their values in outs: Split with a `split` attribute before Split-13, an
 * input from 13, and `num_outputs` from 18 when all sizes are equal.
 * Returns P2O_OK, or the code of a recorded diagnostic. */
int p2o_split(p2o_cx *cx, uint32_t x, int axis, const int64_t *sizes,
	      size_t n, uint32_t *outs);
/* A handler-level block: records that this use needs opset >= need. */
int p2o_need_opset(p2o_cx *cx, int need, const char *what);

/* ---- emit helpers of the unary family ---- */

/* x cast to float32 when it is float64, else x: for ops that ONNX Runtime
 * has no float64 kernel of (Tan, Asin, Erf, Elu, ...), computed in float32
 * and cast back by the caller. */
uint32_t p2o_narrow_f64(p2o_cx *cx, uint32_t x);
/* Splits x (rank known) in two equal halves along axis (non-negative),
 * symbolic length too; their values in outs[0..1]. P2O_OK or the code of a
 * recorded diagnostic. */
int p2o_split_halves(p2o_cx *cx, uint32_t x, int axis, uint32_t *outs);

/* ---- emit helpers of the binary family ---- */

/* (x - mean) * rstd over axes (kept as size-1 dims), the biased variance
 * and rstd = 1 / sqrt(var + eps) in x's dtype, as PyTorch's normalizations
 * compute (lib/ops/norm.c); mean and rstd into *mean_out, *rstd_out when
 * not NULL. */
uint32_t p2o_standardize(p2o_cx *cx, uint32_t x, const int64_t *axes,
			 size_t n, double eps, uint32_t *mean_out,
			 uint32_t *rstd_out);

/* Where(cond, a, b) (opset 9+), for a and b of one dtype, any dtype
 * (computed in a wider one where ONNX Runtime lacks a kernel); P2O_NOVAL
 * in, P2O_NOVAL out. */
uint32_t p2o_select(p2o_cx *cx, uint32_t cond, uint32_t a, uint32_t b);
/* Mod(a, b) (opset 10+): fmod true takes the dividend's sign (C's fmod),
 * false the divisor's (Python's %, integers only in ONNX). */
uint32_t p2o_mod(p2o_cx *cx, uint32_t a, uint32_t b, bool fmod);
/* elementwise.c: the two operands of a binary op (self/other or a/b) as
 * node input positions, and those operands as ONNX tensors of their
 * PyTorch result_type *dt (numbers made in it, tensors cast). */
int p2o_binary_operands(p2o_cx *cx, const pts_node *n, uint32_t *ia,
			uint32_t *ib);
int p2o_binary_promoted(p2o_cx *cx, const pts_node *n, uint32_t ia,
			uint32_t ib, int *dt, uint32_t *a, uint32_t *b);

/* ---- emit helpers of the reduce family ---- */

/* The dtype ONNX Runtime's reductions, ArgMax, CumSum and Where have
 * kernels for that holds dtype exactly: float32 for half floats, int32 for
 * bool and small integers; dtype itself otherwise. */
int p2o_wide_dtype(int dtype);

/* ---- emit helpers of the shape family ---- */

/* The sizes of x with dims [from, to) replaced by the 1-D int64 value mid:
 * a target shape for a Reshape that changes only those dims (the others
 * constants where known, from x's Shape where symbolic). */
uint32_t p2o_dims_around(p2o_cx *cx, uint32_t x, int from, int to,
			 uint32_t mid);

/* The entries of v, a 1-D int64 value of known length (a shape), as
 * TorchScript list items (p2o_tv ids) into items: constants where its
 * contents are known numbers, one Gather each elsewhere. Returns their
 * count, or -1 when v is not such a value, has more than max entries or
 * a Gather failed (with its diagnostic). */
int64_t p2o_int_items(p2o_cx *cx, uint32_t v, uint32_t *items, size_t max);

/* ---- emit helpers of the index family ---- */

/* dim of x normalized into *d; a diagnostic ("WHAT a 0-dim tensor")
 * when x has no dims or an unknown rank, or dim is out of range. */
int p2o_index_dim(p2o_cx *cx, uint32_t x, int64_t dim, const char *what,
		  int64_t *d);
/* Index values for axis `axis` of x, as int64 and with negative ones
 * counted from the end (Gather before 11 and Scatter leave them
 * undefined). */
uint32_t p2o_index_norm(p2o_cx *cx, uint32_t idx, uint32_t x, int axis);
/* TopK of x along axis (non-negative): k is a 1-D int64 value of one item
 * and kconst its number when known (-1 if not). TopK-1 takes k as an
 * attribute (so it must be known), TopK-10 as an input, and only TopK-11
 * has `largest` (smallest-first is a diagnostic below it); ties keep the
 * lower index first. Dtypes ONNX Runtime's TopK lacks go through float or
 * int64. values/indices get the outputs; returns P2O_OK or the code of a
 * recorded diagnostic. */
int p2o_topk(p2o_cx *cx, uint32_t x, int axis, uint32_t k, int64_t kconst,
	     bool largest, uint32_t *values, uint32_t *indices);
/* data with updates written at idx along axis (same shape as idx):
 * Scatter before opset 11, ScatterElements from it; reduction NULL or
 * "add"/"mul" (ScatterElements-16), "max"/"min" (ScatterElements-18). */
uint32_t p2o_scatter_elements(p2o_cx *cx, uint32_t data, uint32_t idx,
			      uint32_t upd, int axis, const char *reduction);

/* ---- emit helpers of the spatial family ---- */

/* Concatenation of n values along axis (non-negative); vals[0] when n is
 * 1, P2O_NOVAL when one of them is. */
uint32_t p2o_concat(p2o_cx *cx, const uint32_t *vals, uint32_t n, int axis);
/* Padding by mode "reflect" or "edge" (pads in ONNX order, all >= 0):
 * Pad-2's attributes (floating x only: else a diagnostic, needs opset
 * 11, and P2O_NOVAL), an input from Pad-11. */
uint32_t p2o_pad_mode(p2o_cx *cx, uint32_t x, const int64_t *pads, int rank,
		      const char *mode);

/* A constant of dtype and dims holding v (one entry per element, row-
 * major), converted to dtype. */
uint32_t p2o_const_data(p2o_cx *cx, int dtype, const int64_t *dims, int rank,
			const double *v);

/* How to resize: PyTorch's interpolation as ONNX Resize attributes. */
typedef struct p2o_resize_how {
	const char *mode;     /* "nearest", "linear", "cubic" */
	const char *coord;    /* coordinate_transformation_mode */
	const char *nearest;  /* nearest_mode (nearest only) */
	const double *scales; /* one per spatial dim, or NULL: by size */
	const int64_t *out;   /* static output sizes per spatial dim, or NULL */
	uint32_t sizes;       /* when no scales: every output dim as a 1-D
	                         int64 value (N and C included) */
} p2o_resize_how;
/* Resizes the spatial dims of x (rank 3-5): Resize with roi, scales and
 * sizes inputs from 11 (empty ones before 13, omitted from 13). Below 11
 * only nearest, asymmetric, floor enlarging by whole factors converts:
 * Resize-10 or Upsample with scales (a size as out/in when it is a whole
 * multiple of a known input); else a diagnostic (needs opset 11) and
 * P2O_NOVAL. */
uint32_t p2o_resize(p2o_cx *cx, uint32_t x, const p2o_resize_how *how);

/* GridSample of x at grid: interp 0 bilinear, 1 nearest, 2 bicubic and
 * padding 0 zeros, 1 border, 2 reflection (PyTorch's numbering), named
 * as the GridSample version in force names them (linear/cubic from
 * 20). */
uint32_t p2o_grid_sample(p2o_cx *cx, uint32_t x, uint32_t grid,
			 int interp, int padding, bool align_corners);

/* ---- emit helpers of the loop family ---- */

/* TorchScript value id to keep in a list as item: id itself, or, when a
 * loop body being unrolled defines it (its p2o_tv is rebound on the next
 * iteration), a new p2o_tv holding its current binding. List builders
 * (prim::ListConstruct, append, insert, __setitem__) store items through
 * it, so a list built across iterations keeps each iteration's value. */
uint32_t p2o_tv_pin(p2o_cx *cx, uint32_t id);
/* The TorchScript name of p2o_tv id, for diagnostics and initializer
 * names: a pinned or handler-made item has none of its own. */
const char *p2o_tv_name(p2o_cx *cx, uint32_t id);

/* ---- emit helpers of the v2 family ---- */

/* Multi-head attention as PyTorch's fused ops compute it (lib/ops/mha.c):
 * qkv_in query/key/value [B, T, E]; proj the packed in-projection weight
 * [3E, E] and bias, the out-projection weight and bias; mask P2O_NOVAL or
 * of mask_type 0 [L, S], 1 [B, S], 2 [B, H, L, S], boolean or additive;
 * weights (may be NULL) gets the attention weights, head-averaged when
 * average. P2O_NOVAL with a diagnostic on failure. */
uint32_t p2o_mha(p2o_cx *cx, const uint32_t qkv_in[3], int64_t e, int64_t h,
		 const uint32_t proj[4], uint32_t mask, int64_t mask_type,
		 uint32_t *weights, bool average);

/* ---- emit helpers of the create family ---- */

/* A tensor of the sizes in shape (1-D int64) filled with v in dtype:
 * ConstantOfShape from opset 9; before, an initializer when the sizes are
 * known now, else a diagnostic (needs opset 9) and P2O_NOVAL. */
uint32_t p2o_constant_of_shape(p2o_cx *cx, uint32_t shape, int dtype, double v);
/* A tensor of the sizes in shape filled with the one element of x (a
 * value known only at run time), cast to dtype. */
uint32_t p2o_filled_with(p2o_cx *cx, uint32_t shape, int dtype, uint32_t x);
/* Random numbers of dtype: normal (mean a, std b) or uniform [a, b), of
 * the sizes in shape or, when like is not P2O_NOVAL, of like's shape:
 * RandomNormal/RandomUniform when the sizes are known now, their Like
 * forms otherwise. */
uint32_t p2o_random(p2o_cx *cx, bool normal, uint32_t shape, uint32_t like,
		    int dtype, double a, double b);
/* An initializer of dtype and dims holding v (numel entries, row-major). */
uint32_t p2o_const_values(p2o_cx *cx, int dtype, const int64_t *dims,
			  int rank, const double *v);


/* ---- aten: --operator-export-type and --export-modules-as-functions ---- */

/* An ONNX local function: one module type's converted body, as its
 * first instance made it. Its nodes are graph nodes taken out of the
 * graph (p2o_node.live false there, in_function true); value names stay
 * those of that instance (unique in the graph, so in the body too), as
 * torch.onnx's are. */
typedef struct p2o_function {
	const char *domain;       /* the module's qualified namespace */
	const char *name;         /* the class name, made distinct per body */
	uint32_t n_in, n_out, n_nodes;
	const uint32_t *in, *out; /* formal inputs/outputs: value ids */
	const p2o_node *body;     /* n_nodes copies of the body's nodes, in
	                             order (their graph slots are reused) */
} p2o_function;

/* Exports TorchScript node n (of kind) unconverted as the export type in
 * force says (ATen node or fallthrough), with a warning that starts with
 * why. Returns true when it did (n's outputs set); false when the type
 * is onnx or n cannot be exported that way, with nothing recorded. */
bool p2o_fallback(p2o_cx *cx, const pts_node *n, const char *kind,
		  const char *why);
/* Whether n reads an opaque value (see p2o_val.opaque): *which gets the
 * input's position. */
bool p2o_reads_opaque(p2o_cx *cx, const pts_node *n, uint32_t *which);
/* Turns module instances of the requested types into local functions:
 * called after p2o_finalize. P2O_OK or a recorded diagnostic's code. */
int p2o_functions(p2o_cx *cx, const p2o_options *opt);

/* ---- args.c: reading TorchScript node inputs -------------------------------------- */

/* By position: for prim:: ops, which have no schema, and as the layer
 * p2o_args builds on (aten:: handlers read arguments by name, below). */

const pts_value *p2o_pv(p2o_cx *cx, const pts_node *n, uint32_t i);
p2o_tv *p2o_tvin(p2o_cx *cx, const pts_node *n, uint32_t i);
/* The constant behind input i, or NULL when it is not a constant. */
const pts_const *p2o_konst(p2o_cx *cx, const pts_node *n, uint32_t i);
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

/* ---- args.c: arguments by schema --------------------------------------------------- */

/* One argument decoded by p2o_args. Which fields are set depends on the
 * type code the handler asked for. */
typedef struct p2o_arg {
	const pts_arg *decl;   /* the schema's argument; NULL when this
	                          overload has no argument of that name */
	int32_t idx;           /* node input position; -1 when the node does
	                          not carry it (the schema default applies) */
	bool none;             /* None, or absent from this overload */
	const pts_const *k;    /* the value when known at conversion time (the
	                          input's constant or the default), else NULL */
	int64_t i;             /* i, b (0/1), dtype (torch ScalarType number) */
	double f;              /* f (ints and bools widened) */
	bool b;                /* b */
	const char *s;         /* s */
	const int64_t *ints;   /* is: the entries (a single int is one) */
	size_t n;              /* is: entry count */
	uint32_t tensor;       /* t, sh: ONNX value id */
	int dtype;             /* dtype: ONNX element type */
} p2o_arg;

/* Decodes the arguments a handler takes, found by NAME in the node's
 * schema (not by position: overloads put them in different places).
 * spec is a space-separated list of NAME:CODE entries, one p2o_arg in out
 * per entry, in spec order:
 *
 *   NAME    an argument name; "self|a" takes the first of the names that
 *           the node's overload has (aten::add.Tensor(self, other) vs
 *           aten::add(a, b))
 *   CODE    t      tensor -> .tensor (constants become initializers)
 *           i      constant int -> .i
 *           is     constant int list (or one int) -> .ints, .n
 *           f      constant number -> .f
 *           b      constant bool -> .b
 *           s      constant string -> .s
 *           dtype  constant ScalarType -> .i (torch) and .dtype (ONNX)
 *           sh     int list, run-time items allowed -> .tensor (1-D int64)
 *           n, v   located only (.idx, .k): a number or anything that the
 *                  handler reads itself
 *   ?       after CODE: None is accepted (.none), and so is an overload
 *           without the argument; without it both are diagnostics
 *
 * Returns P2O_OK, or a code with a diagnostic recorded: a constant
 * argument computed at run time names the argument and says so. */
int p2o_args(p2o_cx *cx, const pts_node *n, const char *spec, p2o_arg *out);
/* Copies a decoded int list (code "is") into v, at most max entries. */
int p2o_arg_ints_to(p2o_cx *cx, const p2o_arg *a, int64_t *v, size_t max,
		    size_t *count);
/* Whether the node's schema is overload ov of its operator. */
bool p2o_overload_is(const pts_node *n, const char *ov);

/* The converter's view of TorchScript value id (P2O_TV: the lvalue). */
p2o_tv *p2o_tvp(p2o_cx *cx, uint32_t id);
#define P2O_TV(cx, id) (*p2o_tvp((cx), (id)))
/* A new, zeroed p2o_tv; returns its id. */
uint32_t p2o_tv_new(p2o_cx *cx);

/* Setting node outputs. */
void p2o_set_tensor(p2o_cx *cx, const pts_node *n, uint32_t k, uint32_t id);
void p2o_set_const(p2o_cx *cx, const pts_node *n, uint32_t k,
		   const pts_const *c);
/* Binds output 0 to y; P2O_ERR_CONVERT when y is P2O_NOVAL (its
 * diagnostic already recorded). The usual last line of a handler. */
int p2o_set_result(p2o_cx *cx, const pts_node *n, uint32_t y);
/* Binds output k to a list of the ONNX tensors vals (a multi-output op's
 * results, as aten::split's Tensor[]); each item gets a p2o_tv of its
 * own. */
void p2o_set_tensor_list(p2o_cx *cx, const pts_node *n, uint32_t k,
			 const uint32_t *vals, uint32_t count);
/* Binds output k to a constant number known at conversion time. */
int p2o_set_int(p2o_cx *cx, const pts_node *n, uint32_t k, int64_t v);
int p2o_set_float(p2o_cx *cx, const pts_node *n, uint32_t k, double v);
int p2o_set_bool(p2o_cx *cx, const pts_node *n, uint32_t k, bool v);
pts_const *p2o_new_const(p2o_cx *cx, int kind);

/* ---- infer.c ------------------------------------------------------------------------ */

/* Infers output types of node from its inputs and attributes, by the rule
 * of its row in the ONNX operator table (onnx_ops.def). An op that does not
 * exist at cx->opset, or has no rule, is an internal diagnostic. */
int p2o_infer(p2o_cx *cx, uint32_t node);
/* The version of ONNX op `op` in force at cx->opset (the highest version
 * <= opset of onnx_ops.def), or 0 when the op does not exist there. Emit
 * helpers choose an op's form from it. */
int p2o_onnx_version(p2o_cx *cx, const char *op);
/* Checks the ONNX operator table's order and versions; records an
 * internal diagnostic when broken. */
int p2o_onnx_check(p2o_cx *cx);

/* ---- registry.c ---------------------------------------------------------------------- */

typedef int (*p2o_handler)(p2o_cx *cx, const pts_node *n);

typedef struct p2o_reg {
	const char *kind;     /* TorchScript op kind */
	int since;            /* first opset this entry applies to */
	p2o_handler fn;       /* NULL: blocked from `since` on */
	const char *name;     /* the handler's name in ops.def, or NULL */
} p2o_reg;

/* The handler for kind at opset, or NULL. *known tells whether the kind
 * has any entry at all. */
p2o_handler p2o_lookup(const char *kind, int opset, bool *known);
/* Why kind does not convert at cx->opset: "needs opset 9 or later (target
 * is 7)" below its first row, else the opsets where it converts. */
const char *p2o_where(p2o_cx *cx, const char *kind);
/* The ops.def name of handler fn ("conv"), or NULL. */
const char *p2o_handler_name(p2o_handler fn);
/* The handler a node of kind converts with at cx->opset (an in-place
 * kind's pure form's when it has none of its own), or NULL (convert.c). */
p2o_handler p2o_find_handler(p2o_cx *cx, const char *kind, bool *inplace,
			     const char **table_kind);
/* Checks the op table's order (kind, then since; no duplicate rows), which
 * lookups rely on; records an internal diagnostic when it is broken. */
int p2o_registry_check(p2o_cx *cx);

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
	int slot;           /* which cx->pending[] announces tmp: 0 (the
			       model, the default), 1 (its data file) */
} p2o_out;

/* Opens path for writing by the rules of outfile.c; a diagnostic and its
 * code on failure (nothing is left open then). */
int p2o_out_open(p2o_cx *cx, p2o_out *o, const char *path);
/* The same for the pending slot `slot` (p2o_out_open is slot 0). */
int p2o_out_open_slot(p2o_cx *cx, p2o_out *o, const char *path, int slot);
/* Finishes: flush, fsync, close, rename into place. werr is an errno the
 * caller met while writing (0 if none): then, or on any failure here, the
 * temporary file is removed and the old file stays as it was. */
int p2o_out_commit(p2o_cx *cx, p2o_out *o, int werr);
/* Gives up: closes and removes the temporary file. */
void p2o_out_abort(p2o_cx *cx, p2o_out *o);
/* Finishes a model (m) and its external data file (d) as one: both are
 * flushed and made durable, then renamed into place with signals held
 * off, data first; when the model's rename fails, the data file's is
 * undone (the old data file comes back). werr_m/werr_d as for
 * p2o_out_commit. Either both files are replaced or neither. */
int p2o_out_commit_pair(p2o_cx *cx, p2o_out *m, int werr_m, p2o_out *d,
			int werr_d);

/* ---- passes.c / writer.c ------------------------------------------------------------------- */

void p2o_finalize(p2o_cx *cx);  /* identity removal, dead-code removal */
int p2o_ir_version(int opset);

/* ---- handlers (lib/ops/) ------------------------------------------------------------------- */

#define P2O_HANDLER(name) int p2o_h_##name(p2o_cx *cx, const pts_node *n)
#include "ops/ops.h"

/* ---- knobs ---- */
/* knobs.c: torch.onnx.export's parameters beyond the walk. */
/* Keeps opt's knob fields (strings copied) in cx->knobs; validates. */
int p2o_take_knobs(p2o_cx *cx, const p2o_options *opt);
/* --no-export-params: the weights' initializers become graph inputs. */
int p2o_params_as_inputs(p2o_cx *cx);
/* Folds nodes of constant inputs into initializers (after Identity
 * removal, before dead-code removal); a no-op with no_constant_folding. */
void p2o_fold(p2o_cx *cx);
/* Whether nd's outputs were all folded (the dead-code pass drops it). */
bool p2o_folded(p2o_cx *cx, const p2o_node *nd);
/* Merges equal live initializers (after dead-code removal). */
void p2o_dedup(p2o_cx *cx);
/* emit.c: a hash of t's dtype, dims and bytes; whether a and b are equal
 * in those (the small-constant cache and the deduplication). */
uint64_t p2o_tensor_hash(const p2o_tensor *t);
bool p2o_tensor_eq(const p2o_tensor *a, const p2o_tensor *b);
/* nd's name from its module path, for --node-names (unique). */
const char *p2o_scoped_node_name(p2o_cx *cx, const p2o_node *nd);

#endif
