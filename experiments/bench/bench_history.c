/* The history store: bench runs appended one per commit, read back, and each point's
 * median and quartiles per run with the changes compare's rule flags between
 * consecutive runs on the same machine (fingerprint). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lb_bench.h"
#include "lb_stats.h"
#include "lb_table.h"
#include "lb_util.h"

#define INDEX_HEAD "seq,commit,dirty,date,fingerprint,dir"

/* The whole file into a NUL-terminated buffer; NULL with msg. */
static char *slurp(const char *path, size_t *len, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 < cap) continue;
        char *nb = cap < ((size_t)1 << 31) ? realloc(b, cap *= 2) : NULL;
        if (!nb) free(b);
        b = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (!b || err) {
        free(b);
        lb_fail(msg, msglen, "%s: %s", path, err ? "read error" : "out of memory or too large");
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}

static int copy_file(const char *from, const char *to, char *msg, size_t msglen) {
    size_t len;
    char *b = slurp(from, &len, msg, msglen);
    if (!b) return EX_NOINPUT;
    lb_atomic a;
    FILE *f = lb_atomic_open(&a, to);
    int rc = !f ? EX_CANTCREAT : fwrite(b, 1, len, f) != len ? (lb_atomic_abort(&a), EX_IOERR)
                                                              : lb_atomic_commit(&a) ? EX_IOERR : 0;
    free(b);
    if (rc) lb_fail(msg, msglen, "%s: cannot write", to);
    return rc;
}

/* commit, dirty and date from the "meta" of a bench.json. */
static int read_meta(const char *path, char *commit, size_t clen, int *dirty, char *date,
                     size_t dlen, char *msg, size_t msglen) {
    size_t len;
    char *b = slurp(path, &len, msg, msglen);
    if (!b) return EX_NOINPUT;
    cJSON *j = cJSON_Parse(b);
    free(b);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "meta");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "git_commit");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "git_dirty");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "date");
    int rc = 0;
    if (!j) rc = lb_fail(msg, msglen, "%s: not valid JSON", path);
    else if (!cJSON_IsString(c) || !cJSON_IsString(t) || strchr(c->valuestring, ',') ||
             strchr(t->valuestring, ','))
        rc = lb_fail(msg, msglen, "%s: meta.git_commit and meta.date: expected strings without "
                     "commas", path);
    else {
        snprintf(commit, clen, "%s", c->valuestring);
        snprintf(date, dlen, "%s", t->valuestring);
        *dirty = cJSON_IsTrue(d) ? 1 : cJSON_IsFalse(d) ? 0 : -1;
    }
    cJSON_Delete(j);
    return rc ? EX_DATAERR : 0;
}

/* The index rows as text (without the header) and the next seq. */
static int read_index(const char *path, char **rows, int *next, char *msg, size_t msglen) {
    struct stat st;
    *rows = NULL, *next = 1;
    if (stat(path, &st) != 0) return 0; /* a new store */
    lb_table t;
    int rc = lb_table_read_ex(&t, path), c[6];
    static const char *const COLS[] = {"seq", "commit", "dirty", "date", "fingerprint", "dir"};
    if (!rc && (rc = lb_table_cols_ex(&t, c, COLS, 6))) lb_table_free(&t);
    if (rc) return lb_fail(msg, msglen, "%s: not a history index (" INDEX_HEAD ")", path), rc;
    size_t len = 0;
    FILE *m = open_memstream(rows, &len); /* rows of any length */
    for (size_t i = 0; m && i < t.nrow; i++) {
        double s = lb_table_num(&t, i, c[0]);
        if (s >= *next) *next = (int)s + 1;
        fprintf(m, "%s,%s,%s,%s,%s,%s\n", lb_table_str(&t, i, c[0]), lb_table_str(&t, i, c[1]),
                lb_table_str(&t, i, c[2]), lb_table_str(&t, i, c[3]), lb_table_str(&t, i, c[4]),
                lb_table_str(&t, i, c[5]));
    }
    lb_table_free(&t);
    if (!m || fclose(m)) {
        if (m) free(*rows);
        *rows = NULL;
        return lb_fail(msg, msglen, "out of memory"), EX_OSERR;
    }
    return 0;
}

