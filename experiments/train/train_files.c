/* The BF16 export of the shipped model (with its trained-length record) and the lock
 * of a training folder. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_train.h"
#include "lb_train_model.h"
#include "lb_util.h"

static const char *const tokfiles[] = {"vocab.json", "merges.txt"};


/* config.json's "linbench_trained": the lengths the weights trained at and for how
 * many updates (the curriculum cut at the step reached), and the last validation loss
 * logged at each length, so that `linbench spectrum`, `dump` and `report` can tell
 * an analysed n the model never trained at (lb_trained_read reads it back). */
static cJSON *trained_json(const lb_curriculum *c, const lb_train_state *st) {
    cJSON *t = cJSON_CreateObject(), *cur = cJSON_AddArrayToObject(t, "curriculum"),
          *vl = cJSON_AddArrayToObject(t, "valid_loss");
    long left = st->step;
    for (int i = 0; i < c->count && left > 0; i++) {
        long u = i == c->count - 1 || c->steps[i] > left ? left : c->steps[i];
        int pair[2] = {c->n[i], (int)u};
        cJSON_AddItemToArray(cur, cJSON_CreateIntArray(pair, 2));
        left -= u;
        double loss = NAN; /* the log line: step,tokens,n,lr,train_loss,grad_norm,val_loss,... */
        for (size_t j = 0; j < st->n_log; j++) {
            const char *f = st->log[j];
            for (int k = 0; k < 2 && f; k++) f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
            if (!f || atoi(f) != c->n[i]) continue;
            for (int k = 0; k < 4 && f; k++) f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
            if (f && *f && *f != ',') loss = atof(f);
        }
        if (isfinite(loss)) {
            double v[2] = {c->n[i], loss};
            cJSON_AddItemToArray(vl, cJSON_CreateDoubleArray(v, 2));
        }
    }
    cJSON_AddNumberToObject(t, "updates", (double)st->step);
    return t;
}

static int add_trained(const char *dir, const lb_curriculum *c, const lb_train_state *st, char *msg,
                       size_t msglen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "rb");
    char buf[1 << 16];
    size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[got] = 0;
    cJSON *cfg = cJSON_Parse(buf);
    char *text = NULL;
    if (cfg) cJSON_AddItemToObject(cfg, "linbench_trained", trained_json(c, st));
    if (cfg) text = cJSON_Print(cfg);
    cJSON_Delete(cfg);
    lb_atomic a;
    FILE *o = text ? lb_atomic_open(&a, path) : NULL;
    if (o) fprintf(o, "%s\n", text);
    free(text);
    if (!o || lb_atomic_commit(&a)) return lb_fail(msg, msglen, "%s: cannot add linbench_trained", path);
    return 0;
}

int lb_export_model(const char *dir, const lb_model *m, const char *tokdir, lb_weight_dtype dtype,
                    const lb_curriculum *curr, const lb_train_state *st, char *msg, size_t msglen) {
    size_t dl = strlen(dir);
    char *tmp = malloc(dl + 32), from[4096], to[4096];
    int rc = -1;
    if (!tmp) {
        lb_fail(msg, msglen, "out of memory");
        goto out;
    }
    snprintf(tmp, dl + 32, "%s.tmp.XXXXXX", dir);
    if (!mkdtemp(tmp)) {
        lb_fail(msg, msglen, "%s: cannot create a temporary folder beside it: %s", dir, strerror(errno));
        free(tmp), tmp = NULL;
        goto out;
    }
    chmod(tmp, 0755); /* mkdtemp makes it 0700; a shipped model is for everyone to read */
    const char *meta[] = {"producer", "linbench train", NULL};
    if (lb_model_save(tmp, m, dtype, meta, msg, msglen)) goto out;
    if (add_trained(tmp, curr, st, msg, msglen)) goto out;
    for (int i = 3; i < 5; i++) {
        snprintf(from, sizeof from, "%s/%s", tokdir, tokfiles[i - 3]);
        snprintf(to, sizeof to, "%s/%s", tmp, tokfiles[i - 3]);
        if (lb_copy_file(from, to, msg, msglen)) goto out;
    }
    if (lb_replace_dir(tmp, dir, "export", msg, msglen)) goto out;
    free(tmp), tmp = NULL;
    rc = 0;
out:
    if (tmp) lb_remove_flat_dir(tmp);
    free(tmp);
    return rc;
}

int lb_train_lock(const char *out, char *msg, size_t msglen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/.train.lock", out);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno)), -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return lb_fail(msg, msglen, "%s: another linbench train is writing to this folder (wait for it, "
                           "or give a different --out)", out), -1;
        return lb_fail(msg, msglen, "%s: cannot lock: %s", path, strerror(e)), -1;
    }
    return fd;
}
