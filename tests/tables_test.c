/* tables_test.c — checks, below the CLI, what no correct handler can show:
 * that emitting an ONNX op the target opset lacks (or one without a type
 * rule) is an internal diagnostic and P2O_NOVAL, not an abort; and that
 * the ONNX operator table gives the versions of the ONNX changelog for the
 * ops whose form the emit helpers switch on. With the argument "dims":
 * that arithmetic on symbolic dims (lib/dims.c) is canonical, so equal
 * expressions are equal dims. Built by `make test`
 * (build/tests/tables_test), run by tests/tables.bats. Prints one line per
 * failed check and exits 1 if any failed. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int failed;

static void expect(bool ok, const char *what)
{
	if (!ok) {
		printf("FAIL: %s\n", what);
		failed = 1;
	}
}

/* The message of the newest diagnostic, or "". */
static const char *last_message(p2o_ctx *cx)
{
	size_t n = p2o_diag_count(cx);
	return n ? p2o_diag_at(cx, n - 1)->message : "";
}

static int last_code(p2o_ctx *cx)
{
	size_t n = p2o_diag_count(cx);
	return n ? p2o_diag_at(cx, n - 1)->code : P2O_OK;
}

/* Emitting op at opset must fail with exactly msg, code internal. */
static void expect_refused(p2o_ctx *cx, uint32_t x, const char *op,
			   int opset, const char *msg)
{
	char what[256];
	cx->opset = opset;
	size_t before = p2o_diag_count(cx);
	uint32_t y = p2o_op1(cx, op, x);
	snprintf(what, sizeof what, "%s at opset %d refused: '%s'", op, opset,
		 msg);
	expect(y == P2O_NOVAL && p2o_diag_count(cx) == before + 1 &&
	       last_code(cx) == P2O_ERR_INTERNAL &&
	       strcmp(last_message(cx), msg) == 0, what);
	if (failed && p2o_diag_count(cx) > before)
		printf("  got: %s\n", last_message(cx));
}

/* versions[o - 7] is op's version at opset o, 7..23. */
static void expect_versions(p2o_ctx *cx, const char *op, const int *versions)
{
	for (int o = 7; o <= 23; o++) {
		cx->opset = o;
		int v = p2o_onnx_version(cx, op);
		if (v != versions[o - 7]) {
			printf("FAIL: %s at opset %d: version %d, want %d\n",
			       op, o, v, versions[o - 7]);
			failed = 1;
		}
	}
}

static p2o_dim sym(const char *s)
{
	return (p2o_dim){ -1, s };
}

static p2o_dim num(int64_t v)
{
	return (p2o_dim){ v, NULL };
}

/* d must be the symbolic dim text want ("" for unknown), or number want_v. */
static void expect_dim(p2o_dim d, const char *want, int64_t want_v,
		       const char *what)
{
	bool ok = want ? (d.v < 0 && (d.sym ? strcmp(d.sym, want) == 0 :
					      want[0] == '\0')) :
			 d.v == want_v;
	if (!ok) {
		printf("FAIL: %s: got %s (%lld), want %s (%lld)\n", what,
		       d.sym ? d.sym : "-", (long long)d.v, want ? want : "-",
		       (long long)want_v);
		failed = 1;
	}
}

static void dims_checks(p2o_ctx *cx)
{
	p2o_dim b = sym("B"), h = sym("H"), w = sym("W"), u = { -1, NULL };
	/* Products and sums are canonical: order does not matter. */
	expect_dim(p2o_dim_mul(cx, b, h), "B*H", 0, "B*H");
	expect_dim(p2o_dim_mul(cx, h, b), "B*H", 0, "H*B");
	expect_dim(p2o_dim_mul(cx, num(3), b), "3*B", 0, "3*B");
	expect_dim(p2o_dim_mul(cx, p2o_dim_mul(cx, b, num(2)), num(3)), "6*B", 0,
		   "(B*2)*3");
	expect_dim(p2o_dim_add(cx, h, sym("L")), "H+L", 0, "H+L");
	expect_dim(p2o_dim_add(cx, sym("L"), h), "H+L", 0, "L+H");
	expect_dim(p2o_dim_add(cx, h, h), "2*H", 0, "H+H");
	expect_dim(p2o_dim_addk(cx, p2o_dim_addk(cx, h, 2), -2), "H", 0,
		   "H+2-2");
	expect_dim(p2o_dim_addk(cx, h, -1), "H-1", 0, "H-1");
	/* Numbers stay numbers; unknown stays unknown; 0 absorbs. */
	expect_dim(p2o_dim_mul(cx, num(4), num(5)), NULL, 20, "4*5");
	expect_dim(p2o_dim_mul(cx, b, u), "", 0, "B*unknown");
	expect_dim(p2o_dim_mul(cx, u, num(0)), NULL, 0, "unknown*0");
	/* Floor division: exact when every coefficient divides. */
	expect_dim(p2o_dim_divk(cx, p2o_dim_mul(cx, num(4), b), 2), "2*B", 0,
		   "4*B/2");
	p2o_dim conv = p2o_dim_addk(cx, p2o_dim_divk(cx, p2o_dim_addk(cx, h, -1),
						     2), 1);
	expect_dim(conv, "(H-1)/2+1", 0, "(H-1)/2+1");
	expect(p2o_dim_eq(conv, sym("(H-1)/2+1")), "conv dim equals its text");
	/* Exact division (reshape's -1): B*H*W / (H*W) is B; not exact is
	 * unknown. */
	p2o_dim bhw = p2o_dim_mul(cx, p2o_dim_mul(cx, b, h), w);
	expect_dim(p2o_dim_div(cx, bhw, p2o_dim_mul(cx, w, h)), "B", 0,
		   "B*H*W/(W*H)");
	expect_dim(p2o_dim_div(cx, p2o_dim_mul(cx, num(60), b), num(20)), "3*B",
		   0, "60*B/20");
	expect_dim(p2o_dim_div(cx, p2o_dim_mul(cx, num(6), b), num(4)), "", 0,
		   "6*B/4");
	expect_dim(p2o_dim_div(cx, bhw, sym("L")), "", 0, "B*H*W/L");
	/* Products of sums expand, and like terms merge. */
	p2o_dim a1 = p2o_dim_addk(cx, h, 1);
	expect_dim(p2o_dim_mul(cx, a1, a1), "2*H+H*H+1", 0, "(H+1)*(H+1)");
	expect(!p2o_dim_eq(b, h) && p2o_dim_eq(b, sym("B")) &&
		       !p2o_dim_eq(u, u),
	       "dim equality: same text, never unknown");
}

