/* Benchmark grids in parts: `linbench bench --shard i/N` (or one shard per MPI rank)
 * runs every Nth n of the grid; lb_bench_merge joins the result folders into one. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_bench.h"
#include "lb_mpi.h"
#include "lb_util.h"

int lb_bench_shard_parse(const char *s, int *i, int *n, char *msg, size_t msglen) {
    char *end;
    long a = strtol(s, &end, 10), b;
    if (end == s || *end != '/') goto bad;
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t || *end || b < 1 || b > 1024 || a < 0 || a >= b) goto bad;
    *i = (int)a, *n = (int)b;
    return 0;
bad:
    return lb_fail(msg, msglen, "'%s': expected I/N with 0 <= I < N <= 1024, e.g. 0/2", s);
}

static void keep(lb_list *l, int i, int n) {
    int k = 0;
    for (int j = 0; j < l->len; j++)
        if (j % n == i) l->v[k++] = l->v[j];
    l->len = k;
}

/* Under MPI: refuse two ranks on one host unless allowed. Every rank returns the same. */
static int hosts_check(int allow, char *msg, size_t msglen) {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1)) snprintf(host, sizeof host, "?");
    size_t lens[1024];
    char *all = NULL;
    int size = lb_mpi_size(), bad = -1;
    if (size > 1024) return lb_fail(msg, msglen, "more than 1024 ranks");
    if (lb_mpi_gather((void **)&all, lens, host, sizeof host, msg, msglen))
        lb_mpi_abort(EX_SOFTWARE, "bench: %s", msg);
    for (int a = 0; all && bad < 0 && a < size; a++)
        for (int b = a + 1; b < size; b++)
            if (!strcmp(all + (size_t)a * sizeof host, all + (size_t)b * sizeof host)) {
                snprintf(msg, msglen, "ranks %d and %d share the host %s: their timings would "
                         "disturb each other; run one rank per host (mpirun --map-by ppr:1:node) "
                         "or pass --allow-shared-host", a, b, all + (size_t)a * sizeof host);
                bad = a;
                break;
            }
    free(all);
    if (lb_mpi_agree(bad >= 0 && !allow ? EX_USAGE : 0)) {
        if (lb_mpi_rank() > 0) snprintf(msg, msglen, "rank 0 refused the ranks' hosts");
        return -1;
    }
    return 0;
}

int lb_bench_shard_apply(lb_bench_opts *o, char *msg, size_t msglen) {
    static char out[4096];
    if (lb_mpi_size() > 1) {
        if (o->shard_n)
            return lb_fail(msg, msglen, "--shard under mpirun: the ranks are the shards already");
        if (hosts_check(o->allow_shared_host, msg, msglen)) return -1;
        o->shard_i = lb_mpi_rank(), o->shard_n = lb_mpi_size();
        snprintf(out, sizeof out, "%s/rank-%d", o->out_dir, o->shard_i);
        o->out_dir = out;
    }
    if (o->shard_n <= 1) return 0;
    keep(&o->n, o->shard_i, o->shard_n);
    keep(&o->t3_n, o->shard_i, o->shard_n);
    if ((!(o->protocols & LB_PROTO_LAYER) || o->n.len == 0) &&
        (!(o->protocols & LB_PROTO_TABLE3) || o->t3_n.len == 0))
        return lb_fail(msg, msglen, "shard %d/%d is empty: the n lists have fewer than %d "
                       "entries", o->shard_i, o->shard_n, o->shard_n);
    if (o->n.len == 0) o->protocols &= ~LB_PROTO_LAYER;
    if (o->t3_n.len == 0) o->protocols &= ~LB_PROTO_TABLE3;
    return 0;
}

/* ---- merge ---- */

static const char *const CSVS[] = {"bench.csv", "summary.csv", "table3.csv"};
/* What makes timings comparable: the machine and the build, not its name or date. */
static const char *const MACHINE[] = {"cpu_model", "kernel", "compiler", "cflags",
                                      "openblas_config", "openblas_core", "openblas_threads",
                                      "omp_threads", "lapack_version", NULL};

static char *slurp(const char *path, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) return lb_fail(msg, msglen, "%s: cannot open", path), NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[65536];
    size_t got;
    while (m && (got = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, got, m);
    int err = ferror(f);
    fclose(f);
    if (!m || fclose(m) || err) return free(buf), lb_fail(msg, msglen, "%s: read error", path), NULL;
    return buf;
}

/* Append the CSV text of folder k to w: comments and header from the first only; every
 * folder's header must equal the first's. */
static int merge_csv(FILE *w, const char *text, const char *path, char **header, char *msg,
                     size_t msglen) {
    const char *p = text;
    int first = *header == NULL, seen = 0;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (*p == '#') {
            if (first) fprintf(w, "%.*s\n", (int)len, p);
        } else if (!seen) {
            seen = 1;
            if (first) {
                *header = strndup(p, len);
                fprintf(w, "%.*s\n", (int)len, p);
            } else if (strlen(*header) != len || strncmp(*header, p, len)) {
                return lb_fail(msg, msglen, "%s: header differs from the first folder's", path);
            }
        } else if (len) {
            fprintf(w, "%.*s\n", (int)len, p);
        }
        p += len + (e != NULL);
    }
    return seen ? 0 : lb_fail(msg, msglen, "%s: no header line", path);
}

