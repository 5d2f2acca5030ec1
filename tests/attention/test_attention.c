/* Tests for attention/: every fast kernel against its scalar reference over a table
 * of shapes (BLIS-style), the vector exp against libm, the softmax edge cases, and
 * the configuration checks. Sizes are small so that valgrind finishes in ~1–2 min.
 *
 * Tolerances (|x − ref| <= atol + rtol·|ref|):
 *   outputs  atol 2e-5, rtol 2e-4: scores are float32 dot products over d terms and
 *            O = P·V sums n float32 terms of |p·v| <= |v| (inputs N(0,1), so |v| <~ 5);
 *            float32 rounding gives ~1e-6 relative per term, sqrt-growth over <= 300
 *            terms stays far below 2e-5 absolute;
 *   probs    atol 2e-6, rtol 2e-4: each p carries the float error of its score
 *            (~1e-6 absolute at |s| ~ 5) times p, plus a few ulp from exp;
 *   exact large logits: integer-valued q, k make every score exact in float, so
 *            only exp (2 ulp) and the float sums differ: atol 1e-6, rtol 1e-5. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Internal on purpose: the key extent, the softmax rows and the _ref kernels are
 * checked one by one, below the public lb_attn_forward. */
#include "attn_int.h"
#include "lb_attn.h"
#include "attn_inputs.h"
#include "lb_test.h"
#include "lb_util.h"
#include "lb_vexp.h"

#define OUT_ATOL 2e-5
#define OUT_RTOL 2e-4
#define P_ATOL 2e-6
#define P_RTOL 2e-4

static int run(float *out, float *probs, const inputs *in, lb_attn_method m, int kp, lb_share sh,
               int threads, const float *E, const float *F) {
    lb_attn_cfg c = {.method = m, .B = in->B, .H = in->H, .n = in->n, .d = in->d, .k = kp, .share = sh,
                     .threads = threads};
    char msg[256] = "";
    lb_attn *a;
    if (lb_attn_init(&a, &c, msg, sizeof msg)) {
        LB_CHECK(0, "init failed: %s", msg);
        return -1;
    }
    lb_attn_forward(a, out, probs, in->q, in->k, in->v, in->mask, E, F);
    lb_attn_free(a);
    return 0;
}

/* probs rows of real batch elements sum to 1; padding columns exactly 0; a fully
 * padded batch element has all-zero probs. */
static void check_probs(const char *name, const float *P, const inputs *in, int cols, int lin) {
    int bad_sum = 0, bad_pad = 0;
    for (int b = 0; b < in->B; b++) {
        const float *mb = in->mask ? in->mask + (size_t)b * in->n : NULL;
        int ext = lb_attn_key_extent(mb, in->n);
        for (int h = 0; h < in->H; h++)
            for (int i = 0; i < in->n; i++) {
                const float *row = P + (((size_t)b * in->H + h) * in->n + i) * cols;
                double s = 0;
                for (int j = 0; j < cols; j++) {
                    s += row[j];
                    if (!lin && mb && mb[j] == 0 && row[j] != 0) bad_pad++;
                }
                /* float rounding of cols probabilities: cols·6e-8 */
                if (!lb_close(s, ext ? 1.0 : 0.0, 1e-5 + cols * 1.2e-7, 0)) bad_sum++;
            }
    }
    LB_CHECK(bad_sum == 0, "%s: %d probs rows do not sum to 1 (0 if padded)", name, bad_sum);
    LB_CHECK(bad_pad == 0, "%s: %d padding probs are not exactly 0", name, bad_pad);
}

static void fill_proj(lb_rng *r, float *E, size_t len, int kp) {
    lb_rng_fill_normal(r, E, len, (float)(1 / sqrt((double)kp))); /* Theorem 1's N(0, 1/k) */
}

typedef struct { int B, H, n, d; } shape;

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LB_HAVE_VALGRIND_H 1
#endif
#endif
static int under_valgrind(void) {
#ifdef LB_HAVE_VALGRIND_H
    return RUNNING_ON_VALGRIND;
#else
    return 0;
#endif
}