int main(int argc, char **argv)
{
	p2o_ctx *cx = p2o_new();
	jmp_buf oom;
	if (!cx || setjmp(oom)) {
		puts("FAIL: out of memory");
		return 1;
	}
	cx->oom = &oom;
	if (argc > 1 && strcmp(argv[1], "dims") == 0) {
		dims_checks(cx);
		cx->oom = NULL;
		p2o_free(cx);
		if (!failed)
			puts("ok");
		return failed;
	}
	cx->opset = 17;
	expect(p2o_onnx_check(cx) == P2O_OK, "ONNX operator table in order");
	expect(p2o_registry_check(cx) == P2O_OK, "op table in order");

	uint32_t x = p2o_val_new(cx, "x", true);
	p2o_dim d[1] = { { 4, NULL } };
	p2o_set_type(cx, x, P2O_FLOAT, 1, d);

	expect_refused(cx, x, "Gelu", 17,
		       "internal: ONNX op Gelu does not exist at opset 17");
	expect_refused(cx, x, "Erf", 8,
		       "internal: ONNX op Erf does not exist at opset 8");
	expect_refused(cx, x, "Upsample", 10,
		       "internal: ONNX op Upsample does not exist at opset 10");
	expect_refused(cx, x, "NoSuchOp", 23,
		       "internal: ONNX op NoSuchOp does not exist at opset 23");
	expect_refused(cx, x, "BlackmanWindow", 17,
		       "internal: ONNX op BlackmanWindow has no type-inference rule");
	cx->opset = 20;
	expect(p2o_op1(cx, "Gelu", x) != P2O_NOVAL, "Gelu at opset 20 emitted");
	cx->opset = 9;
	expect(p2o_op1(cx, "Erf", x) != P2O_NOVAL, "Erf at opset 9 emitted");

	/* From the ONNX changelog (docs/Changelog.md): each op's version at
	 * opsets 7..23, 0 where it does not exist. */
	static const struct {
		const char *op;
		int v[17];
	} want[] = {
		{ "Clip", { 6, 6, 6, 6, 11, 12, 13, 13, 13, 13, 13, 13, 13, 13,
			    13, 13, 13 } },
		{ "Squeeze", { 1, 1, 1, 1, 11, 11, 13, 13, 13, 13, 13, 13, 13,
			       13, 21, 21, 23 } },
		{ "Unsqueeze", { 1, 1, 1, 1, 11, 11, 13, 13, 13, 13, 13, 13, 13,
				 13, 21, 21, 23 } },
		{ "ReduceSum", { 1, 1, 1, 1, 11, 11, 13, 13, 13, 13, 13, 13, 13,
				 13, 13, 13, 13 } },
		{ "ReduceMean", { 1, 1, 1, 1, 11, 11, 13, 13, 13, 13, 13, 18, 18,
				  18, 18, 18, 18 } },
		{ "Slice", { 1, 1, 1, 10, 11, 11, 13, 13, 13, 13, 13, 13, 13, 13,
			     13, 13, 13 } },
		{ "Split", { 2, 2, 2, 2, 11, 11, 13, 13, 13, 13, 13, 18, 18, 18,
			     18, 18, 18 } },
		{ "Pad", { 2, 2, 2, 2, 11, 11, 13, 13, 13, 13, 13, 18, 19, 19,
			   21, 21, 23 } },
		{ "Gelu", { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 20, 20,
			    20 } },
		{ "LayerNormalization", { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 17,
					  17, 17, 17, 17, 17 } },
		{ "Upsample", { 7, 7, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				0 } },
		{ "GreaterOrEqual", { 0, 0, 0, 0, 0, 12, 12, 12, 12, 16, 16, 16,
				      16, 16, 16, 16, 16 } },
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		expect_versions(cx, want[i].op, want[i].v);

	cx->oom = NULL;
	p2o_free(cx);
	if (!failed)
		puts("ok");
	return failed;
}
