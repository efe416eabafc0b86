/* pt2onnx.c — the command: options, messages, exit codes. All conversion
 * work is lib/'s (through pt2onnx.h); this file only talks to the user. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pt2onnx.h"
#include "report.h"

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
static FILE *errout;            /* where error() writes: stderr, or the log
				   of the batch job being parsed or judged */
static p2o_ctx *volatile active; /* for the signal handler */
static bool show_progress;      /* stderr is a terminal and not -q */
static char last_error[16384];   /* error()'s last message, for --report */
/* The latest progress line, shown once the conversion has taken long
 * enough (progress_due, on SIGALRM). */
static char progress_line[512];
static volatile size_t progress_len;
static volatile sig_atomic_t progress_live;

/* The conversion runs in a forked worker, so that a crash inside libtorch
 * (whose unpickler can corrupt its heap on a damaged archive) becomes an
 * error message and an exit status instead of a core dump. The worker
 * tells the supervisor what it is doing through this shared page. */
enum { PHASE_START, PHASE_LOADING, PHASE_CONVERTING, PHASE_WRITING };
struct shared_state {
	volatile sig_atomic_t phase;
	/* the worker's temporary output files, if any: the model's, its
	 * external data file's (p2o_pending_path_at) */
	char tmp[P2O_PENDING_MAX][4096];
};
static struct shared_state *shared; /* the worker's own page, or NULL */

/* The supervisor's running workers (one, or up to -j in a batch), for
 * forwarding a signal; 0 marks a free slot. */
static volatile pid_t *workers;
static int n_workers;
static volatile sig_atomic_t stop_sig; /* a signal asked the batch to stop */

/* Interrupted while writing: remove the temporary file, then die of the
 * same signal. */
