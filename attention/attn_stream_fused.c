/* Fused streaming attention tile: the same FlashAttention recurrence as attn_stream.c's
 * sgemm path, with both products done by register-tiled microkernels written here.
 *
 * Why: on tiles of ~100 queries × ~100 keys × d = 64, sgemm spends a large share of its
 * time packing and in its own edge handling, its packed copies leave L1 between the
 * two products, and the row softmax between them runs lb_vexp (13 FMA-pipe operations
 * per 8 scores against the products' 16 at d = 64).
 *
 * AVX2 + FMA (tile_avx2): the transposed scores St (keys, queries) of a 96-query tile
 * and a 64-key block; K and V are read in place, Qᵀ is packed once per tile.
 *   St (bc,96) = K Qsᵀ   microkernel 6 keys × 16 queries (12 accumulators), its
 *                        epilogue folding the block's column max and NaN flags;
 *   online softmax down the columns, 8 queries a vector, in log2 units with a 2^x
 *                        for x <= 0 that costs 5 FMAs per 8 scores (exp2_nonpos8);
 *   O (96,d) += P V      microkernel 6 queries × 16 columns of d (12 accumulators),
 *                        P broadcast from a row of St.
 * AVX-512F (the older design, rows × keys): K packed per 64-key block into 16-column
 * panels, S = Qs Ktᵀ by 8 rows × 32 columns, the row softmax of the sgemm path
 * (lb_softmax_online_row), O += P V by 8 rows × 32 columns.
 *
 * Chosen at run time (__builtin_cpu_supports and LB_ATTN_FUSED, see detect below).
 * Anything else, a d that is not a multiple of 16, or a workspace too small takes the
 * sgemm path. The reference for all is lb_attn_full_ref (attn_ref.c); the tests compare
 * them (tests/attention/test_stream_fused.c).
 */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn_int.h"

#define FB_BR LB_FUSED_BR
#define FB_BC 64 /* keys per block (a multiple of 16) */

/* Floats of per-thread workspace the fused tile needs for head size d. */
size_t lb_stream_fused_floats(int d) {
    /* AVX-512: Qs, O (FB_BR,d), packed K (FB_BC,d), S (FB_BR,FB_BC), m, l;
     * AVX2: Qᵀ, O (FB_BR,d), St (FB_BC,FB_BR), m, l, nan, block max */
    size_t f512 = (size_t)d * (2 * FB_BR + FB_BC) + (size_t)FB_BR * FB_BC + 2 * FB_BR;
    size_t f2 = (size_t)d * 2 * FB_BR + (size_t)FB_BC * FB_BR + 4 * FB_BR;
    return f512 > f2 ? f512 : f2;
}

/* Kt panels: keys j0..j0+bc of k (rows ldk apart) as ceil(bc/16) panels of (d,16),
 * zero-padded past bc, so that the microkernel reads 16 consecutive floats per step. */
static void pack_k(float *kt, const float *k, int ldk, int bc, int d) {
    int panels = (bc + 15) / 16;
    for (int p = 0; p < panels; p++) {
        float *dst = kt + (size_t)p * d * 16;
        for (int c = 0; c < 16; c++) {
            int j = p * 16 + c;
            if (j < bc) {
                const float *src = k + (size_t)j * ldk;
                for (int t = 0; t < d; t++) dst[(size_t)t * 16 + c] = src[t];
            } else {
                for (int t = 0; t < d; t++) dst[(size_t)t * 16 + c] = 0.0f;
            }
        }
    }
}

/* ---------------------------------------------------------------- AVX2 + FMA */

/* The AVX2 tile works on the transposed scores St (bc, FB_BR): keys down, queries
 * across. Why: K is then used as it lies (a key row's d values are the broadcasts of
 * the QKᵀ microkernel), so nothing is packed per key block, only Qᵀ once per tile;
 * the online softmax runs down the columns, 8 queries to a vector, with no horizontal
 * reduction; and P·V broadcasts P from a row of St, 6 queries side by side.
 * Scores are in log2 units (Q is scaled by log2 e/√d), so the softmax needs 2^x,
 * whose 2^j part is an integer add to the exponent field: 5 FMAs per 8 scores
 * (exp2_nonpos8) against lb_vexp8's 13, beside the 16 FMAs per 8 scores of the two
 * products at d = 64 (see README, "The fused tile"). */