static void test_shapes(lb_rng *r) {
    static const shape shapes[] = {
        {1, 1, 1, 1},   {1, 2, 2, 3},    {2, 1, 3, 64},   {3, 2, 17, 65},
        {1, 3, 64, 64}, {2, 3, 127, 3},  {2, 1, 129, 64}, {1, 1, 300, 16},
        {3, 1, 300, 1}, {1, 1, 129, 1},  {1, 1, 64, 65},  {2, 2, 33, 8}};
    char name[160];
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        shape s = shapes[si];
        for (int mk = 0; mk < 4; mk++) {
            /* valgrind runs OpenBLAS ~300× slower: there, half the mask kinds */
            if (under_valgrind() && (mk + (int)si) % 2) continue;
            inputs in;
            make_inputs(&in, r, s.B, s.H, s.n, s.d, mk, 1.0f);
            size_t sz = (size_t)s.B * s.H * s.n * s.d, pn = (size_t)s.B * s.H * s.n * s.n;
            float *ref = lb_alloc(sz * 4), *ref2 = lb_alloc(sz * 4), *out = lb_alloc(sz * 4);
            float *out1 = lb_alloc(sz * 4), *pref = lb_alloc(pn * 4), *p = lb_alloc(pn * 4);
            lb_attn_full_ref(ref, pref, in.q, in.k, in.v, in.mask, s.B, s.H, s.n, s.d);
            int tag = snprintf(name, sizeof name, "B%d H%d n%d d%d mask %s", s.B, s.H, s.n, s.d,
                               mask_names[mk]);
            (void)tag;

            /* the two references agree (both double): the recurrence is exact math */
            lb_attn_stream_ref(ref2, in.q, in.k, in.v, in.mask, s.B, s.H, s.n, s.d, 7);
            snprintf(name + tag, sizeof name - tag, " stream_ref vs full_ref");
            lb_check_array(name, ref2, ref, (long)sz, 1e-6, 1e-5);

            for (int th = 1; th <= 2; th++) {
                run(out, p, &in, LB_ATTN_FULL, 0, 0, th, NULL, NULL);
                snprintf(name + tag, sizeof name - tag, " full threads %d", th);
                lb_check_array(name, out, ref, (long)sz, OUT_ATOL, OUT_RTOL);
                snprintf(name + tag, sizeof name - tag, " full probs threads %d", th);
                lb_check_array(name, p, pref, (long)pn, P_ATOL, P_RTOL);
                check_probs(name, p, &in, s.n, 0);
                run(out1, NULL, &in, LB_ATTN_FULL, 0, 0, th, NULL, NULL);
                snprintf(name + tag, sizeof name - tag, " full without probs threads %d", th);
                lb_check_array(name, out1, out, (long)sz, 0, 0); /* same code path: exact */

                run(out1, NULL, &in, LB_ATTN_STREAM, 0, 0, th, NULL, NULL);
                snprintf(name + tag, sizeof name - tag, " stream threads %d", th);
                lb_check_array(name, out1, ref, (long)sz, OUT_ATOL, OUT_RTOL);
                snprintf(name + tag, sizeof name - tag, " stream vs full threads %d", th);
                lb_check_array(name, out1, out, (long)sz, OUT_ATOL, OUT_RTOL);
            }
            lb_free(ref2), lb_free(out1);

            /* Linformer: k = 1, an odd k, k = n; sharing modes in turn */
            int ks[3] = {1, s.n > 2 ? (s.n / 3) | 1 : 1, s.n};
            for (int ki = 0; ki < 3; ki++)
                for (int sh = 0; sh < 4; sh++) {
                    if ((sh + ki + (int)si + mk) % 2) continue; /* half the grid is plenty */
                    int kp = ks[ki];
                    lb_attn_cfg c = {.method = LB_ATTN_LINFORMER, .B = s.B, .H = s.H, .n = s.n, .d = s.d,
                                     .k = kp, .share = sh, .threads = 2};
                    size_t pe = lb_attn_proj_elems(&c), lp = (size_t)s.B * s.H * s.n * kp;
                    float *E = lb_alloc(pe * 4), *F = lb_alloc(pe * 4);
                    fill_proj(r, E, pe, kp);
                    fill_proj(r, F, pe, kp);
                    const float *Fu = sh >= LB_SHARE_KV ? E : F;
                    lb_attn_linformer_ref(ref, pref, in.q, in.k, in.v, in.mask, E, Fu, s.B, s.H,
                                          s.n, s.d, kp, sh);
                    for (int th = 1; th <= 2; th++) {
                        run(out, p, &in, LB_ATTN_LINFORMER, kp, sh, th, E, Fu);
                        snprintf(name + tag, sizeof name - tag, " linformer k%d %s threads %d", kp,
                                 lb_share_name(sh), th);
                        lb_check_array(name, out, ref, (long)sz, OUT_ATOL, OUT_RTOL);
                        lb_check_array(name, p, pref, (long)lp, P_ATOL, P_RTOL);
                        check_probs(name, p, &in, kp, 1);
                    }
                    lb_free(E), lb_free(F);
                }
            lb_free(ref), lb_free(out), lb_free(pref), lb_free(p);
            free_inputs(&in);
        }
    }
}

