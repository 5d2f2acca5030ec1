/* Tests for the approximate attentions (local, nystrom, performer, scatterbrain): each
 * fast kernel against its scalar reference over a table of shapes, sizes and padding
 * masks, threads 1 and 2; their limits (window >= n and landmarks = n are full
 * attention; Performer's error falls like 1/√m); large logits; the random features;
 * the configuration checks and flop counts.
 *
 * Tolerances (|x − ref| <= atol + rtol·|ref|), kernel (float32) vs reference (double):
 *   local        atol 2e-5, rtol 2e-4, as full attention in test_attention.c: the same
 *                float dot products and P·V sums, over fewer keys;
 *   performer    atol 5e-5, rtol 5e-4: each feature exp(t − c) carries the float error
 *                of its exponent t = ω·x/d^¼ − ‖x‖²/(2√d) (|t| up to ~20 at d = 65, so
 *                ~|t|·6e-8·√d ≈ 1e-5 relative), and the output is a ratio of two sums
 *                of such weights: a few 1e-6 relative, times |v| <~ 4 (measured worst
 *                8e-6 absolute);
 *   scatterbrain the same with inputs of scale 0.5; with N(0,1) inputs atol 1e-3, rtol
 *                1e-2: C = exp(s) − φ(q)ᵀφ(k) on the window subtracts the low-rank
 *                estimate, so the float error is eps × (estimated row sum / true row
 *                sum), and at d = 64 with N(0,1) q, k the features are heavy-tailed:
 *                estimates ~100× the truth occur (measured worst 2e-4 absolute);
 *   nystrom      atol 1e-4, rtol 1e-3 with 6 iterations: the output is F̃·Z·B̃V and Z
 *                is a degree-~4⁶ polynomial in Ã evaluated in float; its float error
 *                is Ã's (~1e-6) times the growth of the iteration (≲ 100 for the
 *                well-conditioned Ã of these sizes: measured worst 2e-6 absolute).
 * Limits (kernel vs full_ref):
 *   window >= n−1   the same tolerance as the kernel vs its reference (exact limit;
 *                   scatterbrain's C is then exp(s) − the estimate everywhere);
 *   landmarks = n   with 30 iterations at n <= 40 the double reference is full
 *                   attention to atol = rtol = 1e-6 (numpy: 20 iterations reach 1e-14
 *                   for cond(Ã) ~ 3e3; what is left is the float output); the float
 *                   kernel to atol = rtol = 2e-5 + 2e-6·κ, κ = cond(Ã) computed here:
 *                   a relative perturbation ε of Ã moves Ã⁻¹ by up to κε, and ε is
 *                   float rounding (6e-8) over sums of <= 40 terms, ~30 eps (measured
 *                   worst error/κ: 5e-7 at κ = 1.4e4). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "attn_int.h"
#include "lb_attn.h"
#include "attn_inputs.h"
#include "lb_test.h"
#include "lb_util.h"

#define LOC_TOL 2e-5, 2e-4
#define FAV_TOL 5e-5, 5e-4
#define NYS_TOL 1e-4, 1e-3
#define SB_TOL 1e-3, 1e-2
#define sb_tol sb_atol, sb_rtol

/* Run one kernel; *omega (when not NULL) receives a copy of its features (k×d). */
static int run(float *out, const inputs *in, lb_attn_method m, int k, int window, int iters,
               uint64_t seed, int threads, float *omega) {
    lb_attn_cfg c = {.method = m, .B = in->B, .H = in->H, .n = in->n, .d = in->d, .k = k,
                     .threads = threads, .iters = iters, .window = window, .seed = seed};
    char msg[256] = "";
    lb_attn *a;
    if (lb_attn_init(&a, &c, msg, sizeof msg)) {
        LB_CHECK(0, "init %s failed: %s", lb_attn_method_name(m), msg);
        return -1;
    }
    lb_attn_forward(a, out, NULL, in->q, in->k, in->v, in->mask, NULL, NULL);
    if (omega) memcpy(omega, lb_attn_features(a), (size_t)k * in->d * sizeof *omega);
    lb_attn_free(a);
    return 0;
}

