/* Tests for analysis/spectrum/svd.c, spectrum_acc.c, projerr.c and the shared option helpers
 * against plain scalar references (one-sided Jacobi SVD in double, direct loops for
 * the projections). numpy is the other oracle: tests/analysis/spectrum/test_spectrum.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_spectrum.h"
#include "lb_test.h"
#include "lb_util.h"

/* Singular values of a (r, c) by one-sided Jacobi on the columns of A (or Aᵀ when
 * r < c), in double: slow, simple, accurate to ~1e-14 relative to σ_max. */
static void ref_svd(double *sig, const float *A, int r, int c) {
    int tr = r < c, m = tr ? c : r, n = tr ? r : c; /* work on an m×n, m >= n */
    double *a = malloc(sizeof(double) * m * n);
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) {
            if (tr) a[j * n + i] = A[i * c + j];
            else a[i * n + j] = A[i * c + j];
        }
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double al = 0, be = 0, ga = 0;
                for (int i = 0; i < m; i++) {
                    al += a[i * n + p] * a[i * n + p];
                    be += a[i * n + q] * a[i * n + q];
                    ga += a[i * n + p] * a[i * n + q];
                }
                if (fabs(ga) <= 1e-300 || fabs(ga) <= 1e-15 * sqrt(al * be)) continue;
                off = fmax(off, fabs(ga) / sqrt(al * be));
                double z = (be - al) / (2 * ga);
                double t = (z >= 0 ? 1 : -1) / (fabs(z) + sqrt(1 + z * z));
                double cs = 1 / sqrt(1 + t * t), sn = cs * t;
                for (int i = 0; i < m; i++) {
                    double x = a[i * n + p], y = a[i * n + q];
                    a[i * n + p] = cs * x - sn * y;
                    a[i * n + q] = sn * x + cs * y;
                }
            }
        if (off < 1e-15) break;
    }
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < m; i++) s += a[i * n + j] * a[i * n + j];
        sig[j] = sqrt(s);
    }
    for (int i = 0; i < n; i++) /* sort descending */
        for (int j = i + 1; j < n; j++)
            if (sig[j] > sig[i]) {
                double t = sig[i];
                sig[i] = sig[j];
                sig[j] = t;
            }
    free(a);
}

static void softmax_rows(float *P, const float *x, int r, int c) {
    for (int i = 0; i < r; i++) {
        double mx = -1e300, s = 0;
        for (int j = 0; j < c; j++) mx = fmax(mx, x[i * c + j]);
        for (int j = 0; j < c; j++) s += exp(x[i * c + j] - mx);
        for (int j = 0; j < c; j++) P[i * c + j] = (float)(exp(x[i * c + j] - mx) / s);
    }
}

static void check_svd(const char *name, const float *A, int r, int c, lb_rng *g) {
    (void)g;
    int mn = r < c ? r : c;
    float *sig = malloc(sizeof(float) * mn);
    double *ref = malloc(sizeof(double) * mn);
    lb_svd_ws *w = NULL;
    char msg[256];
    LB_CHECK(lb_svd_ws_init(&w, r + 3, c + 1, 0, msg, sizeof msg) == 0, "%s: ws %s", name, msg);
    int rc = lb_svd_values(w, sig, A, r, c, c, msg, sizeof msg);
    LB_CHECK(rc == 0, "%s: %s", name, msg);
    ref_svd(ref, A, r, c);
    /* Backward-stable float32 SVD: absolute error ~ε_f·σ_max per value (not relative). */
    int ok = 1;
    for (int i = 0; i < mn; i++) ok &= lb_close(sig[i], ref[i], 1e-5 * ref[0] + 1e-30, 0);
    LB_CHECK(rc == 0 && ok, "%s: singular values vs Jacobi (first %g vs %g)", name, sig[0], ref[0]);
    lb_svd_ws_free(w);
    free(sig);
    free(ref);
}

