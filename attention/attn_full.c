/* Full (materialised) attention: per (b,h) the n×n scores S = QKᵀ/√d by sgemm into a
 * per-thread block (or straight into probs), a stable row softmax, O = P V by sgemm.
 * Keys past the last real key of a batch element are left out of both products (their
 * probabilities are 0 by contract), so padded batches cost only their real length. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"

/* One (b,h). S is n × ext with leading dimension lds; ext >= 1 keys are used.
 * row_threads > 1 only when heads run one at a time (then BLAS is threaded too). */
static void head(float *o, float *S, int lds, const float *q, const float *k, const float *v,
                 const float *mb, int n, int d, int ext, int row_threads) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, ext, d, 1.0f / sqrtf((float)d), q,
                d, k, d, 0.0f, S, lds);
#pragma omp parallel for num_threads(row_threads) if (row_threads > 1) schedule(static)
    for (int i = 0; i < n; i++) lb_softmax_row(S + (size_t)i * lds, ext, mb);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, ext, 1.0f, S, lds, v, d, 0.0f,
                o, d);
}

void lb_attn_full_run(lb_attn *a, float *out, float *probs, const float *q, const float *k,
                      const float *v, const float *mask) {
    const int H = a->cfg.H, n = a->cfg.n, d = a->cfg.d, T = a->run_threads;
    const long bh = (long)a->cfg.B * H;
    const size_t nd = (size_t)n * d, nn = (size_t)n * n;
    const int tp = bh < T ? (int)bh : T;
#pragma omp parallel num_threads(tp)
    {
        const int rt = lb_attn_region_threads(tp, T); /* the softmax rows' threads */
        float *ws = a->ws + (size_t)omp_get_thread_num() * a->ws_thread;
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < bh; t++) {
            const float *mb = mask ? mask + (size_t)(t / H) * n : NULL;
            int ext = lb_attn_key_extent(mb, n);
            float *o = out + (size_t)t * nd, *P = probs ? probs + (size_t)t * nn : NULL;
            if (ext == 0) { /* every key is padding: zero output, zero probabilities */
                memset(o, 0, nd * sizeof *o);
                if (P) memset(P, 0, nn * sizeof *P);
                continue;
            }
            head(o, P ? P : ws, P ? n : ext, q + (size_t)t * nd, k + (size_t)t * nd,
                 v + (size_t)t * nd, mb, n, d, ext, rt);
            if (P && ext < n)
                for (int i = 0; i < n; i++)
                    memset(P + (size_t)i * n + ext, 0, (size_t)(n - ext) * sizeof *P);
        }
    }
}
