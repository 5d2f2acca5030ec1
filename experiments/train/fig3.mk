# Figure 3 with power (issue 14) and the training-throughput benchmark, included by the
# Makefile.
#   make fig3          train every run below (arms x seeds) on the same data, tokenizer,
#                      model and schedule, each into $(FIG3_DIR)/fig3-ARM-sSEED/log.csv, then
#                      draw plots/out/fig3_{k,share,n}.{png,svg} (seed bands). Each run resumes
#                      from its latest checkpoint and a finished one is never rerun, so
#                      `make fig3` continues where it stopped; FIG3_STOP_AFTER=N (steps per run
#                      and call) spreads it over sessions. Never a test.
#   make fig3-probe    the first run alone (standard, seed 1): check that it leaves the unigram
#                      plateau before paying for the rest
#   make fig3-speed    tokens/s of the standard and k = 32 arms, a few steps each
#   make fig3-plot     redraw the figures from the logs there
#   make bench-train   training tokens/s of linbench vs PyTorch on the CPU (python3-torch)
# Arms (labels): standard (full attention); kK-SHARE (Linformer, k = K, sharing SHARE);
# kK-SHARE-nN (the same ending at n = N: the fixed-k, growing-n panel); control-kK (Linformer
# headwise at a k so small it must train clearly worse: the negative control). Every run
# follows the same curriculum, the default model's recipe: FIG3_S0 updates at n = FIG3_N0
# (short sequences leave the unigram plateau fast), then FIG3_S1 at the arm's final n.
# n = 128 with k = 16, 32, 64 keeps the paper's k/n ratios (64, 128, 256 of 512).
#
# Size and time: 1000 x 16 x 64 + 500 x 16 x 128 = 2.05 M tokens a run at n = 128; the 10
# arms x 3 seeds are 63 M tokens. Measured on a 2-core Zen 3 with nothing else running
# (session 11): 3.5-4 min a run at n = 128 (n = 64 2.6 min, n = 256 5.5 min), about 2 h
# for the set; two to three times that beside other jobs.
FIG3_DIR          ?= results/fig3
FIG3_DATA         ?= $(CORPORA)/all
FIG3_TOK          ?= results/models/linbench-small
FIG3_MODEL        ?= --layers 2 --hidden 128 --heads 2 --ffn 512
FIG3_N0           ?= 64
FIG3_S0           ?= 1000
FIG3_N            ?= 128
FIG3_S1           ?= 500
FIG3_BATCH        ?= 16
FIG3_WARMUP       ?= 100
FIG3_LR           ?= 1e-3
FIG3_MIN_LR       ?= 1e-4
FIG3_EVAL         ?= 100
FIG3_EVAL_BATCHES ?= 16
FIG3_CKPT         ?= 100
FIG3_SEEDS        ?= 1 2 3
# A fixed thread count: the same seed and thread count give the same bits (resume included).
FIG3_THREADS      ?= 2
FIG3_KS           ?= 16 32 64
FIG3_SHARE        ?= headwise
FIG3_SHARE_K      ?= 32
FIG3_SHARES       ?= none headwise kv layerwise
FIG3_CONTROL      ?= control-k1
FIG3_PANEL_NS     ?= 64 256
FIG3_STOP_AFTER   ?=
FIG3_ARGS         ?=
FIG3_PLOTS        ?= plots/out
FIG3_LB           ?= $(BUILD)/linbench
# Passive OpenMP waiting: next to other jobs the default spinning stalls every parallel
# region on a preempted thread (2-5x slower here); the bits do not depend on it.
FIG3_OMP_WAIT     ?= passive

fig3_uniq   = $(if $(1),$(firstword $(1)) $(call fig3_uniq,$(filter-out $(firstword $(1)),$(1))))
FIG3_ARMS   = $(call fig3_uniq,standard $(foreach k,$(FIG3_KS),k$(k)-$(FIG3_SHARE)) \
                $(foreach s,$(FIG3_SHARES),k$(FIG3_SHARE_K)-$(s)) $(FIG3_CONTROL) \
                $(foreach n,$(FIG3_PANEL_NS),k$(FIG3_SHARE_K)-$(FIG3_SHARE)-n$(n)))
# seed-major: every arm's seed 1 first, so a partial set already has one run of each arm
FIG3_LOGS   = $(foreach s,$(FIG3_SEEDS),$(foreach a,$(FIG3_ARMS),$(FIG3_DIR)/fig3-$(a)-s$(s)/log.csv))

.PHONY: fig3 fig3-plot fig3-probe fig3-speed bench-train

fig3: $(FIG3_LOGS)
	@$(MAKE) --no-print-directory fig3-plot

fig3-probe: $(FIG3_DIR)/fig3-standard-s$(firstword $(FIG3_SEEDS))/log.csv

fig3-plot:
	bash plots/fig3.sh $(FIG3_DIR) $(FIG3_PLOTS) $(FIG3_SHARE) $(FIG3_SHARE_K) $(FIG3_N)

# The union of the three corpora (each split ends with a blank line, so documents stay
# apart), written through a temp file.
$(CORPORA)/all/%.txt: $(CORPORA)/MANIFEST
	@mkdir -p $(@D)
	cat $(foreach c,encyclopedic narrative informal,$(CORPORA)/$(c)/$*.txt) >$@.tmp.$$$$ && mv -f $@.tmp.$$$$ $@ \
	  || { rm -f $@.tmp.$$$$; exit 1; }

