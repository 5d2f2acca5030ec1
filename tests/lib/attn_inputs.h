/* attn_inputs: the random attention inputs the attention tests share (C tests only;
 * tests/attention/test_attention.c and test_attention_approx.c). */
#ifndef LB_ATTN_INPUTS_H
#define LB_ATTN_INPUTS_H

#include <stddef.h>

#include "lb_util.h"

typedef struct {
    int B, H, n, d;
    float *q, *k, *v, *mask;
} inputs;

enum { MASK_NONE, MASK_TAIL, MASK_FIRST, MASK_HOLES };
static const char *const mask_names[] = {"none", "tail", "first-only", "holes"};

/* MASK_TAIL: batch element b keeps a different prefix, and the last one (when B > 1)
 * is all padding; MASK_FIRST: only key 0 is real; MASK_HOLES: random holes, key 0
 * real. */
static inline void make_inputs(inputs *in, lb_rng *r, int B, int H, int n, int d, int mask, float sq) {
    size_t sz = (size_t)B * H * n * d;
    in->B = B, in->H = H, in->n = n, in->d = d;
    in->q = lb_alloc(sz * 4), in->k = lb_alloc(sz * 4), in->v = lb_alloc(sz * 4);
    lb_rng_fill_normal(r, in->q, sz, sq);
    lb_rng_fill_normal(r, in->k, sz, sq);
    lb_rng_fill_normal(r, in->v, sz, 1);
    in->mask = NULL;
    if (mask == MASK_NONE) return;
    in->mask = lb_alloc((size_t)B * n * 4);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < n; j++) {
            float m = 1;
            if (mask == MASK_TAIL) m = (B > 1 && b == B - 1) ? 0 : j < n - (b * n) / 3 ? 1 : 0;
            if (mask == MASK_FIRST) m = j == 0;
            if (mask == MASK_HOLES) m = j == 0 || lb_rng_uniform(r) < 0.6;
            in->mask[(size_t)b * n + j] = m;
        }
}

static inline void free_inputs(inputs *in) {
    lb_free(in->q), lb_free(in->k), lb_free(in->v), lb_free(in->mask);
}

#endif
