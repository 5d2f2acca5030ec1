/* One head of one window through every approximation (lb_approx_head): the fit windows
 * accumulate Σ PᵀP, the evaluation windows measure each method's error and time.
 * Every method but svd goes through run_method (one application into TW_Y) and
 * measure (the timed runs, then the error of the output). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "approx_int.h"
#include "lb_util.h"

typedef struct {
    lb_approx *a;
    ax_tws *w;
    int i;                 /* head pair index li·nh + hi */
    double npv, np, nv;    /* ‖PV‖_F, ‖P‖_F, ‖V‖_F over real rows and columns */
    const float *pz;       /* (n, ldz) P with padded rows and columns zeroed */
    int ldz;
    const float *probs;    /* (n, cols) the model's probabilities (a Linformer model's P̄) */
    int cols;
} head_ctx;

/* Record one error sample of y against PV (padded rows of y are zeroed first: they
 * are not outputs anyone uses, and PV is 0 there). */
static double record(head_ctx *h, int j, int m, float *y, double seconds) {
    lb_approx *a = h->a;
    const float *pv = h->w->buf[TW_PV];
    int n = a->n, d = a->d;
    double s = 0;
    for (int r = 0; r < n; r++) {
        float *yr = y + (size_t)r * d;
        if (!a->keep[r]) {
            memset(yr, 0, sizeof(float) * d);
            continue;
        }
        for (int c = 0; c < d; c++) {
            double t = (double)yr[c] - pv[(size_t)r * d + c];
            s += t * t;
        }
    }
    double diff = sqrt(s);
    size_t slot = ax_slot(a, h->i, j, m);
    long at = a->cnt[slot];
    if ((size_t)at < a->cap) {
        a->samp[(slot * LB_AX_NNORM + LB_AX_NORM_PV) * a->cap + at] = diff / h->npv;
        a->samp[(slot * LB_AX_NNORM + LB_AX_NORM_PFVF) * a->cap + at] = diff / (h->np * h->nv);
        a->cnt[slot]++;
    }
    lb_welford_add(&a->tim[slot], seconds);
    return diff;
}

/* Theorem 1's event per column w of V: ‖P RᵀR w − P w‖ < eps ‖P w‖. */
static void column_events(head_ctx *h, int j, const float *y) {
    lb_approx *a = h->a;
    const float *pv = h->w->buf[TW_PV], *cn = h->w->buf[TW_CN];
    int d = a->d;
    for (int c = 0; c < d; c++) {
        if (!(cn[c] > 0)) continue;
        double s = 0;
        for (int r = 0; r < a->n; r++) {
            double t = (double)y[(size_t)r * d + c] - pv[(size_t)r * d + c];
            s += t * t;
        }
        double rel = sqrt(s) / cn[c];
        for (int e = 0; e < LB_AX_NEPS; e++)
            a->succ[((size_t)h->i * a->nks + j) * LB_AX_NEPS + e] += rel < lb_ax_eps[e];
        a->trials[(size_t)h->i * a->nks + j] += 1;
    }
}

/* Keep one timed run of slot (j, m) for the median (up to tcap per slot). */
static void time_sample(head_ctx *h, int j, int m, double seconds) {
    lb_approx *a = h->a;
    size_t slot = ax_slot(a, h->i, j, m);
    if ((size_t)a->tcnt[slot] < a->tcap) a->tsamp[slot * a->tcap + a->tcnt[slot]++] = seconds;
}

/* TW_Y (n,d) = method m at size slot j (j = nks: the method's own size) on this head;
 * the random ones use the current draw (TW_G, the reseeded features). */
static void run_method(head_ctx *h, int m, int j) {
    lb_approx *a = h->a;
    float **b = h->w->buf;
    int n = a->n, d = a->d, k = j < a->nks ? a->ks[j] : 0;
    double dl = a->delta;
    switch (m) {
    case LB_AX_FULL: /* from q, k, v: the cost reference */
        lb_ax_full_probs(b[TW_SF], b[TW_QZ], b[TW_KZ], a->keep, n, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, b[TW_SF], n,
                    b[TW_VZ], d, 0.0f, b[TW_Y], d);
        break;
    case LB_AX_JL:
        lb_ax_jl_apply(b[TW_Y], b[TW_RV], b[TW_T], h->pz, h->ldz, b[TW_G], b[TW_VZ], n, d, k);
        break;
    case LB_AX_THM2:
    case LB_AX_LINF_RAND:
        ax_linf_apply(b[TW_Y], b[TW_RK], b[TW_RV], b[TW_S], b[TW_G], b[TW_QZ], b[TW_KZ], b[TW_VZ],
                      n, d, k, m == LB_AX_THM2 ? dl : 1.0, m == LB_AX_THM2 ? exp(-dl) : 1.0);
        break;
    case LB_AX_FITTED:
        lb_ax_fitted_apply(b[TW_Y], b[TW_S], b[TW_RV], h->pz, h->ldz, a->fit + (size_t)h->i * n * n,
                           b[TW_VZ], n, d, k);
        break;
    case LB_AX_POOL: ax_pool_apply(b[TW_Y], b[TW_S], b[TW_RV], h->pz, h->ldz, b[TW_VZ], n, d, k); break;
    case LB_AX_LEARNED: /* the trained head: P̄ (F V), F's first n columns */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->lin_k, d, n, 1.0f, a->F[h->i],
                    a->lin_n, b[TW_VZ], d, 0.0f, b[TW_RV], d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, a->lin_k, 1.0f, h->probs,
                    h->cols, b[TW_RV], d, 0.0f, b[TW_Y], d);
        break;
    default: /* the attention/ kernels, the window's mask */
        lb_attn_forward(h->w->att[j][m - LB_AX_LOCAL], b[TW_Y], NULL, b[TW_QZ], b[TW_KZ],
                        b[TW_VZ], a->maskf, NULL, NULL);
    }
}

