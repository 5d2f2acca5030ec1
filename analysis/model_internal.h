/* Internal to the encoder (model.c, layers.c, encoder.c): the weight layout and the
 * row-wise layers. Not a public API. */
#ifndef LB_MODEL_INTERNAL_H
#define LB_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lb_model.h"

/* One encoder layer; W are (out,in) row-major as HuggingFace stores them. */
typedef struct {
    float *wq, *bq, *wk, *bk, *wv, *bv; /* (hidden,hidden), (hidden) */
    float *wo, *bo;                     /* attention output dense (hidden,hidden) */
    float *ln1_g, *ln1_b;               /* attention.output.LayerNorm (hidden) */
    float *wi, *bi;                     /* intermediate (inter,hidden), (inter) */
    float *wf, *bf;                     /* output dense (hidden,inter), (hidden) */
    float *ln2_g, *ln2_b;               /* output.LayerNorm (hidden) */
} lb_layer_weights;

struct lb_model {
    lb_config c;
    float *word;          /* (vocab,hidden) */
    float *pos;           /* (max_pos,hidden) */
    float *type;          /* (type_vocab,hidden) */
    float *emb_g, *emb_b; /* (hidden) */
    lb_layer_weights *layer; /* (layers) */
    float *block;         /* every array above lives in this one allocation */
};

/* y (rows,out) = x (rows,in) · Wᵀ (W is (out,in)) + b (out) or no bias when b is NULL.
 * One cblas_sgemm with OpenBLAS's own threads; call outside parallel regions. */
void lb_linear(float *y, const float *x, const float *W, const float *b, int rows, int in, int out);

/* x (rows,h) = LayerNorm(x + add) with gain g and bias b (h); add (rows,h) may be
 * NULL. Mean and variance accumulate in double. */
void lb_add_layer_norm(float *x, const float *add, const float *g, const float *b, long rows,
                       int h, float eps, int threads);

/* x (len) = 0.5·x·(1 + erf(x/√2)), the exact GELU. */
void lb_gelu(float *x, size_t len, int threads);

/* x (B·n,hidden) = word[ids] + pos[positions] + type[token_types or 0]; indices must
 * have been validated. */
void lb_embed(float *x, const struct lb_model *m, const int32_t *ids, const int32_t *token_types,
              const int32_t *positions, long tokens, int threads);

/* positions (B,n) per the model type (see lb_model.h). */
void lb_positions(int32_t *positions, const lb_config *c, const int32_t *ids, int B, int n);

/* x (len) = scale·N(0,1), deterministic in (seed, stream) whatever the thread count:
 * fixed chunks, each with its own generator, filled in parallel (Marsaglia's polar
 * method: no trigonometry, ~4× faster than one Box–Muller draw per value). */
void lb_fill_normal(float *x, size_t len, float scale, uint64_t seed, uint64_t stream, int threads);

/* (B·n,H·d) token-major <-> (B,H,n,d) head-major. */
void lb_split_heads(float *dst, const float *src, int B, int H, int n, int d, int threads);
void lb_merge_heads(float *dst, const float *src, int B, int H, int n, int d, int threads);

#endif