static void on_signal(int sig)
{
	p2o_ctx *cx = active;
	for (int i = 0; cx && i < P2O_PENDING_MAX; i++) {
		const char *tmp = p2o_pending_path_at(cx, i);
		if (tmp)
			unlink(tmp);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void help(void)
{
	printf("usage: %s MODEL.pt [-o OUT.onnx|-] [--opset N] "
	       "[-s DIMS[:DTYPE]]... [options]\n"
	       "       %s --batch FILE|- [-j N] [options]\n", prog, prog);
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
	       "      --batch FILE             convert many models: one job per line of\n"
	       "                               FILE ('-' for stdin), written as MODEL\n"
	       "                               and options with shell quoting; the\n"
	       "                               options given here apply to every job.\n"
	       "                               Prints 'LINE ok OUTPUT' or 'LINE exit=N\n"
	       "                               OUTPUT' per job; exits with the highest\n"
	       "                               job status\n"
	       "  -j, --jobs N                 with --batch: run N jobs at once (default 1)\n"
	       "      --list-ops               list the TorchScript ops pt2onnx converts,\n"
	       "                               with their opsets\n"
	       "      --version                print versions and the opset range\n"
	       "  -h, --help                   print this help\n"
	       /* ---- report ---- */
	       "      --report FILE            write a JSON report of the conversion\n"
	       "                               to FILE ('-' for stdout when the model\n"
	       "                               goes to a file), on success and failure:\n"
	       "                               files with sha256, options, op counts,\n"
	       "                               every problem with its source lines and\n"
	       "                               what would fix it, timings (see man\n"
	       "                               pt2onnx, REPORT); in a batch, only per\n"
	       "                               line\n"
	       /* ---- extdata ---- */
	       "      --external-data[=FILE]   write weights of 1 KiB or more to FILE\n"
	       "                               beside the model (a file name, no folder;\n"
	       "                               default: OUT.onnx.data), as ONNX external\n"
	       "                               data; done anyway when the model would\n"
	       "                               pass 2 GiB. Not with -o -\n"
	       /* ---- aten ---- */
	       "      --operator-export-type onnx|aten-fallback|fallthrough\n"
	       "                               an op with no converter: fail (onnx,\n"
	       "                               default), export it as an ATen node in\n"
	       "                               domain org.pytorch.aten (aten-fallback),\n"
	       "                               or leave it as is in a domain named after\n"
	       "                               its namespace (fallthrough); a warning\n"
	       "                               per op. ONNX Runtime cannot run those\n"
	       "      --export-modules-as-functions[=TYPE,...]\n"
	       "                               make each instance of these module types\n"
	       "                               (torch.nn.modules.linear.Linear, or\n"
	       "                               Linear) an ONNX local function; no list:\n"
	       "                               every module type. Needs opset 15\n"
	       /* ---- knobs ---- */
	       "\nExport options (torch.onnx.export's parameters):\n"
	       "      --no-export-params       weights become graph inputs named after\n"
	       "                               their module paths, in state_dict order\n"
	       "                               (export_params=False)\n"
	       "      --keep-initializers-as-inputs\n"
	       "                               list every initializer as a graph input too\n"
	       "                               (keep_initializers_as_inputs=True)\n"
	       "      --no-constant-folding    keep constant subgraphs as nodes and equal\n"
	       "                               initializers apart (do_constant_folding=False)\n"
	       "      --training MODE          eval (default), preserve (the mode the\n"
	       "                               module was saved in) or train: dropout and\n"
	       "                               batch norm in training form (training=)\n"
	       "      --custom-opset DOMAIN:VERSION\n"
	       "                               add an opset_import entry; repeatable\n"
	       "                               (custom_opsets=)\n"
	       "      --doc-strings            TorchScript source locations as node\n"
	       "                               doc_strings (verbose=True)\n"
	       "      --node-names             node names from module paths, as\n"
	       "                               /layer1/layer1.0/conv1/Conv\n"
	       "      --producer-name NAME     ModelProto.producer_name (default pt2onnx)\n"
	       "      --metadata KEY=VALUE     a metadata_props entry; repeatable\n"
	       "\n"
	       "Exit status: 0 success, 1 internal error, 2 usage error, 3 unreadable or\n"
	       "invalid model, 4 unsupported ops or shapes, 5 output not writable.\n"
	       "\n"
	       "Examples:\n"
	       "  %s resnet18.pt -o resnet18.onnx --opset 17 -s 1x3x224x224\n"
	       "  %s --batch models.txt -j 2 -q\n",
	       P2O_OPSET_MIN, P2O_OPSET_MAX, P2O_OPSET_DEFAULT, prog, prog);
}

static int error(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int error(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	fprintf(errout, "%s: error: %s\n", prog, last_error);
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
/* A diagnostic's line after its op: " (x3, first at f.py:2:5): msg". */
static void diag_tail(const p2o_diag *d)
{
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

static int report(p2o_ctx *cx, int code, const char *model, int opset)
{
	/* Warnings were printed apart (print_warnings): errors only here. */
	size_t n = 0, only = 0;
	for (size_t i = 0; i < p2o_diag_count(cx); i++)
		if (!p2o_diag_at(cx, i)->warning) {
			n++;
			only = i;
		}
	if (n == 0)
		return error(exit_status(code), "%s", p2o_strerror(code));
	if (n == 1 && !p2o_diag_at(cx, only)->op) {
		return error(exit_status(code), "%s", p2o_diag_at(cx, only)->message);
	}
	unsigned total = 0;
	for (size_t i = 0; i < p2o_diag_count(cx); i++)
		if (!p2o_diag_at(cx, i)->warning)
			total += p2o_diag_at(cx, i)->count;
	fprintf(stderr, "%s: error: %s: %zu problem%s (%u node%s) prevent%s "
			"conversion at opset %d:\n",
		prog, model, n, n == 1 ? "" : "s", total, total == 1 ? "" : "s",
		n == 1 ? "s" : "", opset);
	for (size_t i = 0; i < p2o_diag_count(cx); i++) {
		const p2o_diag *d = p2o_diag_at(cx, i);
		if (d->warning)
			continue;
		fprintf(stderr, "  %s", d->op ? d->op : "(graph)");
		diag_tail(d);
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

/* Fails fast, before a long conversion, when the output cannot be made
 * (or would destroy the model): the rules are lib's, p2o_write's own. */
static int check_output(const char *path, const char *model)
{
	char err[4200];
	int code = p2o_check_output(path, model, err, sizeof err);
	return code == P2O_OK ? EXIT_OK : error(exit_status(code), "%s", err);
}

/* ---- report ---- */
static char *output_key(const char *path);

/* Fails fast when --report's file cannot be written, or is the model or
 * the output (the one would overwrite the other). No report is written
 * then: there is nowhere to write it. */
static int check_report(const char *report, const char *output,
			const char *model)
{
	if (!report || strcmp(report, "-") == 0)
		return EXIT_OK;
	char err[4200];
	int code = p2o_check_output(report, model, err, sizeof err);
	if (code != P2O_OK)
		return error(exit_status(code), "--report: %s", err);
	char *a = output_key(report), *b = output_key(output);
	bool same = a && b && strcmp(a, "c") != 0 && strcmp(a, b) == 0;
	free(a);
	free(b);
	if (same)
		return error(EXIT_USAGE, "--report '%s' is the output too: give "
					 "the report its own file",
			     report);
	return EXIT_OK;
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

static void write_all(int fd, const char *p, size_t n);

static void progress(void *user, const char *stage, uint64_t done,
		     uint64_t total)
{
	(void)user;
	for (int i = 0; shared && active && done == 0 && i < P2O_PENDING_MAX;
	     i++) {
		const char *tmp = p2o_pending_path_at(active, i);
		if (tmp)
			snprintf(shared->tmp[i], sizeof shared->tmp[i], "%s",
				 tmp);
	}
	if (!show_progress)
		return;
	/* "writing MiB" 3/97 is "writing 3/97 MiB"; a count without a unit
	 * ("converting") counts nodes. */
	char line[sizeof progress_line];
	const char *sp = strrchr(stage, ' ');
	int verb = sp ? (int)(sp - stage) : (int)strlen(stage);
	if (total)
		snprintf(line, sizeof line, "\r%s: %.*s %llu/%llu %s\033[K", prog,
			 verb, stage, (unsigned long long)done,
			 (unsigned long long)total, sp ? sp + 1 : "nodes");
	else
		snprintf(line, sizeof line, "\r%s: %.*s...\033[K", prog, verb,
			 stage);
	/* The line is handed to the timer's handler with SIGALRM blocked,
	 * so that it never writes half of an update. */
	sigset_t alrm, old;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, &old);
	memcpy(progress_line, line, sizeof line);
	progress_len = strlen(line);
	if (progress_live)
		write_all(STDERR_FILENO, progress_line, progress_len);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The conversion has run long enough to show its progress: the current
 * stage now, and every update from here on. */
static void progress_due(int sig)
{
	(void)sig;
	int saved = errno;
	progress_live = 1;
	if (progress_len)
		write_all(STDERR_FILENO, progress_line, progress_len);
	errno = saved;
}

/* Starts the clock: progress shows only for a conversion that takes over
 * a second (PT2ONNX_PROGRESS_DELAY_MS, for tests only, sets another
 * delay), so that a quick one leaves the terminal as it was. */
static void progress_start(void)
{
	if (!show_progress)
		return;
	long ms = 1000;
	const char *env = getenv("PT2ONNX_PROGRESS_DELAY_MS");
	if (env && *env)
		ms = strtol(env, NULL, 10);
	struct sigaction sa = { .sa_handler = progress_due,
				.sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { .it_value = { ms / 1000, (ms % 1000) * 1000 } };
	if (ms <= 0)
		it.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Stops the clock, and clears the progress line if one was shown. */
static void progress_done(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	if (progress_live)
		fprintf(stderr, "\r\033[K");
	progress_live = 0;
}

static void set_phase(int phase)
{
	if (shared)
		shared->phase = phase;
}

static void forward_signal(int sig)
{
	stop_sig = sig;
	for (int i = 0; i < n_workers; i++)
		if (workers[i] > 0)
			kill(workers[i], sig);
}

static void forward_signals(void)
{
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);
}

/* Forks a worker that will report through st. Returns 0 in the worker, the
 * worker's pid in the supervisor, -1 when fork fails. */
static pid_t spawn_worker(struct shared_state *st)
{
	st->phase = PHASE_START;
	for (int i = 0; i < P2O_PENDING_MAX; i++)
		st->tmp[i][0] = '\0';
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none); /* the supervisor reports it */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		shared = st;
	}
	return pid;
}

/* Whether sig is how one stops a process from outside, as opposed to a
 * crash of the worker's own making. */
static bool stop_signal(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP ||
	       sig == SIGPIPE || sig == SIGKILL;
}

/* The exit status for a worker's wait status, with a message (to errout)
 * when it died of a signal. A worker stopped from outside stops a single
 * conversion the same way (*restop set); in a batch (restop NULL) it is
 * that job's internal error, the other jobs go on. */
static int worker_verdict(int status, const struct shared_state *st,
			  const char *model, int *restop)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	int sig = WTERMSIG(status);
	for (int i = 0; i < P2O_PENDING_MAX; i++)
		if (st->tmp[i][0])
			unlink(st->tmp[i]);
	if (stop_signal(sig)) {
		if (restop) {
			*restop = sig;
			return 128 + sig;
		}
		return error(EXIT_INTERNAL, "the worker converting '%s' was "
					    "stopped (%s)",
			     model, strsignal(sig));
	}
	if (st->phase <= PHASE_LOADING)
		return error(EXIT_MODEL, "model '%s': libtorch crashed reading it "
					 "(%s); the archive is corrupt",
			     model, strsignal(sig));
	return error(EXIT_INTERNAL, "crashed while %s '%s' (%s): a bug in "
				    "pt2onnx, please report it",
		     st->phase == PHASE_WRITING ? "writing the model of" :
						  "converting",
		     model, strsignal(sig));
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

/* An open descriptor of the regular file at path (the output the worker
 * may replace), or -1. While the supervisor holds it, the worker's rename
 * over the file only unlinks it; the file's pages are freed when the
 * supervisor closes it, as the worker exits (the worker closes its stderr
 * first), instead of inside the worker's rename: ~20 ms for a 100 MB
 * model, which the worker's exit (~30 ms) then hides. */
static int hold_replaced(const char *path)
{
	struct stat st;
	if (!path || strcmp(path, "-") == 0 || stat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return -1;
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Forks the worker. Returns -1 in the worker (go on converting), or the
 * exit status for the supervisor. Without fork or shared memory the
 * conversion runs unsupervised, in this process. */
struct job; /* ---- report ---- */
static int job_failed(const struct job *j, const char *stage, int rc);

static int supervise(const char *model, const char *output,
		     const struct job *j)
{
	static volatile pid_t one;
	const char *env = getenv("PT2ONNX_SUPERVISE");
	if (env && strcmp(env, "0") == 0)
		return -1; /* one process: for debuggers and memory accounting */
	struct shared_state *st = mmap(NULL, sizeof *st, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return -1;
	/* The worker's stderr comes through a pipe: held back until it ends,
	 * so that a worker dying of a signal prints one line (ours). */
	int err_pipe[2];
	if (pipe(err_pipe) != 0) {
		munmap(st, sizeof *st);
		return -1;
	}
	pid_t pid = spawn_worker(st);
	if (pid < 0) {
		munmap(st, sizeof *st);
		close(err_pipe[0]);
		close(err_pipe[1]);
		return -1;
	}
	if (pid == 0) {
		close(err_pipe[0]);
		if (dup2(err_pipe[1], STDERR_FILENO) < 0)
			_exit(EXIT_INTERNAL);
		close(err_pipe[1]);
		return -1;
	}
	close(err_pipe[1]);
	one = pid;
	workers = &one;
	n_workers = 1;
	forward_signals();
	int old = hold_replaced(output);
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
	if (old >= 0)
		close(old); /* the replaced file goes while the worker exits */
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			write_all(STDERR_FILENO, h.buf, h.len);
			free(h.buf);
			return error(EXIT_INTERNAL, "lost the worker: %s",
				     strerror(errno));
		}
	if (WIFEXITED(status))
		write_all(STDERR_FILENO, h.buf, h.len);
	else if (show_progress)
		/* A dead worker's last words: replaced by ours. */
		write_all(STDERR_FILENO, "\r\033[K", 4);
	free(h.buf);
	int sig = 0;
	int rc = worker_verdict(status, st, model, &sig);
	/* ---- report ---- */
	if (!WIFEXITED(status)) {
		/* The worker died before writing its report: ours, from the
		 * verdict. */
		if (sig)
			snprintf(last_error, sizeof last_error, "the worker "
				 "converting '%s' was stopped (%s)", model,
				 strsignal(sig));
		rc = job_failed(j, "worker", rc);
	}
	if (sig) {
		/* Stopped from outside: stop the same way. */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	return rc;
}

enum { OPT_OPSET = 256, OPT_INPUT_NAMES, OPT_OUTPUT_NAMES, OPT_VERSION,
       OPT_LIST_OPS, OPT_BATCH,
       /* ---- report ---- */
       OPT_REPORT,
       /* ---- extdata ---- */
       OPT_EXTERNAL_DATA,
       /* ---- aten ---- */
       OPT_EXPORT_TYPE, OPT_FUNCTIONS,
};
/* ---- knobs ---- */
enum { OPT_NO_EXPORT_PARAMS = 0x4b00, OPT_KEEP_INITS, OPT_NO_FOLDING,
       OPT_TRAINING, OPT_CUSTOM_OPSET, OPT_DOC_STRINGS, OPT_NODE_NAMES,
       OPT_PRODUCER_NAME, OPT_METADATA };
#define MAX_CUSTOM_OPSETS 64
#define MAX_METADATA 256

/* The export options of a job, by value (a batch line copies the command
 * line's and adds its own). Strings point into the argv they came from. */
struct knobs {
	p2o_options o;          /* only the knob fields are used */
	p2o_opset_id opsets[MAX_CUSTOM_OPSETS];
	p2o_metadata meta[MAX_METADATA];
};

/* --list-ops: one line per TorchScript op kind and its opsets. */
static void list_ops(void)
{
	const char *kind;
	int since, until;
	for (size_t i = 0; p2o_supported_op(i, &kind, &since, &until); i++)
		printf("%-28s opsets %d-%d\n", kind, since, until);
}

/* One conversion's settings: from the command line, or from a line of a
 * --batch file on top of the command line's. */
struct job {
	int line;               /* the batch file's line number; 0 for argv */
	char *words;            /* batch: the line's unquoted words (owned) */
	char **argv;            /* batch: prog plus the line's words (owned) */
	const char *model;      /* the MODEL argument */
	const char *output;     /* -o, or def_out */
	char *def_out;          /* MODEL with .onnx, when no -o (owned) */
	int opset;              /* --opset */
	int verbose, quiet;     /* -v, -q */
	p2o_input_spec *specs;  /* -s, in order (owned) */
	size_t n_specs;
	char **in_names, **out_names; /* --input-names, --output-names (owned
					 arrays into argv's strings) */
	size_t n_in_names, n_out_names;
	/* Batch bookkeeping. */
	int status;             /* exit status; -1 until known */
	FILE *log;              /* the job's stderr, collected (memstream) */
	char *log_text;         /* log's buffer */
	size_t log_len;
	int cap_fd;             /* the running worker's stderr file, or -1 */
	int slot;               /* its workers[]/states[] slot while running */
	/* ---- report ---- */
	const char *report;     /* --report FILE ("-": stdout), or NULL */
	/* ---- extdata ---- */
	int ext_data;           /* --external-data given */
	const char *ext_file;   /* its =FILE, or NULL (into argv's strings) */
	/* ---- aten ---- */
	int export_type;        /* --operator-export-type (enum p2o_export_type) */
	const char *fn_types;   /* --export-modules-as-functions: its TYPE list
	                           ("" for every type), or NULL when not given;
	                           points into argv */
	/* ---- knobs ---- */
	struct knobs kn;        /* --no-export-params ... --metadata */
};

/* What main does besides converting. */
enum action { ACT_CONVERT, ACT_HELP, ACT_VERSION, ACT_LIST_OPS };

/* The batch options of the command line. */
struct batch_opts {
	const char *file;       /* --batch FILE, or NULL */
	long jobs;              /* -j N; 0 when not given */
};

/* ---- aten ---- */
/* A --export-modules-as-functions list: names of [A-Za-z0-9_.], none
 * empty. */
static bool valid_types(const char *s)
{
	bool empty = true;
	for (;; s++) {
		if (*s == ',' || !*s) {
			if (empty)
				return false;
			if (!*s)
				return true;
			empty = true;
		} else if (isalnum((unsigned char)*s) || *s == '_' || *s == '.') {
			empty = false;
		} else {
			return false;
		}
	}
}

/* Prints the warnings the library recorded (ops exported unconverted). */
static void print_warnings(p2o_ctx *cx)
{
	for (size_t i = 0; i < p2o_diag_count(cx); i++) {
		const p2o_diag *d = p2o_diag_at(cx, i);
		if (!d->warning)
			continue;
		fprintf(stderr, "%s: warning: %s", prog, d->op ? d->op : "(graph)");
		diag_tail(d);
	}
}
/* ---- end aten ---- */

/* ---- knobs ---- */
/* One export option into kn; EXIT_OK or a usage error naming the flag.
 * DOMAIN:VERSION and KEY=VALUE are split in place (arg is argv's). */
static int parse_knob(int c, char *arg, struct knobs *kn)
{
	p2o_options *o = &kn->o;
	switch (c) {
	case OPT_NO_EXPORT_PARAMS:
		o->no_export_params = true;
		return EXIT_OK;
	case OPT_KEEP_INITS:
		o->keep_initializers_as_inputs = true;
		return EXIT_OK;
	case OPT_NO_FOLDING:
		o->no_constant_folding = true;
		return EXIT_OK;
	case OPT_DOC_STRINGS:
		o->doc_strings = true;
		return EXIT_OK;
	case OPT_NODE_NAMES:
		o->node_names = true;
		return EXIT_OK;
	case OPT_TRAINING:
		if (strcmp(arg, "eval") == 0)
			o->training = P2O_TRAINING_EVAL;
		else if (strcmp(arg, "preserve") == 0)
			o->training = P2O_TRAINING_PRESERVE;
		else if (strcmp(arg, "train") == 0)
			o->training = P2O_TRAINING_TRAIN;
		else
			return error(EXIT_USAGE, "--training takes eval, preserve "
						 "or train, not '%s'", arg);
		return EXIT_OK;
	case OPT_PRODUCER_NAME:
		if (!*arg)
			return error(EXIT_USAGE, "--producer-name: empty name");
		o->producer_name = arg;
		return EXIT_OK;
	case OPT_CUSTOM_OPSET: {
		char *colon = strrchr(arg, ':');
		if (!colon || colon == arg)
			return error(EXIT_USAGE, "--custom-opset takes DOMAIN:VERSION "
						 "(e.g. com.example:1), not '%s'",
				     arg);
		char *end;
		errno = 0;
		long long v = strtoll(colon + 1, &end, 10);
		if (!colon[1] || *end || errno || v < 1 || v > INT32_MAX)
			return error(EXIT_USAGE, "--custom-opset: version '%s' of "
						 "'%.*s' is not a number >= 1",
				     colon + 1, (int)(colon - arg), arg);
		*colon = '\0';
		if (strcmp(arg, "ai.onnx") == 0)
			return error(EXIT_USAGE, "--custom-opset: '%s' is the "
						 "default domain, whose version is "
						 "--opset's", arg);
		for (size_t i = 0; i < o->n_custom_opsets; i++)
			if (strcmp(kn->opsets[i].domain, arg) == 0)
				return error(EXIT_USAGE, "--custom-opset: domain "
							 "'%s' given twice", arg);
		if (o->n_custom_opsets == MAX_CUSTOM_OPSETS)
			return error(EXIT_USAGE, "--custom-opset: more than %d "
						 "domains", MAX_CUSTOM_OPSETS);
		kn->opsets[o->n_custom_opsets++] =
			(p2o_opset_id){ .domain = arg, .version = v };
		return EXIT_OK;
	}
	case OPT_METADATA: {
		char *eq = strchr(arg, '=');
		if (!eq || eq == arg)
			return error(EXIT_USAGE, "--metadata takes KEY=VALUE with a "
						 "non-empty KEY, not '%s'", arg);
		*eq = '\0';
		for (size_t i = 0; i < o->n_metadata; i++)
			if (strcmp(kn->meta[i].key, arg) == 0)
				return error(EXIT_USAGE, "--metadata: key '%s' given "
							 "twice", arg);
		if (o->n_metadata == MAX_METADATA)
			return error(EXIT_USAGE, "--metadata: more than %d keys",
				     MAX_METADATA);
		kn->meta[o->n_metadata++] =
			(p2o_metadata){ .key = arg, .value = eq + 1 };
		return EXIT_OK;
	}
	}
	return error(EXIT_INTERNAL, "unknown export option %d", c);
}

/* Parses argv into j (on top of what j holds). Returns EXIT_OK or the exit
 * status of a usage error (told through error()). b is NULL for a batch
 * line: --batch, -j and the options that do not convert are errors there,
 * which *structural reports (the batch stops before any job runs). */
static int parse_args(int argc, char **argv, struct job *j,
		      enum action *act, struct batch_opts *b, bool *structural)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "opset", required_argument, NULL, OPT_OPSET },
		{ "input-shape", required_argument, NULL, 's' },
		{ "input-names", required_argument, NULL, OPT_INPUT_NAMES },
		{ "output-names", required_argument, NULL, OPT_OUTPUT_NAMES },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "jobs", required_argument, NULL, 'j' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "list-ops", no_argument, NULL, OPT_LIST_OPS },
		{ "help", no_argument, NULL, 'h' },
		/* ---- report ---- */
		{ "report", required_argument, NULL, OPT_REPORT },
		/* ---- extdata ---- */
		{ "external-data", optional_argument, NULL, OPT_EXTERNAL_DATA },
		/* ---- aten ---- */
		{ "operator-export-type", required_argument, NULL, OPT_EXPORT_TYPE },
		{ "export-modules-as-functions", optional_argument, NULL,
		  OPT_FUNCTIONS },
		/* ---- knobs ---- */
		{ "no-export-params", no_argument, NULL, OPT_NO_EXPORT_PARAMS },
		{ "keep-initializers-as-inputs", no_argument, NULL, OPT_KEEP_INITS },
		{ "no-constant-folding", no_argument, NULL, OPT_NO_FOLDING },
		{ "training", required_argument, NULL, OPT_TRAINING },
		{ "custom-opset", required_argument, NULL, OPT_CUSTOM_OPSET },
		{ "doc-strings", no_argument, NULL, OPT_DOC_STRINGS },
		{ "node-names", no_argument, NULL, OPT_NODE_NAMES },
		{ "producer-name", required_argument, NULL, OPT_PRODUCER_NAME },
		{ "metadata", required_argument, NULL, OPT_METADATA },
		{ NULL, 0, NULL, 0 },
	};
	char err[600];
	*act = ACT_CONVERT;
	optind = 0; /* GNU: start over (a batch parses many argvs) */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:s:qvhj:", longopts, NULL)) != -1) {
		if (!b && (c == OPT_BATCH || c == 'j' || c == OPT_VERSION ||
			   c == OPT_LIST_OPS || c == 'h')) {
			*structural = true;
			return error(EXIT_USAGE, "option '%s' cannot be used in "
						 "a batch line",
				     argv[optind - 1]);
		}
		switch (c) {
		case 'o':
			j->output = optarg;
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
			j->opset = (int)v;
			break;
		}
		case 's': {
			p2o_input_spec *ns = realloc(j->specs, (j->n_specs + 1) *
								       sizeof *ns);
			if (!ns)
				return error(EXIT_INTERNAL, "out of memory");
			j->specs = ns;
			if (p2o_parse_input_spec(optarg, &j->specs[j->n_specs],
						 err, sizeof err) != P2O_OK)
				return error(EXIT_USAGE, "--input-shape: %s", err);
			j->n_specs++;
			break;
		}
		case OPT_INPUT_NAMES:
			free(j->in_names);
			if (!(j->in_names = split_names(optarg, &j->n_in_names)))
				return error(EXIT_USAGE, "--input-names: empty "
							 "name in '%s'", optarg);
			break;
		case OPT_OUTPUT_NAMES:
			free(j->out_names);
			if (!(j->out_names = split_names(optarg, &j->n_out_names)))
				return error(EXIT_USAGE, "--output-names: empty "
							 "name in '%s'", optarg);
			break;
		case 'q':
			j->quiet = 1;
			break;
		case 'v':
			j->verbose = 1;
			break;
		case OPT_BATCH:
			b->file = optarg;
			break;
		case 'j': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || v < 1 || v > 1024)
				return error(EXIT_USAGE, "-j takes a number of "
							 "jobs 1-1024, not '%s'",
					     optarg);
			b->jobs = v;
			break;
		}
		case OPT_VERSION:
			*act = ACT_VERSION;
			return EXIT_OK;
		case OPT_LIST_OPS:
			*act = ACT_LIST_OPS;
			return EXIT_OK;
		case 'h':
			*act = ACT_HELP;
			return EXIT_OK;
		/* ---- report ---- */
		case OPT_REPORT:
			if (!*optarg)
				return error(EXIT_USAGE, "--report needs a file "
							 "name ('-' for stdout)");
			j->report = optarg;
			break;
		/* ---- extdata ---- */
		case OPT_EXTERNAL_DATA:
			if (optarg &&
			    p2o_check_data_name(optarg, err, sizeof err) != P2O_OK)
				return error(EXIT_USAGE, "--external-data: %s", err);
			j->ext_data = 1;
			j->ext_file = optarg;
			break;
		/* ---- aten ---- */
		case OPT_EXPORT_TYPE:
			if (strcmp(optarg, "onnx") == 0)
				j->export_type = P2O_EXPORT_ONNX;
			else if (strcmp(optarg, "aten-fallback") == 0)
				j->export_type = P2O_EXPORT_ATEN_FALLBACK;
			else if (strcmp(optarg, "fallthrough") == 0)
				j->export_type = P2O_EXPORT_FALLTHROUGH;
			else
				return error(EXIT_USAGE, "--operator-export-type "
							 "takes onnx, aten-fallback "
							 "or fallthrough, not '%s'",
					     optarg);
			break;
		case OPT_FUNCTIONS:
			if (optarg && !valid_types(optarg))
				return error(EXIT_USAGE,
					     "--export-modules-as-functions takes "
					     "a comma list of module class names "
					     "(Linear, torch.nn.modules.linear."
					     "Linear), not '%s'",
					     optarg);
			j->fn_types = optarg ? optarg : "";
			break;
		/* ---- end aten ---- */
		/* ---- knobs ---- */
		case OPT_NO_EXPORT_PARAMS: case OPT_KEEP_INITS:
		case OPT_NO_FOLDING: case OPT_TRAINING: case OPT_CUSTOM_OPSET:
		case OPT_DOC_STRINGS: case OPT_NODE_NAMES:
		case OPT_PRODUCER_NAME: case OPT_METADATA: {
			int rc = parse_knob(c, optarg, &j->kn);
			if (rc != EXIT_OK)
				return rc;
			break;
		}
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
	/* ---- report ---- */
	if (b && b->file && j->report)
		return error(EXIT_USAGE, "--report cannot apply to a whole "
					 "batch: give each batch line its own "
					 "--report FILE");
	if (!b && j->report && strcmp(j->report, "-") == 0)
		return error(EXIT_USAGE, "--report - cannot be used in a batch: "
					 "standard output carries the results");
	if (b && b->file) {
		if (optind < argc)
			return error(EXIT_USAGE, "--batch takes the models from "
						 "'%s'; got '%s' on the command "
						 "line too",
				     b->file, argv[optind]);
		return EXIT_OK; /* the lines give MODEL, and -o */
	}
	if (b && b->jobs)
		return error(EXIT_USAGE, "-j runs the jobs of a --batch file; "
					 "there is no --batch");
	if (optind >= argc)
		return error(EXIT_USAGE, "no MODEL given (usage: %s MODEL.pt -o "
					 "OUT.onnx -s DIMS; see %s --help)",
			     prog, prog);
	if (argc - optind > 1)
		return error(EXIT_USAGE, "one MODEL at a time; got '%s' and '%s'",
			     argv[optind], argv[optind + 1]);
	j->model = argv[optind];
	if (!b && j->output && strcmp(j->output, "-") == 0)
		return error(EXIT_USAGE, "-o - cannot be used in a batch: "
					 "standard output carries the results");
	if (!j->output) {
		if (!(j->def_out = default_output(j->model)))
			return error(EXIT_INTERNAL, "out of memory");
		j->output = j->def_out;
	}
	/* ---- report ---- */
	if (j->report && strcmp(j->report, "-") == 0 &&
	    strcmp(j->output, "-") == 0)
		return error(EXIT_USAGE, "--report - and -o - both want standard "
					 "output: write the model or the report "
					 "to a file");
	/* ---- extdata ---- */
	if (j->ext_data && strcmp(j->output, "-") == 0)
		return error(EXIT_USAGE, "-o - cannot be used with "
					 "--external-data: the data file must "
					 "lie beside a model file; give -o FILE");
	return EXIT_OK;
}

/* ---- report ---- */

/* A -s value as text again ("batchx3x8:float32"). */
static cJSON *spec_json(const p2o_input_spec *sp)
{
	char buf[P2O_MAX_RANK * 34 + 32];
	size_t o = 0;
	buf[0] = '\0';
	for (int d = 0; d < sp->rank; d++) {
		if (d)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "x");
		if (sp->dims[d] >= 0)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%lld",
					      (long long)sp->dims[d]);
		else
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s",
					      sp->symbols[d]);
	}
	const char *dt = p2o_dtype_name(sp->dtype);
	snprintf(buf + o, sizeof buf - o, ":%s", dt ? dt : "?");
	return cJSON_CreateString(buf);
}