static void test_svd(void) {
    lb_rng g;
    lb_rng_seed(&g, 3);
    float A[40 * 40], X[40 * 40];
    A[0] = -2.5f;
    check_svd("1x1", A, 1, 1, &g);
    lb_rng_fill_normal(&g, A, 7 * 5, 1);
    check_svd("7x5", A, 7, 5, &g);
    check_svd("5x7", A, 5, 7, &g);
    lb_rng_fill_normal(&g, X, 33 * 33, 2);
    softmax_rows(A, X, 33, 33);
    check_svd("softmax 33", A, 33, 33, &g);
    for (int i = 0; i < 40 * 40; i++) A[i] = 1.0f / 40;
    check_svd("uniform rank 1", A, 40, 40, &g);
    memset(A, 0, sizeof A);
    for (int i = 0; i < 17; i++) A[i * 17 + i] = 1;
    check_svd("identity 17", A, 17, 17, &g);

    /* Leading dimension: a 5×4 block inside a 5×9 array. */
    lb_rng_fill_normal(&g, X, 5 * 9, 1);
    for (int i = 0; i < 5; i++) memcpy(A + i * 4, X + i * 9, 4 * sizeof(float));
    float s1[4], s2[4];
    lb_svd_ws *w = NULL;
    char msg[256];
    lb_svd_ws_init(&w, 8, 8, 0, msg, sizeof msg);
    int ok = lb_svd_values(w, s1, X, 5, 4, 9, msg, sizeof msg) == 0 &&
             lb_svd_values(w, s2, A, 5, 4, 4, msg, sizeof msg) == 0 && !memcmp(s1, s2, sizeof s1);
    LB_CHECK(ok, "leading dimension honoured");
    LB_CHECK(lb_svd_values(w, s1, X, 9, 4, 9, msg, sizeof msg) == -1 && strstr(msg, "workspace"),
             "too big for the workspace refused: %s", msg);
    LB_CHECK(lb_svd_right(w, s1, X, X, 4, 4, 4, msg, sizeof msg) == -1,
             "vectors from a values-only workspace refused");
    X[6] = NAN;
    LB_CHECK(lb_svd_values(w, s1, X, 4, 4, 4, msg, sizeof msg) == -1 && strstr(msg, "non-finite"),
             "NaN refused: %s", msg);
    lb_svd_ws_free(w);
    LB_CHECK(lb_svd_ws_init(&w, 0, 4, 0, msg, sizeof msg) == -1 && w == NULL, "size 0 refused");
}

