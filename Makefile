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

# The source folders, ground floor first: common/ (errors, files, statistics, file formats),
# attention/ (kernels), analysis/ (text -> model -> spectrum), experiments/ (bench, train,
# report, and the command line on top). Each folder's public header is lb_*.h.
SRC_DIRS := common common/format attention analysis/text analysis/model analysis/spectrum \
            experiments/bench experiments/train experiments/report experiments/cli
CPPFLAGS += -I$(BLASINC) -I$(BUILD)/gen $(addprefix -I,$(SRC_DIRS))
CFLAGS   += -std=c11 $(OPT) $(ARCH) -fopenmp -Wall -Wextra -Wshadow -Wno-unused-parameter \
            -D_GNU_SOURCE $(SANFLAGS) -MMD -MP
# RPATH (not RUNPATH) so that liblapacke's own liblapack.so.3 also resolves to the
# OpenMP OpenBLAS build instead of whatever the alternatives system points at.
LDFLAGS  += -fopenmp $(SANFLAGS) -L$(BLASDIR) -Wl,-rpath,$(BLASDIR) -Wl,--disable-new-dtags
LDLIBS   += -llapacke -lopenblas -lcjson -lm

# MPI (common/mpi.c, the only user of mpi.h): on when pkg-config finds Open MPI's ompi-c,
# or with MPI=1 (flags from mpicc); MPI=0 builds the single-process stubs. The choice is
# kept in $(BUILD)/gen/lb_mpi_on so that switching it rebuilds mpi.o and relinks.
MPI ?= $(shell pkg-config --exists ompi-c 2>/dev/null && echo 1 || echo 0)
ifeq ($(MPI),1)
  MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null || mpicc --showme:compile)
  MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null || mpicc --showme:link)
  LDLIBS     += $(MPI_LIBS)
endif

LIB_SRC  := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
LIB_SRC  := $(filter-out experiments/cli/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
# Tests mirror the source folders (tests/attention/, tests/analysis/model/, ...); their
# shared helpers live in tests/lib/. Binaries land flat in $(BUILD)/tests and $(BUILD)/tools.
TEST_DIRS := $(sort $(dir $(shell find tests -name 'test_*.c' -o -name 'tool_*.c')))
TEST_SRC := $(shell find tests -name 'test_*.c' | sort)
TEST_BIN := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(TEST_SRC))))
TOOL_SRC := $(shell find tests -name 'tool_*.c' | sort)
TOOL_BIN := $(addprefix $(BUILD)/tools/,$(basename $(notdir $(TOOL_SRC))))
vpath test_%.c $(TEST_DIRS)
vpath tool_%.c $(TEST_DIRS)
FUZZ_SRC := $(wildcard tests/common/fuzz/fuzz_*.c)

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

$(BUILD)/gen/lb_mpi_on: FORCE
	@mkdir -p $(@D)
	@echo "$(MPI) $(MPI_CFLAGS) $(MPI_LIBS)" > $@.new; cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(BUILD)/obj/common/mpi.o: $(BUILD)/gen/lb_mpi_on
$(BUILD)/obj/common/mpi.o: CPPFLAGS += $(if $(filter 1,$(MPI)),-DLB_MPI=1 $(MPI_CFLAGS))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/liblinbench.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/linbench: $(BUILD)/obj/experiments/cli/main.o $(BUILD)/liblinbench.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: %.c $(wildcard tests/lib/*.h) $(BUILD)/liblinbench.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/lib $< $(BUILD)/liblinbench.a $(LDFLAGS) $(LDLIBS) -o $@

# tests/tool_*.c: helper programs the Python oracle tests drive (not run by themselves).
$(BUILD)/tools/%: %.c $(wildcard tests/lib/*.h) $(BUILD)/liblinbench.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/lib $< $(BUILD)/liblinbench.a $(LDFLAGS) $(LDLIBS) -o $@

# OPENBLAS_CORETYPE: other kernels of Debian's OpenBLAS 0.3.21 give wrong results on
# this CPU (see common/README.md); keep the environment's choice, default to Haswell.
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
	bash tests/common/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-vg build-nompi

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/experiments/cli/main.d
-include experiments/bench/bench.mk
-include analysis/text/corpus.mk
-include experiments/train/train.mk
-include experiments/report/reproduce.mk
-include experiments/train/fig3.mk
