/* lb_train: the pieces of `linbench train` (RoBERTa-style MLM pretraining) that are
 * not the model itself: options, sequence-length curriculum, learning-rate schedule,
 * AdamW, global-norm clipping, dynamic masking, the data loader over lb_corpus
 * windows, checkpoint/trainer state and the training loop. The model side (parameter
 * block, gradients, forward+loss+backward, checkpoints of weights) is
 * analysis/model/lb_train_model.h.
 *
 * Determinism: everything here depends only on (seed, step, sequence index) and the
 * saved state, never on thread count or timing; reductions run over fixed chunks in a
 * fixed order. Errors: functions return 0, or -1 with msg naming the option, file or
 * field and what was expected.
 */
#ifndef LB_TRAIN_H
#define LB_TRAIN_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "lb_corpus.h"
#include "lb_model.h"
#include "lb_train_model.h"
#include "lb_tokenizer.h"

/* ---- curriculum: "128:3000,512:1000" = n 128 for 3000 steps, then 512;
 * "32:4000:32,512:1000:8" also sets the phase's batch (sequences per update) ---- */
#define LB_CURR_MAX 16
typedef struct {
    int count;
    int n[LB_CURR_MAX];      /* sequence length of each phase */
    long steps[LB_CURR_MAX]; /* steps in the phase; the last phase runs on to the end */
    int batch[LB_CURR_MAX];  /* sequences per update in the phase; 0 = the run's --batch */
} lb_curriculum;

/* Parse "N" or "N:STEPS[:BATCH],N:STEPS[:BATCH],...". n in 3..65536, steps >= 1 (the
 * last may omit ":STEPS"), batch in 1..65536. Returns 0 or -1 with msg naming `what`
 * and the item. */
int lb_curriculum_parse(lb_curriculum *c, const char *s, const char *what, char *msg,
                        size_t msglen);
/* Sequence length at 0-based step, and the phase index. */
int lb_curriculum_n(const lb_curriculum *c, long step, int *phase);
int lb_curriculum_max_n(const lb_curriculum *c);
/* Sequences per update at 0-based step: the phase's batch, else dflt (--batch). */
int lb_curriculum_batch(const lb_curriculum *c, long step, int dflt);
/* The smallest batch over the phases (dflt where a phase sets none). */
int lb_curriculum_min_batch(const lb_curriculum *c, int dflt);
/* The first of the first `steps` steps at which a and b give a different n or phase
 * batch, or -1 if they agree on all of them (a resume may then change the steps not
 * yet taken). */
long lb_curriculum_disagree(const lb_curriculum *a, const lb_curriculum *b, long steps);
/* Canonical text ("128:3000,512") into buf. */
void lb_curriculum_format(const lb_curriculum *c, char *buf, size_t len);

/* ---- learning-rate schedule ---- */
typedef enum { LB_DECAY_LINEAR = 0, LB_DECAY_COSINE = 1, LB_DECAY_CONSTANT = 2, LB_DECAY_WSD = 3 } lb_decay;
/* LR for 0-based step of total: linear warm-up lr·(step+1)/warmup over the first
 * warmup steps, then decay from lr to min_lr at step total − 1. WSD (warm-up, stable,
 * decay) holds lr and decays linearly over the last LB_WSD_FRACTION of the steps, so a
 * curriculum's last stage (the longest n) still trains at a useful rate. */
#define LB_WSD_FRACTION 0.2
double lb_lr_at(long step, long total, long warmup, double lr, double min_lr, lb_decay d);

/* ---- AdamW (decoupled weight decay as in Loshchilov & Hutter / PyTorch AdamW) ---- */
typedef struct {
    double beta1, beta2, eps;
} lb_adamw_hp;
/* p, m, v, g are (len). t is the 1-based update count (bias correction). Per element:
 * p *= 1 − lr·wd; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * p −= lr · (m/(1−β1ᵗ)) / (sqrt(v/(1−β2ᵗ)) + eps). Element-wise, so the result does
 * not depend on the thread count. */
