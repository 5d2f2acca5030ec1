# linbench — GNU Makefile. `make` builds build/linbench; `make test` runs the tests;
# `make test-asan` runs them again under ASan/UBSan; `make bench` runs the default
# benchmark; see README.md for the rest.

BUILD   ?= build
CC      ?= gcc
ARCH    ?= -march=native
OPT     ?= -O2
SAN     ?=
BLASDIR ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
BLASINC ?= /usr/include/x86_64-linux-gnu/openblas-openmp

ifeq ($(SAN),1)
  OPT := -O1 -g -fno-omit-frame-pointer
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif

CPPFLAGS += -I$(BLASINC) -I$(BUILD)/gen -Icommon -Iattention -Ianalysis -Iexperiments
CFLAGS   += -std=c11 $(OPT) $(ARCH) -fopenmp -Wall -Wextra -Wshadow -Wno-unused-parameter \
            -D_GNU_SOURCE $(SANFLAGS) -MMD -MP
# RPATH (not RUNPATH) so that liblapacke's own liblapack.so.3 also resolves to the
# OpenMP OpenBLAS build instead of whatever the alternatives system points at.
LDFLAGS  += -fopenmp $(SANFLAGS) -L$(BLASDIR) -Wl,-rpath,$(BLASDIR) -Wl,--disable-new-dtags
LDLIBS   += -llapacke -lopenblas -lcjson -lm

LIB_SRC  := $(wildcard common/*.c attention/*.c analysis/*.c experiments/*.c)
LIB_SRC  := $(filter-out common/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tool_*.c)
TOOL_BIN := $(TOOL_SRC:tests/%.c=$(BUILD)/tools/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps test test-asan test-valgrind bench bench-compare plots clean FORCE

all: $(BUILD)/linbench $(TEST_BIN) $(TOOL_BIN)

$(BUILD)/gen/lb_build_info.h: FORCE
	@mkdir -p $(@D)
	@c=$$(git rev-parse --verify -q HEAD 2>/dev/null || echo unknown); \
	 d=$$(git status --porcelain 2>/dev/null | grep -q . && echo 1 || echo 0); \
	 git rev-parse --verify -q HEAD >/dev/null 2>&1 || d=-1; \
	 printf '#define LB_GIT_COMMIT "%s"\n#define LB_GIT_DIRTY %s\n#define LB_CFLAGS "%s"\n' \
	   "$$c" "$$d" "$(CC) $(CFLAGS)" > $@.new; \
	 cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(BUILD)/obj/common/meta.o: $(BUILD)/gen/lb_build_info.h

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/liblinbench.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/linbench: $(BUILD)/obj/common/main.o $(BUILD)/liblinbench.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/liblinbench.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests $< $(BUILD)/liblinbench.a $(LDFLAGS) $(LDLIBS) -o $@

# tests/tool_*.c: helper programs the Python oracle tests drive (not run by themselves).
$(BUILD)/tools/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/liblinbench.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests $< $(BUILD)/liblinbench.a $(LDFLAGS) $(LDLIBS) -o $@

# OPENBLAS_CORETYPE: other kernels of Debian's OpenBLAS 0.3.21 give wrong results on
# this CPU (DESIGN.md §6); keep the environment's choice, default to Haswell.
export OPENBLAS_CORETYPE ?= Haswell

# `make test` and `make bench` first install missing Debian packages (as root) or print
# the apt-get line (otherwise): experiments/deps.sh holds the one list.
deps:
	@bash experiments/deps.sh

test:
	@bash experiments/deps.sh --tests
	@$(MAKE) --no-print-directory all
	BUILD=$(BUILD) bash tests/run.sh

test-asan:
	$(MAKE) BUILD=build-asan SAN=1 test

# valgrind 3.19 does not decode AVX-512: build for x86-64-v3 (AVX2) in its own folder.
test-valgrind:
	$(MAKE) BUILD=build-vg ARCH=-march=x86-64-v3 all
	BUILD=build-vg VALGRIND=1 bash tests/run.sh

# libFuzzer targets for the safetensors and .npy readers (clang); FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	bash tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-vg

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/common/main.d
-include experiments/bench.mk
-include experiments/corpus.mk
-include experiments/train.mk
-include experiments/reproduce.mk
-include experiments/fig3.mk
