/* cmdline.c — fuzz harness for the command line: the fuzz input is split
 * on NUL bytes into argv and handed to the real main() of cmd/pt2onnx.c
 * (compiled into this harness with -Dmain=pt2onnx_main). Each piece is
 * also given to p2o_parse_input_spec() directly, so that the --input-shape
 * grammar is fuzzed even where getopt would not reach it.
 *
 *   cmdline SCRATCH MODEL [INPUT]   (AFL: the input on stdin)
 *
 * Where files may be written: a command line is free to say `-o X`, so
 * every run happens in a fresh folder made under SCRATCH, holding only a
 * hard link `model.pt` to MODEL, and removed afterwards. An argument with
 * a '/' is dropped before it reaches argv, so no path can leave that
 * folder (`..` alone names a folder, which pt2onnx refuses to write).
 * The conversion runs unsupervised (PT2ONNX_SUPERVISE=0) in a child of
 * the harness: a crash there is re-raised here, for AFL to see. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pt2onnx.h"

#ifndef __AFL_INIT
#define __AFL_INIT() do { } while (0)
#endif

int pt2onnx_main(int argc, char **argv);

enum { INPUT_CAP = 1 << 16, ARGS_CAP = 256 };

static size_t read_all(FILE *f, char *buf, size_t cap)
{
	size_t n = 0, got;
	while (n < cap && (got = fread(buf + n, 1, cap - n, f)) > 0)
		n += got;
	return n;
}

/* Removes the run folder: pt2onnx makes plain files only. */
static void remove_run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s SCRATCH MODEL [INPUT]\n", argv[0]);
		return 2;
	}
	const char *scratch = argv[1];
	char *model = realpath(argv[2], NULL);
	if (!model || chdir(scratch) != 0) {
		perror(argv[0]);
		return 2;
	}
	setenv("PT2ONNX_SUPERVISE", "0", 1);
	/* libtorch's shim is opened on demand; under AFL it must be open
	 * before the fork server starts (an instrumented library dlopen'ed
	 * later aborts the run), and each exec then skips its start-up. */
	char err[512];
	if (p2o_load_torch(err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err);
		return 2;
	}
	__AFL_INIT();

	static char buf[INPUT_CAP + 1];
	FILE *in = argc == 4 ? fopen(argv[3], "rb") : stdin;
	if (!in) {
		perror(argv[3]);
		return 2;
	}
	size_t n = read_all(in, buf, INPUT_CAP);
	buf[n] = '\0';

	/* argv: "pt2onnx", then each NUL-separated piece without a '/'. */
	static char *args[ARGS_CAP + 1];
	int nargs = 0;
	args[nargs++] = "pt2onnx";
	for (size_t i = 0; i < n && nargs < ARGS_CAP; i += strlen(buf + i) + 1) {
		char *piece = buf + i;
		p2o_input_spec spec;
		char err[128];
		p2o_parse_input_spec(piece, &spec, err, sizeof err);
		if (!strchr(piece, '/'))
			args[nargs++] = piece;
	}
	args[nargs] = NULL;

	char dir[] = "run.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	char link_path[64];
	snprintf(link_path, sizeof link_path, "%s/model.pt", dir);
	if (link(model, link_path) != 0) {
		perror("link");
		remove_run_dir(dir);
		return 2;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* AFL kills us on a hang */
		if (chdir(dir) != 0 || !freopen("/dev/null", "w", stdout))
			_exit(2);
		_exit(pt2onnx_main(nargs, args));
	}
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0)
		;
	remove_run_dir(dir);
	if (pid > 0 && WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
	}
	_exit(pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 2);
}
