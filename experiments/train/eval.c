/* Masked-LM validation by length and position bucket (lb_eval.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_corpus.h"
#include "lb_eval.h"
#include "lb_train.h"
#include "lb_train_model.h"
#include "lb_util.h"

void lb_eval_opts_default(lb_eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_tokens = 102400; /* 200 windows of 512 */
    o->buckets = 4;
    o->passes = 2;
    o->batch = 8;
    o->seed = 1;
}

/* z for a two-sided 95% interval */
#define Z95 1.959963984540054

void lb_eval_ratio_ci(const double *a, const double *b, size_t count, double *est, double *lo,
                      double *hi) {
    double sa = 0, sb = 0;
    for (size_t i = 0; i < count; i++) sa += a[i], sb += b[i];
    double r = sb > 0 ? sa / sb : NAN, mb = sb / (double)count, ss = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (a[i] - r * b[i]) / mb;
        ss += d * d;
    }
    double se = count > 1 ? sqrt(ss / (double)(count - 1) / (double)count) : NAN;
    *est = r;
    *lo = r - Z95 * se;
    *hi = r + Z95 * se;
}

void lb_eval_diff_ci(const double *a1, const double *b1, const double *a0, const double *b0,
                     size_t count, double *est, double *lo, double *hi) {
    double s1 = 0, t1 = 0, s0 = 0, t0 = 0;
    for (size_t i = 0; i < count; i++) s1 += a1[i], t1 += b1[i], s0 += a0[i], t0 += b0[i];
    double r1 = t1 > 0 ? s1 / t1 : NAN, r0 = t0 > 0 ? s0 / t0 : NAN;
    double m1 = t1 / (double)count, m0 = t0 / (double)count, ss = 0;
    for (size_t i = 0; i < count; i++) {
        double d = (a1[i] - r1 * b1[i]) / m1 - (a0[i] - r0 * b0[i]) / m0;
        ss += d * d;
    }
    double se = count > 1 ? sqrt(ss / (double)(count - 1) / (double)count) : NAN;
    *est = r1 - r0;
    *lo = *est - Z95 * se;
    *hi = *est + Z95 * se;
}

/* The first max_tokens tokens of src, whole documents (at least one). */
static int docs_prefix(lb_docs *dst, const lb_docs *src, long max_tokens) {
    lb_docs_init(dst);
    for (size_t j = 0; j < src->n_docs; j++) {
        if (max_tokens > 0 && j > 0 && dst->n_tokens >= (size_t)max_tokens) break;
        size_t a = src->doc_off[j], b = src->doc_off[j + 1];
        if (lb_docs_add(dst, src->tokens + a, b - a)) return -1;
    }
    return 0;
}

typedef struct {
    lb_model *m;
    lb_tokenizer *tok;
    lb_docs docs;
    lb_mask_cfg mc;
    int bos, eos, pad;
} eval_ctx;

static void ctx_free(eval_ctx *c) {
    lb_docs_free(&c->docs);
    lb_tokenizer_free(c->tok);
    lb_model_free(c->m);
}

static int ctx_init(eval_ctx *c, const lb_eval_opts *o, char *msg, size_t msglen) {
    memset(c, 0, sizeof *c);
    char sub[512];
    if (lb_model_load(&c->m, o->model, sub, sizeof sub))
        return lb_fail(msg, msglen, "%s: %s", o->model, sub);
    if (lb_tokenizer_for_model(&c->tok, o->model, sub, sizeof sub))
        return lb_fail(msg, msglen, "%s: tokenizer: %s", o->model, sub);
    if (lb_mask_cfg_init(&c->mc, c->tok, sub, sizeof sub))
        return lb_fail(msg, msglen, "%s: %s", o->model, sub);
    lb_tokenizer_specials(c->tok, &c->bos, &c->eos, &c->pad);
    lb_docs all;
    lb_docs_init(&all);
    if (lb_docs_read_text(&all, o->text, c->tok, 0, sub, sizeof sub)) {
        lb_docs_free(&all);
        return lb_fail(msg, msglen, "%s", sub);
    }
    int rc = docs_prefix(&c->docs, &all, o->max_tokens);
    lb_docs_free(&all);
    if (rc) return lb_fail(msg, msglen, "out of memory");
    if (c->docs.n_tokens == 0) return lb_fail(msg, msglen, "%s: no tokens", o->text);
    return 0;
}

/* Windows first..first+got-1 (in bt), all passes: per-bucket loss sums and counts
 * into la[b*W + window], lc[b*W + window]. One forward per pass gives every token's
 * loss (lb_mlm_eval_tokens); the buckets split them. scratch is (3, B·n). */
