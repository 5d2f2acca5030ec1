/* Set-up of a `linbench train` run, fresh or resumed (see train_int.h): every check
 * that refuses a run happens here, before the loop writes anything. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_util.h"
#include "train_int.h"

int lb_run_fail(lb_train_status *status, lb_train_status why, char *msg, size_t msglen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (msg && msglen) vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    *status = why;
    return -1;
}

void lb_run_free(lb_run *r) {
    if (r->lock >= 0) close(r->lock);
    if (r->log) fclose(r->log);
    lb_mlm_free(r->ws);
    lb_train_mpi_free(r);
    lb_batch_free(&r->b);
    free(r->labels);
    free(r->shift);
    lb_loader_free(r->loader);
    lb_free(r->grad);
    lb_free(r->mom);
    lb_free(r->vel);
    lb_model_free(r->m);
    lb_docs_free(&r->train);
    lb_docs_free(&r->valid);
    lb_tokenizer_free(r->tok);
    lb_train_state_free(&r->st);
    memset(r, 0, sizeof *r);
    r->lock = -1;
}

static int load_corpus(lb_docs *d, const char *path, const lb_train_opts *o, lb_tokenizer *t, char *msg,
                       size_t msglen) {
    lb_docs_init(d);
    int rc = o->ids_input ? lb_docs_read_ids(d, path, lb_tokenizer_vocab_size(t), msg, msglen)
                          : lb_docs_read_text(d, path, t, 0, msg, msglen);
    if (rc) return -1;
    if (d->n_tokens == 0 || d->n_docs == 0) return lb_fail(msg, msglen, "%s: empty corpus (no tokens after reading it)", path);
    return 0;
}

/* A resume: the checkpoint, then the resume rule on the options. */
static int setup_resume(lb_run *r, lb_train_opts *o, lb_train_status *st, char *msg, size_t msglen) {
    char why[1024];
    lb_train_opts saved;
    if (lb_train_ckpt_load(o->resume, &r->m, &r->mom, &r->vel, &saved, &r->st, why, sizeof why))
        return lb_run_fail(st, LB_TRAIN_BAD_DATA, msg, msglen, "resume: %s", why);
    if (lb_train_opts_resume(o, &saved, r->st.step, why, sizeof why))
        return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen, "resume from %s: %s", o->resume, why);
    return 0;
}

/* The tokenizer (--tokenizer, or the checkpoint's copy), its checksum and specials. */
static int setup_tokenizer(lb_run *r, lb_train_opts *o, lb_train_status *st, char *msg, size_t msglen) {
    char p1[4096], p2[4096];
    const char *tokdir = o->tokenizer ? o->tokenizer : o->resume;
    if (!tokdir) return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen, "--tokenizer DIR is required (vocab.json + merges.txt)");
    if (!o->train) return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen, "--train FILE is required");
    if (!o->out) return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen, "--out DIR is required");
    snprintf(p1, sizeof p1, "%s/vocab.json", tokdir);
    snprintf(p2, sizeof p2, "%s/merges.txt", tokdir);
    *st = LB_TRAIN_BAD_DATA;
    if (lb_tokenizer_load_bpe(&r->tok, p1, p2, msg, msglen)) return -1;
    uint64_t th = LB_FNV1A_INIT;
    if (lb_file_fnv(p1, &th, NULL, msg, msglen) || lb_file_fnv(p2, &th, NULL, msg, msglen)) return -1;
    if (o->resume && th != r->st.tok_sum)
        return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen,
                           "resume: tokenizer %s differs from the one the checkpoint was trained with", tokdir);
    r->st.tok_sum = th;
    if (!o->tokenizer) o->tokenizer = tokdir;
    if (lb_mask_cfg_init(&r->mc, r->tok, msg, msglen)) return -1;
    lb_tokenizer_specials(r->tok, &r->bos, &r->eos, &r->pad);
    if (r->bos < 0 || r->eos < 0 || r->pad < 0)
        return lb_run_fail(st, LB_TRAIN_BAD_DATA, msg, msglen, "tokenizer %s lacks <s>, </s> or <pad>", tokdir);
    return 0;
}

