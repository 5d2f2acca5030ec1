/* Encoder weights: load from a HuggingFace folder, random init, free, and the
 * parameter table. All arrays live in one float32 block laid out by the same table
 * that names the tensors: embeddings, layers (each followed by its learned Linformer
 * E/F), the layerwise E, the MLM head. */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lb_safetensors.h"
#include "lb_util.h"
#include "model_int.h"


enum { K_EMB, K_LIN_W, K_BIAS, K_LN, K_PROJ }; /* how random init fills a tensor */

typedef struct {
    char name[128];   /* canonical: no model prefix, LayerNorm .weight/.bias, RoBERTa head names */
    float **dst;
    int ndim;
    int64_t shape[3];
    const char *rf[3]; /* the config.json fields the dimensions come from */
    int kind;
    int ln_bias;      /* for K_LN: 1 = bias (0-filled), 0 = weight (1-filled) */
    int head;         /* MLM head tensor: no model prefix, optional on load */
} spec;

/* Which config field a dimension came from, for messages (first match wins: ties
 * such as hidden = intermediate name the first field, still a true statement). */
static const char *field_of(const lb_config *c, int64_t v) {
    if (v == c->hidden) return "hidden_size";
    if (v == c->intermediate) return "intermediate_size";
    if (v == c->vocab_size) return "vocab_size";
    if (v == c->max_pos) return "max_position_embeddings";
    if (v == c->type_vocab) return "type_vocab_size";
    if (v == c->heads) return "num_attention_heads";
    if (c->attn == LB_ATTN_LINFORMER && v == c->lin_k) return "linformer_k";
    if (c->attn == LB_ATTN_LINFORMER && v == c->lin_n) return "linformer_seq_len";
    return "?";
}

static int max_specs(const lb_config *c) { return 5 + 18 * c->layers + 1 + 5; }

/* The tensors a config needs, in block order. Returns the count. */
static int specs(spec *s, lb_model *m) {
    const lb_config *c = &m->c;
    int n = 0;
    const int h = c->hidden, f = c->intermediate, lin = c->attn == LB_ATTN_LINFORMER;
#define ADDN(nm, d, nd, r0, r1, r2, k, lb, hd)                                              \
    do {                                                                                     \
        spec *t_ = &s[n++];                                                                  \
        *t_ = (spec){.dst = (d), .ndim = (nd), .shape = {(r0), (r1), (r2)}, .kind = (k),      \
                     .ln_bias = (lb), .head = (hd)};                                         \
        for (int j_ = 0; j_ < 3; j_++) t_->rf[j_] = field_of(c, t_->shape[j_]);             \
        snprintf(t_->name, sizeof t_->name, "%s", nm);                                       \
    } while (0)
#define ADD(nm, d, r, cl, k, lb) ADDN(nm, d, (cl) ? 2 : 1, r, cl, 0, k, lb, 0)
    ADD("embeddings.word_embeddings.weight", &m->word, c->vocab_size, h, K_EMB, 0);
    ADD("embeddings.position_embeddings.weight", &m->pos, c->max_pos, h, K_EMB, 0);
    ADD("embeddings.token_type_embeddings.weight", &m->type, c->type_vocab, h, K_EMB, 0);
    ADD("embeddings.LayerNorm.weight", &m->emb_g, h, 0, K_LN, 0);
    ADD("embeddings.LayerNorm.bias", &m->emb_b, h, 0, K_LN, 1);
    for (int i = 0; i < c->layers; i++) {
        lb_layer_weights *L = &m->layer[i];
        char p[128];
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
        if (lin && c->lin_share != LB_SHARE_LAYERWISE) {
            int none = c->lin_share == LB_SHARE_NONE;
            snprintf(p, sizeof p, "encoder.layer.%d.attention.self.linformer_E", i);
            if (none) ADDN(p, &L->E, 3, c->heads, c->lin_k, c->lin_n, K_PROJ, 0, 0);
            else ADDN(p, &L->E, 2, c->lin_k, c->lin_n, 0, K_PROJ, 0, 0);
            if (c->lin_share != LB_SHARE_KV) {
                snprintf(p, sizeof p, "encoder.layer.%d.attention.self.linformer_F", i);
                if (none) ADDN(p, &L->F, 3, c->heads, c->lin_k, c->lin_n, K_PROJ, 0, 0);
                else ADDN(p, &L->F, 2, c->lin_k, c->lin_n, 0, K_PROJ, 0, 0);
            }
        }
    }
    if (lin && c->lin_share == LB_SHARE_LAYERWISE)
        ADDN("encoder.linformer_E", &m->layer[0].E, 2, c->lin_k, c->lin_n, 0, K_PROJ, 0, 0);
    ADDN("lm_head.dense.weight", &m->hd_w, 2, h, h, 0, K_LIN_W, 0, 1);
    ADDN("lm_head.dense.bias", &m->hd_b, 1, h, 0, 0, K_BIAS, 0, 1);
    ADDN("lm_head.layer_norm.weight", &m->hln_g, 1, h, 0, 0, K_LN, 0, 1);
    ADDN("lm_head.layer_norm.bias", &m->hln_b, 1, h, 0, 0, K_LN, 1, 1);
    ADDN("lm_head.bias", &m->hbias, 1, c->vocab_size, 0, 0, K_BIAS, 0, 1);
#undef ADD
#undef ADDN
    return n;
}

