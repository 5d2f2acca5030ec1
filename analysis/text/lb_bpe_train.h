/* lb_bpe_train: training a GPT-2 byte-level BPE vocabulary (RoBERTa's tokenizer) from text,
 * in the layout RoBERTa's tokenizer files use, so that lb_tokenizer_load_bpe reads it.
 *
 * Training:
 *  1. Text is split with the GPT-2 pre-tokenizer (lb_pretok_next, the same scanner the
 *     tokenizer uses); a pre-token never crosses the end of one added text. Distinct
 *     pre-tokens ("words") are counted.
 *  2. Every word starts as its bytes; the 256 byte tokens are spelled in GPT-2's
 *     bytes_to_unicode alphabet.
 *  3. Repeatedly the most frequent adjacent pair of tokens is merged, where a pair's
 *     count is the sum over words of (word count × adjacent occurrences in the word,
 *     overlapping ones included, so "aaa" holds (a,a) twice). Ties go to the pair whose
 *     (left string, right string) is smallest, strings compared byte by byte in UTF-8
 *     (= code point order, as Python compares str tuples). In each word the pair is
 *     merged left to right without overlap ("aaa" → "aa" "a").
 *     Training stops when the vocabulary is full or the best count is below
 *     min_frequency (or no pair is left).
 *  A merge whose result spells a token that already exists (two different splits of
 *  one string) is recorded in merges.txt but adds no vocabulary entry (as HuggingFace's
 *  trainer does).
 *  Counts are updated incrementally: each pair keeps the list of words that may hold
 *  it, and a max-heap with lazy deletion finds the best pair, so a merge costs time in
 *  proportion to the words it touches, not to the corpus.
 *
 * Output (RoBERTa layout): vocab.json, one line of compact JSON, ids
 *   <s>=0 <pad>=1 </s>=2 <unk>=3, then the 256 byte tokens in code point order of their
 *   alphabet character (4..259), then the merged tokens in merge order, then <mask> last;
 * merges.txt: "#version: 0.2" then one "left right" line per merge, in order.
 * Same inputs and options give the same files byte for byte.
 *
 * Errors: 0 on success, -1 with msg (msglen bytes) saying what and where.
 */
#ifndef LB_BPE_TRAIN_H
#define LB_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

/* Smallest vocabulary: 4 specials + 256 bytes + <mask> (no merges). */
#define LB_BPE_MIN_VOCAB 261
/* Largest accepted vocabulary (RoBERTa has 50265). */
#define LB_BPE_MAX_VOCAB (1 << 20)

typedef struct {
    long vocab_size;    /* total, specials included: LB_BPE_MIN_VOCAB..LB_BPE_MAX_VOCAB */
    long min_frequency; /* >= 1: stop when the best pair occurs fewer times */
} lb_bpe_train_opts;

/* Defaults: vocab_size 8192, min_frequency 2. */
void lb_bpe_train_opts_default(lb_bpe_train_opts *o);

typedef struct lb_bpe_trainer lb_bpe_trainer;

typedef struct {
    uint64_t pretokens;  /* pre-tokens seen (with repeats) */
    uint64_t words;      /* distinct pre-tokens */
    uint64_t bytes;      /* text bytes added */
    long merges;         /* merges learned */
    long vocab;          /* final vocabulary size (specials and <mask> included) */
    long last_count;     /* count of the last merged pair (0 when none) */
} lb_bpe_stats;

int lb_bpe_trainer_init(lb_bpe_trainer **out, char *msg, size_t msglen);
void lb_bpe_trainer_free(lb_bpe_trainer *t);

/* Pre-tokenize text[0..len) (bytes, NULs allowed) and count its words. Only before
 * lb_bpe_trainer_run. */
int lb_bpe_trainer_add(lb_bpe_trainer *t, const char *text, size_t len, char *msg, size_t msglen);

/* Learn the merges. Refuses options out of range and a trainer with no text. Once. */
int lb_bpe_trainer_run(lb_bpe_trainer *t, const lb_bpe_train_opts *o, char *msg, size_t msglen);

void lb_bpe_trainer_stats(const lb_bpe_trainer *t, lb_bpe_stats *s);

/* The two files' contents after run: malloc'd NUL-terminated text (free with free()),
 * *len its length without the NUL. NULL when out of memory or not run yet. */
char *lb_bpe_trainer_vocab_json(const lb_bpe_trainer *t, size_t *len);
char *lb_bpe_trainer_merges_txt(const lb_bpe_trainer *t, size_t *len);

/* Write DIR/vocab.json and DIR/merges.txt (DIR created if missing), each through a
 * temporary file and rename; on failure neither final name is created or changed
 * (unless the second rename itself fails). */
int lb_bpe_trainer_write(const lb_bpe_trainer *t, const char *dir, char *msg, size_t msglen);

#endif
