# Benchmark targets, included by the Makefile.
#   make bench        default preset (layer protocol + a small Table 3 grid, ~10 min
#                     here) into $(BENCH_OUT), then the plots into plots/out
#   make bench-paper  the paper's grid (n = 512..65536, k = 128..2048; hours)
#   make bench-check  benchmark this tree into $(BENCH_OUT) and compare it with the
#                     committed results/baseline (exit 1 on a regression)
#   make plots        redraw plots/out from $(BENCH_OUT)
# BENCH_ARGS adds options, e.g. make bench BENCH_ARGS='--budget 8G'.
BENCH_OUT  ?= results/latest
BENCH_ARGS ?=
PLOTS_OUT  ?= plots/out

.PHONY: bench-paper bench-check bench-ab

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

# Interleaved A/B against a commit: make bench-ab BASE=HEAD~1 [AB_ROUNDS=4] [AB_ARGS='-n 1024 -k 128']
# (AB_ROUNDS even: the order base-new, new-base is balanced over pairs of rounds)
BASE      ?= HEAD
AB_ROUNDS ?= 4
AB_ARGS   ?= --protocol layer
bench-ab: $(BUILD)/linbench
	BUILD=$(BUILD) bash experiments/bench/bench_ab.sh $(BASE) $(AB_ROUNDS) -- $(AB_ARGS)

# The A/B's false-alarm rate (CAL_AA A/A comparisons) and power (CAL_INJ comparisons with
# the test-only slowdown CAL_SLOW) on this machine: about 8 hours at the defaults, on a
# quiet machine; results/ab-calibration/summary.txt.
CAL_AA   ?= 20
CAL_INJ  ?= 20
CAL_SLOW ?= linformer:1.15
.PHONY: bench-ab-calibrate
bench-ab-calibrate: $(BUILD)/linbench
	BUILD=$(BUILD) AB_ROUNDS=$(AB_ROUNDS) CAL_SLOW=$(CAL_SLOW) bash experiments/bench/bench_calibrate.sh $(CAL_AA) $(CAL_INJ) -- $(AB_ARGS)

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
#   make bench-bisect GOOD=REV BAD=REV [POINT=TEXT] [AB_ROUNDS=4] [AB_ARGS='-n 4096 -k 128']
# POINT: only points whose key (protocol,method,share,n,k,...) contains TEXT count.
GOOD  ?=
BAD   ?= HEAD
POINT ?=
bench-bisect: $(BUILD)/linbench
	BUILD=$(BUILD) AB_ROUNDS=$(AB_ROUNDS) BISECT_POINT='$(POINT)' bash experiments/bench/bench_bisect.sh '$(GOOD)' '$(BAD)' -- $(AB_ARGS)