static void test_stats(void) {
    float s[4] = {4, 2, 1, 1};
    double c[6], e[6];
    lb_spec_curves(c, e, 6, s, 4);
    LB_CHECK(lb_close(c[0], 0.5, 1e-15, 0) && lb_close(c[1], 0.75, 1e-15, 0) && c[3] == 1 &&
                 c[5] == 1,
             "sigma curve %g %g %g", c[0], c[1], c[5]);
    LB_CHECK(lb_close(e[0], 16.0 / 22, 1e-15, 0) && e[3] == 1 && e[4] == 1, "energy curve");
    LB_CHECK(lb_spec_first_reach(c, 6, 0.75) == 2 && lb_spec_first_reach(c, 6, 0.9) == 4,
             "first reach");
    lb_spec_curves(c, e, 2, s, 4); /* len < r: a prefix */
    LB_CHECK(lb_close(c[1], 0.75, 1e-15, 0), "curve shorter than the rank");
    float u[5] = {3, 3, 3, 3, 3}, z[3] = {0, 0, 0};
    LB_CHECK(lb_close(lb_spec_eff_rank(u, 5), 5, 1e-12, 0), "eff rank of flat sigma = r");
    LB_CHECK(lb_close(lb_spec_eff_rank(s, 1), 1, 1e-12, 0), "eff rank of one value = 1");
    LB_CHECK(lb_spec_eff_rank(z, 3) == 0, "eff rank of zeros = 0");
    lb_spec_curves(c, e, 3, z, 3);
    LB_CHECK(c[0] == 1 && e[0] == 1, "zero matrix: curves of 1");

    float P[3 * 4] = {0.25f, 0.25f, 0.25f, 0.25f, 1, 0, 0, 0, 0.5f, 0.5f, 0, 0};
    LB_CHECK(lb_close(lb_spec_row_entropy(P, 1, 4, 4), 1, 1e-12, 0), "uniform row: 1");
    LB_CHECK(lb_spec_row_entropy(P + 4, 1, 4, 4) == 0, "one-hot row: 0");
    LB_CHECK(lb_close(lb_spec_row_entropy(P, 3, 4, 4), (1 + 0 + 0.5) / 3, 1e-7, 0), "mean of rows");
    LB_CHECK(lb_spec_row_entropy(P + 4, 1, 1, 4) == 1, "one key: 1 by definition");

    /* Welford and merge against two-pass mean/variance. */
    double x[7] = {1e6 + 1, 1e6 + 4, 1e6 + 2, 1e6 + 8, 1e6 + 5, 1e6 + 7, 1e6 + 3}, mean = 0, var = 0;
    lb_welford a = {0}, b = {0}, all = {0};
    for (int i = 0; i < 7; i++) {
        mean += x[i] / 7;
        lb_welford_add(i < 3 ? &a : &b, x[i]);
        lb_welford_add(&all, x[i]);
    }
    for (int i = 0; i < 7; i++) var += (x[i] - mean) * (x[i] - mean) / 6;
    lb_welford_merge(&a, &b);
    LB_CHECK(lb_close(all.mean, mean, 0, 1e-15) && lb_close(lb_welford_std(&all), sqrt(var), 0, 1e-9),
             "welford vs two-pass");
    LB_CHECK(a.n == 7 && lb_close(a.mean, mean, 0, 1e-15) &&
                 lb_close(lb_welford_std(&a), sqrt(var), 0, 1e-9),
             "merge equals one pass");
    lb_welford one = {0};
    lb_welford_add(&one, 3);
    LB_CHECK(lb_welford_std(&one) == 0, "std of one value is 0");

    /* Accumulator: two spectra, curves averaged index by index. */
    lb_spec_acc acc;
    LB_CHECK(lb_spec_acc_init(&acc, 4, 5) == -1, "index past length refused");
    LB_CHECK(lb_spec_acc_init(&acc, 4, 2) == 0, "acc init");
    double scratch[8], sd[4];
    float t[2] = {1, 1};
    lb_spec_acc_add(&acc, scratch, s, 4, 0.5);
    lb_spec_acc_add(&acc, scratch, t, 2, 0.7); /* shorter: curve 1 past its rank */
    lb_spec_acc_curve_std(&acc, sd, 0);
    LB_CHECK(acc.count == 2 && lb_close(acc.c_mean[0], 0.5, 1e-15, 0) &&
                 lb_close(acc.c_mean[1], 0.875, 1e-15, 0) && acc.c_mean[3] == 1,
             "acc curve mean %g %g", acc.c_mean[0], acc.c_mean[1]);
    LB_CHECK(lb_close(sd[1], sqrt(2 * 0.125 * 0.125), 1e-15, 0) && sd[3] == 0, "acc curve std");
    LB_CHECK(lb_close(acc.stat[LB_SPEC_ROW_ENTROPY].mean, 0.6, 1e-15, 0) &&
                 acc.stat[LB_SPEC_AT_SIGMA].mean == 0.875 && acc.stat[LB_SPEC_IDX90_SIGMA].mean == 3,
             "acc stats");
    lb_spec_acc_free(&acc);
}

/* Direct double loops for the Gaussian and pooling stand-ins. */
static double ref_err(int method, const float *P, const float *q, const float *k, const float *v,
                      int m, int d, const float *R, int kk) {
    double *y = calloc((size_t)m * d, sizeof(double)), *pv = calloc((size_t)m * d, sizeof(double));
    double num = 0, den = 0;
    for (int i = 0; i < m; i++)
        for (int c = 0; c < d; c++)
            for (int j = 0; j < m; j++) pv[i * d + c] += (double)P[i * m + j] * v[j * d + c];
    int kp = method == LB_PE_POOL ? (kk < m ? kk : m) : kk;
    for (int i = 0; i < m; i++) {
        double row[64], zmax = -1e300, zs = 0;
        for (int b = 0; b < kp; b++) {
            double s = 0;
            if (method == LB_PE_GAUSS)
                for (int j = 0; j < m; j++) s += (double)P[i * m + j] * R[b * m + j];
            else if (method == LB_PE_POOL)
                for (int j = b * m / kp; j < (b + 1) * m / kp; j++) s += P[i * m + j];
            else { /* LINF_GAUSS: score against R K */
                for (int c = 0; c < d; c++) {
                    double rk = 0;
                    for (int j = 0; j < m; j++) rk += (double)R[b * m + j] * k[j * d + c];
                    s += (double)q[i * d + c] * rk;
                }
                s /= sqrt((double)d);
                zmax = fmax(zmax, s);
            }
            row[b] = s;
        }
        if (method == LB_PE_LINF_GAUSS) {
            for (int b = 0; b < kp; b++) zs += exp(row[b] - zmax);
            for (int b = 0; b < kp; b++) row[b] = exp(row[b] - zmax) / zs;
        }
        for (int b = 0; b < kp; b++)
            for (int c = 0; c < d; c++) {
                double rv = 0;
                if (method == LB_PE_POOL) {
                    int lo = b * m / kp, hi = (b + 1) * m / kp;
                    for (int j = lo; j < hi; j++) rv += v[j * d + c];
                    rv /= hi - lo;
                } else
                    for (int j = 0; j < m; j++) rv += (double)R[b * m + j] * v[j * d + c];
                y[i * d + c] += row[b] * rv;
            }
    }
    for (int i = 0; i < m * d; i++) {
        num += (pv[i] - y[i]) * (pv[i] - y[i]);
        den += pv[i] * pv[i];
    }
    free(y);
    free(pv);
    return sqrt(num / den);
}