static cJSON *names_json(char **names, size_t n)
{
	if (!names)
		return cJSON_CreateNull();
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
	return a;
}

/* The report's "options": a job's settings, one line each (a new option
 * adds its line at the end of its branch's block). */
static cJSON *job_options(const struct job *j)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "output", cJSON_CreateString(j->output));
	cJSON_AddNumberToObject(o, "opset", j->opset);
	cJSON *sh = cJSON_CreateArray();
	for (size_t i = 0; i < j->n_specs; i++)
		cJSON_AddItemToArray(sh, spec_json(&j->specs[i]));
	cJSON_AddItemToObject(o, "input_shapes", sh);
	cJSON_AddItemToObject(o, "input_names", names_json(j->in_names,
							   j->n_in_names));
	cJSON_AddItemToObject(o, "output_names", names_json(j->out_names,
							    j->n_out_names));
	cJSON_AddBoolToObject(o, "quiet", j->quiet);
	cJSON_AddBoolToObject(o, "verbose", j->verbose);
	cJSON_AddItemToObject(o, "batch_line", j->line ? cJSON_CreateNumber(j->line)
						       : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "report", j->report);
	/* ---- extdata ---- */
	cJSON_AddItemToObject(o, "external_data",
			      !j->ext_data ? cJSON_CreateFalse() :
			      j->ext_file ? cJSON_CreateString(j->ext_file) :
					    cJSON_CreateTrue());
	/* ---- knobs ---- */
	const p2o_options *k = &j->kn.o;
	static const char *const modes[] = { "eval", "preserve", "train" };
	cJSON_AddBoolToObject(o, "no_export_params", k->no_export_params);
	cJSON_AddBoolToObject(o, "keep_initializers_as_inputs",
			      k->keep_initializers_as_inputs);
	cJSON_AddBoolToObject(o, "no_constant_folding", k->no_constant_folding);
	cJSON_AddStringToObject(o, "training", modes[k->training]);
	cJSON *os = cJSON_CreateObject();
	for (size_t i = 0; i < k->n_custom_opsets; i++)
		cJSON_AddNumberToObject(os, j->kn.opsets[i].domain,
					(double)j->kn.opsets[i].version);
	cJSON_AddItemToObject(o, "custom_opsets", os);
	cJSON_AddBoolToObject(o, "doc_strings", k->doc_strings);
	cJSON_AddBoolToObject(o, "node_names", k->node_names);
	cJSON_AddItemToObject(o, "producer_name",
			      k->producer_name ?
				      cJSON_CreateString(k->producer_name) :
				      cJSON_CreateNull());
	cJSON *md = cJSON_CreateObject();
	for (size_t i = 0; i < k->n_metadata; i++)
		cJSON_AddStringToObject(md, j->kn.meta[i].key,
					j->kn.meta[i].value);
	cJSON_AddItemToObject(o, "metadata", md);
	/* ---- aten ---- */
	static const char *const export_types[] = {
		[P2O_EXPORT_ONNX] = "onnx",
		[P2O_EXPORT_ATEN_FALLBACK] = "aten-fallback",
		[P2O_EXPORT_FALLTHROUGH] = "fallthrough",
	};
	cJSON_AddStringToObject(o, "operator_export_type",
				export_types[j->export_type]);
	cJSON_AddItemToObject(o, "export_modules_as_functions",
			      !j->fn_types ? cJSON_CreateFalse() :
			      *j->fn_types ? cJSON_CreateString(j->fn_types) :
					     cJSON_CreateTrue());
	return o;
}