/* Linformer with k = n and E = F = I is full attention (no mask: with a mask the
 * padding rows of K̄ are zero keys that still take part, by design). */
static void test_identity(lb_rng *r) {
    const int B = 2, H = 2, n = 37, d = 16;
    inputs in;
    make_inputs(&in, r, B, H, n, d, MASK_NONE, 1.0f);
    size_t sz = (size_t)B * H * n * d;
    float *full = lb_alloc(sz * 4), *lin = lb_alloc(sz * 4);
    float *I = calloc((size_t)H * n * n, 4);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < n; i++) I[((size_t)h * n + i) * n + i] = 1;
    run(full, NULL, &in, LB_ATTN_FULL, 0, 0, 2, NULL, NULL);
    for (int sh = 0; sh < 4; sh++) {
        run(lin, NULL, &in, LB_ATTN_LINFORMER, n, sh, 2, I, I);
        char name[64];
        snprintf(name, sizeof name, "linformer E=F=I k=n %s vs full", lb_share_name(sh));
        lb_check_array(name, lin, full, (long)sz, OUT_ATOL, OUT_RTOL);
    }
    free(I), lb_free(full), lb_free(lin);
    free_inputs(&in);
}

/* Scores of ±1e4: integer q (multiples of 32) and k (multiples of 8) in [-20,20]
 * steps make every partial sum an exact float (< 2^24·256), /√64 is exact, so the
 * scores are exact and most exp(s − max) underflow to 0. */
