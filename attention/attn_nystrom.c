/* Nyström attention (Nyströmformer, Xiong et al. 2021; no convolution skip). Per
 * (b,h): landmarks Q̃, K̃ as segment means over the real positions, the three small
 * softmax matrices F̃ = softmax(QK̃ᵀ/√d) (n×m), Ã = softmax(Q̃K̃ᵀ/√d) (m×m),
 * B̃ = softmax(Q̃Kᵀ/√d) (m×n), Z ≈ Ã⁺ by the paper's iteration, and the output
 * evaluated right to left, F̃·(Z·(B̃·V)), so no n×n or n×m×m product appears. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"

static void gemm(int M, int N, int K, float alpha, const float *A, const float *B, float beta,
                 float *C) { /* row-major, all dense, no transposes */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha, A, K, B, N, beta, C,
                N);
}

/* X ← c·I − X for an m×m X. */
static void cminus(float *X, float c, int m) {
    for (size_t i = 0; i < (size_t)m * m; i++) X[i] = -X[i];
    for (int i = 0; i < m; i++) X[(size_t)i * m + i] += c;
}

/* Z ≈ A⁺ (m×m) by Z ← ¼Z(13I − AZ(15I − AZ(7I − AZ))), from Z₀ = Aᵀ/(‖A‖₁‖A‖∞).
 * t1, t2, t3 are m×m scratch. Returns the buffer that holds Z (z or t3). */
static float *pinv(float *z, float *t1, float *t2, float *t3, const float *A, int m, int iters) {
    float c1 = 0, ci = 0; /* max column sum, max row sum */
    for (int j = 0; j < m; j++) {
        float s = 0, r = 0;
        for (int i = 0; i < m; i++) {
            s += fabsf(A[(size_t)i * m + j]);
            r += fabsf(A[(size_t)j * m + i]);
        }
        c1 = s > c1 ? s : c1;
        ci = r > ci ? r : ci;
    }
    const float s0 = 1.0f / (c1 * ci); /* softmax rows: ci = 1, c1 >= 1 */
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) z[(size_t)i * m + j] = A[(size_t)j * m + i] * s0;
    for (int it = 0; it < iters; it++) {
        gemm(m, m, m, 1.0f, A, z, 0.0f, t1); /* AZ */
        memcpy(t2, t1, (size_t)m * m * sizeof *t2);
        cminus(t2, 7.0f, m);
        gemm(m, m, m, 1.0f, t1, t2, 0.0f, t3); /* AZ(7I − AZ) */
        cminus(t3, 15.0f, m);
        gemm(m, m, m, 1.0f, t1, t3, 0.0f, t2); /* AZ(15I − ...) */
        cminus(t2, 13.0f, m);
        gemm(m, m, m, 0.25f, z, t2, 0.0f, t3); /* ¼Z(13I − ...) */
        float *sw = z;
        z = t3, t3 = sw;
    }
    return z;
}

/* Segment means over the real positions: Q̃, K̃ (m×d). Returns m' = min(m, r). */
static int landmarks(float *qt, float *kt, const float *q, const float *k, const float *mb, int n,
                     int d, int m) {
    int r = 0;
    for (int j = 0; j < n; j++) r += !mb || mb[j] != 0;
    if (m > r) m = r;
    memset(qt, 0, (size_t)m * d * sizeof *qt);
    memset(kt, 0, (size_t)m * d * sizeof *kt);
    for (int j = 0, rank = 0, l = 0, cnt = 0; j < n && m > 0; j++) {
        if (mb && mb[j] == 0) continue;
        while ((long)(l + 1) * r / m <= rank) l++, cnt = 0; /* segment of this rank */
        float *qa = qt + (size_t)l * d, *ka = kt + (size_t)l * d;
        for (int c = 0; c < d; c++) qa[c] += q[(size_t)j * d + c], ka[c] += k[(size_t)j * d + c];
        cnt++;
        rank++;
        if ((long)(l + 1) * r / m == rank) { /* segment complete: mean */
            for (int c = 0; c < d; c++) qa[c] /= (float)cnt, ka[c] /= (float)cnt;
        }
    }
    return m;
}

/* One (b,h) with m' >= 1 landmarks; ws as laid out by lb_attn_approx_layout. */
static void head(const lb_attn *a, float *o, float *ws, const float *q, const float *k,
                 const float *v, const float *mb, int ext) {
    const int n = a->cfg.n, d = a->cfg.d, m = a->cfg.k, iters = a->cfg.iters ? a->cfg.iters : 6;
    const size_t M = (size_t)m;
    float *Ft = ws, *Bt = Ft + (size_t)n * M, *At = Bt + (size_t)n * M, *z = At + M * M;
    float *t1 = z + M * M, *t2 = t1 + M * M, *t3 = t2 + M * M, *qt = t3 + M * M;
    float *kt = qt + M * d, *W = kt + M * d, *Y = W + M * d;
    int mm = landmarks(qt, kt, q, k, mb, n, d, m);
    const float sc = 1.0f / sqrtf((float)d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, mm, d, sc, q, d, kt, d, 0.0f, Ft, mm);
    for (int i = 0; i < n; i++) lb_softmax_row(Ft + (size_t)i * mm, mm, NULL);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mm, mm, d, sc, qt, d, kt, d, 0.0f, At,
                mm);
    for (int i = 0; i < mm; i++) lb_softmax_row(At + (size_t)i * mm, mm, NULL);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mm, ext, d, sc, qt, d, k, d, 0.0f, Bt,
                ext);
    for (int i = 0; i < mm; i++) lb_softmax_row(Bt + (size_t)i * ext, ext, mb);
    gemm(mm, d, ext, 1.0f, Bt, v, 0.0f, W);             /* B̃V (m×d) */
    float *Z = pinv(z, t1, t2, t3, At, mm, iters);
    gemm(mm, d, mm, 1.0f, Z, W, 0.0f, Y);               /* Z(B̃V) */
    gemm(n, d, mm, 1.0f, Ft, Y, 0.0f, o);               /* F̃(Z B̃V) */
}

void lb_attn_nystrom_run(lb_attn *a, float *out, const float *q, const float *k,
                         const float *v, const float *mask) {
    lb_attn_each_head(a, out, q, k, v, mask, head);
}
