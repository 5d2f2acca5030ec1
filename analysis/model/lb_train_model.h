/* lb_train_model: the trainable model — parameter table, MLM loss with its gradient,
 * and checkpoints. The forward it trains is the one lb_encoder_forward runs (both call
 * one layer function), followed by the RoBERTa MLM head:
 *
 *   z = LayerNorm(GELU(h Wdᵀ + bd)) with lm_head.dense / lm_head.layer_norm,
 *   logits = z Wordᵀ + lm_head.bias   (decoder weight TIED to the word embeddings),
 *   loss = mean over predicted positions of −log softmax(logits)[label].
 *
 * Logits are formed only at predicted positions (label != -100), in chunks of rows.
 * No dropout anywhere (deterministic; RoBERTa pretraining used 0.1). Attention's
 * backward is lb_attn_backward (lb_attn.h, cfg.train = 1) with the probabilities each
 * layer's forward saved.
 *
 * Parameters: every trainable tensor lives in ONE float block (lb_model_params); a
 * gradient block has the same layout and length (lb_model_param_elems floats).
 * The table below names each tensor as a HuggingFace RobertaForMaskedLM checkpoint
 * does ("roberta.embeddings.word_embeddings.weight", ..., "lm_head.dense.weight",
 * "lm_head.layer_norm.weight", "lm_head.bias"; BERT models: "bert.*" and
 * "cls.predictions.transform.dense.weight", "cls.predictions.transform.LayerNorm.*",
 * "cls.predictions.bias"). Linformer models (config attention_type "linformer") add
 * their LEARNED projections, names of ours:
 *   share none      roberta.encoder.layer.{i}.attention.self.linformer_E, _F  (H,k,N)
 *   share headwise  roberta.encoder.layer.{i}.attention.self.linformer_E, _F  (k,N)
 *   share kv        roberta.encoder.layer.{i}.attention.self.linformer_E      (k,N), F = E
 *   share layerwise roberta.encoder.linformer_E                               (k,N), F = E
 * where N = linformer_seq_len (config). An encoder run at length n <= N uses the first
 * n columns (identical to padding the input to N with masked keys).
 * Initialisation (lb_model_init_random): embeddings and linear weights N(0, 0.02²),
 * biases 0, LayerNorm weight 1 / bias 0, E and F N(0, 1/N) (keeps the scale of K̄ =
 * E·K equal to that of K).
 *
 * Weight decay (lb_param.decay): 1 for every tensor of two or more dimensions (linear
 * weights, the three embedding tables — also the tied decoder —, E and F); 0 for
 * every vector (biases, LayerNorm weight and bias, lm_head.bias). That is HF
 * run_mlm's rule (no decay for "bias" and "LayerNorm.weight").
 *
 * Embedding gradients follow PyTorch's padding_idx: the word-embedding row pad_id
 * gets no gradient from the embedding lookup (it still gets the tied decoder's), and
 * for RoBERTa neither does position row pad_id.
 *
 * Threads and determinism: the GEMMs run on OpenBLAS's threads, the rest on the
 * workspace's `threads`; no atomics, reductions in a fixed order: the same inputs
 * and thread count give bit-identical loss and gradients. Call outside any parallel
 * region.
 */
#ifndef LB_TRAIN_MODEL_H
#define LB_TRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lb_model.h"

#define LB_MLM_IGNORE (-100) /* label of a position that is not predicted */

/* ---- parameter table ---- */

typedef struct {
    const char *name;  /* as stored in checkpoints (see above); owned by the model */
    int ndim;          /* 1, 2 or 3 */
    int64_t shape[3];  /* shape[0..ndim) */
    size_t offset;     /* first float of this tensor in lb_model_params(m) */
    size_t count;      /* floats: the product of shape */
    int decay;         /* 1 = weight decay applies (matrices), 0 = no (vectors) */
} lb_param;

/* Number of tensors and entry i (0 <= i < count), in block order (offsets increase,
 * tensors tile the block with no gaps). */
int lb_model_param_count(const lb_model *m);
const lb_param *lb_model_param(const lb_model *m, int i);
/* Entry by checkpoint name, or NULL. */
const lb_param *lb_model_param_find(const lb_model *m, const char *name);
/* The block (lb_model_param_elems(m) floats). Writing it changes the model. */
float *lb_model_params(lb_model *m);
size_t lb_model_param_elems(const lb_model *m);
/* 1 when the MLM head came from the checkpoint (or random init), 0 when
 * lb_model_load found none and initialised it randomly (seed 0) — fine for analysis
 * and fine-tuning from an encoder-only checkpoint, but say so to the user. */
