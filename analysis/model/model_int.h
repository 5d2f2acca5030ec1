/* Internal to the encoder (model.c, layers.c, encoder.c): the weight layout and the
 * row-wise layers. Not a public API. */
#ifndef LB_MODEL_INT_H
#define LB_MODEL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lb_model.h"
#include "lb_train_model.h"

/* One encoder layer; W are (out,in) row-major as HuggingFace stores them. */
typedef struct {
    float *wq, *bq, *wk, *bk, *wv, *bv; /* (hidden,hidden), (hidden) */
    float *wo, *bo;                     /* attention output dense (hidden,hidden) */
    float *ln1_g, *ln1_b;               /* attention.output.LayerNorm (hidden) */
    float *wi, *bi;                     /* intermediate (inter,hidden), (inter) */
    float *wf, *bf;                     /* output dense (hidden,inter), (hidden) */
    float *ln2_g, *ln2_b;               /* output.LayerNorm (hidden) */
    float *E, *F; /* learned Linformer projections of this layer (F == E for kv and
                   * layerwise; layerwise: every layer points at the one matrix), or
                   * NULL; (H,k,lin_n) for share none, (k,lin_n) otherwise */
} lb_layer_weights;

struct lb_model {
    lb_config c;
    float *word;          /* (vocab,hidden) */
    float *pos;           /* (max_pos,hidden) */
    float *type;          /* (type_vocab,hidden) */
    float *emb_g, *emb_b; /* (hidden) */
    lb_layer_weights *layer; /* (layers) */
    /* MLM head (RoBERTa lm_head / BERT cls.predictions); decoder tied to word */
    float *hd_w, *hd_b;       /* dense (hidden,hidden), (hidden) */
    float *hln_g, *hln_b;     /* layer_norm (hidden) */
    float *hbias;             /* (vocab) */
    int has_head;
    float *block;         /* every array above lives in this one allocation */
    size_t elems;         /* floats in block */
    lb_param *params;     /* the table (lb_train_model.h), names in name_pool */
    int nparams;
    char *name_pool;
};

/* y (rows,h) = LayerNorm(x + add) with gain g and bias b (h). add may be NULL; y may
 * alias x. When sum is not NULL it receives x + add (the LayerNorm input; may alias
 * x); mean and rstd (rows) receive the statistics when not NULL. Mean and variance
 * accumulate in double. lb_add_layer_norm is the in-place form without saving. */
void lb_layer_norm_forward(float *y, float *sum, float *mean, float *rstd, const float *x,
                       const float *add, const float *g, const float *b, long rows, int h,
                       float eps, int threads);

/* The activations of one encoder layer (T = B·n tokens). The layer function writes
 * them in this order, so aliases are allowed where noted — inference aliases for
 * speed, training gives every saved array its own storage:
 *   tmp (T,hidden) scratch for the Q/K/V projections before the head split;
 *   q, k, v (B,H,n,d); ao (B,H,n,d) attention output; probs (B,H,n,cols) or NULL;
 *   ctx (T,hidden) merged heads (may alias tmp); proj (T,hidden) scratch for the
 *   dense outputs (may alias ao; q, k, v, probs stay intact for the caller);
 *   s1 (T,hidden) x + attention projection, or NULL (not saved); x1 (T,hidden)
 *   LayerNorm 1 output (may alias x); u (T,inter) FFN pre-activation; a (T,inter)
 *   GELU(u) (may alias u); s2 like s1; out (T,hidden) layer output (may alias x);
 *   mean1, rstd1, mean2, rstd2 (T) or NULL. */
typedef struct {
    float *tmp, *q, *k, *v, *ao, *probs, *ctx, *proj, *s1, *x1, *u, *a, *s2, *out;
    float *mean1, *rstd1, *mean2, *rstd2;
} lb_layer_act;

/* One post-LayerNorm encoder layer: x (T,hidden) in, act->out out. E, F as
 * lb_attn_forward takes them (NULL for full). */
void lb_layer_forward(lb_layer_act *act, const float *x, const lb_layer_weights *W,
                      const lb_config *c, lb_attn *attn, const float *mask, const float *E,
                      const float *F, int B, int n, int threads);

/* dst (rows,n) = the first n columns of src (rows,N): a learned E/F at length n < N. */
void lb_proj_slice(float *dst, const float *src, long rows, int N, int n);

/* y (len) = GELU(x) (exact erf form, vectorised; gelu.c); y may alias x. The _ref
 * forms are the plain libm (double erf) references the tests hold them to. */
void lb_gelu_forward(float *y, const float *x, size_t len, int threads);
void lb_gelu_forward_ref(float *y, const float *x, size_t len);
void lb_gelu_backward_ref(float *dx, const float *dy, const float *x, size_t len);

/* y (rows,out) = x (rows,in) · Wᵀ (W is (out,in)) + b (out) or no bias when b is NULL.
 * One cblas_sgemm with OpenBLAS's own threads; call outside parallel regions. */
