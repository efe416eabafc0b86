# pt2onnx — build, test, demo, bench, install.
#
#   make            build build/pt2onnx
#   make test       install dependencies, build, run every test (bats, TAP)
#   make demo       install dependencies, build, convert the bundled model
#   make bench      resnet50: pt2onnx against torch.onnx.export, same run
#   make install    PREFIX=/usr/local DESTDIR= : binary and man page
#   make fuzz       FUZZ_SECONDS=N: AFL++ on the archive loader and on the
#                   command line, N seconds each, findings in build/fuzz/
#   make fuzz-replay  the fuzz harnesses built with cc, for the corpus replay

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build

CC      ?= cc
CXX     ?= g++
CFLAGS  ?= -O2 -g
CXXFLAGS ?= -O2 -g
WARN     = -Wall -Wextra
TORCH_INC = -I/usr/include/torch/csrc/api/include

GEN      = $(BUILD)/gen
CPPFLAGS_ALL = -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Ilib -Ishim -I$(GEN)
LIBS     = -ltorch -ltorch_cpu -lc10 -lprotobuf-c -lz -lm

LIB_SRC  = $(wildcard lib/*.c) $(wildcard lib/ops/*.c)
LIB_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
CMD_OBJ  = $(BUILD)/cmd/pt2onnx.o
SHIM_OBJ = $(BUILD)/shim/pts.o
PROTO_OBJ = $(GEN)/onnx.pb-c.o
BIN      = $(BUILD)/pt2onnx

.PHONY: all deps test demo bench install uninstall clean fixtures models \
	fuzz fuzz-replay fuzz-harnesses hostile

all: $(BIN)

$(BIN): $(CMD_OBJ) $(LIB_OBJ) $(PROTO_OBJ) $(SHIM_OBJ)
	$(CXX) -o $@ $^ $(LDFLAGS) $(LIBS)

# protoc-c output is generated here, never committed.
$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h: proto/onnx.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) proto/onnx.proto

$(PROTO_OBJ): $(GEN)/onnx.pb-c.c
	$(CC) -std=c11 $(CFLAGS) -I$(GEN) -c -o $@ $<

$(BUILD)/%.o: %.c $(GEN)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -MMD -MP $(CPPFLAGS_ALL) -c -o $@ $<

$(SHIM_OBJ): shim/pts.cpp shim/pts.h
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(CXXFLAGS) $(WARN) $(TORCH_INC) -c -o $@ $<

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)

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

$(BUILD)/fuzz-load: $(BUILD)/tests/fuzz/load.o $(LIB_OBJ) $(PROTO_OBJ) $(SHIM_OBJ)
	$(CXX) -o $@ $^ $(LDFLAGS) $(LIBS)

$(BUILD)/fuzz-cmdline: $(BUILD)/tests/fuzz/cmdline.o $(BUILD)/cmd/pt2onnx_main.o \
		$(LIB_OBJ) $(PROTO_OBJ) $(SHIM_OBJ)
	$(CXX) -o $@ $^ $(LDFLAGS) $(LIBS)

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
	@$(MAKE) --no-print-directory all
	bats --tap tests/

demo: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD)/demo
	$(BIN) testdata/demo/tinynet.pt -o $(BUILD)/demo/tinynet.onnx --opset 17 -s 1x3x32x32
	node scripts/ortcheck.js $(BUILD)/demo/tinynet.onnx testdata/demo/tinynet.json

bench: deps
	@$(MAKE) --no-print-directory all
	bash scripts/bench.sh

# Regenerates the committed per-op fixtures (needs Debian's python3-torch).
fixtures:
	/usr/bin/python3 scripts/make_fixtures.py testdata

# The torchvision models (large; generated, never committed).
models:
	/usr/bin/python3 scripts/make_models.py $(BUILD)/models

install: $(BIN)
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pt2onnx
	install -D -m 644 man/pt2onnx.1 $(DESTDIR)$(PREFIX)/share/man/man1/pt2onnx.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/pt2onnx $(DESTDIR)$(PREFIX)/share/man/man1/pt2onnx.1

clean:
	rm -rf $(BUILD)