/* Each kernel against its reference at the size parameters ks, threads 1 and 2. */
static void check_kernels(const inputs *in, const char *tag, const int *ks, int nk,
                          double sb_atol, double sb_rtol) {
    size_t sz = (size_t)in->B * in->H * in->n * in->d;
    float *ref = lb_alloc(sz * 4), *out = lb_alloc(sz * 4);
    int B = in->B, H = in->H, n = in->n, d = in->d;
    char name[200];
    for (int ki = 0; ki < nk; ki++) {
        /* features: at least 1, at most 96 (> d, several orthogonal blocks; more only
         * slows the O(n²m) references) */
        int k = ks[ki], m = k < 1 ? 1 : k > 96 ? 96 : k, w = (k * 2) / 3;
        float *om = lb_alloc((size_t)m * d * 4);
        lb_attn_local_ref(ref, in->q, in->k, in->v, in->mask, B, H, n, d, k);
        for (int th = 1; th <= 2; th++) {
            run(out, in, LB_ATTN_LOCAL, k, 0, 0, 0, th, NULL);
            snprintf(name, sizeof name, "%s local w%d threads %d", tag, k, th);
            lb_check_array(name, out, ref, (long)sz, LOC_TOL);
        }
        if (k >= 1 && k <= n) {
            lb_attn_nystrom_ref(ref, in->q, in->k, in->v, in->mask, B, H, n, d, k, 6);
            for (int th = 1; th <= 2; th++) {
                run(out, in, LB_ATTN_NYSTROM, k, 0, 0, 0, th, NULL);
                snprintf(name, sizeof name, "%s nystrom m%d threads %d", tag, k, th);
                lb_check_array(name, out, ref, (long)sz, NYS_TOL);
            }
        }
        /* the reference once, with the features of the first run (same seed: same ω) */
        for (int th = 1; th <= 2; th++) {
            run(out, in, LB_ATTN_PERFORMER, m, 0, 0, 7 + ki, th, om);
            if (th == 1)
                lb_attn_performer_ref(ref, in->q, in->k, in->v, in->mask, om, B, H, n, d, m);
            snprintf(name, sizeof name, "%s performer m%d threads %d", tag, m, th);
            lb_check_array(name, out, ref, (long)sz, FAV_TOL);
        }
        for (int th = 1; th <= 2; th++) {
            run(out, in, LB_ATTN_SCATTERBRAIN, m, w, 0, 9 + ki, th, om);
            if (th == 1)
                lb_attn_scatterbrain_ref(ref, in->q, in->k, in->v, in->mask, om, B, H, n, d, m,
                                         w);
            snprintf(name, sizeof name, "%s scatterbrain m%d w%d threads %d", tag, m, w, th);
            lb_check_array(name, out, ref, (long)sz, sb_tol);
        }
        lb_free(om);
    }
    lb_free(ref), lb_free(out);
}

typedef struct { int B, H, n, d; } shape;

static void test_shapes(lb_rng *r) {
    /* sizes 1, odd, n not a multiple of the 32..128-row query blocks, d > 64 */
    static const shape shapes[] = {{1, 1, 1, 1},   {1, 2, 2, 3},   {2, 1, 3, 64},
                                   {3, 2, 17, 65}, {2, 3, 127, 3}, {2, 1, 129, 64},
                                   {1, 1, 300, 16}, {2, 2, 33, 8}};
    char tag[96];
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        shape s = shapes[si];
        for (int mk = 0; mk < 4; mk++) {
            inputs in;
            make_inputs(&in, r, s.B, s.H, s.n, s.d, mk, 1.0f);
            snprintf(tag, sizeof tag, "B%d H%d n%d d%d mask %s", s.B, s.H, s.n, s.d,
                     mask_names[mk]);
            /* window 0 (itself only), 1, an odd size, n − 1 and beyond n */
            int ks[5] = {0, 1, s.n > 2 ? (s.n / 3) | 1 : 1, s.n - 1, s.n + 5};
            int sel[3] = {ks[(si + mk) % 5], ks[(si + mk + 2) % 5], ks[(si + mk + 3) % 5]};
            check_kernels(&in, tag, sel, 3, SB_TOL);
            free_inputs(&in);
            /* smaller logits: a fair low-rank estimate, so little cancellation in C */
            make_inputs(&in, r, s.B, s.H, s.n, s.d, mk, 0.5f);
            snprintf(tag, sizeof tag, "B%d H%d n%d d%d mask %s scale 0.5", s.B, s.H, s.n, s.d,
                     mask_names[mk]);
            check_kernels(&in, tag, sel + 1, 1, FAV_TOL);
            free_inputs(&in);
        }
    }
}

