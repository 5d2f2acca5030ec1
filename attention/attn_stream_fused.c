/* Fused streaming attention tile: the same FlashAttention recurrence as attn_stream.c's
 * sgemm path, with both products done by register-tiled microkernels written here.
 *
 * Why: on tiles of 64 queries × 128 keys × d = 64, sgemm spends a large share of its
 * time packing and in its own edge handling, and its packed copies leave L1 between
 * the two products. Here K is packed once per key block into 16-column panels (the
 * layout the QKᵀ microkernel streams), the scores stay in a small L1/L2 buffer, and V
 * is read in place (its rows are already contiguous along d).
 *
 *   S (Br,Bc) = Qs Ktᵀ   microkernel MR rows × 16·W columns, W vectors wide, the
 *                        broadcast of one Qs element times a packed K row per step;
 *   online softmax per row (lb_softmax_online_row: the code the sgemm path uses);
 *   O (Br,d) += P V      microkernel MR rows × 16·W columns of d, one broadcast of
 *                        P per row times a V row per key.
 *
 * Opt-in (LB_ATTN_FUSED, see detect below). Variants chosen at run time
 * (__builtin_cpu_supports): AVX-512F (W = 2 × 16 floats,
 * MR = 8: 16 accumulators of 32 registers) and AVX2+FMA (W = 2 × 8 floats, MR = 4:
 * 8 accumulators, two FMA pipes × latency 4). Anything else, or a d that is not a
 * multiple of 16, or a workspace too small, takes the sgemm path. The reference for
 * both is lb_attn_ref (attn_ref.c); the tests compare them.
 */
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn_int.h"

#define FB_BR LB_FUSED_BR
#define FB_BC 128 /* keys per block (a multiple of 16) */

/* Floats of per-thread workspace the fused tile needs for head size d. */
size_t lb_stream_fused_floats(int d) {
    return (size_t)d * (2 * FB_BR + FB_BC) + (size_t)FB_BR * FB_BC + 2 * FB_BR;
}

/* Kt panels: keys j0..j0+bc of k (n,d) as ceil(bc/16) panels of (d,16), zero-padded
 * past bc, so that the microkernel reads 16 consecutive floats per step. */
static void pack_k(float *kt, const float *k, int bc, int d) {
    int panels = (bc + 15) / 16;
    for (int p = 0; p < panels; p++) {
        float *dst = kt + (size_t)p * d * 16;
        for (int c = 0; c < 16; c++) {
            int j = p * 16 + c;
            if (j < bc) {
                const float *src = k + (size_t)j * d;
                for (int t = 0; t < d; t++) dst[(size_t)t * 16 + c] = src[t];
            } else {
                for (int t = 0; t < d; t++) dst[(size_t)t * 16 + c] = 0.0f;
            }
        }
    }
}

/* ---------------------------------------------------------------- AVX2 + FMA */

#define MR2 4
__attribute__((target("avx2,fma"))) static void qk_avx2(float *S, const float *qs, const float *kt,
                                                       int rows, int panels, int d) {
    for (int i0 = 0; i0 < rows; i0 += MR2)
        for (int p = 0; p < panels; p++) {
            const float *b = kt + (size_t)p * d * 16, *a = qs + (size_t)i0 * d;
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
                   c21 = c00, c30 = c00, c31 = c00;
            for (int t = 0; t < d; t++) {
                __m256 b0 = _mm256_loadu_ps(b + (size_t)t * 16), b1 = _mm256_loadu_ps(b + (size_t)t * 16 + 8);
                __m256 x = _mm256_broadcast_ss(a + t);
                c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
                x = _mm256_broadcast_ss(a + d + t);
                c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
                x = _mm256_broadcast_ss(a + 2 * d + t);
                c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
                x = _mm256_broadcast_ss(a + 3 * d + t);
                c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
            }
            float *s = S + (size_t)i0 * FB_BC + p * 16;
            _mm256_storeu_ps(s, c00), _mm256_storeu_ps(s + 8, c01);
            _mm256_storeu_ps(s + FB_BC, c10), _mm256_storeu_ps(s + FB_BC + 8, c11);
            _mm256_storeu_ps(s + 2 * FB_BC, c20), _mm256_storeu_ps(s + 2 * FB_BC + 8, c21);
            _mm256_storeu_ps(s + 3 * FB_BC, c30), _mm256_storeu_ps(s + 3 * FB_BC + 8, c31);
        }
}

