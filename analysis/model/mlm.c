/* The MLM training step (lb_train_model.h): forward through the same layer function
 * as lb_encoder_forward, saving what the backward needs; the MLM head and its loss;
 * then the backward, layer by layer, into a gradient block laid out as the
 * parameters. */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_util.h"
#include "model_int.h"

#define HEAD_CHUNK 256 /* rows of logits at once: 256 × 50265 floats = 51 MB */

struct lb_mlm {
    lb_model *m;
    int B, n, T, threads, cols, slice; /* slice: learned E/F used at n < lin_n */
    lb_attn *attn;
    void *block;
    int32_t *pos;                  /* (T) */
    int32_t *shift;                /* (B): added to the positions of each sequence */
    int has_shift;                 /* 0: shift unused (positions as lb_positions gives them) */
    float *s0, *mean0, *rstd0;     /* embedding sum (T,h), its LayerNorm stats (T) */
    float **xin;                   /* L+1 of (T,h): layer inputs, then the final output */
    lb_layer_act *act;             /* L saved activations (tmp, ao, proj, a: shared scratch) */
    float *dx, *d1, *dtmp, *dq, *dk, *dv, *dao, *dinter; /* backward scratch */
    float *Es, *Fs, *dEs, *dFs;    /* slices of learned E/F, their gradients */
    size_t slice_elems;            /* floats of Es (and of Fs) */
    lb_head_ws hw;
};


static size_t sat_mul(size_t a, size_t b) {
    size_t r;
    return lb_mul_size(&r, a, b) ? SIZE_MAX : r;
}

/* floats of one slice set (E or F) at length n: the model's layout with n columns */
static size_t slice_floats(const lb_config *c, int n) {
    if (c->attn != LB_ATTN_LINFORMER || n == c->lin_n) return 0;
    size_t rows = (size_t)c->lin_k * (c->lin_share == LB_SHARE_NONE ? (size_t)c->heads : 1);
    size_t tensors = c->lin_share == LB_SHARE_LAYERWISE ? 1 : (size_t)c->layers;
    return sat_mul(sat_mul(rows, (size_t)n), tensors);
}

/* Lay the block out (w NULL: only count). Every buffer starts on 64 bytes. */
static size_t carve(lb_mlm *w, char *base, const lb_config *c, int B, int n) {
    const size_t T = (size_t)B * (size_t)n, h = (size_t)c->hidden, f = (size_t)c->intermediate;
    const size_t cols = c->attn == LB_ATTN_LINFORMER ? (size_t)c->lin_k : (size_t)n;
    const size_t Th = sat_mul(T, h), Tf = sat_mul(T, f), L = (size_t)c->layers;
    const size_t chunk = T < HEAD_CHUNK ? T : HEAD_CHUNK;
    size_t off = 0;
#define TAKE(p, elems, sz)                                                                \
    do {                                                                                  \
        size_t b_ = sat_mul((elems), (sz));                                               \
        if (w) (p) = (void *)(base + off);                                                \
        off = b_ > SIZE_MAX / 2 || off > SIZE_MAX / 2 ? SIZE_MAX / 2 : off + ((b_ + 63) & ~(size_t)63); \
    } while (0)
#define F(p, e) TAKE(p, e, sizeof(float))
    F(w->pos, T);
    TAKE(w->shift, (size_t)B, sizeof(int32_t));
    F(w->s0, Th);
    F(w->mean0, T);
    F(w->rstd0, T);
    for (size_t l = 0; l <= L; l++) F(w->xin[l], Th);
    float *tmp = NULL, *ao = NULL, *proj = NULL, *a = NULL;
    F(tmp, Th);
    F(ao, Th);
    F(proj, Th);
    F(a, Tf);
    for (size_t l = 0; l < L; l++) {
        lb_layer_act *A = w ? &w->act[l] : NULL;
        F(A->q, Th);
        F(A->k, Th);
        F(A->v, Th);
        F(A->probs, sat_mul(sat_mul(T, (size_t)c->heads), cols));
        F(A->ctx, Th);
        F(A->s1, Th);
        F(A->x1, Th);
        F(A->u, Tf);
        F(A->s2, Th);
        F(A->mean1, T);
        F(A->rstd1, T);
        F(A->mean2, T);
        F(A->rstd2, T);
        if (w) {
            A->tmp = tmp;
            A->ao = ao;
            A->proj = proj;
            A->a = a;
            A->out = w->xin[l + 1];
        }
    }
    F(w->dx, Th);
    F(w->d1, Th);
    F(w->dtmp, Th);
    F(w->dq, Th);
    F(w->dk, Th);
    F(w->dv, Th);
    F(w->dao, Th);
    F(w->dinter, Tf);
    size_t se = slice_floats(c, n);
    F(w->Es, se);
    F(w->Fs, se);
    F(w->dEs, se);
    F(w->dFs, se);
    F(w->hw.idx, T);
    F(w->hw.lab, T);
    F(w->hw.xp, Th);
    F(w->hw.z0, Th);
    F(w->hw.ha, Th);
    F(w->hw.z, Th);
    F(w->hw.mean, T);
    F(w->hw.rstd, T);
    F(w->hw.dz, Th);
    F(w->hw.dxp, Th);
    F(w->hw.logits, sat_mul(chunk, (size_t)c->vocab_size));
    TAKE(w->hw.rowloss, 2 * chunk, sizeof(double));
#undef F
#undef TAKE
    return off >= SIZE_MAX / 2 ? SIZE_MAX : off;
}

