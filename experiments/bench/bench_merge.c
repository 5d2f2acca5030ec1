/* Benchmark grids in parts: `linbench bench --shard i/N` (or one shard per MPI rank)
 * runs every Nth n of the grid; lb_bench_merge joins the result folders into one. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_bench.h"
#include "lb_meta.h"
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

/* ---- Table 3 points read back from each folder, the table rebuilt after the merge ---- */

static double jnum(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Point i of the bench.json at path, a Table 3 one, back into p: what
 * lb_bench_write_table3 reads. 0 or -1 with msg naming the file and field. */
static int t3_point(lb_bench_point *p, const cJSON *j, int i, const char *path, char *msg, size_t msglen) {
    static const char *const INTS[] = {"n", "k", "d", "heads", "batch", "layers", "threads", "batch_fit"};
    int *dst[] = {&p->n, &p->k, &p->d, &p->H, &p->B, &p->layers, &p->threads, &p->B_fit};
    for (int f = 0; f < 8; f++) {
        double x = jnum(j, INTS[f]);
        if (!isfinite(x) || x < 0 || x > 1e9)
            return lb_fail(msg, msglen, "%s: points[%d].%s: expected a count%s", path, i, INTS[f],
                           cJSON_GetObjectItem(j, INTS[f]) ? "" : " (absent)");
        *dst[f] = (int)x;
    }
    const cJSON *m = cJSON_GetObjectItem(j, "method"), *sh = cJSON_GetObjectItem(j, "share");
    const cJSON *st = cJSON_GetObjectItem(j, "status"), *note = cJSON_GetObjectItem(j, "note");
    if (!cJSON_IsString(m) || lb_attn_method_parse(m->valuestring, &p->method))
        return lb_fail(msg, msglen, "%s: points[%d].method: expected an attention method name", path, i);
    if (!cJSON_IsString(sh) || lb_share_parse(sh->valuestring, &p->share))
        return lb_fail(msg, msglen, "%s: points[%d].share: expected none, headwise, kv or layerwise", path, i);
    if (!cJSON_IsString(st) || (strcmp(st->valuestring, "ok") && strcmp(st->valuestring, "nofit") &&
                                strcmp(st->valuestring, "failed")))
        return lb_fail(msg, msglen, "%s: points[%d].status: expected ok, nofit or failed", path, i);
    p->status = !strcmp(st->valuestring, "ok") ? LB_PT_OK : !strcmp(st->valuestring, "nofit") ? LB_PT_NOFIT : LB_PT_FAIL;
    snprintf(p->note, sizeof p->note, "%s", cJSON_IsString(note) ? note->valuestring : "");
    p->proto = LB_PROTO_TABLE3;
    p->median = jnum(j, "median_s"), p->flops = jnum(j, "flops");
    double peak = jnum(j, "peak_extra_bytes");
    p->peak_extra = isfinite(peak) && peak > 0 ? (size_t)peak : 0;
    if (p->status == LB_PT_OK && !(p->median > 0 && p->flops > 0 && isfinite(peak)))
        return lb_fail(msg, msglen, "%s: points[%d]: status ok without median_s, flops and "
                       "peak_extra_bytes", path, i);
    return 0;
}

/* Whether a and b are one row of Table 3 (whose ratios divide one by the other). */
static int same_t3_row(const lb_bench_point *a, const lb_bench_point *b) {
    return a->n == b->n && a->d == b->d && a->H == b->H && a->layers == b->layers &&
           a->threads == b->threads;
}

static int same_t3_config(const lb_bench_point *a, const lb_bench_point *b) {
    return same_t3_row(a, b) && a->method == b->method && a->share == b->share && a->k == b->k;
}

/* meta.fingerprint.id of a bench.json, NULL when it predates fingerprints. */
static const char *fp_id(const cJSON *j) {
    const cJSON *fp = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "meta"), "fingerprint");
    const cJSON *id = cJSON_GetObjectItem(fp, "id");
    return cJSON_IsString(id) ? id->valuestring : NULL;
}

/* The Table 3 points of every folder, from which table3.csv is rebuilt after the merge,
 * and the machine (fingerprint id, "" when unknown) of each. */