/* Run method m at slot j `reps` times (each timed; kept for the median when `keep`),
 * then record the error of the output. */
static void measure(head_ctx *h, int m, int j, int reps, int keep) {
    double secs = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = lb_now();
        run_method(h, m, j);
        secs = lb_now() - t0;
        if (keep) time_sample(h, j, m, secs);
    }
    record(h, j, m, h->w->buf[TW_Y], secs);
}

/* The random constructions: D draws, every size of the grid from each draw (R the rows
 * of one G, the features of one seed: nested across sizes). The first LB_AX_TREPS
 * draws are the timed runs (one application each, same shape). */
static int random_methods(head_ctx *h, char *msg, size_t msglen) {
    lb_approx *a = h->a;
    int li = h->i / a->nh, hi = h->i % a->nh;
    for (int t = 0; t < a->o.draws; t++) {
        ax_draw(h->w->buf[TW_G], a, li, hi, t);
        uint64_t fs = ax_draw_seed(a, li, hi, t) ^ 0xfea7u; /* the features' own stream */
        for (int j = 0; j < a->nks; j++) {
            for (int m = LB_AX_PERFORMER; m <= LB_AX_SCATTER; m++)
                if (lb_attn_reseed(h->w->att[j][m - LB_AX_LOCAL], fs))
                    return lb_fail(msg, msglen, "out of memory redrawing %s's features",
                                   lb_ax_name(m));
            measure(h, LB_AX_JL, j, 1, t < LB_AX_TREPS);
            column_events(h, j, h->w->buf[TW_Y]);
            measure(h, LB_AX_THM2, j, 1, t < LB_AX_TREPS);
            measure(h, LB_AX_LINF_RAND, j, 1, t < LB_AX_TREPS);
            measure(h, LB_AX_PERFORMER, j, 1, t < LB_AX_TREPS);
            measure(h, LB_AX_SCATTER, j, 1, t < LB_AX_TREPS);
        }
    }
    for (int j = 0; j < a->nks; j++)
        lb_welford_add(&a->pred[(size_t)h->i * a->nks + j],
                       sqrt(lb_ax_jl_expected_sq(h->np, h->nv, h->npv, a->ks[j])));
    return 0;
}

/* Per-input SVD: ‖(P − P_k) V‖ from the tail Σ_{i>k} σ_i² ‖v_iᵀ V‖² for every k at once
 * (no cancellation when the tail is tiny). */
static int svd_method(head_ctx *h, const float *pz, int ldz, char *msg, size_t msglen) {
    lb_approx *a = h->a;
    float **b = h->w->buf;
    int n = a->n, d = a->d;
    double t0 = lb_now();
    if (lb_svd_right(h->w->svd, b[TW_SIGMA], b[TW_VT], pz, n, n, ldz, msg, msglen)) return -1;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, b[TW_VT], n, b[TW_VZ], d,
                0.0f, b[TW_W], d);
    double secs = lb_now() - t0;
    for (int j = 0; j < a->nks; j++) {
        double tail = 0;
        for (int i = a->ks[j]; i < n; i++) {
            double wn = 0;
            for (int c = 0; c < d; c++) wn += (double)b[TW_W][(size_t)i * d + c] * b[TW_W][(size_t)i * d + c];
            tail += (double)b[TW_SIGMA][i] * b[TW_SIGMA][i] * wn;
        }
        size_t slot = ax_slot(a, h->i, j, LB_AX_SVD);
        long at = a->cnt[slot];
        if ((size_t)at < a->cap) {
            a->samp[(slot * LB_AX_NNORM + LB_AX_NORM_PV) * a->cap + at] = sqrt(tail) / h->npv;
            a->samp[(slot * LB_AX_NNORM + LB_AX_NORM_PFVF) * a->cap + at] = sqrt(tail) / (h->np * h->nv);
            a->cnt[slot]++;
        }
        lb_welford_add(&a->tim[slot], secs);
        time_sample(h, j, LB_AX_SVD, secs); /* one SVD per window serves every k */
    }
    return 0;
}