static int eval_batch(lb_mlm *ws, lb_batch *bt, int got, size_t first, size_t W, int32_t *scratch,
                      double *tok, const eval_ctx *c, const lb_eval_opts *o, double *la, double *lc,
                      double *correct, char *msg, size_t msglen) {
    int n = bt->n, B = bt->cap, width = n / o->buckets;
    size_t T = (size_t)B * n;
    int32_t *labels = scratch, *clean = scratch + T;
    for (int i = got; i < B; i++) { /* a short last batch: repeat row 0, count nothing */
        memcpy(bt->ids + (size_t)i * n, bt->ids, (size_t)n * sizeof *bt->ids);
        memcpy(bt->mask + (size_t)i * n, bt->mask, (size_t)n * sizeof *bt->mask);
    }
    memcpy(clean, bt->ids, T * sizeof *clean);
    for (int p = 0; p < o->passes; p++) {
        memcpy(bt->ids, clean, T * sizeof *clean);
        for (int i = 0; i < B; i++) {
            int32_t *lab = labels + (size_t)i * n;
            if (i >= got) {
                for (int j = 0; j < n; j++) lab[j] = LB_MLM_IGNORE;
                continue;
            }
            if (lb_mask_sequence(bt->ids + (size_t)i * n, lab, bt->mask + (size_t)i * n, n, &c->mc,
                                 o->seed, (uint64_t)p, first + (size_t)i) < 0)
                return lb_fail(msg, msglen, "out of memory");
        }
        lb_mlm_stats st;
        if (lb_mlm_eval_tokens(ws, bt->ids, bt->mask, labels, &st, tok, msg, msglen)) return -1;
        *correct += (double)st.n_correct;
        for (int i = 0; i < got; i++)
            for (int j = 0; j < n; j++) {
                double l = tok[(size_t)i * n + j];
                if (l != l) continue; /* NaN: not predicted */
                int b = j / width < o->buckets ? j / width : o->buckets - 1;
                la[(size_t)b * W + first + i] += l;
                lc[(size_t)b * W + first + i] += 1;
            }
    }
    memcpy(bt->ids, clean, T * sizeof *clean);
    return 0;
}

/* Per-window sums → the lb_eval_len summary with intervals. la, lc are (buckets, W). */
static void summarise(lb_eval_len *L, const double *la, const double *lc, size_t W, int buckets,
                      double correct) {
    double *ta = calloc(W, sizeof *ta), *tc = calloc(W, sizeof *tc);
    int width = L->n / buckets;
    for (int b = 0; b < buckets; b++) {
        lb_eval_bucket *k = &L->bucket[b];
        k->lo = b * width;
        k->hi = b == buckets - 1 ? L->n - 1 : (b + 1) * width - 1;
        lb_eval_ratio_ci(la + (size_t)b * W, lc + (size_t)b * W, W, &k->loss, &k->loss_lo, &k->loss_hi);
        lb_eval_diff_ci(la + (size_t)b * W, lc + (size_t)b * W, la, lc, W, &k->diff, &k->diff_lo,
                        &k->diff_hi);
        k->n_pred = 0;
        for (size_t w = 0; w < W; w++) {
            k->n_pred += (long)lc[(size_t)b * W + w];
            if (ta && tc) ta[w] += la[(size_t)b * W + w], tc[w] += lc[(size_t)b * W + w];
        }
        L->n_pred += k->n_pred;
    }
    if (ta && tc) lb_eval_ratio_ci(ta, tc, W, &L->loss, &L->loss_lo, &L->loss_hi);
    L->acc = L->n_pred ? correct / (double)L->n_pred : NAN;
    free(ta);
    free(tc);
}