void lb_adamw_update(float *p, float *m, float *v, const float *g, size_t len,
                     const lb_adamw_hp *hp, long t, double lr, double wd, int threads);

/* Sum of squares of g (len) in double over fixed 4096-element chunks added in order:
 * the same bits whatever the thread count. */
double lb_sumsq(const float *g, size_t len, int threads);
/* g (len) *= s. */
void lb_scale(float *g, size_t len, float s, int threads);
/* Global-norm clipping: returns the norm before clipping; when clip > 0 and the norm
 * exceeds it, g is scaled by clip / norm. A non-finite norm is returned unchanged
 * (the caller stops). */
double lb_clip_grad(float *g, size_t len, double clip, int threads);

/* ---- dynamic masking (RoBERTa: 15%, of those 80% <mask>, 10% random, 10% kept) ---- */
typedef struct {
    int32_t mask_id;       /* <mask> */
    int vocab;             /* random replacements come from [0, vocab) minus specials */
    int32_t special[8];    /* ids never chosen for prediction nor drawn as replacements */
    int n_special;
    double prob;           /* 0.15 */
} lb_mask_cfg;

/* Fill cfg from the tokenizer (<s> </s> <pad> <unk> <mask> or the BERT names). Fails
 * when there is no mask token. */
int lb_mask_cfg_init(lb_mask_cfg *cfg, const lb_tokenizer *t, char *msg, size_t msglen);
int lb_mask_is_special(const lb_mask_cfg *cfg, int32_t id);
/* ids (n) is masked in place; labels (n) gets the original id at the chosen
 * positions and −100 elsewhere; mask (n) marks real tokens (1) vs padding (0).
 * Chosen: round(prob·m) of the m real, non-special tokens (at least 1 when m > 0),
 * by a partial Fisher–Yates driven by an RNG seeded from (seed, step, seq) only.
 * Returns the number of positions chosen, -1 when out of memory. */
int lb_mask_sequence(int32_t *ids, int32_t *labels, const float *mask, int n,
                     const lb_mask_cfg *cfg, uint64_t seed, uint64_t step, uint64_t seq);

/* The position shift of training sequence seq at update step (--pos-shift): uniform
 * in [0, room], from an RNG seeded by (seed, step, seq) alone (a stream apart from the
 * mask's), so a resumed or MPI run shifts exactly as an uninterrupted one. */
int32_t lb_pos_shift_draw(uint64_t seed, uint64_t step, uint64_t seq, int32_t room);

/* ---- data loader: pack windows of lb_corpus, reshuffled per epoch ---- */
typedef struct {
    long epoch;       /* windows of this epoch are shuffled with seed mix(seed, epoch) */
    size_t pos;       /* next window of the epoch */
    int n;            /* sequence length the position refers to */
} lb_loader_pos;

typedef struct lb_loader lb_loader;
/* d must outlive the loader. bos/eos/pad from the tokenizer. */
int lb_loader_init(lb_loader **out, const lb_docs *d, uint64_t seed, int32_t bos, int32_t eos,
                   int32_t pad, char *msg, size_t msglen);
void lb_loader_free(lb_loader *l);
/* Fill all b->cap rows of b (b->n is the length) with the next windows; at the end of
 * an epoch the next epoch starts (new order). A change of n restarts at epoch 0,
 * position 0 of the windows for the new n. */
int lb_loader_next(lb_loader *l, lb_batch *b, char *msg, size_t msglen);
void lb_loader_get(const lb_loader *l, lb_loader_pos *p);
/* Restore a position saved by lb_loader_get (plans the windows for p->n). */
int lb_loader_set(lb_loader *l, const lb_loader_pos *p, char *msg, size_t msglen);
/* Windows per epoch at length n (0 when n cannot be planned). */
size_t lb_loader_windows(lb_loader *l, int n);