typedef struct {
    lb_bench_set set;
    char (*machine)[32]; /* machine[i] is point i's */
    int cap;
} t3_points;

static void t3_points_free(t3_points *t) {
    lb_bench_set_free(&t->set);
    free(t->machine);
}

/* The Table 3 points of one folder's bench.json (j, at path) added to t3: one n may come
 * from several folders (a baseline measured in one, Linformer in another). Refused, even
 * with --allow-mixed: a configuration measured twice (which timing would be the table's is
 * not the merge's to choose), and a row whose points come from two machines (its ratios
 * would divide one processor's seconds by another's). */
static int t3_collect(t3_points *t3, const cJSON *j, const char *path, char *msg, size_t msglen) {
    const cJSON *pt;
    const char *id = fp_id(j);
    int i = 0;
    cJSON_ArrayForEach(pt, cJSON_GetObjectItem(j, "points")) {
        const cJSON *proto = cJSON_GetObjectItem(pt, "protocol");
        i++;
        if (!cJSON_IsString(proto) || strcmp(proto->valuestring, "table3")) continue;
        if (t3->set.len == t3->cap) {
            int cap = t3->cap ? 2 * t3->cap : 64;
            void *m = realloc(t3->machine, sizeof *t3->machine * (size_t)cap);
            if (!m) return lb_fail(msg, msglen, "out of memory");
            t3->machine = m, t3->cap = cap;
        }
        lb_bench_point *p = lb_bench_add(&t3->set);
        if (!p) return lb_fail(msg, msglen, "out of memory");
        if (t3_point(p, pt, i - 1, path, msg, msglen)) return -1;
        int me = t3->set.len - 1;
        snprintf(t3->machine[me], sizeof t3->machine[me], "%s", id ? id : "");
        for (int q = 0; q < me; q++) {
            const lb_bench_point *o = &t3->set.pts[q];
            if (same_t3_config(o, p))
                return lb_fail(msg, msglen, "%s: the Table 3 point %s (k = %d, n = %d, %d-layer "
                               "encoder) is in two of the folders: keep one of them", path,
                               lb_attn_method_name(p->method), p->k, p->n, p->layers);
            if (same_t3_row(o, p) && *t3->machine[q] && *t3->machine[me] &&
                strcmp(t3->machine[q], t3->machine[me]))
                return lb_fail(msg, msglen, "%s: its Table 3 points at n = %d (%d-layer encoder) ran "
                               "on machine %s, another folder's on %s: one row's ratios must "
                               "divide timings of one machine (not even --allow-mixed joins "
                               "them; run the whole n on one machine)", path, p->n, p->layers,
                               t3->machine[me], t3->machine[q]);
        }
    }
    return 0;
}

/* What one merged folder was: its grid, when and where it ran (fingerprint id, CPU family
 * and model, best FMA peak), and how long it took (DIR/elapsed_s, written by make
 * bench-table3-paper, when there). A folder written
 * before the fused streaming tile records no stream_kernel: null. */
