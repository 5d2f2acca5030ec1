/* Internal to experiments/train_*.c: the state of one `linbench train` run, shared by
 * its set-up (train_setup.c) and its loop (train_loop.c). */
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
    lb_mlm *ws;      /* for (batch, ws_n) */
    int ws_n;
    lb_batch b;
    int32_t *labels; /* (batch, ws_n) */
    lb_train_state st;
    FILE *log;
    char last_ckpt[4096];
} run_t;

/* Fresh or resumed: checkpoint and options (the resume rule), tokenizer, corpora and
 * their checksums, the model (random init or the checkpoint's), optimizer state,
 * gradients and the loader. Returns EX_OK or a sysexits code after a message. */
int lb_train_setup(run_t *r, lb_train_opts *o);

#endif
