# pt2onnx — build, test, demo, bench, install.
#
#   make            build build/pt2onnx
#   make test       install dependencies, build, run every test (bats, TAP)
#   make demo       install dependencies, build, convert the bundled model
#   make bench      resnet50: pt2onnx against torch.onnx.export, same run
#   make check-asan build with AddressSanitizer+UBSan into build-asan/, run
#                   the CLI, error, batch suites and a sample of the op suite
#   make install    PREFIX=/usr/local DESTDIR= : binary, libtorch shim, man page
#   make fuzz       FUZZ_SECONDS=N: AFL++ on the archive loader and on the
#                   command line, N seconds each, findings in build/fuzz/
#   make fuzz-replay  the fuzz harnesses built with cc, for the corpus replay
#   make v2-zoo     PyTorch 2.6 archives of torchvision networks, made in a
#                   Debian 13 chroot (V2_CHROOT, built by debootstrap), as
#                   the skeletons of testdata/v2/zoo (tests/v2zoo.bats)
#   make LIBTORCH=DIR  the shim against another libtorch (a release tree
#                   or the torch/ folder of a PyTorch install)

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build

CC      ?= cc
CXX     ?= g++
CFLAGS  ?= -O2 -g
CXXFLAGS ?= -O2 -g
WARN     = -Wall -Wextra
TORCH_INC = -I/usr/include/torch/csrc/api/include
# LIBTORCH=DIR: build the shim against the libtorch in DIR (include/ and
# lib/, as in a libtorch release or a PyTorch install's torch/ folder)
# instead of Debian's; the shim finds its libraries there at run time.
LIBTORCH ?=
ifneq ($(LIBTORCH),)
TORCH_INC = -I$(LIBTORCH)/include -I$(LIBTORCH)/include/torch/csrc/api/include
TORCH_LDFLAGS = -L$(LIBTORCH)/lib -Wl,-rpath,$(LIBTORCH)/lib
endif

GEN      = $(BUILD)/gen
CPPFLAGS_ALL = -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Ilib -Ishim -I$(GEN)
# The command links no C++ and no libtorch: the shim is a shared object
# that lib/shimload.c opens with dlopen when a conversion needs it, so that
# --help and usage errors do not pay libtorch's start-up. The shim checks
# archives with zlib.
LIBS     = -lprotobuf-c -lm -ldl -lcjson -pthread
TORCH_LIBS = -ltorch -ltorch_cpu -lc10 -lz
LIBDIR   = $(PREFIX)/lib/pt2onnx

