/* Tests for analysis/spectrum/approx*.c: the JL stand-in against the closed form of its
 * expected squared error, the 95% intervals' coverage on synthetic cases with a known
 * answer, the fitted projection (exact on P of rank <= k), the paper's k bound, the
 * Linformer pieces against scalar references in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_spectrum.h"
#include "lb_test.h"
#include "lb_util.h"

/* A row-stochastic P (n,n) with uneven rows (softmax of scaled normals) and V (n,d). */
static void synth(float *P, float *V, int n, int d, uint64_t seed) {
    lb_rng g;
    lb_rng_seed(&g, seed);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += P[i * n + j] = (float)exp(2.0 * lb_rng_normal(&g));
        for (int j = 0; j < n; j++) P[i * n + j] = (float)(P[i * n + j] / s);
    }
    for (int i = 0; i < n * d; i++) V[i] = (float)lb_rng_normal(&g);
}

static double fro(const float *x, int len) {
    double s = 0;
    for (int i = 0; i < len; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

static double diff2(const float *a, const double *b, int len) {
    double s = 0;
    for (int i = 0; i < len; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s;
}

/* PV (n,d) in double. */
static void pv_ref(double *pv, const float *P, const float *V, int n, int d) {
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += (double)P[i * n + j] * V[j * d + c];
            pv[i * d + c] = s;
        }
}

/* lb_ax_jl_apply against P Rᵀ R V in double; then E‖P RᵀR V − PV‖² against
 * (‖P‖²‖V‖² + ‖PV‖²)/k over many draws, and the t interval's coverage of it. */
static void test_jl(void) {
    enum { n = 24, d = 5, k = 6, kmax = 8 };
    float P[n * n], V[n * d], G[kmax * n], y[n * d], rv[kmax * d], t[n * d];
    double pv[n * d], ref[n * d];
    synth(P, V, n, d, 7);
    pv_ref(pv, P, V, n, d);
    lb_rng g;
    lb_rng_seed(&g, 11);
    lb_rng_fill_normal(&g, G, kmax * n, 1.0f);
    lb_ax_jl_apply(y, rv, t, P, n, G, V, n, d, k);
    for (int i = 0; i < n; i++) /* R = G[0..k)/√k; (P Rᵀ)(R V) summed in double */
        for (int c = 0; c < d; c++) {
            double s = 0;
            for (int r = 0; r < k; r++) {
                double pr = 0, rvv = 0;
                for (int j = 0; j < n; j++) pr += (double)P[i * n + j] * G[r * n + j];
                for (int j = 0; j < n; j++) rvv += (double)G[r * n + j] * V[j * d + c];
                s += pr * rvv / k;
            }
            ref[i * d + c] = s;
        }
    float reff[n * d];
    for (int i = 0; i < n * d; i++) reff[i] = (float)ref[i];
    /* float sums of 24 products of O(1) terms: 1e-5 relative leaves ~50 ulp of room */
    lb_check_array("jl_apply", y, reff, n * d, 1e-5, 1e-5);
    double np = fro(P, n * n), nv = fro(V, n * d), npv = 0;
    for (int i = 0; i < n * d; i++) npv += pv[i] * pv[i];
    npv = sqrt(npv);
    double expect = lb_ax_jl_expected_sq(np, nv, npv, k); /* (r²+1)/k */
    lb_welford w = {0};
    int covered = 0, trials = 400, draws = 20;
    for (int tr = 0; tr < trials; tr++) {
        lb_welford one = {0};
        for (int dr = 0; dr < draws; dr++) {
            lb_rng_fill_normal(&g, G, k * n, 1.0f);
            lb_ax_jl_apply(y, rv, t, P, n, G, V, n, d, k);
            double e2 = diff2(y, pv, n * d) / (npv * npv);
            lb_welford_add(&w, e2);
            lb_welford_add(&one, e2);
        }
        double lo, hi;
        lb_ci95_mean(&one, &lo, &hi);
        covered += lo <= expect && expect <= hi;
    }
    double se = lb_welford_std(&w) / sqrt(w.n);
    /* 8000 draws: the sample mean is within 4 standard errors of the expectation
     * unless the closed form (or the 1/k scaling) is wrong; 4 SE fails ~1 in 16000. */
    LB_CHECK(fabs(w.mean - expect) <= 4 * se, "mean %g, closed form %g, se %g", w.mean, expect, se);
    double cov = (double)covered / trials;
    /* the squared error is skewed (a chi-square-like sum), so a t interval over 20
     * draws under-covers a little; 400 trials put the binomial s.d. near 0.011 */
    LB_CHECK(cov >= 0.88 && cov <= 0.99, "coverage %g of the 95%% interval", cov);
}

/* Wilson interval coverage for a known p, and the t quantiles against the table. */
static void test_intervals(void) {
    lb_rng g;
    lb_rng_seed(&g, 5);
    int covered = 0, trials = 2000;
    for (int tr = 0; tr < trials; tr++) {
        int s = 0;
        for (int i = 0; i < 50; i++) s += lb_rng_uniform(&g) < 0.3;
        double lo, hi;
        lb_ci95_prop(s, 50, &lo, &hi);
        covered += lo <= 0.3 && 0.3 <= hi;
    }
    double cov = (double)covered / trials; /* Wilson at n = 50, p = 0.3: ~0.95; s.d. 0.005 */
    LB_CHECK(cov >= 0.92 && cov <= 0.98, "Wilson coverage %g", cov);
    /* t_{0.975} table values (any statistics text) */
    const double df[] = {1, 2, 3, 5, 10, 11, 19, 30, 100},
                 tv[] = {12.706, 4.303, 3.182, 2.571, 2.228, 2.201, 2.093, 2.042, 1.984};
    for (int i = 0; i < 9; i++)
        LB_CHECK(lb_close(lb_t975(df[i]), tv[i], 2e-3, 0), "t(%g) = %g, table %g", df[i],
                 lb_t975(df[i]), tv[i]);
    double lo, hi;
    lb_welford one = {0};
    lb_welford_add(&one, 1.0);
    lb_ci95_mean(&one, &lo, &hi);
    LB_CHECK(isnan(lo) && isnan(hi), "one sample has no interval");
    lb_ci95_prop(0, 0, &lo, &hi);
    LB_CHECK(isnan(lo), "no trials, no interval");
}

/* The fitted projection recovers P exactly when every P shares a row space of rank
 * r <= k; with k = n it is exact for any P. */
static void test_fitted(void) {
    enum { n = 17, d = 3, r = 4 };
    float B[r * n], P[n * n], V[n * d], Gm[n * n], y[n * d], pu[n * n], uv[n * d];
    double pv[n * d];
    lb_rng g;
    lb_rng_seed(&g, 3);
    lb_rng_fill_normal(&g, B, r * n, 1.0f);
    lb_rng_fill_normal(&g, V, n * d, 1.0f);
    memset(Gm, 0, sizeof Gm);
    for (int w = 0; w < 3; w++) { /* three "training windows" P = A B, A random */
        float A[n * r];
        lb_rng_fill_normal(&g, A, n * r, 1.0f);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < r; t++) s += (double)A[i * r + t] * B[t * n + j];
                P[i * n + j] = (float)s;
            }
        for (int i = 0; i < n; i++) /* Σ PᵀP, upper triangle is enough */
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < n; t++) s += (double)P[t * n + i] * P[t * n + j];
                Gm[i * n + j] += (float)s;
            }
    }
    char msg[256];
    LB_CHECK(lb_ax_fit_eigvecs(Gm, n, msg, sizeof msg) == 0, "%s", msg);
    pv_ref(pv, P, V, n, d); /* a held-out P of the same row space: the last one made */
    double npv = 0;
    for (int i = 0; i < n * d; i++) npv += pv[i] * pv[i];
    for (int k = r; k <= r + 2; k++) {
        lb_ax_fitted_apply(y, pu, uv, P, n, Gm, V, n, d, k);
        double e = sqrt(diff2(y, pv, n * d) / npv);
        /* eigenvectors in float: ~1e-6 relative; 1e-4 keeps 100x room */
        LB_CHECK(e <= 1e-4, "rank %d P at k = %d: relative error %g", r, k, e);
    }
    lb_ax_fitted_apply(y, pu, uv, P, n, Gm, V, n, d, r - 1);
    double e = sqrt(diff2(y, pv, n * d) / npv);
    LB_CHECK(e > 1e-2, "k below the rank must lose something: %g", e);
}

