/* Window policies over an lb_docs (see lb_corpus.h). A window is stored as one
 * number: pack → its start in the joined stream, pad/ready → its document, so the
 * plan costs 8 bytes per window and batches are filled on demand.
 *
 * The pack stream is never built: position p lies in document j when
 * vstart(j) <= p < vstart(j+1) with vstart(j) = doc_off[j] + j (each earlier
 * document contributes one eos), and p − vstart(j) == len(j) is that eos. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_corpus.h"
#include "lb_util.h"

#define MAX_N (1 << 20) /* sequence lengths past this are refused as absurd */

typedef enum { MODE_PACK, MODE_PAD, MODE_READY } win_mode;

struct lb_windows {
    const lb_docs *d;
    lb_win_opts o;     /* stride resolved */
    win_mode mode;
    int n;
    size_t stream_len; /* pack */
    size_t total, count;
    size_t *pick;      /* (count) window numbers in the chosen order */
    char desc[320];
};


void lb_win_opts_default(lb_win_opts *o) {
    memset(o, 0, sizeof *o);
    o->policy = LB_WIN_PACK;
    o->n = 512;
    o->seed = 1;
    o->bos = 0;
    o->eos = 2;
    o->pad = 1;
}

/* Uniform in [0, bound) without modulo bias. */
static uint64_t below(lb_rng *r, uint64_t bound) {
    uint64_t lim = UINT64_MAX - UINT64_MAX % bound, x;
    do x = lb_rng_u64(r);
    while (x >= lim);
    return x % bound;
}

static int plan(lb_windows *w, const lb_docs *d, const lb_win_opts *o, char *msg, size_t msglen) {
    if (d->n_docs == 0 || d->n_tokens == 0) return lb_fail(msg, msglen, "empty corpus: no tokens to cut into windows");
    if (o->max_count < 0) return lb_fail(msg, msglen, "max count %ld is negative", o->max_count);
    if (d->ready_n > 0) {
        w->mode = MODE_READY;
        w->n = o->n ? o->n : d->ready_n;
        if (w->n != d->ready_n)
            return lb_fail(msg, msglen, "n = %d, but the ids file holds ready sequences of length %d", o->n,
                        d->ready_n);
        w->total = d->n_docs;
        return 0;
    }
    w->mode = o->policy == LB_WIN_PAD ? MODE_PAD : MODE_PACK;
    if (o->policy != LB_WIN_PACK && o->policy != LB_WIN_PAD) return lb_fail(msg, msglen, "unknown window policy");
    if (o->n < 3 || o->n > MAX_N)
        return lb_fail(msg, msglen, "n = %d: a window needs 3..%d tokens (bos, content, eos)", o->n, MAX_N);
    if (o->bos < 0 || o->eos < 0 || o->pad < 0)
        return lb_fail(msg, msglen, "bos/eos/pad ids must be given (got %d/%d/%d)", o->bos, o->eos, o->pad);
    w->n = o->n;
    long c = o->n - 2;
    if (o->stride == 0) w->o.stride = c;
    if (w->o.stride < 1 || w->o.stride > c)
        return lb_fail(msg, msglen, "stride %ld outside 1..%ld (n − 2)", o->stride, c);
    if (w->mode == MODE_PAD) {
        w->total = d->n_docs;
        return 0;
    }
    size_t L = d->n_tokens + d->n_docs - 1, s = (size_t)w->o.stride, uc = (size_t)c;
    w->stream_len = L;
    if (o->drop_partial) {
        if (L < uc)
            return lb_fail(msg, msglen, "no full window: the corpus has %zu tokens with separators, n − 2 = %ld",
                        L, c);
        w->total = 1 + (L - uc) / s;
    } else {
        w->total = L <= uc ? 1 : 1 + (L - uc + s - 1) / s;
    }
    return 0;
}

static void describe(lb_windows *w) {
    const lb_win_opts *o = &w->o;
    char *p = w->desc;
    size_t left = sizeof w->desc;
    int k;
    if (w->mode == MODE_READY)
        k = snprintf(p, left, "ready n=%d seed=%llu pad=%d", w->n, (unsigned long long)o->seed, o->pad);
    else if (w->mode == MODE_PAD)
        k = snprintf(p, left, "pad n=%d seed=%llu bos=%d eos=%d pad=%d", w->n,
                     (unsigned long long)o->seed, o->bos, o->eos, o->pad);
    else
        k = snprintf(p, left, "pack n=%d stride=%ld seed=%llu bos=%d eos=%d pad=%d%s", w->n, o->stride,
                     (unsigned long long)o->seed, o->bos, o->eos, o->pad,
                     o->drop_partial ? " drop_partial" : "");
    if (k > 0 && (size_t)k < left)
        snprintf(p + k, left - (size_t)k, " windows=%zu/%zu docs=%zu tokens=%zu", w->count, w->total,
                 w->d->n_docs, w->d->n_tokens);
}