static void test_large_logits(lb_rng *r) {
    const int B = 2, H = 2, n = 70, d = 64;
    inputs in;
    make_inputs(&in, r, B, H, n, d, MASK_TAIL, 1.0f);
    size_t sz = (size_t)B * H * n * d, pn = (size_t)B * H * n * n;
    float smax = 0;
    for (size_t i = 0; i < sz; i++) {
        in.q[i] = 32.0f * (float)((int)(lb_rng_u64(r) % 41) - 20);
        in.k[i] = 8.0f * (float)((int)(lb_rng_u64(r) % 41) - 20);
    }
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int c = 0; c < d; c++) s += (double)in.q[c] * in.k[(size_t)i * d + c];
        if (fabs(s / 8) > smax) smax = (float)fabs(s / 8);
    }
    LB_CHECK(smax > 1e4, "large-logit inputs reach |s| = %g", smax);
    float *ref = lb_alloc(sz * 4), *out = lb_alloc(sz * 4), *pref = lb_alloc(pn * 4);
    float *p = lb_alloc(pn * 4);
    lb_attn_full_ref(ref, pref, in.q, in.k, in.v, in.mask, B, H, n, d);
    run(out, p, &in, LB_ATTN_FULL, 0, 0, 2, NULL, NULL);
    lb_check_array("large logits full", out, ref, (long)sz, 1e-6, 1e-5);
    lb_check_array("large logits full probs", p, pref, (long)pn, 1e-6, 1e-5);
    check_probs("large logits full", p, &in, n, 0);
    long zeros = 0;
    for (size_t i = 0; i < pn; i++) zeros += p[i] == 0;
    LB_CHECK(zeros > (long)pn / 2, "most probabilities underflow to 0 (%ld of %zu)", zeros, pn);
    run(out, NULL, &in, LB_ATTN_STREAM, 0, 0, 2, NULL, NULL);
    lb_check_array("large logits stream", out, ref, (long)sz, 1e-6, 1e-5);

    /* not exact (d = 65, random scale 40): scores carry ~|s|·eps·√d of float error,
     * ~1e-3 at |s| = 1e4, which moves p by that relative amount: the comparison is
     * loose, the point is no NaN/Inf and rows that still sum to 1 */
    inputs in2;
    make_inputs(&in2, r, 2, 2, 33, 65, MASK_HOLES, 40.0f);
    size_t sz2 = (size_t)2 * 2 * 33 * 65, pn2 = (size_t)2 * 2 * 33 * 33;
    float *ref2 = lb_alloc(sz2 * 4), *out2 = lb_alloc(sz2 * 4), *p2 = lb_alloc(pn2 * 4);
    lb_attn_full_ref(ref2, NULL, in2.q, in2.k, in2.v, in2.mask, 2, 2, 33, 65);
    run(out2, p2, &in2, LB_ATTN_FULL, 0, 0, 2, NULL, NULL);
    lb_check_array("scaled logits full", out2, ref2, (long)sz2, 2e-2, 2e-2);
    check_probs("scaled logits full", p2, &in2, 33, 0);
    run(out2, NULL, &in2, LB_ATTN_STREAM, 0, 0, 2, NULL, NULL);
    lb_check_array("scaled logits stream", out2, ref2, (long)sz2, 2e-2, 2e-2);
    lb_free(ref2), lb_free(out2), lb_free(p2);
    free_inputs(&in2);
    lb_free(ref), lb_free(out), lb_free(pref), lb_free(p);
    free_inputs(&in);
}

/* Streaming across several key tiles and query tiles, with padding that ends inside
 * a tile and a tile of padding only (holes), threads 1 and 2: n = 520 is not a
 * multiple of either tile size. */
static void test_stream_tiles(lb_rng *r) {
    const int B = 2, H = 1, n = 520, d = 4;
    for (int mk = 0; mk < 4; mk++) {
        inputs in;
        make_inputs(&in, r, B, H, n, d, mk, 1.0f);
        if (mk == MASK_HOLES) /* keys 256..511 (one whole key tile) padding */
            for (int j = 256; j < 512; j++) in.mask[j] = 0;
        size_t sz = (size_t)B * H * n * d;
        float *ref = lb_alloc(sz * 4), *out = lb_alloc(sz * 4);
        lb_attn_stream_ref(ref, in.q, in.k, in.v, in.mask, B, H, n, d, LB_STREAM_BC);
        for (int th = 1; th <= 2; th++) {
            run(out, NULL, &in, LB_ATTN_STREAM, 0, 0, th, NULL, NULL);
            char name[64];
            snprintf(name, sizeof name, "stream n=520 mask %s threads %d", mask_names[mk], th);
            lb_check_array(name, out, ref, (long)sz, OUT_ATOL, OUT_RTOL);
        }
        lb_free(ref), lb_free(out);
        free_inputs(&in);
    }
}

static double ulps(float y, double ref) {
    if (isnan(ref)) return isnan(y) ? 0 : INFINITY;
    if (isinf(ref)) return (double)y == ref ? 0 : INFINITY;
    float fr = (float)ref; /* correctly rounded result (float(double) rounds once) */
    if (isinf(fr)) return y == fr ? 0 : INFINITY; /* e^x past FLT_MAX rounds to inf */
    double ulp = fr == 0 || fabsf(fr) < 1.1754944e-38f ? ldexp(1, -149)
                                                        : ldexp(1, ilogbf(fr) - 23);
    return fabs((double)y - ref) / ulp;
}