/* The p2o_err a failure outside the library's work stands for, from its
 * exit status. */
static int status_code(int status)
{
	switch (status) {
	case EXIT_OK: return P2O_OK;
	case EXIT_USAGE: return P2O_ERR_USAGE;
	case EXIT_MODEL: return P2O_ERR_MODEL;
	case EXIT_UNSUPPORTED: return P2O_ERR_UNSUPPORTED;
	case EXIT_OUTPUT: return P2O_ERR_OUTPUT;
	default: return P2O_ERR_INTERNAL;
	}
}

/* Writes j's report, if it asked for one, and returns the exit status:
 * rc, or EXIT_OUTPUT when the conversion succeeded but its report could
 * not be written. cx NULL: no conversion ran in this process (a failure
 * found before it, or a worker that died), told by message. */
static int job_report(const struct job *j, p2o_ctx *cx, const char *stage,
		      int code, const char *message, const double *secs, int rc)
{
	if (!j->report)
		return rc;
	report_in r = {
		.path = j->report,
		.model = j->model,
		.output = j->output,
		.options = job_options(j),
		.cx = cx,
		.stage = stage,
		.code = code ? code : status_code(rc),
		.message = message,
		.exit_status = rc,
	};
	for (int i = 0; i < N_STAGES; i++)
		r.secs[i] = secs ? secs[i] : -1;
	char err[600];
	if (report_write(&r, err, sizeof err) != 0) {
		int st = error(EXIT_OUTPUT, "%s", err);
		return rc == EXIT_OK ? st : rc;
	}
	return rc;
}