int lb_model_has_head(const lb_model *m);

/* ---- training workspace ---- */

typedef struct lb_mlm lb_mlm; /* saved activations for one (B,n), scratch, lb_attn */

typedef struct {
    double loss;     /* mean cross-entropy (nats) over predicted positions; 0 if none */
    double loss_sum; /* sum over predicted positions */
    long n_pred;     /* positions with label != LB_MLM_IGNORE */
    long n_correct;  /* of those, argmax(logits) == label (ties: lowest id wins) */
} lb_mlm_stats;

/* The model's attention (full, or Linformer with its config's k and sharing) at batch
 * B and length n (Linformer: n <= linformer_seq_len). m must outlive the workspace;
 * steps read its current parameters. threads 0 = omp_get_max_threads().
 * Returns 0, or -1 with msg (bad sizes, n past the positions, out of memory). */
int lb_mlm_init(lb_mlm **out, lb_model *m, int B, int n, int threads, char *msg, size_t msglen);
void lb_mlm_free(lb_mlm *w);

/* Shift the positions of every later step/eval: sequence b's positions move up by
 * shift[b] (B values, each in [0, max_pos - n - (RoBERTa: pad_id + 1)]), so a short
 * window can sit anywhere in the position table (training every row of it at short n;
 * randomised positions, Ruoss et al. 2023). NULL: no shift (the default). Returns 0, or
 * -1 with msg naming the first shift out of range (the shift is then cleared). */
int lb_mlm_set_pos_shift(lb_mlm *w, const int32_t *shift, char *msg, size_t msglen);
/* The largest shift lb_mlm_set_pos_shift accepts at this workspace's n (0 when the
 * window fills the table). */
long lb_mlm_pos_shift_room(const lb_mlm *w);

/* One forward + backward. ids (B,n) token ids; mask (B,n) 1 real / 0 padding, or
 * NULL (all real); labels (B,n): target id, or LB_MLM_IGNORE.
 * grad (lb_model_param_elems floats, block layout) is ACCUMULATED: grad +=
 * scale · ∂(Σ over predicted positions of CE)/∂θ. scale = 0 means 1/n_pred (the
 * gradient of this batch's mean loss); for gradient accumulation over micro-batches
 * pass 1/(total predicted positions) and zero grad yourself before the first.
 * stats may be NULL. Returns 0, or -1 with msg (an id/label outside the vocabulary,
 * a mask value not 0/1) leaving grad untouched. */
int lb_mlm_step(lb_mlm *w, float *grad, float scale, const int32_t *ids, const float *mask,
                const int32_t *labels, lb_mlm_stats *stats, char *msg, size_t msglen);
/* Forward and loss only (no gradient); same arguments. */
int lb_mlm_eval(lb_mlm *w, const int32_t *ids, const float *mask, const int32_t *labels,
                lb_mlm_stats *stats, char *msg, size_t msglen);
/* The same, also giving each token's loss: tok_loss (B,n) gets the cross-entropy at
 * predicted positions and NaN elsewhere (per-position validation, lb_eval.h). */
int lb_mlm_eval_tokens(lb_mlm *w, const int32_t *ids, const float *mask, const int32_t *labels,
                       lb_mlm_stats *stats, double *tok_loss, char *msg, size_t msglen);
/* The final hidden states (B,n,hidden) of the last step/eval (valid until the next). */
const float *lb_mlm_hidden(const lb_mlm *w);

/* ---- saved weights: the model folder lb_model_load reads (a training checkpoint, lb_train.h, adds the optimizer state) ---- */

typedef enum { LB_DTYPE_F32 = 0, LB_DTYPE_F16 = 1, LB_DTYPE_BF16 = 2 } lb_weight_dtype;

/* Write dir/config.json (HF RoBERTa/BERT fields + attention_type, linformer_k,
 * linformer_share, linformer_seq_len) and dir/model.safetensors (every lb_param,
 * table order, in dtype; F16/BF16 round to nearest even). metadata: NULL or pairs
 * of strings {key0, val0, key1, val1, ..., NULL} stored in "__metadata__" (the
 * format key "pt" is always added). Creates dir; each file is written to a
 * temporary name and renamed, so a crash never leaves a half-written file.
 * Returns 0, or -1 with msg. lb_model_load reads the result back. */
int lb_model_save(const char *dir, const lb_model *m, lb_weight_dtype dtype,
                  const char *const *metadata, char *msg, size_t msglen);

#endif