static size_t spec_elems(const spec *s) {
    size_t e = 1;
    for (int j = 0; j < s->ndim; j++) e *= (size_t)s->shape[j];
    return e;
}

/* The stored name of a head tensor for BERT (cls.predictions.*). */
static const char *bert_head_name(const char *roberta) {
    static const char *const map[][2] = {
        {"lm_head.dense.weight", "cls.predictions.transform.dense.weight"},
        {"lm_head.dense.bias", "cls.predictions.transform.dense.bias"},
        {"lm_head.layer_norm.weight", "cls.predictions.transform.LayerNorm.weight"},
        {"lm_head.layer_norm.bias", "cls.predictions.transform.LayerNorm.bias"},
        {"lm_head.bias", "cls.predictions.bias"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], roberta) == 0) return map[i][1];
    return roberta;
}

size_t lb_model_bytes(const lb_config *c) {
    /* config limits (config.c) keep every product far below 2^63 */
    size_t h = (size_t)c->hidden, f = (size_t)c->intermediate, L = (size_t)c->layers;
    size_t emb = ((size_t)c->vocab_size + (size_t)c->max_pos + (size_t)c->type_vocab + 2) * h;
    size_t layer = 4 * h * h + 4 * h + 4 * h + 2 * h * f + f + h;
    size_t proj = 0;
    if (c->attn == LB_ATTN_LINFORMER) {
        size_t kn = (size_t)c->lin_k * (size_t)c->lin_n;
        switch (c->lin_share) {
        case LB_SHARE_NONE: proj = 2 * L * (size_t)c->heads * kn; break;
        case LB_SHARE_HEADWISE: proj = 2 * L * kn; break;
        case LB_SHARE_KV: proj = L * kn; break;
        default: proj = kn; break;
        }
    }
    return (emb + L * layer + proj) * sizeof(float);
}

/* The MLM head after the encoder in the block: dense, layer_norm, bias. */
static size_t head_bytes(const lb_config *c) {
    size_t h = (size_t)c->hidden;
    return (h * h + 3 * h + (size_t)c->vocab_size) * sizeof(float);
}

const lb_config *lb_model_config(const lb_model *m) { return &m->c; }

void lb_encoder_opts_for_model(lb_encoder_opts *o, const lb_model *m) {
    if (m->c.attn != LB_ATTN_LINFORMER) return;
    o->method = LB_ATTN_LINFORMER;
    o->k = m->c.lin_k;
    o->share = m->c.lin_share;
}

void lb_model_free(lb_model *m) {
    if (!m) return;
    lb_free(m->block);
    free(m->layer);
    free(m->params);
    free(m->name_pool);
    free(m);
}

/* The public table from the specs: stored names (model prefix, BERT head names). */
static int build_table(lb_model *m, const spec *s, int n) {
    const char *pre = m->c.type == LB_MODEL_BERT ? "bert." : "roberta.";
    m->params = calloc((size_t)n, sizeof *m->params);
    m->name_pool = malloc((size_t)n * 160);
    if (!m->params || !m->name_pool) return -1;
    char *at = m->name_pool;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        lb_param *p = &m->params[i];
        const char *nm = s[i].head && m->c.type == LB_MODEL_BERT ? bert_head_name(s[i].name) : s[i].name;
        int w = snprintf(at, 160, "%s%s", s[i].head ? "" : pre, nm);
        p->name = at;
        at += w + 1;
        p->ndim = s[i].ndim;
        for (int j = 0; j < 3; j++) p->shape[j] = j < s[i].ndim ? s[i].shape[j] : 0;
        p->count = spec_elems(&s[i]);
        p->offset = off;
        off += p->count;
        p->decay = s[i].ndim >= 2;
    }
    m->nparams = n;
    return 0;
}

