/* Linformer attention. Phase 1 projects the keys and values of every batch element:
 * K̄ = E·diag(mask)·K, V̄ = F·diag(mask)·V, stored as B × k × 2Hd (K̄ of head h in
 * columns h·d.., V̄ in Hd + h·d..). Phase 2 is attention of the n queries of each
 * (b,h) over its k projected keys, like full attention with k columns.
 *
 * With a shared E the keys of all heads are packed side by side (n × 2Hd, in row
 * chunks of LB_LIN_CHUNK so the copy stays small) and projected by one wide GEMM per
 * thread, each thread owning a slice of the columns; with E == F keys and values go
 * through the same GEMM. Padding rows are zeroed while packing, which is the
 * diag(mask); keys past the last real one are left out of the products. Phase 2 runs
 * the fused streaming tile where streaming attention would (lin_fused), sgemm
 * otherwise and whenever the probabilities are asked for. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"
#include "lb_util.h"

static int real(const float *mb, int i) { return !mb || mb[i] != 0; }

/* Columns [c0,c1) of rows [r0,r0+r) of the packed [K_1..K_H | V_1..V_H] of one batch
 * element into P (r × (c1−c0), leading dimension ldp), padding rows zeroed. */
static void pack_rows(float *P, int ldp, const float *kb, const float *vb, const float *mb,
                      int r0, int r, int c0, int c1, int n, int d, int hd) {
    for (int i = 0; i < r; i++) {
        float *dst = P + (size_t)i * ldp;
        if (!real(mb, r0 + i)) {
            memset(dst, 0, (size_t)(c1 - c0) * sizeof *dst);
            continue;
        }
        for (int j = c0; j < c1;) {
            int jj = j < hd ? j : j - hd, h = jj / d, c = jj % d;
            int seg = d - c < c1 - j ? d - c : c1 - j;
            if (j < hd && j + seg > hd) seg = hd - j; /* never straddle K|V */
            const float *src = (j < hd ? kb : vb) + ((size_t)h * n + r0 + i) * d + c;
            memcpy(dst + (j - c0), src, (size_t)seg * sizeof *dst);
            j += seg;
        }
    }
}

/* Shared E (and F): columns [c0,c1) of KV̄ for batch element b. */
static void project_shared(float *kvb, float *P, const float *kb, const float *vb,
                           const float *mb, const float *E, const float *F, int c0, int c1,
                           int n, int d, int hd, int kp, int ext) {
    const int W = 2 * hd, ldp = c1 - c0;
    for (int r0 = 0; r0 < ext; r0 += LB_LIN_CHUNK) {
        int r = ext - r0 < LB_LIN_CHUNK ? ext - r0 : LB_LIN_CHUNK;
        float beta = r0 ? 1.0f : 0.0f;
        pack_rows(P, ldp, kb, vb, mb, r0, r, c0, c1, n, d, hd);
        if (E == F) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, c1 - c0, r, 1.0f, E + r0,
                        n, P, ldp, beta, kvb + c0, W);
            continue;
        }
        if (c0 < hd) {
            int ce = c1 < hd ? c1 : hd;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, ce - c0, r, 1.0f, E + r0,
                        n, P, ldp, beta, kvb + c0, W);
        }
        if (c1 > hd) {
            int cs = c0 > hd ? c0 : hd;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, c1 - cs, r, 1.0f, F + r0,
                        n, P + (cs - c0), ldp, beta, kvb + cs, W);
        }
    }
}

/* Per-head E_h, F_h (share NONE): K̄_h, V̄_h of one (b,h). P is LB_LIN_CHUNK × 2d. */
static void project_head(float *kvb, float *P, const float *kh, const float *vh,
                         const float *mb, const float *Eh, const float *Fh, int h, int n, int d,
                         int hd, int kp, int ext) {
    const int W = 2 * hd;
    for (int r0 = 0; r0 < ext; r0 += LB_LIN_CHUNK) {
        int r = ext - r0 < LB_LIN_CHUNK ? ext - r0 : LB_LIN_CHUNK;
        float beta = r0 ? 1.0f : 0.0f;
        const float *ks = kh + (size_t)r0 * d, *vs = vh + (size_t)r0 * d;
        int ld = d, padded = 0;
        for (int i = 0; i < r && !padded; i++) padded = !real(mb, r0 + i);
        if (padded) { /* copy with the padding rows zeroed */
            for (int i = 0; i < r; i++) {
                float *dk = P + (size_t)i * 2 * d, *dv = dk + d;
                if (real(mb, r0 + i)) {
                    memcpy(dk, ks + (size_t)i * d, (size_t)d * sizeof *dk);
                    memcpy(dv, vs + (size_t)i * d, (size_t)d * sizeof *dv);
                } else {
                    memset(dk, 0, (size_t)2 * d * sizeof *dk);
                }
            }
            ks = P;
            vs = P + d;
            ld = 2 * d;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, d, r, 1.0f, Eh + r0, n, ks, ld,
                    beta, kvb + (size_t)h * d, W);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, d, r, 1.0f, Fh + r0, n, vs, ld,
                    beta, kvb + hd + (size_t)h * d, W);
    }
}

/* Phase 2 by the fused streaming tile (attn_stream_fused.c), 96 queries at a time over
 * the k projected keys read in place from KV̄ (rows 2Hd apart), when this CPU runs a
 * fused variant, d suits it and the per-thread slot holds its workspace. Returns 0
 * (nothing done: the caller's sgemm path runs) or 1. */
