/* Sparse + low-rank attention in the manner of Scatterbrain (Chen et al. 2021), with a
 * centred local window as the sparse part. With the Performer features φ (m of them,
 * ω shared with performer's), the unnormalised attention exp(QKᵀ/√d) is estimated by
 * φ(Q)φ(K)ᵀ + C, where C is non-zero only on the window, C_ij = exp(s_ij) − φ(q_i)ᵀφ(k_j):
 * exact inside the window, the rank-m estimate outside it. Then
 *   out_i = (φ(q_i)ᵀ Σ_j φ(k_j)v_jᵀ + Σ_{j∈win} C_ij v_j) / (φ(q_i)ᵀ Σ_j φ(k_j) + Σ_{j∈win} C_ij).
 * Scale: all terms of row i carry exp(−a_i − b) (b the keys' feature max, a_i the
 * larger of performer's query scale and the window's max of s_ij − b), which cancels
 * in the ratio and keeps the exact terms <= 1. Queries go in blocks as in local attention; the
 * window's exact and low-rank scores are two sgemm on the block's key range. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"
#include "lb_vexp.h"

typedef struct {
    const float *q, *k, *v, *mb, *omega;
    float *phik, *phiq, *kv, *ksum, *lks, *amax, *S, *L;
    int n, d, m, w, rows, ext;
    float bk; /* the keys' stabiliser */
} sb_head;

/* Rows i0 .. i0+br: raise a_i to the window's max where it is larger, then C on the
 * window into S (0 elsewhere); returns with S = C, ready for out += C·V. */
static void window_c(sb_head *h, int i0, int br, int j0, int j1) {
    const int kc = j1 - j0, d = h->d, m = h->m;
    float *S = h->S, *L = h->L;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, br, kc, d, 1.0f / sqrtf((float)d),
                h->q + (size_t)i0 * d, d, h->k + (size_t)j0 * d, d, 0.0f, S, kc);
    for (int r = 0; r < br; r++) {
        int i = i0 + r, lo = i - h->w > j0 ? i - h->w - j0 : 0;
        int hi = i + h->w + 1 < j1 ? i + h->w + 1 - j0 : kc;
        float e = -INFINITY, *row = S + (size_t)r * kc;
        for (int j = lo; j < hi; j++)
            if ((!h->mb || h->mb[j0 + j] != 0) && row[j] > e) e = row[j];
        e -= h->bk;
        if (e > h->amax[i]) { /* the exact term would exceed 1: move the row's scale */
            float f = lb_vexp1(h->amax[i] - e), *pq = h->phiq + (size_t)i * m;
            for (int l = 0; l < m; l++) pq[l] *= f;
            h->amax[i] = e;
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, br, kc, m, 1.0f / (float)m,
                h->phiq + (size_t)i0 * m, m, h->phik + (size_t)j0 * m, m, 0.0f, L, kc);
    for (int r = 0; r < br; r++) {
        int i = i0 + r, lo = i - h->w > j0 ? i - h->w - j0 : 0;
        int hi = i + h->w + 1 < j1 ? i + h->w + 1 - j0 : kc;
        float *row = S + (size_t)r * kc, *lr = L + (size_t)r * kc, c = h->bk + h->amax[i];
        for (int j = 0; j < kc; j++) {
            int in = j >= lo && j < hi && (!h->mb || h->mb[j0 + j] != 0);
            row[j] = in ? row[j] - c : -INFINITY;
        }
        lb_vexp_array(row, row, (size_t)kc); /* exp(−inf) = 0 off the window */
        for (int j = lo; j < hi; j++)
            if (!h->mb || h->mb[j0 + j] != 0) row[j] -= lr[j];
    }
}

static void head(float *o, sb_head *h) {
    const int n = h->n, d = h->d, m = h->m, w = h->w;
    lb_performer_phi(h->phik, h->amax, h->k, h->mb, h->omega, NULL, h->ext, m, d, 0);
    h->bk = h->amax[0];
    lb_performer_kv(h->kv, h->ksum, h->phik, h->v, h->ext, m, d);
    for (int l = 0; l < m; l++) h->ksum[l] /= (float)m; /* φ carries 1/√m on each side */
    for (size_t x = 0; x < (size_t)m * d; x++) h->kv[x] /= (float)m;
    for (int l = 0; l < m; l++) h->lks[l] = logf(h->ksum[l]);
    lb_performer_phi(h->phiq, h->amax, h->q, NULL, h->omega, h->lks, n, m, d, 1);
    for (int i0 = 0; i0 < n; i0 += h->rows) {
        int br = n - i0 < h->rows ? n - i0 : h->rows;
        int j0 = i0 - w > 0 ? i0 - w : 0, j1 = i0 + br + w < h->ext ? i0 + br + w : h->ext;
        if (j1 > j0) window_c(h, i0, br, j0, j1);
        float *ob = o + (size_t)i0 * d, *pq = h->phiq + (size_t)i0 * m;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, br, d, m, 1.0f, pq, m, h->kv, d,
                    0.0f, ob, d);
        if (j1 > j0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, br, d, j1 - j0, 1.0f, h->S,
                        j1 - j0, h->v + (size_t)j0 * d, d, 1.0f, ob, d);
        for (int r = 0; r < br; r++) {
            double den = 0;
            const float *pr = pq + (size_t)r * m;
            for (int l = 0; l < m; l++) den += (double)pr[l] * h->ksum[l];
            if (j1 > j0)
                for (int j = 0; j < j1 - j0; j++) den += h->S[(size_t)r * (j1 - j0) + j];
            /* den > 0 in exact arithmetic (a sum of positive terms); 0 only when every
             * term underflowed */
            float inv = den > 0 ? (float)(1 / den) : 0.0f, *oi = ob + (size_t)r * d;
            for (int c = 0; c < d; c++) oi[c] *= inv;
        }
    }
}

/* One (b,h): its workspace carved as lb_attn_approx_layout lays it out. */
static void sb_head_run(const lb_attn *a, float *o, float *ws, const float *q, const float *k,
                        const float *v, const float *mb, int ext) {
    const int n = a->cfg.n, m = a->cfg.k, w = lb_local_clamp(a->cfg.window, n);
    const int rows = lb_local_rows(w);
    const size_t span = (size_t)(rows + 2 * w < n ? rows + 2 * w : n);
    sb_head h = {.q = q, .k = k, .v = v, .mb = mb, .omega = a->ws, .n = n, .d = a->cfg.d,
                 .m = m, .w = w, .rows = rows, .ext = ext};
    h.phik = ws, h.phiq = ws + (size_t)n * m, h.kv = h.phiq + (size_t)n * m;
    h.ksum = h.kv + (size_t)m * h.d, h.lks = h.ksum + m, h.amax = h.lks + m;
    h.S = h.amax + n;
    h.L = h.S + (size_t)rows * span;
    head(o, &h);
}

void lb_attn_scatterbrain_run(lb_attn *a, float *out, const float *q, const float *k,
                              const float *v, const float *mask) {
    lb_attn_each_head(a, out, q, k, v, mask, sb_head_run);
}
