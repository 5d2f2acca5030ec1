/* Scalar references of the approximate attentions (local, Nyström, Performer,
 * scatterbrain): the definitions as plain loops in double, no BLAS, no threads. Where
 * the kernels reorder the products (Performer's φ(Q)(φ(K)ᵀV), scatterbrain's
 * correction C on the window) the references form each weight w_ij explicitly and
 * take Σ_j w_ij v_j / Σ_j w_ij, so the two share no algebra beyond the definition. */
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

/* out row = Σ_j w[j] v_j / Σ_j w[j] over n keys (w = 0 skipped); zero if the sum is 0. */
static void weighted_row(float *o, const double *w, const float *vh, int n, int d, double *acc) {
    double sum = 0;
    for (int c = 0; c < d; c++) acc[c] = 0;
    for (int j = 0; j < n; j++) {
        if (w[j] == 0) continue;
        sum += w[j];
        for (int c = 0; c < d; c++) acc[c] += w[j] * vh[(size_t)j * d + c];
    }
    for (int c = 0; c < d; c++) o[c] = sum > 0 ? (float)(acc[c] / sum) : 0.0f;
}

void lb_attn_local_ref(float *out, const float *q, const float *k, const float *v,
                       const float *mask, int B, int H, int n, int d, int w) {
    double *p = malloc((size_t)n * sizeof *p), *acc = malloc((size_t)d * sizeof *acc);
    const double scale = 1.0 / sqrt((double)d);
    for (size_t t = 0; t < (size_t)B * H; t++) {
        const float *qh = q + t * n * d, *kh = k + t * n * d, *vh = v + t * n * d;
        const float *mb = mask ? mask + (t / H) * n : NULL;
        for (int i = 0; i < n; i++) {
            double m = -INFINITY;
            for (int j = 0; j < n; j++) {
                p[j] = NAN;
                if (abs(i - j) > w || !is_real(mb, j)) continue;
                p[j] = dot(qh + (size_t)i * d, kh + (size_t)j * d, d) * scale;
                if (p[j] > m) m = p[j];
            }
            for (int j = 0; j < n; j++) p[j] = isnan(p[j]) ? 0.0 : exp(p[j] - m);
            weighted_row(out + (t * n + i) * d, p, vh, n, d, acc);
        }
    }
    free(p);
    free(acc);
}

/* softmax over the columns j with is_real(mb, j) of S (r×c) in place, row by row */
static void softmax_rows(double *S, int r, int c, const float *mb) {
    for (int i = 0; i < r; i++) {
        double *row = S + (size_t)i * c, m = -INFINITY, sum = 0;
        for (int j = 0; j < c; j++)
            if (is_real(mb, j) && row[j] > m) m = row[j];
        for (int j = 0; j < c; j++) sum += row[j] = is_real(mb, j) ? exp(row[j] - m) : 0.0;
        for (int j = 0; j < c; j++) row[j] /= sum;
    }
}

/* C = A·B with A (r×s), B (s×c), all double */
static void mm(double *C, const double *A, const double *Bm, int r, int s, int c) {
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) {
            double x = 0;
            for (int l = 0; l < s; l++) x += A[(size_t)i * s + l] * Bm[(size_t)l * c + j];
            C[(size_t)i * c + j] = x;
        }
}

/* Z ≈ A⁺ by the Nyströmformer iteration; t (3·m²) scratch. */
static void pinv_ref(double *Z, const double *A, int m, int iters, double *t) {
    double c1 = 0, ci = 0;
    for (int j = 0; j < m; j++) {
        double s = 0, r = 0;
        for (int i = 0; i < m; i++) s += fabs(A[(size_t)i * m + j]), r += fabs(A[(size_t)j * m + i]);
        c1 = s > c1 ? s : c1, ci = r > ci ? r : ci;
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) Z[(size_t)i * m + j] = A[(size_t)j * m + i] / (c1 * ci);
    double *AZ = t, *X = t + (size_t)m * m, *Y = X + (size_t)m * m;
    for (int it = 0; it < iters; it++) {
        mm(AZ, A, Z, m, m, m);
        for (int c = 7; c <= 15; c += 8) { /* X = AZ(7I − AZ), then X = AZ(15I − X) */
            const double *in = c == 7 ? AZ : X;
            for (size_t x = 0; x < (size_t)m * m; x++) Y[x] = -in[x];
            for (int i = 0; i < m; i++) Y[(size_t)i * m + i] += c;
            mm(X, AZ, Y, m, m, m);
        }
        for (size_t x = 0; x < (size_t)m * m; x++) Y[x] = -X[x];
        for (int i = 0; i < m; i++) Y[(size_t)i * m + i] += 13;
        mm(X, Z, Y, m, m, m);
        for (size_t x = 0; x < (size_t)m * m; x++) Z[x] = 0.25 * X[x];
    }
}