fig3_last = last=0; for c in "$$d"/checkpoint-*; do s=$${c\#\#*/checkpoint-}; \
  case $$s in ''|*[!0-9]*) continue;; esac; \
  [ -f "$$c/trainer.json" ] && [ "$$s" -gt "$$last" ] && last=$$s; done

# One run: ARM-sSEED. The folder is the work folder: checkpoints (checkpoint-STEP, ignored)
# and the log being written (checkpoint-log.csv, ignored too); log.csv appears only when the
# run has reached its last step. Inputs are order-only: a touched corpus must not restart
# hours of training (resume checks the corpus and tokenizer checksums anyway).
$(FIG3_DIR)/fig3-%/log.csv: | $(FIG3_LB) $(FIG3_DATA)/train.txt $(FIG3_DATA)/valid.txt
	@run='$*'; seed=$${run##*-s}; arm=$${run%-s*}; n=$(FIG3_N); \
	 case $$seed in ''|*[!0-9]*) seed=;; esac; \
	 case $$arm in *-n[0-9]*) n=$${arm##*-n}; arm=$${arm%-n*};; esac; \
	 case $$arm in \
	   standard) attn='--attention full';; \
	   control-k[0-9]*) attn="--attention linformer --k $${arm#control-k} --share headwise";; \
	   k[0-9]*-none|k[0-9]*-headwise|k[0-9]*-kv|k[0-9]*-layerwise) \
	     k=$${arm%%-*}; attn="--attention linformer --k $${k#k} --share $${arm#*-}";; \
	   *) attn=;; esac; \
	 if [ -z "$$seed" ] || [ -z "$$attn" ]; then \
	   echo "fig3: run '$*' is not ARM-sSEED with ARM standard, kK-SHARE, kK-SHARE-nN or control-kK" \
	        "(SHARE: none headwise kv layerwise)" >&2; exit 64; fi; \
	 if [ "$$n" -gt $(FIG3_N0) ]; then curr=$(FIG3_N0):$(FIG3_S0),$$n:$(FIG3_S1); else curr=$$n; fi; \
	 steps=$$(( $(FIG3_S0) + $(FIG3_S1) )); \
	 d='$(@D)'; mkdir -p "$$d" && $(fig3_last); resume=; \
	 if [ "$$last" -gt 0 ]; then resume="--resume $$d/checkpoint-$$last"; \
	   echo "fig3 $*: resuming at step $$last of $$steps"; fi; \
	 OMP_WAIT_POLICY=$(FIG3_OMP_WAIT) $(FIG3_LB) train $$resume --tokenizer $(FIG3_TOK) --train $(FIG3_DATA)/train.txt \
	   --valid $(FIG3_DATA)/valid.txt $(FIG3_MODEL) $$attn --n $$curr \
	   --batch $(FIG3_BATCH) --steps $$steps --warmup $(FIG3_WARMUP) --lr $(FIG3_LR) --decay wsd \
	   --min-lr $(FIG3_MIN_LR) --eval-every $(FIG3_EVAL) --eval-batches $(FIG3_EVAL_BATCHES) \
	   --ckpt-every $(FIG3_CKPT) --seed $$seed --threads $(FIG3_THREADS) \
	   $(if $(FIG3_STOP_AFTER),--stop-after $(FIG3_STOP_AFTER)) \
	   --out "$$d" --log "$$d/checkpoint-log.csv" $(FIG3_ARGS) || exit $$?; \
	 prev=$$last; $(fig3_last); \
	 for c in "$$d"/checkpoint-*; do s=$${c##*/checkpoint-}; case $$s in ''|*[!0-9]*) continue;; esac; \
	   [ -f "$$c/trainer.json" ] && [ "$$s" -lt "$$last" ] && rm -rf "$$c"; done; \
	 if [ "$$last" -ge "$$steps" ]; then \
	   cp -f "$$d/checkpoint-log.csv" "$@.tmp.$$$$" && mv -f "$@.tmp.$$$$" "$@" || { rm -f "$@.tmp.$$$$"; exit 1; }; \
	   echo "fig3 $*: done, $@"; \
	 else echo "fig3 $*: at step $$last of $$steps (was $$prev); run make fig3 again to continue"; fi

# tokens/s at each stage of the standard and the k = FIG3_SHARE_K arm (a few steps each)
fig3-speed: | $(FIG3_LB) $(FIG3_DATA)/valid.txt
	@for a in '--attention full' '--attention linformer --k $(FIG3_SHARE_K) --share $(FIG3_SHARE)'; do \
	  t=$$(mktemp -d); OMP_WAIT_POLICY=$(FIG3_OMP_WAIT) $(FIG3_LB) train --tokenizer $(FIG3_TOK) \
	    --train $(FIG3_DATA)/valid.txt $(FIG3_MODEL) $$a --n $(FIG3_N0):12,$(FIG3_N):12 --batch $(FIG3_BATCH) \
	    --steps 24 --warmup 1 --eval-every 0 --log-every 6 --threads $(FIG3_THREADS) --no-progress \
	    --out $$t --log $$t/log.csv >/dev/null || { rm -rf $$t; exit 1; }; \
	  echo "$$a:"; cut -d, -f1,3,10 $$t/log.csv; rm -rf $$t; done

BENCH_TRAIN_REPS ?= 5
BENCH_TRAIN_N    ?= 128 512
bench-train: $(BUILD)/linbench
	LINBENCH=$(BUILD)/linbench REPS=$(BENCH_TRAIN_REPS) NS='$(BENCH_TRAIN_N)' \
	  DATA=$(FIG3_DATA)/valid.txt TOK=$(FIG3_TOK) bash experiments/train/bench_train.sh