static lb_attn_cfg attn_cfg(const lb_config *c, int B, int n, int threads) {
    lb_attn_cfg a = {.method = c->attn, .B = B, .H = c->heads, .n = n, .d = c->hidden / c->heads,
                     .k = c->attn == LB_ATTN_LINFORMER ? c->lin_k : 0, .share = c->lin_share,
                     .threads = threads, .train = 1};
    return a;
}

void lb_mlm_free(lb_mlm *w) {
    if (!w) return;
    lb_attn_free(w->attn);
    lb_free(w->block);
    free(w->xin);
    free(w->act);
    free(w);
}

int lb_mlm_init(lb_mlm **out, lb_model *m, int B, int n, int threads, char *msg, size_t msglen) {
    *out = NULL;
    const lb_config *c = &m->c;
    if (B < 1 || n < 1) return lb_fail(msg, msglen, "batch B = %d and length n = %d must be >= 1", B, n);
    if ((long long)B * n > 0x7fffffffLL)
        return lb_fail(msg, msglen, "B·n = %lld tokens exceeds 2^31 - 1", (long long)B * n);
    if (c->type == LB_MODEL_ROBERTA && (long)n + c->pad_id + 1 > c->max_pos)
        return lb_fail(msg, msglen, "sequence length n = %d needs positions up to %ld but "
                    "max_position_embeddings = %d", n, (long)n + c->pad_id, c->max_pos);
    if (c->type == LB_MODEL_BERT && n > c->max_pos)
        return lb_fail(msg, msglen, "sequence length n = %d exceeds max_position_embeddings = %d", n,
                    c->max_pos);
    if (c->attn == LB_ATTN_LINFORMER && n > c->lin_n)
        return lb_fail(msg, msglen, "sequence length n = %d exceeds linformer_seq_len = %d", n, c->lin_n);
    threads = threads > 0 ? threads : omp_get_max_threads();
    lb_attn_cfg a = attn_cfg(c, B, n, threads);
    if (lb_attn_check(&a, msg, msglen)) return -1;
    size_t bytes = carve(NULL, NULL, c, B, n);
    if (bytes == SIZE_MAX) return lb_fail(msg, msglen, "B = %d, n = %d: size overflows", B, n);
    lb_mlm *w = calloc(1, sizeof *w);
    if (!w) return lb_fail(msg, msglen, "out of memory");
    w->m = m;
    w->B = B;
    w->n = n;
    w->T = B * n;
    w->threads = threads;
    w->cols = c->attn == LB_ATTN_LINFORMER ? c->lin_k : n;
    w->slice = c->attn == LB_ATTN_LINFORMER && n < c->lin_n;
    w->slice_elems = slice_floats(c, n);
    w->hw.chunk = w->T < HEAD_CHUNK ? w->T : HEAD_CHUNK;
    w->xin = calloc((size_t)c->layers + 1, sizeof *w->xin);
    w->act = calloc((size_t)c->layers, sizeof *w->act);
    w->block = w->xin && w->act ? lb_alloc_big(bytes, 1) : NULL;
    if (!w->block) {
        lb_mlm_free(w);
        return lb_fail(msg, msglen, "out of memory for %zu MB of training activations (B = %d, n = %d)",
                    bytes >> 20, B, n);
    }
    carve(w, w->block, c, B, n);
    if (lb_attn_init(&w->attn, &a, msg, msglen)) {
        lb_mlm_free(w);
        return -1;
    }
    *out = w;
    return 0;
}