/* A failure of j found outside a conversion (its output checked before, a
 * worker's crash): the report from error()'s message. */
static int job_failed(const struct job *j, const char *stage, int rc)
{
	return job_report(j, NULL, stage, status_code(rc), last_error, NULL, rc);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Converts j in this process (the worker): load, convert, write, and the
 * summary line. Returns the exit status. */
static int convert_one(const struct job *j)
{
	p2o_options opt = {
		.opset = j->opset,
		.inputs = j->specs,
		.n_inputs = j->n_specs,
		.input_names = (const char *const *)j->in_names,
		.n_input_names = j->n_in_names,
		.output_names = (const char *const *)j->out_names,
		.n_output_names = j->n_out_names,
		.progress = progress,
		/* ---- extdata ---- */
		.external_data = j->ext_data,
		.external_data_file = j->ext_file,
		/* ---- aten ---- */
		.operator_export_type = j->export_type,
		/* ---- knobs ---- */
		.no_export_params = j->kn.o.no_export_params,
		.keep_initializers_as_inputs = j->kn.o.keep_initializers_as_inputs,
		.no_constant_folding = j->kn.o.no_constant_folding,
		.training = j->kn.o.training,
		.custom_opsets = j->kn.opsets,
		.n_custom_opsets = j->kn.o.n_custom_opsets,
		.doc_strings = j->kn.o.doc_strings,
		.node_names = j->kn.o.node_names,
		.producer_name = j->kn.o.producer_name,
		.metadata = j->kn.meta,
		.n_metadata = j->kn.o.n_metadata,
	};
	/* ---- aten ---- */
	char *fn_copy = NULL;
	char **fn_list = NULL;
	if (j->fn_types) {
		opt.n_function_types = 1; /* every type, unless a list */
		if (*j->fn_types) {
			if (!(fn_copy = strdup(j->fn_types)) ||
			    !(fn_list = split_names(fn_copy, &opt.n_function_types)))
				return error(EXIT_INTERNAL, "out of memory");
			opt.function_types = (const char *const *)fn_list;
		}
	}
	/* ---- end aten ---- */
	p2o_ctx *cx = p2o_new();
	if (!cx)
		return error(EXIT_INTERNAL, "out of memory");
	active = cx;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	progress_start();
	set_phase(PHASE_LOADING);
	double secs[N_STAGES] = { -1, -1, -1, -1, -1 }, t0 = now();
	const char *stage = "load";
	/* For the report, starting libtorch (once a process; done already
	 * in a batch's workers) is timed apart from reading the model.
	 * Without one, a model that is not there fails before libtorch
	 * starts. A failure is p2o_load's to record. */
	if (j->report) {
		char lt_err[64];
		p2o_load_torch_for(j->model, lt_err, sizeof lt_err);
		secs[STAGE_LIBTORCH] = now() - t0;
		t0 = now();
	}
	int code = p2o_load(cx, j->model, &opt);
	secs[STAGE_LOAD] = now() - t0;
	/* p2o_load reads and freezes; the shim times the freezing. */
	secs[STAGE_FREEZE] = p2o_freeze_seconds(cx);
	if (secs[STAGE_FREEZE] >= 0 && secs[STAGE_FREEZE] <= secs[STAGE_LOAD])
		secs[STAGE_LOAD] -= secs[STAGE_FREEZE];
	else
		secs[STAGE_FREEZE] = -1;
	if (code == P2O_OK && j->verbose)
		fprintf(stderr, "TorchScript graph (frozen, canonicalized):\n%s\n",
			p2o_torch_text(cx));
	set_phase(PHASE_CONVERTING);
	if (code == P2O_OK) {
		stage = "convert";
		t0 = now();
		code = p2o_convert(cx, &opt);
		secs[STAGE_CONVERT] = now() - t0;
	}
	if (code == P2O_OK && j->verbose)
		fprintf(stderr, "%s\n", p2o_onnx_text(cx));
	set_phase(PHASE_WRITING);
	if (code == P2O_OK) {
		stage = "write";
		t0 = now();
		code = p2o_write(cx, j->output);
		secs[STAGE_WRITE] = now() - t0;
	}
	for (int i = 0; shared && i < P2O_PENDING_MAX; i++)
		shared->tmp[i][0] = '\0'; /* renamed or removed by now */
	if (show_progress)
		progress_done();
	int rc;
	if (!j->quiet)
		print_warnings(cx); /* ---- aten ---- */
	if (code != P2O_OK) {
		rc = report(cx, code, j->model, j->opset);
	} else {
		rc = EXIT_OK;
		if (!j->quiet) {
			p2o_stats st;
			p2o_get_stats(cx, &st);
			char wsz[32], fsz[32];
			fprintf(stderr,
				"%s: wrote %s (opset %d, IR %d): %zu nodes, %zu "
				"initializers (%s), %zu input%s, %zu output%s, %s\n",
				prog,
				strcmp(j->output, "-") ? j->output : "<stdout>",
				st.opset, st.ir_version, st.nodes, st.initializers,
				human_size(st.weight_bytes, wsz, sizeof wsz),
				st.inputs, st.inputs == 1 ? "" : "s", st.outputs,
				st.outputs == 1 ? "" : "s",
				human_size(st.file_bytes, fsz, sizeof fsz));
			/* ---- extdata ---- */
			if (st.data_path)
				fprintf(stderr, "%s: weights in external data "
						"file %s (%s)\n",
					prog, st.data_path,
					human_size(st.data_bytes, wsz,
						   sizeof wsz));
		}
	}
	rc = job_report(j, cx, code == P2O_OK ? NULL : stage, code, NULL, secs,
			rc);
	active = NULL;
	/* cx is not freed: the process _exits right after (every caller),
	 * and handing the model's ~weights back (libtorch's tensors are
	 * large mappings) would only add ~15 ms of munmap to every run. */
	free(fn_list); /* ---- aten ---- */
	free(fn_copy);
	/* libtorch's static destructors take ~50 ms and release nothing the
	 * exit would not: the caller flushes what is ours and _exits. */
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = error(EXIT_OUTPUT, "cannot write to stdout");
	fflush(stderr);
	return rc;
}

static void job_free(struct job *j)
{
	free(j->words);
	free(j->argv);
	free(j->def_out);
	free(j->specs);
	free(j->in_names);
	free(j->out_names);
	if (j->log)
		fclose(j->log);
	free(j->log_text);
	if (j->cap_fd >= 0)
		close(j->cap_fd);
}

/* ---- --batch: many conversions, one libtorch load ---------------------- */

/* Splits a batch line into j->argv (prog, then the words) with the shell's
 * quoting, minus expansions: 'single quotes' keep everything, "double
 * quotes" let a backslash escape " \ $ and `, a backslash outside quotes
 * escapes any character. Returns NULL, or what is malformed. */
static const char *split_words(const char *line, struct job *j, int *argc)
{
	size_t len = strlen(line);
	/* Words only shrink when unquoted; a word takes at least one byte and
	 * one separator, so there are at most len / 2 + 1 of them. */
	j->words = malloc(len + 1);
	j->argv = malloc((len / 2 + 3) * sizeof *j->argv);
	if (!j->words || !j->argv)
		return "out of memory";
	char *o = j->words;
	int n = 0;
	j->argv[n++] = (char *)prog;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		j->argv[n++] = o;
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '\'') {
				for (p++; *p && *p != '\'';)
					*o++ = *p++;
				if (!*p)
					return "a single quote is not closed";
				p++;
			} else if (*p == '"') {
				for (p++; *p && *p != '"';) {
					if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
						p++;
					*o++ = *p++;
				}
				if (!*p)
					return "a double quote is not closed";
				p++;
			} else if (*p == '\\') {
				if (!p[1])
					return "a backslash ends the line (a job "
					       "is one line)";
				p++;
				*o++ = *p++;
			} else {
				*o++ = *p++;
			}
		}
		*o++ = '\0';
	}
	j->argv[n] = NULL;
	*argc = n;
	return NULL;
}

