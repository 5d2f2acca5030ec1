# Figure 3 at small scale (issue 5) and the training-throughput benchmark, included by
# the Makefile.
#   make fig3          train the runs below from scratch on the same data, tokenizer, seed,
#                      model, n, batch and budget, each into $(FIG3_DIR)/fig3-LABEL/log.csv,
#                      then draw plots/out/fig3_k.{png,svg} and fig3_share.{png,svg}.
#                      Hours: never a test. Each run resumes from its latest checkpoint,
#                      so FIG3_STOP_AFTER=N (steps per run and session) spreads it over sessions.
#   make fig3-plot     redraw the figures from the logs there
#   make fig3-small    the same at the small budget behind the committed Figure 3
#   make bench-train   training tokens/s of linbench vs PyTorch on the CPU (python3-torch)
# Labels: "standard" (full attention) and kK-SHARE (Linformer, k = K, sharing SHARE); any
# such label works as a target, e.g. make results/fig3-k100-kv/log.csv.
FIG3_DIR          ?= results
FIG3_DATA         ?= $(CORPORA)/all
FIG3_TOK          ?= results/models/linbench-small
FIG3_MODEL        ?= --layers 4 --hidden 256 --heads 4 --ffn 1024
FIG3_N            ?= 512
FIG3_BATCH        ?= 8
# 1500 updates x 8 x 512 tokens = 6.1 M tokens a run: about 18 min at the 5700 tokens/s
# measured for the standard model at n = 512 (make bench-train, 2 cores, quiet; Linformer
# runs are faster), so about 2.5 h for the eight runs.
FIG3_STEPS        ?= 1500
FIG3_WARMUP       ?= 150
FIG3_LR           ?= 5e-4
FIG3_EVAL         ?= 50
FIG3_EVAL_BATCHES ?= 8
FIG3_CKPT         ?= 100
FIG3_SEED         ?= 1
# A fixed thread count: the same seed and thread count give the same bits (resume included).
FIG3_THREADS      ?= 2
FIG3_KS           ?= 32 64 128 256
FIG3_SHARE        ?= headwise
FIG3_SHARE_K      ?= 128
FIG3_SHARES       ?= none headwise kv layerwise
FIG3_STOP_AFTER   ?=
FIG3_ARGS         ?=
FIG3_PLOTS        ?= plots/out
FIG3_LB           ?= $(BUILD)/linbench
# Passive OpenMP waiting: next to other jobs the default spinning stalls every parallel
# region on a preempted thread (2-5x slower here); the bits do not depend on it.
FIG3_OMP_WAIT     ?= passive

fig3_uniq   = $(if $(1),$(firstword $(1)) $(call fig3_uniq,$(filter-out $(firstword $(1)),$(1))))
FIG3_LABELS = $(call fig3_uniq,standard $(foreach k,$(FIG3_KS),k$(k)-$(FIG3_SHARE)) \
                $(foreach s,$(FIG3_SHARES),k$(FIG3_SHARE_K)-$(s)))
FIG3_LOGS   = $(foreach l,$(FIG3_LABELS),$(FIG3_DIR)/fig3-$(l)/log.csv)
# label -> attention options ("k128-kv" -> --attention linformer --k 128 --share kv)
fig3_words  = $(subst -, ,$(1))
fig3_attn   = $(if $(filter standard,$(1)),--attention full,--attention linformer \
                --k $(patsubst k%,%,$(word 1,$(call fig3_words,$(1)))) --share $(word 2,$(call fig3_words,$(1))))

.PHONY: fig3 fig3-plot fig3-small bench-train

# The budget this repository's committed Figure 3 was run at (2026-11-30, in the spare cycles
# of 2 cores, at nice 19, next to make train-small): a 2-layer, hidden-128 model, 600 updates
# of 8 x 512 tokens (2.5 M tokens a run, ~5-10 min each alone), into results/fig3-small and
# plots/out/fig3-small. Small enough to finish in a session; see README for what it can show.
FIG3_SMALL = FIG3_DIR=results/fig3-small FIG3_PLOTS=plots/out/fig3-small \
  FIG3_MODEL='--layers 2 --hidden 128 --heads 2 --ffn 512' FIG3_STEPS=600 FIG3_WARMUP=60 \
  FIG3_LR=1e-3 FIG3_EVAL=50 FIG3_CKPT=100 FIG3_THREADS=1
fig3-small:
	@$(MAKE) --no-print-directory fig3 $(FIG3_SMALL)

