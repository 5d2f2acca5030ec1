# Benchmark targets, included by the Makefile.
#   make bench        default preset (layer protocol + a small Table 3 grid, ~10 min
#                     here) into $(BENCH_OUT), then the plots into plots/out
#   make bench-paper  the paper's grid (n = 512..65536, k = 128..2048; hours)
#   make bench-table3-paper  Table 3 as the paper ran it (12 layers, the V100's budget, every
#                     cell that fits; ~4-6 h on 2 cores, quiet): one part per n, each
#                     skipped once done (resumable), merged into $(T3P_OUT)
#   make bench-plan   the cells, batches and estimated time of the default and paper presets
#   make bench-check  benchmark this tree into $(BENCH_OUT) and compare it with the
#                     committed results/baseline (exit 1 on a regression)
#   make plots        redraw plots/out from $(BENCH_OUT)
# BENCH_ARGS adds options, e.g. make bench BENCH_ARGS='--budget 8G'.
BENCH_OUT  ?= results/latest
BENCH_ARGS ?=
PLOTS_OUT  ?= plots/out

.PHONY: bench-paper bench-check bench-ab bench-table3-paper bench-plan

T3P_OUT ?= results/paper-table3
T3P_N   ?= 512 1024 2048 4096 8192 16384 32768 65536
# Lengths run as two parts, the baselines (n<N>-base) and Linformer (n<N>-linformer):
# at n = 65536 streaming attention alone takes ~1.7 h here, the whole n ~2.6 h, longer
# than is safe to hold a machine quiet in one go. linbench merge rebuilds Table 3 from
# the points of both (the ratios then pair timings of two runs on one machine, not one
# interleaved run; merge refuses the two halves of one n from two machines).
T3P_SPLIT ?= 65536
t3p_comma := ,
T3P_PARTS = $(foreach n,$(T3P_N),$(if $(filter $(n),$(T3P_SPLIT)),$(T3P_OUT)/parts/n$(n)-base/bench.json \
              $(T3P_OUT)/parts/n$(n)-linformer/bench.json,$(T3P_OUT)/parts/n$(n)/bench.json))
# a part's folder name n<N>[-base|-linformer] -> its bench options
t3p_args = --t3-n $(firstword $(subst -, ,$(1))) $(if $(filter %-base,$(1)),--t3-methods \
           materialise$(t3p_comma)full$(t3p_comma)stream,$(if $(filter %-linformer,$(1)),--t3-methods linformer))

bench-table3-paper: $(T3P_OUT)/table3.csv
	bash plots/bench_plots.sh $(T3P_OUT) plots/out-paper-table3 >/dev/null

# The merge takes every finished part, not only those of T3P_N, so that running one n
# (make bench-table3-paper T3P_N=32768) adds its rows instead of replacing the table.
T3P_DONE = $(patsubst %/elapsed_s,%,$(wildcard $(T3P_OUT)/parts/n*/elapsed_s))

# In order of n (sort -V: n512 before n1024). The parts may come from different machines
# (the whole preset takes longer than one session holds one): the merge warns, records
# each part's machine, and refuses only one n from two machines, whose ratios would divide
# one processor's seconds by another's; T3P_MERGE_ARGS= refuses any mix.
T3P_MERGE_ARGS ?= --allow-mixed
$(T3P_OUT)/table3.csv: $(T3P_PARTS) $(addsuffix /bench.json,$(T3P_DONE)) | $(BUILD)/linbench
	$(BUILD)/linbench merge $(T3P_MERGE_ARGS) --out $(T3P_OUT) \
	  $$(printf '%s\n' $(sort $(T3P_PARTS:/bench.json=) $(T3P_DONE)) | sort -V)

# One part of the paper preset; bench writes its files atomically and elapsed_s comes
# last, so an interrupted part is run again from its start and a finished one never.
$(T3P_OUT)/parts/n%/bench.json: | $(BUILD)/linbench
	@mkdir -p $(@D)
	@t0=$$(date +%s); OMP_WAIT_POLICY=passive $(BUILD)/linbench bench --preset paper --protocol table3 \
	  $(call t3p_args,$*) --no-progress --out $(@D) $(BENCH_ARGS) >$(@D)/stdout.txt || exit $$?; \
	 echo $$(( $$(date +%s) - t0 )) >$(@D)/elapsed_s; echo "bench-table3-paper: n = $* done in $$(cat $(@D)/elapsed_s) s"

bench-plan: $(BUILD)/linbench
	$(BUILD)/linbench bench --preset default --plan
	$(BUILD)/linbench bench --preset paper --plan

bench:
	@bash experiments/deps.sh
	@$(MAKE) --no-print-directory $(BUILD)/linbench
	$(BUILD)/linbench bench --preset default --out $(BENCH_OUT) $(BENCH_ARGS)
	bash plots/bench_plots.sh $(BENCH_OUT) $(PLOTS_OUT)