const float *lb_mlm_hidden(const lb_mlm *w) { return w->xin[w->m->c.layers]; }

/* E, F for layer l: the model's, or the slices (see refresh in forward). */
static void layer_proj(const lb_mlm *w, int l, const float **E, const float **F, float **dE,
                       float **dF, float *grad) {
    const lb_model *m = w->m;
    const lb_config *c = &m->c;
    *E = *F = NULL;
    if (dE) *dE = *dF = NULL;
    if (c->attn != LB_ATTN_LINFORMER) return;
    const lb_layer_weights *W = &m->layer[l];
    if (!w->slice) {
        *E = W->E;
        *F = W->F;
        if (dE) {
            *dE = grad + (W->E - m->block);
            *dF = grad + (W->F - m->block);
        }
        return;
    }
    size_t per = c->lin_share == LB_SHARE_LAYERWISE ? 0 : w->slice_elems / (size_t)c->layers;
    size_t at = per * (size_t)l;
    int same = c->lin_share >= LB_SHARE_KV;
    *E = w->Es + at;
    *F = same ? *E : w->Fs + at;
    if (dE) {
        *dE = w->dEs + at;
        *dF = same ? *dE : w->dFs + at;
    }
}

/* Copies of the learned E/F's first n columns (slice mode), or (back) their gradient
 * added into the model-layout grad. */
static void slices(lb_mlm *w, float *grad) {
    const lb_model *m = w->m;
    const lb_config *c = &m->c;
    long rows = (long)c->lin_k * (c->lin_share == LB_SHARE_NONE ? c->heads : 1);
    int tensors = c->lin_share == LB_SHARE_LAYERWISE ? 1 : c->layers, N = c->lin_n, n = w->n;
    for (int l = 0; l < tensors; l++) {
        const lb_layer_weights *W = &m->layer[l];
        size_t at = (size_t)l * (size_t)rows * (size_t)n;
        for (int two = 0; two < (c->lin_share <= LB_SHARE_HEADWISE ? 2 : 1); two++) {
            const float *src = two ? W->F : W->E;
            if (!grad) {
                lb_proj_slice((two ? w->Fs : w->Es) + at, src, rows, N, n);
                continue;
            }
            float *g = grad + (src - m->block);
            const float *d = (two ? w->dFs : w->dEs) + at;
            for (long r = 0; r < rows; r++)
                for (int j = 0; j < n; j++) g[r * N + j] += d[r * n + j];
        }
    }
}

static void forward(lb_mlm *w, const int32_t *ids, const float *mask) {
    const lb_model *m = w->m;
    const lb_config *c = &m->c;
    const int h = c->hidden, th = w->threads;
    lb_embed(w->s0, m, ids, NULL, w->pos, w->T, th);
    lb_layer_norm_forward(w->xin[0], NULL, w->mean0, w->rstd0, w->s0, NULL, m->emb_g, m->emb_b, w->T, h,
                      c->ln_eps, th);
    if (w->slice) slices(w, NULL);
    for (int l = 0; l < c->layers; l++) {
        const float *E, *F;
        layer_proj(w, l, &E, &F, NULL, NULL, NULL);
        lb_layer_forward(&w->act[l], w->xin[l], &m->layer[l], c, w->attn, mask, E, F, w->B, w->n, th);
    }
}

