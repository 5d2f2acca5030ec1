/* Backward of the row-wise layers (model_int.h): linear, bias, LayerNorm, exact
 * GELU, embeddings. Every reduction over rows runs in a fixed order per column
 * (threads split the columns, never the rows), so results do not depend on timing. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model_int.h"

#define COLS 64 /* columns one thread sums at a time */

void lb_colsum_acc(float *db, const float *dy, long rows, int cols, int threads) {
    const int nb = (cols + COLS - 1) / COLS;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int blk = 0; blk < nb; blk++) {
        int j0 = blk * COLS, j1 = j0 + COLS < cols ? j0 + COLS : cols;
        double acc[COLS] = {0};
        for (long r = 0; r < rows; r++) {
            const float *y = dy + r * cols;
            for (int j = j0; j < j1; j++) acc[j - j0] += y[j];
        }
        for (int j = j0; j < j1; j++) db[j] += (float)acc[j - j0];
    }
}

void lb_linear_backward(float *dx, int dx_acc, float *dW, float *db, const float *dy,
                        const float *x, const float *W, int rows, int in, int out, int threads) {
    if (dx) /* dx (rows,in) = dy (rows,out) · W (out,in) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, in, out, 1.0f, dy, out, W,
                    in, dx_acc ? 1.0f : 0.0f, dx, in);
    /* dW (out,in) += dyᵀ (out,rows) · x (rows,in) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, rows, 1.0f, dy, out, x, in, 1.0f,
                dW, in);
    if (db) lb_colsum_acc(db, dy, rows, out, threads);
}

void lb_layer_norm_backward(float *dx, int dx_acc, float *dg, float *db, const float *dy,
                            const float *s, const float *mean, const float *rstd, const float *g,
                            long rows, int h, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const float *yr = dy + r * h, *sr = s + r * h;
        float *xr = dx + r * h;
        const double mu = mean[r], inv = rstd[r];
        double m1 = 0, m2 = 0; /* mean(dx̂) and mean(dx̂ · x̂) */
        for (int j = 0; j < h; j++) {
            double xh = (sr[j] - mu) * inv, dxh = (double)yr[j] * g[j];
            m1 += dxh;
            m2 += dxh * xh;
        }
        m1 /= h;
        m2 /= h;
        for (int j = 0; j < h; j++) {
            double xh = (sr[j] - mu) * inv, dxh = (double)yr[j] * g[j];
            float v = (float)(inv * (dxh - m1 - xh * m2));
            xr[j] = dx_acc ? xr[j] + v : v;
        }
    }
    const int nb = (h + COLS - 1) / COLS;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int blk = 0; blk < nb; blk++) {
        int j0 = blk * COLS, j1 = j0 + COLS < h ? j0 + COLS : h;
        double ag[COLS] = {0}, ab[COLS] = {0};
        for (long r = 0; r < rows; r++) {
            const float *yr = dy + r * h, *sr = s + r * h;
            const double mu = mean[r], inv = rstd[r];
            for (int j = j0; j < j1; j++) {
                ag[j - j0] += (double)yr[j] * ((sr[j] - mu) * inv);
                ab[j - j0] += yr[j];
            }
        }
        for (int j = j0; j < j1; j++) {
            dg[j] += (float)ag[j - j0];
            db[j] += (float)ab[j - j0];
        }
    }
}

void lb_embed_backward(float *dword, float *dpos, float *dtype, const float *dx,
                       const lb_config *c, const int32_t *ids, const int32_t *token_types,
                       const int32_t *positions, long tokens, int threads) {
    const int h = c->hidden, nb = (h + COLS - 1) / COLS;
    const int rob = c->type == LB_MODEL_ROBERTA;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int blk = 0; blk < nb; blk++) {
        int j0 = blk * COLS, j1 = j0 + COLS < h ? j0 + COLS : h;
        for (long t = 0; t < tokens; t++) { /* in token order: deterministic */
            const float *g = dx + t * h;
            /* PyTorch padding_idx: no lookup gradient for the pad row(s) */
            float *w = ids[t] == c->pad_id ? NULL : dword + (long)ids[t] * h;
            float *p = rob && positions[t] == c->pad_id ? NULL : dpos + (long)positions[t] * h;
            float *ty = dtype + (long)(token_types ? token_types[t] : 0) * h;
            for (int j = j0; j < j1; j++) {
                if (w) w[j] += g[j];
                if (p) p[j] += g[j];
                ty[j] += g[j];
            }
        }
    }
}