/* Allocate the model and carve the block; returns the spec table through *sp. */
static int alloc_model(lb_model **out, spec **sp, int *ns, const lb_config *c, char *msg,
                       size_t msglen) {
    char m2[256];
    *out = NULL;
    if (lb_config_check(c, m2, sizeof m2)) return lb_fail(msg, msglen, "config: %s", m2);
    lb_model *m = calloc(1, sizeof *m);
    spec *s = NULL;
    if (!m) goto oom;
    m->c = *c;
    m->has_head = 1;
    m->layer = calloc((size_t)c->layers, sizeof *m->layer);
    s = calloc((size_t)max_specs(c), sizeof *s);
    if (!m->layer || !s) goto oom;
    int n = specs(s, m);
    if (build_table(m, s, n)) goto oom;
    size_t bytes = lb_model_bytes(c) + head_bytes(c);
    m->elems = bytes / sizeof(float);
    m->block = lb_alloc_big(bytes, 0);
    if (!m->block) {
        lb_fail(msg, msglen, "out of memory for %zu MB of weights", bytes >> 20);
        free(s);
        lb_model_free(m);
        return -1;
    }
    float *at = m->block;
    for (int i = 0; i < n; i++) {
        *s[i].dst = at;
        at += spec_elems(&s[i]);
    }
    for (int i = 0; i < c->layers; i++) { /* kv: F = E; layerwise: every layer, the one E */
        lb_layer_weights *L = &m->layer[i];
        if (c->attn != LB_ATTN_LINFORMER) continue;
        if (c->lin_share == LB_SHARE_LAYERWISE) L->E = m->layer[0].E;
        if (c->lin_share == LB_SHARE_KV || c->lin_share == LB_SHARE_LAYERWISE) L->F = L->E;
    }
    *out = m;
    *sp = s;
    *ns = n;
    return 0;
oom:
    free(s);
    lb_model_free(m);
    return lb_fail(msg, msglen, "out of memory");
}

static void init_spec(const spec *s, int i, uint64_t seed, const lb_config *c) {
    size_t len = spec_elems(s);
    float *d = *s->dst;
    if (s->kind == K_EMB || s->kind == K_LIN_W) {
        /* HF initializer_range; one stream per tensor, so a tensor's values do not
         * depend on the sizes of the ones before it (e.g. max_pos raised) */
        lb_fill_normal(d, len, 0.02f, seed, (uint64_t)i, omp_get_max_threads());
    } else if (s->kind == K_PROJ) { /* N(0, 1/N): K̄ = E·K keeps the scale of K */
        lb_fill_normal(d, len, (float)(1.0 / sqrt((double)c->lin_n)), seed, (uint64_t)i,
                       omp_get_max_threads());
    } else {
        float v = s->kind == K_LN && !s->ln_bias ? 1.0f : 0.0f;
        for (size_t j = 0; j < len; j++) d[j] = v;
    }
}

int lb_model_init_random(lb_model **out, const lb_config *c, uint64_t seed, char *msg,
                         size_t msglen) {
    spec *s;
    int n;
    if (alloc_model(out, &s, &n, c, msg, msglen)) return -1;
    for (int i = 0; i < n; i++) init_spec(&s[i], i, seed, c);
    free(s);
    return 0;
}

static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Find spec s in the file: model prefix p for encoder tensors (LayerNorm gamma/beta
 * accepted), RoBERTa then BERT names for the head. nm receives the name tried. */
static const lb_st_tensor *find_spec(const lb_safetensors *st, const spec *s, const char *p,
                                     char *nm, size_t nml) {
    const lb_st_tensor *t;
    if (s->head) {
        snprintf(nm, nml, "%s", s->name);
        if ((t = lb_st_find(st, nm))) return t;
        if (strcmp(s->name, "lm_head.bias") == 0 && (t = lb_st_find(st, "lm_head.decoder.bias")))
            return t;
        snprintf(nm, nml, "%s", bert_head_name(s->name));
        if ((t = lb_st_find(st, nm))) return t;
        if (s->kind == K_LN) { /* cls.predictions.transform.LayerNorm.gamma/beta */
            char *dot = strrchr(nm, '.');
            snprintf(dot + 1, nml - (size_t)(dot + 1 - nm), "%s", s->ln_bias ? "beta" : "gamma");
            if ((t = lb_st_find(st, nm))) return t;
        }
        snprintf(nm, nml, "%s", s->name);
        return NULL;
    }
    snprintf(nm, nml, "%s%s", p, s->name);
    t = lb_st_find(st, nm);
    if (!t && s->kind == K_LN) { /* old BERT checkpoints: gamma/beta */
        char *dot = strrchr(nm, '.');
        snprintf(dot + 1, nml - (size_t)(dot + 1 - nm), "%s", s->ln_bias ? "beta" : "gamma");
        t = lb_st_find(st, nm);
        if (!t) snprintf(nm, nml, "%s%s", p, s->name);
    }
    return t;
}

