/* Streaming statistics of spectra: normalised cumulative curves, where they reach
 * 0.9 and 0.99, entropy-based effective rank, row entropy of P, and Welford running
 * means so that any number of sequences can pass through in constant memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_spectrum.h"
#include "lb_util.h"

void lb_welford_add(lb_welford *w, double x) {
    w->n += 1;
    double d = x - w->mean;
    w->mean += d / w->n;
    w->m2 += d * (x - w->mean);
}

void lb_welford_merge(lb_welford *a, const lb_welford *b) {
    if (b->n <= 0) return;
    if (a->n <= 0) {
        *a = *b;
        return;
    }
    double n = a->n + b->n, d = b->mean - a->mean;
    a->mean += d * b->n / n;
    a->m2 += b->m2 + d * d * a->n * b->n / n;
    a->n = n;
}

double lb_welford_std(const lb_welford *w) {
    if (w->n < 2) return 0;
    double v = w->m2 / (w->n - 1);
    return v > 0 ? sqrt(v) : 0;
}

void lb_spec_curves(double *c, double *e, int len, const float *sigma, int r) {
    double s1 = 0, s2 = 0;
    for (int i = 0; i < r; i++) {
        s1 += sigma[i];
        s2 += (double)sigma[i] * sigma[i];
    }
    double a1 = 0, a2 = 0;
    for (int i = 0; i < len; i++) {
        if (i < r) {
            a1 += sigma[i];
            a2 += (double)sigma[i] * sigma[i];
        }
        /* Past r nothing is left out: exactly 1, not a rounded sum that may end 1e-16
         * short of it. A zero matrix has nothing to capture either. */
        c[i] = (i >= r - 1 || s1 <= 0) ? 1.0 : a1 / s1;
        e[i] = (i >= r - 1 || s2 <= 0) ? 1.0 : a2 / s2;
        if (c[i] > 1) c[i] = 1;
        if (e[i] > 1) e[i] = 1;
    }
}

int lb_spec_first_reach(const double *curve, int len, double level) {
    for (int i = 0; i < len; i++)
        if (curve[i] >= level) return i + 1;
    return len;
}

double lb_spec_eff_rank(const float *sigma, int r) {
    double s = 0;
    for (int i = 0; i < r; i++) s += sigma[i];
    if (!(s > 0)) return 0;
    double h = 0;
    for (int i = 0; i < r; i++) {
        double p = sigma[i] / s;
        if (p > 0) h -= p * log(p);
    }
    return exp(h);
}

double lb_spec_row_entropy(const float *P, int rows, int cols, int ld) {
    if (rows < 1) return 0;
    if (cols <= 1) return 1;
    double total = 0;
    for (int i = 0; i < rows; i++) {
        const float *row = P + (size_t)i * ld;
        double h = 0;
        for (int j = 0; j < cols; j++)
            if (row[j] > 0) h -= (double)row[j] * log((double)row[j]);
        total += h;
    }
    return total / rows / log((double)cols);
}

const char *lb_spec_stat_name(int stat) {
    static const char *names[LB_SPEC_NSTATS] = {
        "at_index_sigma", "at_index_energy", "idx90_sigma", "idx99_sigma",
        "idx90_energy",   "idx99_energy",    "eff_rank",    "row_entropy_ratio"};
    return stat >= 0 && stat < LB_SPEC_NSTATS ? names[stat] : "?";
}

void lb_spec_matrix_stats(double *stats, double *c, double *e, int len, int index,
                          const float *sigma, int r, double row_entropy) {
    lb_spec_curves(c, e, len, sigma, r);
    int at = index < 1 ? 1 : index > len ? len : index;
    stats[LB_SPEC_AT_SIGMA] = c[at - 1];
    stats[LB_SPEC_AT_ENERGY] = e[at - 1];
    stats[LB_SPEC_IDX90_SIGMA] = lb_spec_first_reach(c, len, 0.9);
    stats[LB_SPEC_IDX99_SIGMA] = lb_spec_first_reach(c, len, 0.99);
    stats[LB_SPEC_IDX90_ENERGY] = lb_spec_first_reach(e, len, 0.9);
    stats[LB_SPEC_IDX99_ENERGY] = lb_spec_first_reach(e, len, 0.99);
    stats[LB_SPEC_EFF_RANK] = lb_spec_eff_rank(sigma, r);
    stats[LB_SPEC_ROW_ENTROPY] = row_entropy;
}

int lb_spec_acc_init(lb_spec_acc *a, int len, int index) {
    *a = (lb_spec_acc){0};
    if (len < 1 || index < 1 || index > len) return -1;
    a->len = len;
    a->index = index;
    a->c_mean = calloc((size_t)len, sizeof(double));
    a->c_m2 = calloc((size_t)len, sizeof(double));
    a->e_mean = calloc((size_t)len, sizeof(double));
    a->e_m2 = calloc((size_t)len, sizeof(double));
    if (!a->c_mean || !a->c_m2 || !a->e_mean || !a->e_m2) {
        lb_spec_acc_free(a);
        return -1;
    }
    return 0;
}

