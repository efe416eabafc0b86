/* shimload.c — libtorch on demand. The shim (shim/pts.cpp) is built as a
 * shared object, libpt2onnx-torch.so, linked against libtorch; the command
 * does not link libtorch at all. Loading libtorch maps some 290 shared
 * libraries and runs their static constructors (about half a second), which
 * --help, a usage error or --list-ops should not pay: the shim is opened
 * with dlopen the first time a conversion (or --version) needs it.
 *
 * The rest of lib/ keeps calling pts_load(), pts_free() & co.: this file
 * defines those names as forwarders to the entry points found in the shared
 * object. The executable does not export its symbols (no -rdynamic), so the
 * shim's own definitions never bind to these. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define SHIM_NAME "libpt2onnx-torch.so"

/* Where `make install` puts the shim; overridden by the Makefile. */
#ifndef P2O_LIBDIR
#define P2O_LIBDIR "/usr/local/lib/pt2onnx"
#endif

/* The shim's entry points, resolved once; all NULL until it is open. */
static struct {
	void *handle; /* dlopen handle; never closed (libtorch cannot unload) */
	int (*load)(const char *, pts_model **, char *, size_t);
	const pts_graph *(*graph_of)(const pts_model *);
	const char *(*graph_text)(pts_model *);
	void (*free)(pts_model *);
	const char *(*torch_version)(void);
	double (*freeze_seconds)(const pts_model *); /* ---- report ----
							optional: NULL */
	/* ---- aten ---- */
	int (*node_types)(pts_model *, const pts_node *, const int *,
			  const int *, const int64_t *const *, int *, int *);
	/* ---- knobs ---- */
	int (*load_with)(const char *, const pts_load_opts *, pts_model **,
			 char *, size_t);
	int (*training)(const pts_model *);
	size_t (*params)(const pts_model *, const char *const **,
			 const uint32_t **);
	const char *(*node_scope)(const pts_model *, const pts_node *);
	int (*weight_pool)(void *, size_t); /* optional: NULL */
} shim;

/* Appends "DIR/" SHIM_NAME to the candidate list unless already there. */
static void add_candidate(char cand[][PATH_MAX], int *n, const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, SHIM_NAME) >=
	    (int)sizeof path)
		return;
	for (int i = 0; i < *n; i++)
		if (strcmp(cand[i], path) == 0)
			return;
	memcpy(cand[(*n)++], path, sizeof path);
}

/* Resolves one entry point; false (with the message in err) if missing. */
static bool resolve(void **fn, const char *name, const char *path, char *err,
		    size_t errlen)
{
	*fn = dlsym(shim.handle, name);
	if (!*fn)
		snprintf(err, errlen, "cannot load libtorch support: %s lacks "
				      "%s (is it from another pt2onnx build?)",
			 path, name);
	return *fn != NULL;
}

/* Opens the libraries the shim needs, in the order listed beside it
 * (SHIM.deps, written by scripts/shimdeps.sh at build time: each after the
 * ones it needs). Loading each on its own, before the shim, lets it bind
 * its symbols in the short search list of its own dependencies instead of
 * the shim's ~290-library one; libtorch starts ~0.08 s sooner. Symbols
 * bind to the same definitions but for duplicate copies of inline and
 * template code, which are interchangeable. Best effort: a library that
 * fails to open alone (one that leans on its neighbours' symbols) is
 * opened by the shim's dlopen below, which reports any real failure. */
static void open_dependencies(const char *shim_path)
{
	char list[PATH_MAX];
	if (snprintf(list, sizeof list, "%s.deps", shim_path) >= (int)sizeof list)
		return;
	FILE *f = fopen(list, "re");
	if (!f)
		return;
	char line[PATH_MAX + 2];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '/')
			(void)dlopen(line, RTLD_LAZY | RTLD_LOCAL);
	}
	fclose(f);
	(void)dlerror();
}

