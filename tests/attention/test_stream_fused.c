/* The fused streaming tile (attention/attn_stream_fused.c) in each variant this CPU
 * has — the sgemm path (0), AVX2+FMA (1), AVX-512F (2) — against the scalar reference
 * lb_attn_full_ref, over shapes that hit every edge of its blocking: n = 1, odd n, n
 * equal to, one past and not a multiple of the 96-query tile and of the 64-key block,
 * d = 16 (one vector
 * pair), 48 (AVX-512's odd half), 64, 128, padding masks (a batch row with one real
 * key, one with none), large logits, NaN rows, and Linformer's attention over its
 * projected keys (same tile, keys read with a row stride). Uses the internal attn_int.h on purpose: the
 * variant switch is not public.
 * Tolerance: |x − ref| <= 2e-5 + 2e-4·|ref|: float accumulation over d and n terms
 * against a double reference (the sgemm path meets the same bound in test_attention). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_int.h"
#include "lb_attn.h"
#include "lb_test.h"

static float frand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

/* Padding masks of B rows: row 0 keys past 2n/3 padded, row 1 one real key, row 2 none. */
static void padding_mask(float *mask, int B, int n) {
    for (int b = 0; b < B; b++)
        for (int j = 0; j < n; j++) mask[(size_t)b * n + j] = b == 0 ? j < (2 * n + 2) / 3 : b == 1 ? j == n / 2 : 0.0f;
}

/* out = the forward pass of a handle made from c; 0, or -1 (a failed check) when init refuses. */
static int forward(const lb_attn_cfg *c, float *out, const float *q, const float *k, const float *v,
                   const float *mask, const float *E, const float *F) {
    lb_attn *a = NULL;
    char msg[256];
    if (lb_attn_init(&a, c, msg, sizeof msg)) {
        LB_CHECK(0, "%s init: %s", lb_attn_method_name(c->method), msg);
        return -1;
    }
    lb_attn_forward(a, out, NULL, q, k, v, mask, E, F);
    lb_attn_free(a);
    return 0;
}

/* How many of out[0..sz) miss ref (|x − ref| <= 2e-5 + 2e-4·|ref|), the first at *first. */
static size_t count_off(const float *out, const float *ref, size_t sz, size_t *first) {
    size_t bad = 0;
    *first = 0;
    for (size_t i = 0; i < sz; i++)
        if (!lb_close(out[i], ref[i], 2e-5, 2e-4)) bad += !bad ? (*first = i, 1) : 1;
    return bad;
}

static void one(int isa, int B, int H, int n, int d, float amp, int masked) {
    size_t sz = (size_t)B * H * n * d;
    /* calloc: GCC cannot see that the loop below fills them and warns at forward() */
    float *q = calloc(sz, sizeof *q), *k = calloc(sz, sizeof *k), *v = calloc(sz, sizeof *v);
    float *out = malloc(sz * sizeof *out), *ref = malloc(sz * sizeof *ref);
    float *mask = masked ? malloc((size_t)B * n * sizeof *mask) : NULL;
    unsigned seed = (unsigned)(n * 131 + d * 7 + B);
    for (size_t i = 0; i < sz; i++) q[i] = amp * frand(&seed), k[i] = frand(&seed), v[i] = frand(&seed);
    if (mask) padding_mask(mask, B, n);
    lb_attn_cfg c = {.method = LB_ATTN_STREAM, .B = B, .H = H, .n = n, .d = d, .threads = 2};
    if (!forward(&c, out, q, k, v, mask, NULL, NULL)) {
        lb_attn_full_ref(ref, NULL, q, k, v, mask, B, H, n, d);
        size_t first, bad = count_off(out, ref, sz, &first);
        LB_CHECK(!bad, "isa %d B %d H %d n %d d %d amp %g mask %d: %zu of %zu off (first [%zu] %g vs %g)", isa,
                 B, H, n, d, amp, masked, bad, sz, first, bad ? out[first] : 0, bad ? ref[first] : 0);
    }
    free(q), free(k), free(v), free(out), free(ref), free(mask);
}

/* A NaN in one query row makes that row's output NaN and leaves the others; a NaN in
 * one key makes every output NaN (every row's scores include it) — as the reference. */