int lb_history_add(const char *store, const char *result_dir, int allow_dirty, char *added,
                   size_t addedlen, char *msg, size_t msglen) {
    char src[4200], dst[4200], commit[48], date[32];
    int dirty = -1, rc, seq;
    lb_fingerprint fp;
    snprintf(src, sizeof src, "%s/bench.json", result_dir);
    if ((rc = read_meta(src, commit, sizeof commit, &dirty, date, sizeof date, msg, msglen))) return rc;
    rc = lb_fingerprint_load(&fp, src, msg, msglen);
    if (rc) {
        if (rc == 1) lb_fail(msg, msglen, "%s: no machine fingerprint: a history run must say what "
                             "machine it ran on", src);
        return EX_DATAERR;
    }
    if (dirty != 0 && !allow_dirty)
        return lb_fail(msg, msglen, "%s: the run was taken on a tree with uncommitted changes (or "
                       "unknown), so it is no commit's; commit first, or allow it", src), EX_DATAERR;
    lb_results r; /* the samples must read back before they go in */
    if ((rc = lb_results_read(&r, result_dir, msg, msglen))) return rc;
    lb_results_free(&r);
    char *rows = NULL;
    snprintf(dst, sizeof dst, "%s/index.csv", store);
    if ((rc = read_index(dst, &rows, &seq, msg, msglen))) return rc;
    snprintf(added, addedlen, "runs/%04d-%.12s", seq, commit);
    snprintf(dst, sizeof dst, "%s/%s", store, added);
    if (lb_mkdirs(dst)) rc = EX_CANTCREAT;
    for (int i = 0; i < 2 && !rc; i++) {
        const char *f = i ? "bench.json" : "bench.csv";
        snprintf(src, sizeof src, "%s/%s", result_dir, f);
        snprintf(dst, sizeof dst, "%s/%s/%s", store, added, f);
        rc = copy_file(src, dst, msg, msglen);
    }
    lb_atomic a;
    FILE *f = NULL;
    snprintf(dst, sizeof dst, "%s/index.csv", store);
    if (!rc && !(f = lb_atomic_open(&a, dst))) rc = EX_CANTCREAT;
    if (!rc) {
        fprintf(f, "# linbench history store: one bench run per row, oldest first; DIR holds its "
                   "bench.csv (raw samples) and bench.json (metadata, fingerprint)\n" INDEX_HEAD "\n%s",
                rows ? rows : "");
        fprintf(f, "%d,%s,%d,%s,%016llx,%s\n", seq, commit, dirty, date,
                (unsigned long long)lb_fingerprint_id(&fp), added);
        if (lb_atomic_commit(&a)) rc = EX_IOERR;
    }
    free(rows);
    if (rc == EX_CANTCREAT || rc == EX_IOERR) lb_fail(msg, msglen, "%s: cannot write the store", store);
    return rc;
}

void lb_history_free(lb_history *h) {
    for (int i = 0; i < h->len; i++) lb_results_free(&h->run[i].res);
    free(h->run);
    memset(h, 0, sizeof *h);
}

int lb_history_load(lb_history *h, const char *store, char *msg, size_t msglen) {
    memset(h, 0, sizeof *h);
    char path[4200];
    snprintf(path, sizeof path, "%s/index.csv", store);
    lb_table t;
    int c[6], rc = lb_table_read_ex(&t, path);
    static const char *const COLS[] = {"seq", "commit", "dirty", "date", "fingerprint", "dir"};
    if (rc) return lb_fail(msg, msglen, "%s: cannot read the history index", path), rc;
    if ((rc = lb_table_cols_ex(&t, c, COLS, 6))) {
        lb_table_free(&t);
        return lb_fail(msg, msglen, "%s: not a history index (" INDEX_HEAD ")", path), rc;
    }
    h->run = calloc(t.nrow ? t.nrow : 1, sizeof *h->run);
    if (!h->run) rc = EX_OSERR, lb_fail(msg, msglen, "out of memory");
    for (size_t i = 0; !rc && i < t.nrow; i++) {
        lb_history_run *r = &h->run[i];
        r->seq = (int)lb_table_num(&t, i, c[0]);
        r->dirty = (int)lb_table_num(&t, i, c[2]);
        snprintf(r->commit, sizeof r->commit, "%s", lb_table_str(&t, i, c[1]));
        snprintf(r->date, sizeof r->date, "%s", lb_table_str(&t, i, c[3]));
        snprintf(r->fpid, sizeof r->fpid, "%s", lb_table_str(&t, i, c[4]));
        snprintf(path, sizeof path, "%s/%s", store, lb_table_str(&t, i, c[5]));
        if ((rc = lb_results_read(&r->res, path, msg, msglen))) break;
        h->len++;
        if (h->len > 1 && strcmp(r->res.header, h->run[0].res.header)) {
            lb_fail(msg, msglen, "%s: columns '%s' differ from the first run's '%s'", path,
                    r->res.header, h->run[0].res.header);
            rc = EX_DATAERR;
        }
    }
    lb_table_free(&t);
    if (rc) lb_history_free(h);
    return rc;
}