/* Copies a names array (the strings stay where they are). */
static bool dup_names(char ***v, size_t n)
{
	if (!*v)
		return true;
	char **c = malloc((n + 1) * sizeof *c);
	if (c)
		memcpy(c, *v, (n + 1) * sizeof *c);
	*v = c;
	return c != NULL;
}

/* Prints a job's collected messages to stderr, each line prefixed with
 * "FILE:LINE: " so that they can be told apart from other jobs'. */
static void show_log(struct job *j, const char *name)
{
	if (!j->log || fflush(j->log) != 0)
		return;
	const char *p = j->log_text, *end = p + j->log_len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		fprintf(stderr, "%s:%d: %.*s\n", name, j->line, (int)len, p);
		p += len + (nl != NULL);
	}
}

/* Makes job j from a batch line, on top of the command line's options in
 * base. A line whose options are wrong becomes a job that failed (exit 2);
 * a line that is not a job at all (bad quoting, --batch in it) fails the
 * batch: returns EXIT_USAGE. */
static int job_from_line(struct job *j, const struct job *base,
			 const char *line, int lineno, const char *name)
{
	*j = (struct job){
		.line = lineno,
		.output = base->output,
		.opset = base->opset,
		.verbose = base->verbose,
		.quiet = base->quiet,
		.n_specs = base->n_specs,
		.in_names = base->in_names,
		.n_in_names = base->n_in_names,
		.out_names = base->out_names,
		.n_out_names = base->n_out_names,
		.status = -1,
		.cap_fd = -1,
		/* ---- extdata ---- */
		.ext_data = base->ext_data,
		.ext_file = base->ext_file,
		/* ---- aten ---- */
		.export_type = base->export_type,
		.fn_types = base->fn_types,
		/* ---- knobs ---- */
		.kn = base->kn,
	};
	if (!(j->log = open_memstream(&j->log_text, &j->log_len)))
		return error(EXIT_INTERNAL, "out of memory");
	if (base->n_specs &&
	    (j->specs = malloc(base->n_specs * sizeof *j->specs)))
		memcpy(j->specs, base->specs, base->n_specs * sizeof *j->specs);
	if ((base->n_specs && !j->specs) || !dup_names(&j->in_names, j->n_in_names) ||
	    !dup_names(&j->out_names, j->n_out_names)) {
		j->in_names = j->out_names = NULL;
		return error(EXIT_INTERNAL, "out of memory");
	}
	int argc = 0;
	errout = j->log;
	const char *bad = split_words(line, j, &argc);
	bool structural = bad != NULL;
	int rc = bad ? error(EXIT_USAGE, "%s", bad) :
		       parse_args(argc, j->argv, j, &(enum action){ 0 }, NULL,
				  &structural);
	errout = stderr;
	if (structural) {
		show_log(j, name);
		return EXIT_USAGE;
	}
	if (rc != EXIT_OK)
		j->status = rc;
	return EXIT_OK;
}

