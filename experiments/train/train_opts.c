/* Training options: defaults, the table that drives printing, saving to
 * trainer.json, reading back and the resume comparison. One table, so a new option
 * is added in one place. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_train.h"
#include "lb_util.h"

typedef enum { T_INT, T_LONG, T_DBL, T_U64, T_STR, T_CURR, T_DECAY, T_ATTN, T_SHARE, T_BOOL } ftype;
/* MATCH: shapes the run, must equal the checkpoint when given on resume. FREE: saved,
 * may change on resume. SESSION: this invocation only, not saved. */
typedef enum { K_MATCH, K_FREE, K_SESSION } fkind;

#define OFF(f) offsetof(lb_train_opts, f)
static const struct {
    const char *name;
    ftype t;
    size_t off;
    fkind k;
    double lo, hi; /* the range a number given on the command line must lie in */
} F[] = {
    {"tokenizer", T_STR, OFF(tokenizer), K_SESSION, 0, 0},
    {"train", T_STR, OFF(train), K_FREE, 0, 0},
    {"valid", T_STR, OFF(valid), K_FREE, 0, 0},
    {"ids", T_BOOL, OFF(ids_input), K_MATCH, 0, 0},
    {"layers", T_INT, OFF(layers), K_MATCH, 1, 256},
    {"hidden", T_INT, OFF(hidden), K_MATCH, 1, 65536},
    {"heads", T_INT, OFF(heads), K_MATCH, 1, 1024},
    {"ffn", T_INT, OFF(ffn), K_MATCH, 1, 1048576},
    {"max-pos", T_INT, OFF(max_pos), K_MATCH, 1, 1048576},
    {"pos-sinusoid", T_BOOL, OFF(pos_sinusoid), K_MATCH, 0, 0},
    {"pos-shift", T_BOOL, OFF(pos_shift), K_MATCH, 0, 0},
    {"pos-shift-from", T_LONG, OFF(pos_shift_from), K_MATCH, 0, 1000000000},
    {"pos-fixed", T_BOOL, OFF(pos_fixed), K_MATCH, 0, 0},
    {"pos-learn-from", T_LONG, OFF(pos_learn_from), K_MATCH, 0, 1000000000},
    {"pos-rms", T_DBL, OFF(pos_rms), K_MATCH, 0, 1},
    {"attention", T_ATTN, OFF(attention), K_MATCH, 0, 0},
    {"k", T_INT, OFF(k), K_MATCH, 1, 1048576},
    {"share", T_SHARE, OFF(share), K_MATCH, 0, 0},
    {"n", T_CURR, OFF(curr), K_MATCH, 0, 0},
    {"batch", T_INT, OFF(batch), K_MATCH, 1, 65536},
    {"steps", T_LONG, OFF(steps), K_FREE, 1, 1000000000},
    {"lr", T_DBL, OFF(lr), K_MATCH, 0, 10},
    {"min-lr", T_DBL, OFF(min_lr), K_MATCH, 0, 10},
    {"warmup", T_LONG, OFF(warmup), K_MATCH, 0, 1000000000},
    {"decay", T_DECAY, OFF(decay), K_MATCH, 0, 0},
    {"wd", T_DBL, OFF(wd), K_MATCH, 0, 10},
    {"beta1", T_DBL, OFF(beta1), K_MATCH, 0, 0.999999999},
    {"beta2", T_DBL, OFF(beta2), K_MATCH, 0, 0.999999999},
    {"eps", T_DBL, OFF(eps), K_MATCH, 1e-30, 1},
    {"clip", T_DBL, OFF(clip), K_MATCH, 0, 1000000000.0},
    {"seed", T_U64, OFF(seed), K_MATCH, 0, 0},
    {"threads", T_INT, OFF(threads), K_FREE, 0, 1024},
    {"eval-every", T_LONG, OFF(eval_every), K_FREE, 0, 1000000000},
    {"eval-batches", T_LONG, OFF(eval_batches), K_MATCH, 1, 1000000},
    {"ckpt-every", T_LONG, OFF(ckpt_every), K_FREE, 0, 1000000000},
    {"log-every", T_LONG, OFF(log_every), K_FREE, 0, 1000000000},
    {"out", T_STR, OFF(out), K_FREE, 0, 0},
    {"log", T_STR, OFF(log), K_FREE, 0, 0},
    {"keep-all", T_BOOL, OFF(keep_all), K_SESSION, 0, 0},
    {"stop-after", T_LONG, OFF(stop_after), K_SESSION, 1, 1000000000},
    {"export-bf16", T_STR, OFF(export_bf16), K_SESSION, 0, 0},
    {"resume", T_STR, OFF(resume), K_SESSION, 0, 0},
};
#define NF (sizeof F / sizeof F[0])