static cJSON *part_entry(const cJSON *j, const char *dir) {
    const cJSON *meta = cJSON_GetObjectItem(j, "meta"), *params = cJSON_GetObjectItem(j, "params");
    cJSON *e = cJSON_CreateObject();
    if (!e) return NULL;
    cJSON_AddStringToObject(e, "folder", dir);
    static const char *const FROM_PARAMS[] = {"n", "table3_n", "stream_kernel"};
    static const char *const FROM_META[] = {"date", "git_commit", "git_dirty"};
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItem(params, FROM_PARAMS[i]);
        cJSON_AddItemToObject(e, FROM_PARAMS[i], v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    }
    for (int i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItem(meta, FROM_META[i]);
        cJSON_AddItemToObject(e, FROM_META[i], v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    }
    const char *id = fp_id(j);
    cJSON_AddItemToObject(e, "machine", id ? cJSON_CreateString(id) : cJSON_CreateNull());
    lb_fingerprint fp;
    char cpu[128] = "";
    double peak = NAN;
    if (!lb_fingerprint_from_json(&fp, cJSON_GetObjectItem(meta, "fingerprint"), NULL, 0)) {
        snprintf(cpu, sizeof cpu, "%s family %d model %d", fp.vendor, fp.family, fp.model);
        for (int i = 0; i < fp.npeak; i++) peak = fmax(peak, lb_fingerprint_peak(&fp, fp.peak[i].threads));
    }
    cJSON_AddItemToObject(e, "cpu", *cpu ? cJSON_CreateString(cpu) : cJSON_CreateNull());
    cJSON_AddItemToObject(e, "fma_peak_gflops", isfinite(peak) ? cJSON_CreateNumber(peak) : cJSON_CreateNull());
    char path[4096];
    snprintf(path, sizeof path, "%s/elapsed_s", dir);
    FILE *f = fopen(path, "r");
    double el = NAN;
    if (f && fscanf(f, "%lf", &el) != 1) el = NAN;
    if (f) fclose(f);
    cJSON_AddItemToObject(e, "elapsed_s", isfinite(el) ? cJSON_CreateNumber(el) : cJSON_CreateNull());
    return e;
}

/* Folder j against the first (m0): the same machine and build by the metadata fields
 * and, when both have one, the fingerprint (the CPU model name alone does not tell two
 * processors of one family apart). 0 or -1 with msg naming the field. */
static int same_machine(const cJSON *first, const cJSON *j, const char *path, char *msg, size_t msglen) {
    const cJSON *m0 = cJSON_GetObjectItem(first, "meta"), *m1 = cJSON_GetObjectItem(j, "meta");
    for (int i = 0; MACHINE[i]; i++) {
        cJSON *a = cJSON_GetObjectItem(m0, MACHINE[i]), *b = cJSON_GetObjectItem(m1, MACHINE[i]);
        char *sa = a ? cJSON_PrintUnformatted(a) : NULL, *sb = b ? cJSON_PrintUnformatted(b) : NULL;
        int same = (!sa && !sb) || (sa && sb && !strcmp(sa, sb));
        if (!same)
            lb_fail(msg, msglen, "%s: meta.%s is %s, the first folder's is %s: timings from "
                    "different machines or builds do not belong in one grid (--allow-mixed "
                    "to join them anyway)", path, MACHINE[i], sb ? sb : "absent", sa ? sa : "absent");
        free(sa), free(sb);
        if (!same) return -1;
    }
    const char *ia = fp_id(first), *ib = fp_id(j);
    if (!ia || !ib || !strcmp(ia, ib)) return 0;
    lb_fingerprint fa, fb;
    char what[512] = "";
    if (!lb_fingerprint_from_json(&fa, cJSON_GetObjectItem(m0, "fingerprint"), NULL, 0) &&
        !lb_fingerprint_from_json(&fb, cJSON_GetObjectItem(m1, "fingerprint"), NULL, 0))
        lb_fingerprint_diff(&fb, &fa, what, sizeof what);
    return lb_fail(msg, msglen, "%s: meta.fingerprint.id is %s, the first folder's is %s%s%s: "
                   "timings from different machines do not belong in one grid (--allow-mixed "
                   "to join them anyway)", path, ib, ia, *what ? ": " : "", what);
}

static int merge_json(cJSON **acc, t3_points *t3, const char *text, const char *path,
                      const char *dir, int allow, char *msg, size_t msglen) {
    cJSON *j = cJSON_Parse(text);
    if (!j || !cJSON_IsArray(cJSON_GetObjectItem(j, "points")) ||
        !cJSON_IsObject(cJSON_GetObjectItem(j, "meta"))) {
        cJSON_Delete(j);
        return lb_fail(msg, msglen, "%s: not a linbench bench.json (meta, points expected)", path);
    }
    if (t3_collect(t3, j, path, msg, msglen)) return cJSON_Delete(j), -1;
    cJSON *entry = part_entry(j, dir);
    if (!entry) return cJSON_Delete(j), lb_fail(msg, msglen, "out of memory");
    if (!*acc) {
        *acc = j;
        cJSON_DeleteItemFromObject(j, "crossovers"); /* need the whole n axis */
        cJSON *mf = cJSON_AddArrayToObject(j, "merged_from");
        if (mf) cJSON_AddItemToArray(mf, entry);
        else cJSON_Delete(entry);
        return 0;
    }
    if (!allow && same_machine(*acc, j, path, msg, msglen)) return cJSON_Delete(entry), cJSON_Delete(j), -1;
    cJSON *pts = cJSON_GetObjectItem(*acc, "points"), *p;
    while ((p = cJSON_DetachItemFromArray(cJSON_GetObjectItem(j, "points"), 0)))
        cJSON_AddItemToArray(pts, p);
    cJSON_AddItemToArray(cJSON_GetObjectItem(*acc, "merged_from"), entry);
    cJSON_Delete(j);
    return 0;
}

/* Whether the merged folders agree on field (a string or null) of their entries; adds
 * "mixed_<field>" to acc and, when they do not, a line to warn. */
static void mixed(cJSON *acc, const char *field, const char *what, char *warn, size_t warnlen) {
    const cJSON *mf = cJSON_GetObjectItem(acc, "merged_from"), *e;
    char *first = NULL;
    int differ = 0, started = 0;
    cJSON_ArrayForEach(e, mf) {
        char *v = cJSON_PrintUnformatted(cJSON_GetObjectItem(e, field));
        if (!started) first = v, started = 1;
        else differ |= (!first || !v || strcmp(first, v)), free(v);
    }
    free(first);
    char key[64];
    snprintf(key, sizeof key, "mixed_%s", field);
    cJSON_AddBoolToObject(acc, key, differ);
    if (!differ || !warn) return;
    size_t len = strlen(warn);
    snprintf(warn + len, warnlen - len, "%sthe folders differ in %s:", len ? "; " : "", what);
    cJSON_ArrayForEach(e, mf) {
        char *v = cJSON_PrintUnformatted(cJSON_GetObjectItem(e, field));
        const cJSON *fo = cJSON_GetObjectItem(e, "folder");
        len = strlen(warn);
        snprintf(warn + len, warnlen - len, " %s %s", cJSON_IsString(fo) ? fo->valuestring : "?", v ? v : "?");
        free(v);
    }
}

int lb_bench_merge(const char *out, const char *const *dirs, int n, int allow_mixed,
                   const char *paper, char *warn, size_t warnlen, char *msg, size_t msglen) {
    enum { NC = 3, T3 = 2 };
    char *bufs[NC] = {0}, *headers[NC] = {0}, path[4096];
    size_t lens[NC] = {0};
    FILE *mem[NC] = {0};
    int absent[NC] = {0}; /* table3.csv is absent when only the layer protocol ran */
    absent[T3] = 1;       /* ... in every folder: it is rebuilt when any has one */
    cJSON *acc = NULL;
    t3_points t3 = {0};
    int rc = -1;
    for (int c = 0; c < NC; c++)
        if (!(mem[c] = open_memstream(&bufs[c], &lens[c]))) goto oom;
    for (int k = 0; k < n; k++) {
        snprintf(path, sizeof path, "%s/bench.json", dirs[k]);
        char *t = lb_read_file(path, NULL, NULL, msg, msglen);
        int bad = !t || merge_json(&acc, &t3, t, path, dirs[k], allow_mixed, msg, msglen);
        free(t);
        if (bad) goto out;
        for (int c = 0; c < NC; c++) {
            snprintf(path, sizeof path, "%s/%s", dirs[k], CSVS[c]);
            int here = access(path, F_OK) == 0;
            if (c == T3) {
                absent[T3] &= !here;
                continue;
            }
            if (k == 0) absent[c] = !here;
            if (absent[c] && !here) continue;
            if (absent[c]) {
                lb_fail(msg, msglen, "%s: present, but the first folder has no %s", path, CSVS[c]);
                goto out;
            }
            if (!(t = lb_read_file(path, NULL, NULL, msg, msglen))) goto out;
            bad = merge_csv(mem[c], t, path, &headers[c], msg, msglen);
            free(t);
            if (bad) goto out;
        }
    }
    if (!absent[T3]) lb_bench_write_table3(&t3.set, mem[T3], paper);
    for (int c = 0; c < NC; c++) fclose(mem[c]), mem[c] = NULL;
    if (warn && warnlen) warn[0] = 0;
    mixed(acc, "machine", "machine (meta.fingerprint.id)", warn, warnlen);
    mixed(acc, "stream_kernel", "streaming kernel (params.stream_kernel; null: written before it was recorded)",
          warn, warnlen);
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
    t3_points_free(&t3);
    return rc;
}