/* The largest condition number over heads of P restricted to the real keys (rows
 * and columns): Ã when every real key is a landmark. Heads without real keys: 1. */
static double worst_cond(const inputs *in) {
    int n = in->n, d = in->d;
    double worst = 1;
    float *P = lb_alloc((size_t)n * n * 4), *o = lb_alloc((size_t)n * d * 4);
    double *A = lb_alloc((size_t)n * n * 8), *sv = lb_alloc((size_t)n * 8);
    for (int b = 0; b < in->B; b++)
        for (int h = 0; h < in->H; h++) {
            size_t t = (size_t)b * in->H + h;
            const float *mb = in->mask ? in->mask + (size_t)b * n : NULL;
            lb_attn_full_ref(o, P, in->q + t * n * d, in->k + t * n * d, in->v + t * n * d, mb,
                             1, 1, n, d);
            int r = 0;
            for (int i = 0; i < n; i++) {
                if (mb && mb[i] == 0) continue;
                int c = 0;
                for (int j = 0; j < n; j++)
                    if (!mb || mb[j] != 0) A[(size_t)r * n + c++] = P[(size_t)i * n + j];
                r++;
            }
            if (r == 0) continue;
            double *sup = lb_alloc((size_t)n * 8);
            LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', r, r, A, n, sv, NULL, 1, NULL, 1, sup);
            lb_free(sup);
            double k = sv[r - 1] > 0 ? sv[0] / sv[r - 1] : INFINITY;
            worst = k > worst ? k : worst;
        }
    lb_free(P), lb_free(o), lb_free(A), lb_free(sv);
    return worst;
}

/* Window >= n − 1 is full attention (local exactly, scatterbrain with the window
 * exact everywhere and the low-rank remainder 0); landmarks = n with enough
 * iterations is full attention (Z = Ã⁻¹, F̃ = Ã = B̃ = P). */
static void test_limits(lb_rng *r) {
    static const shape shapes[] = {{2, 2, 37, 16}, {1, 1, 1, 4}, {3, 1, 20, 9}, {1, 2, 130, 8}};
    char name[160];
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        shape s = shapes[si];
        for (int mk = 0; mk < 4; mk++) {
            inputs in;
            make_inputs(&in, r, s.B, s.H, s.n, s.d, mk, 1.0f);
            size_t sz = (size_t)s.B * s.H * s.n * s.d;
            float *full = lb_alloc(sz * 4), *out = lb_alloc(sz * 4);
            lb_attn_full_ref(full, NULL, in.q, in.k, in.v, in.mask, s.B, s.H, s.n, s.d);
            const int ws[3] = {s.n - 1, s.n, s.n + 1000};
            for (int wi = 0; wi < 3; wi++) {
                run(out, &in, LB_ATTN_LOCAL, ws[wi], 0, 0, 0, 2, NULL);
                snprintf(name, sizeof name, "n%d mask %s local w%d = full", s.n, mask_names[mk],
                         ws[wi]);
                lb_check_array(name, out, full, (long)sz, LOC_TOL);
                run(out, &in, LB_ATTN_SCATTERBRAIN, 1 + wi * 5, ws[wi], 0, 3, 2, NULL);
                snprintf(name, sizeof name, "n%d mask %s scatterbrain m%d w%d = full", s.n,
                         mask_names[mk], 1 + wi * 5, ws[wi]);
                lb_check_array(name, out, full, (long)sz, SB_TOL);
            }
            if (s.n <= 40) { /* m = n: cond(Ã) grows with n */
                lb_attn_nystrom_ref(out, in.q, in.k, in.v, in.mask, s.B, s.H, s.n, s.d, s.n, 30);
                snprintf(name, sizeof name, "n%d mask %s nystrom_ref m = n, 30 iterations = full",
                         s.n, mask_names[mk]);
                lb_check_array(name, out, full, (long)sz, 1e-6, 1e-6);
                run(out, &in, LB_ATTN_NYSTROM, s.n, 0, 30, 0, 2, NULL);
                double kappa = worst_cond(&in), tol = 2e-5 + 2e-6 * kappa;
                snprintf(name, sizeof name, "n%d mask %s nystrom m = n, 30 iterations = full "
                         "(cond %.3g)", s.n, mask_names[mk], kappa);
                lb_check_array(name, out, full, (long)sz, tol, tol);
            }
            lb_free(full), lb_free(out);
            free_inputs(&in);
        }
    }
}