static void test_projerr(void) {
    enum { M = 37, D = 6, NF = 50 };
    lb_rng g;
    lb_rng_seed(&g, 11);
    float q[M * D], k[M * D], v[M * D], x[M * M], P[M * M];
    lb_rng_fill_normal(&g, q, M * D, 1.2f);
    lb_rng_fill_normal(&g, k, M * D, 1.2f);
    lb_rng_fill_normal(&g, v, M * D, 1);
    for (int i = 0; i < M; i++) /* P = softmax(q kᵀ/√d), so the pooled Linformer at k = m is P */
        for (int j = 0; j < M; j++) {
            double s = 0;
            for (int c = 0; c < D; c++) s += (double)q[i * D + c] * k[j * D + c];
            x[i * M + j] = (float)(s / sqrt(D));
        }
    softmax_rows(P, x, M, M);
    int ks[4] = {1, 5, 16, M}, real[M];
    uint64_t seeds[4];
    for (int j = 0; j < 4; j++) seeds[j] = lb_proj_seed(9, 2, 3, ks[j]);
    LB_CHECK(lb_proj_seed(9, 2, 3, 5) != lb_proj_seed(9, 3, 2, 5) &&
                 lb_proj_seed(9, 2, 3, 5) != lb_proj_seed(10, 2, 3, 5),
             "seeds differ by layer, head and seed");
    lb_pe_ws *w = NULL;
    char msg[256];
    double err[4 * LB_PE_COUNT], err2[4 * LB_PE_COUNT];
    LB_CHECK(lb_pe_ws_init(&w, M, D, M, 1, msg, sizeof msg) == 0, "pe ws: %s", msg);
    int rc = lb_projerr_head(w, err, P, M, q, k, v, M, D, ks, 4, seeds, NULL, M, 1, msg, sizeof msg);
    LB_CHECK(rc == 0, "projerr: %s", msg);
    float *R = malloc(sizeof(float) * M * NF);
    float sig[M];
    lb_svd_ws *sw = NULL;
    lb_svd_ws_init(&sw, M, M, 0, msg, sizeof msg);
    lb_svd_values(sw, sig, P, M, M, M, msg, sizeof msg);
    double tot = 0;
    for (int i = 0; i < M; i++) tot += (double)sig[i] * sig[i];
    for (int j = 0; j < 4; j++) {
        double *e = err + j * LB_PE_COUNT, tail = 0;
        lb_proj_gauss(R, ks[j], M, seeds[j]);
        /* float32 GEMMs over ≤ 37 terms against double loops: 1e-4 relative + 1e-5. */
        LB_CHECK(lb_close(e[LB_PE_GAUSS], ref_err(LB_PE_GAUSS, P, q, k, v, M, D, R, ks[j]), 1e-5,
                          1e-4), "gauss k=%d: %g", ks[j], e[LB_PE_GAUSS]);
        LB_CHECK(lb_close(e[LB_PE_LINF_GAUSS],
                          ref_err(LB_PE_LINF_GAUSS, P, q, k, v, M, D, R, ks[j]), 1e-5, 1e-4),
                 "linformer gauss k=%d: %g", ks[j], e[LB_PE_LINF_GAUSS]);
        LB_CHECK(lb_close(e[LB_PE_POOL], ref_err(LB_PE_POOL, P, q, k, v, M, D, R, ks[j]), 1e-5,
                          1e-4), "pool k=%d (37 not a multiple): %g", ks[j], e[LB_PE_POOL]);
        for (int i = ks[j]; i < M; i++) tail += (double)sig[i] * sig[i];
        LB_CHECK(lb_close(e[LB_PE_SVD_P], sqrt(tail / tot), 1e-6, 1e-5), "svd_p = tail formula");
        LB_CHECK(e[LB_PE_SVD_PV] >= 0 && e[LB_PE_SVD_PV] <= 1 + 1e-6, "svd_pv in [0,1]");
    }
    double *last = err + 3 * LB_PE_COUNT;
    LB_CHECK(last[LB_PE_POOL] < 1e-5 && last[LB_PE_LINF_POOL] < 1e-5 && last[LB_PE_SVD_PV] < 1e-5 &&
                 last[LB_PE_SVD_P] < 1e-5,
             "k = m exact: pool %g linf_pool %g svd %g", last[LB_PE_POOL], last[LB_PE_LINF_POOL],
             last[LB_PE_SVD_PV]);
    LB_CHECK(err[LB_PE_SVD_PV] >= err[LB_PE_COUNT + LB_PE_SVD_PV] - 1e-6, "svd_pv shrinks with k");

    /* Padding: real keys scattered over NF positions; R uses the same columns of the
     * full (k, NF) matrix whatever the gathering. */
    for (int i = 0; i < M; i++) real[i] = i + i / 3; /* ascending, gaps every third */
    LB_CHECK(real[M - 1] < NF, "real positions fit");
    rc = lb_projerr_head(w, err2, P, M, q, k, v, M, D, ks, 4, seeds, real, NF, 0, msg, sizeof msg);
    LB_CHECK(rc == 0 && isnan(err2[LB_PE_SVD_P]), "with_svd = 0 leaves NaN");
    float *Rf = malloc(sizeof(float) * M * NF);
    for (int j = 0; j < 3; j++) {
        lb_proj_gauss(Rf, ks[j], NF, seeds[j]);
        for (int b = 0; b < ks[j]; b++)
            for (int i = 0; i < M; i++) R[b * M + i] = Rf[b * NF + real[i]];
        LB_CHECK(lb_close(err2[j * LB_PE_COUNT + LB_PE_GAUSS],
                          ref_err(LB_PE_GAUSS, P, q, k, v, M, D, R, ks[j]), 1e-5, 1e-4),
                 "gauss on real columns k=%d", ks[j]);
    }
    int big = M + 1;
    LB_CHECK(lb_projerr_head(w, err2, P, M, q, k, v, M, D, &big, 1, seeds, NULL, M, 0, msg,
                             sizeof msg) == -1, "k past the workspace refused: %s", msg);
    /* Size 1: a 1×1 P is exact for every method at k = 1. */
    float one = 1, q1[D], v1[D];
    lb_rng_fill_normal(&g, q1, D, 1);
    lb_rng_fill_normal(&g, v1, D, 1);
    int k1 = 1;
    rc = lb_projerr_head(w, err2, &one, 1, q1, q1, v1, 1, D, &k1, 1, seeds, NULL, 1, 1, msg,
                         sizeof msg);
    LB_CHECK(rc == 0 && err2[LB_PE_POOL] < 1e-6 && err2[LB_PE_LINF_POOL] < 1e-6 &&
                 err2[LB_PE_SVD_P] == 0,
             "m = 1: pooling exact (softmax over one key is 1; R still scales V)");
    free(R);
    free(Rf);
    lb_svd_ws_free(sw);
    lb_pe_ws_free(w);
}

