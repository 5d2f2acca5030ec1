/* What a model trained at: config.json's "linbench_trained" (written by `linbench
 * train`'s export), or, for a checkpoint without it, the position table's length. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_spectrum.h"
#include "lb_util.h"

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = NULL;
    size_t cap = 0, n = 0, got;
    do {
        char *nb = realloc(b, cap = cap ? 2 * cap : 1 << 14);
        if (!nb) {
            free(b);
            fclose(f);
            return NULL;
        }
        b = nb;
        n += got = fread(b + n, 1, cap - n - 1, f);
    } while (n == cap - 1 && got);
    fclose(f);
    b[n] = 0;
    return b;
}

/* [[n, x], ...] pairs; returns the count or -1 when malformed. */
static int pairs(const cJSON *a, double (*out)[2], int max) {
    int k = 0;
    const cJSON *p;
    if (!cJSON_IsArray(a)) return -1;
    cJSON_ArrayForEach(p, a) {
        if (k == max || cJSON_GetArraySize(p) != 2 || !cJSON_IsNumber(cJSON_GetArrayItem(p, 0)) ||
            !cJSON_IsNumber(cJSON_GetArrayItem(p, 1)))
            return -1;
        out[k][0] = cJSON_GetArrayItem(p, 0)->valuedouble;
        out[k++][1] = cJSON_GetArrayItem(p, 1)->valuedouble;
    }
    return k;
}

static int parse(lb_trained *t, const cJSON *o, const char *path, char *msg, size_t msglen) {
    double cur[LB_TRAINED_MAX][2], vl[LB_TRAINED_MAX][2];
    int nc = pairs(cJSON_GetObjectItemCaseSensitive(o, "curriculum"), cur, LB_TRAINED_MAX);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "valid_loss");
    int nv = v ? pairs(v, vl, LB_TRAINED_MAX) : 0;
    if (nc < 1 || nv < 0)
        return lb_fail(msg, msglen,
                       "%s: \"linbench_trained\": expected {\"curriculum\": [[n, updates], ...], "
                       "\"valid_loss\": [[n, loss], ...]}",
                       path);
    t->recorded = 1;
    for (int i = 0; i < nc; i++) {
        if (cur[i][0] < 1 || cur[i][1] < 0)
            return lb_fail(msg, msglen, "%s: \"linbench_trained\".curriculum[%d]: n >= 1 and "
                           "updates >= 0 expected", path, i);
        t->n[i] = (int)cur[i][0], t->updates[i] = (long)cur[i][1], t->valid_loss[i] = NAN;
        t->total_updates += t->updates[i];
        if (t->updates[i] > 0 && t->n[i] > t->max_n) t->max_n = t->n[i];
        for (int j = 0; j < nv; j++)
            if ((int)vl[j][0] == t->n[i]) t->valid_loss[i] = vl[j][1];
    }
    t->nstage = nc;
    return 0;
}

int lb_trained_read(lb_trained *t, const char *model_dir, const lb_config *c, char *msg,
                    size_t msglen) {
    char path[4096];
    memset(t, 0, sizeof *t);
    snprintf(path, sizeof path, "%s/config.json", model_dir);
    char *text = slurp(path);
    cJSON *cfg = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(cfg, "linbench_trained");
    int rc = o ? parse(t, o, path, msg, msglen) : 0;
    cJSON_Delete(cfg);
    if (!t->recorded) { /* a user's checkpoint: trust its position table */
        memset(t, 0, sizeof *t);
        t->max_n = lb_spec_max_n(c);
    }
    return rc;
}

int lb_trained_beyond(const lb_trained *t, int n, char *msg, size_t msglen) {
    if (n <= t->max_n) return 0;
    if (t->recorded)
        snprintf(msg, msglen, "n = %d is outside the model's trained length (it trained at n <= %d, "
                 "config.json \"linbench_trained\"): its attention there is not a learned one", n,
                 t->max_n);
    else
        snprintf(msg, msglen, "n = %d is past the model's position table (%d)", n, t->max_n);
    return 1;
}

void lb_trained_json(FILE *f, const lb_trained *t) {
    fprintf(f, "{\"recorded\": %s, \"max_n\": %d, \"source\": \"%s\", \"updates\": %ld, "
               "\"curriculum\": [", t->recorded ? "true" : "false", t->max_n,
            t->recorded ? "config.json linbench_trained" : "position table (not recorded)",
            t->total_updates);
    for (int i = 0; i < t->nstage; i++)
        fprintf(f, "%s[%d, %ld]", i ? ", " : "", t->n[i], t->updates[i]);
    fputs("], \"valid_loss\": [", f);
    for (int i = 0, k = 0; i < t->nstage; i++)
        if (isfinite(t->valid_loss[i])) fprintf(f, "%s[%d, %.6g]", k++ ? ", " : "", t->n[i], t->valid_loss[i]);
    fputs("]}", f);
}
