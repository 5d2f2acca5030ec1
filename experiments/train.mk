# Training targets, included by the Makefile.
#   make train-small   train (or resume) the default model (4 layers, hidden 256, 4 heads, FFN 1024,
#                      the linbench-small tokenizer, n 32 then 128 then 512, batch 32) on the union
#                      of the corpora, into $(TRAIN_OUT); it continues from its latest checkpoint
#   make train-speed   tokens/s of that model at n = 128 and n = 512 (a few steps each)
TRAIN_OUT   ?= results/train-small
TRAIN_ARGS  ?=
TRAIN_DATA  ?= $(CORPORA)/all
TRAIN_TOK   ?= analysis/models/linbench-small

.PHONY: train-small train-speed

# The exact run behind the default model (2026-11-30 on 2 cores, OMP_WAIT_POLICY=passive), in
# the three stages it was found in: (1) a probe at n = 32, batch 32, lr 1e-3 planned for 12000
# updates left the unigram plateau by update 4000 and was stopped at 5994; (2) a resume
# lengthened its curriculum (n = 128 for 2500 updates, then 512 for 500) and shortened the
# schedule to 9000 updates; (3) at 8602, seeing the loss at n = 512 still high, a resume gave
# n = 512 800 more updates (schedule 9800; the LR falls linearly to 0 from wherever a resume
# finds it; interrupted once at 9036 and resumed). Each stage resumes the last checkpoint of the
# one before; the model is checkpoint-$(TRAIN_STEPS).
# The first default model (n = 128 then 512, batch 8, lr 5e-4, 20000 updates) never left the
# plateau: results/train-small-v1. Run it again and it continues from the latest checkpoint in
# $(TRAIN_OUT), in whichever stage.
TRAIN_SHAPE  = --layers 4 --hidden 256 --heads 4 --ffn 1024 --max-pos 514
TRAIN_CMD1   = build/linbench train --tokenizer $(TRAIN_TOK) --train $(TRAIN_DATA)/train.txt \
  --valid $(TRAIN_DATA)/valid.txt $(TRAIN_SHAPE) --n 32 --batch 32 --steps 12000 --lr 1e-3 \
  --warmup 500 --eval-every 500 --ckpt-every 500 --threads 2 --seed 1 --out $(TRAIN_OUT) \
  --log $(TRAIN_OUT)/log.csv
TRAIN_STAGE1 = 5994
TRAIN_ARGS2  = --n 32:6000,128:2500,512:500 --steps 9000
TRAIN_STAGE2 = 8602
TRAIN_ARGS3  = --n 32:6000,128:2500,512:1300 --steps 9800
TRAIN_STEPS  = 9800
# The code each stage ran (a resume with other code is valid, not bit-identical):
TRAIN_CODE1  = code of 74dadb0
TRAIN_CODE2  = code of 2e6b2db to update 6532, then 247284a (vectorised GELU and exp: the same model, last bits differ)
TRAIN_CODE3  = code of 59c0460 to update 9036, then 30bbfde (the same numerics as 247284a)
train-small: $(BUILD)/linbench $(TRAIN_DATA)/train.txt $(TRAIN_DATA)/valid.txt
	@last=$$(ls -d $(TRAIN_OUT)/checkpoint-* 2>/dev/null | sed 's/.*checkpoint-//' | sort -n | tail -1); \
	run() { echo "$$*"; OMP_WAIT_POLICY=passive "$$@" || exit $$?; }; \
	if [ -z "$$last" ]; then \
	  run $(TRAIN_CMD1) --stop-after $(TRAIN_STAGE1) $(TRAIN_ARGS); last=$(TRAIN_STAGE1); \
	elif [ "$$last" -lt $(TRAIN_STAGE1) ]; then \
	  run $(BUILD)/linbench train --resume $(TRAIN_OUT)/checkpoint-$$last \
	    --stop-after $$(($(TRAIN_STAGE1) - last)) $(TRAIN_ARGS); last=$(TRAIN_STAGE1); \
	fi; \
	if [ "$$last" -lt $(TRAIN_STAGE2) ]; then \
	  run $(BUILD)/linbench train --resume $(TRAIN_OUT)/checkpoint-$$last $(TRAIN_ARGS2) \
	    --stop-after $$(($(TRAIN_STAGE2) - last)) $(TRAIN_ARGS); last=$(TRAIN_STAGE2); \
	fi; \
	if [ "$$last" -lt $(TRAIN_STEPS) ]; then \
	  run $(BUILD)/linbench train --resume $(TRAIN_OUT)/checkpoint-$$last $(TRAIN_ARGS3) \
	    --stop-after $$(($(TRAIN_STEPS) - last)) $(TRAIN_ARGS); \
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
TRAIN_FINAL ?= $(TRAIN_OUT)/checkpoint-$(TRAIN_STEPS)
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
	  --curves plots/out/train_small_curves.png --model $(MODEL_DIR) --out $(MODEL_DIR)/MODEL.md \
	  --stage "$(TRAIN_CMD1) --stop-after $(TRAIN_STAGE1)   # $(TRAIN_CODE1)" \
	  --stage "build/linbench train --resume $(TRAIN_OUT)/checkpoint-$(TRAIN_STAGE1) $(TRAIN_ARGS2) --stop-after $$(($(TRAIN_STAGE2) - $(TRAIN_STAGE1)))   # $(TRAIN_CODE2)" \
	  --stage "build/linbench train --resume $(TRAIN_OUT)/checkpoint-$(TRAIN_STAGE2) $(TRAIN_ARGS3) --stop-after $$(($(TRAIN_STEPS) - $(TRAIN_STAGE2)))   # $(TRAIN_CODE3)"