/* lb_model: a BERT/RoBERTa-family encoder with HuggingFace semantics, float32,
 * through OpenBLAS. One implementation serves the spectrum analysis (dump,
 * spectrum), the Table 3 benchmark (random weights, attention kernel plugged in) and
 * training (lb_train_model.h: the same layer function, plus the MLM head).
 *
 * Forward, per HuggingFace: embeddings = word[id] + position[pos] + token_type[tt],
 * LayerNorm; per layer: Q/K/V = x Wᵀ + b, split into H heads of d = hidden/H,
 * attention (the plugged-in lb_attn kernel), output dense, residual, LayerNorm,
 * intermediate dense, exact erf GELU, output dense, residual, LayerNorm.
 * RoBERTa positions: pad_id + 1 + (index among non-pad tokens), pad tokens get pad_id
 * (HuggingFace's create_position_ids_from_input_ids); BERT positions: 0..n-1.
 */
#ifndef LB_MODEL_H
#define LB_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lb_attn.h"

typedef enum { LB_MODEL_BERT = 0, LB_MODEL_ROBERTA = 1 } lb_model_type;

typedef struct {
    lb_model_type type;
    int vocab_size;
    int hidden;         /* hidden_size */
    int layers;         /* num_hidden_layers */
    int heads;          /* num_attention_heads; hidden % heads == 0 */
    int intermediate;   /* intermediate_size */
    int max_pos;        /* max_position_embeddings */
    int type_vocab;     /* type_vocab_size */
    int pad_id;         /* pad_token_id */
    float ln_eps;       /* layer_norm_eps */
    /* Attention the model was trained with (config.json "attention_type", absent =
     * full). Linformer models hold LEARNED E/F (lb_train_model.h) of shape (k, lin_n). */
    lb_attn_method attn; /* LB_ATTN_FULL or LB_ATTN_LINFORMER */
    int lin_k;           /* "linformer_k" */
    lb_share lin_share;  /* "linformer_share": none, headwise, kv, layerwise */
    int lin_n;           /* "linformer_seq_len": the columns of E and F */
} lb_config;

/* RoBERTa-base's shape (its published config.json): vocab 50265, hidden 768, 12×12, FFN 3072,
 * positions 514, token types 1, pad 1, eps 1e-5. */
void lb_config_roberta_base(lb_config *c);

/* Read config.json with cJSON. Returns 0, or -1 with msg naming the file and field. */
int lb_config_load(lb_config *c, const char *path, char *msg, size_t msglen);
/* Check ranges and consistency (hidden % heads, positive sizes, absurd sizes). */
int lb_config_check(const lb_config *c, char *msg, size_t msglen);
/* Write config.json as HuggingFace would for RobertaForMaskedLM / BertForMaskedLM,
 * plus our attention fields. Atomic (temp + rename). Returns 0 or -1 with msg. */
int lb_config_save(const lb_config *c, const char *path, char *msg, size_t msglen);

typedef struct lb_model lb_model; /* config + float32 weights */

const lb_config *lb_model_config(const lb_model *m);
/* Load DIR/config.json and DIR/model.safetensors (F32, F16 or BF16 tensors; names with
 * or without the "roberta."/"bert." prefix; LayerNorm gamma/beta accepted; unknown
 * tensors ignored). Returns 0 or -1 with a message naming file, tensor and problem. */
int lb_model_load(lb_model **out, const char *dir, char *msg, size_t msglen);
/* Random weights N(0, 0.02²) (embeddings and linear weights, MLM head included),
 * linear biases 0, Linformer E/F N(0, 1/lin_n) when c->attn is linformer,
 * LayerNorm weight 1 bias 0; deterministic in seed whatever the thread count, and each
 * tensor has its own stream (raising max_pos leaves the other tensors unchanged). */
int lb_model_init_random(lb_model **out, const lb_config *c, uint64_t seed, char *msg,
                         size_t msglen);
void lb_model_free(lb_model *m);
/* Bytes of the encoder's weights (embeddings, layers, learned E/F: RobertaModel
 * without pooler). The model also holds the MLM head; lb_model_param_elems
 * (lb_train_model.h) counts every float. */
size_t lb_model_bytes(const lb_config *c);

/* Which attention the encoder runs, and for Linformer its projections. E/F are drawn
 * N(0, 1/k) from seed (Theorem 1's R), one set per sharing mode: NONE L·H pairs,
 * HEADWISE L pairs, KV L matrices, LAYERWISE one matrix. A model trained with
 * Linformer (config attn) runs only with its own LEARNED E/F: method must be
 * linformer with the model's k and share (seed unused), and n <= lin_n;
 * lb_encoder_opts_for_model fills them. */
typedef struct {
    lb_attn_method method;
    int k;          /* Linformer only */
    lb_share share; /* Linformer only */
    int threads;    /* 0 = omp_get_max_threads() */
    uint64_t seed;  /* for E/F */
} lb_encoder_opts;

/* o->method, k, share from the model when it has learned projections; unchanged
 * otherwise. */
void lb_encoder_opts_for_model(lb_encoder_opts *o, const lb_model *m);

typedef struct lb_encoder lb_encoder; /* activations for (B,n), the lb_attn, E/F */

/* Called once per layer with that layer's attention inputs and probabilities, all
 * valid only during the call: q, k, v are (B,H,n,d) (after the Q/K/V projections and
 * the head split, before attention); probs is (B,H,n,cols) with cols = n for full
 * attention and cols = k for Linformer. The spectrum analysis uses q, k, v to measure
 * Linformer's projection error on real matrices. */
typedef void (*lb_probs_fn)(void *user, int layer, const float *probs, const float *q,
                            const float *k, const float *v, int B, int H, int n, int cols,
                            int d);

/* Analytic bytes lb_encoder_init allocates (activations + attention workspace + E/F
 * + a probs buffer when want_probs). Used to find the largest batch under a budget:
 * saturates at SIZE_MAX (never wraps) and is SIZE_MAX for an invalid (B, n, opts).
 * Activations are (6·hidden + intermediate) floats per token. */
size_t lb_encoder_bytes(const lb_config *c, int B, int n, const lb_encoder_opts *o,
                        int want_probs);
/* Allocates and touches every buffer once. Fails cleanly (0 or -1 with msg) on out of
 * memory, B·n >= 2^31, n past the position table (BERT: n > max_pos; RoBERTa:
 * n + pad_id + 1 > max_pos), a bad attention configuration, or want_probs with stream
 * attention (which never forms P). */
int lb_encoder_init(lb_encoder **out, const lb_model *m, int B, int n, const lb_encoder_opts *o,
                    int want_probs, char *msg, size_t msglen);
void lb_encoder_free(lb_encoder *e);

/* hidden_out is (B,n,hidden) or NULL; ids is (B,n); token_types is (B,n) or NULL (all 0);
 * mask is (B,n) with 1 real / 0 padding (other values refused), or NULL. The GEMMs run
 * on OpenBLAS's threads, the attention on opts.threads: call outside a parallel region. probs_fn may be NULL; when not NULL
 * the encoder must have been made with want_probs. Returns 0, or -1 with msg (an id
 * past the vocabulary, a token type past type_vocab, n past the position table). */
int lb_encoder_forward(lb_encoder *e, float *hidden_out, const int32_t *ids,
                       const int32_t *token_types, const float *mask, lb_probs_fn probs_fn,
                       void *user, char *msg, size_t msglen);

#endif