bench-paper: $(BUILD)/linbench
	$(BUILD)/linbench bench --preset paper --out results/paper-grid $(BENCH_ARGS)
	bash plots/bench_plots.sh results/paper-grid plots/out-paper

bench-check: $(BUILD)/linbench
	$(BUILD)/linbench bench --preset default --out $(BENCH_OUT) $(BENCH_ARGS)
	$(BUILD)/linbench compare results/baseline $(BENCH_OUT)

bench-compare: bench-check

# Interleaved A/B against a commit: make bench-ab BASE=HEAD~1 [AB_ROUNDS=8] [AB_ARGS='-n 1024 -k 128']
# (AB_ROUNDS even: the order base-new, new-base is balanced over pairs of rounds).
# The default grid is the default preset's layer protocol up to n = 4096: every kernel at
# every k, a few seconds a run instead of ~85 s, since full and streaming attention at
# n = 8192 and 16384 are 94% of the preset's time. A comparison (2 x AB_ROUNDS runs and two
# warm-ups) then takes ~3 minutes, which is what makes the bisection (one per step) and the
# calibration (40) affordable; give
# AB_ARGS='--protocol layer' for the whole preset.
BASE      ?= HEAD
# AB_PAIRED=1: both builds at once, taking turns call by call (bench_ab.sh): AB_ROUNDS
# paired runs, each run's median over AB_REPS repetitions a pair. Empty AB_ROUNDS: the
# scripts' default (bench_ab_defaults.sh: 8 runs a side, paired 12 of 3 repetitions).
AB_ROUNDS ?=
AB_ARGS   ?= --protocol layer -n 256,512,1024,2048,4096
bench-ab: $(BUILD)/linbench
	BUILD=$(BUILD) bash experiments/bench/bench_ab.sh $(BASE) $(AB_ROUNDS) -- $(AB_ARGS)

# The A/B's false-alarm rate (CAL_AA A/A comparisons) and power (CAL_INJ comparisons with
# the test-only slowdown CAL_SLOW) on this machine, on a quiet machine, into
# $(CAL_OUT)/summary.txt; it resumes where it stopped and refuses another machine's folder.
CAL_AA   ?= 20
CAL_INJ  ?= 20
CAL_SLOW ?= linformer:1.15
CAL_OUT  ?= results/ab-calibration
.PHONY: bench-ab-calibrate
bench-ab-calibrate: $(BUILD)/linbench
	BUILD=$(BUILD) AB_ROUNDS=$(AB_ROUNDS) CAL_SLOW=$(CAL_SLOW) CAL_OUT=$(CAL_OUT) bash experiments/bench/bench_calibrate.sh $(CAL_AA) $(CAL_INJ) -- $(AB_ARGS)

plots:
	bash plots/bench_plots.sh $(BENCH_OUT) $(PLOTS_OUT)

# History across commits: make bench-history appends a run of this commit (the layer
# protocol of the default preset; HISTORY_ARGS adds options) to $(HISTORY) and redraws
# $(PLOTS_OUT)/history; the tree must be clean (a dirty tree's run is no commit's).
HISTORY      ?= results/history
HISTORY_ARGS ?= --protocol layer
.PHONY: bench-history bench-bisect
bench-history: $(BUILD)/linbench
	@if git status --porcelain | grep -q .; then \
	     echo "bench-history: the tree has uncommitted changes: commit first (a dirty tree's run is no commit's)" >&2; exit 65; fi
	@d=$$(mktemp -d) && \
	 $(BUILD)/linbench bench --preset default --no-progress -q --out "$$d" $(HISTORY_ARGS) && \
	 $(BUILD)/linbench history add --store $(HISTORY) "$$d"; rc=$$?; rm -rf "$$d"; exit $$rc
	$(BUILD)/linbench history --store $(HISTORY) --out $(PLOTS_OUT)/history

# The first commit between GOOD and BAD where a point regressed, by bisection with the
# interleaved A/B (GOOD against each candidate) at every step:
#   make bench-bisect GOOD=REV BAD=REV [POINT=TEXT] [AB_ROUNDS=8] [AB_ARGS='-n 4096 -k 128']
# POINT: only points whose key (protocol,method,share,n,k,...) contains TEXT count.
GOOD  ?=
BAD   ?= HEAD
POINT ?=
bench-bisect: $(BUILD)/linbench
	BUILD=$(BUILD) AB_ROUNDS=$(AB_ROUNDS) BISECT_POINT='$(POINT)' bash experiments/bench/bench_bisect.sh '$(GOOD)' '$(BAD)' -- $(AB_ARGS)
