/* Training checkpoints: a folder written beside its final name and renamed into
 * place (see lb_train.h), and read back with every file checked against the sizes
 * and checksums trainer.json recorded. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_mpi.h"
#include "lb_safetensors.h"
#include "lb_train.h"
#include "lb_train_model.h"
#include "lb_util.h"

#define FORMAT "linbench-trainer/1"
static const char *const FILES[] = {"config.json", "model.safetensors", "optimizer.safetensors",
                                    "vocab.json", "merges.txt"};
#define NFILES (sizeof FILES / sizeof FILES[0])


int lb_train_state_log(lb_train_state *s, const char *line) {
    if (s->n_log == s->cap_log) {
        size_t cap = s->cap_log ? 2 * s->cap_log : 64;
        char **p = realloc(s->log, cap * sizeof *p);
        if (!p) return -1;
        s->log = p;
        s->cap_log = cap;
    }
    if (!(s->log[s->n_log] = strdup(line))) return -1;
    s->n_log++;
    return 0;
}

void lb_train_state_init(lb_train_state *s) { memset(s, 0, sizeof *s); }

void lb_train_state_free(lb_train_state *s) {
    for (size_t i = 0; i < s->n_log; i++) free(s->log[i]);
    free(s->log);
    for (int i = 0; i < s->n_strs; i++) free(s->strs[i]);
    memset(s, 0, sizeof *s);
}

/* optimizer.safetensors: F32 exp_avg.<name> then exp_avg_sq.<name>, table order. */
static int write_optimizer(const char *path, const lb_model *m, const float *mom, const float *vel,
                           char *msg, size_t msglen) {
    int np = lb_model_param_count(m);
    size_t cap = 256 + (size_t)np * 2 * 256, used = 0, off = 0;
    char *h = malloc(cap);
    if (!h) return lb_fail(msg, msglen, "out of memory");
    used += (size_t)snprintf(h + used, cap - used, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int which = 0; which < 2; which++)
        for (int i = 0; i < np; i++) {
            const lb_param *p = lb_model_param(m, i);
            used += (size_t)snprintf(h + used, cap - used, ",\"%s.%s\":{\"dtype\":\"F32\",\"shape\":[",
                                     which ? "exp_avg_sq" : "exp_avg", p->name);
            for (int d = 0; d < p->ndim; d++)
                used += (size_t)snprintf(h + used, cap - used, "%s%" PRId64, d ? "," : "", p->shape[d]);
            used += (size_t)snprintf(h + used, cap - used, "],\"data_offsets\":[%zu,%zu]}", off,
                                     off + p->count * 4);
            off += p->count * 4;
            if (used + 300 > cap) {
                free(h);
                return lb_fail(msg, msglen, "%s: header too long (parameter names)", path);
            }
        }
    used += (size_t)snprintf(h + used, cap - used, "}");
    while (used % 8) h[used++] = ' '; /* the reference writer's padding */
    lb_atomic a;
    FILE *f = lb_atomic_open(&a, path);
    if (!f) {
        free(h);
        return lb_fail(msg, msglen, "%s: cannot create", path);
    }
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)used >> (8 * k));
    size_t elems = lb_model_param_elems(m);
    /* Data is written from the host's floats: little-endian hosts only (x86-64). */
    int bad = fwrite(len8, 1, 8, f) != 8 || fwrite(h, 1, used, f) != used ||
              fwrite(mom, sizeof *mom, elems, f) != elems || fwrite(vel, sizeof *vel, elems, f) != elems;
    free(h);
    if (bad) {
        lb_atomic_abort(&a);
        return lb_fail(msg, msglen, "%s: write failed", path);
    }
    return lb_atomic_commit(&a) ? lb_fail(msg, msglen, "%s: write failed", path) : 0;
}

