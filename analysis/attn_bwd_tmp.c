/* TEMPORARY: attention backward for the MLM step until attention/ provides
 * lb_attn_backward (then this file goes). Same conventions as lb_attn_forward
 * (lb_attn.h): padding keys (mask 0) have P = 0; Linformer removes them before
 * projecting (K̄ = E·diag(m)·K). dq, dk, dv overwritten; dE, dF accumulated (they may
 * be the same pointer). Heads in parallel, sgemm inside (single-threaded there);
 * dE/dF through per-thread partials summed in thread order: deterministic for a
 * given thread count. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

void lb_attn_backward_tmp(float *dq, float *dk, float *dv, float *dE, float *dF, const float *dout,
                          const float *q, const float *k, const float *v, const float *mask,
                          const float *E, const float *F, const float *probs, int B, int H, int n,
                          int d, int lin, int kp, lb_share share, int threads) {
    const int c = lin ? kp : n;
    const float sc = (float)(1.0 / sqrt((double)d));
    const size_t pe = lin ? (size_t)kp * n * (share == LB_SHARE_NONE ? (size_t)H : 1) : 0;
    const size_t per = (size_t)n * d * 2 + (size_t)c * d * 4 + (size_t)n * c;
    if (threads < 1) threads = 1;
    float *ws = calloc((size_t)threads * (per + 2 * pe), sizeof(float));
    if (!ws) abort();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, hh = bh % H, t = omp_get_thread_num();
        float *Km = ws + (size_t)t * (per + 2 * pe), *Vm = Km + (size_t)n * d, *Kb = Vm + (size_t)n * d;
        float *Vb = Kb + (size_t)c * d, *dKb = Vb + (size_t)c * d, *dVb = dKb + (size_t)c * d;
        float *dP = dVb + (size_t)c * d, *pE = dP + (size_t)n * c, *pF = pE + pe;
        const long o = (long)bh * n * d;
        const float *Q = q + o, *K = k + o, *V = v + o, *dO = dout + o, *P = probs + (long)bh * n * c;
        const float *m = mask ? mask + (long)b * n : NULL;
        const long eo = share == LB_SHARE_NONE ? (long)hh * kp * n : 0;
        if (lin) {
            for (int j = 0; j < n; j++) {
                float mj = m && m[j] == 0.0f ? 0.0f : 1.0f;
                for (int x = 0; x < d; x++) {
                    Km[(long)j * d + x] = mj * K[(long)j * d + x];
                    Vm[(long)j * d + x] = mj * V[(long)j * d + x];
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, d, n, 1, E + eo, n, Km, d, 0, Kb, d);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, d, n, 1, F + eo, n, Vm, d, 0, Vb, d);
        }
        const float *Kc = lin ? Kb : K, *Vc = lin ? Vb : V;
        float *dKc = lin ? dKb : dk + o, *dVc = lin ? dVb : dv + o;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, d, n, 1, P, c, dO, d, 0, dVc, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, c, d, 1, dO, d, Vc, d, 0, dP, c);
        for (int i = 0; i < n; i++) { /* dS = P ∘ (dP − rowsum(dP ∘ P)), scaled */
            const float *pr = P + (long)i * c;
            float *g = dP + (long)i * c;
            double dot = 0;
            for (int j = 0; j < c; j++) dot += (double)g[j] * pr[j];
            for (int j = 0; j < c; j++) g[j] = pr[j] * (float)(g[j] - dot) * sc;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, c, 1, dP, c, Kc, d, 0, dq + o, d);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, d, n, 1, dP, c, Q, d, 0, dKc, d);
        if (!lin) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, d, kp, 1, E + eo, n, dKb, d, 0, dk + o, d);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, d, kp, 1, F + eo, n, dVb, d, 0, dv + o, d);
        if (m)
            for (int j = 0; j < n; j++)
                if (m[j] == 0.0f) {
                    memset(dk + o + (long)j * d, 0, sizeof(float) * (size_t)d);
                    memset(dv + o + (long)j * d, 0, sizeof(float) * (size_t)d);
                }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kp, n, d, 1, dKb, d, Km, d, 1, pE + eo, n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kp, n, d, 1, dVb, d, Vm, d, 1, pF + eo, n);
    }
    if (lin) /* partials in thread order; E == F (kv, layerwise): both into one */
        for (int t = 0; t < threads; t++) {
            const float *pE = ws + (size_t)t * (per + 2 * pe) + per, *pF = pE + pe;
            for (size_t i = 0; i < pe; i++) dE[i] += pE[i];
            for (size_t i = 0; i < pe; i++) dF[i] += pF[i];
        }
    free(ws);
}