void lb_spec_acc_free(lb_spec_acc *a) {
    free(a->c_mean);
    free(a->c_m2);
    free(a->e_mean);
    free(a->e_m2);
    free(a->win);
    *a = (lb_spec_acc){0};
}

void lb_spec_acc_add(lb_spec_acc *a, double *scratch, const float *sigma, int r,
                     double row_entropy) {
    double *c = scratch, *e = scratch + a->len, stats[LB_SPEC_NSTATS];
    lb_spec_matrix_stats(stats, c, e, a->len, a->index, sigma, r, row_entropy);
    a->count += 1;
    for (int i = 0; i < a->len; i++) {
        double d = c[i] - a->c_mean[i];
        a->c_mean[i] += d / a->count;
        a->c_m2[i] += d * (c[i] - a->c_mean[i]);
        d = e[i] - a->e_mean[i];
        a->e_mean[i] += d / a->count;
        a->e_m2[i] += d * (e[i] - a->e_mean[i]);
    }
    for (int s = 0; s < LB_SPEC_NSTATS; s++) lb_welford_add(&a->stat[s], stats[s]);
    size_t row = (size_t)a->count - 1;
    if (!a->win_lost && row >= a->win_cap) {
        size_t cap = a->win_cap ? 2 * a->win_cap : 64;
        double *w = realloc(a->win, cap * LB_SPEC_NSTATS * sizeof *w);
        if (w) a->win = w, a->win_cap = cap;
        else a->win_lost = 1;
    }
    if (!a->win_lost)
        for (int s = 0; s < LB_SPEC_NSTATS; s++) a->win[row * LB_SPEC_NSTATS + s] = stats[s];
}

int lb_spec_write_windows(FILE *f, const lb_spec_run *runs, int nruns) {
    fputs("n,layer,head,window", f);
    for (int s = 0; s < LB_SPEC_NSTATS; s++) fprintf(f, ",%s", lb_spec_stat_name(s));
    fputc('\n', f);
    for (int ri = 0; ri < nruns; ri++) {
        const lb_spec_run *r = &runs[ri];
        for (int a = 0; a < r->nl * r->nh; a++) {
            const lb_spec_acc *acc = &r->acc[a];
            if (acc->win_lost) return -1;
            for (size_t w = 0; w < (size_t)acc->count; w++) {
                fprintf(f, "%d,%d,%d,%zu", r->n, r->layers[a / r->nh], r->heads[a % r->nh], w);
                for (int s = 0; s < LB_SPEC_NSTATS; s++)
                    fprintf(f, ",%.9g", acc->win[w * LB_SPEC_NSTATS + s]);
                fputc('\n', f);
            }
        }
    }
    return 0;
}

void lb_spec_acc_curve_std(const lb_spec_acc *a, double *sd, int which) {
    const double *m2 = which ? a->e_m2 : a->c_m2;
    for (int i = 0; i < a->len; i++) {
        double v = a->count >= 2 ? m2[i] / (a->count - 1) : 0;
        sd[i] = v > 0 ? sqrt(v) : 0;
    }
}

/* ---- merging accumulators of disjoint window sets (MPI ranks) ----
 *
 * The (len)-long arrays of an accumulator that are a running mean and its sum of
 * squared deviations over `count` matrices. Merge, pack and unpack walk this table
 * only, so an array pair added to lb_spec_acc travels and merges by adding one line
 * here; arrays of another kind (per-window values) need their own rule. */
static int acc_pairs(const lb_spec_acc *a, double *mean[], double *m2[]) {
    int k = 0;
    mean[k] = a->c_mean, m2[k++] = a->c_m2;
    mean[k] = a->e_mean, m2[k++] = a->e_m2;
    return k;
}
#define ACC_MAX_PAIRS 8
/* Header of a packed accumulator: len, index, count, number of pairs. */
#define ACC_HEAD 4

void lb_spec_acc_merge(lb_spec_acc *a, const lb_spec_acc *b) {
    if (b->count <= 0) return;
    double *am[ACC_MAX_PAIRS], *a2[ACC_MAX_PAIRS], *bm[ACC_MAX_PAIRS], *b2[ACC_MAX_PAIRS];
    int np = acc_pairs(a, am, a2);
    acc_pairs(b, bm, b2);
    double na = a->count, nb = b->count, n = na + nb;
    /* Chan, Golub & LeVeque (1979): δ = mean_b − mean_a; mean += δ·nb/n;
     * m2 += m2_b + δ²·na·nb/n. With na = 0 it copies b exactly. */
    for (int p = 0; p < np; p++)
        for (int i = 0; na > 0 && i < a->len; i++) {
            double d = bm[p][i] - am[p][i];
            am[p][i] += d * nb / n;
            a2[p][i] += b2[p][i] + d * d * na * nb / n;
        }
    for (int p = 0; na <= 0 && p < np; p++) { /* nothing here yet: b exactly */
        memcpy(am[p], bm[p], sizeof(double) * (size_t)a->len);
        memcpy(a2[p], b2[p], sizeof(double) * (size_t)a->len);
    }
    a->count = n;
    for (int s = 0; s < LB_SPEC_NSTATS; s++) lb_welford_merge(&a->stat[s], &b->stat[s]);
}

