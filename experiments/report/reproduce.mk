# The paper's evidence redone on this machine (issue 4), included by the Makefile.
#   make reproduce       Debian packages (experiments/deps.sh) -> build -> corpora -> spectrum of
#                        the default model on each corpus's valid split -> default bench -> figures
#                        -> results/REPORT.md (about 20 min on 2 cores, most of it the bench)
#   make reproduce-paper the same with the paper's bench grid and up to 1000 sequences per n
#                        (hours) -> results/REPORT-paper.md; the valid splits hold fewer windows
#                        than that at n = 512: REPRO_SPLIT=train takes the (larger) train splits
#   make reproduce-user MODEL=DIR TEXT=FILE [NAME=x] [USER_N=128,256,512] [USER_SEQ=100] [USER_EVAL=]
#                        spectrum of a HuggingFace checkpoint folder (config.json,
#                        model.safetensors, vocab.json + merges.txt) on a text file
#                        -> results/user/NAME/REPORT.md (with the bench of results/latest if run)
#   make reproduce-report  rewrite the report from the result files already there
# Beside each corpus's spectrum: the model's masked-token loss on the same text at each n
# (PREFIX_eval.json; USER_EVAL= for a checkpoint without its masked-LM head), and the same
# architecture at random init (--random-init, a control; $(REPRO_SPEC)/init/CORPUS*), fewer
# windows, no projection error. The report's intervals are a seeded bootstrap over windows
# (REPRO_BOOT resamples).
# Every step makes a file (the result itself, or a stamp written last), so a rerun skips what
# is done; results are written atomically by the commands, figures through a temp folder.
REPRO_MODEL        ?= results/models/linbench-small
REPRO_CORPUS_NAMES ?= encyclopedic narrative informal
REPRO_TEXT         ?=
REPRO_SPLIT        ?= valid
REPRO_SPEC         ?= results/spectrum
REPRO_SPEC_N       ?= 128,256,512
REPRO_SPEC_SEQ     ?= 200
REPRO_SPEC_ARGS    ?=
REPRO_INIT_SEQ     ?= 30
REPRO_INIT_SEED    ?= 1
# The model's masked-token loss on each analysed text at each n (`linbench eval`, one masking
# draw, the first REPRO_EVAL_TOKENS tokens: about the 200 windows of 512 the spectra read),
# shown beside Figure 1; REPRO_EVAL= skips it (a checkpoint without its masked-LM head).
REPRO_EVAL         ?= 1
REPRO_EVAL_TOKENS  ?= 102400
REPRO_BOOT         ?= 1000
REPRO_PRESET       ?= default
REPRO_BENCH        ?= $(BENCH_OUT)
REPRO_WITH_BENCH   ?= 1
REPRO_FIG          ?= $(PLOTS_OUT)
REPRO_PAPER        ?= results/paper/linformer_table3.csv
REPRO_REPORT       ?= results/REPORT.md
# The paper preset's Table 3 (make bench-table3-paper), shown in the report when it is there.
# Read, never a prerequisite: make would run the missing parts (hours) to bring it up to date.
# After make bench-table3-paper, make reproduce-report rewrites the report.
REPRO_T3P          ?= $(T3P_OUT)
REPRO_T3P_FIG      ?= plots/out-paper-table3
# Figure 3: training logs as LABEL=FILE (LABEL = ARM-sSEED), the reference (standard
# attention) first; only the ones present are used. The runs of one Figure 3 set (make fig3
# into results/fig3; else the older single-seed results/fig3-small), else the default
# model's own log.
REPRO_FIG3_DIR     ?= $(firstword $(foreach d,results/fig3 results/fig3-small,$(if $(wildcard $(d)/fig3-standard-s*/log.csv $(d)/fig3-standard/log.csv),$(d))))
repro_fig3_labels   = $(patsubst $(REPRO_FIG3_DIR)/fig3-%/log.csv,%,$(sort $(wildcard $(REPRO_FIG3_DIR)/fig3-*/log.csv)))
repro_fig3_std      = $(filter standard standard-s%,$(repro_fig3_labels))
REPRO_TRAIN_LOGS   ?= $(if $(REPRO_FIG3_DIR),$(foreach l,$(repro_fig3_std) $(filter-out $(repro_fig3_std),$(repro_fig3_labels)),$(l)=$(REPRO_FIG3_DIR)/fig3-$(l)/log.csv),standard=$(TRAIN_OUT)/log.csv)

