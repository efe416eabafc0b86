/* tables_test.c — checks, below the CLI, what no correct handler can show:
 * that emitting an ONNX op the target opset lacks (or one without a type
 * rule) is an internal diagnostic and P2O_NOVAL, not an abort; and that
 * the ONNX operator table gives the versions of the ONNX changelog for the
 * ops whose form the emit helpers switch on. Built by `make test`
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

int main(void)
{
	p2o_ctx *cx = p2o_new();
	jmp_buf oom;
	if (!cx || setjmp(oom)) {
		puts("FAIL: out of memory");
		return 1;
	}
	cx->oom = &oom;
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
	expect_refused(cx, x, "Acos", 17,
		       "internal: ONNX op Acos has no type-inference rule");
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
