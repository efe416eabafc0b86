/* pt2onnx.c — the command: options, messages, exit codes. All conversion
 * work is lib/'s (through pt2onnx.h); this file only talks to the user. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pt2onnx.h"

/* Exit statuses (documented in man/pt2onnx.1; never renumbered). */
enum {
	EXIT_OK = 0,
	EXIT_INTERNAL = 1,    /* internal error or out of memory */
	EXIT_USAGE = 2,       /* bad options, shapes or names */
	EXIT_MODEL = 3,       /* the model cannot be read or is not TorchScript */
	EXIT_UNSUPPORTED = 4, /* ops or shapes that cannot be converted */
	EXIT_OUTPUT = 5,      /* the output cannot be written */
};

static const char *prog = "pt2onnx";
static int quiet;
static p2o_ctx *volatile active; /* for the signal handler */
static bool show_progress;      /* stderr is a terminal and not -q */

/* The conversion runs in a forked worker, so that a crash inside libtorch
 * (whose unpickler can corrupt its heap on a damaged archive) becomes an
 * error message and an exit status instead of a core dump. The worker
 * tells the supervisor what it is doing through this shared page. */
enum { PHASE_START, PHASE_LOADING, PHASE_CONVERTING, PHASE_WRITING };
struct shared_state {
	volatile sig_atomic_t phase;
	char tmp[4096]; /* the worker's temporary output file, if any */
};
static struct shared_state *shared;
static volatile pid_t worker;

/* Interrupted while writing: remove the temporary file, then die of the
 * same signal. */