int p2o_load_torch(char *err, size_t errlen)
{
	if (shim.handle)
		return P2O_OK;
	/* Next to the executable (the build folder), then the install layout
	 * relative to it (PREFIX/bin -> PREFIX/lib/pt2onnx), then the
	 * configured PREFIX. */
	char cand[3][PATH_MAX];
	int n = 0;
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			add_candidate(cand, &n, exe);
			char up[PATH_MAX];
			if (snprintf(up, sizeof up, "%s/../lib/pt2onnx", exe) <
			    (int)sizeof up)
				add_candidate(cand, &n, up);
		}
	}
	add_candidate(cand, &n, P2O_LIBDIR);

	for (int i = 0; i < n; i++) {
		if (access(cand[i], F_OK) != 0)
			continue;
		/* RTLD_LAZY, as the linked executable used to bind: binding
		 * all of libtorch's functions up front costs ~60 ms a run. A
		 * missing libtorch library still fails here, with a message. */
		open_dependencies(cand[i]);
		shim.handle = dlopen(cand[i], RTLD_LAZY | RTLD_LOCAL);
		if (!shim.handle) {
			const char *why = dlerror();
			snprintf(err, errlen, "cannot load libtorch support: %s",
				 why ? why : cand[i]);
			return P2O_ERR_RUNTIME;
		}
		if (!resolve((void **)&shim.load, "pts_load", cand[i], err,
			     errlen) ||
		    !resolve((void **)&shim.graph_of, "pts_graph_of", cand[i],
			     err, errlen) ||
		    !resolve((void **)&shim.graph_text, "pts_graph_text",
			     cand[i], err, errlen) ||
		    !resolve((void **)&shim.free, "pts_free", cand[i], err,
			     errlen) ||
		    !resolve((void **)&shim.torch_version, "pts_torch_version",
			     cand[i], err, errlen) ||
		    /* ---- aten ---- */
		    !resolve((void **)&shim.node_types, "pts_node_types",
			     cand[i], err, errlen) ||
		    /* ---- knobs ---- */
		    !resolve((void **)&shim.load_with, "pts_load_with",
			     cand[i], err, errlen) ||
		    !resolve((void **)&shim.training, "pts_training", cand[i],
			     err, errlen) ||
		    !resolve((void **)&shim.params, "pts_params", cand[i], err,
			     errlen) ||
		    !resolve((void **)&shim.node_scope, "pts_node_scope",
			     cand[i], err, errlen)) {
			memset(&shim, 0, sizeof shim); /* handle leaks: harmless */
			return P2O_ERR_RUNTIME;
		}
		/* ---- report ---- */
		shim.freeze_seconds = (double (*)(const pts_model *))dlsym(
			shim.handle, "pts_freeze_seconds");
		shim.weight_pool = (int (*)(void *, size_t))dlsym(
			shim.handle, "pts_weight_pool");
		/* Before any fork: a --batch's workers inherit the table. */
		void (*warm)(void) = (void (*)(void))dlsym(shim.handle,
							   "pts_warm");
		if (warm)
			warm();
		return P2O_OK;
	}
	/* Name every place looked in, so that a broken install is fixable
	 * from the message alone. */
	size_t off = (size_t)snprintf(err, errlen, "cannot load libtorch "
						   "support: %s not found (looked "
						   "for",
				      SHIM_NAME);
	for (int i = 0; i < n && off < errlen; i++)
		off += (size_t)snprintf(err + off, errlen - off, "%s %s",
					i ? "," : "", cand[i]);
	if (off < errlen)
		snprintf(err + off, errlen - off, ")");
	return P2O_ERR_RUNTIME;
}

/* The weight pool. Loading libtorch keeps one core busy for ~0.3 s; the
 * weights libtorch then reads land in fresh memory, which the copy faults
 * in page by page (resnet50: ~22,000 faults, ~40 ms). Meanwhile a second
 * thread maps and faults in as many bytes as the model file has, which
 * the shim then hands to libtorch for its tensors (see pts_weight_pool;
 * the unused rest is returned after loading). The weights cannot need
 * more than the file holds but for compressed records (rare), and what
 * the pool cannot give comes from libtorch's allocator as before, so the
 * pool adds no memory to the peak beyond a file's non-tensor bytes. Only
 * for files of 8 to 512 MiB: below, nothing worth a thread; above, the
 * faulting outlasts libtorch's load, and the pool would hold pages that
 * tensors too large for its rest never use until loading ends. */
#define POOL_MIN_FILE ((off_t)8 << 20)
#define POOL_MAX_FILE ((off_t)512 << 20)

