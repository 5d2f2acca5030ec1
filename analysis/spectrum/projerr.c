/* Projection error of one attention head: how far the output PV moves when P is
 * replaced by a random projection (Theorem 1), mean pooling, an actual Linformer
 * head, or the best rank-k matrix (Eckart–Young). See lb_spectrum.h for the methods.
 *
 * All products go through single-threaded cblas_sgemm calls (the caller runs heads
 * in parallel); norms and softmax sums are accumulated in double. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_spectrum.h"
#include "lb_util.h"

const char *lb_pe_name(int method) {
    static const char *names[LB_PE_COUNT] = {"gauss",           "pool",   "linformer_gauss",
                                             "linformer_pool",  "svd_pv", "svd_p"};
    return method >= 0 && method < LB_PE_COUNT ? names[method] : "?";
}

/* splitmix64 finaliser: decorrelates nearby (layer, head, k) triples. */
static uint64_t mix(uint64_t x) { return lb_mix64(x + 0x9e3779b97f4a7c15ULL); }

uint64_t lb_proj_seed(uint64_t seed, int layer, int head, int k) {
    return mix(mix(mix(seed) ^ (uint64_t)(uint32_t)layer) ^ ((uint64_t)(uint32_t)head << 20)) ^
           (uint64_t)(uint32_t)k;
}

void lb_proj_gauss(float *R, int k, int n, uint64_t seed) {
    lb_rng g;
    lb_rng_seed(&g, seed);
    lb_rng_fill_normal(&g, R, (size_t)k * (size_t)n, (float)(1.0 / sqrt((double)k)));
}

/* R restricted to the real columns, drawn in the same order as lb_proj_gauss so that
 * the full (k, n_full) matrix never has to exist. real is ascending. */
static void gauss_cols(float *R, int k, int n_full, const int *real, int m, uint64_t seed) {
    lb_rng g;
    lb_rng_seed(&g, seed);
    float scale = (float)(1.0 / sqrt((double)k));
    for (int i = 0; i < k; i++) {
        int next = 0;
        for (int j = 0; j < n_full; j++) {
            float x = scale * (float)lb_rng_normal(&g);
            if (next < m && (real ? real[next] : next) == j) R[(size_t)i * m + next++] = x;
        }
    }
}

struct lb_pe_ws {
    int max_m, d, kmax, svd;
    float *pv, *y, *r, *rv, *rk, *pr, *s, *sigma, *vt, *w;
    lb_svd_ws *sv;
};

void lb_pe_ws_free(lb_pe_ws *w) {
    if (!w) return;
    float *bufs[] = {w->pv, w->y, w->r, w->rv, w->rk, w->pr, w->s, w->sigma, w->vt, w->w};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) lb_free(bufs[i]);
    lb_svd_ws_free(w->sv);
    free(w);
}

int lb_pe_ws_init(lb_pe_ws **out, int max_m, int d, int kmax, int want_svd, char *msg,
                  size_t msglen) {
    *out = NULL;
    if (max_m < 1 || d < 1 || kmax < 1) {
        snprintf(msg, msglen, "projection error: sizes must be >= 1 (m %d, d %d, k %d)", max_m,
                 d, kmax);
        return -1;
    }
    lb_pe_ws *w = calloc(1, sizeof *w);
    if (!w) goto oom;
    w->max_m = max_m;
    w->d = d;
    w->kmax = kmax;
    w->svd = want_svd;
    size_t M = (size_t)max_m, D = (size_t)d, K = (size_t)kmax;
    w->pv = lb_alloc(M * D * sizeof(float));
    w->y = lb_alloc(M * D * sizeof(float));
    w->r = lb_alloc(K * M * sizeof(float));
    w->rv = lb_alloc(K * D * sizeof(float));
    w->rk = lb_alloc(K * D * sizeof(float));
    w->pr = lb_alloc(M * K * sizeof(float));
    w->s = lb_alloc(M * K * sizeof(float));
    if (!w->pv || !w->y || !w->r || !w->rv || !w->rk || !w->pr || !w->s) goto oom;
    if (want_svd) {
        w->sigma = lb_alloc(M * sizeof(float));
        w->vt = lb_alloc(M * M * sizeof(float));
        w->w = lb_alloc(M * D * sizeof(float));
        if (!w->sigma || !w->vt || !w->w) goto oom;
        if (lb_svd_ws_init(&w->sv, max_m, max_m, 1, msg, msglen)) {
            lb_pe_ws_free(w);
            return -1;
        }
    }
    *out = w;
    return 0;
oom:
    snprintf(msg, msglen, "out of memory for the projection-error workspace (m %d, d %d, k %d)",
             max_m, d, kmax);
    lb_pe_ws_free(w);
    return -1;
}

/* ‖a − b‖_F over (rows, d) contiguous. */
static double diff_norm(const float *a, const float *b, size_t len) {
    double s = 0;
    for (size_t i = 0; i < len; i++) {
        double t = (double)a[i] - b[i];
        s += t * t;
    }
    return sqrt(s);
}

/* Row-wise stable softmax of s (m, k), in place. */
static void softmax_rows(float *s, int m, int k) {
    for (int i = 0; i < m; i++) {
        float *row = s + (size_t)i * k, mx = row[0];
        for (int j = 1; j < k; j++)
            if (row[j] > mx) mx = row[j];
        double sum = 0;
        for (int j = 0; j < k; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < k; j++) row[j] *= inv;
    }
}