static void on_signal(int sig)
{
	p2o_ctx *cx = active;
	const char *tmp = cx ? p2o_pending_path(cx) : NULL;
	if (tmp)
		unlink(tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void help(void)
{
	printf("usage: %s MODEL.pt [-o OUT.onnx|-] [--opset N] "
	       "[-s DIMS[:DTYPE]]... [options]\n", prog);
	printf("\nConvert a TorchScript archive (torch.jit.save) to an ONNX model.\n"
	       "\n"
	       "Options:\n"
	       "  -o, --output FILE            where to write the model (default: MODEL\n"
	       "                               with .onnx for .pt; '-' writes to stdout)\n"
	       "      --opset N                ONNX opset to target, %d-%d (default %d)\n"
	       "  -s, --input-shape DIMS[:DTYPE]\n"
	       "                               shape of one forward() input; give it once\n"
	       "                               per input, in order. DIMS: 1x3x224x224,\n"
	       "                               a dim may be a symbol (batchx3x224x224, or\n"
	       "                               batch,3,224,224). DTYPE: float32 (default),\n"
	       "                               float16, float64, bfloat16, int64, int32,\n"
	       "                               int16, int8, uint8, bool\n"
	       "      --input-names A,B        names of the ONNX inputs (default: the\n"
	       "                               forward() parameter names)\n"
	       "      --output-names Y,Z       names of the ONNX outputs (default: output,\n"
	       "                               or output_0, output_1, ...)\n"
	       "  -q, --quiet                  print errors only\n"
	       "  -v, --verbose                also print the TorchScript graph and the\n"
	       "                               ONNX graph (to stderr)\n"
	       "      --list-ops               list the TorchScript ops pt2onnx converts,\n"
	       "                               with their opsets\n"
	       "      --version                print versions and the opset range\n"
	       "  -h, --help                   print this help\n"
	       "\n"
	       "Exit status: 0 success, 1 internal error, 2 usage error, 3 unreadable or\n"
	       "invalid model, 4 unsupported ops or shapes, 5 output not writable.\n"
	       "\n"
	       "Example:\n"
	       "  %s resnet18.pt -o resnet18.onnx --opset 17 -s 1x3x224x224\n",
	       P2O_OPSET_MIN, P2O_OPSET_MAX, P2O_OPSET_DEFAULT, prog);
}

static int error(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int error(int status, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static int exit_status(int code)
{
	switch (code) {
	case P2O_OK: return EXIT_OK;
	case P2O_ERR_USAGE: case P2O_ERR_INPUTS: return EXIT_USAGE;
	case P2O_ERR_OPEN: case P2O_ERR_MODEL: return EXIT_MODEL;
	case P2O_ERR_UNSUPPORTED: case P2O_ERR_CONVERT: return EXIT_UNSUPPORTED;
	case P2O_ERR_OUTPUT: return EXIT_OUTPUT;
	default: return EXIT_INTERNAL;
	}
}

/* Prints what the library recorded. A single problem is one line; several
 * (every unsupported op of the model) are a header plus one line each. */
static int report(p2o_ctx *cx, int code, const char *model, int opset)
{
	size_t n = p2o_diag_count(cx);
	if (n == 0)
		return error(exit_status(code), "%s", p2o_strerror(code));
	if (n == 1 && !p2o_diag_at(cx, 0)->op) {
		return error(exit_status(code), "%s", p2o_diag_at(cx, 0)->message);
	}
	unsigned total = 0;
	for (size_t i = 0; i < n; i++)
		total += p2o_diag_at(cx, i)->count;
	fprintf(stderr, "%s: error: %s: %zu problem%s (%u node%s) prevent%s "
			"conversion at opset %d:\n",
		prog, model, n, n == 1 ? "" : "s", total, total == 1 ? "" : "s",
		n == 1 ? "s" : "", opset);
	for (size_t i = 0; i < n; i++) {
		const p2o_diag *d = p2o_diag_at(cx, i);
		fprintf(stderr, "  %s", d->op ? d->op : "(graph)");
		if (d->count > 1 || d->source) {
			fprintf(stderr, " (");
			if (d->count > 1)
				fprintf(stderr, "x%u%s", d->count,
					d->source ? ", first " : "");
			if (d->source)
				fprintf(stderr, "at %s", d->source);
			fprintf(stderr, ")");
		}
		fprintf(stderr, ": %s\n", d->message);
	}
	return exit_status(code);
}

/* Splits a comma list into a NULL-terminated array; NULL on an empty name. */
static char **split_names(char *s, size_t *count)
{
	size_t n = 1;
	for (char *c = s; *c; c++)
		n += *c == ',';
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return NULL;
	size_t k = 0;
	char *p = s;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!*p) {
			free(v);
			return NULL;
		}
		v[k++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	*count = k;
	return v;
}

static char *default_output(const char *model)
{
	size_t len = strlen(model);
	char *out = malloc(len + 6);
	if (!out)
		return NULL;
	strcpy(out, model);
	char *dot = strrchr(out, '.');
	char *slash = strrchr(out, '/');
	if (dot && (!slash || dot > slash) &&
	    (strcmp(dot, ".pt") == 0 || strcmp(dot, ".pth") == 0 ||
	     strcmp(dot, ".ptl") == 0 || strcmp(dot, ".torchscript") == 0))
		*dot = '\0';
	strcat(out, ".onnx");
	return out;
}

/* Fails fast, before a long conversion, when the output cannot be made. */
static int check_output(const char *path)
{
	if (strcmp(path, "-") == 0)
		return EXIT_OK;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return error(EXIT_OUTPUT, "cannot write output '%s': it is a "
					  "directory", path);
	char *copy = strdup(path);
	if (!copy)
		return error(EXIT_INTERNAL, "out of memory");
	const char *dir = dirname(copy);
	int rc = EXIT_OK;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		rc = error(EXIT_OUTPUT, "cannot write output '%s': folder '%s' "
					"does not exist", path, dir);
	else if (access(dir, W_OK | X_OK) != 0)
		rc = error(EXIT_OUTPUT, "cannot write output '%s': folder '%s' "
					"is not writable (%s)", path, dir,
			   strerror(errno));
	free(copy);
	return rc;
}

/* "812 B", "3.4 KiB", "97.4 MiB", "1.2 GiB". */
static const char *human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static void progress(void *user, const char *stage, uint64_t done,
		     uint64_t total)
{
	(void)user;
	if (shared && active && done == 0) {
		const char *tmp = p2o_pending_path(active);
		if (tmp)
			snprintf(shared->tmp, sizeof shared->tmp, "%s", tmp);
	}
	if (!show_progress)
		return;
	if (total)
		fprintf(stderr, "\r%s: %s %llu/%llu\033[K", prog, stage,
			(unsigned long long)done, (unsigned long long)total);
	else
		fprintf(stderr, "\r%s: %s...\033[K", prog, stage);
}

static void progress_done(void)
{
	fprintf(stderr, "\r\033[K");
}

static void set_phase(int phase)
{
	if (shared)
		shared->phase = phase;
}

static void forward_signal(int sig)
{
	if (worker > 0)
		kill(worker, sig);
}

/* What the worker printed to stderr, held back by the supervisor until the
 * worker ends: a worker that dies of a signal may have printed glibc's or
 * libtorch's own last words ("malloc(): corrupted top size"), which are
 * dropped for our one-line message. */
struct held {
	char *buf;  /* bytes not yet forwarded */
	size_t len; /* bytes in buf */
	size_t cap; /* allocated size of buf */
};

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* stderr is gone: nothing better to do */
		p += w;
		n -= (size_t)w;
	}
}

/* Takes one chunk the worker wrote. A progress update ("\r..." with no
 * newline, written by one fprintf) goes out at once so that the display
 * stays live; anything else waits for the worker's end. */
static void hold(struct held *h, const char *p, size_t n)
{
	if (h->len == 0 && n > 0 && p[0] == '\r' && !memchr(p, '\n', n)) {
		write_all(STDERR_FILENO, p, n);
		return;
	}
	if (h->len + n > h->cap) {
		size_t cap = h->cap ? h->cap : 4096;
		while (cap < h->len + n)
			cap *= 2;
		char *nb = realloc(h->buf, cap);
		if (!nb) {
			/* No room to hold it: pass it on, as before. */
			write_all(STDERR_FILENO, h->buf, h->len);
			write_all(STDERR_FILENO, p, n);
			h->len = 0;
			return;
		}
		h->buf = nb;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
}

/* Forks the worker. Returns -1 in the worker (go on converting), or the
 * exit status for the supervisor. Without fork or shared memory the
 * conversion runs unsupervised, in this process. */
static int supervise(const char *model)
{
	const char *env = getenv("PT2ONNX_SUPERVISE");
	if (env && strcmp(env, "0") == 0)
		return -1; /* one process: for debuggers and memory accounting */
	void *p = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	int err_pipe[2];
	if (pipe(err_pipe) != 0) {
		munmap(p, sizeof *shared);
		return -1;
	}
	shared = p;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		munmap(p, sizeof *shared);
		shared = NULL;
		close(err_pipe[0]);
		close(err_pipe[1]);
		return -1;
	}
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none); /* the supervisor reports it */
		close(err_pipe[0]);
		if (dup2(err_pipe[1], STDERR_FILENO) < 0)
			_exit(EXIT_INTERNAL);
		close(err_pipe[1]);
		return -1;
	}
	close(err_pipe[1]);
	worker = pid;
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);
	/* The worker's stderr until it closes (it exits, or dies). */
	struct held h = { 0 };
	char chunk[4096];
	for (;;) {
		ssize_t n = read(err_pipe[0], chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		hold(&h, chunk, (size_t)n);
	}
	close(err_pipe[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			write_all(STDERR_FILENO, h.buf, h.len);
			free(h.buf);
			return error(EXIT_INTERNAL, "lost the worker: %s",
				     strerror(errno));
		}
	if (WIFEXITED(status)) {
		write_all(STDERR_FILENO, h.buf, h.len);
		free(h.buf);
		return WEXITSTATUS(status);
	}
	free(h.buf); /* a dead worker's last words: replaced by ours */
	int sig = WTERMSIG(status);
	if (shared->tmp[0])
		unlink(shared->tmp);
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGPIPE ||
	    sig == SIGKILL) {
		/* Stopped from outside: stop the same way. */
		signal(sig, SIG_DFL);
		raise(sig);
		return 128 + sig;
	}
	if (show_progress)
		progress_done();
	if (shared->phase <= PHASE_LOADING)
		return error(EXIT_MODEL, "model '%s': libtorch crashed reading it "
					 "(%s); the archive is corrupt",
			     model, strsignal(sig));
	return error(EXIT_INTERNAL, "crashed while %s '%s' (%s): a bug in "
				    "pt2onnx, please report it",
		     shared->phase == PHASE_WRITING ? "writing the model of" :
						      "converting",
		     model, strsignal(sig));
}