LIB_SRC  = $(wildcard lib/*.c) $(wildcard lib/ops/*.c)
LIB_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
CMD_OBJ  = $(BUILD)/cmd/pt2onnx.o $(CMD_EXTRA)
# ---- report ----
# The command's other files (everything but main's), linked by the fuzz
# harness of the command line too; cJSON writes --report.
CMD_EXTRA = $(BUILD)/cmd/report.o $(BUILD)/cmd/sha256.o
SHIM_OBJ = $(BUILD)/shim/pts.o
SHIM_SO  = $(BUILD)/libpt2onnx-torch.so
PROTO_OBJ = $(GEN)/onnx.pb-c.o
BIN      = $(BUILD)/pt2onnx

.PHONY: all deps test demo bench install uninstall clean fixtures models \
	v2-fixtures v2-zoo \
	check-asan fuzz fuzz-replay fuzz-harnesses hostile

all: $(BIN) $(SHIM_SO)

$(BIN): $(CMD_OBJ) $(LIB_OBJ) $(PROTO_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LIBS)

# Beside the shim, the libraries it loads in the order lib/shimload.c opens
# them (leaves first: a faster start, see scripts/shimdeps.sh). Made in the
# same recipe, so the two never disagree.
$(SHIM_SO): $(SHIM_OBJ) scripts/shimdeps.sh
	$(CXX) $(CXXFLAGS) -shared -o $@ $(SHIM_OBJ) $(LDFLAGS) $(TORCH_LDFLAGS) $(TORCH_LIBS)
	sh scripts/shimdeps.sh $@ > $@.deps.tmp && mv $@.deps.tmp $@.deps

# protoc-c output is generated here, never committed.
$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h: proto/onnx.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) proto/onnx.proto

$(PROTO_OBJ): $(GEN)/onnx.pb-c.c
	$(CC) -std=c11 $(CFLAGS) -I$(GEN) -c -o $@ $<

$(BUILD)/%.o: %.c $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -MMD -MP $(CPPFLAGS_ALL) -c -o $@ $<

# The op table and the ONNX operator table are binary-searched: their order
# is checked in every build, before the files that include them compile.
TABLES = lib/ops/ops.def lib/onnx_ops.def
$(BUILD)/tables.ok: $(TABLES) scripts/check_tables.sh
	@mkdir -p $(BUILD)
	sh scripts/check_tables.sh $(TABLES)
	@touch $@
$(BUILD)/lib/registry.o $(BUILD)/lib/infer.o: $(BUILD)/tables.ok

$(SHIM_OBJ): shim/pts.cpp shim/pts.h shim/aten2x.def
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -fPIC $(CXXFLAGS) $(WARN) $(TORCH_INC) -c -o $@ $<

# The install location of the shim is compiled into its loader (besides
# the search next to the executable and in ../lib/pt2onnx from it).
$(BUILD)/lib/shimload.o: CPPFLAGS_ALL += -DP2O_LIBDIR='"$(LIBDIR)"'

# A test-only program over lib's internals (tests/tables.bats runs it).
TABLES_TEST = $(BUILD)/tests/tables_test
$(TABLES_TEST): $(BUILD)/tests/tables_test.o $(LIB_OBJ) $(PROTO_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LIBS)

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(BUILD)/tests/tables_test.d

# ---- fuzzing (tests/fuzz/) -------------------------------------------------
# The harnesses link the same objects as the binary. `make fuzz` builds them
# again with AFL++'s compilers in $(BUILD)/fuzz/afl and runs both fuzzers at
# once, niced, for FUZZ_SECONDS each; `make fuzz-replay` builds them with
# the ordinary compilers, which is what the test suite replays the corpus
# with (no afl++ needed).
FUZZ_SECONDS ?= 600
AFL_CC  ?= afl-clang-fast
AFL_CXX ?= afl-clang-fast++
FUZZ_DIR = $(BUILD)/fuzz
FUZZ_BIN = $(BUILD)/fuzz-load $(BUILD)/fuzz-cmdline
# AFL's checks of the machine do not apply to a shared build host.
AFL_ENV = AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 AFL_AUTORESUME=1 \
	  AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
FUZZ_MODEL = testdata/demo/tinynet.pt
# Checksums are skipped in the fuzzing build (see shim/pts.cpp).
FUZZ_FLAGS = -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION

fuzz-harnesses: $(FUZZ_BIN)

fuzz-replay: $(FUZZ_BIN)

$(BUILD)/cmd/pt2onnx_main.o: cmd/pt2onnx.c $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -Dmain=pt2onnx_main $(CPPFLAGS_ALL) -c -o $@ $<

# Like the binary, they open the shim (built beside them) on demand.
$(BUILD)/fuzz-load: $(BUILD)/tests/fuzz/load.o $(LIB_OBJ) $(PROTO_OBJ) | $(SHIM_SO)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LIBS)

$(BUILD)/fuzz-cmdline: $(BUILD)/tests/fuzz/cmdline.o $(BUILD)/cmd/pt2onnx_main.o \
		$(CMD_EXTRA) $(LIB_OBJ) $(PROTO_OBJ) | $(SHIM_SO)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LIBS)

fuzz:
	$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR)/afl CC=$(AFL_CC) \
		CXX=$(AFL_CXX) CXXFLAGS="$(CXXFLAGS) $(FUZZ_FLAGS)" fuzz-harnesses
	@rm -rf $(FUZZ_DIR)/seeds-load $(FUZZ_DIR)/seeds-cmdline
	@mkdir -p $(FUZZ_DIR)/seeds-load $(FUZZ_DIR)/seeds-cmdline $(FUZZ_DIR)/scratch
	cp testdata/errors/conv3ch.pt testdata/errors/setattr.pt \
	   testdata/errors/unsupported.pt testdata/ops/relu_inplace.pt \
	   testdata/ops/matmul.pt testdata/ops/add_alpha.pt $(FUZZ_DIR)/seeds-load/
	bash scripts/cmdline_corpus.sh split tests/fuzz/cmdlines.txt \
		$(FUZZ_DIR)/seeds-cmdline
	$(AFL_ENV) FUZZ_WARMUP=$(FUZZ_MODEL) nice -n 19 afl-fuzz -V $(FUZZ_SECONDS) \
		-t 10000 -m none -i $(FUZZ_DIR)/seeds-load -o $(FUZZ_DIR)/load \
		-- $(FUZZ_DIR)/afl/fuzz-load @@ > $(FUZZ_DIR)/load.log 2>&1 & \
	$(AFL_ENV) nice -n 19 afl-fuzz -V $(FUZZ_SECONDS) -t 10000 -m none \
		-i $(FUZZ_DIR)/seeds-cmdline -o $(FUZZ_DIR)/cmdline \
		-- $(FUZZ_DIR)/afl/fuzz-cmdline $(FUZZ_DIR)/scratch $(FUZZ_MODEL) \
		> $(FUZZ_DIR)/cmdline.log 2>&1 & \
	wait
	@for t in load cmdline; do \
		echo "fuzz $$t: $$(ls $(FUZZ_DIR)/$$t/default/crashes 2>/dev/null | grep -vc README) crash(es), $$(ls $(FUZZ_DIR)/$$t/default/hangs 2>/dev/null | wc -l) hang(s) in $(FUZZ_DIR)/$$t/default/"; \
	done

deps:
	@bash scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all $(TABLES_TEST)
	bats --tap tests/

demo: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD)/demo
	$(BIN) testdata/demo/tinynet.pt -o $(BUILD)/demo/tinynet.onnx --opset 17 -s 1x3x32x32
	node scripts/ortcheck.js $(BUILD)/demo/tinynet.onnx testdata/demo/tinynet.json

bench: deps
	@$(MAKE) --no-print-directory all
	bash scripts/bench.sh

# Our C and the shim under AddressSanitizer and UBSan (libtorch itself is
# not instrumented), in a build folder of its own.
#   detect_leaks=0: the command leaves with _exit() on purpose (libtorch's
#     static destructors cost ~50 ms and free nothing the exit would not),
#     so LeakSanitizer's exit-time check would only see libtorch's
#     never-freed registries, not our leaks.
#   halt_on_error/abort_on_error: a finding aborts the process, so it fails
#     the test that caused it (a worker's abort becomes exit 1 or 3 and its
#     report lands on stderr, which the suites check).
ASAN_BUILD = build-asan
# UBSan's vptr check needs the typeinfo of every polymorphic class the
# shim casts, and libtorch does not export some (c10::DynamicType): the
# shim would not load. That one check is off.
SANITIZE = -fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
# Op fixtures covering conv, pooling, norm, shape and index handlers.
ASAN_OPS = conv2d_basic|batch_norm2d|max_pool2d_ceil|linear_rank3|cat_promote|flatten_symbolic|view_symbolic|div_rounding_int|symbolic_dim_arith|slice_bounds|split_sizes|to_other|gelu

# A dying worker's stderr is replaced by pt2onnx's one line, so the
# sanitizers write their reports to files (log_path), printed here; any
# report fails the run, but one: the crash tests feed libtorch archives
# that pass every check of the shim and still crash its TorchScript parser
# (ScriptTypeParser::parseClassConstant, libtorch 1.13, a SEGV the
# supervisor turns into exit 3); that report is expected, and named.
ASAN_ENV = ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=$(CURDIR)/$(ASAN_BUILD)/report \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$(CURDIR)/$(ASAN_BUILD)/report \
	PT2ONNX=$(CURDIR)/$(ASAN_BUILD)/pt2onnx

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) \
		CFLAGS="-O1 -g $(SANITIZE)" CXXFLAGS="-O1 -g $(SANITIZE)" all
	@rm -rf $(ASAN_BUILD)/ops-sample $(ASAN_BUILD)/report.*
	@mkdir -p $(ASAN_BUILD)/ops-sample
	@for f in $(subst |, ,$(ASAN_OPS)); do \
		cp testdata/ops/$$f.pt testdata/ops/$$f.json $(ASAN_BUILD)/ops-sample/ || exit 1; \
	done
	@rc=0; \
	$(ASAN_ENV) bats --tap tests/cli.bats tests/errors.bats tests/batch.bats || rc=1; \
	$(ASAN_ENV) OPS_FIXTURES=$(CURDIR)/$(ASAN_BUILD)/ops-sample \
		bats --tap tests/ops.bats || rc=1; \
	for r in $(ASAN_BUILD)/report.*; do \
		[ -e "$$r" ] || continue; \
		if grep -q 'SEGV' "$$r" && grep -q 'parseClassConstant' "$$r"; then \
			echo "check-asan: $$r: libtorch's known crash on a damaged code/ file (expected)"; \
			continue; \
		fi; \
		echo "check-asan: sanitizer report $$r:"; cat "$$r"; rc=1; \
	done; \
	exit $$rc

# Regenerates the committed per-op fixtures (needs Debian's python3-torch).
fixtures:
	/usr/bin/python3 scripts/make_fixtures.py testdata

# The torchvision models (large; generated, never committed).
models:
	/usr/bin/python3 scripts/make_models.py $(BUILD)/models

# Archives written by PyTorch 2.6 (tests/v2.bats, tests/v2zoo.bats),
# made in a Debian 13 chroot that has it (needs root: debootstrap, chroot,
# mount). v2-fixtures rewrites the committed small ones in testdata/v2,
# v2-zoo the torchvision skeletons in testdata/v2/zoo. The first run
# builds the chroot (~13 min and ~2 GiB here; the zoo then takes ~4 min).
V2_CHROOT ?= $(BUILD)/trixie
DEBIAN_MIRROR ?= http://deb.debian.org/debian
V2_RUN = sh scripts/v2chroot.sh $(V2_CHROOT)

$(V2_CHROOT)/usr/bin/python3:
	debootstrap --variant=minbase \
		--include=python3-torch,python3-torchvision trixie \
		$(V2_CHROOT) $(DEBIAN_MIRROR)

v2-fixtures: $(V2_CHROOT)/usr/bin/python3
	$(V2_RUN) testdata/v2

# The skeletons of testdata/v2/zoo (torchvision networks saved by PyTorch
# 2.6 without their large weights; tests/v2zoo.bats fills them back in).
v2-zoo: $(V2_CHROOT)/usr/bin/python3
	V2_SCRIPT=make_v2_zoo.py $(V2_RUN) testdata/v2/zoo

install: $(BIN) $(SHIM_SO)
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pt2onnx
	install -D -m 644 $(SHIM_SO) $(DESTDIR)$(LIBDIR)/libpt2onnx-torch.so
	install -D -m 644 $(SHIM_SO).deps $(DESTDIR)$(LIBDIR)/libpt2onnx-torch.so.deps
	install -D -m 644 man/pt2onnx.1 $(DESTDIR)$(PREFIX)/share/man/man1/pt2onnx.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pt2onnx $(DESTDIR)$(LIBDIR)/libpt2onnx-torch.so \
		$(DESTDIR)$(LIBDIR)/libpt2onnx-torch.so.deps \
		$(DESTDIR)$(PREFIX)/share/man/man1/pt2onnx.1
	-rmdir $(DESTDIR)$(LIBDIR) 2>/dev/null

clean:
	rm -rf $(BUILD)