static void test_bound(void) {
    /* 5 ln n (27/4) is the least k with any guarantee: 210.5 at n = 512 */
    LB_CHECK(isnan(lb_ax_eps_bound(512, 210)) && !isnan(lb_ax_eps_bound(512, 211)), "k 211");
    for (int n = 64; n <= 4096; n *= 4)
        for (double eps = 0.1; eps < 0.65; eps += 0.1) {
            double k = lb_ax_k_bound(n, eps);
            LB_CHECK(lb_close(lb_ax_eps_bound(n, (int)ceil(k)), eps, 0, 0.01) &&
                         lb_ax_eps_bound(n, (int)ceil(k)) <= eps,
                     "n %d eps %g: k %g gives eps %g", n, eps, k, lb_ax_eps_bound(n, (int)ceil(k)));
        }
    LB_CHECK(lb_close(lb_ax_k_bound(512, 0.1), 5 * log(512.0) / 0.009, 0, 1e-12), "eps 0.1");
}

/* Full probabilities with a masked key, against double exp. */
static void test_full_probs(void) {
    enum { n = 5, d = 3 };
    float q[n * d], k[n * d], P[n * n];
    unsigned char keep[n] = {1, 1, 0, 1, 1};
    lb_rng g;
    lb_rng_seed(&g, 9);
    lb_rng_fill_normal(&g, q, n * d, 3.0f);
    lb_rng_fill_normal(&g, k, n * d, 3.0f);
    lb_ax_full_probs(P, q, k, keep, n, d);
    float ref[n * n];
    for (int i = 0; i < n; i++) {
        double s[n], mx = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++) {
            s[j] = 0;
            for (int c = 0; c < d; c++) s[j] += (double)q[i * d + c] * k[j * d + c];
            s[j] /= sqrt((double)d);
            if (keep[j] && s[j] > mx) mx = s[j];
        }
        for (int j = 0; j < n; j++) sum += keep[j] ? exp(s[j] - mx) : 0;
        for (int j = 0; j < n; j++) ref[i * n + j] = keep[j] ? (float)(exp(s[j] - mx) / sum) : 0;
    }
    lb_check_array("full_probs", P, ref, n * n, 1e-6, 1e-5); /* expf vs exp: a few ulp */
}

int main(void) {
    LB_SECTION(test_jl());
    LB_SECTION(test_intervals());
    LB_SECTION(test_fitted());
    LB_SECTION(test_bound());
    LB_SECTION(test_full_probs());
    return lb_test_summary("test_approx");
}