enum { OPT_OPSET = 256, OPT_INPUT_NAMES, OPT_OUTPUT_NAMES, OPT_VERSION,
       OPT_LIST_OPS };

/* --list-ops: one line per TorchScript op kind and its opsets. */
static void list_ops(void)
{
	const char *kind;
	int since, until;
	for (size_t i = 0; p2o_supported_op(i, &kind, &since, &until); i++)
		printf("%-28s opsets %d-%d\n", kind, since, until);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "opset", required_argument, NULL, OPT_OPSET },
		{ "input-shape", required_argument, NULL, 's' },
		{ "input-names", required_argument, NULL, OPT_INPUT_NAMES },
		{ "output-names", required_argument, NULL, OPT_OUTPUT_NAMES },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "list-ops", no_argument, NULL, OPT_LIST_OPS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	int opset = P2O_OPSET_DEFAULT, verbose = 0;
	p2o_input_spec *specs = NULL;
	size_t n_specs = 0;
	char **in_names = NULL, **out_names = NULL;
	size_t n_in_names = 0, n_out_names = 0;
	char err[600];

	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:s:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_OPSET: {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno)
				return error(EXIT_USAGE, "--opset takes a number "
							 "%d-%d, not '%s'",
					     P2O_OPSET_MIN, P2O_OPSET_MAX, optarg);
			if (v < P2O_OPSET_MIN || v > P2O_OPSET_MAX)
				return error(EXIT_USAGE, "--opset %ld is not "
							 "supported (supported "
							 "range: %d-%d)",
					     v, P2O_OPSET_MIN, P2O_OPSET_MAX);
			opset = (int)v;
			break;
		}
		case 's': {
			p2o_input_spec *ns = realloc(specs, (n_specs + 1) *
								    sizeof *ns);
			if (!ns)
				return error(EXIT_INTERNAL, "out of memory");
			specs = ns;
			if (p2o_parse_input_spec(optarg, &specs[n_specs], err,
						 sizeof err) != P2O_OK)
				return error(EXIT_USAGE, "--input-shape: %s", err);
			n_specs++;
			break;
		}
		case OPT_INPUT_NAMES:
			if (!(in_names = split_names(optarg, &n_in_names)))
				return error(EXIT_USAGE, "--input-names: empty "
							 "name in '%s'", optarg);
			break;
		case OPT_OUTPUT_NAMES:
			if (!(out_names = split_names(optarg, &n_out_names)))
				return error(EXIT_USAGE, "--output-names: empty "
							 "name in '%s'", optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_VERSION:
			printf("%s %s (libtorch %s, ONNX opsets %d-%d)\n", prog,
			       PT2ONNX_VERSION, p2o_torch_version(),
			       P2O_OPSET_MIN, P2O_OPSET_MAX);
			return EXIT_OK;
		case OPT_LIST_OPS:
			list_ops();
			return EXIT_OK;
		case 'h':
			help();
			return EXIT_OK;
		case ':':
			return error(EXIT_USAGE, "option '%s' needs a value (see "
						 "%s --help)",
				     argv[optind - 1], prog);
		default:
			if (optopt)
				return error(EXIT_USAGE, "unknown option '-%c' "
							 "(see %s --help)",
					     optopt, prog);
			return error(EXIT_USAGE, "unknown option '%s' (see %s "
						 "--help)",
				     argv[optind - 1], prog);
		}
	}
	if (optind >= argc)
		return error(EXIT_USAGE, "no MODEL given (usage: %s MODEL.pt -o "
					 "OUT.onnx -s DIMS; see %s --help)",
			     prog, prog);
	if (argc - optind > 1)
		return error(EXIT_USAGE, "one MODEL at a time; got '%s' and '%s'",
			     argv[optind], argv[optind + 1]);
	const char *model = argv[optind];
	char *def_out = NULL;
	if (!output) {
		if (!(def_out = default_output(model)))
			return error(EXIT_INTERNAL, "out of memory");
		output = def_out;
	}
	int rc = check_output(output);
	if (rc != EXIT_OK)
		return rc;

	p2o_options opt = {
		.opset = opset,
		.inputs = specs,
		.n_inputs = n_specs,
		.input_names = (const char *const *)in_names,
		.n_input_names = n_in_names,
		.output_names = (const char *const *)out_names,
		.n_output_names = n_out_names,
	};
	show_progress = !quiet && isatty(STDERR_FILENO);
	opt.progress = progress;
	rc = supervise(model);
	if (rc >= 0)
		_exit(rc);

	p2o_ctx *cx = p2o_new();
	if (!cx)
		return error(EXIT_INTERNAL, "out of memory");
	active = cx;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	set_phase(PHASE_LOADING);
	const char *stage = "loading"; /* for an out-of-memory message */
	int code = p2o_load(cx, model, &opt);
	if (code == P2O_OK && verbose)
		fprintf(stderr, "TorchScript graph (frozen, canonicalized):\n%s\n",
			p2o_torch_text(cx));
	set_phase(PHASE_CONVERTING);
	if (code == P2O_OK) {
		stage = "converting";
		code = p2o_convert(cx, &opt);
	}
	if (code == P2O_OK && verbose)
		fprintf(stderr, "%s\n", p2o_onnx_text(cx));
	set_phase(PHASE_WRITING);
	if (code == P2O_OK) {
		stage = "writing";
		code = p2o_write(cx, output);
	}
	if (shared)
		shared->tmp[0] = '\0'; /* renamed or removed by now */
	if (show_progress)
		progress_done();
	if (code == P2O_ERR_NOMEM && p2o_diag_count(cx) == 0) {
		/* lib's allocation failures record nothing (there is no memory
		 * to record it in): the stage is known here. */
		rc = error(EXIT_INTERNAL, "model '%s': out of memory while %s",
			   model, stage);
	} else if (code != P2O_OK) {
		rc = report(cx, code, model, opset);
	} else {
		rc = EXIT_OK;
		if (!quiet) {
			p2o_stats st;
			p2o_get_stats(cx, &st);
			char wsz[32], fsz[32];
			fprintf(stderr,
				"%s: wrote %s (opset %d, IR %d): %zu nodes, %zu "
				"initializers (%s), %zu input%s, %zu output%s, %s\n",
				prog, strcmp(output, "-") ? output : "<stdout>",
				st.opset, st.ir_version, st.nodes, st.initializers,
				human_size(st.weight_bytes, wsz, sizeof wsz),
				st.inputs, st.inputs == 1 ? "" : "s", st.outputs,
				st.outputs == 1 ? "" : "s",
				human_size(st.file_bytes, fsz, sizeof fsz));
		}
	}
	active = NULL;
	p2o_free(cx);
	free(def_out);
	free(specs);
	free(in_names);
	free(out_names);
	/* libtorch's static destructors take ~50 ms and release nothing the
	 * exit would not: flush what is ours and leave without them. */
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = error(EXIT_OUTPUT, "cannot write to stdout");
	fflush(stderr);
	_exit(rc);
}