/* The corpora and their checksums (a resume must see the same ones). */
static int setup_corpora(lb_run *r, const lb_train_opts *o, lb_train_status *st, char *msg, size_t msglen) {
    *st = LB_TRAIN_BAD_DATA;
    if (load_corpus(&r->train, o->train, o, r->tok, msg, msglen)) return -1;
    if (o->valid) {
        if (load_corpus(&r->valid, o->valid, o, r->tok, msg, msglen)) return -1;
        r->have_valid = 1;
    }
    uint64_t ts = lb_docs_checksum(&r->train), vs = r->have_valid ? lb_docs_checksum(&r->valid) : 0;
    if (o->resume && ts != r->st.train_sum)
        return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen,
                           "resume: --train %s is not the corpus the checkpoint was trained on (checksum)", o->train);
    if (o->resume && vs != r->st.valid_sum)
        return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen,
                           "resume: --valid %s is not the checkpoint's validation corpus (checksum)",
                           o->valid ? o->valid : "(none)");
    r->st.train_sum = ts;
    r->st.valid_sum = vs;
    r->top = lb_docs_top_token(&r->train, &r->mc);
    return 0;
}

/* The sequence lengths against k and the position table; *need = positions the
 * longest n uses (RoBERTa's run pad+1 .. pad+n). */
static int check_lengths(const lb_run *r, const lb_train_opts *o, int *need, lb_train_status *st, char *msg,
                         size_t msglen) {
    int maxn = lb_curriculum_max_n(&o->curr), minn = maxn;
    for (int i = 0; i < o->curr.count; i++)
        if (o->curr.n[i] < minn) minn = o->curr.n[i];
    if (o->attention == LB_ATTN_LINFORMER && (o->k < 1 || o->k > minn))
        return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen,
                           "--k %d: Linformer needs 1 <= k <= n (the shortest n here is %d)", o->k, minn);
    *need = maxn + r->pad + 1;
    int max_pos = o->max_pos ? o->max_pos : *need;
    if (*need > max_pos)
        return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen,
                           "--n %d needs %d position embeddings but the position table (--max-pos) has %d", maxn,
                           *need, max_pos);
    return 0;
}

/* The position table (the trainer makes RoBERTa-shaped models only). */
static const char POS_TABLE[] = "roberta.embeddings.position_embeddings.weight";

/* Overwrite the position table with sinusoids (Vaswani et al. 2017, section 3.5) of
 * position i = row - (pad + 1), the first token's, each entry of root mean square rms
 * (a sinusoid's mean square is 1/2, so the amplitude is rms·√2). --pos-sinusoid: rms
 * 0.02, the random init's standard deviation, and the table is still trained; the start
 * only gives every row up to max_pos the smooth neighbour structure that rows past the
 * shortest curriculum length would otherwise have to learn from few updates.
 * --pos-fixed: rms 0.05, what the learned rows 2-129 of the third default model grew to
 * (the words' rows reached 0.11), and the table is never updated, so every row is as
 * good as every other from the first update on. --pos-rms sets another rms for either:
 * a fixed table's amplitude is all the position signal the layers get, and under weight
 * decay a sharp positional head needs a strong one. The pad row keeps its init (it gets no
 * gradient). */
static void init_pos_sinusoid(lb_model *m, const lb_config *c, double rms) {
    const lb_param *p = lb_model_param_find(m, POS_TABLE);
    float *w = lb_model_params(m) + p->offset;
    const int h = c->hidden;
    const double scale = rms * sqrt(2.0);
    for (int row = 0; row < c->max_pos; row++) {
        if (row == c->pad_id) continue;
        double i = row - (c->pad_id + 1);
        for (int j = 0; j < h; j++) {
            double f = pow(10000.0, -(double)(j - j % 2) / h);
            w[(long)row * h + j] = (float)(scale * (j % 2 ? cos(i * f) : sin(i * f)));
        }
    }
}

