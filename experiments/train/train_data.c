/* The training data loader: pack windows of an lb_docs, a new seeded order each
 * epoch, and a position (epoch, window, n) that a checkpoint stores so a resumed run
 * reads the same batches. Also the corpus checksum and the unigram baseline's token. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_train.h"
#include "lb_util.h"

struct lb_loader {
    const lb_docs *d;
    uint64_t seed;
    int32_t bos, eos, pad;
    lb_windows *w; /* windows for (pos.n, pos.epoch) or NULL */
    lb_loader_pos pos;
    lb_batch row;  /* one-row scratch batch at pos.n */
};


static uint64_t epoch_seed(const lb_loader *l, long epoch) {
    return lb_seed_mix(l->seed, (uint64_t)epoch, 0x6c6f61646572ULL /* "loader" */);
}

/* Plan the windows for (n, epoch). */
static int plan(lb_loader *l, int n, long epoch, char *msg, size_t msglen) {
    lb_win_opts o;
    lb_win_opts_default(&o);
    o.policy = LB_WIN_PACK;
    o.n = n;
    o.seed = epoch_seed(l, epoch);
    o.bos = l->bos;
    o.eos = l->eos;
    o.pad = l->pad;
    lb_windows *w;
    if (lb_windows_init(&w, l->d, &o, msg, msglen)) return -1;
    if (l->row.n != n) {
        lb_batch_free(&l->row);
        memset(&l->row, 0, sizeof l->row);
        if (lb_batch_init(&l->row, 1, n, msg, msglen)) {
            lb_windows_free(w);
            return -1;
        }
    }
    lb_windows_free(l->w);
    l->w = w;
    l->pos.n = n;
    l->pos.epoch = epoch;
    return 0;
}

int lb_loader_init(lb_loader **out, const lb_docs *d, uint64_t seed, int32_t bos, int32_t eos,
                   int32_t pad, char *msg, size_t msglen) {
    *out = NULL;
    if (d->n_tokens == 0 || d->n_docs == 0) return lb_fail(msg, msglen, "empty corpus: no tokens");
    lb_loader *l = calloc(1, sizeof *l);
    if (!l) return lb_fail(msg, msglen, "out of memory");
    l->d = d;
    l->seed = seed;
    l->bos = bos;
    l->eos = eos;
    l->pad = pad;
    *out = l;
    return 0;
}

void lb_loader_free(lb_loader *l) {
    if (!l) return;
    lb_windows_free(l->w);
    lb_batch_free(&l->row);
    free(l);
}

int lb_loader_next(lb_loader *l, lb_batch *b, char *msg, size_t msglen) {
    if (!l->w || l->pos.n != b->n) {
        if (plan(l, b->n, 0, msg, msglen)) return -1;
        l->pos.pos = 0;
    }
    size_t n = (size_t)b->n;
    for (int r = 0; r < b->cap; r++) {
        if (l->pos.pos >= lb_windows_count(l->w)) {
            if (plan(l, b->n, l->pos.epoch + 1, msg, msglen)) return -1;
            l->pos.pos = 0;
        }
        if (lb_windows_fill(&l->row, l->w, l->pos.pos) != 1)
            return lb_fail(msg, msglen, "internal: window %zu of %zu could not be filled", l->pos.pos,
                        lb_windows_count(l->w));
        memcpy(b->ids + r * n, l->row.ids, n * sizeof *b->ids);
        memcpy(b->mask + r * n, l->row.mask, n * sizeof *b->mask);
        memcpy(b->token_types + r * n, l->row.token_types, n * sizeof *b->token_types);
        l->pos.pos++;
    }
    b->count = b->cap;
    return 0;
}

void lb_loader_get(const lb_loader *l, lb_loader_pos *p) {
    *p = l->pos;
}

int lb_loader_set(lb_loader *l, const lb_loader_pos *p, char *msg, size_t msglen) {
    if (p->n == 0) { /* nothing read yet */
        lb_windows_free(l->w);
        l->w = NULL;
        l->pos = *p;
        return 0;
    }
    if (p->epoch < 0) return lb_fail(msg, msglen, "loader epoch %ld is negative", p->epoch);
    if (plan(l, p->n, p->epoch, msg, msglen)) return -1;
    if (p->pos > lb_windows_count(l->w))
        return lb_fail(msg, msglen, "loader position %zu is past the %zu windows of n = %d", p->pos,
                    lb_windows_count(l->w), p->n);
    l->pos.pos = p->pos;
    return 0;
}

size_t lb_loader_windows(lb_loader *l, int n) {
    lb_win_opts o;
    lb_win_opts_default(&o);
    o.n = n;
    o.bos = l->bos;
    o.eos = l->eos;
    o.pad = l->pad;
    lb_windows *w;
    char msg[256];
    if (lb_windows_init(&w, l->d, &o, msg, sizeof msg)) return 0;
    size_t c = lb_windows_count(w);
    lb_windows_free(w);
    return c;
}

uint64_t lb_docs_checksum(const lb_docs *d) {
    uint64_t h = LB_FNV1A_INIT;
    for (size_t i = 0; i < d->n_tokens; i++) {
        int32_t t = d->tokens[i];
        unsigned char b[4] = {(unsigned char)t, (unsigned char)(t >> 8), (unsigned char)(t >> 16),
                              (unsigned char)(t >> 24)};
        h = lb_fnv1a(h, b, 4);
    }
    for (size_t j = 0; j <= d->n_docs && d->doc_off; j++) {
        uint64_t o = d->doc_off[j];
        unsigned char b[8];
        for (int k = 0; k < 8; k++) b[k] = (unsigned char)(o >> (8 * k));
        h = lb_fnv1a(h, b, 8);
    }
    return h;
}

int32_t lb_docs_top_token(const lb_docs *d, const lb_mask_cfg *cfg) {
    int32_t maxid = -1;
    for (size_t i = 0; i < d->n_tokens; i++)
        if (d->tokens[i] > maxid) maxid = d->tokens[i];
    if (maxid < 0) return -1;
    size_t *count = calloc((size_t)maxid + 1, sizeof *count);
    if (!count) return -1;
    for (size_t i = 0; i < d->n_tokens; i++) count[d->tokens[i]]++;
    int32_t best = -1;
    for (int32_t t = 0; t <= maxid; t++) {
        if (lb_mask_is_special(cfg, t) || !count[t]) continue;
        if (best < 0 || count[t] > count[best]) best = t;
    }
    free(count);
    return best;
}
