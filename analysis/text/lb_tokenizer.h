/* lb_tokenizer: text → token ids for the spectrum analysis and training.
 *
 * Two kinds:
 *  - GPT-2 byte-level BPE (RoBERTa's tokenizer) from vocab.json + merges.txt. Text is
 *    split by the GPT-2 pre-tokenizer pattern
 *      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *    (matched exactly by a hand-written scanner with Unicode tables generated from
 *    UnicodeData.txt and PropList.txt, analysis/text/unicode_tables.c), each piece's bytes
 *    are mapped through GPT-2's bytes_to_unicode alphabet, then the lowest-ranked
 *    adjacent pair is merged repeatedly. Special tokens written inside the text
 *    ("<mask>") are NOT recognised; they are tokenized as plain text.
 *  - Byte-level: id = byte + offset, vocabulary offset + 256, for models trained on
 *    raw bytes. With offset >= 4, ids 0..3 are named <s>, <pad>, </s>, <unk>
 *    (RoBERTa's order).
 *
 * Invalid UTF-8: each byte that does not start a valid, shortest-form sequence is
 * treated as one character of its own (class "other", so it joins punctuation runs);
 * its byte still goes through BPE, so the result is defined and never a crash.
 *
 * Errors: functions return 0 on success, -1 on failure with msg (msglen bytes)
 * naming the file, line or field and what was expected. A tokenizer keeps a word
 * cache, so encode is not thread-safe: use one tokenizer per thread.
 */
#ifndef LB_TOKENIZER_H
#define LB_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* Growable id array: v holds n ids, capacity cap. Zero-initialise, free with lb_ids_free. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} lb_ids;
/* Append count ids; 0 or -1 (out of memory). */
int lb_ids_push(lb_ids *a, const int32_t *ids, size_t count);
void lb_ids_free(lb_ids *a);

typedef struct lb_tokenizer lb_tokenizer;

typedef enum { LB_TOK_BPE = 0, LB_TOK_BYTES = 1, LB_TOK_WORDPIECE = 2 } lb_tok_kind;

/* GPT-2 byte-level BPE. vocab.json maps token string → id (ids unique, >= 0);
 * merges.txt holds one "a b" pair per line, rank = order, an optional first line
 * "#version: ..." and blank lines ignored; both parts and their concatenation must
 * be in the vocabulary (as HuggingFace requires). */
int lb_tokenizer_load_bpe(lb_tokenizer **out, const char *vocab_path, const char *merges_path,
                          char *msg, size_t msglen);
/* The same from memory (for fuzzing and embedding); the names are used in messages. */
int lb_tokenizer_parse_bpe(lb_tokenizer **out, const char *vocab, size_t vocab_len,
                           const char *merges, size_t merges_len, const char *vocab_name,
                           const char *merges_name, char *msg, size_t msglen);
/* Byte-level tokenizer, 0 <= offset <= 1<<20. */
int lb_tokenizer_bytes(lb_tokenizer **out, int offset, char *msg, size_t msglen);
/* BERT WordPiece (analysis/text/wordpiece.c) from vocab.txt: one token per line, id =
 * line number - 1, "[UNK]" required. Encoding is BERT's basic tokenizer, then
 * WordPiece:
 *  1. drop U+0000, U+FFFD and control characters (category C*, except tab, newline,
 *     CR); every whitespace character (space, tab, newline, CR, Zs) becomes a space
 *     (invalid UTF-8 bytes count as U+FFFD: dropped);
 *  2. chinese: a space either side of each CJK ideograph (the CJK Unified Ideographs
 *     blocks and extensions A-E, the compatibility blocks);
 *  3. split on whitespace (also U+2028, U+2029); in each word, lower: lower-case
 *     (Unicode full mapping with the final-sigma rule, as Python's str.lower());
 *     strip: canonical decomposition (NFD) and removal of the nonspacing marks (Mn);
 *  4. each punctuation character (ASCII symbols, category P*) becomes a word;
 *  5. WordPiece per word: a word of more than max_chars characters is [UNK]; else
 *     greedy longest match from the left, pieces after the first prefixed "##"; a
 *     word with a position no piece matches is [UNK] as a whole.
 * Not done: NFC composition of decomposed input (so a cased model sees "e"+U+0301 as
 * two characters), and special tokens written in the text ("[MASK]") are ordinary
 * text. The character data is Python's unicodedata (wordpiece_tables.c).
 * max_chars <= 0 means 100 (BERT's). */