static size_t packed_base(const lb_spec_acc *a) {
    double *m[ACC_MAX_PAIRS], *m2[ACC_MAX_PAIRS];
    int np = acc_pairs(a, m, m2);
    return ACC_HEAD + 3 * LB_SPEC_NSTATS + 2 * (size_t)np * a->len;
}

/* The per-window rows travel after the arrays: count × LB_SPEC_NSTATS values. */
size_t lb_spec_acc_packed_len(const lb_spec_acc *a) {
    return packed_base(a) + (size_t)a->count * LB_SPEC_NSTATS;
}

size_t lb_spec_acc_packed_len_in(const lb_spec_acc *shape, const double *in, size_t avail) {
    if (avail < ACC_HEAD || !(in[2] >= 0) || in[2] > 1e12) return SIZE_MAX;
    return packed_base(shape) + (size_t)in[2] * LB_SPEC_NSTATS;
}

const double *lb_spec_acc_packed_rows(const lb_spec_acc *shape, const double *in) {
    return in + packed_base(shape);
}

/* Room for rows per-window rows; 0, or -1 (win_lost set). */
static int win_reserve(lb_spec_acc *a, size_t rows) {
    if (a->win_lost) return -1;
    if (rows <= a->win_cap) return 0;
    double *w = realloc(a->win, rows * LB_SPEC_NSTATS * sizeof *w);
    if (!w) return a->win_lost = 1, -1;
    a->win = w, a->win_cap = rows;
    return 0;
}

int lb_spec_acc_set_rows(lb_spec_acc *a, const double *rows, size_t count) {
    if (win_reserve(a, count)) return -1;
    if (count) memcpy(a->win, rows, count * LB_SPEC_NSTATS * sizeof *rows);
    return 0;
}

void lb_spec_acc_pack(double *out, const lb_spec_acc *a) {
    double *m[ACC_MAX_PAIRS], *m2[ACC_MAX_PAIRS];
    int np = acc_pairs(a, m, m2);
    *out++ = a->len, *out++ = a->index, *out++ = a->count, *out++ = np;
    for (int s = 0; s < LB_SPEC_NSTATS; s++)
        *out++ = a->stat[s].n, *out++ = a->stat[s].mean, *out++ = a->stat[s].m2;
    for (int p = 0; p < np; p++) {
        memcpy(out, m[p], sizeof(double) * (size_t)a->len), out += a->len;
        memcpy(out, m2[p], sizeof(double) * (size_t)a->len), out += a->len;
    }
    size_t rows = (size_t)a->count * LB_SPEC_NSTATS; /* NaN rows when they were lost */
    for (size_t i = 0; i < rows; i++) *out++ = a->win_lost ? NAN : a->win[i];
}

int lb_spec_acc_unpack(lb_spec_acc *a, const double *in, size_t avail, char *msg,
                       size_t msglen) {
    double *m[ACC_MAX_PAIRS], *m2[ACC_MAX_PAIRS];
    int np = acc_pairs(a, m, m2);
    size_t want = lb_spec_acc_packed_len_in(a, in, avail);
    if (want == SIZE_MAX || avail < want)
        return lb_fail(msg, msglen, "packed accumulator: %zu values, expected %zu", avail, want);
    /* Both sides are the same build; a mismatch means a mixed job, not a rounding. */
    if (in[0] != a->len || in[1] != a->index || in[3] != np || !(in[2] >= 0))
        return lb_fail(msg, msglen, "packed accumulator: len %g, index %g, %g arrays, count "
                       "%g; expected len %d, index %d, %d arrays", in[0], in[1], in[3], in[2],
                       a->len, a->index, np);
    a->count = in[2];
    in += ACC_HEAD;
    for (int s = 0; s < LB_SPEC_NSTATS; s++, in += 3)
        a->stat[s] = (lb_welford){in[0], in[1], in[2]};
    for (int p = 0; p < np; p++) {
        memcpy(m[p], in, sizeof(double) * (size_t)a->len), in += a->len;
        memcpy(m2[p], in, sizeof(double) * (size_t)a->len), in += a->len;
    }
    if (lb_spec_acc_set_rows(a, in, (size_t)a->count))
        return lb_fail(msg, msglen, "out of memory for %g per-window rows", a->count);
    return 0;
}