static int read_optimizer(const char *path, const lb_model *m, float *mom, float *vel, char *msg,
                          size_t msglen) {
    lb_safetensors *st;
    if (lb_st_open(&st, path, msg, msglen)) return -1;
    char name[512];
    for (int which = 0; which < 2; which++)
        for (int i = 0; i < lb_model_param_count(m); i++) {
            const lb_param *p = lb_model_param(m, i);
            snprintf(name, sizeof name, "%s.%s", which ? "exp_avg_sq" : "exp_avg", p->name);
            const lb_st_tensor *t = lb_st_find(st, name);
            if (!t) {
                lb_st_close(st);
                return lb_fail(msg, msglen, "%s: tensor %s missing", path, name);
            }
            if (lb_st_read_f32(st, (which ? vel : mom) + p->offset, t, p->ndim, p->shape, msg, msglen)) {
                lb_st_close(st);
                return -1;
            }
        }
    lb_st_close(st);
    return 0;
}

static char *hex64(char *buf, uint64_t x) {
    snprintf(buf, 17, "%016" PRIx64, x);
    return buf;
}

/* trainer.json for the files already written to folder tmp: state, options, log, and
 * the size and FNV-1a of every other file. NULL with msg. */
static cJSON *trainer_json(const char *tmp, const lb_train_opts *o, const lb_train_state *s, char *msg,
                           size_t msglen) {
    char path[4096], hx[17];
    cJSON *root = cJSON_CreateObject();
    cJSON *files = cJSON_AddObjectToObject(root, "files");
    cJSON_AddStringToObject(root, "format", FORMAT);
    cJSON_AddNumberToObject(root, "step", (double)s->step);
    cJSON_AddNumberToObject(root, "elapsed_s", s->elapsed);
    cJSON_AddNumberToObject(root, "ranks", lb_mpi_size()); /* a resume needs as many */
    cJSON *ld = cJSON_AddObjectToObject(root, "loader");
    cJSON_AddNumberToObject(ld, "epoch", (double)s->loader.epoch);
    cJSON_AddNumberToObject(ld, "pos", (double)s->loader.pos);
    cJSON_AddNumberToObject(ld, "n", s->loader.n);
    cJSON *cs = cJSON_AddObjectToObject(root, "checksums");
    cJSON_AddStringToObject(cs, "train_corpus", hex64(hx, s->train_sum));
    cJSON_AddStringToObject(cs, "valid_corpus", hex64(hx, s->valid_sum));
    cJSON_AddStringToObject(cs, "tokenizer", hex64(hx, s->tok_sum));
    cJSON *op = cJSON_AddObjectToObject(root, "options");
    if (!files || !ld || !cs || !op || lb_train_opts_to_json(op, o)) goto oom;
    cJSON *lg = cJSON_AddArrayToObject(root, "log");
    for (size_t i = 0; lg && i < s->n_log; i++) cJSON_AddItemToArray(lg, cJSON_CreateString(s->log[i]));
    for (size_t i = 0; i < NFILES; i++) {
        uint64_t h = LB_FNV1A_INIT;
        size_t bytes;
        snprintf(path, sizeof path, "%s/%s", tmp, FILES[i]);
        if (lb_file_fnv(path, &h, &bytes, msg, msglen)) goto fail;
        cJSON *e = cJSON_AddObjectToObject(files, FILES[i]);
        if (!e) goto oom;
        cJSON_AddNumberToObject(e, "bytes", (double)bytes);
        cJSON_AddStringToObject(e, "fnv1a64", hex64(hx, h));
    }
    return root;
oom:
    lb_fail(msg, msglen, "%s: out of memory", tmp);
fail:
    cJSON_Delete(root);
    return NULL;
}