int lb_tokenizer_load_wordpiece(lb_tokenizer **out, const char *vocab_path, int lower, int strip,
                                int chinese, int max_chars, char *msg, size_t msglen);
/* The tokenizer of a HuggingFace folder: DIR/vocab.json + DIR/merges.txt (BPE), else
 * DIR/vocab.txt (WordPiece, options from DIR/tokenizer_config.json: do_lower_case
 * default true, strip_accents default null = as do_lower_case, tokenize_chinese_chars
 * default true, max_input_chars_per_word default 100). Returns 0 loaded, 1 when none of
 * these files is there (msg says so), -1 malformed. */
int lb_tokenizer_for_model(lb_tokenizer **out, const char *dir, char *msg, size_t msglen);
/* The one free of the four constructors above (NULL: nothing to do). */
void lb_tokenizer_free(lb_tokenizer *t);

lb_tok_kind lb_tokenizer_kind(const lb_tokenizer *t);
/* 1 + the largest id (vocab.json may leave holes; they are never produced). */
int lb_tokenizer_vocab_size(const lb_tokenizer *t);
/* Short description for result metadata, e.g. "gpt2-bpe vocab=50265 merges=50000" or
 * "bytes offset=4". Returns a pointer owned by t. */
const char *lb_tokenizer_describe(const lb_tokenizer *t);

/* Id of the token spelled exactly `name` (e.g. "<s>", "</s>", "<pad>", "<unk>",
 * "<mask>" for RoBERTa; "[CLS]", "[SEP]", "[PAD]" for BERT), or -1 when absent. */
int lb_tokenizer_token_id(const lb_tokenizer *t, const char *name);
/* bos/eos/pad for window building: <s>, </s>, <pad> if present, else [CLS], [SEP],
 * [PAD]; each -1 when absent. Any pointer may be NULL. */
void lb_tokenizer_specials(const lb_tokenizer *t, int *bos, int *eos, int *pad);

/* Append the ids of text[0..len) (UTF-8, may contain NULs) to out. Fails only on
 * out of memory or a byte whose character is missing from the vocabulary while no
 * <unk> exists (then msg names the byte). */
int lb_tokenizer_encode(lb_tokenizer *t, lb_ids *out, const char *text, size_t len, char *msg,
                        size_t msglen);

/* ids is (n). Returns malloc'd NUL-terminated bytes (free with free()), *out_len (may
 * be NULL) = length without the NUL. Special tokens print as their names, ids outside
 * the vocabulary as "<?id>". NULL only when out of memory. For debugging. */
char *lb_tokenizer_decode(const lb_tokenizer *t, const int32_t *ids, size_t n, size_t *out_len);

/* ---- Pieces exposed for tests and fuzzing ---- */

/* Unicode classes the pre-tokenizer needs (from the generated tables). */
enum { LB_UNI_OTHER = 0, LB_UNI_LETTER = 1, LB_UNI_NUMBER = 2, LB_UNI_SPACE = 3 };
int lb_unicode_class(uint32_t cp); /* \p{L} → LETTER, \p{N} → NUMBER, White_Space → SPACE */

/* Decode one character at s[0..len), len >= 1: returns its byte length (1..4) and the
 * code point in *cp; an invalid byte gives length 1 and *cp = 0x110000 + byte (outside
 * Unicode, class OTHER). */
int lb_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

/* GPT-2's bytes_to_unicode alphabet: printable Latin-1 bytes ('!'..'~', 0xA1..0xAC,
 * 0xAE..0xFF) stand for themselves, the other 68 bytes for U+0100 + k in byte order
 * (space → U+0120 'Ġ', '\n' → U+010A 'Ċ'). lb_gpt2_cp_to_byte returns -1 for a code
 * point outside the alphabet. */
uint32_t lb_gpt2_byte_to_cp(unsigned char b);
int lb_gpt2_cp_to_byte(uint32_t cp);

/* Length in bytes of the GPT-2 pre-tokenizer match starting at text[0..len), len >= 1
 * (always >= 1). Splitting a string is repeated calls on the remainder. */
size_t lb_pretok_next(const char *text, size_t len);

#endif
