/* Row softmax for the attention kernels: one pass for the max, one for exp and the
 * sum, one to normalise; a row of 4096 scores is 16 KiB, so the three passes run from
 * L1/L2. AVX-512 when compiled for it, otherwise a scalar loop around lb_vexp_array
 * (which itself uses AVX2 when available). */
#include <math.h>

#include "attn_int.h"
#include "lb_vexp.h"

#if defined(__AVX512F__)
/* Real-key lanes of mask[j..j+16) restricted to the tail t. */
static inline __mmask16 real_lanes(const float *mask, int j, __mmask16 t) {
    if (!mask) return t;
    __m512 mv = _mm512_maskz_loadu_ps(t, mask + j);
    return _mm512_mask_cmp_ps_mask(t, mv, _mm512_setzero_ps(), _CMP_NEQ_UQ);
}

static inline __mmask16 tail(int len, int j) {
    int left = len - j;
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

/* max over real keys; -inf when none */
static float row_max(const float *row, int len, const float *mask) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < len; j += 16) {
        __mmask16 r = real_lanes(mask, j, tail(len, j));
        mx = _mm512_mask_max_ps(mx, r, mx, _mm512_maskz_loadu_ps(r, row + j));
    }
    return _mm512_reduce_max_ps(mx);
}

/* row[j] = exp(row[j] − m) on real keys, 0 on padding; returns the sum */
static float row_exp(float *row, int len, const float *mask, float m) {
    __m512 mv = _mm512_set1_ps(m), sum = _mm512_setzero_ps();
    for (int j = 0; j < len; j += 16) {
        __mmask16 t = tail(len, j), r = real_lanes(mask, j, t);
        __m512 e = lb_vexp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(r, row + j), mv));
        e = _mm512_maskz_mov_ps(r, e);
        _mm512_mask_storeu_ps(row + j, t, e);
        sum = _mm512_add_ps(sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

static void row_scale(float *row, int len, float s) {
    __m512 sv = _mm512_set1_ps(s);
    for (int j = 0; j < len; j += 16) {
        __mmask16 t = tail(len, j);
        _mm512_mask_storeu_ps(row + j, t, _mm512_mul_ps(_mm512_maskz_loadu_ps(t, row + j), sv));
    }
}
#else
static float row_max(const float *row, int len, const float *mask) {
    float mx = -INFINITY;
    for (int j = 0; j < len; j++)
        if ((!mask || mask[j] != 0) && !(row[j] <= mx)) mx = row[j]; /* NaN wins */
    return mx;
}

static float row_exp(float *row, int len, const float *mask, float m) {
    for (int j = 0; j < len; j++) row[j] -= m;
    lb_vexp_array(row, row, (size_t)len);
    float sum = 0;
    for (int j = 0; j < len; j++) {
        if (mask && mask[j] == 0) row[j] = 0;
        sum += row[j];
    }
    return sum;
}

static void row_scale(float *row, int len, float s) {
    for (int j = 0; j < len; j++) row[j] *= s;
}
#endif

static void row_zero(float *row, int len) {
    for (int j = 0; j < len; j++) row[j] = 0;
}

void lb_softmax_row(float *row, int len, const float *mask) {
    float m = row_max(row, len, mask);
    if (m == -INFINITY) { /* no real key */
        row_zero(row, len);
        return;
    }
    /* the max element contributes exp(0) = 1, so sum >= 1: no division by 0 */
    float sum = row_exp(row, len, mask, m);
    row_scale(row, len, 1.0f / sum);
}

float lb_softmax_online_row(float *row, int len, const float *mask, float *m, float *l) {
    float mt = row_max(row, len, mask);
    float mnew = mt > *m ? mt : *m;
    if (mnew == -INFINITY) { /* nothing real yet: the accumulator stays 0 */
        row_zero(row, len);
        return 1.0f;
    }
    float alpha = *m == -INFINITY ? 0.0f : lb_vexp1(*m - mnew);
    *l = *l * alpha + row_exp(row, len, mask, mnew);
    *m = mnew;
    return alpha;
}