int lb_train_ckpt_save(const char *dir, const lb_model *m, const float *mom, const float *vel,
                       const lb_train_opts *o, const lb_train_state *s, char *msg, size_t msglen) {
    size_t dl = strlen(dir);
    char *tmp = malloc(dl + 32), path[4096];
    cJSON *root = NULL;
    char *text = NULL;
    int rc = -1;
    if (!tmp) goto out;
    snprintf(tmp, dl + 32, "%s.tmp.XXXXXX", dir);
    if (!mkdtemp(tmp)) {
        lb_fail(msg, msglen, "%s: cannot create a temporary folder beside it: %s", dir, strerror(errno));
        free(tmp), tmp = NULL;
        goto out;
    }
    char meta_step[32];
    snprintf(meta_step, sizeof meta_step, "%ld", s->step);
    const char *meta[] = {"linbench_step", meta_step, NULL};
    if (lb_model_save(tmp, m, LB_DTYPE_F32, meta, msg, msglen)) goto out;
    snprintf(path, sizeof path, "%s/optimizer.safetensors", tmp);
    if (write_optimizer(path, m, mom, vel, msg, msglen)) goto out;
    for (int i = 3; i < 5; i++) {
        char from[4096];
        snprintf(from, sizeof from, "%s/%s", o->tokenizer, FILES[i]);
        snprintf(path, sizeof path, "%s/%s", tmp, FILES[i]);
        if (lb_copy_file(from, path, msg, msglen)) goto out;
    }
    if (!(root = trainer_json(tmp, o, s, msg, msglen))) goto out;
    if (!(text = cJSON_Print(root))) goto oom;
    snprintf(path, sizeof path, "%s/trainer.json", tmp);
    lb_atomic a;
    FILE *f = lb_atomic_open(&a, path);
    if (!f) {
        lb_fail(msg, msglen, "%s: cannot create", path);
        goto out;
    }
    fputs(text, f);
    fputc('\n', f);
    if (lb_atomic_commit(&a)) {
        lb_fail(msg, msglen, "%s: write failed", path);
        goto out;
    }
    if (lb_replace_dir(tmp, dir, "checkpoint", msg, msglen)) goto out;
    free(tmp), tmp = NULL;
    rc = 0;
    goto out;
oom:
    lb_fail(msg, msglen, "%s: out of memory", dir);
out:
    if (tmp) lb_remove_flat_dir(tmp);
    free(tmp);
    free(text);
    cJSON_Delete(root);
    return rc;
}

static int get_hex(const cJSON *obj, const char *key, uint64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) != 16) return -1;
    char *end;
    *out = strtoull(v->valuestring, &end, 16);
    return *end ? -1 : 0;
}

static int get_num(const cJSON *obj, const char *key, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15 ||
        v->valuedouble != (double)(long)v->valuedouble)
        return -1;
    *out = v->valuedouble;
    return 0;
}