/* FNV-1a 64 over the ids and document offsets: the corpus checksum that resume checks. */
uint64_t lb_docs_checksum(const lb_docs *d);
/* The most frequent non-special id in d (the unigram baseline's guess), -1 if none. */
int32_t lb_docs_top_token(const lb_docs *d, const lb_mask_cfg *cfg);

/* ---- options and the loop ---- */
typedef struct {
    const char *tokenizer, *train, *valid; /* paths */
    int ids_input;         /* 1: --train/--valid are token-id files */
    int layers, hidden, heads, ffn;
    int max_pos;           /* position table rows; 0 = max n + 2 (RoBERTa's offset) */
    int pos_sinusoid;      /* 1: start the (still learned) position table from sinusoids */
    int pos_shift;         /* 1: each training sequence sits at a random offset in the table */
    long pos_shift_from;   /* with pos_shift: the first update that shifts (0 = from the start) */
    int pos_fixed;         /* 1: the position table is sinusoids (RMS 0.05) and never updated */
    long pos_learn_from;   /* with pos_fixed: the first update that trains the table (0 = none) */
    double pos_rms;        /* the sinusoids' RMS for pos_sinusoid/pos_fixed; 0 = the flag's own
                            * (0.02 started, 0.05 fixed): what checkpoints before the option used */
    lb_curriculum curr;
    int batch;
    long steps;
    double lr, min_lr, wd, beta1, beta2, eps, clip;
    long warmup;
    lb_decay decay;
    uint64_t seed;
    int threads;
    lb_attn_method attention; /* full or linformer */
    int k;
    lb_share share;
    long eval_every, eval_batches, ckpt_every, log_every;
    int keep_all;          /* keep every checkpoint, not just the latest */
    const char *out, *resume, *log, *export_bf16;
    long stop_after;       /* stop this session after this many steps (0 = run to --steps) */
    volatile sig_atomic_t *stop; /* NULL, or set non-zero (e.g. by a signal handler) to stop after
                              the current step with a checkpoint (LB_TRAIN_INTERRUPTED) */
    int progress;          /* draw the progress line (on a tty) */
    int quiet;             /* no per-step lines on stdout */
    const char *given[64]; /* option names set on the command line (resume checks them) */
    int n_given;
} lb_train_opts;

void lb_train_opts_default(lb_train_opts *o);
/* Set the option `name` (without "--"; as listed by lb_train_opts_print) from its
 * command-line text (NULL for a flag such as "ids" or "keep-all") and mark it given.
 * Numbers must lie in the option's range. Returns 0, or -1 with msg naming the option,
 * the text and what was expected. */
int lb_train_opts_set(lb_train_opts *o, const char *name, const char *value, char *msg, size_t msglen);
/* Record that option `name` (without "--") was given explicitly. */
void lb_train_opts_mark(lb_train_opts *o, const char *name);
/* Print the effective configuration, one "key: value" per line. */
void lb_train_opts_print(FILE *f, const lb_train_opts *o);

/* ---- training state and checkpoints (train_state.c) ----
 * A checkpoint is a folder: config.json + model.safetensors (F32, HF names, via
 * lb_model_save) + optimizer.safetensors (F32 "exp_avg.<name>" and
 * "exp_avg_sq.<name>" for every parameter) + vocab.json + merges.txt (the tokenizer)
 * + trainer.json (step, loader position, options, corpus checksums, log lines, and
 * the size and FNV-1a checksum of every other file). It is written into a temporary
 * folder beside the target, trainer.json last, then renamed into place, so a
 * crash leaves either the old checkpoint or the new one, never a mixture. */
typedef struct {
    long step;             /* updates done */
    double elapsed;        /* seconds of training over all sessions (informative) */
    int ranks;             /* MPI ranks that trained it (1 when trainer.json has none) */
    lb_loader_pos loader;
    uint64_t train_sum, valid_sum; /* lb_docs_checksum */
    uint64_t tok_sum;      /* FNV-1a of vocab.json then merges.txt */
    char **log;            /* CSV lines so far (no newline) */
    size_t n_log, cap_log;
    char *strs[8];         /* strings owned for options read from trainer.json */
    int n_strs;
} lb_train_state;