/* A fresh model of the options' shape and zeroed optimizer state. */
static int setup_fresh_model(lb_run *r, const lb_train_opts *o, int max_pos, lb_train_status *st, char *msg,
                             size_t msglen) {
    char why[1024];
    int lin = o->attention == LB_ATTN_LINFORMER;
    lb_config c = {
        .type = LB_MODEL_ROBERTA, .vocab_size = lb_tokenizer_vocab_size(r->tok), .hidden = o->hidden,
        .layers = o->layers, .heads = o->heads, .intermediate = o->ffn, .max_pos = max_pos,
        .type_vocab = 1, .pad_id = r->pad, .ln_eps = 1e-5f, .attn = o->attention,
        .lin_k = lin ? o->k : 0, .lin_share = o->share, .lin_n = lin ? lb_curriculum_max_n(&o->curr) : 0,
    };
    if (lb_config_check(&c, why, sizeof why))
        return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen, "model shape: %s", why);
    if (lb_model_init_random(&r->m, &c, o->seed, msg, msglen)) return *st = LB_TRAIN_FAILED, -1;
    if (o->pos_sinusoid || o->pos_fixed)
        init_pos_sinusoid(r->m, &c, o->pos_rms > 0 ? o->pos_rms : o->pos_fixed ? 0.05 : 0.02);
    size_t bytes = lb_model_param_elems(r->m) * sizeof(float);
    r->mom = lb_alloc(bytes);
    r->vel = lb_alloc(bytes);
    if (!r->mom || !r->vel) return lb_run_fail(st, LB_TRAIN_FAILED, msg, msglen, "out of memory for the optimizer state");
    memset(r->mom, 0, bytes);
    memset(r->vel, 0, bytes);
    return 0;
}

/* A resumed model must hold the longest n of the (possibly longer) curriculum. */
static int check_resumed_model(const lb_run *r, const lb_train_opts *o, int need, lb_train_status *st, char *msg,
                               size_t msglen) {
    const lb_config *c = lb_model_config(r->m);
    int maxn = lb_curriculum_max_n(&o->curr);
    if (need > c->max_pos)
        return lb_run_fail(st, LB_TRAIN_BAD_DATA, msg, msglen,
                           "resume: --n %d needs %d positions, the checkpoint's table has %d", maxn, need, c->max_pos);
    if (c->attn == LB_ATTN_LINFORMER && maxn > c->lin_n) /* E, F are (k, lin_n) */
        return lb_run_fail(st, LB_TRAIN_BAD_OPTIONS, msg, msglen,
                           "resume: --n %d is longer than the %d the checkpoint's Linformer projections were made for",
                           maxn, c->lin_n);
    return 0;
}

int lb_run_setup(lb_run *r, lb_train_opts *o, lb_train_status *st, char *msg, size_t msglen) {
    char why[1024];
    int need = 0;
    if (o->resume && setup_resume(r, o, st, msg, msglen)) return -1;
    if (setup_tokenizer(r, o, st, msg, msglen) || setup_corpora(r, o, st, msg, msglen) ||
        check_lengths(r, o, &need, st, msg, msglen))
        return -1;
    if (o->resume ? check_resumed_model(r, o, need, st, msg, msglen)
                  : setup_fresh_model(r, o, o->max_pos ? o->max_pos : need, st, msg, msglen))
        return -1;
    if (o->pos_fixed) r->frozen = lb_model_param_find(r->m, POS_TABLE);
    if (!(r->grad = lb_alloc(lb_model_param_elems(r->m) * sizeof(float))))
        return lb_run_fail(st, LB_TRAIN_FAILED, msg, msglen, "out of memory for gradients");
    if (lb_loader_init(&r->loader, &r->train, o->seed, r->bos, r->eos, r->pad, why, sizeof why))
        return lb_run_fail(st, LB_TRAIN_BAD_DATA, msg, msglen, "%s: %s", o->train, why);
    if (o->resume && lb_loader_set(r->loader, &r->st.loader, why, sizeof why))
        return lb_run_fail(st, LB_TRAIN_BAD_DATA, msg, msglen, "resume: %s", why);
    return 0;
}