/* out (k, d) = block means of x (m, d) over the pooling blocks. */
static void pool_mean(float *out, const float *x, int m, int d, int k) {
    for (int b = 0; b < k; b++) {
        int lo = (int)((long)b * m / k), hi = (int)((long)(b + 1) * m / k);
        float *o = out + (size_t)b * d;
        for (int c = 0; c < d; c++) {
            double s = 0;
            for (int j = lo; j < hi; j++) s += x[(size_t)j * d + c];
            o[c] = (float)(s / (hi - lo));
        }
    }
}

/* out (m, k) = block sums of P's columns. */
static void pool_sum_cols(float *out, const float *P, int ldp, int m, int k) {
    for (int i = 0; i < m; i++) {
        const float *row = P + (size_t)i * ldp;
        for (int b = 0; b < k; b++) {
            int lo = (int)((long)b * m / k), hi = (int)((long)(b + 1) * m / k);
            double s = 0;
            for (int j = lo; j < hi; j++) s += row[j];
            out[(size_t)i * k + b] = (float)s;
        }
    }
}

static void gemm_nn(float *c, const float *a, const float *b, int m, int n, int k, int lda,
                    float alpha) { /* c (m,n) = alpha · a (m,k) · b (k,n) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, lda, b, n, 0.0f, c,
                n);
}

int lb_projerr_head(lb_pe_ws *w, double *err, const float *P, int ldp, const float *q,
                    const float *k, const float *v, int m, int d, const int *ks, int nks,
                    const uint64_t *seeds, const int *real, int n_full, int with_svd,
                    char *msg, size_t msglen) {
    for (int j = 0; j < nks * LB_PE_COUNT; j++) err[j] = NAN;
    if (m < 1 || m > w->max_m || d != w->d || ldp < m || (real == NULL && n_full != m) ||
        n_full < m) {
        snprintf(msg, msglen, "projection error: head of m %d (ld %d, n %d), d %d does not fit "
                 "the workspace (m <= %d, d = %d)", m, ldp, n_full, d, w->max_m, w->d);
        return -1;
    }
    if (with_svd && !w->svd) {
        snprintf(msg, msglen, "projection error: SVD asked of a workspace made without it");
        return -1;
    }
    size_t md = (size_t)m * d;
    gemm_nn(w->pv, P, v, m, d, m, ldp, 1.0f);
    double npv = 0;
    for (size_t i = 0; i < md; i++) npv += (double)w->pv[i] * w->pv[i];
    npv = sqrt(npv);
    float isd = (float)(1.0 / sqrt((double)d));
    double np2 = 0;
    if (with_svd) {
        if (lb_svd_right(w->sv, w->sigma, w->vt, P, m, m, ldp, msg, msglen)) return -1;
        gemm_nn(w->w, w->vt, v, m, d, m, m, 1.0f); /* row i: v_iᵀ V */
        for (int i = 0; i < m; i++) np2 += (double)w->sigma[i] * w->sigma[i];
    }
    for (int j = 0; j < nks; j++) {
        int kk = ks[j];
        double *e = err + (size_t)j * LB_PE_COUNT;
        if (kk < 1 || kk > w->kmax) {
            snprintf(msg, msglen, "projection error: k = %d outside 1..%d", kk, w->kmax);
            return -1;
        }
        /* Gaussian R (kk, m) on the real columns; P Rᵀ R V and the Linformer head. */
        gauss_cols(w->r, kk, n_full, real, m, seeds[j]);
        gemm_nn(w->rv, w->r, v, kk, d, m, m, 1.0f);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, kk, m, 1.0f, P, ldp, w->r, m,
                    0.0f, w->pr, kk);
        gemm_nn(w->y, w->pr, w->rv, m, d, kk, kk, 1.0f);
        e[LB_PE_GAUSS] = diff_norm(w->pv, w->y, md) / npv;
        gemm_nn(w->rk, w->r, k, kk, d, m, m, 1.0f);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, kk, d, isd, q, d, w->rk, d, 0.0f,
                    w->s, kk);
        softmax_rows(w->s, m, kk);
        gemm_nn(w->y, w->s, w->rv, m, d, kk, kk, 1.0f);
        e[LB_PE_LINF_GAUSS] = diff_norm(w->pv, w->y, md) / npv;
        /* Mean pooling over kp <= m blocks. */
        int kp = kk < m ? kk : m;
        pool_mean(w->rv, v, m, d, kp);
        pool_sum_cols(w->pr, P, ldp, m, kp);
        gemm_nn(w->y, w->pr, w->rv, m, d, kp, kp, 1.0f);
        e[LB_PE_POOL] = diff_norm(w->pv, w->y, md) / npv;
        pool_mean(w->rk, k, m, d, kp);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, kp, d, isd, q, d, w->rk, d, 0.0f,
                    w->s, kp);
        softmax_rows(w->s, m, kp);
        gemm_nn(w->y, w->s, w->rv, m, d, kp, kp, 1.0f);
        e[LB_PE_LINF_POOL] = diff_norm(w->pv, w->y, md) / npv;
        if (with_svd) {
            /* Sum the tail rather than subtract from the total: no cancellation when
             * the tail is tiny, which is the interesting case. */
            double t_pv = 0, t_p = 0;
            for (int i = kk; i < m; i++) {
                double s2 = (double)w->sigma[i] * w->sigma[i], wn = 0;
                const float *wr = w->w + (size_t)i * d;
                for (int c = 0; c < d; c++) wn += (double)wr[c] * wr[c];
                t_pv += s2 * wn;
                t_p += s2;
            }
            e[LB_PE_SVD_PV] = sqrt(t_pv) / npv;
            e[LB_PE_SVD_P] = sqrt(t_p / np2);
        }
    }
    return 0;
}