static void test_vexp(void) {
    const int N = 200000;
    float *x = lb_alloc((size_t)(N + 16) * 4), *y = lb_alloc((size_t)(N + 16) * 4);
    for (int i = 0; i < N; i++) x[i] = -110.0f + 200.0f * (float)i / N;
    const float special[16] = {-1e4f, -104.0f, -103.9f, -88.0f, -87.3f, -87.0f, 0.0f,
                               -0.0f, 1e-30f, 88.0f, 88.72f, 88.73f, 89.0f, 1e4f, -INFINITY,
                               INFINITY};
    memcpy(x + N, special, sizeof special);
    const int len = N + 16;
    double worst = 0, worst_x = 0;
    for (int i = 0; i < len; i++) {
        double u = ulps(lb_vexp1(x[i]), exp((double)x[i]));
        if (!(u <= worst)) worst = u, worst_x = x[i];
    }
    printf("vexp: worst %g ulp at x = %.9g\n", worst, worst_x);
    LB_CHECK(worst <= 1, "scalar exp within 1 ulp of exp(): worst %g ulp at x = %.9g", worst,
             worst_x);
    LB_CHECK(lb_vexp1(-1e4f) == 0 && lb_vexp1(-104.0f) == 0 && lb_vexp1(-INFINITY) == 0,
             "very negative → exactly 0");
    LB_CHECK(lb_vexp1(0.0f) == 1.0f, "exp(0) = 1 exactly");
    LB_CHECK(lb_vexp1(-87.3f) > 0 && lb_vexp1(-103.0f) > 0, "subnormal results kept");
    LB_CHECK(isinf(lb_vexp1(89.0f)) && isinf(lb_vexp1(INFINITY)), "overflow → +inf");
    LB_CHECK(isnan(lb_vexp1(NAN)) && isnan(lb_vexp1(-NAN)), "NaN → NaN");
    /* the array version (the best variant compiled in: AVX-512, AVX2 or scalar) gives
     * the same bits as the scalar one: one algorithm everywhere */
    lb_vexp_array(y, x, (size_t)len);
    long diff = 0;
    for (int i = 0; i < len; i++) diff += memcmp(&y[i], &(float){lb_vexp1(x[i])}, 4) != 0;
    LB_CHECK(diff == 0, "lb_vexp_array equals lb_vexp1 bitwise (%ld differ)", diff);
#if defined(__AVX2__) && defined(__FMA__)
    diff = 0;
    for (int i = 0; i + 8 <= len; i += 8) {
        float t[8];
        _mm256_storeu_ps(t, lb_vexp8(_mm256_loadu_ps(x + i)));
        for (int j = 0; j < 8; j++) diff += memcmp(&t[j], &(float){lb_vexp1(x[i + j])}, 4) != 0;
    }
    LB_CHECK(diff == 0, "AVX2 variant equals the scalar one bitwise (%ld differ)", diff);
    float t8[8];
    _mm256_storeu_ps(t8, lb_vexp8(_mm256_set1_ps(NAN)));
    LB_CHECK(isnan(t8[0]), "AVX2: NaN → NaN");
#endif
#if defined(__AVX512F__)
    float t16[16];
    _mm512_storeu_ps(t16, lb_vexp16(_mm512_set1_ps(NAN)));
    LB_CHECK(isnan(t16[0]), "AVX-512: NaN → NaN");
#endif
    lb_free(x), lb_free(y);
}

