# Training targets, included by the Makefile.
#   make train-small   train the planned default model (4 layers, hidden 256, 4 heads, FFN 1024,
#                      the linbench-small tokenizer, n 128 then 512, batch 8) on the corpora's
#                      encyclopedic split into $(TRAIN_OUT); resume with TRAIN_ARGS='--resume DIR'
#   make train-speed   tokens/s of that model at n = 128 and n = 512 (a few steps each)
TRAIN_OUT   ?= results/train-small
TRAIN_ARGS  ?=
TRAIN_DATA  ?= $(CORPORA)/encyclopedic
TRAIN_TOK   ?= analysis/models/linbench-small

.PHONY: train-small train-speed

train-small: $(BUILD)/linbench
	$(BUILD)/linbench train --tokenizer $(TRAIN_TOK) --train $(TRAIN_DATA)/train.txt \
	  --valid $(TRAIN_DATA)/valid.txt --layers 4 --hidden 256 --heads 4 --ffn 1024 \
	  --n 128:9000,512:1000 --batch 8 --steps 10000 --lr 5e-4 --warmup 500 --eval-every 500 \
	  --ckpt-every 500 --out $(TRAIN_OUT) --log $(TRAIN_OUT)/log.csv \
	  --export-bf16 $(TRAIN_OUT)/model $(TRAIN_ARGS)

train-speed: $(BUILD)/linbench
	for n in 128 512; do \
	  $(BUILD)/linbench train --tokenizer $(TRAIN_TOK) --train $(TRAIN_DATA)/valid.txt \
	    --layers 4 --hidden 256 --heads 4 --ffn 1024 --n $$n --batch 8 --steps 6 --log-every 3 \
	    --warmup 1 --eval-every 0 --no-progress --out $(BUILD)/train-speed-$$n || exit 1; \
	done
