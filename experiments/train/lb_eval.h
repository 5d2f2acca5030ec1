/* lb_eval: masked-LM validation of a model folder, by sequence length and by position.
 *
 * Why: a model analysed at length n must have learned every position up to n. A
 * curriculum that trains mostly short sequences leaves the position embeddings past
 * the short length near their initialisation; the loss of the tokens at those
 * positions then stays high even though the average over a window looks fine. This
 * measures the masked-token loss per position bucket and the shape of the position
 * embeddings, so the model card can state (with an interval) that every position
 * is learned, and that longer context does not hurt.
 *
 * Protocol: the text is tokenized with the model's tokenizer, cut to its first
 * max_tokens tokens (whole documents), and packed into non-overlapping windows of
 * each n (lb_windows, pack policy) — the same tokens at every n. Each window is
 * masked `passes` times (RoBERTa's 15% / 80-10-10, seeds fixed by (seed, pass,
 * window)), and the loss is counted separately for each of `buckets` equal position
 * buckets of the window (one forward per bucket: the input is identical, only the
 * counted labels differ, so the buckets see the same corrupted context).
 */
#ifndef LB_EVAL_H
#define LB_EVAL_H

#include <stddef.h>
#include <stdint.h>

#define LB_EVAL_MAX_BUCKETS 16

typedef struct {
    const char *model;  /* model folder (config.json, model.safetensors, tokenizer) */
    const char *text;   /* UTF-8 text, documents split on blank lines */
    const int *n;       /* (n_count) sequence lengths */
    int n_count;
    long max_tokens;    /* use the first this many tokens of text; 0 = all */
    int buckets;        /* position buckets per window, 1..LB_EVAL_MAX_BUCKETS */
    int passes;         /* masking draws per window, >= 1 */
    int batch;          /* windows per forward */
    int threads;        /* 0 = all */
    uint64_t seed;
} lb_eval_opts;

/* Loss of one group of predicted positions, with a 95% interval over windows (the
 * ratio estimator sum(loss)/sum(count) and its delta-method standard error). */
typedef struct {
    int lo, hi;            /* positions lo..hi of the window (0-based, inclusive) */
    double loss;           /* mean cross-entropy, nats */
    double loss_lo, loss_hi;
    double diff, diff_lo, diff_hi; /* loss − bucket 0's loss, paired over windows */
    long n_pred;
} lb_eval_bucket;

typedef struct {
    int n;
    size_t windows;
    double loss, loss_lo, loss_hi, acc;
    long n_pred;
    lb_eval_bucket bucket[LB_EVAL_MAX_BUCKETS];
} lb_eval_len;

/* Position embeddings per bucket of the longest n: mean L2 norm of the rows and
 * mean cosine similarity between neighbouring positions (p, p+1). A learned table
 * has smooth neighbours (cosine well above 0); an untrained one is at its random
 * initialisation (cosine ≈ 0, norm ≈ 0.02·√hidden). */
typedef struct {
    int lo, hi;
    double norm, neighbour_cos;
} lb_eval_pos;

typedef struct {
    lb_eval_len *len;      /* (n_count) */
    int n_count;
    lb_eval_pos pos[LB_EVAL_MAX_BUCKETS];
    int pos_buckets;       /* 0 when the model has no position table */
    long tokens;           /* tokens of text used */
    char tokenizer[256];   /* its description */
} lb_eval_result;

void lb_eval_opts_default(lb_eval_opts *o);
/* Runs the protocol. Returns 0, or -1 with msg (unreadable model or text, n past the
 * positions, fewer than 2 windows at some n, out of memory). Free with lb_eval_free. */
int lb_eval_run(lb_eval_result *r, const lb_eval_opts *o, char *msg, size_t msglen);
void lb_eval_free(lb_eval_result *r);

/* Interval arithmetic shared with the tests: the ratio estimator Σa/Σb over units
 * i < count with a 95% interval from the delta method; for paired groups, the
 * difference of two such ratios on the same units. */
void lb_eval_ratio_ci(const double *a, const double *b, size_t count, double *est, double *lo,
                      double *hi);
void lb_eval_diff_ci(const double *a1, const double *b1, const double *a0, const double *b0,
                     size_t count, double *est, double *lo, double *hi);

#endif
