/* Row-wise encoder layers: linear (through OpenBLAS), LayerNorm, exact GELU,
 * embeddings, head split/merge. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "lb_util.h"
#include "model_int.h"

void lb_linear(float *y, const float *x, const float *W, const float *b, int rows, int in, int out) {
    if (b) {
        for (long r = 0; r < rows; r++) memcpy(y + r * (long)out, b, sizeof(float) * (size_t)out);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.0f, x, in, W, in,
                b ? 1.0f : 0.0f, y, out);
}

void lb_layer_norm_forward(float *y, float *sum, float *mean, float *rstd, const float *x,
                       const float *add, const float *g, const float *b, long rows, int h,
                       float eps, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * h, *ar = add ? add + r * h : NULL;
        float *sr = sum ? sum + r * h : y + r * h, *yr = y + r * h;
        double s = 0, ss = 0;
        /* elementwise, so sum/y aliasing x is safe */
        if (ar)
            for (int j = 0; j < h; j++) sr[j] = xr[j] + ar[j];
        else if (sr != xr)
            memcpy(sr, xr, sizeof(float) * (size_t)h);
        for (int j = 0; j < h; j++) s += sr[j];
        double mu = s / h;
        /* two-pass variance: no cancellation when |mean| >> spread */
        for (int j = 0; j < h; j++) {
            double dlt = sr[j] - mu;
            ss += dlt * dlt;
        }
        double inv = 1.0 / sqrt(ss / h + (double)eps);
        if (mean) mean[r] = (float)mu;
        if (rstd) rstd[r] = (float)inv;
        for (int j = 0; j < h; j++) yr[j] = (float)((sr[j] - mu) * inv) * g[j] + b[j];
    }
}

void lb_add_layer_norm(float *x, const float *add, const float *g, const float *b, long rows,
                       int h, float eps, int threads) {
    lb_layer_norm_forward(x, NULL, NULL, NULL, x, add, g, b, rows, h, eps, threads);
}

void lb_layer_forward(lb_layer_act *A, const float *x, const lb_layer_weights *W,
                      const lb_config *c, lb_attn *attn, const float *mask, const float *E,
                      const float *F, int B, int n, int threads) {
    const int h = c->hidden, H = c->heads, d = h / H, T = B * n, f = c->intermediate;
    lb_linear(A->tmp, x, W->wq, W->bq, T, h, h);
    lb_split_heads(A->q, A->tmp, B, H, n, d, threads);
    lb_linear(A->tmp, x, W->wk, W->bk, T, h, h);
    lb_split_heads(A->k, A->tmp, B, H, n, d, threads);
    lb_linear(A->tmp, x, W->wv, W->bv, T, h, h);
    lb_split_heads(A->v, A->tmp, B, H, n, d, threads);
    lb_attn_forward(attn, A->ao, A->probs, A->q, A->k, A->v, mask, E, F);
    lb_merge_heads(A->ctx, A->ao, B, H, n, d, threads);
    lb_linear(A->proj, A->ctx, W->wo, W->bo, T, h, h);
    lb_layer_norm_forward(A->x1, A->s1, A->mean1, A->rstd1, x, A->proj, W->ln1_g, W->ln1_b, T, h,
                      c->ln_eps, threads);
    lb_linear(A->u, A->x1, W->wi, W->bi, T, h, f);
    lb_gelu_forward(A->a, A->u, (size_t)T * (size_t)f, threads);
    lb_linear(A->proj, A->a, W->wf, W->bf, T, f, h);
    lb_layer_norm_forward(A->out, A->s2, A->mean2, A->rstd2, A->x1, A->proj, W->ln2_g, W->ln2_b, T,
                      h, c->ln_eps, threads);
}

void lb_fill_normal(float *x, size_t len, float scale, uint64_t seed, uint64_t stream, int threads) {
    const size_t chunk = (size_t)1 << 16;
    const long nchunks = (long)((len + chunk - 1) / chunk);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
    for (long c = 0; c < nchunks; c++) {
        lb_rng r;
        lb_rng_seed(&r, lb_mix64(seed ^ lb_mix64(stream * 0x9E3779B97F4A7C15ull + (uint64_t)c + 1)));
        size_t i = (size_t)c * chunk, end = i + chunk < len ? i + chunk : len;
        while (i < end) {
            double u, v, s;
            do {
                u = 2.0 * lb_rng_uniform(&r) - 1.0;
                v = 2.0 * lb_rng_uniform(&r) - 1.0;
                s = u * u + v * v;
            } while (s >= 1.0 || s == 0.0);
            double f = sqrt(-2.0 * log(s) / s);
            x[i++] = scale * (float)(u * f);
            if (i < end) x[i++] = scale * (float)(v * f);
        }
    }
}