/* What identifies an output file: the existing file itself (device and
 * inode), else its path with the folder resolved; "c" for a character
 * device, which jobs may share (/dev/null). Owned by the caller. */
static char *output_key(const char *path)
{
	struct stat st;
	char *key = malloc(strlen(path) + PATH_MAX + 64);
	if (!key)
		return NULL;
	if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
		strcpy(key, "c");
		return key;
	}
	if (stat(path, &st) == 0) {
		sprintf(key, "i%llu:%llu", (unsigned long long)st.st_dev,
			(unsigned long long)st.st_ino);
		return key;
	}
	char *d = strdup(path), *f = strdup(path);
	char *real = d ? realpath(dirname(d), NULL) : NULL;
	if (real && f)
		sprintf(key, "p%s/%s", real, basename(f));
	else
		sprintf(key, "p%s", path); /* the job will fail check_output */
	free(real);
	free(d);
	free(f);
	return key;
}

/* ---- extdata ---- */
/* The external data file job j writes with --external-data (as the
 * library names it: beside the output path as given); malloc'ed. */
static char *data_path(const struct job *j)
{
	const char *slash = strrchr(j->output, '/');
	const char *base = slash ? slash + 1 : j->output;
	int dlen = slash ? (int)(slash - j->output) + 1 : 0;
	const char *name = j->ext_file ? j->ext_file : base;
	const char *ext = j->ext_file ? "" : ".data";
	size_t len = (size_t)dlen + strlen(name) + strlen(ext) + 1;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%.*s%s%s", dlen, j->output, name, ext);
	return p;
}

/* An output key and the job it belongs to, for sorting. */
struct out_key {
	char *key;  /* output_key() */
	size_t job; /* index into the batch's jobs */
	int what;   /* KEY_OUTPUT, KEY_REPORT or KEY_DATA */
	char *data; /* the external data file's path for KEY_DATA (owned) */
};

/* The files a job writes: its model, its --report file (---- report ----)
 * and its external data file (---- extdata ----). */
enum { KEY_OUTPUT, KEY_REPORT, KEY_DATA, KEYS_PER_JOB };

static int cmp_out_key(const void *a, const void *b)
{
	const struct out_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->job > y->job) - (x->job < y->job);
}

/* What a key is, for messages. */
static const char *key_what(int what)
{
	return what == KEY_DATA ? "external data file" :
	       what == KEY_REPORT ? "--report file" : "output";
}

/* The path of key k, for messages. */
static const char *out_key_path(const struct job *j, const struct out_key *k)
{
	return k->what == KEY_DATA ? k->data :
	       k->what == KEY_REPORT ? j->report : j->output;
}

/* Two jobs writing one file would race (and one result would be lost):
 * refuse the batch before any job runs. Sorting keeps this n log n. */
static int check_distinct_outputs(struct job **jobs, size_t n, const char *name)
{
	struct out_key *k = calloc(KEYS_PER_JOB * n + 1, sizeof *k);
	if (!k)
		return error(EXIT_INTERNAL, "out of memory");
	size_t m = 0;
	int rc = EXIT_OK;
	for (size_t i = 0; i < KEYS_PER_JOB * n && rc == EXIT_OK; i++) {
		struct job *j = jobs[i / KEYS_PER_JOB];
		int what = (int)(i % KEYS_PER_JOB);
		if (j->status >= 0)
			continue; /* its line is wrong already */
		if (what == KEY_REPORT && !j->report)
			continue;
		if (what == KEY_DATA &&
		    (!j->ext_data || strcmp(j->output, "-") == 0))
			continue;
		k[m].what = what;
		if (what == KEY_DATA && !(k[m].data = data_path(j))) {
			rc = error(EXIT_INTERNAL, "out of memory");
			break;
		}
		if (!(k[m].key = output_key(out_key_path(j, &k[m])))) {
			free(k[m].data);
			rc = error(EXIT_INTERNAL, "out of memory");
		} else if (strcmp(k[m].key, "c") == 0) {
			free(k[m].key);
			free(k[m].data);
		} else {
			k[m++].job = i / KEYS_PER_JOB;
		}
	}
	if (rc == EXIT_OK)
		qsort(k, m, sizeof *k, cmp_out_key);
	for (size_t i = 1; i < m && rc != EXIT_INTERNAL; i++) {
		if (strcmp(k[i].key, k[i - 1].key) != 0)
			continue;
		struct job *j = jobs[k[i].job];
		if (k[i].what == KEY_OUTPUT && k[i - 1].what == KEY_OUTPUT)
			fprintf(stderr, "%s:%d: %s: error: output '%s' is the "
					"output of line %d too\n",
				name, j->line, prog, j->output,
				jobs[k[i - 1].job]->line);
		else
			fprintf(stderr, "%s:%d: %s: error: '%s' (its %s) is "
					"line %d's %s too\n",
				name, j->line, prog, out_key_path(j, &k[i]),
				key_what(k[i].what), jobs[k[i - 1].job]->line,
				key_what(k[i - 1].what));
		rc = EXIT_USAGE;
	}
	for (size_t i = 0; i < m; i++) {
		free(k[i].key);
		free(k[i].data);
	}
	free(k);
	return rc;
}

/* The running batch: its workers' report pages and jobs, by slot. */
struct batch_run {
	struct shared_state *states; /* nslots pages, shared with workers */
	pid_t *pids;                 /* = workers: each slot's worker, or 0 */
	size_t *job;                 /* each slot's job index */
	int nslots, running;
};

/* Starts job i in a free slot; or, when its output is not writable or no
 * worker can be made, records its failure. */
static void start_job(struct batch_run *r, struct job **jobs, size_t i)
{
	struct job *j = jobs[i];
	int s = 0;
	while (r->pids[s])
		s++;
	errout = j->log;
	int rc = check_report(j->report, j->output, j->model);
	bool reportable = rc == EXIT_OK; /* ---- report ---- */
	if (rc == EXIT_OK)
		rc = check_output(j->output, j->model);
	const char *fail_stage = rc != EXIT_OK ? "output" : "worker";
	/* The worker's stderr goes to a file that is read back when it
	 * exits, so that jobs running at once are not interleaved. */
	FILE *cap = NULL;
	if (rc == EXIT_OK && !(cap = tmpfile()))
		rc = error(EXIT_INTERNAL, "cannot make a file for the job's "
					  "messages: %s", strerror(errno));
	if (cap) {
		j->cap_fd = dup(fileno(cap));
		fclose(cap);
		if (j->cap_fd < 0)
			rc = error(EXIT_INTERNAL, "cannot make a file for the "
						  "job's messages: %s",
				   strerror(errno));
	}
	pid_t pid = rc == EXIT_OK ? spawn_worker(&r->states[s]) : 1;
	if (pid == 0) {
		n_workers = 0; /* the siblings are the supervisor's */
		dup2(j->cap_fd, STDERR_FILENO);
		close(j->cap_fd);
		errout = stderr;
		_exit(convert_one(j));
	}
	if (pid < 0)
		rc = error(EXIT_INTERNAL, "cannot start a worker: %s",
			   strerror(errno));
	if (rc != EXIT_OK && reportable)
		rc = job_failed(j, fail_stage, rc);
	errout = stderr;
	if (rc != EXIT_OK) {
		j->status = rc;
		return;
	}
	r->pids[s] = pid;
	r->job[s] = i;
	r->running++;
}