REPRO_LB       = $(BUILD)/linbench
# The text corpus $* is analysed on, and what a result made from it depends on: the spectrum,
# its control and the eval must read the same file (the report checks the eval's "text").
repro_text     = $(or $(REPRO_TEXT),$(CORPORA)/$*/$(REPRO_SPLIT).txt)
REPRO_TEXT_DEPS = $(if $(REPRO_TEXT),$(REPRO_TEXT),$(CORPORA)/MANIFEST) $(REPRO_MODEL)/model.safetensors
REPRO_GP       = $(shell command -v gnuplot || command -v gnuplot-nox)
repro_comma   := ,
repro_empty   :=
repro_space   := $(repro_empty) $(repro_empty)
repro_join     = $(subst $(repro_space),$(repro_comma),$(strip $(1)))
REPRO_PREFIXES = $(addprefix $(REPRO_SPEC)/,$(REPRO_CORPUS_NAMES))
REPRO_INITS    = $(addprefix $(REPRO_SPEC)/init/,$(REPRO_CORPUS_NAMES))
REPRO_LOGS_OK  = $(foreach l,$(REPRO_TRAIN_LOGS),$(if $(wildcard $(lastword $(subst =, ,$(l)))),$(l)))
REPRO_LOG_FILES = $(foreach l,$(REPRO_LOGS_OK),$(lastword $(subst =, ,$(l))))
REPRO_INPUTS   = $(addsuffix _windows.csv,$(REPRO_PREFIXES)) $(addsuffix .json,$(REPRO_INITS)) \
                 $(if $(REPRO_EVAL),$(addsuffix _eval.json,$(REPRO_PREFIXES))) \
                 $(addsuffix .figures,$(REPRO_PREFIXES)) \
                 $(if $(REPRO_WITH_BENCH),$(REPRO_BENCH)/bench.json $(REPRO_FIG)/.bench-figures) \
                 $(if $(REPRO_LOG_FILES),$(REPRO_FIG)/.fig3-figures)
REPRO_BENCH_ARG = $(if $(REPRO_WITH_BENCH),--bench $(REPRO_BENCH),$(if $(wildcard $(REPRO_BENCH)/bench.json),--bench $(REPRO_BENCH)))
REPRO_T3P_ARG   = $(if $(wildcard $(REPRO_T3P)/table3.csv),--table3-paper $(REPRO_T3P) --table3-paper-figures $(REPRO_T3P_FIG))

.PHONY: reproduce reproduce-steps reproduce-paper reproduce-user reproduce-report

# The steps in order as quoted "minutes|label|target" words (minutes measured here on 2
# cores) for the progress lines; make -q tells which are done already.
repro_step = '$(1)|$(2)|$(3)'
REPRO_STEP_LINES = $(call repro_step,1,build,$(REPRO_LB)) \
    $(if $(REPRO_TEXT),,$(call repro_step,2,corpora,$(CORPORA)/MANIFEST)) \
    $(foreach c,$(REPRO_CORPUS_NAMES),$(call repro_step,1,spectrum of $(c),$(REPRO_SPEC)/$(c)_windows.csv) \
      $(call repro_step,1,random-init control of $(c),$(REPRO_SPEC)/init/$(c).json) \
      $(if $(REPRO_EVAL),$(call repro_step,1,masked-LM loss on $(c),$(REPRO_SPEC)/$(c)_eval.json)) \
      $(call repro_step,1,figures of $(c),$(REPRO_SPEC)/$(c).figures)) \
    $(if $(REPRO_WITH_BENCH),$(call repro_step,$(if $(filter paper,$(REPRO_PRESET)),300,10),bench $(REPRO_PRESET),$(REPRO_BENCH)/bench.json) \
      $(call repro_step,1,bench figures,$(REPRO_FIG)/.bench-figures)) \
    $(if $(REPRO_LOG_FILES),$(call repro_step,1,Figure 3,$(REPRO_FIG)/.fig3-figures)) \
    $(call repro_step,1,report,$(REPRO_REPORT))

reproduce:
	@bash experiments/deps.sh
	@test -f $(REPRO_MODEL)/model.safetensors || { \
	  echo "reproduce: the model $(REPRO_MODEL)/model.safetensors is not there." >&2; \
	  echo "  Train it (hours on 2 cores):  make train-small" >&2; \
	  echo "  then copy the export:         cp $(TRAIN_OUT)/model/* $(REPRO_MODEL)/" >&2; \
	  echo "  or point at another checkpoint: make reproduce REPRO_MODEL=DIR" >&2; exit 66; }
	@$(MAKE) --no-print-directory reproduce-steps