struct prefault {
	size_t len;
	void *base; /* NULL when the mapping failed */
};

static void *prefault_run(void *arg)
{
	struct prefault *p = arg;
	char *m = mmap(NULL, p->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		p->base = NULL;
		return NULL;
	}
	/* A write per page, not MAP_POPULATE: that holds the address-space
	 * lock throughout, which dlopen's own mappings would wait for.
	 * (Nobody else sees these pages before the thread is joined.) */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	for (size_t off = 0; off < p->len; off += page)
		((volatile char *)m)[off] = 0;
	p->base = m;
	return NULL;
}

/* Whether the process's address space or data size is limited (ulimit
 * -v, -d): there the pool's bytes would count against the room libtorch
 * needs, so no pool is made. */
static bool memory_limited(void)
{
	struct rlimit as, data;
	return getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur != RLIM_INFINITY ||
	       getrlimit(RLIMIT_DATA, &data) != 0 ||
	       data.rlim_cur != RLIM_INFINITY;
}

int p2o_load_torch_for(const char *model, char *err, size_t errlen)
{
	if (shim.handle)
		return p2o_load_torch(err, errlen);
	struct stat st;
	struct prefault pf = { 0 };
	pthread_t t;
	bool started = false;
	if (model && stat(model, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= POOL_MIN_FILE && st.st_size <= POOL_MAX_FILE &&
	    !memory_limited()) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		pf.len = ((size_t)st.st_size + page - 1) / page * page;
		started = pthread_create(&t, NULL, prefault_run, &pf) == 0;
	}
	int rc = p2o_load_torch(err, errlen);
	if (started) {
		pthread_join(t, NULL);
		if (pf.base && rc == P2O_OK && shim.weight_pool &&
		    shim.weight_pool(pf.base, pf.len)) {
			/* libtorch's now */
		} else if (pf.base) {
			munmap(pf.base, pf.len);
			/* The pool must never be why libtorch fails to load
			 * (memory short): once more without it. */
			if (rc != P2O_OK)
				rc = p2o_load_torch(err, errlen);
		}
	}
	return rc;
}

const char *p2o_torch_version(void)
{
	char err[16];
	if (p2o_load_torch(err, sizeof err) != P2O_OK)
		return NULL;
	return shim.torch_version();
}

/* The forwarders. pts_load is reached only through p2o_load, which opens
 * the shim first; the others only with a model pts_load made. */
int pts_load(const char *path, pts_model **out, char *err, size_t errlen)
{
	assert(shim.load);
	return shim.load(path, out, err, errlen);
}

const pts_graph *pts_graph_of(const pts_model *m)
{
	assert(shim.graph_of);
	return shim.graph_of(m);
}

const char *pts_graph_text(pts_model *m)
{
	assert(shim.graph_text);
	return shim.graph_text(m);
}

void pts_free(pts_model *m)
{
	if (m) /* p2o_free of a context that never loaded: no shim needed */
		shim.free(m);
}

const char *pts_torch_version(void)
{
	assert(shim.torch_version);
	return shim.torch_version();
}

/* ---- report ---- */
double pts_freeze_seconds(const pts_model *m)
{
	return shim.freeze_seconds && m ? shim.freeze_seconds(m) : -1;
}

/* ---- aten ---- */
int pts_node_types(pts_model *m, const pts_node *n, const int *dtypes,
		   const int *ranks, const int64_t *const *dims,
		   int *out_dtypes, int *out_ranks)
{
	assert(shim.node_types);
	return shim.node_types(m, n, dtypes, ranks, dims, out_dtypes, out_ranks);
}

/* ---- knobs ---- */
int pts_load_with(const char *path, const pts_load_opts *opts,
		  pts_model **out, char *err, size_t errlen)
{
	assert(shim.load_with);
	return shim.load_with(path, opts, out, err, errlen);
}

int pts_training(const pts_model *m)
{
	assert(shim.training);
	return shim.training(m);
}

size_t pts_params(const pts_model *m, const char *const **names,
		  const uint32_t **values)
{
	assert(shim.params);
	return shim.params(m, names, values);
}

const char *pts_node_scope(const pts_model *m, const pts_node *n)
{
	assert(shim.node_scope);
	return shim.node_scope(m, n);
}