/* Options added after checkpoints existed: a checkpoint without one ran with it off (0).
 * Every flag, and the numbers that only qualify a flag. */
static int absent_means_off(size_t i) {
    return F[i].t == T_BOOL || !strcmp(F[i].name, "pos-shift-from") || !strcmp(F[i].name, "pos-rms") ||
           !strcmp(F[i].name, "pos-learn-from");
}

/* Bytes of option i's field in lb_train_opts. */
static size_t field_size(size_t i) {
    switch (F[i].t) {
    case T_DBL: return sizeof(double);
    case T_LONG: return sizeof(long);
    case T_U64: return sizeof(uint64_t);
    case T_STR: return sizeof(char *);
    case T_CURR: return sizeof(lb_curriculum);
    case T_DECAY: return sizeof(lb_decay);
    case T_ATTN: return sizeof(lb_attn_method);
    case T_SHARE: return sizeof(lb_share);
    case T_INT: case T_BOOL: break;
    }
    return sizeof(int);
}

static const char *decay_names[] = {"linear", "cosine", "constant", "wsd"};

void lb_train_opts_default(lb_train_opts *o) {
    *o = (lb_train_opts){
        .layers = 4, .hidden = 256, .heads = 4, .ffn = 1024, .curr = {.count = 1, .n = {128}}, .batch = 8,
        .steps = 1000, .lr = 5e-4, .min_lr = 0, .warmup = 100, .decay = LB_DECAY_LINEAR, .wd = 0.01,
        .beta1 = 0.9, .beta2 = 0.98 /* RoBERTa's */, .eps = 1e-6, .clip = 1.0, .seed = 1, .threads = 0,
        .attention = LB_ATTN_FULL, .k = 0, .share = LB_SHARE_LAYERWISE, .eval_every = 100, .eval_batches = 8,
        .ckpt_every = 0, .log_every = 10, .progress = 1,
    };
}

void lb_train_opts_mark(lb_train_opts *o, const char *name) {
    for (int i = 0; i < o->n_given; i++)
        if (!strcmp(o->given[i], name)) return;
    if (o->n_given < (int)(sizeof o->given / sizeof o->given[0])) o->given[o->n_given++] = name;
}

/* A number for field i from text ("1k" = 1024 for integers), in F[i]'s range. */
static int parse_number(double *out, size_t i, const char *s, char *msg, size_t msglen) {
    char *end;
    errno = 0;
    double v = F[i].t == T_DBL ? strtod(s, &end) : (double)strtol(s, &end, 10);
    if (F[i].t != T_DBL && (*end == 'k' || *end == 'K')) v *= 1024, end++;
    if (end == s || *end || errno || !isfinite(v))
        return lb_fail(msg, msglen, "--%s '%s': expected %s", F[i].name, s,
                       F[i].t == T_DBL ? "a finite number" : "an integer");
    if (!(v >= F[i].lo && v <= F[i].hi))
        return lb_fail(msg, msglen, "--%s %s is out of range; expected %g..%g", F[i].name, s, F[i].lo, F[i].hi);
    *out = v;
    return 0;
}

/* An enum-valued field from its name. */
static int parse_enum(char *p, size_t i, const char *s, char *msg, size_t msglen) {
    switch (F[i].t) {
    case T_DECAY:
        for (int d = 0; d < 4; d++)
            if (!strcmp(s, decay_names[d])) return *(lb_decay *)p = (lb_decay)d, 0;
        return lb_fail(msg, msglen, "--decay '%s': expected linear, cosine, constant or wsd", s);
    case T_ATTN: {
        lb_attn_method m;
        if (lb_attn_method_parse(s, &m) || (m != LB_ATTN_FULL && m != LB_ATTN_LINFORMER))
            return lb_fail(msg, msglen, "--attention '%s': expected full or linformer", s);
        return *(lb_attn_method *)p = m, 0;
    }
    case T_SHARE: {
        lb_share sh;
        if (lb_share_parse(s, &sh))
            return lb_fail(msg, msglen, "--share '%s': expected none, headwise, kv or layerwise", s);
        return *(lb_share *)p = sh, 0;
    }
    default: return lb_fail(msg, msglen, "--%s: not an enum option", F[i].name);
    }
}

