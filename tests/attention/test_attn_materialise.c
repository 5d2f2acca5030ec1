/* The materialising kernel (the paper's 2020 baseline) against its scalar reference
 * lb_attn_materialise_ref, and that reference against lb_attn_full_ref (an
 * independent, row-at-a-time definition); its workspace (the two (B,H,n,n) tensors)
 * and its refusals (train = 1).
 *
 * Tolerances (|x − ref| <= atol + rtol·|ref|), as test_attention.c argues:
 *   kernel vs ref  outputs atol 2e-5, rtol 2e-4 (float32 scores over d terms and O =
 *                  P·V over n terms against double sums; inputs N(0,1), |v| <~ 5);
 *                  probs atol 2e-6, rtol 2e-4 (a score's float error times p);
 *   ref vs full_ref  both double: the same definition in another order, 1e-6 / 1e-5;
 *   large logits   q, k with integer entries: every score is exact in float, so only
 *                  exp and the float sums differ: atol 1e-6, rtol 1e-5. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_attn.h"
#include "lb_test.h"
#include "lb_util.h"

typedef struct { int B, H, n, d; } shape;

/* mask kinds: 0 none; 1 batch element b keeps a prefix (the last one, when B > 1, is
 * all padding); 2 random holes with key 0 real */
static float *make_mask(lb_rng *r, int kind, int B, int n) {
    if (!kind) return NULL;
    float *m = lb_alloc((size_t)B * n * sizeof *m);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < n; j++)
            m[(size_t)b * n + j] = kind == 1 ? (B > 1 && b == B - 1 ? 0 : j < n - (b * n) / 3)
                                             : (j == 0 || lb_rng_uniform(r) < 0.6);
    return m;
}

static int forward(float *out, float *probs, const float *q, const float *k, const float *v,
                   const float *mask, shape s, int threads) {
    lb_attn_cfg c = {.method = LB_ATTN_MATERIALISE, .B = s.B, .H = s.H, .n = s.n, .d = s.d,
                     .threads = threads};
    char msg[256];
    lb_attn *a;
    if (lb_attn_init(&a, &c, msg, sizeof msg)) {
        LB_CHECK(0, "init: %s", msg);
        return -1;
    }
    lb_attn_forward(a, out, probs, q, k, v, mask, NULL, NULL);
    lb_attn_free(a);
    return 0;
}

static void test_shapes(lb_rng *r) {
    static const shape shapes[] = {{1, 1, 1, 1},  {1, 2, 2, 3},   {2, 1, 3, 64},
                                   {3, 2, 17, 65}, {2, 3, 127, 3}, {1, 1, 129, 16}};
    char name[160];
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (int mk = 0; mk < 3; mk++) {
            shape s = shapes[si];
            size_t sz = (size_t)s.B * s.H * s.n * s.d, pn = (size_t)s.B * s.H * s.n * s.n;
            float *q = lb_alloc(sz * 4), *k = lb_alloc(sz * 4), *v = lb_alloc(sz * 4);
            lb_rng_fill_normal(r, q, sz, 1), lb_rng_fill_normal(r, k, sz, 1);
            lb_rng_fill_normal(r, v, sz, 1);
            float *mask = make_mask(r, mk, s.B, s.n);
            float *ref = lb_alloc(sz * 4), *fref = lb_alloc(sz * 4), *out = lb_alloc(sz * 4);
            float *pref = lb_alloc(pn * 4), *pf = lb_alloc(pn * 4), *p = lb_alloc(pn * 4);
            lb_attn_materialise_ref(ref, pref, q, k, v, mask, s.B, s.H, s.n, s.d);
            lb_attn_full_ref(fref, pf, q, k, v, mask, s.B, s.H, s.n, s.d);
            int tag = snprintf(name, sizeof name, "B%d H%d n%d d%d mask %d", s.B, s.H, s.n, s.d, mk);
            snprintf(name + tag, sizeof name - tag, " ref vs full_ref out");
            lb_check_array(name, ref, fref, (long)sz, 1e-6, 1e-5);
            snprintf(name + tag, sizeof name - tag, " ref vs full_ref probs");
            lb_check_array(name, pref, pf, (long)pn, 1e-6, 1e-5);
            for (int th = 1; th <= 2; th++) {
                memset(out, 0xff, sz * 4), memset(p, 0xff, pn * 4); /* NaN: unwritten fails */
                if (forward(out, p, q, k, v, mask, s, th)) continue;
                snprintf(name + tag, sizeof name - tag, " threads %d out", th);
                lb_check_array(name, out, ref, (long)sz, 2e-5, 2e-4);
                snprintf(name + tag, sizeof name - tag, " threads %d probs", th);
                lb_check_array(name, p, pref, (long)pn, 2e-6, 2e-4);
                /* without probs the output is the same */
                memset(out, 0xff, sz * 4);
                forward(out, NULL, q, k, v, mask, s, th);
                snprintf(name + tag, sizeof name - tag, " threads %d out, no probs", th);
                lb_check_array(name, out, ref, (long)sz, 2e-5, 2e-4);
            }
            int padded_zero = 1; /* padding keys get probability exactly 0 */
            for (size_t x = 0; mask && x < pn; x++) {
                size_t j = x % (size_t)s.n, b = x / ((size_t)s.H * s.n * s.n);
                if (mask[b * s.n + j] == 0 && p[x] != 0) padded_zero = 0;
            }
            LB_CHECK(padded_zero, "%s: a padding key has a non-zero probability", name);
            lb_free(q), lb_free(k), lb_free(v), lb_free(mask), lb_free(ref), lb_free(fref);
            lb_free(out), lb_free(pref), lb_free(pf), lb_free(p);
        }
}