/* Landmarks Q̃, K̃ (mm×d) = means of q, k over mm segments of the r real positions:
 * segment l holds real ranks floor(l·r/mm) .. floor((l+1)·r/mm) − 1. seg (n) is
 * scratch. Returns mm. */
static int ref_landmarks(double *qt, double *kt, int *seg, const float *qh, const float *kh,
                         const float *mb, int n, int d, int mm, int r) {
    for (int j = 0, rank = 0; j < n; j++) {
        seg[j] = -1;
        if (!is_real(mb, j)) continue;
        for (int l = 0; l < mm; l++)
            if ((long)l * r / mm <= rank && rank < (long)(l + 1) * r / mm) seg[j] = l;
        rank++;
    }
    for (int l = 0; l < mm; l++) {
        int cnt = 0;
        for (int c = 0; c < d; c++) qt[(size_t)l * d + c] = kt[(size_t)l * d + c] = 0;
        for (int j = 0; j < n; j++) {
            if (seg[j] != l) continue;
            cnt++;
            for (int c = 0; c < d; c++) {
                qt[(size_t)l * d + c] += qh[(size_t)j * d + c];
                kt[(size_t)l * d + c] += kh[(size_t)j * d + c];
            }
        }
        for (int c = 0; c < d; c++) qt[(size_t)l * d + c] /= cnt, kt[(size_t)l * d + c] /= cnt;
    }
    return mm;
}

void lb_attn_nystrom_ref(float *out, const float *q, const float *k, const float *v,
                         const float *mask, int B, int H, int n, int d, int m, int iters) {
    size_t M = (size_t)m, N = (size_t)n;
    double *qt = malloc(M * d * sizeof *qt), *kt = malloc(M * d * sizeof *kt);
    double *F = malloc(N * M * sizeof *F), *Bt = malloc(M * N * sizeof *Bt);
    double *A = malloc(M * M * sizeof *A), *Z = malloc(M * M * sizeof *Z);
    double *t = malloc(3 * M * M * sizeof *t), *W = malloc(M * d * sizeof *W);
    double *Y = malloc(M * d * sizeof *Y);
    int *seg = malloc(N * sizeof *seg);
    const double scale = 1.0 / sqrt((double)d);
    for (size_t th = 0; th < (size_t)B * H; th++) {
        const float *qh = q + th * n * d, *kh = k + th * n * d, *vh = v + th * n * d;
        const float *mb = mask ? mask + (th / H) * n : NULL;
        int r = 0;
        for (int j = 0; j < n; j++) r += is_real(mb, j);
        if (r == 0) {
            memset(out + th * n * d, 0, N * d * sizeof *out);
            continue;
        }
        int mm_ = ref_landmarks(qt, kt, seg, qh, kh, mb, n, d, m < r ? m : r, r);
        for (int i = 0; i < n; i++)
            for (int l = 0; l < mm_; l++) {
                double s = 0;
                for (int c = 0; c < d; c++) s += qh[(size_t)i * d + c] * kt[(size_t)l * d + c];
                F[(size_t)i * mm_ + l] = s * scale;
            }
        for (int l = 0; l < mm_; l++) {
            for (int j = 0; j < mm_; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) s += qt[(size_t)l * d + c] * kt[(size_t)j * d + c];
                A[(size_t)l * mm_ + j] = s * scale;
            }
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) s += qt[(size_t)l * d + c] * kh[(size_t)j * d + c];
                Bt[(size_t)l * n + j] = s * scale;
            }
        }
        softmax_rows(F, n, mm_, NULL);
        softmax_rows(A, mm_, mm_, NULL);
        softmax_rows(Bt, mm_, n, mb);
        for (int l = 0; l < mm_; l++)
            for (int c = 0; c < d; c++) {
                double s = 0;
                for (int j = 0; j < n; j++) s += Bt[(size_t)l * n + j] * vh[(size_t)j * d + c];
                W[(size_t)l * d + c] = s;
            }
        pinv_ref(Z, A, mm_, iters, t);
        mm(Y, Z, W, mm_, mm_, d);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < d; c++) {
                double s = 0;
                for (int l = 0; l < mm_; l++) s += F[(size_t)i * mm_ + l] * Y[(size_t)l * d + c];
                out[(th * n + i) * d + c] = (float)s;
            }
    }
    free(qt), free(kt), free(F), free(Bt), free(A), free(Z), free(t), free(W), free(Y);
    free(seg);
}