static int read_spec(const lb_safetensors *st, const spec *s, const lb_st_tensor *t,
                     const char *path, char *msg, size_t msglen) {
    char m2[512];
    if (!lb_st_read_f32(st, *s->dst, t, s->ndim, s->shape, m2, sizeof m2)) return 0;
    if (!strstr(m2, "expected")) return lb_fail(msg, msglen, "%s", m2);
    char dims[256] = "";
    size_t used = 0;
    for (int j = 0; j < s->ndim && used < sizeof dims; j++)
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%s%s = %lld", j ? ", " : "",
                                 s->rf[j], (long long)s->shape[j]);
    (void)path;
    return lb_fail(msg, msglen, "%s from config.json (%s): config and tensors disagree", m2, dims);
}

/* dir/model.safetensors opened into *st (path gets its name). */
static int open_weights(lb_safetensors **st, char *path, size_t plen, const char *dir, char *msg,
                        size_t msglen) {
    snprintf(path, plen, "%s/model.safetensors.index.json", dir);
    int sharded = file_exists(path);
    snprintf(path, plen, "%s/model.safetensors", dir);
    if (!file_exists(path))
        return lb_fail(msg, msglen, "%s: not found%s", path,
                       sharded ? " (sharded checkpoints are not supported: merge the shards first)" : "");
    return lb_st_open(st, path, msg, msglen);
}

/* The tensor-name prefix of this checkpoint: the model's own type's first, bare names
 * last; NULL when no word embedding is found under any. */
static const char *name_prefix(const lb_safetensors *st, lb_model_type type) {
    const char *pre[3] = {"roberta.", "bert.", ""};
    char nm[256];
    if (type == LB_MODEL_BERT) pre[0] = "bert.", pre[1] = "roberta.";
    for (int i = 0; i < 3; i++) {
        snprintf(nm, sizeof nm, "%sembeddings.word_embeddings.weight", pre[i]);
        if (lb_st_find(st, nm)) return pre[i];
    }
    return NULL;
}

/* Every tensor of s[0..n) from st; the MLM head is optional as a whole. */
static int read_tensors(lb_model *m, spec *s, int n, const lb_safetensors *st, const char *p, const char *path,
                        char *msg, size_t msglen) {
    const lb_config *c = &m->c;
    char nm[256];
    int head_first = -1;
    for (int i = 0; i < n; i++) {
        const lb_st_tensor *t = find_spec(st, &s[i], p, nm, sizeof nm);
        if (s[i].head && head_first < 0) { /* the whole head is optional, not half of it */
            head_first = i;
            m->has_head = t != NULL;
        }
        if (s[i].head && !m->has_head) {
            init_spec(&s[i], i, 0, c);
            continue;
        }
        if (!t && s[i].kind == K_PROJ)
            return lb_fail(msg, msglen, "%s: tensor '%s' not found (config.json says attention_type "
                           "\"linformer\", linformer_share \"%s\")", path, nm, lb_share_name(c->lin_share));
        if (!t && s[i].head)
            return lb_fail(msg, msglen, "%s: tensor '%s' not found (the MLM head is incomplete)", path, nm);
        if (!t)
            return lb_fail(msg, msglen, "%s: tensor '%s' not found (config.json asks for %d layers)", path, nm,
                           c->layers);
        if (read_spec(st, &s[i], t, path, msg, msglen)) return -1;
    }
    return 0;
}

int lb_model_load(lb_model **out, const char *dir, char *msg, size_t msglen) {
    *out = NULL;
    size_t plen = strlen(dir) + 64;
    char *path = malloc(plen);
    if (!path) return lb_fail(msg, msglen, "%s: out of memory", dir);
    lb_config c;
    lb_safetensors *st = NULL;
    spec *s = NULL;
    lb_model *m = NULL;
    int n, rc = -1;
    snprintf(path, plen, "%s/config.json", dir);
    if (lb_config_load(&c, path, msg, msglen) || open_weights(&st, path, plen, dir, msg, msglen)) goto out;
    const char *p = name_prefix(st, c.type);
    if (!p) {
        lb_fail(msg, msglen, "%s: tensor 'embeddings.word_embeddings.weight' not found (with prefix "
                "'roberta.', 'bert.' or none)", path);
        goto out;
    }
    if (alloc_model(&m, &s, &n, &c, msg, msglen) || read_tensors(m, s, n, st, p, path, msg, msglen)) goto out;
    rc = 0;
out:
    free(s);
    lb_st_close(st);
    free(path);
    if (rc) lb_model_free(m);
    else *out = m;
    return rc;
}
