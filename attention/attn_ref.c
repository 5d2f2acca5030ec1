/* Scalar references: the definitions written as plain loops in double, no BLAS, no
 * threads. Slow on purpose; the tests' oracle for the kernels beside them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_attn.h"

static int is_real(const float *mb, int j) { return !mb || mb[j] != 0; }

static double dot(const float *a, const float *b, int d) {
    double s = 0;
    for (int c = 0; c < d; c++) s += (double)a[c] * b[c];
    return s;
}

void lb_attn_full_ref(float *out, float *probs, const float *q, const float *k, const float *v,
                      const float *mask, int B, int H, int n, int d) {
    double *p = malloc((size_t)n * sizeof *p), *acc = malloc((size_t)d * sizeof *acc);
    const double scale = 1.0 / sqrt((double)d);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            size_t t = (size_t)b * H + h;
            const float *qh = q + t * n * d, *kh = k + t * n * d, *vh = v + t * n * d;
            const float *mb = mask ? mask + (size_t)b * n : NULL;
            for (int i = 0; i < n; i++) {
                double m = -INFINITY, sum = 0;
                for (int j = 0; j < n; j++)
                    if (is_real(mb, j)) {
                        p[j] = dot(qh + (size_t)i * d, kh + (size_t)j * d, d) * scale;
                        if (p[j] > m) m = p[j];
                    }
                for (int j = 0; j < n; j++) {
                    p[j] = is_real(mb, j) ? exp(p[j] - m) : 0.0;
                    sum += p[j];
                }
                for (int c = 0; c < d; c++) acc[c] = 0;
                for (int j = 0; j < n; j++) {
                    /* sum 0: no real key; a NaN score among the real keys makes sum NaN
                     * and the row NaN, as it should */
                    p[j] = sum == 0 ? 0.0 : p[j] / sum;
                    for (int c = 0; c < d; c++) acc[c] += p[j] * vh[(size_t)j * d + c];
                    if (probs) probs[(t * n + i) * n + j] = (float)p[j];
                }
                for (int c = 0; c < d; c++) out[(t * n + i) * d + c] = (float)acc[c];
            }
        }
    free(p);
    free(acc);
}

void lb_attn_stream_ref(float *out, const float *q, const float *k, const float *v,
                        const float *mask, int B, int H, int n, int d, int tile) {
    double *acc = malloc((size_t)d * sizeof *acc);
    const double scale = 1.0 / sqrt((double)d);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            size_t t = (size_t)b * H + h;
            const float *qh = q + t * n * d, *kh = k + t * n * d, *vh = v + t * n * d;
            const float *mb = mask ? mask + (size_t)b * n : NULL;
            for (int i = 0; i < n; i++) {
                double m = -INFINITY, l = 0;
                int nan = 0; /* a NaN score among the real keys: the row is NaN */
                for (int c = 0; c < d; c++) acc[c] = 0;
                for (int j0 = 0; j0 < n; j0 += tile) {
                    int j1 = j0 + tile < n ? j0 + tile : n;
                    double mt = -INFINITY;
                    for (int j = j0; j < j1; j++)
                        if (is_real(mb, j)) {
                            double s = dot(qh + (size_t)i * d, kh + (size_t)j * d, d) * scale;
                            if (s > mt) mt = s;
                            nan |= s != s;
                        }
                    if (mt == -INFINITY) continue; /* tile of padding (or NaN) only */
                    double mnew = mt > m ? mt : m;
                    double alpha = exp(m - mnew); /* m = -inf gives 0 */
                    l *= alpha;
                    for (int c = 0; c < d; c++) acc[c] *= alpha;
                    for (int j = j0; j < j1; j++)
                        if (is_real(mb, j)) {
                            double s = dot(qh + (size_t)i * d, kh + (size_t)j * d, d) * scale;
                            double e = exp(s - mnew);
                            l += e;
                            for (int c = 0; c < d; c++) acc[c] += e * vh[(size_t)j * d + c];
                        }
                    m = mnew;
                }
                for (int c = 0; c < d; c++)
                    out[(t * n + i) * d + c] = nan ? NAN : l > 0 ? (float)(acc[c] / l) : 0.0f;
            }
        }
    free(acc);
}

void lb_attn_linformer_ref(float *out, float *probs, const float *q, const float *k,
                           const float *v, const float *mask, const float *E, const float *F,
                           int B, int H, int n, int d, int kp, lb_share share) {
    double *kb = malloc((size_t)kp * d * sizeof *kb), *vb = malloc((size_t)kp * d * sizeof *vb);
    double *p = malloc((size_t)kp * sizeof *p), *acc = malloc((size_t)d * sizeof *acc);
    const double scale = 1.0 / sqrt((double)d);
    for (int b = 0; b < B; b++) {
        const float *mb = mask ? mask + (size_t)b * n : NULL;
        int any = 0;
        for (int j = 0; j < n; j++) any |= is_real(mb, j);
        for (int h = 0; h < H; h++) {
            size_t t = (size_t)b * H + h;
            const float *qh = q + t * n * d, *kh = k + t * n * d, *vh = v + t * n * d;
            size_t eoff = share == LB_SHARE_NONE ? (size_t)h * kp * n : 0;
            const float *Eh = E + eoff, *Fh = F + eoff;
            if (!any) { /* every key is padding */
                memset(out + t * n * d, 0, (size_t)n * d * sizeof *out);
                if (probs) memset(probs + t * n * kp, 0, (size_t)n * kp * sizeof *probs);
                continue;
            }
            /* K̄ = E·diag(mask)·K, V̄ = F·diag(mask)·V: sums over the real keys only */
            for (size_t x = 0; x < (size_t)kp * d; x++) kb[x] = vb[x] = 0;
            for (int r = 0; r < kp; r++)
                for (int j = 0; j < n; j++) {
                    if (!is_real(mb, j)) continue;
                    double e = Eh[(size_t)r * n + j], f = Fh[(size_t)r * n + j];
                    for (int c = 0; c < d; c++) {
                        kb[(size_t)r * d + c] += e * kh[(size_t)j * d + c];
                        vb[(size_t)r * d + c] += f * vh[(size_t)j * d + c];
                    }
                }
            for (int i = 0; i < n; i++) {
                double m = -INFINITY, sum = 0;
                for (int r = 0; r < kp; r++) {
                    double s = 0;
                    for (int c = 0; c < d; c++)
                        s += (double)qh[(size_t)i * d + c] * kb[(size_t)r * d + c];
                    p[r] = s * scale;
                    if (p[r] > m) m = p[r];
                }
                for (int r = 0; r < kp; r++) {
                    p[r] = exp(p[r] - m);
                    sum += p[r];
                }
                for (int c = 0; c < d; c++) acc[c] = 0;
                for (int r = 0; r < kp; r++) {
                    p[r] /= sum;
                    for (int c = 0; c < d; c++) acc[c] += p[r] * vb[(size_t)r * d + c];
                    if (probs) probs[(t * n + i) * kp + r] = (float)p[r];
                }
                for (int c = 0; c < d; c++) out[(t * n + i) * d + c] = (float)acc[c];
            }
        }
    }
    free(kb);
    free(vb);
    free(p);
    free(acc);
}
