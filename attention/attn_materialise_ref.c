/* Scalar reference of the materialising kernel, written the way the 2020 code reads:
 * the whole score tensor first, then the additive mask, then the softmax as a second
 * tensor, then P·V. Double accumulation, no BLAS, no threads; the tests' oracle for
 * lb_attn (method materialise) beside lb_attn_full_ref's row-at-a-time definition. */
#include <math.h>
#include <stdlib.h>

#include "lb_attn.h"

void lb_attn_materialise_ref(float *out, float *probs, const float *q, const float *k,
                             const float *v, const float *mask, int B, int H, int n, int d) {
    const size_t nn = (size_t)n * n, bh = (size_t)B * H;
    double *S = malloc(bh * nn * sizeof *S), *P = malloc(bh * nn * sizeof *P);
    const double scale = 1.0 / sqrt((double)d);
    for (size_t t = 0; t < bh; t++) /* S = QKᵀ/√d for every head, padding keys too */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < d; c++)
                    s += (double)q[(t * n + i) * d + c] * k[(t * n + j) * d + c];
                S[t * nn + (size_t)i * n + j] = s * scale;
            }
    for (size_t t = 0; t < bh; t++) {
        const float *mb = mask ? mask + (t / (size_t)H) * n : NULL;
        for (int i = 0; i < n; i++) {
            /* -inf for a padding key: the limit of HuggingFace's most-negative-float
             * additive mask, whose exp underflows to exactly 0 */
            const double *s = S + t * nn + (size_t)i * n;
            double *p = P + t * nn + (size_t)i * n, m = -INFINITY, sum = 0;
            for (int j = 0; j < n; j++) {
                p[j] = mb && mb[j] == 0 ? -INFINITY : s[j];
                if (p[j] > m) m = p[j];
            }
            for (int j = 0; j < n; j++) {
                p[j] = m == -INFINITY || p[j] == -INFINITY ? 0.0 : exp(p[j] - m);
                sum += p[j];
            }
            for (int j = 0; j < n; j++) p[j] = sum > 0 ? p[j] / sum : 0.0; /* 0: no real key */
        }
    }
    for (size_t t = 0; t < bh; t++)
        for (int i = 0; i < n; i++)
            for (int c = 0; c < d; c++) {
                double acc = 0;
                for (int j = 0; j < n; j++)
                    acc += P[t * nn + (size_t)i * n + j] * v[(t * n + j) * d + c];
                out[(t * n + i) * d + c] = (float)acc;
            }
    if (probs)
        for (size_t x = 0; x < bh * nn; x++) probs[x] = (float)P[x];
    free(S);
    free(P);
}
