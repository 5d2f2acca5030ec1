/* Encoder forward (HuggingFace BERT/RoBERTa, post-LayerNorm) with the lb_attn kernel
 * plugged in. Buffers for one (B,n) are allocated and touched once at init so that a
 * benchmark's timed forward pays no page faults; lb_encoder_bytes counts them exactly. */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_util.h"
#include "model_int.h"

struct lb_encoder {
    const lb_model *m;
    int B, n, threads, want_probs, cols;
    lb_encoder_opts o;
    lb_attn *attn;
    float *block;                       /* everything below, one allocation */
    float *x, *tmp, *q, *k, *v, *out;   /* (B·n,hidden) or (B,H,n,d): T·hidden each */
    float *inter;                       /* (B·n,intermediate) */
    float *probs;                       /* (B,H,n,cols) when want_probs */
    float *E, *F;                       /* Linformer projections, see proj_layout: random
                                         * (Theorem 1), or slices of learned ones */
    int learned;                        /* the model holds E/F (config attention_type) */
    int32_t *pos;                       /* (B,n) */
};


/* Saturating size arithmetic: a budget search must see "too big", never a wrap. */
static size_t smul(size_t a, size_t b) {
    size_t r;
    return lb_mul_size(&r, a, b) ? SIZE_MAX : r;
}
static size_t sadd(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
/* bytes of `elems` floats rounded up to 64 (each sub-buffer starts on a cache line) */
static size_t fbytes(size_t elems) {
    size_t b = smul(elems, sizeof(float));
    return b > SIZE_MAX - 63 ? SIZE_MAX : (b + 63) & ~(size_t)63;
}

static lb_attn_cfg attn_cfg(const lb_config *c, int B, int n, const lb_encoder_opts *o) {
    lb_attn_cfg a = {.method = o->method, .B = B, .H = c->heads, .n = n, .d = c->hidden / c->heads,
                     .k = o->method == LB_ATTN_LINFORMER ? o->k : 0, .share = o->share,
                     .threads = o->threads};
    return a;
}

/* Elements of E and of F for the whole model (F may alias E). */
static void proj_layout(const lb_config *c, const lb_attn_cfg *a, size_t *e_elems, size_t *f_elems) {
    *e_elems = *f_elems = 0;
    if (a->method != LB_ATTN_LINFORMER) return;
    /* learned projections at their own length are used in place */
    if (c->attn == LB_ATTN_LINFORMER && a->n == c->lin_n) return;
    size_t per = smul(smul((size_t)a->k, (size_t)a->n), a->share == LB_SHARE_NONE ? (size_t)a->H : 1);
    size_t L = (size_t)c->layers;
    switch (a->share) {
    case LB_SHARE_NONE:
    case LB_SHARE_HEADWISE: *e_elems = *f_elems = smul(per, L); break;
    case LB_SHARE_KV: *e_elems = smul(per, L); break;
    default: *e_elems = per; break; /* LAYERWISE: one matrix */
    }
}

/* Bytes of the encoder's own block (without the attention workspace). */
static size_t block_bytes(const lb_config *c, int B, int n, const lb_attn_cfg *a, int want_probs) {
    size_t T = smul((size_t)B, (size_t)n), e, f;
    size_t act = smul(fbytes(smul(T, (size_t)c->hidden)), 6);
    act = sadd(act, fbytes(smul(T, (size_t)c->intermediate)));
    act = sadd(act, fbytes(T)); /* positions (int32, same size as float) */
    if (want_probs) {
        size_t cols = a->method == LB_ATTN_LINFORMER ? (size_t)a->k : (size_t)n;
        act = sadd(act, fbytes(smul(smul(T, (size_t)c->heads), cols)));
    }
    proj_layout(c, a, &e, &f);
    return sadd(sadd(act, fbytes(e)), fbytes(f));
}

size_t lb_encoder_bytes(const lb_config *c, int B, int n, const lb_encoder_opts *o,
                        int want_probs) {
    if (B < 1 || n < 1 || c->heads < 1) return SIZE_MAX;
    lb_attn_cfg a = attn_cfg(c, B, n, o);
    char m[8];
    if (lb_attn_check(&a, m, sizeof m)) return SIZE_MAX;
    return sadd(block_bytes(c, B, n, &a, want_probs), lb_attn_workspace_bytes(&a));
}

void lb_encoder_free(lb_encoder *e) {
    if (!e) return;
    lb_attn_free(e->attn);
    lb_free(e->block);
    free(e);
}

static int check_len(const lb_config *c, int n, char *msg, size_t msglen) {
    if (c->type == LB_MODEL_ROBERTA && (long)n + c->pad_id + 1 > c->max_pos)
        return lb_fail(msg, msglen, "sequence length n = %d needs positions up to %ld but "
                    "max_position_embeddings = %d (RoBERTa positions start at pad_token_id + 1 = %d)",
                    n, (long)n + c->pad_id, c->max_pos, c->pad_id + 1);
    if (c->type == LB_MODEL_BERT && n > c->max_pos)
        return lb_fail(msg, msglen, "sequence length n = %d exceeds max_position_embeddings = %d", n,
                    c->max_pos);
    return 0;
}

int lb_encoder_init(lb_encoder **out, const lb_model *m, int B, int n, const lb_encoder_opts *o,
                    int want_probs, char *msg, size_t msglen) {
    *out = NULL;
    const lb_config *c = &m->c;
    if (B < 1 || n < 1) return lb_fail(msg, msglen, "batch B = %d and length n = %d must be >= 1", B, n);
    if ((long long)B * n > 0x7fffffffLL)
        return lb_fail(msg, msglen, "B·n = %lld tokens exceeds 2^31 - 1", (long long)B * n);
    if (check_len(c, n, msg, msglen)) return -1;
    if (c->attn == LB_ATTN_LINFORMER &&
        (o->method != LB_ATTN_LINFORMER || o->k != c->lin_k || o->share != c->lin_share))
        return lb_fail(msg, msglen, "the model was trained with linformer attention (k = %d, sharing "
                    "%s) and runs only with it: asked for %s (k = %d, sharing %s)", c->lin_k,
                    lb_share_name(c->lin_share), lb_attn_method_name(o->method), o->k,
                    lb_share_name(o->share));
    if (c->attn == LB_ATTN_LINFORMER && n > c->lin_n)
        return lb_fail(msg, msglen, "sequence length n = %d exceeds linformer_seq_len = %d (the "
                    "columns of the learned E and F)", n, c->lin_n);
    if (want_probs && o->method == LB_ATTN_STREAM)
        return lb_fail(msg, msglen, "stream attention never forms the probabilities; "
                    "use full or linformer to capture them");
    lb_attn_cfg a = attn_cfg(c, B, n, o);
    if (lb_attn_check(&a, msg, msglen)) return -1;
    size_t bytes = block_bytes(c, B, n, &a, want_probs);
    if (bytes == SIZE_MAX) return lb_fail(msg, msglen, "B = %d, n = %d: size overflows", B, n);
    lb_encoder *e = calloc(1, sizeof *e);
    if (!e) return lb_fail(msg, msglen, "out of memory");
    e->m = m;
    e->B = B;
    e->n = n;
    e->o = *o;
    e->want_probs = want_probs;
    e->threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    e->cols = o->method == LB_ATTN_LINFORMER ? o->k : n;
    e->block = lb_alloc_big(bytes, 1);
    if (!e->block) {
        free(e);
        return lb_fail(msg, msglen, "out of memory for %zu MB of activations (B = %d, n = %d)",
                    bytes >> 20, B, n);
    }
    size_t T = (size_t)B * (size_t)n, ee, ff;
    char *at = (char *)e->block;
#define TAKE(p, elems) (p = (void *)at, at += fbytes(elems))
    TAKE(e->x, T * (size_t)c->hidden);
    TAKE(e->tmp, T * (size_t)c->hidden);
    TAKE(e->q, T * (size_t)c->hidden);
    TAKE(e->k, T * (size_t)c->hidden);
    TAKE(e->v, T * (size_t)c->hidden);
    TAKE(e->out, T * (size_t)c->hidden);
    TAKE(e->inter, T * (size_t)c->intermediate);
    TAKE(e->pos, T);
    if (want_probs) TAKE(e->probs, T * (size_t)c->heads * (size_t)e->cols);
    proj_layout(c, &a, &ee, &ff);
    if (ee) TAKE(e->E, ee);
    if (ff) TAKE(e->F, ff);
#undef TAKE
    e->learned = c->attn == LB_ATTN_LINFORMER;
    if (ee && !e->learned) { /* Theorem 1's R: N(0, 1/k) entries, deterministic in the seed */
        float sc = (float)(1.0 / sqrt((double)o->k));
        lb_fill_normal(e->E, ee, sc, o->seed, 0, e->threads);
        if (ff) lb_fill_normal(e->F, ff, sc, o->seed, 1, e->threads);
    }
    if (lb_attn_init(&e->attn, &a, msg, msglen)) {
        lb_encoder_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

/* dst (rows,n) = the first n columns of src (rows,N). */
void lb_proj_slice(float *dst, const float *src, long rows, int N, int n) {
    for (long r = 0; r < rows; r++)
        memcpy(dst + r * n, src + r * N, sizeof(float) * (size_t)n);
}

/* Learned projections shorter than the model's: refresh the slices (the weights may
 * have changed since the last call: training). */
static void refresh_slices(lb_encoder *e) {
    const lb_config *c = &e->m->c;
    if (!e->learned || e->n == c->lin_n) return;
    long rows = (long)c->lin_k * (c->lin_share == LB_SHARE_NONE ? c->heads : 1);
    int tensors = c->lin_share == LB_SHARE_LAYERWISE ? 1 : c->layers;
    for (int l = 0; l < tensors; l++) {
        const lb_layer_weights *W = &e->m->layer[l];
        lb_proj_slice(e->E + (size_t)l * rows * e->n, W->E, rows, c->lin_n, e->n);
        if (c->lin_share <= LB_SHARE_HEADWISE)
            lb_proj_slice(e->F + (size_t)l * rows * e->n, W->F, rows, c->lin_n, e->n);
    }
}

/* E and F for layer l (see lb_model.h for the counts per sharing mode). */
static void layer_proj(const lb_encoder *e, int l, const float **E, const float **F) {
    *E = *F = NULL;
    if (e->o.method != LB_ATTN_LINFORMER) return;
    if (e->learned && e->n == e->m->c.lin_n) {
        *E = e->m->layer[l].E;
        *F = e->m->layer[l].F;
        return;
    }
    size_t per = (size_t)e->o.k * (size_t)e->n;
    if (e->o.share == LB_SHARE_NONE) per *= (size_t)e->m->c.heads;
    switch (e->o.share) {
    case LB_SHARE_NONE:
    case LB_SHARE_HEADWISE:
        *E = e->E + per * (size_t)l;
        *F = e->F + per * (size_t)l;
        break;
    case LB_SHARE_KV: *E = *F = e->E + per * (size_t)l; break;
    default: *E = *F = e->E; break;
    }
}

int lb_encoder_forward(lb_encoder *e, float *hidden_out, const int32_t *ids,
                       const int32_t *token_types, const float *mask, lb_probs_fn probs_fn,
                       void *user, char *msg, size_t msglen) {
    const lb_model *m = e->m;
    const lb_config *c = &m->c;
    const int B = e->B, n = e->n, h = c->hidden, H = c->heads, d = h / H, th = e->threads;
    const int T = B * n;
    if (probs_fn && !e->want_probs)
        return lb_fail(msg, msglen, "probabilities requested but the encoder was made without them");
    if (lb_positions_checked(e->pos, c, ids, token_types, NULL, mask, B, n, msg, msglen)) return -1;
    lb_embed(e->x, m, ids, token_types, e->pos, T, th);
    lb_add_layer_norm(e->x, NULL, m->emb_g, m->emb_b, T, h, c->ln_eps, th);
    refresh_slices(e);
    /* inference aliases: see lb_layer_act */
    lb_layer_act A = {.tmp = e->tmp, .q = e->q, .k = e->k, .v = e->v, .ao = e->out,
                      .probs = probs_fn ? e->probs : NULL, .ctx = e->tmp, .proj = e->out,
                      .x1 = e->x, .u = e->inter, .a = e->inter, .out = e->x};
    for (int l = 0; l < c->layers; l++) {
        const float *E, *F;
        layer_proj(e, l, &E, &F);
        lb_layer_forward(&A, e->x, &m->layer[l], c, e->attn, mask, E, F, B, n, th);
        if (probs_fn) probs_fn(user, l, e->probs, e->q, e->k, e->v, B, H, n, e->cols, d);
    }
    if (hidden_out) memcpy(hidden_out, e->x, sizeof(float) * (size_t)T * (size_t)h);
    return 0;
}