/* |x| finite and x within [lo − slack, hi + slack] of the real values of v in its
 * column: what a convex combination of the real values must satisfy. */
static int in_hull(const float *out, const inputs *in, double slack) {
    int n = in->n, d = in->d, bad = 0;
    for (int b = 0; b < in->B; b++)
        for (int h = 0; h < in->H; h++) {
            size_t t = (size_t)b * in->H + h;
            for (int c = 0; c < d; c++) {
                double lo = INFINITY, hi = -INFINITY;
                for (int j = 0; j < n; j++)
                    if (!in->mask || in->mask[(size_t)b * n + j] != 0) {
                        double x = in->v[(t * n + j) * d + c];
                        lo = x < lo ? x : lo, hi = x > hi ? x : hi;
                    }
                for (int i = 0; i < n; i++) {
                    double x = out[(t * n + i) * d + c];
                    if (lo > hi ? x != 0 : !(x >= lo - slack && x <= hi + slack)) {
                        if (!bad)
                            printf("  b%d h%d i%d c%d: %g outside [%g, %g]\n", b, h, i, c, x,
                                   lo, hi);
                        bad++;
                    }
                }
            }
        }
    return bad;
}

/* Scores of ±1e4 (integer q, k as in test_attention.c: exact in float). Local is then
 * exact up to exp and the sums; Performer's feature exponents reach ~1e6, where float
 * keeps only ~0.1 absolute, so there the checks are the ones that hold whatever the
 * estimate: finite outputs that are convex combinations of v (performer,
 * scatterbrain) and finite outputs (Nyström, whose Z·B̃V is not convex). */
static void test_large_logits(lb_rng *r) {
    const int B = 2, H = 2, n = 70, d = 64;
    inputs in;
    make_inputs(&in, r, B, H, n, d, MASK_TAIL, 1.0f);
    size_t sz = (size_t)B * H * n * d;
    for (size_t i = 0; i < sz; i++) {
        in.q[i] = 32.0f * (float)((int)(lb_rng_u64(r) % 41) - 20);
        in.k[i] = 8.0f * (float)((int)(lb_rng_u64(r) % 41) - 20);
    }
    float *ref = lb_alloc(sz * 4), *out = lb_alloc(sz * 4);
    const int ws[3] = {0, 5, 40};
    for (int wi = 0; wi < 3; wi++) {
        lb_attn_local_ref(ref, in.q, in.k, in.v, in.mask, B, H, n, d, ws[wi]);
        run(out, &in, LB_ATTN_LOCAL, ws[wi], 0, 0, 0, 2, NULL);
        char name[64];
        snprintf(name, sizeof name, "large logits local w%d", ws[wi]);
        lb_check_array(name, out, ref, (long)sz, 1e-6, 1e-5);
    }
    run(out, &in, LB_ATTN_PERFORMER, 48, 0, 0, 1, 2, NULL);
    int bad = in_hull(out, &in, 1e-5);
    LB_CHECK(bad == 0, "large logits performer: %d outputs not finite convex combinations", bad);
    run(out, &in, LB_ATTN_SCATTERBRAIN, 48, 5, 0, 1, 2, NULL);
    bad = in_hull(out, &in, 1e-4); /* C = exp − L on the window: float cancellation */
    LB_CHECK(bad == 0, "large logits scatterbrain: %d outputs not finite convex combinations", bad);
    run(out, &in, LB_ATTN_NYSTROM, 16, 0, 0, 0, 2, NULL);
    long nonfinite = 0;
    for (size_t i = 0; i < sz; i++) nonfinite += !isfinite(out[i]);
    LB_CHECK(nonfinite == 0, "large logits nystrom: %ld non-finite outputs", nonfinite);
    lb_free(ref), lb_free(out);
    free_inputs(&in);
}