static void backward(lb_mlm *w, float *grad, const int32_t *ids, const float *mask) {
    const lb_model *m = w->m;
    const lb_config *c = &m->c;
    const int h = c->hidden, f = c->intermediate, H = c->heads, d = h / H, T = w->T, th = w->threads;
    const int B = w->B, n = w->n;
#define G(p) (grad + ((p) - m->block))
    lb_head_backward(w->dx, &w->hw, m, grad, T, th);
    if (w->slice) {
        memset(w->dEs, 0, sizeof(float) * w->slice_elems);
        memset(w->dFs, 0, sizeof(float) * w->slice_elems);
    }
    for (int l = c->layers - 1; l >= 0; l--) {
        const lb_layer_act *A = &w->act[l];
        const lb_layer_weights *W = &m->layer[l];
        /* out = LN2(x1 + FFN(x1)) */
        lb_layer_norm_backward(w->d1, 0, G(W->ln2_g), G(W->ln2_b), w->dx, A->s2, A->mean2, A->rstd2,
                               W->ln2_g, T, h, th);
        lb_gelu_forward(A->a, A->u, (size_t)T * (size_t)f, th); /* recomputed, not saved */
        lb_linear_backward(w->dinter, 0, G(W->wf), G(W->bf), w->d1, A->a, W->wf, T, f, h, th);
        lb_gelu_backward(w->dinter, w->dinter, A->u, (size_t)T * (size_t)f, th);
        lb_linear_backward(w->d1, 1, G(W->wi), G(W->bi), w->dinter, A->x1, W->wi, T, h, f, th);
        /* x1 = LN1(x + attention(x) Woᵀ) */
        lb_layer_norm_backward(w->dx, 0, G(W->ln1_g), G(W->ln1_b), w->d1, A->s1, A->mean1, A->rstd1,
                               W->ln1_g, T, h, th);
        lb_linear_backward(w->dtmp, 0, G(W->wo), G(W->bo), w->dx, A->ctx, W->wo, T, h, h, th);
        lb_split_heads(w->dao, w->dtmp, B, H, n, d, th);
        const float *E, *F;
        float *dE, *dF;
        layer_proj(w, l, &E, &F, &dE, &dF, grad);
        lb_attn_backward(w->attn, w->dq, w->dk, w->dv, dE, dF, w->dao, A->q, A->k, A->v, mask, E,
                         F, A->probs);
        const float *dh[3] = {w->dq, w->dk, w->dv};
        const float *Ws[3] = {W->wq, W->wk, W->wv}, *bs[3] = {W->bq, W->bk, W->bv};
        for (int i = 0; i < 3; i++) {
            lb_merge_heads(w->dtmp, dh[i], B, H, n, d, th);
            lb_linear_backward(w->dx, 1, G(Ws[i]), G(bs[i]), w->dtmp, w->xin[l], Ws[i], T, h, h, th);
        }
    }
    lb_layer_norm_backward(w->d1, 0, G(m->emb_g), G(m->emb_b), w->dx, w->s0, w->mean0, w->rstd0,
                           m->emb_g, T, h, th);
    lb_embed_backward(G(m->word), G(m->pos), G(m->type), w->d1, c, ids, NULL, w->pos, T, th);
    if (w->slice) slices(w, grad);
#undef G
}

/* RoBERTa's positions run pad_id + 1 .. pad_id + n, BERT's 0 .. n - 1; lb_mlm_init
 * checked that they fit, so the room is >= 0. */
long lb_mlm_pos_shift_room(const lb_mlm *w) {
    const lb_config *c = &w->m->c;
    return (long)c->max_pos - w->n - (c->type == LB_MODEL_ROBERTA ? c->pad_id + 1 : 0);
}