# Each step runs in its own make so that its progress line comes first; the estimate of the
# time left counts only the steps not done yet.
reproduce-steps:
	@printf '%s\n' $(REPRO_STEP_LINES) | { \
	   left=0; n=0; i=0; lines=""; t0=$$(date +%s); \
	   done_already() { [ "$$1" != "$(REPRO_LB)" ] && \
	     $(MAKE) -q -o $(REPRO_LB) --no-print-directory "$$1" </dev/null >/dev/null 2>&1; }; \
	   while IFS='|' read -r m label target; do \
	     n=$$((n + 1)); lines="$$lines$$m|$$label|$$target\n"; \
	     done_already "$$target" || left=$$((left + m)); \
	   done; \
	   printf "$$lines" | while IFS='|' read -r m label target; do \
	     i=$$((i + 1)); \
	     if done_already "$$target"; then \
	       echo "== reproduce [$$i/$$n] $$label: done already"; continue; fi; \
	     echo "== reproduce [$$i/$$n] $$label: about $$m min; about $$left min left ($$(( ($$(date +%s) - t0) / 60 )) min so far)"; \
	     $(MAKE) --no-print-directory "$$target" </dev/null || exit $$?; \
	     left=$$((left - m)); [ $$left -ge 0 ] || left=0; \
	   done || exit $$?; \
	   echo "== reproduce: done in $$(( ($$(date +%s) - t0) / 60 )) min: $(REPRO_REPORT)"; }

# The target is the per-window file (the newest kind of output), so that results written
# before it existed are made again; the run writes PREFIX.json and the rest with it.
$(REPRO_SPEC)/%_windows.csv: $(REPRO_TEXT_DEPS) | $(REPRO_LB)
	@mkdir -p $(@D)
	$(REPRO_LB) spectrum --model $(REPRO_MODEL) --text $(repro_text) \
	  --n $(REPRO_SPEC_N) --sequences $(REPRO_SPEC_SEQ) --out $(REPRO_SPEC)/$* $(REPRO_SPEC_ARGS)

# The control: the model's architecture with random weights, on the same text and lengths.
$(REPRO_SPEC)/init/%.json: $(REPRO_TEXT_DEPS) | $(REPRO_LB)
	@mkdir -p $(@D)
	$(REPRO_LB) spectrum --model $(REPRO_MODEL) --random-init $(REPRO_INIT_SEED) \
	  --text $(repro_text) --n $(REPRO_SPEC_N) \
	  --sequences $(REPRO_INIT_SEQ) --proj-sequences 0 --quiet --out $(REPRO_SPEC)/init/$* $(REPRO_SPEC_ARGS)

$(REPRO_SPEC)/%_eval.json: $(REPRO_TEXT_DEPS) | $(REPRO_LB)
	@mkdir -p $(@D)
	$(REPRO_LB) eval --model $(REPRO_MODEL) --text $(repro_text) \
	  --n $(REPRO_SPEC_N) --max-tokens $(REPRO_EVAL_TOKENS) --passes 1 --out $@

# plots/spectrum.sh draws next to its prefix: draw on a copy in a temp folder, then move
# the finished images over, so an interrupted run leaves no half-written image.
$(REPRO_SPEC)/%.figures: $(REPRO_SPEC)/%_windows.csv $(REPRO_SPEC)/init/%.json
	@t=$$(mktemp -d "$(@D)/.fig-$*.XXXXXX") && trap 'rm -rf "$$t"' EXIT && \
	 cp $(REPRO_SPEC)/$*.json $(REPRO_SPEC)/$*_*.csv "$$t"/ && \
	 bash plots/spectrum.sh "$$t/$*" "$(notdir $(REPRO_MODEL)) on $*" $(REPRO_SPEC)/init/$* && \
	 mv -f "$$t"/$*_*.png "$$t"/$*_*.svg "$(@D)"/ && touch "$@"

$(REPRO_BENCH)/bench.json: | $(REPRO_LB)
	$(REPRO_LB) bench --preset $(REPRO_PRESET) --out $(REPRO_BENCH) $(BENCH_ARGS)