/* The change of point `key` at run i against the previous run holding it. */
static const char *change_of(const lb_history *h, int i, const char *key, double factor,
                             double alpha, lb_judgement *j) {
    const lb_point_samples *g = lb_results_find(&h->run[i].res, key), *p = NULL;
    int k = i - 1;
    for (; k >= 0 && !(p = lb_results_find(&h->run[k].res, key)); k--) {}
    j->ratio = j->p = NAN;
    if (!p) return "first";
    if (strcmp(h->run[k].fpid, h->run[i].fpid)) return "other_machine";
    if (lb_bench_min_p(p->len, g->len) >= alpha) return "underpowered";
    if (lb_bench_judge(j, p->s, p->len, 1, g->s, g->len, 1, factor, alpha)) return "failed";
    return j->verdict == LB_REGRESSION ? "regression" : j->verdict == LB_IMPROVED ? "improved" : "same";
}

static void num(FILE *f, const char *sep, double x) { fprintf(f, isfinite(x) ? "%s%.9g" : "%sNaN", sep, x); }

/* One point: its rows in the CSV and its block in the gnuplot data. */
static int write_point(const lb_history *h, const char *key, double factor, double alpha, FILE *csv,
                       FILE *dat, FILE *report) {
    int flagged = 0;
    fprintf(dat, "\"%s\" median q1 q3 change commit\n", key);
    for (int i = 0; i < h->len; i++) {
        const lb_point_samples *g = lb_results_find(&h->run[i].res, key);
        if (!g) continue;
        double q1, med, q3;
        if (lb_quartiles(g->s, (size_t)g->len, &q1, &med, &q3, NULL)) return -1;
        lb_judgement j;
        const char *ch = change_of(h, i, key, factor, alpha, &j);
        int flag = !strcmp(ch, "regression") ? 1 : !strcmp(ch, "improved") ? -1 : 0;
        fprintf(csv, "%s,%d,%s,%s", key, h->run[i].seq, h->run[i].commit, h->run[i].fpid);
        num(csv, ",", med), num(csv, ",", q1), num(csv, ",", q3);
        fprintf(csv, ",%d,%s", g->len, ch);
        num(csv, ",", j.ratio), num(csv, ",", j.p);
        fputc('\n', csv);
        fprintf(dat, "%d", h->run[i].seq);
        num(dat, " ", med), num(dat, " ", q1), num(dat, " ", q3);
        fprintf(dat, " %d %.7s\n", flag, h->run[i].commit);
        if (flag && report)
            fprintf(report, "%s: %s at run %d (%.12s): median %.4g s, %.3fx the previous run (p = %.2g)\n",
                    key, ch, h->run[i].seq, h->run[i].commit, med, j.ratio, j.p);
        flagged += flag > 0;
    }
    return flagged;
}

int lb_history_write(const lb_history *h, const char *match, double factor, double alpha,
                     const char *csv_path, const char *dat_path, FILE *report, int *npoints,
                     int *nflagged, char *msg, size_t msglen) {
    *npoints = *nflagged = 0;
    if (h->len == 0) return lb_fail(msg, msglen, "the history has no runs"), EX_DATAERR;
    lb_atomic ac, ad;
    FILE *csv = lb_atomic_open(&ac, csv_path), *dat = csv ? lb_atomic_open(&ad, dat_path) : NULL;
    if (!dat) {
        if (csv) lb_atomic_abort(&ac);
        return lb_fail(msg, msglen, "cannot write %s", csv ? dat_path : csv_path), EX_CANTCREAT;
    }
    fprintf(csv, "# linbench history: per point and run, median and quartiles of the raw samples; "
                 "change = compare's rule (factor %g, alpha %g) against the previous run of the same "
                 "fingerprint\n%s,seq,commit,fingerprint,median_s,q1_s,q3_s,samples,change,ratio,p\n",
            factor, alpha, h->run[0].res.header);
    int rc = 0;
    for (int i = 0; i < h->len && !rc; i++)
        for (int g = 0; g < h->run[i].res.len && !rc; g++) {
            const char *key = h->run[i].res.g[g].key;
            int seen = 0; /* drawn with the first run that holds it */
            for (int k = 0; k < i && !seen; k++) seen = lb_results_find(&h->run[k].res, key) != NULL;
            if (seen || (match && !strstr(key, match))) continue;
            if (*npoints) fputs("\n\n", dat); /* between blocks only: gnuplot counts a trailing one */
            int f = write_point(h, key, factor, alpha, csv, dat, report);
            if (f < 0) rc = EX_OSERR, lb_fail(msg, msglen, "out of memory");
            else *nflagged += f, ++*npoints;
        }
    if (!rc && !*npoints) rc = EX_DATAERR, lb_fail(msg, msglen, "no point matches '%s'", match ? match : "");
    if (rc) {
        lb_atomic_abort(&ac), lb_atomic_abort(&ad);
        return rc;
    }
    if (lb_atomic_commit(&ac) | lb_atomic_commit(&ad)) return lb_fail(msg, msglen, "cannot write"), EX_IOERR;
    return 0;
}