/* Inputs with padded rows zeroed, PV and the norms. */
static void prepare(head_ctx *h, const float *P, int ldp, const float *q, const float *k,
                    const float *v, const float **pz, int *ldz, int full) {
    lb_approx *a = h->a;
    float **b = h->w->buf;
    int n = a->n, d = a->d, padded = 0;
    for (int r = 0; r < n; r++) padded |= !a->keep[r];
    *pz = P, *ldz = ldp;
    if (padded) {
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                b[TW_PZ][(size_t)r * n + c] = a->keep[r] && a->keep[c] ? P[(size_t)r * ldp + c] : 0.0f;
        *pz = b[TW_PZ], *ldz = n;
    }
    if (!full) return; /* the fit needs P only */
    const float *src[3] = {q, k, v};
    for (int s = 0; s < 3; s++)
        for (int r = 0; r < n; r++)
            for (int c = 0; c < d; c++)
                b[TW_QZ + s][(size_t)r * d + c] = a->keep[r] ? src[s][(size_t)r * d + c] : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, *pz, *ldz, b[TW_VZ], d,
                0.0f, b[TW_PV], d);
    double npv = 0, np = 0, nv = 0, ent = 0;
    int rows = 0, cols = 0;
    for (int c = 0; c < d; c++) b[TW_CN][c] = 0;
    for (int r = 0; r < n; r++) {
        cols += a->keep[r];
        for (int c = 0; c < d; c++) {
            double x = b[TW_PV][(size_t)r * d + c], y = b[TW_VZ][(size_t)r * d + c];
            npv += x * x, nv += y * y;
            b[TW_CN][c] += (float)(x * x);
        }
        if (!a->keep[r]) continue;
        rows++;
        for (int c = 0; c < n; c++) {
            double p = (*pz)[(size_t)r * *ldz + c];
            np += p * p;
            if (p > 0) ent -= p * log(p);
        }
    }
    for (int c = 0; c < d; c++) b[TW_CN][c] = sqrtf(b[TW_CN][c]);
    h->npv = sqrt(npv), h->np = sqrt(np), h->nv = sqrt(nv);
    if (rows > 0) lb_welford_add(&a->ent[h->i], cols > 1 ? ent / rows / log((double)cols) : 1.0);
}

static int evaluate(head_ctx *h, const float *P, int ldp, const float *q, const float *k,
                    const float *v, char *msg, size_t msglen) {
    lb_approx *a = h->a;
    prepare(h, P, ldp, q, k, v, &h->pz, &h->ldz, 1);
    if (!(h->npv > 0)) return 0; /* a zero output has no relative error */
    measure(h, LB_AX_FULL, a->nks, LB_AX_TREPS, 1);
    if (random_methods(h, msg, msglen)) return -1;
    for (int j = 0; j < a->nks; j++) { /* the deterministic ones: timed LB_AX_TREPS times */
        if (a->fitted) measure(h, LB_AX_FITTED, j, LB_AX_TREPS, 1);
        measure(h, LB_AX_POOL, j, LB_AX_TREPS, 1);
        measure(h, LB_AX_LOCAL, j, LB_AX_TREPS, 1);
        measure(h, LB_AX_NYSTROM, j, LB_AX_TREPS, 1);
    }
    if (svd_method(h, h->pz, h->ldz, msg, msglen)) return -1;
    if (a->E && h->cols == a->lin_k) measure(h, LB_AX_LEARNED, a->nks, LB_AX_TREPS, 1);
    return 0;
}

int lb_approx_head(lb_approx *a, int tid, int li, int hi, const float **P, int *ldp,
                   const float *probs, int cols, const float *q, const float *k, const float *v,
                   char *msg, size_t msglen) {
    if (tid < 0 || tid >= a->threads || li < 0 || li >= a->nl || hi < 0 || hi >= a->nh)
        return lb_fail(msg, msglen, "approximations: thread %d, layer %d, head %d out of range",
                       tid, li, hi);
    ax_tws *w = &a->tw[tid];
    int n = a->n;
    *P = probs, *ldp = cols;
    if (cols != n) { /* a Linformer model: its exact attention, recomputed */
        lb_ax_full_probs(w->buf[TW_PF], q, k, a->keep, n, a->d);
        *P = w->buf[TW_PF], *ldp = n;
    }
    if (a->phase == 0) return 0;
    head_ctx h = {.a = a, .w = w, .i = li * a->nh + hi, .probs = probs, .cols = cols};
    if (a->phase == 1) {
        const float *pz;
        int ldz;
        prepare(&h, *P, *ldp, q, k, v, &pz, &ldz, 0);
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, n, 1.0f, pz, ldz, 1.0f,
                    a->fit + (size_t)h.i * n * n, n);
        return 0;
    }
    return evaluate(&h, *P, *ldp, q, k, v, msg, msglen);
}