$(REPRO_FIG)/.bench-figures: $(REPRO_BENCH)/bench.json
	@mkdir -p $(@D)
	@t=$$(mktemp -d "$(@D)/.tmp-bench.XXXXXX") && trap 'rm -rf "$$t"' EXIT && \
	 bash plots/bench_plots.sh $(REPRO_BENCH) "$$t" $(REPRO_PAPER) >/dev/null && \
	 for f in "$$t"/*.png "$$t"/*.svg; do [ -e "$$f" ] && mv -f "$$f" "$(@D)"/; done; touch "$@"

# Figure 3: the three panels with seed bands (plots/fig3.sh) from the Figure 3 set; the
# default model's log alone has no arms to draw.
$(REPRO_FIG)/.fig3-figures: $(REPRO_LOG_FILES)
	@mkdir -p $(@D)
	@if [ -n "$(REPRO_FIG3_DIR)" ]; then \
	   bash plots/fig3.sh $(REPRO_FIG3_DIR) $(REPRO_FIG) $(FIG3_SHARE) $(FIG3_SHARE_K) $(FIG3_N) || exit $$?; \
	 else echo "reproduce: no Figure 3 set (make fig3); the report lists the logs only"; fi; touch $@

$(REPRO_REPORT): $(REPRO_INPUTS) $(REPRO_LOG_FILES) | $(REPRO_LB)
	$(REPRO_LB) report $(REPRO_BENCH_ARG) $(REPRO_T3P_ARG) --spectrum $(call repro_join,$(REPRO_PREFIXES)) \
	  --random-init $(call repro_join,$(REPRO_INITS)) --bootstrap $(REPRO_BOOT) \
	  --corpus-names $(call repro_join,$(REPRO_CORPUS_NAMES)) --paper $(REPRO_PAPER) --figures $(REPRO_FIG) \
	  $(if $(REPRO_LOGS_OK),--train-log '$(call repro_join,$(REPRO_LOGS_OK))') --out $@

# reproduce-report: the corpora with a spectrum, and whether each has its random-init control
repro_have       = $(notdir $(basename $(wildcard $(addsuffix .json,$(REPRO_PREFIXES)))))
repro_have_inits = $(if $(repro_have),$(if $(filter-out $(notdir $(basename $(wildcard $(addsuffix .json,$(REPRO_INITS))))),$(repro_have)),,1))
reproduce-report: | $(REPRO_LB)
	$(REPRO_LB) report $(if $(wildcard $(REPRO_BENCH)/bench.json),--bench $(REPRO_BENCH)) $(REPRO_T3P_ARG) \
	  $(if $(wildcard $(addsuffix .json,$(REPRO_PREFIXES))),--spectrum $(call repro_join,$(basename $(wildcard $(addsuffix .json,$(REPRO_PREFIXES))))) \
	  --corpus-names $(call repro_join,$(notdir $(basename $(wildcard $(addsuffix .json,$(REPRO_PREFIXES))))))) \
	  $(if $(repro_have_inits),--random-init $(call repro_join,$(addprefix $(REPRO_SPEC)/init/,$(repro_have)))) \
	  --bootstrap $(REPRO_BOOT) \
	  --paper $(REPRO_PAPER) --figures $(REPRO_FIG) \
	  $(if $(REPRO_LOGS_OK),--train-log '$(call repro_join,$(REPRO_LOGS_OK))') --out $(REPRO_REPORT)

reproduce-paper:
	$(MAKE) --no-print-directory reproduce REPRO_PRESET=paper REPRO_BENCH=results/paper-grid \
	  REPRO_FIG=plots/out-paper REPRO_SPEC=results/spectrum-paper REPRO_SPEC_SEQ=1000 \
	  REPRO_REPORT=results/REPORT-paper.md

USER_N   ?= 128,256,512
USER_SEQ ?= 100
USER_EVAL ?= 1
reproduce-user:
	@[ -n "$(MODEL)" ] && [ -n "$(TEXT)" ] || { \
	  echo "usage: make reproduce-user MODEL=DIR TEXT=FILE [NAME=x] [USER_N=$(USER_N)] [USER_SEQ=$(USER_SEQ)]" >&2; exit 64; }
	@[ -f "$(MODEL)/config.json" ] && [ -f "$(MODEL)/model.safetensors" ] || { \
	  echo "reproduce-user: $(MODEL) needs config.json and model.safetensors (a HuggingFace folder)" >&2; exit 66; }
	@[ -f "$(TEXT)" ] || { echo "reproduce-user: text file $(TEXT) not found" >&2; exit 66; }
	$(MAKE) --no-print-directory reproduce-steps REPRO_MODEL=$(MODEL) REPRO_TEXT=$(TEXT) \
	  REPRO_CORPUS_NAMES=$(or $(NAME),$(notdir $(abspath $(MODEL)))) \
	  REPRO_SPEC=results/user/$(or $(NAME),$(notdir $(abspath $(MODEL)))) \
	  REPRO_SPEC_N=$(USER_N) REPRO_SPEC_SEQ=$(USER_SEQ) REPRO_EVAL=$(USER_EVAL) REPRO_WITH_BENCH= REPRO_TRAIN_LOGS= \
	  REPRO_REPORT=results/user/$(or $(NAME),$(notdir $(abspath $(MODEL))))/REPORT.md