int lb_windows_init(lb_windows **out, const lb_docs *d, const lb_win_opts *o, char *msg,
                    size_t msglen) {
    *out = NULL;
    lb_windows *w = calloc(1, sizeof *w);
    if (!w) return lb_fail(msg, msglen, "out of memory");
    w->d = d;
    w->o = *o;
    if (plan(w, d, o, msg, msglen)) {
        free(w);
        return -1;
    }
    size_t bytes;
    if (lb_mul_size(&bytes, w->total, sizeof *w->pick) || !(w->pick = malloc(bytes ? bytes : 1))) {
        lb_fail(msg, msglen, "out of memory planning %zu windows", w->total);
        free(w);
        return -1;
    }
    /* Fisher–Yates over all windows, then keep a prefix: which windows and their
     * order both follow from the seed alone. */
    lb_rng r;
    lb_rng_seed(&r, o->seed);
    for (size_t i = 0; i < w->total; i++) w->pick[i] = i;
    for (size_t i = w->total; i > 1; i--) {
        size_t j = (size_t)below(&r, i), t = w->pick[i - 1];
        w->pick[i - 1] = w->pick[j];
        w->pick[j] = t;
    }
    w->count = o->max_count > 0 && (size_t)o->max_count < w->total ? (size_t)o->max_count : w->total;
    describe(w);
    *out = w;
    return 0;
}

void lb_windows_free(lb_windows *w) {
    if (!w) return;
    free(w->pick);
    free(w);
}

size_t lb_windows_count(const lb_windows *w) { return w->count; }
size_t lb_windows_total(const lb_windows *w) { return w->total; }
int lb_windows_n(const lb_windows *w) { return w->n; }
const char *lb_windows_describe(const lb_windows *w) { return w->desc; }

int lb_batch_init(lb_batch *b, int cap, int n, char *msg, size_t msglen) {
    size_t cells;
    memset(b, 0, sizeof *b);
    if (cap < 1 || n < 1 || lb_mul_size(&cells, (size_t)cap, (size_t)n) || cells > SIZE_MAX / 4)
        return lb_fail(msg, msglen, "batch of %d × %d: sizes must be positive and not overflow", cap, n);
    b->ids = lb_alloc(cells * sizeof *b->ids);
    b->mask = lb_alloc(cells * sizeof *b->mask);
    b->token_types = lb_alloc(cells * sizeof *b->token_types);
    if (!b->ids || !b->mask || !b->token_types) {
        lb_batch_free(b);
        return lb_fail(msg, msglen, "out of memory for a batch of %d × %d", cap, n);
    }
    b->cap = cap;
    b->n = n;
    memset(b->token_types, 0, cells * sizeof *b->token_types);
    return 0;
}

void lb_batch_free(lb_batch *b) {
    lb_free(b->ids);
    lb_free(b->mask);
    lb_free(b->token_types);
    memset(b, 0, sizeof *b);
}

/* Copy stream[p, p + len) of the packed corpus into dst. */
static void stream_copy(int32_t *dst, const lb_windows *w, size_t p, size_t len) {
    const lb_docs *d = w->d;
    size_t lo = 0, hi = d->n_docs; /* last j with vstart(j) <= p */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->doc_off[mid] + mid <= p) lo = mid;
        else hi = mid;
    }
    size_t j = lo, off = p - (d->doc_off[j] + j);
    for (size_t i = 0; i < len; i++) {
        size_t dl = d->doc_off[j + 1] - d->doc_off[j];
        if (off < dl) {
            dst[i] = d->tokens[d->doc_off[j] + off++];
        } else { /* the separator after document j */
            dst[i] = w->o.eos;
            j++, off = 0;
        }
    }
}

int lb_windows_fill(lb_batch *b, const lb_windows *w, size_t first) {
    if (b->n != w->n) return -1;
    const lb_docs *d = w->d;
    size_t n = (size_t)w->n, c = n - 2;
    b->count = 0;
    for (size_t k = first; k < w->count && b->count < b->cap; k++, b->count++) {
        int32_t *ids = b->ids + (size_t)b->count * n;
        float *mask = b->mask + (size_t)b->count * n;
        size_t win = w->pick[k], len;
        if (w->mode == MODE_READY) {
            memcpy(ids, d->tokens + d->doc_off[win], n * sizeof *ids);
            for (size_t i = 0; i < n; i++) mask[i] = (w->o.pad >= 0 && ids[i] == w->o.pad) ? 0.f : 1.f;
            continue;
        }
        if (w->mode == MODE_PAD) {
            size_t dl = d->doc_off[win + 1] - d->doc_off[win];
            len = dl < c ? dl : c;
            memcpy(ids + 1, d->tokens + d->doc_off[win], len * sizeof *ids);
        } else {
            size_t start = win * (size_t)w->o.stride;
            len = w->stream_len - start < c ? w->stream_len - start : c;
            stream_copy(ids + 1, w, start, len);
        }
        ids[0] = w->o.bos;
        ids[len + 1] = w->o.eos;
        for (size_t i = len + 2; i < n; i++) ids[i] = w->o.pad;
        for (size_t i = 0; i < n; i++) mask[i] = i < len + 2 ? 1.f : 0.f;
    }
    return b->count;
}
