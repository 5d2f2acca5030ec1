# Corpus and tokenizer targets, included by the Makefile.
#   make corpora     build $(CORPORA) from Debian packages (analysis/text/corpus.sh; as root
#                    it installs them, otherwise it prints the apt-get line)
#   make tokenizer   train the byte-level BPE of results/models/linbench-small on the
#                    corpora's train splits (results/models/linbench-small/TOKENIZER.md)
CORPORA         ?= experiments/corpora
TOKENIZER_DIR   ?= results/models/linbench-small
TOKENIZER_VOCAB ?= 8192
CORPUS_TRAIN    := $(CORPORA)/encyclopedic/train.txt $(CORPORA)/narrative/train.txt \
                   $(CORPORA)/informal/train.txt

.PHONY: corpora tokenizer

corpora:
	bash analysis/text/corpus.sh $(CORPORA)

$(CORPORA)/MANIFEST:
	bash analysis/text/corpus.sh $(CORPORA)

tokenizer: $(BUILD)/linbench $(CORPORA)/MANIFEST
	$(BUILD)/linbench bpe-train --vocab-size $(TOKENIZER_VOCAB) --out $(TOKENIZER_DIR) $(CORPUS_TRAIN)