int lb_mlm_set_pos_shift(lb_mlm *w, const int32_t *shift, char *msg, size_t msglen) {
    w->has_shift = 0;
    if (!shift) return 0;
    long room = lb_mlm_pos_shift_room(w);
    for (int b = 0; b < w->B; b++)
        if (shift[b] < 0 || shift[b] > room)
            return lb_fail(msg, msglen, "position shift[%d] = %d is outside [0, %ld] (n = %d, "
                           "max_position_embeddings = %d)", b, shift[b], room, w->n, w->m->c.max_pos);
    memcpy(w->shift, shift, sizeof *shift * (size_t)w->B);
    w->has_shift = 1;
    return 0;
}

/* Move every non-pad position of sequence b up by shift[b] (RoBERTa's pad rows keep
 * position pad_id); set_pos_shift checked that the table holds the result. */
static void apply_shift(lb_mlm *w) {
    const lb_config *c = &w->m->c;
    for (int b = 0; b < w->B; b++) {
        int32_t *p = w->pos + (long)b * w->n;
        for (int i = 0; i < w->n; i++)
            if (!(c->type == LB_MODEL_ROBERTA && p[i] == c->pad_id)) p[i] += w->shift[b];
    }
}

static int run(lb_mlm *w, float *grad, float scale, const int32_t *ids, const float *mask,
               const int32_t *labels, lb_mlm_stats *st, double *tok_loss, char *msg, size_t msglen) {
    if (lb_positions_checked(w->pos, &w->m->c, ids, NULL, labels, mask, w->B, w->n, msg, msglen))
        return -1;
    if (w->has_shift) apply_shift(w);
    lb_head_ws *hw = &w->hw;
    hw->P = 0;
    for (int t = 0; t < w->T; t++)
        if (labels[t] != LB_MLM_IGNORE) {
            hw->idx[hw->P] = t;
            hw->lab[hw->P++] = labels[t];
        }
    if (scale == 0.0f) scale = hw->P ? 1.0f / (float)hw->P : 0.0f;
    forward(w, ids, mask);
    long correct = 0;
    double *rows = NULL;
    if (tok_loss && hw->P && !(rows = malloc(sizeof *rows * (size_t)hw->P)))
        return lb_fail(msg, msglen, "out of memory");
    hw->row_out = rows;
    double sum = lb_head_forward(hw, w->m, hw->P ? grad : NULL, scale, lb_mlm_hidden(w), &correct,
                                 w->threads);
    hw->row_out = NULL;
    if (tok_loss) {
        for (int t = 0; t < w->T; t++) tok_loss[t] = NAN;
        for (int r = 0; r < hw->P; r++) tok_loss[hw->idx[r]] = rows[r];
        free(rows);
    }
    if (grad && hw->P) backward(w, grad, ids, mask);
    if (st) {
        st->loss_sum = sum;
        st->n_pred = hw->P;
        st->n_correct = correct;
        st->loss = hw->P ? sum / hw->P : 0.0;
    }
    return 0;
}

int lb_mlm_step(lb_mlm *w, float *grad, float scale, const int32_t *ids, const float *mask,
                const int32_t *labels, lb_mlm_stats *stats, char *msg, size_t msglen) {
    if (!grad) return lb_fail(msg, msglen, "lb_mlm_step: grad is NULL (use lb_mlm_eval)");
    return run(w, grad, scale, ids, mask, labels, stats, NULL, msg, msglen);
}

int lb_mlm_eval(lb_mlm *w, const int32_t *ids, const float *mask, const int32_t *labels,
                lb_mlm_stats *stats, char *msg, size_t msglen) {
    return run(w, NULL, 0, ids, mask, labels, stats, NULL, msg, msglen);
}

int lb_mlm_eval_tokens(lb_mlm *w, const int32_t *ids, const float *mask, const int32_t *labels,
                       lb_mlm_stats *stats, double *tok_loss, char *msg, size_t msglen) {
    return run(w, NULL, 0, ids, mask, labels, stats, tok_loss, msg, msglen);
}
