/* lb_vexp_array: the vector exp of lb_vexp.h over an array (AVX-512 with a masked
 * tail, else AVX2, else scalar). */
#include "lb_vexp.h"

void lb_vexp_array(float *y, const float *x, size_t len) {
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= len; i += 16) _mm512_storeu_ps(y + i, lb_vexp16(_mm512_loadu_ps(x + i)));
    if (i < len) {
        __mmask16 t = (__mmask16)((1u << (len - i)) - 1);
        _mm512_mask_storeu_ps(y + i, t, lb_vexp16(_mm512_maskz_loadu_ps(t, x + i)));
    }
    return;
#elif defined(__AVX2__) && defined(__FMA__)
    for (; i + 8 <= len; i += 8) _mm256_storeu_ps(y + i, lb_vexp8(_mm256_loadu_ps(x + i)));
#endif
    for (; i < len; i++) y[i] = lb_vexp1(x[i]);
}
