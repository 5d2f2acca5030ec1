/* Bench results read back (raw samples per point, the fingerprint beside them) and
 * compare's rule, shared by `linbench compare` and `linbench history`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lb_bench.h"
#include "lb_stats.h"
#include "lb_table.h"
#include "lb_util.h"

void lb_results_free(lb_results *r) {
    for (int i = 0; i < r->len; i++) free(r->g[i].key), free(r->g[i].s);
    free(r->g);
    free(r->header);
    memset(r, 0, sizeof *r);
}

const lb_point_samples *lb_results_find(const lb_results *r, const char *key) {
    for (int i = 0; i < r->len; i++)
        if (!strcmp(r->g[i].key, key)) return &r->g[i];
    return NULL;
}

/* The group of key (rows of a point are adjacent, so the last one is tried first). */
static lb_point_samples *group_of(lb_results *r, const char *key) {
    if (r->len && !strcmp(r->g[r->len - 1].key, key)) return &r->g[r->len - 1];
    lb_point_samples *g = (lb_point_samples *)lb_results_find(r, key);
    if (g) return g;
    if (r->len == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        lb_point_samples *ng = realloc(r->g, (size_t)cap * sizeof *ng);
        if (!ng) return NULL;
        r->g = ng, r->cap = cap;
    }
    g = &r->g[r->len];
    memset(g, 0, sizeof *g);
    if (!(g->key = strdup(key))) return NULL;
    r->len++;
    return g;
}

static int push(lb_point_samples *g, double v) {
    if (g->len == g->cap) {
        int cap = g->cap ? 2 * g->cap : 16;
        double *s = realloc(g->s, (size_t)cap * sizeof *s);
        if (!s) return -1;
        g->s = s, g->cap = cap;
    }
    g->s[g->len++] = v;
    return 0;
}

/* Columns other than rep and seconds of row (or of the header when row < 0), joined. */
static int join_key(const lb_table *t, long row, int sec, int rep, char *out, size_t len) {
    size_t kl = 0;
    out[0] = 0;
    for (int c = 0; c < t->ncol; c++) {
        if (c == sec || c == rep) continue;
        const char *v = row < 0 ? t->head[c] : lb_table_str(t, (size_t)row, c);
        int w = snprintf(out + kl, len - kl, "%s%s", kl ? "," : "", v);
        if (w < 0 || (size_t)w >= len - kl) return -1;
        kl += (size_t)w;
    }
    return 0;
}

static int read_samples(lb_results *r, const lb_table *t, char *msg, size_t msglen) {
    int sec = -1, rep = -1, thr = -1;
    for (int c = 0; c < t->ncol; c++) {
        if (!strcmp(t->head[c], "seconds")) sec = c;
        if (!strcmp(t->head[c], "rep")) rep = c;
        if (!strcmp(t->head[c], "threads")) thr = c;
    }
    if (sec < 0) {
        lb_fail(msg, msglen, "%s: header has no 'seconds' column; expected a linbench bench.csv "
                "(protocol,...,rep,seconds)", t->path);
        return EX_DATAERR;
    }
    char key[2048];
    if (join_key(t, -1, sec, rep, key, sizeof key) || !(r->header = strdup(key))) {
        lb_fail(msg, msglen, "%s: header too long", t->path);
        return EX_DATAERR;
    }
    for (size_t i = 0; i < t->nrow; i++) {
        double v = lb_table_num(t, i, sec);
        if (!isfinite(v) || v < 0) {
            lb_fail(msg, msglen, "%s: data row %zu: seconds '%s' is not a finite non-negative number",
                    t->path, i + 1, lb_table_str(t, i, sec));
            return EX_DATAERR;
        }
        if (join_key(t, (long)i, sec, rep, key, sizeof key)) {
            lb_fail(msg, msglen, "%s: data row %zu too long", t->path, i + 1);
            return EX_DATAERR;
        }
        lb_point_samples *g = group_of(r, key);
        if (!g || push(g, v)) {
            lb_fail(msg, msglen, "%s: out of memory", t->path);
            return EX_OSERR;
        }
        double th = thr >= 0 ? lb_table_num(t, i, thr) : NAN;
        g->threads = th >= 1 && th < 1e6 ? (int)th : -1;
    }
    if (r->len == 0) {
        lb_fail(msg, msglen, "%s: no samples", t->path);
        return EX_DATAERR;
    }
    return 0;
}

/* The fingerprint of the bench.json in folder dir, if there is one. */
static int read_fp(lb_results *r, const char *dir, char *msg, size_t msglen) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/bench.json", dir);
    if (stat(path, &st) != 0) {
        snprintf(r->fp_note, sizeof r->fp_note, "no bench.json beside the samples");
        return 0;
    }
    int rc = lb_fingerprint_load(&r->fp, path, msg, msglen);
    if (rc < 0) return EX_DATAERR;
    r->has_fp = rc == 0;
    if (rc == 1) snprintf(r->fp_note, sizeof r->fp_note, "bench.json written before fingerprints");
    return 0;
}