static int lin_fused(lb_attn *a, float *out, const float *q, const float *mask, const float *kv,
                     float *slots, size_t per_thread) {
    const int B = a->cfg.B, H = a->cfg.H, n = a->cfg.n, d = a->cfg.d, kp = a->cfg.k;
    if (!lb_stream_fused_fits(d, per_thread)) return 0;
    const int T = a->run_threads, hd = H * d, W = 2 * hd;
    const size_t nd = (size_t)n * d, kw = (size_t)kp * W;
    const long tiles = (n + LB_FUSED_BR - 1) / LB_FUSED_BR, items = (long)B * H * tiles;
    const int tp = items < T ? (int)items : T;
#pragma omp parallel num_threads(tp)
    {
        lb_attn_region_threads(tp, T);
        float *ws = slots + (size_t)omp_get_thread_num() * per_thread;
#pragma omp for schedule(dynamic, 1)
        for (long it = 0; it < items; it++) {
            long t = it / tiles;
            int b = (int)(t / H), h = (int)(t % H), i0 = (int)(it % tiles) * LB_FUSED_BR;
            int br = n - i0 < LB_FUSED_BR ? n - i0 : LB_FUSED_BR;
            float *o = out + (size_t)t * nd + (size_t)i0 * d;
            const float *kvb = kv + (size_t)b * kw;
            if (lb_attn_key_extent(mask ? mask + (size_t)b * n : NULL, n) == 0) {
                memset(o, 0, (size_t)br * d * sizeof *o); /* no real key */
                continue;
            }
            if (lb_stream_fused_tile(o, ws, q + (size_t)t * nd + (size_t)i0 * d, kvb + (size_t)h * d, W,
                                     kvb + hd + (size_t)h * d, W, NULL, br, d, kp)) {
                /* its conditions were checked above: a refusal here is a bug */
                lb_err("linformer: the fused tile refused d = %d, br = %d", d, br);
                abort();
            }
        }
    }
    return 1;
}

void lb_attn_linformer_run(lb_attn *a, float *out, float *probs, const float *q, const float *k,
                           const float *v, const float *mask, const float *E, const float *F) {
    const int B = a->cfg.B, H = a->cfg.H, n = a->cfg.n, d = a->cfg.d, kp = a->cfg.k;
    const int T = a->run_threads, hd = H * d, W = 2 * hd;
    const size_t nd = (size_t)n * d, kw = (size_t)kp * W;
    size_t shared, per_thread;
    lb_attn_layout(&a->cfg, a->threads, &shared, &per_thread);
    float *kv = a->ws, *slots = a->ws + shared;
    const long bh = (long)B * H;

    /* Phase 1: projections. */
    const int cw = (int)lb_lin_colchunk(&a->cfg, a->threads), nch = (W + cw - 1) / cw;
    const int shared_e = a->cfg.share != LB_SHARE_NONE;
    const long items1 = shared_e ? (long)B * nch : bh;
    const int tp1 = items1 < T ? (int)items1 : T;
#pragma omp parallel num_threads(tp1)
    {
        lb_attn_region_threads(tp1, T);
        float *P = slots + (size_t)omp_get_thread_num() * per_thread + (size_t)n * kp;
#pragma omp for schedule(dynamic, 1)
        for (long it = 0; it < items1; it++) {
            int b = (int)(shared_e ? it / nch : it / H);
            const float *mb = mask ? mask + (size_t)b * n : NULL;
            int ext = lb_attn_key_extent(mb, n);
            if (ext == 0) continue; /* phase 2 writes zeros for this batch element */
            if (shared_e) {
                int c0 = (int)(it % nch) * cw, c1 = c0 + cw < W ? c0 + cw : W;
                project_shared(kv + (size_t)b * kw, P, k + (size_t)b * H * nd,
                               v + (size_t)b * H * nd, mb, E, F, c0, c1, n, d, hd, kp, ext);
            } else {
                int h = (int)(it % H);
                size_t eoff = (size_t)h * kp * n;
                project_head(kv + (size_t)b * kw, P, k + (size_t)it * nd, v + (size_t)it * nd,
                             mb, E + eoff, F + eoff, h, n, d, hd, kp, ext);
            }
        }
    }

    /* Phase 2: attention over the k projected keys. */
    if (!probs && lin_fused(a, out, q, mask, kv, slots, per_thread)) return;
    const float scale = 1.0f / sqrtf((float)d);
    const size_t nk = (size_t)n * kp;
    const int tp2 = bh < T ? (int)bh : T;
#pragma omp parallel num_threads(tp2)
    {
        const int rt = lb_attn_region_threads(tp2, T);
        float *ws = slots + (size_t)omp_get_thread_num() * per_thread;
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < bh; t++) {
            int b = (int)(t / H), h = (int)(t % H);
            float *o = out + (size_t)t * nd, *S = probs ? probs + (size_t)t * nk : ws;
            if (lb_attn_key_extent(mask ? mask + (size_t)b * n : NULL, n) == 0) {
                memset(o, 0, nd * sizeof *o);
                if (probs) memset(S, 0, nk * sizeof *S);
                continue;
            }
            const float *kvb = kv + (size_t)b * kw;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, kp, d, scale,
                        q + (size_t)t * nd, d, kvb + (size_t)h * d, W, 0.0f, S, kp);
#pragma omp parallel for num_threads(rt) if (rt > 1) schedule(static)
            for (int i = 0; i < n; i++) lb_softmax_row(S + (size_t)i * kp, kp, NULL);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, kp, 1.0f, S, kp,
                        kvb + hd + (size_t)h * d, W, 0.0f, o, d);
        }
    }
}