static int eval_length(lb_eval_len *L, int n, const eval_ctx *c, const lb_eval_opts *o, char *msg,
                       size_t msglen) {
    char sub[512];
    lb_win_opts wo;
    lb_win_opts_default(&wo);
    wo.n = n;
    wo.seed = o->seed;
    wo.bos = c->bos;
    wo.eos = c->eos;
    wo.pad = c->pad;
    lb_windows *w = NULL;
    lb_mlm *ws = NULL;
    lb_batch bt = {0};
    int32_t *labels = NULL;
    double *la = NULL, *lc = NULL, *tok = NULL, correct = 0;
    int rc = -1;
    memset(L, 0, sizeof *L);
    L->n = n;
    if (lb_windows_init(&w, &c->docs, &wo, sub, sizeof sub)) {
        lb_fail(msg, msglen, "%s at n = %d: %s", o->text, n, sub);
        goto done;
    }
    size_t W = lb_windows_count(w);
    L->windows = W;
    if (W < 2) {
        lb_fail(msg, msglen, "%s at n = %d: %zu window(s); need at least 2 for an interval", o->text, n, W);
        goto done;
    }
    int B = o->batch > 0 ? o->batch : 1;
    if (lb_mlm_init(&ws, c->m, B, n, o->threads, sub, sizeof sub)) {
        lb_fail(msg, msglen, "n = %d: %s", n, sub);
        goto done;
    }
    labels = malloc(2 * (size_t)B * n * sizeof *labels);
    tok = malloc((size_t)B * n * sizeof *tok);
    la = calloc((size_t)o->buckets * W, sizeof *la);
    lc = calloc((size_t)o->buckets * W, sizeof *lc);
    if (!labels || !tok || !la || !lc || lb_batch_init(&bt, B, n, sub, sizeof sub)) {
        lb_fail(msg, msglen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < W; i += (size_t)B) {
        int got = lb_windows_fill(&bt, w, i);
        if (eval_batch(ws, &bt, got, i, W, labels, tok, c, o, la, lc, &correct, msg, msglen)) goto done;
    }
    summarise(L, la, lc, W, o->buckets, correct);
    rc = 0;
done:
    free(la);
    free(lc);
    free(tok);
    free(labels);
    lb_batch_free(&bt);
    lb_mlm_free(ws);
    lb_windows_free(w);
    return rc;
}

/* Position table rows for token positions lo..hi (RoBERTa offsets them by pad + 1). */
static void position_stats(lb_eval_result *r, const eval_ctx *c, int n, int buckets) {
    const lb_config *cfg = lb_model_config(c->m);
    const char *names[] = {"roberta.embeddings.position_embeddings.weight",
                           "bert.embeddings.position_embeddings.weight"};
    const lb_param *p = NULL;
    for (int i = 0; i < 2 && !p; i++) p = lb_model_param_find(c->m, names[i]);
    if (!p || p->ndim != 2) return;
    int off = cfg->type == LB_MODEL_ROBERTA ? cfg->pad_id + 1 : 0;
    int H = (int)p->shape[1], width = n / buckets;
    const float *E = lb_model_params(c->m) + p->offset;
    for (int b = 0; b < buckets; b++) {
        lb_eval_pos *q = &r->pos[b];
        q->lo = b * width;
        q->hi = b == buckets - 1 ? n - 1 : (b + 1) * width - 1;
        double sn = 0, sc = 0;
        int cn = 0, cc = 0;
        for (int t = q->lo; t <= q->hi && t + off < p->shape[0]; t++) {
            const float *x = E + (size_t)(t + off) * H;
            double xx = 0;
            for (int j = 0; j < H; j++) xx += (double)x[j] * x[j];
            sn += sqrt(xx), cn++;
            if (t + off + 1 >= p->shape[0] || t == n - 1) continue;
            const float *y = x + H;
            double yy = 0, xy = 0;
            for (int j = 0; j < H; j++) yy += (double)y[j] * y[j], xy += (double)x[j] * y[j];
            if (xx > 0 && yy > 0) sc += xy / sqrt(xx * yy), cc++;
        }
        q->norm = cn ? sn / cn : NAN;
        q->neighbour_cos = cc ? sc / cc : NAN;
    }
    r->pos_buckets = buckets;
}

int lb_eval_run(lb_eval_result *r, const lb_eval_opts *o, char *msg, size_t msglen) {
    memset(r, 0, sizeof *r);
    if (o->buckets < 1 || o->buckets > LB_EVAL_MAX_BUCKETS || o->passes < 1 || o->n_count < 1)
        return lb_fail(msg, msglen, "buckets must be 1..%d, passes >= 1, at least one n",
                       LB_EVAL_MAX_BUCKETS);
    eval_ctx c;
    if (ctx_init(&c, o, msg, msglen)) {
        ctx_free(&c);
        return -1;
    }
    r->tokens = (long)c.docs.n_tokens;
    snprintf(r->tokenizer, sizeof r->tokenizer, "%s", lb_tokenizer_describe(c.tok));
    r->len = calloc((size_t)o->n_count, sizeof *r->len);
    if (!r->len) {
        ctx_free(&c);
        return lb_fail(msg, msglen, "out of memory");
    }
    r->n_count = o->n_count;
    int nmax = 0;
    for (int i = 0; i < o->n_count; i++) {
        if (o->n[i] < 3 || o->n[i] % o->buckets) {
            ctx_free(&c);
            return lb_fail(msg, msglen, "n = %d: expected >= 3 and a multiple of buckets (%d)", o->n[i],
                           o->buckets);
        }
        if (eval_length(&r->len[i], o->n[i], &c, o, msg, msglen)) {
            ctx_free(&c);
            return -1;
        }
        if (o->n[i] > nmax) nmax = o->n[i];
    }
    position_stats(r, &c, nmax, o->buckets);
    ctx_free(&c);
    return 0;
}

void lb_eval_free(lb_eval_result *r) {
    free(r->len);
    memset(r, 0, sizeof *r);
}