/* Feature exponents t_l = ω_lᵀx/d^¼ − ‖x‖²/(2√d) of one row x (d) into t (m). */
static void feat(double *t, const float *x, const float *omega, int m, int d) {
    double sq = dot(x, x, d) / (2 * sqrt((double)d)), s4 = pow((double)d, -0.25);
    for (int l = 0; l < m; l++) t[l] = dot(omega + (size_t)l * d, x, d) * s4 - sq;
}

/* The keys' exponents tk (n×m) of one head and their max over real keys (b). */
static double key_feats(double *tk, const float *kh, const float *mb, const float *omega, int n,
                        int m, int d) {
    double b = -INFINITY;
    for (int j = 0; j < n; j++) {
        if (!is_real(mb, j)) {
            for (int l = 0; l < m; l++) tk[(size_t)j * m + l] = 0; /* never used */
            continue;
        }
        feat(tk + (size_t)j * m, kh + (size_t)j * d, omega, m, d);
        for (int l = 0; l < m; l++) b = tk[(size_t)j * m + l] > b ? tk[(size_t)j * m + l] : b;
    }
    return b;
}

/* Shared by performer (w < 0: no window) and scatterbrain. */
static void favor_ref(float *out, const float *q, const float *k, const float *v,
                      const float *mask, const float *omega, int B, int H, int n, int d, int m,
                      int w) {
    double *tk = malloc((size_t)n * m * sizeof *tk), *tq = malloc((size_t)m * sizeof *tq);
    double *wt = malloc((size_t)n * sizeof *wt), *acc = malloc((size_t)d * sizeof *acc);
    const double scale = 1.0 / sqrt((double)d);
    for (size_t t = 0; t < (size_t)B * H; t++) {
        const float *qh = q + t * n * d, *kh = k + t * n * d, *vh = v + t * n * d;
        const float *mb = mask ? mask + (t / H) * n : NULL;
        double b = key_feats(tk, kh, mb, omega, n, m, d);
        for (size_t x = 0; x < (size_t)n * m; x++) tk[x] = exp(tk[x] - b); /* the keys' features */
        for (int i = 0; i < n; i++) {
            feat(tq, qh + (size_t)i * d, omega, m, d);
            double a = -INFINITY; /* the row's scale: exp(−a − b) on every weight */
            for (int l = 0; l < m; l++) a = tq[l] > a ? tq[l] : a;
            for (int j = 0; j < n; j++)
                if (w >= 0 && abs(i - j) <= w && is_real(mb, j)) {
                    double s = dot(qh + (size_t)i * d, kh + (size_t)j * d, d) * scale - b;
                    a = s > a ? s : a;
                }
            for (int l = 0; l < m; l++) tq[l] = exp(tq[l] - a); /* the query's features */
            for (int j = 0; j < n; j++) {
                wt[j] = 0;
                if (!is_real(mb, j)) continue;
                if (w >= 0 && abs(i - j) <= w) { /* exact inside the window */
                    wt[j] = exp(dot(qh + (size_t)i * d, kh + (size_t)j * d, d) * scale - b - a);
                    continue;
                }
                for (int l = 0; l < m; l++) wt[j] += tq[l] * tk[(size_t)j * m + l];
                wt[j] /= m;
            }
            weighted_row(out + (t * n + i) * d, wt, vh, n, d, acc);
        }
    }
    free(tk), free(tq), free(wt), free(acc);
}

void lb_attn_performer_ref(float *out, const float *q, const float *k, const float *v,
                           const float *mask, const float *omega, int B, int H, int n, int d,
                           int m) {
    favor_ref(out, q, k, v, mask, omega, B, H, n, d, m, -1);
}

void lb_attn_scatterbrain_ref(float *out, const float *q, const float *k, const float *v,
                              const float *mask, const float *omega, int B, int H, int n,
                              int d, int m, int w) {
    favor_ref(out, q, k, v, mask, omega, B, H, n, d, m, w < 0 ? 0 : w);
}