static int merge_json(cJSON **acc, const char *text, const char *path, const char *dir,
                      int allow, char *msg, size_t msglen) {
    cJSON *j = cJSON_Parse(text);
    if (!j || !cJSON_IsArray(cJSON_GetObjectItem(j, "points")) ||
        !cJSON_IsObject(cJSON_GetObjectItem(j, "meta"))) {
        cJSON_Delete(j);
        return lb_fail(msg, msglen, "%s: not a linbench bench.json (meta, points expected)", path);
    }
    if (!*acc) {
        *acc = j;
        cJSON_DeleteItemFromObject(j, "crossovers"); /* need the whole n axis */
        cJSON *mf = cJSON_AddArrayToObject(j, "merged_from");
        if (mf) cJSON_AddItemToArray(mf, cJSON_CreateString(dir));
        return 0;
    }
    cJSON *m0 = cJSON_GetObjectItem(*acc, "meta"), *m1 = cJSON_GetObjectItem(j, "meta");
    for (int i = 0; !allow && MACHINE[i]; i++) {
        cJSON *a = cJSON_GetObjectItem(m0, MACHINE[i]), *b = cJSON_GetObjectItem(m1, MACHINE[i]);
        char *sa = a ? cJSON_PrintUnformatted(a) : NULL, *sb = b ? cJSON_PrintUnformatted(b) : NULL;
        int same = (!sa && !sb) || (sa && sb && !strcmp(sa, sb));
        if (!same)
            lb_fail(msg, msglen, "%s: meta.%s is %s, the first folder's is %s: timings from "
                    "different machines or builds do not belong in one grid (--allow-mixed "
                    "to join them anyway)", path, MACHINE[i], sb ? sb : "absent", sa ? sa : "absent");
        free(sa), free(sb);
        if (!same) return cJSON_Delete(j), -1;
    }
    cJSON *pts = cJSON_GetObjectItem(*acc, "points"), *p;
    while ((p = cJSON_DetachItemFromArray(cJSON_GetObjectItem(j, "points"), 0)))
        cJSON_AddItemToArray(pts, p);
    cJSON_AddItemToArray(cJSON_GetObjectItem(*acc, "merged_from"), cJSON_CreateString(dir));
    cJSON_Delete(j);
    return 0;
}

int lb_bench_merge(const char *out, const char *const *dirs, int n, int allow_mixed, char *msg,
                   size_t msglen) {
    enum { NC = 3 };
    char *bufs[NC] = {0}, *headers[NC] = {0}, path[4096];
    size_t lens[NC] = {0};
    FILE *mem[NC] = {0};
    int absent[NC] = {0}; /* table3.csv is absent when only the layer protocol ran */
    cJSON *acc = NULL;
    int rc = -1;
    for (int c = 0; c < NC; c++)
        if (!(mem[c] = open_memstream(&bufs[c], &lens[c]))) goto oom;
    for (int k = 0; k < n; k++) {
        snprintf(path, sizeof path, "%s/bench.json", dirs[k]);
        char *t = slurp(path, msg, msglen);
        int bad = !t || merge_json(&acc, t, path, dirs[k], allow_mixed, msg, msglen);
        free(t);
        if (bad) goto out;
        for (int c = 0; c < NC; c++) {
            snprintf(path, sizeof path, "%s/%s", dirs[k], CSVS[c]);
            int here = access(path, F_OK) == 0;
            if (k == 0) absent[c] = !here;
            if (absent[c] && !here) continue;
            if (absent[c]) {
                lb_fail(msg, msglen, "%s: present, but the first folder has no %s", path, CSVS[c]);
                goto out;
            }
            if (!(t = slurp(path, msg, msglen))) goto out;
            bad = merge_csv(mem[c], t, path, &headers[c], msg, msglen);
            free(t);
            if (bad) goto out;
        }
    }
    for (int c = 0; c < NC; c++) fclose(mem[c]), mem[c] = NULL;
    char *js = cJSON_Print(acc);
    if (!js || lb_mkdirs(out)) {
        free(js);
        lb_fail(msg, msglen, "%s: cannot create the folder or the JSON", out);
        goto out;
    }
    /* all four files to temporaries first, then the renames: no half-merged folder */
    lb_atomic a[NC + 1];
    int opened = 0, ok = 1;
    for (int c = 0; c <= NC && ok; c++) {
        if (c < NC && absent[c]) continue;
        snprintf(path, sizeof path, "%s/%s", out, c < NC ? CSVS[c] : "bench.json");
        FILE *f = lb_atomic_open(&a[opened], path);
        ok = f && fputs(c < NC ? bufs[c] : js, f) >= 0;
        opened += f != NULL;
    }
    free(js);
    for (int c = 0; c < opened; c++) {
        if (!ok) lb_atomic_abort(&a[c]);
        else if (lb_atomic_commit(&a[c])) ok = 0;
    }
    if (!ok) {
        lb_fail(msg, msglen, "%s: cannot write the merged files", out);
        goto out;
    }
    rc = 0;
    goto out;
oom:
    lb_fail(msg, msglen, "out of memory");
out:
    for (int c = 0; c < NC; c++) {
        if (mem[c]) fclose(mem[c]);
        free(bufs[c]), free(headers[c]);
    }
    cJSON_Delete(acc);
    return rc;
}
