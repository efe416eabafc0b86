/* load.c — fuzz harness for the archive loader: one file, loaded through
 * lib (p2o_load, i.e. the shim's pts_load) and, when it loads, converted
 * (p2o_convert) with a default input shape and written to /dev/null.
 *
 *   load FILE...     (AFL: load @@)
 *
 * Built with afl-clang-fast by `make fuzz`, it uses AFL's deferred fork
 * server: libtorch's start-up (shared objects, operator registration,
 * a first archive load) happens once, before __AFL_INIT(), and every
 * exec forks from there. Built with plain cc (`make fuzz-replay`), the
 * same file replays a corpus: each FILE in turn, no forking, so the
 * regression pass needs no afl++. A crash is the harness dying; every
 * refusal is a normal return. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pt2onnx.h"

#ifndef __AFL_INIT
#define __AFL_INIT() do { } while (0)
#endif

/* A shape most fixtures take (one 4-D float input); a model wanting
 * another one is refused by p2o_convert, which is a normal outcome. */
static const char *const default_shapes[] = { "1x3x8x8" };

static int run(const char *path)
{
	p2o_input_spec spec;
	char err[256];
	if (p2o_parse_input_spec(default_shapes[0], &spec, err, sizeof err))
		return 1;
	p2o_options opt = { .opset = P2O_OPSET_DEFAULT, .inputs = &spec,
			    .n_inputs = 1 };
	p2o_ctx *cx = p2o_new();
	if (!cx)
		return 1;
	int code = p2o_load(cx, path, &opt);
	if (code == P2O_OK)
		code = p2o_convert(cx, &opt);
	if (code == P2O_ERR_INPUTS) {
		/* The model takes no 4-D input: try with no shape given, so
		 * that conversion still runs (forward() defaults, no inputs). */
		opt.n_inputs = 0;
		p2o_free(cx);
		if (!(cx = p2o_new()))
			return 1;
		code = p2o_load(cx, path, &opt);
		if (code == P2O_OK)
			code = p2o_convert(cx, &opt);
	}
	if (code == P2O_OK)
		code = p2o_write(cx, "-");
	/* Every diagnostic must be a readable line: touch them all. */
	size_t total = 0;
	for (size_t i = 0; i < p2o_diag_count(cx); i++)
		total += strlen(p2o_diag_at(cx, i)->message);
	p2o_free(cx);
	fprintf(stderr, "%s: status %d (%s), %zu bytes of diagnostics\n",
		path, code, p2o_strerror(code), total);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ARCHIVE...\n", argv[0]);
		return 2;
	}
	/* The model goes to stdout: nowhere. */
	if (!freopen("/dev/null", "w", stdout))
		return 1;
	/* Warm-up before the fork server: load libtorch's lazy parts with
	 * a valid archive, when one is named (FUZZ_WARMUP). */
	const char *warm = getenv("FUZZ_WARMUP");
	if (warm && *warm) {
		p2o_ctx *cx = p2o_new();
		if (cx) {
			p2o_options opt = { .opset = P2O_OPSET_DEFAULT };
			p2o_load(cx, warm, &opt);
			p2o_free(cx);
		}
	}
	__AFL_INIT();
	for (int i = 1; i < argc; i++)
		if (run(argv[i]))
			return 1;
	fflush(stdout);
	fflush(stderr);
	_exit(0); /* skip libtorch's static destructors, as the CLI does */
}