fig3: $(FIG3_LOGS)
	@$(MAKE) --no-print-directory fig3-plot

fig3-plot:
	bash plots/fig3.sh $(FIG3_DIR) $(FIG3_PLOTS) $(FIG3_SHARE) $(FIG3_SHARE_K)

# The union of the three corpora (each split ends with a blank line, so documents stay
# apart), written through a temp file.
$(CORPORA)/all/%.txt: $(CORPORA)/MANIFEST
	@mkdir -p $(@D)
	cat $(foreach c,encyclopedic narrative informal,$(CORPORA)/$(c)/$*.txt) >$@.tmp.$$$$ && mv -f $@.tmp.$$$$ $@ \
	  || { rm -f $@.tmp.$$$$; exit 1; }

# One run. The folder is the work folder: checkpoints (checkpoint-STEP, git-ignored) and
# the log being written (checkpoint-log.csv, ignored too); log.csv appears only when the
# run has reached FIG3_STEPS. Inputs are order-only: a touched corpus must not restart
# hours of training (resume checks the corpus and tokenizer checksums anyway).
fig3_last = last=0; for c in "$$d"/checkpoint-*; do s=$${c\#\#*/checkpoint-}; \
  case $$s in ''|*[!0-9]*) continue;; esac; \
  [ -f "$$c/trainer.json" ] && [ "$$s" -gt "$$last" ] && last=$$s; done

$(FIG3_DIR)/fig3-%/log.csv: | $(FIG3_LB) $(FIG3_DATA)/train.txt $(FIG3_DATA)/valid.txt
	@case '$*' in standard|k[0-9]*-none|k[0-9]*-headwise|k[0-9]*-kv|k[0-9]*-layerwise) ;; \
	  *) echo "fig3: label '$*' is neither 'standard' nor kK-SHARE (SHARE: none headwise kv layerwise)" >&2; \
	     exit 64;; esac
	@d='$(@D)'; mkdir -p "$$d" && $(fig3_last); resume=; \
	 if [ "$$last" -gt 0 ]; then resume="--resume $$d/checkpoint-$$last"; \
	   echo "fig3 $*: resuming at step $$last of $(FIG3_STEPS)"; fi; \
	 OMP_WAIT_POLICY=$(FIG3_OMP_WAIT) $(FIG3_LB) train $$resume --tokenizer $(FIG3_TOK) --train $(FIG3_DATA)/train.txt \
	   --valid $(FIG3_DATA)/valid.txt $(FIG3_MODEL) $(call fig3_attn,$*) --n $(FIG3_N) \
	   --batch $(FIG3_BATCH) --steps $(FIG3_STEPS) --warmup $(FIG3_WARMUP) --lr $(FIG3_LR) \
	   --eval-every $(FIG3_EVAL) --eval-batches $(FIG3_EVAL_BATCHES) --ckpt-every $(FIG3_CKPT) \
	   --seed $(FIG3_SEED) --threads $(FIG3_THREADS) $(if $(FIG3_STOP_AFTER),--stop-after $(FIG3_STOP_AFTER)) \
	   --out "$$d" --log "$$d/checkpoint-log.csv" $(FIG3_ARGS) || exit $$?; \
	 prev=$$last; $(fig3_last); \
	 for c in "$$d"/checkpoint-*; do s=$${c##*/checkpoint-}; case $$s in ''|*[!0-9]*) continue;; esac; \
	   [ -f "$$c/trainer.json" ] && [ "$$s" -lt "$$last" ] && rm -rf "$$c"; done; \
	 if [ "$$last" -ge $(FIG3_STEPS) ]; then \
	   cp -f "$$d/checkpoint-log.csv" "$@.tmp.$$$$" && mv -f "$@.tmp.$$$$" "$@" || { rm -f "$@.tmp.$$$$"; exit 1; }; \
	   echo "fig3 $*: done, $@"; \
	 else echo "fig3 $*: at step $$last of $(FIG3_STEPS) (was $$prev); run make fig3 again to continue"; fi

BENCH_TRAIN_REPS ?= 5
BENCH_TRAIN_N    ?= 128 512
bench-train: $(BUILD)/linbench
	LINBENCH=$(BUILD)/linbench REPS=$(BENCH_TRAIN_REPS) NS='$(BENCH_TRAIN_N)' \
	  DATA=$(FIG3_DATA)/valid.txt TOK=$(FIG3_TOK) bash experiments/train/bench_train.sh