int lb_results_read(lb_results *r, const char *arg, char *msg, size_t msglen) {
    memset(r, 0, sizeof *r);
    struct stat st;
    char path[4200], dir[4200];
    int isdir = stat(arg, &st) == 0 && S_ISDIR(st.st_mode);
    snprintf(path, sizeof path, isdir ? "%s/bench.csv" : "%s", arg);
    /* a bench.csv named as a file: its folder's bench.json is its own; other names
     * (hand-made or pooled samples) have no fingerprint */
    const char *base = strrchr(arg, '/');
    base = base ? base + 1 : arg;
    if (isdir) snprintf(dir, sizeof dir, "%s", arg);
    else if (strcmp(base, "bench.csv")) dir[0] = 0;
    else if (base == arg) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", (int)(base - arg), arg);
    lb_table t;
    int rc = lb_table_read_ex(&t, path);
    if (rc) {
        lb_fail(msg, msglen, "%s: cannot read (see above)", path);
        return rc;
    }
    rc = read_samples(r, &t, msg, msglen);
    lb_table_free(&t);
    if (!rc && dir[0]) rc = read_fp(r, dir, msg, msglen);
    else if (!rc) snprintf(r->fp_note, sizeof r->fp_note, "samples not in a bench.csv of a bench folder");
    if (rc) lb_results_free(r);
    return rc;
}

/* compare's rule, paired or not: flagged only when the ratio passes the factor and the
 * test rejects at alpha. */
static lb_verdict flag_rule(double ratio, double p, double factor, double alpha) {
    if (p < alpha && ratio > factor) return LB_REGRESSION;
    if (p < alpha && ratio < 1 / factor) return LB_IMPROVED;
    return LB_SAME;
}

int lb_bench_judge(lb_judgement *j, const double *base, int nb, double bscale, const double *cand,
                   int nn, double nscale, double factor, double alpha) {
    double *b = malloc(sizeof *b * (size_t)(nb + nn));
    if (!b) return -1;
    double *c = b + nb;
    for (int i = 0; i < nb; i++) b[i] = base[i] * bscale;
    for (int i = 0; i < nn; i++) c[i] = cand[i] * nscale;
    j->base_med = lb_median(b, (size_t)nb), j->new_med = lb_median(c, (size_t)nn);
    j->ratio = j->base_med > 0 ? j->new_med / j->base_med : (j->new_med > 0 ? INFINITY : 1);
    lb_mwu_result u;
    j->p = lb_mannwhitney(&u, b, (size_t)nb, c, (size_t)nn, LB_MWU_AUTO) ? NAN : u.p;
    double est;
    if (lb_hl_ratio(&est, &j->ratio_lo, &j->ratio_hi, b, (size_t)nb, c, (size_t)nn, LB_JUDGE_LEVEL))
        j->ratio_lo = j->ratio_hi = NAN;
    free(b);
    j->verdict = flag_rule(j->ratio, j->p, factor, alpha);
    return 0;
}

int lb_bench_judge_paired(lb_judgement *j, const double *base, int nb, double bscale, const double *cand,
                          int nn, double nscale, double factor, double alpha) {
    if (nb != nn || nb < 1) return -1;
    double *d = malloc(sizeof *d * (size_t)nb * 3);
    if (!d) return -1;
    double *b = d + nb, *c = b + nb;
    for (int i = 0; i < nb; i++) {
        b[i] = base[i] * bscale, c[i] = cand[i] * nscale;
        if (!(b[i] > 0) || !(c[i] > 0)) {
            free(d);
            return -1;
        }
        d[i] = log(c[i] / b[i]);
    }
    j->base_med = lb_median(b, (size_t)nb), j->new_med = lb_median(c, (size_t)nn);
    double est, lo, hi;
    lb_wsr_result w;
    int bad = lb_hl_paired(&est, &lo, &hi, d, (size_t)nb, LB_JUDGE_LEVEL) ||
              lb_signed_rank(&w, d, (size_t)nb, LB_MWU_AUTO);
    free(d);
    if (bad) return -1;
    j->ratio = exp(est), j->ratio_lo = exp(lo), j->ratio_hi = exp(hi), j->p = w.p;
    j->verdict = flag_rule(j->ratio, j->p, factor, alpha);
    return 0;
}

double lb_bench_min_p(int n1, int n2) {
    if (n1 < 1 || n2 < 1) return 1;
    double *x = malloc(sizeof *x * (size_t)(n1 + n2));
    if (!x) return NAN;
    for (int i = 0; i < n1 + n2; i++) x[i] = i; /* x below y, no ties: the extreme U */
    lb_mwu_result u;
    double p = lb_mannwhitney(&u, x, (size_t)n1, x + n1, (size_t)n2, LB_MWU_AUTO) ? NAN : u.p;
    free(x);
    return p;
}

int lb_bench_samples_needed(double alpha) {
    int m = 1;
    while (m < 2000 && !(lb_bench_min_p(m, m) < alpha)) m++; /* 2000: "at least" */
    return m;
}
