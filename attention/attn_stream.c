/* Streaming attention (the FlashAttention recurrence on the CPU): a tile of Br
 * queries visits the keys Bc at a time; per row a running max m and sum l, and the
 * output rows act as the accumulator, rescaled by exp(m_old − m_new) whenever the
 * max grows. Both products are sgemm on tiles. No n×n (nor n×anything) buffer
 * exists: the workspace is Br×Bc scores plus m, l per thread. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"

/* Rows i0 .. i0+br of one (b,h). S is Br×Bc, m and l are Br. */
static void tile(float *o, float *S, float *m, float *l, const float *q, const float *k,
                 const float *v, const float *mb, int br, int d, int ext) {
    const float scale = 1.0f / sqrtf((float)d);
    memset(o, 0, (size_t)br * d * sizeof *o);
    for (int i = 0; i < br; i++) {
        m[i] = -INFINITY;
        l[i] = 0;
    }
    for (int j0 = 0; j0 < ext; j0 += LB_STREAM_BC) {
        int bc = ext - j0 < LB_STREAM_BC ? ext - j0 : LB_STREAM_BC;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, br, bc, d, scale, q, d,
                    k + (size_t)j0 * d, d, 0.0f, S, LB_STREAM_BC);
        for (int i = 0; i < br; i++) {
            float alpha = lb_softmax_online_row(S + (size_t)i * LB_STREAM_BC, bc,
                                                mb ? mb + j0 : NULL, &m[i], &l[i]);
            if (alpha != 1.0f) {
                float *oi = o + (size_t)i * d;
                for (int c = 0; c < d; c++) oi[c] *= alpha;
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, br, d, bc, 1.0f, S,
                    LB_STREAM_BC, v + (size_t)j0 * d, d, 1.0f, o, d);
    }
    for (int i = 0; i < br; i++) {
        /* ext >= 1 real key, and each row's max key contributes 1: l >= 1 */
        float inv = 1.0f / l[i], *oi = o + (size_t)i * d;
        for (int c = 0; c < d; c++) oi[c] *= inv;
    }
}

void lb_attn_stream_run(lb_attn *a, float *out, const float *q, const float *k, const float *v,
                        const float *mask) {
    const int H = a->cfg.H, n = a->cfg.n, d = a->cfg.d;
    const size_t nd = (size_t)n * d;
    /* the fused microkernels where this CPU and d allow, otherwise sgemm on tiles */
    const int fused = lb_stream_fused_fits(d, a->ws_thread);
    const int BR = fused ? LB_FUSED_BR : LB_STREAM_BR;
    const long tiles = (n + BR - 1) / BR;
    const long items = (long)a->cfg.B * H * tiles;
    const int T = a->run_threads, tp = items < T ? (int)items : T;
#pragma omp parallel num_threads(tp)
    {
        lb_attn_region_threads(tp, T);
        float *S = a->ws + (size_t)omp_get_thread_num() * a->ws_thread;
        float *m = S + (size_t)LB_STREAM_BR * LB_STREAM_BC, *l = m + LB_STREAM_BR;
#pragma omp for schedule(dynamic, 1)
        for (long it = 0; it < items; it++) {
            long t = it / tiles;
            int i0 = (int)(it % tiles) * BR;
            int br = n - i0 < BR ? n - i0 : BR;
            const float *mb = mask ? mask + (size_t)(t / H) * n : NULL;
            int ext = lb_attn_key_extent(mb, n);
            size_t off = (size_t)t * nd + (size_t)i0 * d;
            if (ext == 0) {
                memset(out + off, 0, (size_t)br * d * sizeof *out);
                continue;
            }
            if (fused && !lb_stream_fused_tile(out + off, S, q + off, k + (size_t)t * nd, d,
                                               v + (size_t)t * nd, d, mb, br, d, ext))
                continue;
            tile(out + off, S, m, l, q + off, k + (size_t)t * nd, v + (size_t)t * nd, mb, br,
                 d, ext);
        }
    }
}