int lb_train_opts_set(lb_train_opts *o, const char *name, const char *value, char *msg, size_t msglen) {
    size_t i = 0;
    while (i < NF && strcmp(F[i].name, name)) i++;
    if (i == NF) return lb_fail(msg, msglen, "--%s: not a training option", name);
    char *p = (char *)o + F[i].off, *end;
    double v = 0;
    lb_train_opts_mark(o, F[i].name);
    switch (F[i].t) {
    case T_BOOL: *(int *)p = 1; return 0;
    case T_STR: *(const char **)p = value; return 0;
    case T_CURR: return lb_curriculum_parse((lb_curriculum *)p, value, "--n", msg, msglen);
    case T_DECAY: case T_ATTN: case T_SHARE: return parse_enum(p, i, value, msg, msglen);
    case T_U64:
        errno = 0;
        *(uint64_t *)p = strtoull(value, &end, 10);
        if (!*value || *end || *value == '-' || errno)
            return lb_fail(msg, msglen, "--%s '%s': expected a non-negative integer", name, value);
        return 0;
    case T_INT: case T_LONG: case T_DBL:
        if (parse_number(&v, i, value, msg, msglen)) return -1;
        if (F[i].t == T_INT) *(int *)p = (int)v;
        else if (F[i].t == T_LONG) *(long *)p = (long)v;
        else *(double *)p = v;
        return 0;
    }
    return -1;
}

static int given(const lb_train_opts *o, const char *name) {
    for (int i = 0; i < o->n_given; i++)
        if (!strcmp(o->given[i], name)) return 1;
    return 0;
}

/* The value of field i as text (for printing, messages and comparison). */
static void fmt(char *buf, size_t len, const lb_train_opts *o, size_t i) {
    const char *p = (const char *)o + F[i].off;
    switch (F[i].t) {
    case T_INT: snprintf(buf, len, "%d", *(const int *)p); break;
    case T_BOOL: snprintf(buf, len, "%s", *(const int *)p ? "yes" : "no"); break;
    case T_LONG: snprintf(buf, len, "%ld", *(const long *)p); break;
    case T_DBL: { /* shortest text that reads back as the same double */
        double x = *(const double *)p;
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(buf, len, "%.*g", prec, x);
            if (strtod(buf, NULL) == x) break;
        }
        break;
    }
    case T_U64: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p); break;
    case T_STR: snprintf(buf, len, "%s", *(const char *const *)p ? *(const char *const *)p : "(none)"); break;
    case T_CURR: lb_curriculum_format((const lb_curriculum *)p, buf, len); break;
    case T_DECAY: snprintf(buf, len, "%s", decay_names[*(const lb_decay *)p]); break;
    case T_ATTN: snprintf(buf, len, "%s", lb_attn_method_name(*(const lb_attn_method *)p)); break;
    case T_SHARE: snprintf(buf, len, "%s", lb_share_name(*(const lb_share *)p)); break;
    }
}

void lb_train_opts_print(FILE *f, const lb_train_opts *o) {
    char buf[512];
    for (size_t i = 0; i < NF; i++) {
        if (F[i].k == K_SESSION && F[i].t == T_STR && !*(const char *const *)((const char *)o + F[i].off))
            continue;
        if ((!strcmp(F[i].name, "k") || !strcmp(F[i].name, "share")) && o->attention != LB_ATTN_LINFORMER)
            continue;
        fmt(buf, sizeof buf, o, i);
        if (!strcmp(F[i].name, "max-pos") && !o->max_pos) snprintf(buf, sizeof buf, "auto (max n + 2)");
        fprintf(f, "  %-13s %s\n", F[i].name, buf);
    }
}

int lb_train_opts_to_json(struct cJSON *obj, const lb_train_opts *o) {
    char buf[512];
    for (size_t i = 0; i < NF; i++) {
        if (F[i].k == K_SESSION) continue;
        const char *p = (const char *)o + F[i].off;
        cJSON *v;
        switch (F[i].t) {
        case T_INT: case T_BOOL: v = cJSON_CreateNumber(*(const int *)p); break;
        case T_LONG: v = cJSON_CreateNumber((double)*(const long *)p); break;
        case T_DBL: v = cJSON_CreateNumber(*(const double *)p); break;
        case T_STR:
            v = *(const char *const *)p ? cJSON_CreateString(*(const char *const *)p) : cJSON_CreateNull();
            break;
        default: /* u64 (beyond a double's 53 bits) and enums as text */
            fmt(buf, sizeof buf, o, i);
            v = cJSON_CreateString(buf);
        }
        if (!v || !cJSON_AddItemToObject(obj, F[i].name, v)) return -1;
    }
    return 0;
}

