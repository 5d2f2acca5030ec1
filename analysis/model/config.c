/* config.json for BERT/RoBERTa-family checkpoints (HuggingFace's fields). Required fields
 * are the shapes; the small ones default as HuggingFace's config classes do. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_model.h"
#include "lb_util.h"

/* Limits far above any real encoder but low enough that sizes stay sane: positions go
 * to 2^24 because the benchmark raises max_pos to n + 2 for long sequences. */
#define MAX_VOCAB 10000000
#define MAX_HIDDEN 65536
#define MAX_LAYERS 1024
#define MAX_INTER (1 << 20)
#define MAX_POS (1 << 24)
#define MAX_TYPES 1024


void lb_config_roberta_base(lb_config *c) {
    *c = (lb_config){.type = LB_MODEL_ROBERTA, .vocab_size = 50265, .hidden = 768, .layers = 12,
                     .heads = 12, .intermediate = 3072, .max_pos = 514, .type_vocab = 1,
                     .pad_id = 1, .ln_eps = 1e-5f};
}

int lb_config_check(const lb_config *c, char *msg, size_t msglen) {
    struct {
        const char *name;
        long v, lo, hi;
    } f[] = {
        {"vocab_size", c->vocab_size, 1, MAX_VOCAB},
        {"hidden_size", c->hidden, 1, MAX_HIDDEN},
        {"num_hidden_layers", c->layers, 1, MAX_LAYERS},
        {"num_attention_heads", c->heads, 1, MAX_HIDDEN},
        {"intermediate_size", c->intermediate, 1, MAX_INTER},
        {"max_position_embeddings", c->max_pos, 1, MAX_POS},
        {"type_vocab_size", c->type_vocab, 1, MAX_TYPES},
        {"pad_token_id", c->pad_id, 0, (long)c->vocab_size - 1},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < f[i].lo || f[i].v > f[i].hi)
            return lb_fail(msg, msglen, "%s = %ld is out of range [%ld, %ld]", f[i].name, f[i].v,
                        f[i].lo, f[i].hi);
    if (c->type != LB_MODEL_BERT && c->type != LB_MODEL_ROBERTA)
        return lb_fail(msg, msglen, "model_type %d unknown", (int)c->type);
    if (c->hidden % c->heads)
        return lb_fail(msg, msglen, "hidden_size = %d is not a multiple of num_attention_heads = %d",
                    c->hidden, c->heads);
    if (c->type == LB_MODEL_ROBERTA && c->pad_id + 1 >= c->max_pos)
        return lb_fail(msg, msglen, "max_position_embeddings = %d leaves no position after "
                    "pad_token_id + 1 = %d (RoBERTa positions start there)", c->max_pos, c->pad_id + 1);
    if (!(c->ln_eps > 0 && c->ln_eps < 1))
        return lb_fail(msg, msglen, "layer_norm_eps = %g is not in (0, 1)", (double)c->ln_eps);
    if (c->attn != LB_ATTN_FULL && c->attn != LB_ATTN_LINFORMER)
        return lb_fail(msg, msglen, "attention_type must be full or linformer");
    if (c->attn == LB_ATTN_LINFORMER) {
        if (c->lin_n < 1 || c->lin_n > MAX_POS)
            return lb_fail(msg, msglen, "linformer_seq_len = %d is out of range [1, %d]", c->lin_n, MAX_POS);
        if (c->lin_k < 1 || c->lin_k > c->lin_n)
            return lb_fail(msg, msglen, "linformer_k = %d is out of range [1, linformer_seq_len = %d]",
                        c->lin_k, c->lin_n);
        if ((int)c->lin_share < LB_SHARE_NONE || (int)c->lin_share > LB_SHARE_LAYERWISE)
            return lb_fail(msg, msglen, "linformer_share %d unknown", (int)c->lin_share);
        /* E/F of share none: 2·L·H·k·N floats; keep them under 2^36 (256 GiB) */
        double e = 2.0 * c->layers * c->heads * (double)c->lin_k * c->lin_n;
        if (e > 68719476736.0)
            return lb_fail(msg, msglen, "Linformer projections of %.3g floats are absurd "
                        "(linformer_k = %d, linformer_seq_len = %d)", e, c->lin_k, c->lin_n);
    }
    return 0;
}

/* An integer field: -1 with a message when missing (and required), not a number, or
 * not an integer. *present tells whether it was there. */