static void test_softmax_rows(void) {
    float row[37], mask[37];
    for (int j = 0; j < 37; j++) row[j] = (float)j, mask[j] = 0;
    lb_softmax_row(row, 37, mask);
    int zero = 1;
    for (int j = 0; j < 37; j++) zero &= row[j] == 0;
    LB_CHECK(zero, "softmax of a row with no real key is all 0");
    for (int j = 0; j < 37; j++) row[j] = -1e30f, mask[j] = j == 36;
    lb_softmax_row(row, 37, mask);
    LB_CHECK(row[36] == 1 && row[0] == 0, "one real key (the last, in the tail) gets 1");
    float one = 5;
    lb_softmax_row(&one, 1, NULL);
    LB_CHECK(one == 1, "softmax of one score is 1");
    float m = -INFINITY, l = 0;
    for (int j = 0; j < 5; j++) row[j] = 1, mask[j] = 0;
    float alpha = lb_softmax_online_row(row, 5, mask, &m, &l);
    LB_CHECK(alpha == 1 && m == -INFINITY && l == 0 && row[0] == 0,
             "online step over padding only leaves the state alone");
    row[0] = 2, mask[0] = 1;
    alpha = lb_softmax_online_row(row, 5, mask, &m, &l);
    LB_CHECK(alpha == 0 && m == 2 && l == 1 && row[0] == 1 && row[1] == 0,
             "first real key: alpha 0, m 2, l 1");
    row[0] = 3;
    alpha = lb_softmax_online_row(row, 1, mask, &m, &l);
    LB_CHECK(lb_close(alpha, exp(-1.0), 0, 1e-6) && m == 3 && lb_close(l, 1 + exp(-1.0), 0, 1e-6),
             "max grows: alpha = e^-1");
}

static int init_fails(lb_attn_cfg c, const char *want) {
    char msg[256] = "";
    lb_attn *a = (lb_attn *)1;
    int rc = lb_attn_init(&a, &c, msg, sizeof msg);
    int ok = rc == -1 && a == NULL && strstr(msg, want) != NULL;
    if (!ok) printf("  init message: \"%s\" (wanted \"%s\")\n", msg, want);
    return ok;
}