/* FAVOR+ is a ratio of two unbiased estimates, so its error falls like 1/√m: over 24
 * seeds at m = 32, 128, 512, 2048, the mean relative error against exact attention
 * must fit log E = c − s·log m with s in [0.35, 0.65], every E·√m within a factor 1.6
 * of their geometric mean, and E(2048) < 0.05. Inputs have small logits (q, k ~
 * N(0, 0.3²), d = 16): the features are log-normal with variance growing like
 * exp(‖q + k‖²/√d), and at N(0, 0.6²) m = 2048 is still before the 1/√m regime
 * (numpy with Haar features agrees: E·√m grows from 2.2 to 5 over these m). */
static void test_performer_limit(lb_rng *r) {
    const int B = 1, H = 2, n = 32, d = 16, seeds = 24;
    inputs in;
    make_inputs(&in, r, B, H, n, d, MASK_NONE, 0.3f);
    size_t sz = (size_t)B * H * n * d;
    float *full = lb_alloc(sz * 4), *out = lb_alloc(sz * 4);
    lb_attn_full_ref(full, NULL, in.q, in.k, in.v, NULL, B, H, n, d);
    double nf = 0;
    for (size_t i = 0; i < sz; i++) nf += (double)full[i] * full[i];
    const int ms[4] = {32, 128, 512, 2048};
    double lx[4], ly[4], sx = 0, sy = 0;
    for (int mi = 0; mi < 4; mi++) {
        double e = 0;
        for (int s = 0; s < seeds; s++) {
            run(out, &in, LB_ATTN_PERFORMER, ms[mi], 0, 0, 1000 + s, 1, NULL);
            double ne = 0;
            for (size_t i = 0; i < sz; i++) ne += ((double)out[i] - full[i]) * (out[i] - full[i]);
            e += sqrt(ne / nf) / seeds;
        }
        lx[mi] = log(ms[mi]), ly[mi] = log(e);
        sx += lx[mi] / 4, sy += ly[mi] / 4;
        printf("  performer m = %4d: mean relative error %.4f, E·sqrt(m) = %.3f\n", ms[mi], e,
               e * sqrt(ms[mi]));
    }
    double sxy = 0, sxx = 0;
    for (int i = 0; i < 4; i++) sxy += (lx[i] - sx) * (ly[i] - sy), sxx += (lx[i] - sx) * (lx[i] - sx);
    double slope = sxy / sxx;
    LB_CHECK(slope <= -0.35 && slope >= -0.65, "performer error ~ m^%.3f: expected m^-0.5", slope);
    double g = sy + 0.5 * sx; /* log of the geometric mean of E·√m */
    for (int i = 0; i < 4; i++)
        LB_CHECK(fabs(ly[i] + 0.5 * lx[i] - g) <= log(1.6),
                 "performer m = %d: E·sqrt(m) = %.3f vs geometric mean %.3f", ms[i],
                 exp(ly[i] + 0.5 * lx[i]), exp(g));
    LB_CHECK(exp(ly[3]) < 0.05, "performer m = 2048: mean relative error %.4f < 0.05", exp(ly[3]));
    lb_free(full), lb_free(out);
    free_inputs(&in);
}