static int get_int(const cJSON *root, const char *key, int *out, int required, const char *path,
                   char *msg, size_t msglen) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!j || cJSON_IsNull(j)) {
        if (required) return lb_fail(msg, msglen, "%s: field \"%s\" is missing", path, key);
        return 0;
    }
    double v = j->valuedouble;
    if (!cJSON_IsNumber(j) || v != floor(v) || !(fabs(v) < 2147483647.0))
        return lb_fail(msg, msglen, "%s: field \"%s\" must be an integer", path, key);
    *out = (int)v;
    return 0;
}

static char *slurp(const char *path, size_t *len, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        if (cap >= ((size_t)16 << 20)) { /* a config.json is a few KB */
            lb_fail(msg, msglen, "%s: larger than 16 MB, not a config.json", path);
            free(buf);
            fclose(f);
            return NULL;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    if (!buf || ferror(f)) {
        lb_fail(msg, msglen, "%s: read failed", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Our fields: "attention_type" ("full" when absent), and for "linformer" the
 * required "linformer_k", "linformer_share", "linformer_seq_len". */
static int load_attention(lb_config *c, const cJSON *root, const char *path, char *msg,
                          size_t msglen) {
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "attention_type");
    c->attn = LB_ATTN_FULL;
    if (!at || cJSON_IsNull(at)) return 0;
    if (!cJSON_IsString(at) || (strcmp(at->valuestring, "full") != 0 &&
                                strcmp(at->valuestring, "linformer") != 0))
        return lb_fail(msg, msglen, "%s: field \"attention_type\" must be \"full\" or \"linformer\"",
                    path);
    if (strcmp(at->valuestring, "full") == 0) return 0;
    c->attn = LB_ATTN_LINFORMER;
    if (get_int(root, "linformer_k", &c->lin_k, 1, path, msg, msglen) ||
        get_int(root, "linformer_seq_len", &c->lin_n, 1, path, msg, msglen))
        return -1;
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(root, "linformer_share");
    if (!cJSON_IsString(sh) || lb_share_parse(sh->valuestring, &c->lin_share))
        return lb_fail(msg, msglen, "%s: field \"linformer_share\" must be \"none\", \"headwise\", "
                    "\"kv\" or \"layerwise\"", path);
    return 0;
}

/* The shortest decimal that reads back as the same float (1e-5f prints as 1e-05,
 * not 9.9999997e-06, as HF's configs have it). */
static double short_float(float v) {
    char b[40];
    for (int p = 6; p < 10; p++) {
        snprintf(b, sizeof b, "%.*g", p, (double)v);
        if ((float)strtod(b, NULL) == v) break;
    }
    return strtod(b, NULL);
}

int lb_config_save(const lb_config *c, const char *path, char *msg, size_t msglen) {
    char m2[256];
    if (lb_config_check(c, m2, sizeof m2)) return lb_fail(msg, msglen, "%s: %s", path, m2);
    int rob = c->type == LB_MODEL_ROBERTA;
    cJSON *r = cJSON_CreateObject(), *arch = cJSON_CreateArray();
    int ok = r && arch;
    if (ok) {
        cJSON_AddItemToArray(arch, cJSON_CreateString(rob ? "RobertaForMaskedLM" : "BertForMaskedLM"));
        cJSON_AddItemToObject(r, "architectures", arch);
        arch = NULL;
    }
#define NUM(k, v) ok = ok && cJSON_AddNumberToObject(r, k, (double)(v))
#define STR(k, v) ok = ok && cJSON_AddStringToObject(r, k, v)
    STR("model_type", rob ? "roberta" : "bert");
    NUM("vocab_size", c->vocab_size);
    NUM("hidden_size", c->hidden);
    NUM("num_hidden_layers", c->layers);
    NUM("num_attention_heads", c->heads);
    NUM("intermediate_size", c->intermediate);
    STR("hidden_act", "gelu");
    /* linbench trains without dropout: say so, so that a HuggingFace user who
     * fine-tunes from here chooses it knowingly */
    NUM("hidden_dropout_prob", 0.0);
    NUM("attention_probs_dropout_prob", 0.0);
    NUM("max_position_embeddings", c->max_pos);
    NUM("type_vocab_size", c->type_vocab);
    NUM("initializer_range", 0.02);
    NUM("layer_norm_eps", short_float(c->ln_eps));
    NUM("pad_token_id", c->pad_id);
    if (rob) {
        NUM("bos_token_id", 0);
        NUM("eos_token_id", 2);
    }
    STR("position_embedding_type", "absolute");
    STR("torch_dtype", "float32");
    STR("attention_type", c->attn == LB_ATTN_LINFORMER ? "linformer" : "full");
    if (c->attn == LB_ATTN_LINFORMER) {
        NUM("linformer_k", c->lin_k);
        STR("linformer_share", lb_share_name(c->lin_share));
        NUM("linformer_seq_len", c->lin_n);
    }
#undef NUM
#undef STR
    char *txt = ok ? cJSON_Print(r) : NULL;
    cJSON_Delete(r);
    cJSON_Delete(arch);
    if (!txt) return lb_fail(msg, msglen, "%s: out of memory", path);
    lb_atomic a;
    FILE *f = lb_atomic_open(&a, path);
    int rc = -1;
    if (!f) lb_fail(msg, msglen, "%s: cannot create", path);
    else if (fputs(txt, f) < 0 || fputc('\n', f) < 0) {
        lb_atomic_abort(&a);
        lb_fail(msg, msglen, "%s: write failed", path);
    } else if (lb_atomic_commit(&a))
        lb_fail(msg, msglen, "%s: write failed", path);
    else rc = 0;
    free(txt);
    return rc;
}

int lb_config_load(lb_config *c, const char *path, char *msg, size_t msglen) {
    size_t len;
    char *buf = slurp(path, &len, msg, msglen);
    if (!buf) return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    int rc = -1;
    if (!root || !cJSON_IsObject(root)) {
        lb_fail(msg, msglen, "%s: not a JSON object%s", path, root ? "" : " (parse error)");
        goto out;
    }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsString(mt)) {
        lb_fail(msg, msglen, "%s: field \"model_type\" is missing or not a string", path);
        goto out;
    }
    const char *t = mt->valuestring;
    memset(c, 0, sizeof *c);
    if (strcmp(t, "bert") == 0) {
        c->type = LB_MODEL_BERT;
        c->pad_id = 0;
        c->ln_eps = 1e-12f;
    } else if (strcmp(t, "roberta") == 0 || strcmp(t, "xlm-roberta") == 0 ||
               strcmp(t, "camembert") == 0) {
        c->type = LB_MODEL_ROBERTA;
        c->pad_id = 1;
        c->ln_eps = 1e-5f;
    } else {
        lb_fail(msg, msglen, "%s: model_type \"%.40s\" not supported (bert, roberta, xlm-roberta, "
             "camembert)", path, t);
        goto out;
    }
    c->type_vocab = 2; /* HF's default when the field is absent */
    if (get_int(root, "vocab_size", &c->vocab_size, 1, path, msg, msglen) ||
        get_int(root, "hidden_size", &c->hidden, 1, path, msg, msglen) ||
        get_int(root, "num_hidden_layers", &c->layers, 1, path, msg, msglen) ||
        get_int(root, "num_attention_heads", &c->heads, 1, path, msg, msglen) ||
        get_int(root, "intermediate_size", &c->intermediate, 1, path, msg, msglen) ||
        get_int(root, "max_position_embeddings", &c->max_pos, 1, path, msg, msglen) ||
        get_int(root, "type_vocab_size", &c->type_vocab, 0, path, msg, msglen) ||
        get_int(root, "pad_token_id", &c->pad_id, 0, path, msg, msglen))
        goto out;
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps");
    if (eps && !cJSON_IsNull(eps)) {
        if (!cJSON_IsNumber(eps)) {
            lb_fail(msg, msglen, "%s: field \"layer_norm_eps\" must be a number", path);
            goto out;
        }
        c->ln_eps = (float)eps->valuedouble;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (act && !(cJSON_IsString(act) && strcmp(act->valuestring, "gelu") == 0)) {
        lb_fail(msg, msglen, "%s: field \"hidden_act\" must be \"gelu\" (exact erf GELU)", path);
        goto out;
    }
    const cJSON *pe = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
    if (pe && !cJSON_IsNull(pe) && !(cJSON_IsString(pe) && strcmp(pe->valuestring, "absolute") == 0)) {
        lb_fail(msg, msglen, "%s: field \"position_embedding_type\" must be \"absolute\"", path);
        goto out;
    }
    if (load_attention(c, root, path, msg, msglen)) goto out;
    char m2[256];
    if (lb_config_check(c, m2, sizeof m2)) {
        lb_fail(msg, msglen, "%s: %s", path, m2);
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    free(buf);
    return rc;
}
