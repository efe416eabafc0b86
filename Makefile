# pt2onnx — build, test, demo, bench, install.
#
#   make            build build/pt2onnx
#   make test       install dependencies, build, run every test (bats, TAP)
#   make demo       install dependencies, build, convert the bundled model
#   make bench      resnet50: pt2onnx against torch.onnx.export, same run
#   make install    PREFIX=/usr/local DESTDIR= : binary and man page

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
LIBS     = -ltorch -ltorch_cpu -lc10 -lprotobuf-c -lm

LIB_SRC  = $(wildcard lib/*.c) $(wildcard lib/ops/*.c)
LIB_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
CMD_OBJ  = $(BUILD)/cmd/pt2onnx.o
SHIM_OBJ = $(BUILD)/shim/pts.o
PROTO_OBJ = $(GEN)/onnx.pb-c.o
BIN      = $(BUILD)/pt2onnx

.PHONY: all deps test demo bench install uninstall clean fixtures models

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

# The op table and the ONNX operator table are binary-searched: their order
# is checked in every build, before the files that include them compile.
TABLES = lib/ops/ops.def lib/onnx_ops.def
$(BUILD)/tables.ok: $(TABLES) scripts/check_tables.sh
	@mkdir -p $(BUILD)
	sh scripts/check_tables.sh $(TABLES)
	@touch $@
$(BUILD)/lib/registry.o $(BUILD)/lib/infer.o: $(BUILD)/tables.ok

$(SHIM_OBJ): shim/pts.cpp shim/pts.h
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(CXXFLAGS) $(WARN) $(TORCH_INC) -c -o $@ $<

# A test-only program over lib's internals (tests/tables.bats runs it).
TABLES_TEST = $(BUILD)/tests/tables_test
$(TABLES_TEST): $(BUILD)/tests/tables_test.o $(LIB_OBJ) $(PROTO_OBJ) $(SHIM_OBJ)
	$(CXX) -o $@ $^ $(LDFLAGS) $(LIBS)

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(BUILD)/tests/tables_test.d

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
