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

# The exact run behind the default model (started 2026-11-29 on 2 cores, OMP_WAIT_POLICY=passive,
# nice 19): the union of the three corpora, n = 128 for 18000 updates then 512 for 2000.
# It resumes from results/train-small/resume when that checkpoint is there.
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
