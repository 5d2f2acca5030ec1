/* GELU(x) = x·Φ(x) in its exact erf form, forward and backward, vectorised, with the
 * plain libm references beside them.
 *
 * Why not erff: the libm call does not vectorise, and erff/erf/exp per FFN element
 * were a third of a training step of the default model (perf, n = 128, batch 32).
 *
 * Method: Φ(x) = ½·erfc(z) for x < 0 and 1 − ½·erfc(z) for x >= 0, z = |x|/√2, with
 * erfc from the Chebyshev fit of Press et al. (Numerical Recipes, 2nd ed., §6.2;
 * fractional error below 1.2e-7 for every z >= 0, 1.04e-7 measured in double):
 *   erfc(z) = t·exp(−z² + q(t)),  t = 1/(1 + z/2),  q a polynomial of degree 9,
 * evaluated as t·exp(−z²)·exp(q): exp(−z²) = exp(−hi)·(1 − lo) with hi + lo = x²/2
 * exactly (FMA, from x rather than the rounded z), so that large |x| lose nothing to
 * the rounding of z²; q stays in
 * [−1.27, 0], where the float exp is within 1 ulp. The derivative Φ(x) + x·φ(x)
 * takes φ(x) = exp(−z²)/√(2π) from the same exp(−z²).
 * Accuracy: within 1e-6 of Φ relative (test_layers_backward.c sweeps it against
 * double erfc). Special values: +inf → +inf; −inf → NaN (−inf·0, as the erff form
 * and PyTorch give); NaN → NaN. */
#include <math.h>

#include "lb_vexp.h"
#include "model_int.h"

#define ISQ2 0.70710678118654752440f   /* 1/√2 */
#define ISQ2PI 0.39894228040143267794f /* 1/√(2π) */
static const float Q[10] = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
                            0.27886807f,  -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};

/* Φ(x), and exp(−x²/2) in *e0. */
static inline float phi1(float x, float *e0) {
    float a = fabsf(x);
    a = a > 28.0f ? 28.0f : a; /* Φ(−28) is 0 in float; keeps inf out of a² − a² (NaN stays) */
    float z = a * ISQ2, t = 1.0f / fmaf(0.5f, z, 1.0f);
    float q = Q[9];
    for (int i = 8; i >= 0; i--) q = fmaf(q, t, Q[i]);
    float hi = 0.5f * (a * a), lo = 0.5f * fmaf(a, a, -(a * a)); /* hi + lo = z² = a²/2 */
    float e = lb_vexp1(-hi) * (1.0f - lo);
    float h = 0.5f * t * e * lb_vexp1(q); /* ½·erfc(z) */
    *e0 = e;
    return x >= 0 ? 1.0f - h : x < 0 ? h : x; /* NaN stays NaN */
}

#if defined(__AVX512F__)
static inline __m512 phi16(__m512 x, __m512 *e0) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    __m512 a = _mm512_min_ps(_mm512_set1_ps(28.0f), _mm512_abs_ps(x)); /* NaN kept (2nd operand) */
    __m512 z = _mm512_mul_ps(a, _mm512_set1_ps(ISQ2));
    __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(half, z, one));
    __m512 q = _mm512_set1_ps(Q[9]);
    for (int i = 8; i >= 0; i--) q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(Q[i]));
    __m512 a2 = _mm512_mul_ps(a, a);
    __m512 hi = _mm512_mul_ps(half, a2), lo = _mm512_mul_ps(half, _mm512_fmsub_ps(a, a, a2));
    __m512 e = _mm512_mul_ps(lb_vexp16(_mm512_sub_ps(_mm512_setzero_ps(), hi)), _mm512_sub_ps(one, lo));
    __m512 h = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(half, t), e), lb_vexp16(q));
    *e0 = e;
    /* x >= 0 (false for NaN): 1 − h; otherwise h, which is NaN when x is */
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
    return _mm512_mask_sub_ps(h, pos, one, h);
}
#endif

/* dy NULL: out = GELU(x); otherwise out = dy·GELU'(x). Blocks of 16, the last masked. */
static void gelu_blocks(float *out, const float *dy, const float *x, size_t len, int threads) {
    long nb = (long)((len + 15) / 16);
#pragma omp parallel for num_threads(threads) schedule(static) if (nb > 256)
    for (long b = 0; b < nb; b++) {
        size_t i0 = (size_t)b * 16, i1 = i0 + 16 < len ? i0 + 16 : len;
#if defined(__AVX512F__)
        __mmask16 m = (__mmask16)((1u << (i1 - i0)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i0), e, p = phi16(v, &e), r;
        if (!dy) {
            r = _mm512_mul_ps(v, p);
        } else { /* d/dx x·Φ(x) = Φ(x) + x·φ(x) */
            __m512 d = _mm512_fmadd_ps(_mm512_mul_ps(v, _mm512_set1_ps(ISQ2PI)), e, p);
            r = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + i0), d);
        }
        _mm512_mask_storeu_ps(out + i0, m, r);
#else
        for (size_t i = i0; i < i1; i++) {
            float e, p = phi1(x[i], &e);
            out[i] = dy ? dy[i] * fmaf(x[i] * ISQ2PI, e, p) : x[i] * p;
        }
#endif
    }
}

void lb_gelu_forward(float *y, const float *x, size_t len, int threads) { gelu_blocks(y, NULL, x, len, threads); }

void lb_gelu_backward(float *dx, const float *dy, const float *x, size_t len, int threads) {
    gelu_blocks(dx, dy, x, len, threads);
}

/* The references take erfc in double: 1 + erf(x/√2) would cancel to 0 below x ≈ −8.3
 * (and erff's to 0 near −5.5), where Φ is still a normal float. */
void lb_gelu_forward_ref(float *y, const float *x, size_t len) {
    for (size_t i = 0; i < len; i++) y[i] = (float)(0.5 * x[i] * erfc(-x[i] * 0.70710678118654752440));
}

void lb_gelu_backward_ref(float *dx, const float *dy, const float *x, size_t len) {
    for (size_t i = 0; i < len; i++) {
        double t = x[i];
        double d = 0.5 * erfc(-t * 0.70710678118654752440) + t * 0.39894228040143267794 * exp(-0.5 * t * t);
        dx[i] = (float)(dy[i] * d);
    }
}