static void test_options(void) {
    int list[6];
    LB_CHECK(lb_spec_subset(list, "all", 4, "--layers") == 4 && list[3] == 3, "all");
    LB_CHECK(lb_spec_subset(list, NULL, 2, "--layers") == 2, "default all");
    LB_CHECK(lb_spec_subset(list, "3,1,3", 4, "--heads") == 2 && list[0] == 1 && list[1] == 3,
             "sorted and unique");
    LB_CHECK(lb_spec_subset(list, "4", 4, "--heads") == -1, "out of range");
    LB_CHECK(lb_spec_subset(list, "1,,2", 4, "--heads") == -1, "malformed");
    char *argv[] = {"spectrum", "--n=16,32", "--quiet", "--seed", "5", "stray", "--out", NULL};
    static const char *const flags[] = {"quiet", NULL};
    char name[32];
    const char *val;
    int i = 1;
    LB_CHECK(lb_spec_next_opt(7, argv, &i, flags, name, sizeof name, &val) == 0 &&
                 !strcmp(name, "n") && !strcmp(val, "16,32") && i == 2, "--name=value");
    LB_CHECK(lb_spec_next_opt(7, argv, &i, flags, name, sizeof name, &val) == 0 && val == NULL &&
                 i == 3, "flag");
    LB_CHECK(lb_spec_next_opt(7, argv, &i, flags, name, sizeof name, &val) == 0 &&
                 !strcmp(val, "5") && i == 5, "--name value");
    LB_CHECK(lb_spec_next_opt(7, argv, &i, flags, name, sizeof name, &val) == EX_USAGE,
             "stray argument refused");
    i = 6;
    LB_CHECK(lb_spec_next_opt(7, argv, &i, flags, name, sizeof name, &val) == EX_USAGE,
             "missing value refused");
    lb_config c = {.type = LB_MODEL_ROBERTA, .max_pos = 514, .pad_id = 1};
    LB_CHECK(lb_spec_max_n(&c) == 512, "RoBERTa n <= 512");
    c.type = LB_MODEL_BERT;
    c.max_pos = 512;
    LB_CHECK(lb_spec_max_n(&c) == 512, "BERT n <= 512");
}

