/* The per-window statistics of a spectrum result and their bootstrap over windows: the
 * interval of every number a Figure 1 verdict rests on (means per layer and pooled,
 * Spearman ρ of the layer trend in three readings, growth exponents of idx90 vs n). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_report.h"
#include "lb_stats.h"
#include "lb_table.h"
#include "lb_util.h"
#include "report_int.h"

void rb_free(rb_data *d) {
    for (int i = 0; d->len && i < d->nn; i++) free(d->len[i].x);
    free(d->len);
    memset(d, 0, sizeof *d);
}

static int find_int(const int *v, int n, int x) {
    for (int i = 0; i < n; i++)
        if (v[i] == x) return i;
    return -1;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Lengths, layers and window counts in a first pass; sums in a second. */
static int shape(rb_data *d, const lb_table *t, const int *c, const char *path) {
    int ns[64], nn = 0, W[64] = {0};
    for (size_t r = 0; r < t->nrow; r++) {
        double n = lb_table_num(t, r, c[0]), l = lb_table_num(t, r, c[1]), w = lb_table_num(t, r, c[3]);
        if (!(n >= 1 && l >= 0 && l < 256 && w >= 0 && w < 1e7)) {
            lb_err("%s: data row %zu: n, layer or window out of range", path, r + 1);
            return EX_DATAERR;
        }
        int i = find_int(ns, nn, (int)n);
        if (i < 0) {
            if (nn == 64) return lb_err("%s: more than 64 lengths", path), EX_DATAERR;
            ns[i = nn++] = (int)n;
        }
        if ((int)w + 1 > W[i]) W[i] = (int)w + 1;
        if (find_int(d->layers, d->nl, (int)l) < 0) d->layers[d->nl++] = (int)l;
    }
    if (!nn) return lb_err("%s: no data rows", path), EX_DATAERR;
    qsort(d->layers, (size_t)d->nl, sizeof(int), cmp_int);
    int order[64];
    memcpy(order, ns, sizeof ns);
    qsort(order, (size_t)nn, sizeof(int), cmp_int);
    if (!(d->len = calloc((size_t)nn, sizeof *d->len))) return EX_OSERR;
    d->nn = nn;
    for (int i = 0; i < nn; i++) {
        rb_len *L = &d->len[i];
        L->n = order[i], L->W = W[find_int(ns, nn, order[i])];
        if (!(L->x = calloc((size_t)L->W * d->nl * LB_SPEC_NSTATS, sizeof(double)))) return EX_OSERR;
    }
    return 0;
}

int rb_read(rb_data *d, const char *prefix) {
    static const char *const names[] = {"n", "layer", "head", "window"};
    char path[4096];
    int c[4 + LB_SPEC_NSTATS], rc;
    const char *cn[4 + LB_SPEC_NSTATS];
    lb_table t;
    memset(d, 0, sizeof *d);
    for (int i = 0; i < 4; i++) cn[i] = names[i];
    for (int s = 0; s < LB_SPEC_NSTATS; s++) cn[4 + s] = lb_spec_stat_name(s);
    snprintf(path, sizeof path, "%s_windows.csv", prefix);
    if ((rc = lb_table_read_ex(&t, path))) return rc;
    if ((rc = lb_table_cols_ex(&t, c, cn, 4 + LB_SPEC_NSTATS)) || (rc = shape(d, &t, c, path))) {
        lb_table_free(&t);
        return rc;
    }
    size_t off[65] = {0}; /* heads counted per (n, window, layer): cnt + off[ni] */
    for (int ni = 0; ni < d->nn; ni++) off[ni + 1] = off[ni] + (size_t)d->len[ni].W * d->nl;
    double *cnt = calloc(off[d->nn], sizeof(double));
    if (!cnt) return lb_table_free(&t), EX_OSERR;
    for (size_t r = 0; r < t.nrow; r++) {
        int ni = 0, n = (int)lb_table_num(&t, r, c[0]), w = (int)lb_table_num(&t, r, c[3]);
        while (d->len[ni].n != n) ni++;
        int l = find_int(d->layers, d->nl, (int)lb_table_num(&t, r, c[1]));
        double *x = d->len[ni].x + ((size_t)w * d->nl + l) * LB_SPEC_NSTATS;
        for (int s = 0; s < LB_SPEC_NSTATS; s++) x[s] += lb_table_num(&t, r, c[4 + s]);
        cnt[off[ni] + (size_t)w * d->nl + l] += 1;
    }
    lb_table_free(&t);
    for (int ni = 0; ni < d->nn && !rc; ni++) {
        rb_len *L = &d->len[ni];
        L->index = L->n / 4 > 0 ? L->n / 4 : 1;
        double want = cnt[off[ni]];
        for (int w = 0; w < L->W && !rc; w++)
            for (int l = 0; l < d->nl; l++) {
                double k = cnt[off[ni] + (size_t)w * d->nl + l];
                if (k < 1 || k != want) {
                    lb_err("%s: n = %d, window %d, layer %d: %g heads, expected %g (every window and "
                           "layer needs the same heads)", path, L->n, w, d->layers[l], k, want);
                    rc = EX_DATAERR;
                    break;
                }
                for (int s = 0; s < LB_SPEC_NSTATS; s++) L->x[((size_t)w * d->nl + l) * LB_SPEC_NSTATS + s] /= k;
            }
    }
    free(cnt);
    return rc;
}

