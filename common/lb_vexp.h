/* lb_vexp: float exp for the attention softmax, the model's GELU and its cross-entropy.
 *
 * Why not expf: the libm call does not vectorise, and a scalar expf per score made
 * the softmax cost as much as both GEMMs (measured). Same method in every
 * variant, so all give the same answers up to FMA contraction:
 *   x is clamped to [-104, 89] (NaN passes through the comparisons untouched);
 *   j = round(x·log2 e), r = x − j·ln2 with ln2 split into a float head and tail so
 *   that r is exact to rounding, |r| <= ln2/2;
 *   e^r by its degree-7 Taylor polynomial (truncation r^8/8! < 6e-9 relative, below
 *   half an ulp), Horner with FMA;
 *   times 2^j, applied as two exact powers 2^(j/2)·2^(j−j/2) so that results below
 *   FLT_MIN round once into the subnormals instead of being flushed.
 * Result: within 1 ulp of e^x (0.87 ulp worst measured over [-110, 90]);
 * exp(x <= -104) = 0 (e^-104 is under half the least subnormal), -inf → 0,
 * +inf and x > 88.73 → +inf, NaN → NaN.
 * Variants: lb_vexp16 (AVX-512), lb_vexp8 (AVX2+FMA), lb_vexp1 (scalar, always);
 * lb_vexp_array (common/vexp.c) applies the best one to an array. */
#ifndef LB_VEXP_H
#define LB_VEXP_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#define LB_VEXP_LO -104.0f
#define LB_VEXP_HI 89.0f
#define LB_VEXP_LOG2E 1.44269504088896341f
#define LB_VEXP_LN2_HI 0.693145751953125f /* 12 significant bits: j·hi is exact */
#define LB_VEXP_LN2_LO 1.42860682030941723212e-6f
/* 1/i! for i = 2..7 */
#define LB_VEXP_C2 0.5f
#define LB_VEXP_C3 0.166666666666666667f
#define LB_VEXP_C4 0.0416666666666666667f
#define LB_VEXP_C5 0.00833333333333333333f
#define LB_VEXP_C6 0.00138888888888888889f
#define LB_VEXP_C7 0.000198412698412698413f

/* r = x − j·ln2 (ln2 in its two parts) and p = e^r by Horner: the steps every variant
 * shares, written once for the FMA fnma(a, b, c) = c − a·b, fma(a, b, c) = a·b + c and
 * the constant broadcast set1 of one width (the scalar one: LB_VEXP_FLOAT). */
#define LB_VEXP_FLOAT(c) (c)
#define LB_VEXP_REDUCE(r, j, x, fnma, set1)        \
    r = fnma(j, set1(LB_VEXP_LN2_HI), x);          \
    r = fnma(j, set1(LB_VEXP_LN2_LO), r)
#define LB_VEXP_HORNER(p, r, fma, set1)            \
    p = set1(LB_VEXP_C7);                          \
    p = fma(p, r, set1(LB_VEXP_C6));               \
    p = fma(p, r, set1(LB_VEXP_C5));               \
    p = fma(p, r, set1(LB_VEXP_C4));               \
    p = fma(p, r, set1(LB_VEXP_C3));               \
    p = fma(p, r, set1(LB_VEXP_C2));               \
    p = fma(p, r, set1(1.0f));                     \
    p = fma(p, r, set1(1.0f))

static inline float lb_vexp_fnmaf(float a, float b, float c) { return fmaf(-a, b, c); }

static inline float lb_vexp_pow2i(int32_t e) { /* 2^e for -126 <= e <= 127 */
    uint32_t u = (uint32_t)(e + 127) << 23;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float lb_vexp1(float x) {
    x = x < LB_VEXP_LO ? LB_VEXP_LO : x; /* comparisons are false for NaN */
    x = x > LB_VEXP_HI ? LB_VEXP_HI : x;
    if (x != x) return x;
    float j = rintf(x * LB_VEXP_LOG2E), r, p;
    LB_VEXP_REDUCE(r, j, x, lb_vexp_fnmaf, LB_VEXP_FLOAT);
    LB_VEXP_HORNER(p, r, fmaf, LB_VEXP_FLOAT);
    int32_t ji = (int32_t)j, j1 = ji / 2, j2 = ji - j1;
    return p * lb_vexp_pow2i(j1) * lb_vexp_pow2i(j2);
}

#if defined(__AVX2__) && defined(__FMA__)
static inline __m256 lb_vexp8(__m256 x) {
    /* max/min return their second operand when either is NaN: keep x second */
    x = _mm256_max_ps(_mm256_set1_ps(LB_VEXP_LO), x);
    x = _mm256_min_ps(_mm256_set1_ps(LB_VEXP_HI), x);
    __m256 j = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LB_VEXP_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r, p;
    LB_VEXP_REDUCE(r, j, x, _mm256_fnmadd_ps, _mm256_set1_ps);
    LB_VEXP_HORNER(p, r, _mm256_fmadd_ps, _mm256_set1_ps);
    __m256i ji = _mm256_cvtps_epi32(j); /* NaN gives INT_MIN; p is NaN anyway */
    __m256i j1 = _mm256_srai_epi32(ji, 1), j2 = _mm256_sub_epi32(ji, j1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(j1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(j2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}
#endif

#if defined(__AVX512F__)
static inline __m512 lb_vexp16(__m512 x) {
    x = _mm512_max_ps(_mm512_set1_ps(LB_VEXP_LO), x);
    x = _mm512_min_ps(_mm512_set1_ps(LB_VEXP_HI), x);
    __m512 j = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(LB_VEXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r, p;
    LB_VEXP_REDUCE(r, j, x, _mm512_fnmadd_ps, _mm512_set1_ps);
    LB_VEXP_HORNER(p, r, _mm512_fmadd_ps, _mm512_set1_ps);
    /* scalef computes p·2^j with one rounding, subnormals and overflow included */
    return _mm512_scalef_ps(p, j);
}
#endif

/* y[i] = exp(x[i]) with the best variant compiled in; y may equal x. */
void lb_vexp_array(float *y, const float *x, size_t len);

#endif