/* A worker is done: collect its messages and its verdict. */
static void finish_job(struct batch_run *r, struct job **jobs, int s,
		       int status)
{
	struct job *j = jobs[r->job[s]];
	r->pids[s] = 0;
	r->running--;
	char buf[8192];
	ssize_t got;
	/* A worker that died of a signal may have printed glibc's or
	 * libtorch's last words: dropped for the one line of its verdict. */
	if (WIFEXITED(status) && lseek(j->cap_fd, 0, SEEK_SET) == 0)
		while ((got = read(j->cap_fd, buf, sizeof buf)) > 0)
			fwrite(buf, 1, (size_t)got, j->log);
	close(j->cap_fd);
	j->cap_fd = -1;
	errout = j->log;
	j->status = worker_verdict(status, &r->states[s], j->model, NULL);
	if (!WIFEXITED(status)) /* ---- report ---- */
		j->status = job_failed(j, "worker", j->status);
	errout = stderr;
}

/* Prints a finished job: its messages on stderr, its result line on
 * stdout ("LINE ok OUTPUT", "LINE exit=N OUTPUT"). */
static void show_job(struct job *j, const char *name)
{
	show_log(j, name);
	if (j->status == EXIT_OK)
		printf("%d ok", j->line);
	else
		printf("%d exit=%d", j->line, j->status);
	if (j->output)
		printf(" %s", j->output);
	putchar('\n');
	fflush(stdout);
}

/* Runs the jobs, up to nslots at once, each in its own worker; prints the
 * results in line order as they become known. Returns the highest exit
 * status of all jobs. */
static int run_jobs(struct job **jobs, size_t n, int nslots, const char *name)
{
	char err[1024 + 3 * 4096];
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any = any || jobs[i]->status < 0;
	/* libtorch is loaded once, here, before any fork: every worker
	 * inherits it initialized. Loading only maps libraries and runs
	 * static constructors; it starts no thread (no op has run in this
	 * process, so OpenMP's and ATen's pools do not exist yet), which is
	 * what makes forking after it safe. */
	if (any && p2o_load_torch(err, sizeof err) != P2O_OK)
		return error(EXIT_INTERNAL, "%s", err);
	struct batch_run r = { .nslots = nslots };
	r.states = mmap(NULL, (size_t)nslots * sizeof *r.states,
			PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	r.pids = calloc((size_t)nslots, sizeof *r.pids);
	r.job = calloc((size_t)nslots, sizeof *r.job);
	int worst = EXIT_OK;
	if (r.states == MAP_FAILED || !r.pids || !r.job) {
		worst = error(EXIT_INTERNAL, "out of memory");
		goto out;
	}
	workers = r.pids;
	n_workers = nslots;
	forward_signals();
	size_t next = 0, shown = 0;
	while (shown < n) {
		while (!stop_sig && r.running < nslots && next < n) {
			if (jobs[next]->status < 0)
				start_job(&r, jobs, next);
			next++;
		}
		for (; shown < n && jobs[shown]->status >= 0; shown++) {
			show_job(jobs[shown], name);
			if (jobs[shown]->status > worst)
				worst = jobs[shown]->status;
		}
		if (shown == n || (stop_sig && r.running == 0))
			break;
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			worst = error(EXIT_INTERNAL, "lost the workers: %s",
				      strerror(errno));
			break;
		}
		for (int s = 0; s < nslots; s++)
			if (r.pids[s] == pid)
				finish_job(&r, jobs, s, status);
	}
	n_workers = 0;
	if (stop_sig) {
		/* Stopped from outside: stop the same way, once every worker
		 * is gone (each removed its temporary file). */
		signal(stop_sig, SIG_DFL);
		raise(stop_sig);
	}
out:
	if (r.states != MAP_FAILED)
		munmap(r.states, (size_t)nslots * sizeof *r.states);
	free(r.pids);
	free(r.job);
	return worst;
}

/* --batch FILE: reads every line first (so that a malformed one or two
 * jobs with one output stop the batch before anything runs), then runs. */
static int run_batch(const struct batch_opts *b, const struct job *base)
{
	bool std_in = strcmp(b->file, "-") == 0;
	const char *name = std_in ? "<stdin>" : b->file;
	FILE *in = std_in ? stdin : fopen(b->file, "r");
	if (!in)
		return error(EXIT_USAGE, "cannot read --batch file '%s': %s",
			     b->file, strerror(errno));
	struct job **jobs = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	int lineno = 0, rc = EXIT_OK;
	while (rc == EXIT_OK && (len = getline(&line, &lcap, in)) >= 0) {
		lineno++;
		if ((size_t)len != strlen(line)) {
			rc = error(EXIT_USAGE, "%s:%d: a NUL byte in the line",
				   name, lineno);
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		const char *p = line + strspn(line, " \t");
		if (!*p || *p == '#')
			continue;
		if (n == cap) {
			/* Jobs never move once made: each log's memstream
			 * holds pointers into its job. */
			size_t nc = cap ? 2 * cap : 16;
			struct job **nj = realloc(jobs, nc * sizeof *nj);
			if (!nj) {
				rc = error(EXIT_INTERNAL, "out of memory");
				break;
			}
			jobs = nj;
			cap = nc;
		}
		if (!(jobs[n] = malloc(sizeof *jobs[n]))) {
			rc = error(EXIT_INTERNAL, "out of memory");
			break;
		}
		rc = job_from_line(jobs[n++], base, line, lineno, name);
	}
	if (rc == EXIT_OK && ferror(in))
		rc = error(EXIT_USAGE, "cannot read --batch file '%s': %s",
			   b->file, strerror(errno));
	if (!std_in)
		fclose(in);
	free(line);
	if (rc == EXIT_OK)
		rc = check_distinct_outputs(jobs, n, name);
	if (rc == EXIT_OK)
		rc = run_jobs(jobs, n, b->jobs ? (int)b->jobs : 1, name);
	for (size_t i = 0; i < n; i++) {
		job_free(jobs[i]);
		free(jobs[i]);
	}
	free(jobs);
	return rc;
}

int main(int argc, char **argv)
{
	errout = stderr;
	/* libtorch brings its BLAS; OpenBLAS (Debian's libopenblas0, which
	 * libtorch recommends) reserves a buffer per thread when it loads,
	 * hundreds of MB of address space on a many-core machine, though a
	 * conversion never multiplies a matrix. One thread unless the user
	 * says otherwise: the memory goes to the model, and a --batch's
	 * workers do not each carry the reservation. */
	setenv("OPENBLAS_NUM_THREADS", "1", 0);
	struct job j = { .opset = P2O_OPSET_DEFAULT, .cap_fd = -1 };
	struct batch_opts b = { NULL, 0 };
	enum action act;
	char err[1024 + 3 * 4096];
	int rc = parse_args(argc, argv, &j, &act, &b, NULL);
	if (rc != EXIT_OK)
		return rc;
	switch (act) {
	case ACT_HELP:
		help();
		return EXIT_OK;
	case ACT_LIST_OPS:
		list_ops();
		return EXIT_OK;
	case ACT_VERSION:
		if (p2o_load_torch(err, sizeof err) != P2O_OK)
			return error(EXIT_INTERNAL, "%s", err);
		printf("%s %s (libtorch %s, ONNX opsets %d-%d)\n", prog,
		       PT2ONNX_VERSION, p2o_torch_version(), P2O_OPSET_MIN,
		       P2O_OPSET_MAX);
		return EXIT_OK;
	case ACT_CONVERT:
		break;
	}
	if (b.file)
		rc = run_batch(&b, &j);
	else if ((rc = check_report(j.report, j.output, j.model)) != EXIT_OK)
		; /* nowhere to report it */
	else if ((rc = check_output(j.output, j.model)) != EXIT_OK)
		rc = job_failed(&j, "output", rc);
	else {
		show_progress = !j.quiet && isatty(STDERR_FILENO);
		rc = supervise(j.model, j.output, &j);
		if (rc < 0)
			rc = convert_one(&j);
	}
	job_free(&j);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = error(EXIT_OUTPUT, "cannot write to stdout");
	fflush(stderr);
	/* A worker's supervisor reads its stderr to the end: closed now, the
	 * supervisor goes on while this process's memory is torn down. */
	close(STDERR_FILENO);
	_exit(rc);
}