static void test_bad_configs(void) {
    lb_attn_cfg good = {.method = LB_ATTN_LINFORMER, .B = 2, .H = 4, .n = 64, .d = 16, .k = 32,
                        .share = LB_SHARE_KV, .threads = 2}, c;
    char msg[256];
    LB_CHECK(lb_attn_check(&good, msg, sizeof msg) == 0, "good config passes: %s", msg);
    c = good, c.k = 65;
    LB_CHECK(init_fails(c, "k = 65"), "k > n rejected");
    c = good, c.k = 0;
    LB_CHECK(init_fails(c, "k = 0"), "k = 0 rejected");
    c = good, c.B = 0;
    LB_CHECK(init_fails(c, "B (batch) = 0"), "B = 0 rejected");
    c = good, c.H = -1;
    LB_CHECK(init_fails(c, "H (heads) = -1"), "H < 0 rejected");
    c = good, c.n = 0;
    LB_CHECK(init_fails(c, "n (sequence length) = 0"), "n = 0 rejected");
    c = good, c.d = -5;
    LB_CHECK(init_fails(c, "d (head dimension) = -5"), "d < 0 rejected");
    c = good, c.threads = -1;
    LB_CHECK(init_fails(c, "threads = -1"), "threads < 0 rejected");
    c = good, c.method = (lb_attn_method)LB_ATTN_NMETHODS;
    LB_CHECK(init_fails(c, "method = 8"), "unknown method rejected");
    c = good, c.share = (lb_share)9;
    LB_CHECK(init_fails(c, "share = 9"), "unknown share rejected");
    c = good, c.method = LB_ATTN_FULL, c.n = 1 << 20;
    LB_CHECK(init_fails(c, "exceeds 1 TiB"), "n = 2^20 full: 8 TiB of scores rejected");
    c = good, c.method = LB_ATTN_FULL, c.n = 2000000000;
    LB_CHECK(init_fails(c, "n = 2000000000"), "n = 2e9 full: size overflow rejected");
    c = good, c.n = 2000000000, c.k = 2000000000;
    LB_CHECK(init_fails(c, "k = 2000000000"), "linformer n·k overflow rejected");
    c = good, c.B = 1 << 30, c.H = 1 << 20, c.n = 1 << 30, c.k = 1, c.method = LB_ATTN_STREAM;
    LB_CHECK(init_fails(c, "overflows"), "B·H·n·d overflow rejected");
    c = good, c.H = 1 << 20, c.d = 1 << 20;
    LB_CHECK(init_fails(c, "H·d"), "H·d past int rejected");

    /* stream workspace does not depend on n; full grows as n² */
    lb_attn_cfg s1 = {.method = LB_ATTN_STREAM, .B = 1, .H = 12, .n = 512, .d = 64, .threads = 2}, s2 = s1;
    s2.n = 65536;
    LB_CHECK(lb_attn_workspace_bytes(&s1) == lb_attn_workspace_bytes(&s2),
             "stream workspace independent of n (%zu vs %zu)", lb_attn_workspace_bytes(&s1),
             lb_attn_workspace_bytes(&s2));
    lb_attn_cfg f1 = {.method = LB_ATTN_FULL, .B = 1, .H = 12, .n = 1000, .d = 64, .threads = 2};
    LB_CHECK(lb_attn_workspace_bytes(&f1) >= (size_t)2 * 1000 * 1000 * 4,
             "full workspace holds an n×n block per thread");
    lb_attn *a;
    LB_CHECK(lb_attn_init(&a, &f1, msg, sizeof msg) == 0 &&
                 a->ws_bytes == lb_attn_workspace_bytes(&f1),
             "init allocates what workspace_bytes says");
    lb_attn_free(a);
    LB_CHECK(lb_attn_proj_elems(&good) == 32 * 64, "proj elems shared");
    c = good, c.share = LB_SHARE_NONE;
    LB_CHECK(lb_attn_proj_elems(&c) == (size_t)4 * 32 * 64, "proj elems per head");
    LB_CHECK(lb_attn_flops(&f1) == 4.0 * 12 * 1000 * 1000 * 64, "flops full");
    LB_CHECK(lb_attn_flops(&good) == 8.0 * 2 * 4 * 64 * 32 * 16, "flops linformer");

    /* per-call argument checks */
    float x[4], E[4], F[4];
    LB_CHECK(lb_attn_init(&a, &good, msg, sizeof msg) == 0, "init kv");
    LB_CHECK(lb_attn_check_args(a, x, NULL, x, x, x, E, F, msg, sizeof msg) == -1 &&
                 strstr(msg, "F == E"),
             "kv sharing with F != E rejected: %s", msg);
    LB_CHECK(lb_attn_check_args(a, x, NULL, x, x, x, E, E, msg, sizeof msg) == 0, "kv F == E ok");
    LB_CHECK(lb_attn_check_args(a, x, NULL, x, x, x, NULL, NULL, msg, sizeof msg) == -1 &&
                 strstr(msg, "E is NULL"),
             "linformer without E rejected");
    LB_CHECK(lb_attn_check_args(a, NULL, NULL, x, x, x, E, E, msg, sizeof msg) == -1 &&
                 strstr(msg, "out is NULL"),
             "NULL out rejected");
    lb_attn_free(a);
    lb_attn_cfg st = {.method = LB_ATTN_STREAM, .B = 1, .H = 1, .n = 2, .d = 2, .threads = 1};
    LB_CHECK(lb_attn_init(&a, &st, msg, sizeof msg) == 0, "init stream");
    LB_CHECK(lb_attn_check_args(a, x, x, x, x, x, NULL, NULL, msg, sizeof msg) == -1 &&
                 strstr(msg, "probs must be NULL"),
             "stream with probs rejected: %s", msg);
    /* and lb_attn_forward stops with that message instead of running */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        lb_attn_forward(a, x, x, x, x, x, NULL, NULL, NULL);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    LB_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
             "forward with bad arguments aborts (status %d)", status);
    lb_attn_free(a);
}

int main(void) {
    lb_rng r;
    lb_rng_seed(&r, 20200608);
    LB_SECTION(test_vexp());
    LB_SECTION(test_softmax_rows());
    LB_SECTION(test_bad_configs());
    LB_SECTION(test_shapes(&r));
    LB_SECTION(test_identity(&r));
    LB_SECTION(test_large_logits(&r));
    LB_SECTION(test_stream_tiles(&r));
    return lb_test_summary("test_attention");
}