void lb_linear(float *y, const float *x, const float *W, const float *b, int rows, int in, int out);

/* x (rows,h) = LayerNorm(x + add) with gain g and bias b (h); add (rows,h) may be
 * NULL. Mean and variance accumulate in double. */
void lb_add_layer_norm(float *x, const float *add, const float *g, const float *b, long rows,
                       int h, float eps, int threads);

/* x (B·n,hidden) = word[ids] + pos[positions] + type[token_types or 0]; indices must
 * have been validated. */
void lb_embed(float *x, const struct lb_model *m, const int32_t *ids, const int32_t *token_types,
              const int32_t *positions, long tokens, int threads);

/* positions (B,n) per the model type (see lb_model.h). */
void lb_positions(int32_t *positions, const lb_config *c, const int32_t *ids, int B, int n);

/* The inputs of one forward, (B,n) each, as lb_positions finds their positions (into
 * positions): ids in the vocabulary, token_types (NULL: all 0) in the type vocabulary,
 * labels (NULL: none) LB_MLM_IGNORE or in the vocabulary, mask (NULL: all real) 0 or 1,
 * and every position below max_position_embeddings. 0, or -1 with the first element
 * that is not named in msg. */
int lb_positions_checked(int32_t *positions, const lb_config *c, const int32_t *ids,
                         const int32_t *token_types, const int32_t *labels, const float *mask,
                         int B, int n, char *msg, size_t msglen);

/* x (len) = scale·N(0,1), deterministic in (seed, stream) whatever the thread count:
 * fixed chunks, each with its own generator, filled in parallel (Marsaglia's polar
 * method: no trigonometry, ~4× faster than one Box–Muller draw per value). */
void lb_fill_normal(float *x, size_t len, float scale, uint64_t seed, uint64_t stream, int threads);

/* ---- backward (layers_backward.c). "+=" accumulates; dx_acc 0 overwrites dx. ---- */

/* db (cols) += Σ_rows dy (rows,cols), in double, a fixed order per column. */
void lb_colsum_acc(float *db, const float *dy, long rows, int cols, int threads);
/* For y = x Wᵀ + b: dx (rows,in) = (or +=) dy·W when dx is not NULL; dW (out,in) +=
 * dyᵀ·x; db (out) += column sums of dy when db is not NULL. */
void lb_linear_backward(float *dx, int dx_acc, float *dW, float *db, const float *dy,
                        const float *x, const float *W, int rows, int in, int out, int threads);
/* For y = LayerNorm(s)·g + b with the saved mean and rstd (rows): dx (rows,h) = (or
 * +=) ∂/∂s; dg, db (h) +=. */
void lb_layer_norm_backward(float *dx, int dx_acc, float *dg, float *db, const float *dy,
                            const float *s, const float *mean, const float *rstd, const float *g,
                            long rows, int h, int threads);
/* dx (len) = dy · GELU'(x); dx may alias dy. */
void lb_gelu_backward(float *dx, const float *dy, const float *x, size_t len, int threads);
/* Scatter-add dx (tokens,hidden) into the embedding gradients (word (vocab,hidden),
 * pos (max_pos,hidden), type (type_vocab,hidden)); pad rows per PyTorch padding_idx
 * (lb_train_model.h). */
void lb_embed_backward(float *dword, float *dpos, float *dtype, const float *dx,
                       const lb_config *c, const int32_t *ids, const int32_t *token_types,
                       const int32_t *positions, long tokens, int threads);

/* ---- MLM head (mlm_head.c) ---- */
typedef struct {
    int P;                 /* predicted rows of this batch */
    int chunk;             /* rows of logits held at once */
    int32_t *idx, *lab;    /* (T) token index and label of each predicted row */
    float *xp, *z0, *ha, *z, *mean, *rstd; /* (T,h) gathered, dense, GELU, LN out; (T) */
    float *logits;         /* (chunk,vocab) */
    double *rowloss;       /* (2·chunk): per-row loss, then per-row hit */
    double *row_out;       /* NULL, or (P): each predicted row's loss (lb_mlm_eval_tokens) */
    float *dz, *dxp;       /* (T,h) */
} lb_head_ws;
/* Gathers X (T,hidden) rows idx, runs the head, returns the CE sum, *n_correct. With
 * grad: the tied decoder and bias gradients are accumulated, scaled by scale, and
 * w->dz holds ∂/∂z for lb_head_backward. */
double lb_head_forward(lb_head_ws *w, const lb_model *m, float *grad, float scale,
                       const float *X, long *n_correct, int threads);
/* dX (tokens,hidden) = ∂/∂X (zero at unpredicted tokens); head gradients +=. */
void lb_head_backward(float *dX, lb_head_ws *w, const lb_model *m, float *grad, long tokens,
                      int threads);

/* (B·n,H·d) token-major <-> (B,H,n,d) head-major. */
void lb_split_heads(float *dst, const float *src, int B, int H, int n, int d, int threads);
void lb_merge_heads(float *dst, const float *src, int B, int H, int n, int d, int threads);

#endif