/* Scores of ±several hundred: a softmax without the max subtraction overflows. */
static void test_large_logits(lb_rng *r) {
    shape s = {2, 2, 33, 8};
    size_t sz = (size_t)s.B * s.H * s.n * s.d, pn = (size_t)s.B * s.H * s.n * s.n;
    float *q = lb_alloc(sz * 4), *k = lb_alloc(sz * 4), *v = lb_alloc(sz * 4);
    for (size_t i = 0; i < sz; i++) {
        q[i] = (float)(lb_rng_u64(r) % 21) - 10.0f; /* integers: exact float scores */
        k[i] = (float)(lb_rng_u64(r) % 21) - 10.0f;
    }
    lb_rng_fill_normal(r, v, sz, 1);
    float *ref = lb_alloc(sz * 4), *out = lb_alloc(sz * 4), *pref = lb_alloc(pn * 4),
          *p = lb_alloc(pn * 4);
    lb_attn_materialise_ref(ref, pref, q, k, v, NULL, s.B, s.H, s.n, s.d);
    forward(out, p, q, k, v, NULL, s, 2);
    lb_check_array("large logits out", out, ref, (long)sz, 1e-6, 1e-5);
    lb_check_array("large logits probs", p, pref, (long)pn, 1e-6, 1e-5);
    lb_free(q), lb_free(k), lb_free(v), lb_free(ref), lb_free(out), lb_free(pref), lb_free(p);
}

static void test_config(void) {
    lb_attn_method m;
    LB_CHECK(!lb_attn_method_parse("materialise", &m) && m == LB_ATTN_MATERIALISE,
             "the name 'materialise' parses to LB_ATTN_MATERIALISE");
    LB_CHECK(!strcmp(lb_attn_method_name(LB_ATTN_MATERIALISE), "materialise"), "name round-trips");
    /* the workspace is the two (B,H,n,n) float tensors, whatever the thread count */
    lb_attn_cfg c = {.method = LB_ATTN_MATERIALISE, .B = 3, .H = 12, .n = 512, .d = 64, .threads = 2};
    size_t want = 2 * sizeof(float) * 3 * 12 * 512 * 512;
    LB_CHECK(lb_attn_workspace_bytes(&c) == want, "workspace %zu bytes, expected 8·B·H·n² = %zu",
             lb_attn_workspace_bytes(&c), want);
    c.threads = 1;
    LB_CHECK(lb_attn_workspace_bytes(&c) == want, "workspace independent of threads");
    c.B = 6;
    LB_CHECK(lb_attn_workspace_bytes(&c) == 2 * want, "workspace linear in B");
    LB_CHECK(lb_attn_flops(&c) == 4.0 * 6 * 12 * 512.0 * 512 * 64, "flops as full attention");
    char msg[256] = "";
    c.train = 1;
    LB_CHECK(lb_attn_check(&c, msg, sizeof msg) && strstr(msg, "materialise"),
             "train = 1 refused with a message naming materialise: '%s'", msg);
    c.train = 0, c.B = 1 << 20, c.n = 1 << 14; /* 2^20·12·2^28·8 bytes: far past 1 TiB */
    LB_CHECK(lb_attn_check(&c, msg, sizeof msg) && strstr(msg, "1 TiB"),
             "an impossible workspace refused: '%s'", msg);
}

int main(void) {
    lb_rng r;
    lb_rng_seed(&r, 14);
    test_config();
    test_shapes(&r);
    test_large_logits(&r);
    return lb_test_summary("test_attn_materialise");
}