/* 2^x for x <= 0 (all the softmax needs: x = score − running max), 8 lanes.
 * j = round(x) by the 1.5·2^23 trick (the low bits of y hold j), r = x − j in
 * [-1/2, 1/2], 2^r by a degree-5 polynomial fitted for least maximum relative error
 * on that interval (7.5e-8 in exact arithmetic, about 2 ulp in float), then j is
 * added to the exponent field. x is clamped to -125 so the exponent stays normal:
 * the result is then 2^-125 instead of smaller, and the callers zero masked keys
 * themselves. -inf gives 2^-125; NaN from an invalid operation stays NaN (its low
 * bits are 0); other NaNs are caught by the caller's NaN flag. */
__attribute__((target("avx2,fma"))) static inline __m256 exp2_nonpos8(__m256 x) {
    const __m256 magic = _mm256_set1_ps(12582912.0f); /* 1.5·2^23 */
    x = _mm256_max_ps(_mm256_set1_ps(-125.0f), x);    /* NaN passes as the second operand */
    __m256 y = _mm256_add_ps(x, magic);
    __m256 r = _mm256_sub_ps(x, _mm256_sub_ps(y, magic));
    __m256 p = _mm256_set1_ps(1.327647129073739e-3f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(9.675541892647743e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.550713092088699e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(2.4022120237350464e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(6.931469440460205e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0000001192092896f));
    __m256i e = _mm256_slli_epi32(_mm256_castps_si256(y), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
}

/* St rows j .. j+keys of one 16-query panel: st[r·FB_BR + c] = Σ_t k[r·ldk + t]·qt[t·16 + c].
 * 6 keys × 16 queries: 12 accumulators, two loads and six broadcasts per 12 FMAs. A
 * group of fewer than 6 keys repeats its first key and stores only its own rows.
 * When cmax is not NULL (a block without padding keys) the epilogue also folds the
 * group into the panel's column max cmax[0..16) and sets cnan[c] where a score is NaN,
 * so the softmax needs no pass of its own for them. */
__attribute__((target("avx2,fma"))) static void qk6x16(float *st, float *cmax, float *cnan, const float *k,
                                                      int ldk, const float *qt, int keys, int d) {
    const size_t ld = (size_t)ldk;
    const float *k0 = k, *k1 = k + (keys > 1 ? 1 : 0) * ld, *k2 = k + (keys > 2 ? 2 : 0) * ld;
    const float *k3 = k + (keys > 3 ? 3 : 0) * ld, *k4 = k + (keys > 4 ? 4 : 0) * ld;
    const float *k5 = k + (keys > 5 ? 5 : 0) * ld;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int t = 0; t < d; t++) {
        __m256 b0 = _mm256_loadu_ps(qt + (size_t)t * 16), b1 = _mm256_loadu_ps(qt + (size_t)t * 16 + 8);
        __m256 x = _mm256_broadcast_ss(k0 + t);
        c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(k1 + t);
        c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(k2 + t);
        c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(k3 + t);
        c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(k4 + t);
        c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(k5 + t);
        c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 c[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < keys; r++) {
        _mm256_storeu_ps(st + (size_t)r * FB_BR, c[r][0]);
        _mm256_storeu_ps(st + (size_t)r * FB_BR + 8, c[r][1]);
    }
    if (!cmax) return;
    for (int h = 0; h < 2; h++) { /* the repeated rows are copies of key 0: harmless in a max */
        __m256 mx = _mm256_loadu_ps(cmax + 8 * h), bad = _mm256_loadu_ps(cnan + 8 * h);
        for (int r = 0; r < 6; r++) {
            mx = _mm256_max_ps(c[r][h], mx); /* a NaN score leaves mx as it was */
            bad = _mm256_or_ps(bad, _mm256_cmp_ps(c[r][h], c[r][h], _CMP_UNORD_Q));
        }
        _mm256_storeu_ps(cmax + 8 * h, mx), _mm256_storeu_ps(cnan + 8 * h, bad);
    }
}

/* O rows i .. i+6, columns c .. c+16 += Σ_j St[j][i + r]·V[j][c ..]: o, pt and v point
 * at row i / column i / column c (V's rows ldv apart); 12 accumulators, two V loads
 * and six broadcasts of P per 12 FMAs. */
__attribute__((target("avx2,fma"))) static void pv6x16(float *o, const float *pt, const float *v, int ldv,
                                                      int bc, int d) {
    __m256 c00 = _mm256_loadu_ps(o), c01 = _mm256_loadu_ps(o + 8);
    __m256 c10 = _mm256_loadu_ps(o + d), c11 = _mm256_loadu_ps(o + d + 8);
    __m256 c20 = _mm256_loadu_ps(o + 2 * d), c21 = _mm256_loadu_ps(o + 2 * d + 8);
    __m256 c30 = _mm256_loadu_ps(o + 3 * d), c31 = _mm256_loadu_ps(o + 3 * d + 8);
    __m256 c40 = _mm256_loadu_ps(o + 4 * d), c41 = _mm256_loadu_ps(o + 4 * d + 8);
    __m256 c50 = _mm256_loadu_ps(o + 5 * d), c51 = _mm256_loadu_ps(o + 5 * d + 8);
    for (int j = 0; j < bc; j++) {
        const float *vj = v + (size_t)j * ldv, *pj = pt + (size_t)j * FB_BR;
        __m256 b0 = _mm256_loadu_ps(vj), b1 = _mm256_loadu_ps(vj + 8);
        __m256 x = _mm256_broadcast_ss(pj);
        c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(pj + 1);
        c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(pj + 2);
        c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(pj + 3);
        c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(pj + 4);
        c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(pj + 5);
        c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    _mm256_storeu_ps(o, c00), _mm256_storeu_ps(o + 8, c01);
    _mm256_storeu_ps(o + d, c10), _mm256_storeu_ps(o + d + 8, c11);
    _mm256_storeu_ps(o + 2 * d, c20), _mm256_storeu_ps(o + 2 * d + 8, c21);
    _mm256_storeu_ps(o + 3 * d, c30), _mm256_storeu_ps(o + 3 * d + 8, c31);
    _mm256_storeu_ps(o + 4 * d, c40), _mm256_storeu_ps(o + 4 * d + 8, c41);
    _mm256_storeu_ps(o + 5 * d, c50), _mm256_storeu_ps(o + 5 * d + 8, c51);
}

/* The online softmax on St (bc, FB_BR) for query columns 0 .. cols (a multiple of 8),
 * in log2 units: per column the block's max over real keys (bmax when the QKᵀ
 * epilogue computed it, else a pass here), the new running max m, P = 2^(St − m) in
 * place (0 on padding keys), l = l·α + Σ P, the accumulator rows scaled by
 * α = 2^(m_old − m) where that is not 1; nan[i] set where a real key's score is NaN.
 * mb is the block's key mask or NULL. */
__attribute__((target("avx2,fma"))) static void softmax_block8(float *st, float *op, float *m, float *l,
                                                              float *nan, const float *bmax, const float *mb,
                                                              int bc, int cols, int d) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    for (int g = 0; g < cols; g += 8) {
        __m256 mx = ninf, bad = _mm256_loadu_ps(nan + g);
        if (bmax) mx = _mm256_loadu_ps(bmax + g);
        else
            for (int j = 0; j < bc; j++) {
                if (mb && mb[j] == 0) continue;
                __m256 s = _mm256_loadu_ps(st + (size_t)j * FB_BR + g);
                mx = _mm256_max_ps(s, mx); /* a NaN s leaves mx as it was */
                bad = _mm256_or_ps(bad, _mm256_cmp_ps(s, s, _CMP_UNORD_Q));
            }
        __m256 mo = _mm256_loadu_ps(m + g), mn = _mm256_max_ps(mx, mo);
        /* no real key yet in a column: its P is all 0 (padding), any finite shift does */
        __m256 shift = _mm256_blendv_ps(mn, _mm256_setzero_ps(), _mm256_cmp_ps(mn, ninf, _CMP_EQ_OQ));
        __m256 sum = _mm256_setzero_ps();
        for (int j = 0; j < bc; j++) {
            float *sj = st + (size_t)j * FB_BR + g;
            if (mb && mb[j] == 0) {
                _mm256_storeu_ps(sj, _mm256_setzero_ps());
                continue;
            }
            __m256 p = exp2_nonpos8(_mm256_sub_ps(_mm256_loadu_ps(sj), shift));
            _mm256_storeu_ps(sj, p);
            sum = _mm256_add_ps(sum, p);
        }
        /* α·(l = 0, O = 0) stays 0 where m_old was -inf: 2^-125·0 */
        __m256 alpha = exp2_nonpos8(_mm256_sub_ps(mo, shift));
        _mm256_storeu_ps(l + g, _mm256_fmadd_ps(_mm256_loadu_ps(l + g), alpha, sum));
        _mm256_storeu_ps(m + g, mn);
        _mm256_storeu_ps(nan + g, bad);
        int rescale = _mm256_movemask_ps(_mm256_cmp_ps(alpha, _mm256_set1_ps(1.0f), _CMP_NEQ_UQ));
        if (!rescale) continue;
        float a[8];
        _mm256_storeu_ps(a, alpha);
        for (int r = 0; r < 8; r++) {
            if (!(rescale >> r & 1)) continue;
            __m256 av = _mm256_set1_ps(a[r]);
            float *orow = op + (size_t)(g + r) * d;
            for (int c = 0; c < d; c += 8) _mm256_storeu_ps(orow + c, _mm256_mul_ps(_mm256_loadu_ps(orow + c), av));
        }
    }
}

/* One tile on AVX2: rows i0 .. i0+br (br <= FB_BR) of one (b,h), as lb_stream_fused_tile. */
__attribute__((target("avx2,fma"))) static void tile_avx2(float *o, float *ws, const float *q, const float *k,
                                                         int ldk, const float *v, int ldv, const float *mb,
                                                         int br, int d, int ext) {
    /* 6-query groups for P·V, 16-query panels for QKᵀ covering them (FB_BR = 96 is a
     * multiple of both) */
    const int groups = (br + 5) / 6, panels = (groups * 6 + 15) / 16, cols = panels * 16;
    float *qt = ws, *op = qt + (size_t)FB_BR * d, *st = op + (size_t)FB_BR * d;
    float *m = st + (size_t)FB_BC * FB_BR, *l = m + FB_BR, *nan = l + FB_BR, *bmax = nan + FB_BR;
    const float scale = 1.4426950408889634f / sqrtf((float)d); /* log2 e/√d */
    for (int p = 0; p < panels; p++)
        for (int t = 0; t < d; t++)
            for (int c = 0; c < 16; c++) {
                int i = p * 16 + c;
                qt[((size_t)p * d + t) * 16 + c] = i < br ? q[(size_t)i * d + t] * scale : 0.0f;
            }
    memset(op, 0, (size_t)cols * d * sizeof *op);
    for (int i = 0; i < cols; i++) m[i] = -INFINITY, l[i] = 0, nan[i] = 0;
    for (int j0 = 0; j0 < ext; j0 += FB_BC) {
        const int bc = ext - j0 < FB_BC ? ext - j0 : FB_BC;
        /* a block with padding keys leaves the max to the softmax's own pass */
        int pad = 0;
        for (int j = 0; mb && j < bc && !pad; j++) pad = mb[j0 + j] == 0;
        for (int i = 0; i < cols; i++) bmax[i] = -INFINITY;
        for (int j = 0; j < bc; j += 6) /* a key group stays in L1 while the Qᵀ panels pass */
            for (int p = 0; p < panels; p++)
                qk6x16(st + (size_t)j * FB_BR + p * 16, pad ? NULL : bmax + p * 16, nan + p * 16,
                       k + (size_t)(j0 + j) * ldk, ldk, qt + (size_t)p * d * 16, bc - j < 6 ? bc - j : 6, d);
        softmax_block8(st, op, m, l, nan, pad ? NULL : bmax, pad ? mb + j0 : NULL, bc, cols, d);
        for (int c = 0; c < d; c += 16) /* a 16-column strip of V stays in L1 across the groups */
            for (int g = 0; g < groups; g++)
                pv6x16(op + (size_t)g * 6 * d + c, st + g * 6, v + (size_t)j0 * ldv + c, ldv, bc, d);
    }
    for (int i = 0; i < br; i++) {
        /* ext >= 1 real key, and each column's max key contributes 1: l >= 1 */
        float inv = nan[i] != 0 ? NAN : 1.0f / l[i];
        for (int t = 0; t < d; t++) o[(size_t)i * d + t] = op[(size_t)i * d + t] * inv;
    }
}

/* ---------------------------------------------------------------- AVX-512F */

#define MR5 8
__attribute__((target("avx512f"))) static void qk_avx512(float *S, const float *qs, const float *kt,
                                                        int rows, int panels, int d) {
    /* 8 rows × 32 columns (two panels) per step: 16 accumulators; an odd last panel
     * runs with the second half unused (its loads read the zero-padded panel area of
     * the buffer, which pack_k always fills up to an even count). */
    for (int i0 = 0; i0 < rows; i0 += MR5)
        for (int p = 0; p < panels; p += 2) {
            const float *b = kt + (size_t)p * d * 16, *a = qs + (size_t)i0 * d;
            const float *bn = b + (size_t)d * 16;
            __m512 c[MR5][2];
            for (int r = 0; r < MR5; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
            for (int t = 0; t < d; t++) {
                __m512 b0 = _mm512_loadu_ps(b + (size_t)t * 16), b1 = _mm512_loadu_ps(bn + (size_t)t * 16);
                for (int r = 0; r < MR5; r++) {
                    __m512 x = _mm512_set1_ps(a[(size_t)r * d + t]);
                    c[r][0] = _mm512_fmadd_ps(x, b0, c[r][0]);
                    c[r][1] = _mm512_fmadd_ps(x, b1, c[r][1]);
                }
            }
            for (int r = 0; r < MR5; r++) {
                float *s = S + (size_t)(i0 + r) * FB_BC + p * 16;
                _mm512_storeu_ps(s, c[r][0]);
                if (p + 1 < panels) _mm512_storeu_ps(s + 16, c[r][1]);
            }
        }
}

__attribute__((target("avx512f"))) static void pv_avx512(float *o, const float *S, const float *v, int ldv,
                                                        int rows, int bc, int d) {
    for (int i0 = 0; i0 < rows; i0 += MR5)
        for (int cc = 0; cc < d; cc += 32) {
            int two = cc + 16 < d; /* d is a multiple of 16: the second vector may not exist */
            __m512 c[MR5][2];
            for (int r = 0; r < MR5; r++) {
                float *oi = o + (size_t)(i0 + r) * d + cc;
                c[r][0] = _mm512_loadu_ps(oi);
                c[r][1] = two ? _mm512_loadu_ps(oi + 16) : _mm512_setzero_ps();
            }
            for (int j = 0; j < bc; j++) {
                const float *vj = v + (size_t)j * ldv + cc;
                __m512 b0 = _mm512_loadu_ps(vj), b1 = two ? _mm512_loadu_ps(vj + 16) : _mm512_setzero_ps();
                for (int r = 0; r < MR5; r++) {
                    __m512 x = _mm512_set1_ps(S[(size_t)(i0 + r) * FB_BC + j]);
                    c[r][0] = _mm512_fmadd_ps(x, b0, c[r][0]);
                    c[r][1] = _mm512_fmadd_ps(x, b1, c[r][1]);
                }
            }
            for (int r = 0; r < MR5; r++) {
                float *oi = o + (size_t)(i0 + r) * d + cc;
                _mm512_storeu_ps(oi, c[r][0]);
                if (two) _mm512_storeu_ps(oi + 16, c[r][1]);
            }
        }
}

/* ---------------------------------------------------------------- the tile */

typedef enum { FUSED_NONE = 0, FUSED_AVX2 = 1, FUSED_AVX512 = 2 } fused_isa;

/* The best variant this CPU has. */
static fused_isa best(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return FUSED_AVX512;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? FUSED_AVX2 : FUSED_NONE;
}

/* LB_ATTN_FUSED=off keeps the sgemm path, avx2 or avx512 asks for that variant, on for
 * the best this CPU has. Unset: the AVX2 tile on a CPU with AVX2+FMA and no AVX-512F,
 * where it was measured (2-core Zen 3, stream at n = 4096, d = 64, 12 heads: about
 * twice the sgemm path's GFLOP/s, README "The fused tile"); the sgemm path on an
 * AVX-512 CPU, where neither fused variant has been shown to win (the AVX-512 tile
 * lost to it on a Zen 5, and the AVX2 tile uses half of that core's vector width). */
static fused_isa detect(void) {
    const char *env = getenv("LB_ATTN_FUSED");
    fused_isa b = best();
    if (!env) return b == FUSED_AVX2 ? FUSED_AVX2 : FUSED_NONE;
    if (!strcmp(env, "off")) return FUSED_NONE;
    if (!strcmp(env, "avx2")) return b >= FUSED_AVX2 ? FUSED_AVX2 : FUSED_NONE;
    if (!strcmp(env, "avx512")) return b == FUSED_AVX512 ? FUSED_AVX512 : FUSED_NONE;
    return b; /* "on" */
}

static int isa_now = -1; /* benign race: every thread computes the same value */

int lb_stream_fused_isa(void) {
    if (isa_now < 0) isa_now = (int)detect();
    return isa_now;
}

const char *lb_attn_stream_kernel(void) {
    static const char *names[] = {"sgemm", "fused-avx2", "fused-avx512"};
    return names[lb_stream_fused_isa()];
}

int lb_stream_fused_fits(int d, size_t ws_floats) {
    return lb_stream_fused_isa() != FUSED_NONE && d % 16 == 0 && ws_floats >= lb_stream_fused_floats(d);
}

int lb_stream_fused_force(int isa) {
    if (isa < 0 || isa > (int)best()) return -1;
    isa_now = isa;
    return 0;
}

/* Rows i0 .. i0+br of one (b,h): o (br,d) out, q (br,d); keys k and values v (ext of
 * each, rows ldk and ldv floats apart: d for a (b,h) slice, wider for Linformer's
 * packed projections); mb the key mask or NULL. ws
 * holds lb_stream_fused_floats(d) floats. Returns 0, or -1 when the fused path does
 * not apply (the caller then takes the sgemm path). */
int lb_stream_fused_tile(float *o, float *ws, const float *q, const float *k, int ldk, const float *v,
                         int ldv, const float *mb, int br, int d, int ext) {
    int isa = lb_stream_fused_isa();
    if (isa == FUSED_NONE || d % 16 || br > FB_BR) return -1;
    if (isa == FUSED_AVX2) {
        tile_avx2(o, ws, q, k, ldk, v, ldv, mb, br, d, ext);
        return 0;
    }
    const int rows = (br + MR5 - 1) / MR5 * MR5;
    float *qs = ws, *op = qs + (size_t)FB_BR * d, *kt = op + (size_t)FB_BR * d;
    float *S = kt + (size_t)FB_BC * d, *m = S + (size_t)FB_BR * FB_BC, *l = m + FB_BR;
    const float scale = 1.0f / sqrtf((float)d);
    for (int i = 0; i < rows; i++)
        for (int t = 0; t < d; t++) qs[(size_t)i * d + t] = i < br ? q[(size_t)i * d + t] * scale : 0.0f;
    memset(op, 0, (size_t)rows * d * sizeof *op);
    for (int i = 0; i < rows; i++) m[i] = -INFINITY, l[i] = 0;
    for (int j0 = 0; j0 < ext; j0 += FB_BC) {
        int bc = ext - j0 < FB_BC ? ext - j0 : FB_BC, panels = (bc + 15) / 16;
        pack_k(kt, k + (size_t)j0 * ldk, ldk, bc, d);
        /* AVX-512 reads panels in pairs: an odd count gets a zero panel after it */
        if (panels % 2) memset(kt + (size_t)panels * d * 16, 0, (size_t)d * 16 * sizeof *kt);
        qk_avx512(S, qs, kt, rows, panels, d);
        for (int i = 0; i < br; i++) {
            float alpha = lb_softmax_online_row(S + (size_t)i * FB_BC, bc, mb ? mb + j0 : NULL, &m[i], &l[i]);
            if (alpha != 1.0f)
                for (int t = 0; t < d; t++) op[(size_t)i * d + t] *= alpha;
        }
        for (int i = br; i < rows; i++) memset(S + (size_t)i * FB_BC, 0, (size_t)bc * sizeof *S);
        pv_avx512(op, S, v + (size_t)j0 * ldv, ldv, rows, bc, d);
    }
    for (int i = 0; i < br; i++) {
        float inv = 1.0f / l[i]; /* ext >= 1 real key: the row max contributes 1 */
        for (int t = 0; t < d; t++) o[(size_t)i * d + t] = op[(size_t)i * d + t] * inv;
    }
    return 0;
}