/* trainer.json of a checkpoint, parsed; NULL with msg. */
static cJSON *read_trainer_json(const char *tj, char *msg, size_t msglen) {
    FILE *f = fopen(tj, "rb");
    if (!f) return lb_fail(msg, msglen, "%s: cannot open: %s (not a training checkpoint?)", tj, strerror(errno)), NULL;
    char *text = NULL, buf[1 << 14];
    size_t len = 0, got;
    FILE *mem = open_memstream(&text, &len);
    while (mem && (got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, mem);
    fclose(f);
    if (!mem) return lb_fail(msg, msglen, "out of memory"), NULL;
    fclose(mem);
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return lb_fail(msg, msglen, "%s: not valid JSON (corrupt checkpoint)", tj), NULL;
    const cJSON *fmtv = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (cJSON_IsString(fmtv) && !strcmp(fmtv->valuestring, FORMAT)) return root;
    cJSON_Delete(root);
    return lb_fail(msg, msglen, "%s: field \"format\" is not \"%s\"", tj, FORMAT), NULL;
}

/* Every other file of the checkpoint has the size and FNV-1a trainer.json records. */
static int verify_files(const cJSON *root, const char *dir, const char *tj, char *msg, size_t msglen) {
    char path[4096];
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
    for (size_t i = 0; i < NFILES; i++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(files, FILES[i]);
        uint64_t want, h = LB_FNV1A_INIT;
        double wbytes;
        size_t bytes;
        if (!e || get_hex(e, "fnv1a64", &want) || get_num(e, "bytes", &wbytes))
            return lb_fail(msg, msglen, "%s: field files.\"%s\" missing or malformed", tj, FILES[i]);
        snprintf(path, sizeof path, "%s/%s", dir, FILES[i]);
        if (lb_file_fnv(path, &h, &bytes, msg, msglen)) return -1;
        if (bytes != (size_t)wbytes || h != want)
            return lb_fail(msg, msglen, "%s: %s than trainer.json records (%zu bytes, checksum %016" PRIx64
                           "; expected %.0f bytes, %016" PRIx64 "): corrupt or changed checkpoint",
                           path, bytes != (size_t)wbytes ? "different size" : "different content", bytes, h,
                           wbytes, want);
    }
    return 0;
}

/* Step, loader position, checksums, options and log lines into s and saved. */
static int read_state(const cJSON *root, lb_train_state *s, lb_train_opts *saved, const char *tj, char *msg,
                      size_t msglen) {
    double step, ep, pos, n;
    const cJSON *ld = cJSON_GetObjectItemCaseSensitive(root, "loader");
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(root, "checksums");
    if (get_num(root, "step", &step) || get_num(ld, "epoch", &ep) || get_num(ld, "pos", &pos) ||
        get_num(ld, "n", &n) || get_hex(cs, "train_corpus", &s->train_sum) ||
        get_hex(cs, "valid_corpus", &s->valid_sum) || get_hex(cs, "tokenizer", &s->tok_sum))
        return lb_fail(msg, msglen, "%s: step, loader or checksums missing or malformed", tj);
    s->step = (long)step;
    const cJSON *el = cJSON_GetObjectItemCaseSensitive(root, "elapsed_s");
    s->elapsed = cJSON_IsNumber(el) ? el->valuedouble : 0;
    const cJSON *rk = cJSON_GetObjectItemCaseSensitive(root, "ranks");
    s->ranks = cJSON_IsNumber(rk) ? rk->valueint : 1;
    s->loader.epoch = (long)ep;
    s->loader.pos = (size_t)pos;
    s->loader.n = (int)n;
    lb_train_opts_default(saved);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (!cJSON_IsObject(op)) return lb_fail(msg, msglen, "%s: field \"options\" missing", tj);
    if (lb_train_opts_from_json(saved, op, s, tj, msg, msglen)) return -1;
    const cJSON *lg = cJSON_GetObjectItemCaseSensitive(root, "log"), *it;
    cJSON_ArrayForEach(it, lg) {
        if (!cJSON_IsString(it) || lb_train_state_log(s, it->valuestring))
            return lb_fail(msg, msglen, "%s: field \"log\" malformed", tj);
    }
    return 0;
}

/* The model and the optimizer state (AdamW's two moments). */
static int read_weights(const char *dir, lb_model **m, float **mom, float **vel, char *msg, size_t msglen) {
    char path[4096];
    if (lb_model_load(m, dir, msg, msglen)) return -1;
    size_t elems = lb_model_param_elems(*m);
    *mom = lb_alloc(elems * sizeof(float));
    *vel = lb_alloc(elems * sizeof(float));
    if (!*mom || !*vel) return lb_fail(msg, msglen, "out of memory for the optimizer state");
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    return read_optimizer(path, *m, *mom, *vel, msg, msglen);
}

int lb_train_ckpt_load(const char *dir, lb_model **m, float **mom, float **vel, lb_train_opts *saved,
                       lb_train_state *s, char *msg, size_t msglen) {
    char tj[4096];
    *m = NULL;
    *mom = *vel = NULL;
    lb_train_state_init(s);
    snprintf(tj, sizeof tj, "%s/trainer.json", dir);
    cJSON *root = read_trainer_json(tj, msg, msglen);
    if (!root) return -1;
    int rc = verify_files(root, dir, tj, msg, msglen) || read_state(root, s, saved, tj, msg, msglen) ||
                     read_weights(dir, m, mom, vel, msg, msglen)
                 ? -1
                 : 0;
    cJSON_Delete(root);
    if (rc) {
        lb_model_free(*m);
        lb_free(*mom);
        lb_free(*vel);
        *m = NULL;
        *mom = *vel = NULL;
        lb_train_state_free(s);
    }
    return rc;
}