void lb_positions(int32_t *positions, const lb_config *c, const int32_t *ids, int B, int n) {
    for (int bi = 0; bi < B; bi++) {
        const int32_t *id = ids + (long)bi * n;
        int32_t *p = positions + (long)bi * n;
        if (c->type == LB_MODEL_BERT) {
            for (int i = 0; i < n; i++) p[i] = i;
            continue;
        }
        /* HF create_position_ids_from_input_ids: pad tokens keep pad_id, others count
         * up from pad_id + 1 in order, skipping pads. */
        int32_t next = c->pad_id + 1;
        for (int i = 0; i < n; i++) p[i] = id[i] == c->pad_id ? c->pad_id : next++;
    }
}

int lb_positions_checked(int32_t *positions, const lb_config *c, const int32_t *ids,
                         const int32_t *token_types, const int32_t *labels, const float *mask,
                         int B, int n, char *msg, size_t msglen) {
    const int32_t *tt = token_types;
    lb_positions(positions, c, ids, B, n);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < n; i++) {
            long t = (long)b * n + i;
            if (ids[t] < 0 || ids[t] >= c->vocab_size)
                return lb_fail(msg, msglen, "ids[%d][%d] = %d is outside the vocabulary [0, %d)", b, i,
                               ids[t], c->vocab_size);
            if (tt && (tt[t] < 0 || tt[t] >= c->type_vocab))
                return lb_fail(msg, msglen, "token_types[%d][%d] = %d is outside [0, type_vocab_size = %d)",
                               b, i, tt[t], c->type_vocab);
            if (labels && labels[t] != LB_MLM_IGNORE && (labels[t] < 0 || labels[t] >= c->vocab_size))
                return lb_fail(msg, msglen, "labels[%d][%d] = %d is neither %d nor in [0, %d)", b, i,
                               labels[t], LB_MLM_IGNORE, c->vocab_size);
            if (mask && !(mask[t] == 0.0f || mask[t] == 1.0f))
                return lb_fail(msg, msglen, "mask[%d][%d] = %g, expected 0 or 1", b, i, (double)mask[t]);
            if (positions[t] >= c->max_pos)
                return lb_fail(msg, msglen, "ids[%d][%d] needs position %d, past "
                               "max_position_embeddings = %d", b, i, positions[t], c->max_pos);
        }
    return 0;
}

void lb_embed(float *x, const struct lb_model *m, const int32_t *ids, const int32_t *token_types,
              const int32_t *positions, long tokens, int threads) {
    const int h = m->c.hidden;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long t = 0; t < tokens; t++) {
        const float *w = m->word + (long)ids[t] * h, *p = m->pos + (long)positions[t] * h;
        const float *ty = m->type + (long)(token_types ? token_types[t] : 0) * h;
        float *xr = x + t * h;
        for (int j = 0; j < h; j++) xr[j] = w[j] + p[j] + ty[j];
    }
}

void lb_split_heads(float *dst, const float *src, int B, int H, int n, int d, int threads) {
#pragma omp parallel for collapse(2) num_threads(threads) schedule(static)
    for (int b = 0; b < B; b++)
        for (int hh = 0; hh < H; hh++)
            for (int i = 0; i < n; i++)
                memcpy(dst + (((long)b * H + hh) * n + i) * d,
                       src + ((long)b * n + i) * ((long)H * d) + (long)hh * d, sizeof(float) * (size_t)d);
}

void lb_merge_heads(float *dst, const float *src, int B, int H, int n, int d, int threads) {
#pragma omp parallel for collapse(2) num_threads(threads) schedule(static)
    for (int b = 0; b < B; b++)
        for (int hh = 0; hh < H; hh++)
            for (int i = 0; i < n; i++)
                memcpy(dst + ((long)b * n + i) * ((long)H * d) + (long)hh * d,
                       src + (((long)b * H + hh) * n + i) * d, sizeof(float) * (size_t)d);
}