/* The random features: orthogonal within a block, marginally N(0, I_d), seeded. */
static void test_features(void) {
    const int d = 16, m = 4096 + 8; /* 256 full blocks and a cut one of 8 rows */
    float *om = lb_alloc((size_t)m * d * 4), *om2 = lb_alloc((size_t)m * d * 4);
    LB_CHECK(lb_attn_performer_features(om, m, d, 5) == 0, "features drawn");
    double worst = 0, sq = 0;
    for (int r0 = 0; r0 < m; r0 += d)
        for (int i = r0; i < m && i < r0 + d; i++) {
            const float *a = om + (size_t)i * d;
            double na = 0;
            for (int c = 0; c < d; c++) na += (double)a[c] * a[c];
            sq += na / m;
            for (int j = r0; j < i; j++) {
                const float *b = om + (size_t)j * d;
                double ab = 0, nb = 0;
                for (int c = 0; c < d; c++) ab += (double)a[c] * b[c], nb += (double)b[c] * b[c];
                double cs = fabs(ab) / sqrt(na * nb);
                worst = cs > worst ? cs : worst;
            }
        }
    /* Gram–Schmidt twice in double on float rows: cosines at float precision */
    LB_CHECK(worst < 1e-5, "features orthogonal within blocks: worst |cos| %.3g", worst);
    /* E‖ω‖² = d, sd of the mean of m chi²_d = √(2d/m) = 0.088: 6 sd */
    LB_CHECK(fabs(sq - d) < 0.53, "features: mean squared norm %.3f, expected %d", sq, d);
    lb_attn_performer_features(om2, m, d, 5);
    LB_CHECK(!memcmp(om, om2, (size_t)m * d * 4), "features: same seed, same features");
    lb_attn_performer_features(om2, m, d, 6);
    LB_CHECK(memcmp(om, om2, (size_t)m * d * 4) != 0, "features: another seed, others");
    lb_free(om), lb_free(om2);
    /* lb_attn_reseed: a handle made with seed 6, redrawn with 5, holds seed 5's ω */
    for (int meth = LB_ATTN_PERFORMER; meth <= LB_ATTN_SCATTERBRAIN; meth++) {
        lb_attn_cfg c = {.method = meth, .B = 1, .H = 1, .n = 8, .d = 4, .k = 6, .threads = 1,
                         .window = 1, .seed = 6};
        lb_attn *a = NULL, *b = NULL;
        char msg[256];
        c.seed = 5;
        int ok = lb_attn_init(&a, &c, msg, sizeof msg) == 0;
        c.seed = 6;
        ok = ok && lb_attn_init(&b, &c, msg, sizeof msg) == 0;
        LB_CHECK(ok, "%s", msg);
        if (ok) {
            LB_CHECK(lb_attn_reseed(b, 5) == 0, "reseed");
            LB_CHECK(!memcmp(lb_attn_features(a), lb_attn_features(b), 6 * 4 * sizeof(float)),
                     "%s: reseed(5) gives seed 5's features", lb_attn_method_name(meth));
        }
        lb_attn_free(a), lb_attn_free(b);
    }
}

static int init_fails(lb_attn_cfg c, const char *want) {
    char msg[256] = "";
    lb_attn *a = NULL;
    int rc = lb_attn_init(&a, &c, msg, sizeof msg);
    lb_attn_free(a);
    if (rc == 0 || !strstr(msg, want)) {
        printf("  init: rc %d, message \"%s\", expected to contain \"%s\"\n", rc, msg, want);
        return 0;
    }
    return 1;
}