/* An empty state (step 0, no log); lb_train_ckpt_load fills one. */
void lb_train_state_init(lb_train_state *s);
int lb_train_state_log(lb_train_state *s, const char *line);
void lb_train_state_free(lb_train_state *s);

/* Save to dir (replaced atomically when it exists). mom/vel are (param elems). */
int lb_train_ckpt_save(const char *dir, const lb_model *m, const float *mom, const float *vel,
                 const lb_train_opts *o, const lb_train_state *s, char *msg, size_t msglen);
/* Verify dir (every file's size and checksum against trainer.json), then read the
 * saved options into *saved, the state into *s, the model into *m, and allocate and
 * read *mom / *vel (lb_alloc; free with lb_free). */
int lb_train_ckpt_load(const char *dir, lb_model **m, float **mom, float **vel,
                 lb_train_opts *saved, lb_train_state *s, char *msg, size_t msglen);
/* Write the shipped model: dir/config.json + model.safetensors in dtype (an
 * lb_weight_dtype) + the tokenizer files from tokdir, as one folder renamed into place.
 * config.json gets "linbench_trained": {"curriculum": [[n, updates], ...] (curr cut
 * at st->step), "valid_loss": [[n, last validation loss logged at n], ...],
 * "updates": st->step}. */
int lb_export_model(const char *dir, const lb_model *m, const char *tokdir, lb_weight_dtype dtype,
                    const lb_curriculum *curr, const lb_train_state *st, char *msg, size_t msglen);
/* An exclusive advisory lock (flock) on out/.train.lock, held for the run: the fd to
 * close at the end, or -1 with msg naming the folder (another trainer holds it). */
int lb_train_lock(const char *out, char *msg, size_t msglen);
/* Resume rule: each option that shapes the run (model, data, optimisation) and was
 * given on the command line must equal the saved one (msg names it); the others
 * take the saved value. --steps may grow or shrink, and --n may change the phases
 * after the `done` steps already taken (a note is printed for each). */
int lb_train_opts_resume(lb_train_opts *o, const lb_train_opts *saved, long done, char *msg,
                         size_t msglen);
/* Internal to train_*.c: options to and from trainer.json's "options" object. */
struct cJSON;
int lb_train_opts_to_json(struct cJSON *obj, const lb_train_opts *o);
int lb_train_opts_from_json(lb_train_opts *o, const struct cJSON *obj, lb_train_state *s,
                            const char *file, char *msg, size_t msglen);
/* How a run ended: the caller (experiments/cli/) turns it into an exit status. */
typedef enum {
    LB_TRAIN_DONE = 0,      /* trained to --steps (or had nothing left to do), or exported */
    LB_TRAIN_INTERRUPTED,   /* *o->stop was set: a checkpoint was written; --resume continues */
    LB_TRAIN_BAD_OPTIONS,   /* options contradict each other or the checkpoint's */
    LB_TRAIN_BAD_DATA,      /* tokenizer, corpus or checkpoint missing, unreadable or malformed */
    LB_TRAIN_BUSY,          /* another trainer holds the output folder's lock */
    LB_TRAIN_CANNOT_WRITE,  /* the output folder, log, a checkpoint or the export */
    LB_TRAIN_FAILED,        /* out of memory, divergence, or an internal error */
} lb_train_status;

/* Run (or resume) training per o; progress and per-step lines go to stdout. Returns 0
 * when *status is LB_TRAIN_DONE or LB_TRAIN_INTERRUPTED (msg then says how to resume),
 * -1 otherwise with the reason in msg. Nothing is written before every check that can
 * refuse the run has passed. */
int lb_train_run(const lb_train_opts *o, lb_train_status *status, char *msg, size_t msglen);

#endif
