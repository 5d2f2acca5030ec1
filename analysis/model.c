/* Encoder weights: load from a HuggingFace folder, random init, free. All arrays live
 * in one float32 block laid out by the same table that names the tensors. */
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lb_safetensors.h"
#include "lb_util.h"
#include "model_internal.h"

static int fail(char *msg, size_t msglen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (msg && msglen) vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return -1;
}

enum { K_EMB, K_LIN_W, K_BIAS, K_LN }; /* how random init fills a tensor */

typedef struct {
    char name[128];   /* canonical name, no prefix, LayerNorm .weight/.bias */
    float **dst;
    int64_t rows, cols; /* cols 0: a vector of rows */
    const char *rf, *cf; /* the config.json fields rows and cols come from */
    int kind;
    int ln_bias;     /* for K_LN: 1 = bias (0-filled), 0 = weight (1-filled) */
} spec;

/* Which config field a dimension came from, for messages (first match wins: ties
 * such as hidden = intermediate name the first field, still a true statement). */
static const char *field_of(const lb_config *c, int64_t v) {
    if (v == c->hidden) return "hidden_size";
    if (v == c->intermediate) return "intermediate_size";
    if (v == c->vocab_size) return "vocab_size";
    if (v == c->max_pos) return "max_position_embeddings";
    if (v == c->type_vocab) return "type_vocab_size";
    return "?";
}

/* The tensors a config needs, in block order. Returns the count (<= cap). */
static int specs(spec *s, lb_model *m) {
    const lb_config *c = &m->c;
    int n = 0;
#define ADD(nm, d, r, cl, k, lb) \
    s[n++] = (spec){.dst = (d), .rows = (r), .cols = (cl), .kind = (k), .ln_bias = (lb), \
                    .rf = field_of(c, r), .cf = field_of(c, cl)}; \
    snprintf(s[n - 1].name, sizeof s[n - 1].name, "%s", nm)
    ADD("embeddings.word_embeddings.weight", &m->word, c->vocab_size, c->hidden, K_EMB, 0);
    ADD("embeddings.position_embeddings.weight", &m->pos, c->max_pos, c->hidden, K_EMB, 0);
    ADD("embeddings.token_type_embeddings.weight", &m->type, c->type_vocab, c->hidden, K_EMB, 0);
    ADD("embeddings.LayerNorm.weight", &m->emb_g, c->hidden, 0, K_LN, 0);
    ADD("embeddings.LayerNorm.bias", &m->emb_b, c->hidden, 0, K_LN, 1);
    for (int i = 0; i < c->layers; i++) {
        lb_layer_weights *L = &m->layer[i];
        char p[128];
        const int h = c->hidden, f = c->intermediate;
#define LAY(suffix, d, r, cl, k, lb)                                              \
    snprintf(p, sizeof p, "encoder.layer.%d.%s", i, suffix);                      \
    ADD(p, d, r, cl, k, lb)
        LAY("attention.self.query.weight", &L->wq, h, h, K_LIN_W, 0);
        LAY("attention.self.query.bias", &L->bq, h, 0, K_BIAS, 0);
        LAY("attention.self.key.weight", &L->wk, h, h, K_LIN_W, 0);
        LAY("attention.self.key.bias", &L->bk, h, 0, K_BIAS, 0);
        LAY("attention.self.value.weight", &L->wv, h, h, K_LIN_W, 0);
        LAY("attention.self.value.bias", &L->bv, h, 0, K_BIAS, 0);
        LAY("attention.output.dense.weight", &L->wo, h, h, K_LIN_W, 0);
        LAY("attention.output.dense.bias", &L->bo, h, 0, K_BIAS, 0);
        LAY("attention.output.LayerNorm.weight", &L->ln1_g, h, 0, K_LN, 0);
        LAY("attention.output.LayerNorm.bias", &L->ln1_b, h, 0, K_LN, 1);
        LAY("intermediate.dense.weight", &L->wi, f, h, K_LIN_W, 0);
        LAY("intermediate.dense.bias", &L->bi, f, 0, K_BIAS, 0);
        LAY("output.dense.weight", &L->wf, h, f, K_LIN_W, 0);
        LAY("output.dense.bias", &L->bf, h, 0, K_BIAS, 0);
        LAY("output.LayerNorm.weight", &L->ln2_g, h, 0, K_LN, 0);
        LAY("output.LayerNorm.bias", &L->ln2_b, h, 0, K_LN, 1);
#undef LAY
    }
#undef ADD
    return n;
}

static size_t spec_elems(const spec *s) { return (size_t)s->rows * (size_t)(s->cols ? s->cols : 1); }

size_t lb_model_bytes(const lb_config *c) {
    /* config limits (config.c) keep every product far below 2^63 */
    size_t h = (size_t)c->hidden, f = (size_t)c->intermediate;
    size_t emb = ((size_t)c->vocab_size + (size_t)c->max_pos + (size_t)c->type_vocab + 2) * h;
    size_t layer = 4 * h * h + 4 * h + 4 * h + 2 * h * f + f + h;
    return (emb + (size_t)c->layers * layer) * sizeof(float);
}

const lb_config *lb_model_config(const lb_model *m) { return &m->c; }

void lb_model_free(lb_model *m) {
    if (!m) return;
    lb_free(m->block);
    free(m->layer);
    free(m);
}