static void test_configs(void) {
    lb_attn_cfg c, g = {.method = LB_ATTN_LOCAL, .B = 2, .H = 3, .n = 50, .d = 8, .k = 4,
                        .threads = 2};
    const char *names[4] = {"local", "nystrom", "performer", "scatterbrain"};
    for (lb_attn_method m = LB_ATTN_LOCAL; m <= LB_ATTN_SCATTERBRAIN; m++) {
        lb_attn_method p;
        LB_CHECK(!strcmp(lb_attn_method_name(m), names[m - LB_ATTN_LOCAL]) &&
                     !lb_attn_method_parse(names[m - LB_ATTN_LOCAL], &p) && p == m,
                 "method %d named %s", m, names[m - LB_ATTN_LOCAL]);
        c = g, c.method = m, c.train = 1;
        LB_CHECK(init_fails(c, "no backward"), "%s with train = 1 rejected", names[m - 3]);
        c = g, c.method = m;
        lb_attn *a;
        char msg[256];
        float x[1];
        LB_CHECK(lb_attn_init(&a, &c, msg, sizeof msg) == 0, "init %s: %s", names[m - 3], msg);
        LB_CHECK(a->ws_bytes == lb_attn_workspace_bytes(&c), "%s: init allocates what "
                 "workspace_bytes says", names[m - 3]);
        LB_CHECK(lb_attn_check_args(a, x, x, x, x, x, NULL, NULL, msg, sizeof msg) == -1 &&
                     strstr(msg, "probs must be NULL"),
                 "%s with probs rejected", names[m - 3]);
        LB_CHECK(lb_attn_check_args(a, x, NULL, x, x, x, NULL, NULL, msg, sizeof msg) == 0,
                 "%s without E, F accepted", names[m - 3]);
        LB_CHECK((lb_attn_features(a) != NULL) == (m >= LB_ATTN_PERFORMER),
                 "%s: features only for performer/scatterbrain", names[m - 3]);
        LB_CHECK(lb_attn_proj_elems(&c) == 0, "%s: no E, F", names[m - 3]);
        lb_attn_free(a);
    }
    c = g, c.k = -1;
    LB_CHECK(init_fails(c, "k = -1 (window radius w)"), "local w < 0 rejected");
    c = g, c.k = 1 << 30;
    LB_CHECK(!init_fails(c, "k"), "local w > n accepted (full attention)");
    c = g, c.method = LB_ATTN_NYSTROM, c.k = 51;
    LB_CHECK(init_fails(c, "expected 1 <= m <= n = 50"), "nystrom m > n rejected");
    c.k = 0;
    LB_CHECK(init_fails(c, "k = 0 (landmarks m)"), "nystrom m = 0 rejected");
    c.k = 5, c.iters = 101;
    LB_CHECK(init_fails(c, "iters = 101"), "nystrom iters > 100 rejected");
    c.iters = -1;
    LB_CHECK(init_fails(c, "iters = -1"), "nystrom iters < 0 rejected");
    c = g, c.method = LB_ATTN_PERFORMER, c.k = 0;
    LB_CHECK(init_fails(c, "k = 0 (random features m)"), "performer m = 0 rejected");
    c.k = 65537;
    LB_CHECK(init_fails(c, "k = 65537"), "performer m > 65536 rejected");
    c.k = 200; /* more features than n is fine */
    LB_CHECK(!init_fails(c, "k"), "performer m > n accepted");
    c = g, c.method = LB_ATTN_SCATTERBRAIN, c.window = -2;
    LB_CHECK(init_fails(c, "window = -2"), "scatterbrain window < 0 rejected");

    /* flops: the window pair count against a brute-force count */
    const int ns[4] = {1, 7, 50, 129}, wsz[5] = {0, 1, 6, 49, 1000};
    int ok = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++) {
            long pairs = 0;
            for (int a = 0; a < ns[i]; a++)
                for (int b = 0; b < ns[i]; b++) pairs += abs(a - b) <= wsz[j];
            c = g, c.n = ns[i], c.k = wsz[j];
            ok &= lb_attn_flops(&c) == 4.0 * 2 * 3 * pairs * 8;
            c.method = LB_ATTN_SCATTERBRAIN, c.window = wsz[j], c.k = 3;
            ok &= lb_attn_flops(&c) == 2.0 * 3 * (8.0 * ns[i] * 3 * 8 + 4.0 * ns[i] * 3 +
                                                 pairs * (4.0 * 8 + 2 * 3));
        }
    LB_CHECK(ok, "local and scatterbrain flops count the window's pairs");
    c = g, c.method = LB_ATTN_NYSTROM, c.k = 5;
    LB_CHECK(lb_attn_flops(&c) == 6.0 * (8.0 * 50 * 5 * 8 + 4.0 * 25 * 8 + 8.0 * 6 * 125),
             "nystrom flops with the default 6 iterations");
    c.iters = 10;
    LB_CHECK(lb_attn_flops(&c) == 6.0 * (8.0 * 50 * 5 * 8 + 4.0 * 25 * 8 + 8.0 * 10 * 125),
             "nystrom flops with 10 iterations");
    c = g, c.method = LB_ATTN_PERFORMER, c.k = 7;
    LB_CHECK(lb_attn_flops(&c) == 6.0 * (8.0 * 50 * 7 * 8 + 4.0 * 50 * 7), "performer flops");
}

int main(void) {
    lb_rng r;
    lb_rng_seed(&r, 20210201);
    LB_SECTION(test_configs());
    LB_SECTION(test_features());
    LB_SECTION(test_shapes(&r));
    LB_SECTION(test_limits(&r));
    LB_SECTION(test_large_logits(&r));
    LB_SECTION(test_performer_limit(&r));
    return lb_test_summary("test_attention_approx");
}
