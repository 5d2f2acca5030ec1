/* Set-up of a `linbench train` run, fresh or resumed (see train_int.h): every check
 * that refuses a run happens here, before the loop writes anything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_util.h"
#include "train_int.h"

static int load_corpus(lb_docs *d, const char *path, const lb_train_opts *o, lb_tokenizer *t) {
    char msg[512];
    lb_docs_init(d);
    int rc = o->ids_input ? lb_docs_read_ids(d, path, lb_tokenizer_vocab_size(t), msg, sizeof msg)
                          : lb_docs_read_text(d, path, t, 0, msg, sizeof msg);
    if (rc) {
        lb_err("%s", msg);
        return -1;
    }
    if (d->n_tokens == 0 || d->n_docs == 0) {
        lb_err("%s: empty corpus (no tokens after reading it)", path);
        return -1;
    }
    return 0;
}

/* (Re)make the workspace, batch and labels for length n. */
int lb_train_setup(run_t *r, lb_train_opts *o) {
    char msg[1024], p1[4096], p2[4096];
    lb_train_opts saved;
    if (o->resume) {
        if (lb_ckpt_load(o->resume, &r->m, &r->mom, &r->vel, &saved, &r->st, msg, sizeof msg)) {
            lb_err("resume: %s", msg);
            return EX_DATAERR;
        }
        if (lb_train_opts_resume(o, &saved, r->st.step, msg, sizeof msg)) {
            lb_err("resume from %s: %s", o->resume, msg);
            return EX_USAGE;
        }
    }
    const char *tokdir = o->tokenizer ? o->tokenizer : o->resume;
    if (!tokdir) return lb_err("--tokenizer DIR is required (vocab.json + merges.txt)"), EX_USAGE;
    if (!o->train) return lb_err("--train FILE is required"), EX_USAGE;
    if (!o->out) return lb_err("--out DIR is required"), EX_USAGE;
    snprintf(p1, sizeof p1, "%s/vocab.json", tokdir);
    snprintf(p2, sizeof p2, "%s/merges.txt", tokdir);
    if (lb_tokenizer_load_bpe(&r->tok, p1, p2, msg, sizeof msg)) return lb_err("%s", msg), EX_DATAERR;
    uint64_t th = LB_FNV1A_INIT;
    if (lb_file_fnv(p1, &th, NULL, msg, sizeof msg) || lb_file_fnv(p2, &th, NULL, msg, sizeof msg))
        return lb_err("%s", msg), EX_NOINPUT;
    if (o->resume && th != r->st.tok_sum)
        return lb_err("resume: tokenizer %s differs from the one the checkpoint was trained with", tokdir),
               EX_USAGE;
    r->st.tok_sum = th;
    if (!o->tokenizer) o->tokenizer = tokdir;
    if (lb_mask_cfg_init(&r->mc, r->tok, msg, sizeof msg)) return lb_err("%s", msg), EX_DATAERR;
    lb_tokenizer_specials(r->tok, &r->bos, &r->eos, &r->pad);
    if (r->bos < 0 || r->eos < 0 || r->pad < 0)
        return lb_err("tokenizer %s lacks <s>, </s> or <pad>", tokdir), EX_DATAERR;
    if (load_corpus(&r->train, o->train, o, r->tok)) return EX_DATAERR;
    if (o->valid) {
        if (load_corpus(&r->valid, o->valid, o, r->tok)) return EX_DATAERR;
        r->have_valid = 1;
    }
    uint64_t ts = lb_docs_checksum(&r->train), vs = r->have_valid ? lb_docs_checksum(&r->valid) : 0;
    if (o->resume && ts != r->st.train_sum)
        return lb_err("resume: --train %s is not the corpus the checkpoint was trained on (checksum)", o->train),
               EX_USAGE;
    if (o->resume && vs != r->st.valid_sum)
        return lb_err("resume: --valid %s is not the checkpoint's validation corpus (checksum)",
                      o->valid ? o->valid : "(none)"), EX_USAGE;
    r->st.train_sum = ts;
    r->st.valid_sum = vs;
    r->top = lb_docs_top_token(&r->train, &r->mc);

    int maxn = lb_curriculum_max_n(&o->curr), minn = maxn;
    for (int i = 0; i < o->curr.count; i++)
        if (o->curr.n[i] < minn) minn = o->curr.n[i];
    if (o->attention == LB_ATTN_LINFORMER && (o->k < 1 || o->k > minn))
        return lb_err("--k %d: Linformer needs 1 <= k <= n (the shortest n here is %d)", o->k, minn), EX_USAGE;
    int need = maxn + r->pad + 1; /* RoBERTa positions run pad+1 .. pad+n */
    int max_pos = o->max_pos ? o->max_pos : need;
    if (need > max_pos)
        return lb_err("--n %d needs %d position embeddings but the position table (--max-pos) has %d", maxn,
                      need, max_pos), EX_USAGE;
    if (!o->resume) {
        lb_config c;
        memset(&c, 0, sizeof c);
        c.type = LB_MODEL_ROBERTA;
        c.vocab_size = lb_tokenizer_vocab_size(r->tok);
        c.hidden = o->hidden;
        c.layers = o->layers;
        c.heads = o->heads;
        c.intermediate = o->ffn;
        c.max_pos = max_pos;
        c.type_vocab = 1;
        c.pad_id = r->pad;
        c.ln_eps = 1e-5f;
        c.attn = (lb_attn_method)o->attention;
        c.lin_k = o->attention == LB_ATTN_LINFORMER ? o->k : 0;
        c.lin_share = (lb_share)o->share;
        c.lin_n = o->attention == LB_ATTN_LINFORMER ? maxn : 0;
        if (lb_config_check(&c, msg, sizeof msg)) return lb_err("model shape: %s", msg), EX_USAGE;
        if (lb_model_init_random(&r->m, &c, o->seed, msg, sizeof msg)) return lb_err("%s", msg), EX_SOFTWARE;
        size_t bytes = lb_model_param_elems(r->m) * sizeof(float);
        r->mom = lb_alloc(bytes);
        r->vel = lb_alloc(bytes);
        if (!r->mom || !r->vel) return lb_err("out of memory for the optimizer state"), EX_OSERR;
        memset(r->mom, 0, bytes);
        memset(r->vel, 0, bytes);
    } else {
        const lb_config *c = lb_model_config(r->m);
        if (need > c->max_pos)
            return lb_err("resume: --n %d needs %d positions, the checkpoint's table has %d", maxn, need,
                          c->max_pos), EX_DATAERR;
        if (c->attn == LB_ATTN_LINFORMER && maxn > c->lin_n) /* E, F are (k, lin_n) */
            return lb_err("resume: --n %d is longer than the %d the checkpoint's Linformer projections "
                          "were made for", maxn, c->lin_n), EX_USAGE;
    }
    if (!(r->grad = lb_alloc(lb_model_param_elems(r->m) * sizeof(float))))
        return lb_err("out of memory for gradients"), EX_OSERR;
    if (lb_loader_init(&r->loader, &r->train, o->seed, r->bos, r->eos, r->pad, msg, sizeof msg))
        return lb_err("%s: %s", o->train, msg), EX_DATAERR;
    if (o->resume && lb_loader_set(r->loader, &r->st.loader, msg, sizeof msg))
        return lb_err("resume: %s", msg), EX_DATAERR;
    return EX_OK;
}

/* The shipped model: BF16 weights + config.json + the tokenizer files of tokdir. */
