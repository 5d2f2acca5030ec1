/* lb_corpus: reading model inputs and cutting them into sequences of length n by a
 * stated, seeded policy.
 *
 * Inputs become an lb_docs: documents of token ids, concatenated, with offsets.
 *  - ids from a file: .npy int32/int64 (recognised by its magic, not its name):
 *    1-D = one stream (one document); 2-D (m, n) = m ready sequences. Otherwise text
 *    with whitespace-separated decimal integers, one document per non-blank line.
 *  - UTF-8 text through a tokenizer: documents separated by blank lines (lines of
 *    only spaces/tabs/CR count as blank; the newlines inside a document stay part of
 *    its text, the one ending it does not), or one document per non-blank line.
 * Empty documents are dropped.
 *
 * Window policies (content c = n − 2 tokens between bos and eos):
 *  - pack: the documents joined into one stream with eos between consecutive
 *    documents; window i holds stream[i·stride, min(i·stride + c, len)) as
 *    bos content eos, then pad (mask 0) when the content is shorter than c. Windows
 *    are taken while the previous ones have not reached the end of the stream, so
 *    count = 1 + ceil(max(0, len − c) / stride) and every token is covered; with
 *    drop_partial only windows with c content tokens are kept.
 *    Default stride c (no overlap).
 *  - pad: one window per document, truncated to its first c tokens, bos doc eos,
 *    then pad tokens with mask 0.
 *  - ready sequences (2-D .npy input): used unchanged, no bos/eos added; the file's
 *    n must equal opts n; mask 0 where the id equals pad, else 1.
 * The seed picks which windows and their order: a Fisher–Yates shuffle of all
 * windows driven by lb_rng seeded with `seed` (same on every run and machine), then
 * the first max_count are kept.
 * Batches are filled on demand from the held ids, so only (B, n) arrays exist at once.
 *
 * Errors: 0 on success, -1 with msg naming the file, line and value, or the option.
 */
#ifndef LB_CORPUS_H
#define LB_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "lb_tokenizer.h"

typedef struct {
    int32_t *tokens;  /* (n_tokens) all documents back to back */
    size_t n_tokens;
    size_t *doc_off;  /* (n_docs + 1): document j is tokens[doc_off[j], doc_off[j+1]) */
    size_t n_docs;
    int ready_n;      /* > 0: a 2-D (n_docs, ready_n) file of ready sequences */
    size_t cap_tokens, cap_docs; /* internal growth bookkeeping */
} lb_docs;

/* Zero-initialise before use (or lb_docs_init); free with lb_docs_free. */
void lb_docs_init(lb_docs *d);
void lb_docs_free(lb_docs *d);
/* Append one document ids (count); count 0 is ignored. 0 or -1 (out of memory). */
int lb_docs_add(lb_docs *d, const int32_t *ids, size_t count);

/* Ids file (.npy or integer text). vocab_size > 0 also refuses ids >= vocab_size;
 * negative ids are always refused. */
int lb_docs_read_ids(lb_docs *d, const char *path, long vocab_size, char *msg, size_t msglen);
/* UTF-8 text file tokenized with t; per_line: one document per line instead of
 * blank-line separated paragraphs. */
int lb_docs_read_text(lb_docs *d, const char *path, lb_tokenizer *t, int per_line, char *msg,
                      size_t msglen);
/* The same from memory; name is used in messages. */
int lb_docs_from_text(lb_docs *d, const char *text, size_t len, const char *name, lb_tokenizer *t,
                      int per_line, char *msg, size_t msglen);

typedef enum { LB_WIN_PACK = 0, LB_WIN_PAD = 1 } lb_win_policy;

typedef struct {
    lb_win_policy policy;
    int n;            /* sequence length, >= 3 (ready input: may be 0 = take the file's) */
    long stride;      /* pack: tokens between window starts, 1..n-2; 0 = n − 2 */
    long max_count;   /* keep at most this many windows; 0 = all */
    uint64_t seed;    /* window choice and order */
    int drop_partial; /* pack: keep only windows with n − 2 content tokens */
    int32_t bos, eos, pad; /* required >= 0 (except ready input: pad may be -1) */
} lb_win_opts;

/* Defaults: pack, n 512, stride 0 (= n − 2), all windows, seed 1, bos 0 eos 2 pad 1
 * (RoBERTa's ids). */
void lb_win_opts_default(lb_win_opts *o);

typedef struct lb_windows lb_windows; /* the chosen windows, pointing into an lb_docs */

/* Plan the windows over d (which must outlive w and stay unchanged). Refuses n < 3,
 * stride outside 1..n-2, negative specials, an empty corpus, no full window under
 * drop_partial, ready input with a different n. */
int lb_windows_init(lb_windows **out, const lb_docs *d, const lb_win_opts *o, char *msg,
                    size_t msglen);
void lb_windows_free(lb_windows *w);
size_t lb_windows_count(const lb_windows *w); /* kept windows */
size_t lb_windows_total(const lb_windows *w); /* windows before max_count */
int lb_windows_n(const lb_windows *w);
/* Policy text for result metadata, e.g.
 * "pack n=512 stride=510 seed=1 bos=0 eos=2 pad=1 windows=100/1234 docs=56 tokens=631000".
 * Returns a pointer owned by w. */
const char *lb_windows_describe(const lb_windows *w);

/* A batch: ids, mask and token_types are (cap, n); the first count rows are valid. */
typedef struct {
    int count, cap, n;
    int32_t *ids;         /* (cap, n) */
    float *mask;          /* (cap, n) 1 real token, 0 padding */
    int32_t *token_types; /* (cap, n) all 0 */
} lb_batch;

int lb_batch_init(lb_batch *b, int cap, int n, char *msg, size_t msglen);
void lb_batch_free(lb_batch *b);
/* Fill b with windows first .. first + b->cap − 1 (fewer at the end); returns the
 * number filled (b->count), 0 when first >= count, -1 when b->n is not the windows' n. */
int lb_windows_fill(lb_batch *b, const lb_windows *w, size_t first);

#endif