/* O (rows,d) += S (rows, bc) · V (bc, d) */
__attribute__((target("avx2,fma"))) static void pv_avx2(float *o, const float *S, const float *v,
                                                       int rows, int bc, int d) {
    for (int i0 = 0; i0 < rows; i0 += MR2)
        for (int c = 0; c < d; c += 16) {
            float *oi = o + (size_t)i0 * d + c;
            __m256 c00 = _mm256_loadu_ps(oi), c01 = _mm256_loadu_ps(oi + 8);
            __m256 c10 = _mm256_loadu_ps(oi + d), c11 = _mm256_loadu_ps(oi + d + 8);
            __m256 c20 = _mm256_loadu_ps(oi + 2 * d), c21 = _mm256_loadu_ps(oi + 2 * d + 8);
            __m256 c30 = _mm256_loadu_ps(oi + 3 * d), c31 = _mm256_loadu_ps(oi + 3 * d + 8);
            const float *s = S + (size_t)i0 * FB_BC;
            for (int j = 0; j < bc; j++) {
                const float *vj = v + (size_t)j * d + c;
                __m256 b0 = _mm256_loadu_ps(vj), b1 = _mm256_loadu_ps(vj + 8);
                __m256 x = _mm256_broadcast_ss(s + j);
                c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
                x = _mm256_broadcast_ss(s + FB_BC + j);
                c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
                x = _mm256_broadcast_ss(s + 2 * FB_BC + j);
                c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
                x = _mm256_broadcast_ss(s + 3 * FB_BC + j);
                c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
            }
            _mm256_storeu_ps(oi, c00), _mm256_storeu_ps(oi + 8, c01);
            _mm256_storeu_ps(oi + d, c10), _mm256_storeu_ps(oi + d + 8, c11);
            _mm256_storeu_ps(oi + 2 * d, c20), _mm256_storeu_ps(oi + 2 * d + 8, c21);
            _mm256_storeu_ps(oi + 3 * d, c30), _mm256_storeu_ps(oi + 3 * d + 8, c31);
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

__attribute__((target("avx512f"))) static void pv_avx512(float *o, const float *S, const float *v,
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
                const float *vj = v + (size_t)j * d + cc;
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

/* Opt-in: LB_ATTN_FUSED=on (the best variant), avx2 or avx512; unset or off keeps the
 * sgemm path. Measured on a 2-core Zen 3 (AVX2) the fused tile is slower than the sgemm
 * path (stream at n = 4096, d = 64, 12 heads: 64 against 75 GFLOP/s; at n = 1024: 59
 * against 84), so it is not the default until it wins. */
static fused_isa detect(void) {
    const char *env = getenv("LB_ATTN_FUSED");
    fused_isa b = best();
    if (!env || !strcmp(env, "off")) return FUSED_NONE;
    if (!strcmp(env, "avx2")) return b >= FUSED_AVX2 ? FUSED_AVX2 : FUSED_NONE;
    if (!strcmp(env, "avx512")) return b == FUSED_AVX512 ? FUSED_AVX512 : FUSED_NONE;
    return b; /* "on" */
}

static int isa_now = -1; /* benign race: every thread computes the same value */

int lb_stream_fused_isa(void) {
    if (isa_now < 0) isa_now = (int)detect();
    return isa_now;
}

int lb_stream_fused_force(int isa) {
    if (isa < 0 || isa > (int)best()) return -1;
    isa_now = isa;
    return 0;
}

/* Rows i0 .. i0+br of one (b,h): o (br,d) out; q, k, v as attn_stream.c's tile. ws
 * holds lb_stream_fused_floats(d) floats. Returns 0, or -1 when the fused path does
 * not apply (the caller then takes the sgemm path). */
int lb_stream_fused_tile(float *o, float *ws, const float *q, const float *k, const float *v,
                         const float *mb, int br, int d, int ext) {
    int isa = lb_stream_fused_isa();
    if (isa == FUSED_NONE || d % 16 || br > FB_BR) return -1;
    const int mr = isa == FUSED_AVX512 ? MR5 : MR2, rows = (br + mr - 1) / mr * mr;
    float *qs = ws, *op = qs + (size_t)FB_BR * d, *kt = op + (size_t)FB_BR * d;
    float *S = kt + (size_t)FB_BC * d, *m = S + (size_t)FB_BR * FB_BC, *l = m + FB_BR;
    const float scale = 1.0f / sqrtf((float)d);
    for (int i = 0; i < rows; i++)
        for (int t = 0; t < d; t++) qs[(size_t)i * d + t] = i < br ? q[(size_t)i * d + t] * scale : 0.0f;
    memset(op, 0, (size_t)rows * d * sizeof *op);
    for (int i = 0; i < rows; i++) m[i] = -INFINITY, l[i] = 0;
    for (int j0 = 0; j0 < ext; j0 += FB_BC) {
        int bc = ext - j0 < FB_BC ? ext - j0 : FB_BC, panels = (bc + 15) / 16;
        pack_k(kt, k + (size_t)j0 * d, bc, d);
        /* AVX-512 reads panels in pairs: an odd count gets a zero panel after it */
        if (isa == FUSED_AVX512 && panels % 2) memset(kt + (size_t)panels * d * 16, 0, (size_t)d * 16 * sizeof *kt);
        if (isa == FUSED_AVX512) qk_avx512(S, qs, kt, rows, panels, d);
        else qk_avx2(S, qs, kt, rows, panels, d);
        for (int i = 0; i < br; i++) {
            float alpha = lb_softmax_online_row(S + (size_t)i * FB_BC, bc, mb ? mb + j0 : NULL, &m[i], &l[i]);
            if (alpha != 1.0f)
                for (int t = 0; t < d; t++) op[(size_t)i * d + t] *= alpha;
        }
        for (int i = br; i < rows; i++) memset(S + (size_t)i * FB_BC, 0, (size_t)bc * sizeof *S);
        if (isa == FUSED_AVX512) pv_avx512(op, S, v + (size_t)j0 * d, rows, bc, d);
        else pv_avx2(op, S, v + (size_t)j0 * d, rows, bc, d);
    }
    for (int i = 0; i < br; i++) {
        float inv = 1.0f / l[i]; /* ext >= 1 real key: the row max contributes 1 */
        for (int t = 0; t < d; t++) o[(size_t)i * d + t] = op[(size_t)i * d + t] * inv;
    }
    return 0;
}