/* Controls with known answers through lb_ctrl_spectrum (the same SVD and statistics
 * as a model's P): uniform rows are rank 1, the identity is full rank (every σ = 1),
 * the band is close to full rank; sizes 1, odd, and past a block. */
static void test_controls(void) {
    static const int ns[] = {1, 7, 64};
    char msg[256];
    for (int t = 0; t < 3; t++) {
        int n = ns[t];
        for (int kind = 0; kind < LB_CTRL_COUNT; kind++) {
            lb_spec_acc a;
            if (lb_spec_acc_init(&a, n, n / 4 > 0 ? n / 4 : 1) || lb_ctrl_spectrum(&a, kind, msg, sizeof msg)) {
                LB_CHECK(0, "control %s n=%d: %s", lb_ctrl_name(kind), n, msg);
                continue;
            }
            double idx90 = a.stat[LB_SPEC_IDX90_SIGMA].mean, eff = a.stat[LB_SPEC_EFF_RANK].mean,
                   ent = a.stat[LB_SPEC_ROW_ENTROPY].mean;
            /* float32 sgesdd: σ of a rank-1 P leave ~1e-7 n behind, so eff rank 1 to 1e-4 */
            if (kind == LB_CTRL_UNIFORM)
                LB_CHECK(idx90 == 1 && fabs(eff - 1) < 1e-4 && fabs(ent - 1) < 1e-6 && a.c_mean[0] > 1 - 1e-5,
                         "uniform n=%d rank 1: idx90 %g eff %g entropy %g", n, idx90, eff, ent);
            else if (kind == LB_CTRL_IDENTITY)
                LB_CHECK(idx90 == ceil(0.9 * n - 1e-9) && fabs(eff - n) < 1e-3 * n &&
                             (n == 1 || fabs(ent) < 1e-12) && fabs(a.c_mean[n / 2] - (n / 2 + 1.0) / n) < 1e-5,
                         "identity n=%d full rank: idx90 %g eff %g entropy %g", n, idx90, eff, ent);
            else
                LB_CHECK(idx90 >= 0.7 * n && eff >= 0.8 * n, "band n=%d high rank: idx90 %g eff %g", n, idx90, eff);
            lb_spec_acc_free(&a);
        }
    }
    float P[9];
    lb_ctrl_matrix(P, 3, LB_CTRL_BAND); /* rows of the band sum to 1, e^-1 : 1 : e^-1 inside */
    LB_CHECK(fabs(P[3] + P[4] + P[5] - 1) < 1e-6 && fabs(P[3] / P[4] - exp(-1)) < 1e-6, "band row");
}

int main(void) {
    test_controls();
    test_svd();
    test_stats();
    test_projerr();
    test_options();
    return lb_test_summary("test_spectrum");
}