static void nan_rows(int isa, int n, int d, int where) {
    size_t sz = (size_t)n * d;
    float *q = malloc(sz * sizeof *q), *k = malloc(sz * sizeof *k), *v = malloc(sz * sizeof *v);
    float *out = malloc(sz * sizeof *out), *ref = malloc(sz * sizeof *ref);
    unsigned seed = 99;
    for (size_t i = 0; i < sz; i++) q[i] = frand(&seed), k[i] = frand(&seed), v[i] = frand(&seed);
    (where == 0 ? q : k)[(size_t)(n / 2) * d + 3] = NAN;
    lb_attn_cfg c = {.method = LB_ATTN_STREAM, .B = 1, .H = 1, .n = n, .d = d, .threads = 1};
    if (!forward(&c, out, q, k, v, NULL, NULL, NULL)) {
        lb_attn_full_ref(ref, NULL, q, k, v, NULL, 1, 1, n, d);
        size_t bad = 0, nans = 0;
        for (size_t i = 0; i < sz; i++) {
            nans += isnan(ref[i]) != 0;
            bad += isnan(ref[i]) ? !isnan(out[i]) : !lb_close(out[i], ref[i], 2e-5, 2e-4);
        }
        LB_CHECK(!bad && nans == (where == 0 ? (size_t)d : sz), "isa %d n %d NaN in %s: %zu of %zu off, %zu NaN in ref",
                 isa, n, where == 0 ? "a query" : "a key", bad, sz, nans);
    }
    free(q), free(k), free(v), free(out), free(ref);
}

/* Linformer's attention over its k projected keys runs the same tile, its keys and
 * values read in place from the packed projections (rows 2Hd apart): against
 * lb_attn_linformer_ref, per-head E and F (share none) and E = F (kv), k = 1, odd, a
 * block and one past, k = n, with a padding mask. */
static void lin(int isa, int B, int H, int n, int d, int kp, lb_share share, int masked) {
    size_t sz = (size_t)B * H * n * d, ne = (size_t)(share == LB_SHARE_NONE ? H : 1) * kp * n;
    float *q = malloc(sz * sizeof *q), *k = malloc(sz * sizeof *k), *v = malloc(sz * sizeof *v);
    float *out = malloc(sz * sizeof *out), *ref = malloc(sz * sizeof *ref);
    float *E = malloc(ne * sizeof *E), *F = malloc(ne * sizeof *F);
    float *mask = masked ? malloc((size_t)B * n * sizeof *mask) : NULL;
    unsigned seed = (unsigned)(n * 17 + kp);
    for (size_t i = 0; i < sz; i++) q[i] = frand(&seed), k[i] = frand(&seed), v[i] = frand(&seed);
    for (size_t i = 0; i < ne; i++) E[i] = frand(&seed) / sqrtf((float)n), F[i] = frand(&seed) / sqrtf((float)n);
    if (mask) padding_mask(mask, B, n);
    const float *Fu = share == LB_SHARE_KV ? E : F;
    lb_attn_cfg c = {.method = LB_ATTN_LINFORMER, .B = B, .H = H, .n = n, .d = d, .k = kp, .share = share, .threads = 2};
    if (!forward(&c, out, q, k, v, mask, E, Fu)) {
        lb_attn_linformer_ref(ref, NULL, q, k, v, mask, E, Fu, B, H, n, d, kp, share);
        size_t first, bad = count_off(out, ref, sz, &first);
        LB_CHECK(!bad, "linformer isa %d B %d H %d n %d d %d k %d share %s mask %d: %zu of %zu off (first [%zu] %g vs %g)",
                 isa, B, H, n, d, kp, lb_share_name(share), masked, bad, sz, first, bad ? out[first] : 0,
                 bad ? ref[first] : 0);
    }
    free(q), free(k), free(v), free(out), free(ref), free(E), free(F), free(mask);
}

int main(void) {
    const int shapes[][2] = {{1, 16}, {7, 16}, {63, 64}, {64, 64}, {65, 48}, {96, 64}, {97, 32},
                             {129, 64}, {193, 64}, {200, 128}, {257, 32}, {300, 64}};
    int ran = 0;
    for (int isa = 0; isa <= 2; isa++) {
        if (lb_stream_fused_force(isa)) {
            printf("variant %d: not on this CPU, skipped\n", isa);
            continue;
        }
        ran++;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            one(isa, 1, 2, shapes[s][0], shapes[s][1], 1.0f, 0);
            one(isa, 3, 1, shapes[s][0], shapes[s][1], 1.0f, 1);
        }
        one(isa, 1, 1, 130, 64, 30.0f, 0); /* logits of ~±30·√64/8: the online max must rescale */
        one(isa, 1, 1, 130, 64, 300.0f, 0); /* logits past ±125 in log2 units: exp2's clamp */
        nan_rows(isa, 150, 64, 0);
        nan_rows(isa, 150, 64, 1);
        const int lk[][3] = {{100, 1, 64}, {100, 7, 64}, {200, 64, 64}, {200, 65, 32}, {97, 97, 16}, {300, 128, 64}};
        for (size_t s = 0; s < sizeof lk / sizeof lk[0]; s++) {
            lin(isa, 1, 3, lk[s][0], lk[s][2], lk[s][1], LB_SHARE_NONE, 0);
            lin(isa, 3, 2, lk[s][0], lk[s][2], lk[s][1], LB_SHARE_KV, 1);
        }
    }
    LB_CHECK(ran >= 1, "at least the sgemm path ran");
    return lb_test_summary("test_stream_fused");
}
