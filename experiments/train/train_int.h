/* Internal to experiments/train/train_*.c: the state of one `linbench train` run,
 * shared by its set-up (train_setup.c) and its loop (train_loop.c). */
#ifndef LB_TRAIN_INT_H
#define LB_TRAIN_INT_H

#include <stdio.h>

#include "lb_train.h"
#include "lb_train_model.h"

typedef struct {
    lb_tokenizer *tok;
    lb_mask_cfg mc;
    int32_t bos, eos, pad, top;
    lb_docs train, valid;
    int have_valid;
    lb_model *m;
    float *mom, *vel, *grad;
    lb_loader *loader;
    lb_mlm *ws;      /* for (ws_batch, ws_n) */
    int ws_n, ws_batch;
    lb_batch b;      /* ws_batch rows */
    int32_t *labels; /* (ws_batch, ws_n) */
    int32_t *shift;  /* (ws_batch): this step's position shifts (--pos-shift), else unused */
    const lb_param *frozen; /* --pos-fixed: the position table, never updated; else NULL */
    lb_train_state st;
    FILE *log;
    int lock;        /* fd of the output folder's lock, -1 when not held */
    char last_ckpt[4096];
    lb_mlm *ws_part; /* MPI: for this rank's rows of the batch (train_mpi.c) */
    int ws_part_n, ws_part_batch;
} lb_run;

/* Fresh or resumed: checkpoint and options (the resume rule), tokenizer, corpora and
 * their checksums, the model (random init or the checkpoint's), optimizer state,
 * gradients and the loader. Every check that refuses a run is here, before anything
 * is written. Returns 0, or -1 with *status and msg set; lb_run_free(r) either way. */
int lb_run_setup(lb_run *r, lb_train_opts *o, lb_train_status *status, char *msg, size_t msglen);
void lb_run_free(lb_run *r);

/* lb_fail that also records why (the caller's exit status). */
int lb_run_fail(lb_train_status *status, lb_train_status why, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- data-parallel training across MPI ranks (train_mpi.c) ----
 * Every rank reads the same global batch (the loader is deterministic); rank r takes
 * rows [r·B/size, (r+1)·B/size), the gradients are summed over ranks before clipping
 * and the optimizer step, so every rank holds the same weights. Rank 0 alone prints,
 * logs and writes checkpoints. One rank: plain lb_mlm_step. */

/* After set-up: checks (batch >= ranks, a resume made by as many ranks) and quiets
 * ranks > 0. EX_OK or a sysexits code after a message. */
int lb_train_mpi_begin(lb_run *r, lb_train_opts *o);
/* grad (zeroed by the caller) = the gradient of the global batch's mean loss; s = its
 * statistics (sums over all ranks). shift (ws_batch) moves each row's positions
 * (lb_mlm_set_pos_shift), NULL none. 0, or -1 with msg. */
int lb_train_mpi_step(lb_run *r, const lb_train_opts *o, int n, const int32_t *shift, lb_mlm_stats *s,
                      char *msg, size_t msglen);
void lb_train_mpi_free(lb_run *r);

#endif