int lb_train_opts_from_json(lb_train_opts *o, const struct cJSON *obj, lb_train_state *s, const char *file,
                            char *msg, size_t msglen) {
    for (size_t i = 0; i < NF; i++) {
        if (F[i].k == K_SESSION) continue;
        char *p = (char *)o + F[i].off;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, F[i].name);
        if (!v && absent_means_off(i)) {
            memset(p, 0, field_size(i));
            continue;
        }
        int ok = v != NULL;
        if (ok) switch (F[i].t) {
            case T_INT: case T_BOOL:
                ok = cJSON_IsNumber(v) && v->valuedouble == (int)v->valuedouble;
                if (ok) *(int *)p = (int)v->valuedouble;
                break;
            case T_LONG:
                ok = cJSON_IsNumber(v) && v->valuedouble == (double)(long)v->valuedouble;
                if (ok) *(long *)p = (long)v->valuedouble;
                break;
            case T_DBL:
                ok = cJSON_IsNumber(v);
                if (ok) *(double *)p = v->valuedouble;
                break;
            case T_STR:
                if (cJSON_IsNull(v)) {
                    *(const char **)p = NULL;
                } else if ((ok = cJSON_IsString(v) && s->n_strs < 8)) {
                    char *dup = strdup(v->valuestring);
                    ok = dup != NULL;
                    if (ok) *(const char **)p = s->strs[s->n_strs++] = dup;
                }
                break;
            case T_U64: {
                char *end;
                ok = cJSON_IsString(v) && *v->valuestring;
                if (ok) *(uint64_t *)p = strtoull(v->valuestring, &end, 10), ok = !*end;
                break;
            }
            case T_CURR:
                ok = cJSON_IsString(v) &&
                     !lb_curriculum_parse((lb_curriculum *)p, v->valuestring, "n", NULL, 0);
                break;
            case T_DECAY:
                ok = 0;
                for (int d = 0; d < 4 && cJSON_IsString(v); d++)
                    if (!strcmp(v->valuestring, decay_names[d])) *(lb_decay *)p = (lb_decay)d, ok = 1;
                break;
            case T_ATTN: {
                lb_attn_method m;
                ok = cJSON_IsString(v) && !lb_attn_method_parse(v->valuestring, &m);
                if (ok) *(lb_attn_method *)p = m;
                break;
            }
            case T_SHARE: {
                lb_share sh;
                ok = cJSON_IsString(v) && !lb_share_parse(v->valuestring, &sh);
                if (ok) *(lb_share *)p = sh;
                break;
            }
            }
        if (!ok) {
            if (msg && msglen)
                snprintf(msg, msglen, "%s: options.\"%s\" is %s", file, F[i].name,
                         v ? "malformed" : "missing");
            return -1;
        }
    }
    return 0;
}

int lb_train_opts_resume(lb_train_opts *o, const lb_train_opts *saved, long done, char *msg,
                         size_t msglen) {
    char a[512], b[512];
    for (size_t i = 0; i < NF; i++) {
        if (F[i].k == K_SESSION) continue;
        fmt(a, sizeof a, o, i);
        fmt(b, sizeof b, saved, i);
        if (given(o, F[i].name)) {
            if (strcmp(a, b) && F[i].t == T_CURR) {
                /* A longer curriculum (say n = 32, then 128 and 512) may continue a run,
                 * as long as it gives the same n for every step already taken. */
                long s = lb_curriculum_disagree(&o->curr, &saved->curr, done);
                if (s >= 0) {
                    if (msg && msglen)
                        snprintf(msg, msglen,
                                 "option --n %s gives n = %d at step %ld, where the checkpoint's %s "
                                 "trained at n = %d (a resume may change only the steps after the %ld "
                                 "already taken)",
                                 a, lb_curriculum_n(&o->curr, s, NULL), s, b,
                                 lb_curriculum_n(&saved->curr, s, NULL), done);
                    return -1;
                }
                fprintf(stderr, "note: --n %s instead of the checkpoint's %s: the same n for the %ld "
                                "steps taken, a new curriculum from here on\n", a, b, done);
                continue;
            }
            if (strcmp(a, b) && F[i].k == K_MATCH) {
                if (msg && msglen)
                    snprintf(msg, msglen,
                             "option --%s %s does not match the checkpoint's %s (resume must continue "
                             "the same run; leave the option out to take the saved value)",
                             F[i].name, a, b);
                return -1;
            }
            if (strcmp(a, b) && !strcmp(F[i].name, "threads"))
                fprintf(stderr, "note: --threads %s instead of the checkpoint's %s: the run stays valid "
                                "but is no longer bit-identical to an uninterrupted one\n", a, b);
            if (strcmp(a, b) && !strcmp(F[i].name, "steps"))
                fprintf(stderr, "note: --steps %s instead of the checkpoint's %s: the LR schedule "
                                "changes from here on\n", a, b);
            continue;
        }
        memcpy((char *)o + F[i].off, (const char *)saved + F[i].off, field_size(i));
    }
    return 0;
}