/* Allocate the model and carve the block; returns the spec table through *sp. */
static int alloc_model(lb_model **out, spec **sp, int *ns, const lb_config *c, char *msg,
                       size_t msglen) {
    char m2[256];
    *out = NULL;
    if (lb_config_check(c, m2, sizeof m2)) return fail(msg, msglen, "config: %s", m2);
    lb_model *m = calloc(1, sizeof *m);
    spec *s = NULL;
    if (!m) goto oom;
    m->c = *c;
    m->layer = calloc((size_t)c->layers, sizeof *m->layer);
    s = calloc(5 + 16 * (size_t)c->layers, sizeof *s);
    if (!m->layer || !s) goto oom;
    int n = specs(s, m);
    size_t bytes = lb_model_bytes(c);
    m->block = lb_alloc_big(bytes, 0);
    if (!m->block) {
        fail(msg, msglen, "out of memory for %zu MB of weights", bytes >> 20);
        free(s);
        lb_model_free(m);
        return -1;
    }
    float *at = m->block;
    for (int i = 0; i < n; i++) {
        *s[i].dst = at;
        at += spec_elems(&s[i]);
    }
    *out = m;
    *sp = s;
    *ns = n;
    return 0;
oom:
    free(s);
    lb_model_free(m);
    return fail(msg, msglen, "out of memory");
}

int lb_model_init_random(lb_model **out, const lb_config *c, uint64_t seed, char *msg,
                         size_t msglen) {
    spec *s;
    int n;
    if (alloc_model(out, &s, &n, c, msg, msglen)) return -1;
    for (int i = 0; i < n; i++) {
        size_t len = spec_elems(&s[i]);
        float *d = *s[i].dst;
        if (s[i].kind == K_EMB || s[i].kind == K_LIN_W) {
            /* HF initializer_range; one stream per tensor, so a tensor's values do not
             * depend on the sizes of the ones before it (e.g. max_pos raised) */
            lb_fill_normal(d, len, 0.02f, seed, (uint64_t)i, omp_get_max_threads());
        } else {
            float v = s[i].kind == K_LN && !s[i].ln_bias ? 1.0f : 0.0f;
            for (size_t j = 0; j < len; j++) d[j] = v;
        }
    }
    free(s);
    return 0;
}

static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

int lb_model_load(lb_model **out, const char *dir, char *msg, size_t msglen) {
    *out = NULL;
    size_t dl = strlen(dir);
    char *path = malloc(dl + 64);
    if (!path) return fail(msg, msglen, "%s: out of memory", dir);
    lb_config c;
    snprintf(path, dl + 64, "%s/config.json", dir);
    if (lb_config_load(&c, path, msg, msglen)) {
        free(path);
        return -1;
    }
    snprintf(path, dl + 64, "%s/model.safetensors", dir);
    lb_safetensors *st = NULL;
    if (!file_exists(path)) {
        snprintf(path, dl + 64, "%s/model.safetensors.index.json", dir);
        int sharded = file_exists(path);
        snprintf(path, dl + 64, "%s/model.safetensors", dir);
        fail(msg, msglen, "%s: not found%s", path,
             sharded ? " (sharded checkpoints are not supported: merge the shards first)" : "");
        free(path);
        return -1;
    }
    if (lb_st_open(&st, path, msg, msglen)) {
        free(path);
        return -1;
    }
    /* the prefix of the model's own type first; bare names last */
    const char *pre[3] = {"roberta.", "bert.", ""};
    if (c.type == LB_MODEL_BERT) {
        pre[0] = "bert.";
        pre[1] = "roberta.";
    }
    const char *p = NULL;
    char nm[256];
    for (int i = 0; i < 3 && !p; i++) {
        snprintf(nm, sizeof nm, "%sembeddings.word_embeddings.weight", pre[i]);
        if (lb_st_find(st, nm)) p = pre[i];
    }
    spec *s = NULL;
    lb_model *m = NULL;
    int n, rc = -1;
    if (!p) {
        fail(msg, msglen, "%s: tensor 'embeddings.word_embeddings.weight' not found (with prefix "
             "'roberta.', 'bert.' or none)", path);
        goto out;
    }
    if (alloc_model(&m, &s, &n, &c, msg, msglen)) goto out;
    for (int i = 0; i < n; i++) {
        snprintf(nm, sizeof nm, "%s%s", p, s[i].name);
        const lb_st_tensor *t = lb_st_find(st, nm);
        if (!t && s[i].kind == K_LN) { /* old BERT checkpoints: gamma/beta */
            char *dot = strrchr(nm, '.');
            snprintf(dot + 1, sizeof nm - (size_t)(dot + 1 - nm), "%s", s[i].ln_bias ? "beta" : "gamma");
            t = lb_st_find(st, nm);
            if (!t) snprintf(nm, sizeof nm, "%s%s", p, s[i].name);
        }
        if (!t) {
            fail(msg, msglen, "%s: tensor '%s' not found (config.json asks for %d layers)", path,
                 nm, c.layers);
            goto out;
        }
        int64_t shape[2] = {s[i].rows, s[i].cols};
        char m2[512];
        if (lb_st_read_f32(st, *s[i].dst, t, s[i].cols ? 2 : 1, shape, m2, sizeof m2)) {
            if (strstr(m2, "expected") && s[i].cols)
                fail(msg, msglen, "%s from config.json (%s = %lld, %s = %lld): config and tensors "
                     "disagree", m2, s[i].rf, (long long)s[i].rows, s[i].cf, (long long)s[i].cols);
            else if (strstr(m2, "expected"))
                fail(msg, msglen, "%s from config.json (%s = %lld): config and tensors disagree",
                     m2, s[i].rf, (long long)s[i].rows);
            else
                fail(msg, msglen, "%s", m2);
            goto out;
        }
    }
    rc = 0;
out:
    free(s);
    lb_st_close(st);
    free(path);
    if (rc) lb_model_free(m);
    else *out = m;
    return rc;
}
