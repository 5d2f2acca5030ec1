/* Writing a trained BPE vocabulary: vocab.json and merges.txt (lb_bpe_train.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe_train_int.h"
#include "lb_tokenizer.h"
#include "lb_outset.h"
#include "lb_util.h"


typedef struct { char *p; size_t n, cap; int oom; } sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom || lb_bpe_grow((void **)&b->p, &b->cap, b->n + n + 1, 1)) {
        b->oom = 1;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_tok(sbuf *b, const lb_bpe_trainer *t, int32_t sym) {
    sb_put(b, t->toks.arena + t->tok[sym].off, t->tok[sym].len);
}

static char *sb_done(sbuf *b, size_t *len) {
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (len) *len = b->n;
    return b->p;
}

char *lb_bpe_trainer_vocab_json(const lb_bpe_trainer *t, size_t *len) {
    if (!t->ran) return NULL;
    sbuf b = {0};
    char num[32];
    long id = 0;
    static const char *const specials[] = {"<s>", "<pad>", "</s>", "<unk>"};
    sb_put(&b, "{", 1);
    for (int i = 0; i < 4; i++) {
        sb_put(&b, num, (size_t)snprintf(num, sizeof num, "%s\"%s\":%ld", i ? "," : "",
                                         specials[i], id++));
    }
    /* byte tokens in code point order of their character: walk the code points */
    int32_t order[256], k = 0;
    for (uint32_t cp = 0; cp < 0x200; cp++) {
        int by = lb_gpt2_cp_to_byte(cp);
        if (by >= 0) order[k++] = by;
    }
    for (size_t i = 0; i < t->n_tok; i++) {
        int32_t sym = i < 256 ? order[i] : (int32_t)i;
        const char *s = t->toks.arena + t->tok[sym].off;
        sb_put(&b, ",\"", 2);
        for (uint32_t j = 0; j < t->tok[sym].len; j++) { /* JSON escapes: only " and \ occur */
            if (s[j] == '"' || s[j] == '\\') sb_put(&b, "\\", 1);
            sb_put(&b, s + j, 1);
        }
        sb_put(&b, num, (size_t)snprintf(num, sizeof num, "\":%ld", id++));
    }
    sb_put(&b, num, (size_t)snprintf(num, sizeof num, ",\"<mask>\":%ld}\n", id));
    return sb_done(&b, len);
}

char *lb_bpe_trainer_merges_txt(const lb_bpe_trainer *t, size_t *len) {
    if (!t->ran) return NULL;
    sbuf b = {0};
    sb_put(&b, "#version: 0.2\n", 14);
    for (long i = 0; i < t->n_merge; i++) {
        sb_tok(&b, t, t->merge[i][0]);
        sb_put(&b, " ", 1);
        sb_tok(&b, t, t->merge[i][1]);
        sb_put(&b, "\n", 1);
    }
    return sb_done(&b, len);
}

/* vocab.json and merges.txt are one output set (lb_outset.h): both appear or neither,
 * and a failed or interrupted run leaves an earlier pair as it was. */
int lb_bpe_trainer_write(const lb_bpe_trainer *t, const char *dir, char *msg, size_t msglen) {
    size_t vl, ml;
    char *v = lb_bpe_trainer_vocab_json(t, &vl), *m = lb_bpe_trainer_merges_txt(t, &ml);
    char pv[4096], pm[4096];
    int rc = -1;
    lb_outset *out = NULL;
    FILE *fv = NULL, *fm = NULL;
    if (!v || !m) {
        lb_fail(msg, msglen, t->ran ? "out of memory" : "the trainer has not run");
    } else if ((size_t)snprintf(pv, sizeof pv, "%s/vocab.json", dir) >= sizeof pv ||
               (size_t)snprintf(pm, sizeof pm, "%s/merges.txt", dir) >= sizeof pm) {
        lb_fail(msg, msglen, "output folder name too long: %.64s...", dir);
    } else if (lb_mkdirs(dir)) {
        lb_fail(msg, msglen, "cannot create the output folder %s", dir);
    } else if (!(out = lb_outset_new(msg, msglen)) || !(fv = lb_outset_add(out, pv, msg, msglen)) ||
               !(fm = lb_outset_add(out, pm, msg, msglen))) {
        /* msg says which file and why */
    } else {
        fwrite(v, 1, vl, fv), fwrite(m, 1, ml, fm); /* a failed write is reported by commit */
        rc = lb_outset_commit(out, msg, msglen);
        out = NULL;
    }
    lb_outset_abort(out);
    free(v);
    free(m);
    return rc;
}
