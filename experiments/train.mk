# Training targets, included by the Makefile.
#   make train-small   train (or resume) the default model (4 layers, hidden 256, 4 heads, FFN 1024,
#                      the linbench-small tokenizer, n 128 then 512, batch 8) on the union of the corpora,
#                      into $(TRAIN_OUT); it continues from $(TRAIN_OUT)/resume when present
#   make train-speed   tokens/s of that model at n = 128 and n = 512 (a few steps each)
TRAIN_OUT   ?= results/train-small
TRAIN_ARGS  ?=
TRAIN_DATA  ?= $(CORPORA)/all
TRAIN_TOK   ?= analysis/models/linbench-small

.PHONY: train-small train-speed

# The exact run behind the default model (2026-11-29/30 on 2 cores, OMP_WAIT_POLICY=passive,
# 2.7 h of training over two sessions): the union of the three corpora, n = 128 for 18000
# updates then 512 for 2000. It resumes from $(TRAIN_OUT)/resume when a checkpoint is put
# there (a run spanning sessions committed its latest one there; the finished run needs none).
train-small: $(BUILD)/linbench $(TRAIN_DATA)/train.txt $(TRAIN_DATA)/valid.txt
	if [ -f $(TRAIN_OUT)/resume/trainer.json ]; then \
	  $(BUILD)/linbench train --resume $(TRAIN_OUT)/resume $(TRAIN_ARGS); \
	else \
	  $(BUILD)/linbench train --tokenizer $(TRAIN_TOK) --train $(TRAIN_DATA)/train.txt \
	    --valid $(TRAIN_DATA)/valid.txt --layers 4 --hidden 256 --heads 4 --ffn 1024 \
	    --n 128:18000,512:2000 --batch 8 --steps 20000 --lr 5e-4 --warmup 1000 --eval-every 500 \
	    --ckpt-every 500 --threads 2 --seed 1 --out $(TRAIN_OUT) --log $(TRAIN_OUT)/log.csv \
	    $(TRAIN_ARGS); \
	fi

train-speed: $(BUILD)/linbench
	for n in 128 512; do \
	  $(BUILD)/linbench train --tokenizer $(TRAIN_TOK) --train $(TRAIN_DATA)/valid.txt \
	    --layers 4 --hidden 256 --heads 4 --ffn 1024 --n $$n --batch 8 --steps 6 --log-every 3 \
	    --warmup 1 --eval-every 0 --no-progress --out $(BUILD)/train-speed-$$n || exit 1; \
	done

# The shipped default model (issue 5), from the run's last checkpoint:
#   make model-export  BF16 weights + config.json of $(TRAIN_FINAL) into $(MODEL_DIR)
#                      (the tokenizer, TOKENIZER.md and MODEL.md there stay)
#   make model-card    its card: $(MODEL_DIR)/MODEL.md (command, checksums, commits, final
#                      validation numbers against the unigram baseline, row entropy of P per
#                      layer and head) and the curves plots/out/train_small_curves.{png,svg}
TRAIN_FINAL ?= $(TRAIN_OUT)/checkpoint-20000
MODEL_DIR   ?= analysis/models/linbench-small
CARD_N      ?= 128,512
CARD_SEQ    ?= 50
CARD_SPEC    = $(TRAIN_OUT)/entropy/all

.PHONY: model-export model-card

model-export: $(BUILD)/linbench
	@test -f $(TRAIN_FINAL)/trainer.json || { echo "model-export: $(TRAIN_FINAL)/trainer.json not found (make train-small first)" >&2; exit 66; }
	@t=$$(mktemp -d $(MODEL_DIR)/.export.XXXXXX) && trap 'rm -rf "$$t"' EXIT && \
	 $(BUILD)/linbench train --resume $(TRAIN_FINAL) --export-bf16 "$$t/m" && \
	 for f in config.json model.safetensors; do cp -f "$$t/m/$$f" $(MODEL_DIR)/.$$f.tmp && \
	   mv -f $(MODEL_DIR)/.$$f.tmp $(MODEL_DIR)/$$f || exit 1; done
	@echo "model-export: $(MODEL_DIR)/model.safetensors, $(MODEL_DIR)/config.json"

model-card: $(BUILD)/linbench $(BUILD)/tools/tool_tokenize $(MODEL_DIR)/model.safetensors $(TRAIN_DATA)/valid.txt
	@mkdir -p $(dir $(CARD_SPEC))
	$(BUILD)/linbench spectrum --model $(MODEL_DIR) --text $(TRAIN_DATA)/valid.txt --n $(CARD_N) \
	  --sequences $(CARD_SEQ) --proj-sequences 0 --quiet --out $(CARD_SPEC)
	/usr/bin/python3 experiments/unigram_baseline.py $(BUILD)/tools/tool_tokenize $(MODEL_DIR) \
	  $(TRAIN_DATA)/train.txt $(TRAIN_DATA)/valid.txt >$(TRAIN_OUT)/.unigram.json.tmp && \
	  mv -f $(TRAIN_OUT)/.unigram.json.tmp $(TRAIN_OUT)/unigram.json
	bash plots/train_curves.sh $(TRAIN_OUT)/log.csv plots/out/train_small_curves \
	  "linbench-small: 4 layers, hidden 256 (make train-small)"
	/usr/bin/python3 experiments/model_card.py --checkpoint $(TRAIN_FINAL) --log $(TRAIN_OUT)/log.csv \
	  --spectrum $(CARD_SPEC)_summary.csv --unigram $(TRAIN_OUT)/unigram.json \
	  --curves plots/out/train_small_curves.png --model $(MODEL_DIR) --out $(MODEL_DIR)/MODEL.md

# The probe behind the next default-model recipe (2026-11-30, stopped by hand after ~6000 of
# its 12000 updates): the default model's shape at n = 32, batch 32 (the same 1024 tokens per
# update), lr 1e-3. It left the plateau between updates 3000 and 4000 (validation loss 6.0 ->
# 4.9) and grew sharp heads (row entropy 0.07-0.43 of log n in layer 0 at n = 32), which the
# n = 128 run never did in 20000 updates. Positions past 34 stay untrained: a probe, not a model.
PROBE_OUT ?= results/train-probe-n32
.PHONY: train-probe-n32
train-probe-n32: $(BUILD)/linbench $(TRAIN_DATA)/train.txt $(TRAIN_DATA)/valid.txt
	OMP_WAIT_POLICY=passive $(BUILD)/linbench train --tokenizer $(TRAIN_TOK) --train $(TRAIN_DATA)/train.txt \
	  --valid $(TRAIN_DATA)/valid.txt --layers 4 --hidden 256 --heads 4 --ffn 1024 --max-pos 514 \
	  --n 32 --batch 32 --steps 12000 --lr 1e-3 --warmup 500 --eval-every 500 --ckpt-every 500 \
	  --threads 2 --seed 1 --out $(PROBE_OUT) --log $(PROBE_OUT)/log.csv $(TRAIN_ARGS)
