/* Materialising attention, the 2020 baseline of the paper's Table 3: as PyTorch and
 * HuggingFace's BertSelfAttention did, the whole (B,H,n,n) score tensor S = QKᵀ/√d
 * is formed, then a second (B,H,n,n) tensor P = softmax(S + mask) beside it, then
 * O = P V. Both tensors live in the workspace, so its memory grows as 8·B·H·n² bytes
 * and the largest batch under a budget shrinks with n² (which is what Linformer's
 * memory saving was measured against). Every key is computed, padding included,
 * as the additive-mask formulation does; padding gets probability exactly 0. */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"

/* One (b,h): S (n,n) and P (n,n) are this head's slices of the two tensors. */
static void head(float *o, float *S, float *P, const float *q, const float *k, const float *v,
                 const float *mb, int n, int d) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, 1.0f / sqrtf((float)d), q, d,
                k, d, 0.0f, S, n);
    /* softmax writes a new tensor (torch.softmax is not in place): S stays alive */
    memcpy(P, S, (size_t)n * n * sizeof *P);
    for (int i = 0; i < n; i++) lb_softmax_row(P + (size_t)i * n, n, mb);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, P, n, v, d, 0.0f, o, d);
}

void lb_attn_materialise_run(lb_attn *a, float *out, float *probs, const float *q, const float *k,
                             const float *v, const float *mask) {
    const int H = a->cfg.H, n = a->cfg.n, d = a->cfg.d, T = a->run_threads;
    const long bh = (long)a->cfg.B * H;
    const size_t nd = (size_t)n * d, nn = (size_t)n * n;
    float *S = a->ws, *P = a->ws + (size_t)bh * nn; /* the two (B,H,n,n) tensors */
    if (bh >= T && T > 1) {
        /* heads in parallel, single-threaded BLAS inside (OpenMP OpenBLAS does that) */
#pragma omp parallel for num_threads(T) schedule(dynamic, 1)
        for (long t = 0; t < bh; t++)
            head(out + (size_t)t * nd, S + (size_t)t * nn, P + (size_t)t * nn, q + (size_t)t * nd,
                 k + (size_t)t * nd, v + (size_t)t * nd, mask ? mask + (size_t)(t / H) * n : NULL,
                 n, d);
    } else {
        /* too few heads to go round: one after another, BLAS threads itself */
        for (long t = 0; t < bh; t++)
            head(out + (size_t)t * nd, S + (size_t)t * nn, P + (size_t)t * nn, q + (size_t)t * nd,
                 k + (size_t)t * nd, v + (size_t)t * nd, mask ? mask + (size_t)(t / H) * n : NULL,
                 n, d);
    }
    if (probs) memcpy(probs, P, (size_t)bh * nn * sizeof *probs);
}