int rb_q_mean(const rb_data *d, int ni, int l, int stat) {
    return (ni * (d->nl + 1) + l) * LB_SPEC_NSTATS + stat;
}
int rb_q_rho(const rb_data *d, int ni, int reading) {
    return d->nn * (d->nl + 1) * LB_SPEC_NSTATS + ni * RB_NRHO + reading;
}
int rb_q_grow(const rb_data *d, int set, int l, int which) {
    return d->nn * ((d->nl + 1) * LB_SPEC_NSTATS + RB_NRHO) + (set * (d->nl + 1) + l) * RB_NGROW + which;
}
static int nquant(const rb_data *d) { return rb_q_grow(d, RB_NSET, 0, 0); }

/* Least-squares slope of log y against log n over the lengths in use (NaN under 2). */
static double slope(const rb_data *d, const double *q, const int *use, int l, int stat) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, k = 0;
    for (int ni = 0; ni < d->nn; ni++) {
        double y = q[rb_q_mean(d, ni, l, stat)];
        if (!use[ni] || !(y > 0)) continue;
        double x = log((double)d->len[ni].n);
        sx += x, sy += log(y), sxx += x * x, sxy += x * log(y), k++;
    }
    double den = k * sxx - sx * sx;
    return k >= 2 && den > 0 ? (k * sxy - sx * sy) / den : NAN;
}

/* Every quantity from the means of one (re)sample: q's mean block must be filled. */
static void derived(const rb_data *d, double *q, int trained_n) {
    static const int rs[RB_NRHO] = {LB_SPEC_AT_SIGMA, LB_SPEC_IDX90_SIGMA, LB_SPEC_EFF_RANK};
    static const double sign[RB_NRHO] = {1, -1, -1}; /* "more skewed" = higher σ at n/4, lower idx90, rank */
    double lay[256], val[256];
    int use[RB_NSET][64];
    for (int ni = 0; ni < d->nn; ni++) {
        use[RB_SET_TRAINED][ni] = d->len[ni].n <= trained_n, use[RB_SET_ALL][ni] = 1;
        for (int m = 0; m < RB_NRHO; m++) {
            for (int l = 0; l < d->nl; l++) lay[l] = d->layers[l], val[l] = sign[m] * q[rb_q_mean(d, ni, l, rs[m])];
            q[rb_q_rho(d, ni, m)] = lb_spearman(lay, val, d->nl);
        }
    }
    for (int set = 0; set < RB_NSET; set++)
        for (int l = 0; l <= d->nl; l++) {
            q[rb_q_grow(d, set, l, RB_GROW_SIGMA)] = slope(d, q, use[set], l, LB_SPEC_IDX90_SIGMA);
            q[rb_q_grow(d, set, l, RB_GROW_ENERGY)] = slope(d, q, use[set], l, LB_SPEC_IDX90_ENERGY);
        }
}

/* Means per layer and pooled over the windows idx (W of them; NULL = all). */
static void means(const rb_data *d, double *q, int ni, const size_t *idx) {
    const rb_len *L = &d->len[ni];
    for (int l = 0; l <= d->nl; l++)
        for (int s = 0; s < LB_SPEC_NSTATS; s++) q[rb_q_mean(d, ni, l, s)] = 0;
    for (int w = 0; w < L->W; w++) {
        const double *x = L->x + (idx ? idx[w] : (size_t)w) * d->nl * LB_SPEC_NSTATS;
        for (int l = 0; l < d->nl; l++)
            for (int s = 0; s < LB_SPEC_NSTATS; s++) {
                double v = x[l * LB_SPEC_NSTATS + s] / L->W;
                q[rb_q_mean(d, ni, l, s)] += v;
                q[rb_q_mean(d, ni, d->nl, s)] += v / d->nl;
            }
    }
}

void rb_result_free(rb_result *res) {
    free(res->est), free(res->lo), free(res->hi);
    memset(res, 0, sizeof *res);
}

int rb_bootstrap(rb_result *res, const rb_data *d, int B, uint64_t seed, double level, int trained_n) {
    int nq = nquant(d), maxw = 1;
    for (int ni = 0; ni < d->nn; ni++) maxw = d->len[ni].W > maxw ? d->len[ni].W : maxw;
    memset(res, 0, sizeof *res);
    res->nq = nq, res->B = B;
    res->est = malloc(sizeof(double) * nq), res->lo = malloc(sizeof(double) * nq);
    res->hi = malloc(sizeof(double) * nq);
    double *reps = malloc(sizeof(double) * (size_t)nq * B), *q = malloc(sizeof(double) * nq);
    size_t *idx = malloc(sizeof(size_t) * maxw);
    int rc = EX_OSERR;
    if (res->est && res->lo && res->hi && reps && q && idx) {
        for (int ni = 0; ni < d->nn; ni++) means(d, res->est, ni, NULL);
        derived(d, res->est, trained_n);
        lb_rng rng;
        lb_rng_seed(&rng, seed);
        for (int b = 0; b < B; b++) {
            for (int ni = 0; ni < d->nn; ni++) {
                lb_boot_draw(idx, (size_t)d->len[ni].W, &rng);
                means(d, q, ni, idx);
            }
            derived(d, q, trained_n);
            for (int i = 0; i < nq; i++) reps[(size_t)i * B + b] = q[i];
        }
        rc = 0;
        for (int i = 0; i < nq && !rc; i++)
            if (lb_boot_interval(&res->lo[i], &res->hi[i], reps + (size_t)i * B, (size_t)B, level))
                rc = EX_OSERR;
    }
    free(reps), free(q), free(idx);
    if (rc) rb_result_free(res);
    return rc;
}
