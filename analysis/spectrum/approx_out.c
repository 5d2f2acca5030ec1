/* The result files of the approximation analysis (list in lb_spectrum.h), the 95%
 * intervals, and the fit of Theorem 1's needed k against ln n. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approx_int.h"
#include "lb_meta.h"
#include "lb_outset.h"
#include "lb_stats.h"
#include "lb_util.h"

double lb_t975(double df) {
    /* The table for 1..10 degrees of freedom; past it the Cornish–Fisher expansion in
     * 1/df (Abramowitz & Stegun 26.7.5) is within 3e-4 of the table. */
    static const double tab[10] = {12.7062047, 4.30265273, 3.18244631, 2.77644511, 2.57058184,
                                   2.44691185, 2.36462425, 2.30600414, 2.26215716, 2.22813885};
    if (!(df >= 1)) return NAN;
    if (df < 11) return tab[(int)df - 1];
    double z = 1.959963985, z2 = z * z;
    double g1 = (z2 + 1) * z / 4, g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
    double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
    return z + g1 / df + g2 / (df * df) + g3 / (df * df * df);
}

void lb_ci95_mean(const lb_welford *w, double *lo, double *hi) {
    if (w->n < 2) {
        *lo = *hi = NAN;
        return;
    }
    double h = lb_t975(w->n - 1) * lb_welford_std(w) / sqrt(w->n);
    *lo = w->mean - h, *hi = w->mean + h;
}

void lb_ci95_prop(double s, double t, double *lo, double *hi) {
    if (!(t > 0)) {
        *lo = *hi = NAN;
        return;
    }
    double z = 1.959963985, p = s / t, z2t = z * z / t;
    double c = (p + z2t / 2) / (1 + z2t), h = z * sqrt(p * (1 - p) / t + z2t / (4 * t)) / (1 + z2t);
    *lo = c - h < 0 ? 0 : c - h, *hi = c + h > 1 ? 1 : c + h;
}

/* The size of slot j of method m (0 when the method has no entry there). */
static int slot_size(const lb_approx *a, int j, int m) {
    if (j < a->nks) return m == LB_AX_FULL || m == LB_AX_LEARNED ? 0 : a->ks[j];
    return m == LB_AX_FULL ? a->n : m == LB_AX_LEARNED ? a->lin_k : 0;
}

typedef struct {
    lb_welford err;
    double lo, hi, q95;
    lb_welford tim;
    double tmed; /* median of the timed runs (NaN when none) */
} slot_stats;

/* Statistics of the samples of (head pairs from i0 to i1, slot j, method m, norm);
 * buf holds at least (i1 − i0)·max(cap, tcap) doubles. */
static void stats_of(slot_stats *st, const lb_approx *a, int i0, int i1, int j, int m, int norm,
                     double *buf) {
    memset(st, 0, sizeof *st);
    size_t nb = 0, nt = 0;
    for (int i = i0; i < i1; i++) {
        size_t slot = ax_slot(a, i, j, m);
        const double *x = a->samp + (slot * LB_AX_NNORM + norm) * a->cap;
        for (long c = 0; c < a->cnt[slot]; c++) {
            lb_welford_add(&st->err, x[c]);
            buf[nb++] = x[c];
        }
        lb_welford_merge(&st->tim, &a->tim[slot]);
    }
    lb_ci95_mean(&st->err, &st->lo, &st->hi);
    st->q95 = nb ? lb_quantile(buf, nb, 0.95) : NAN;
    for (int i = i0; i < i1; i++) { /* buf is free again: the timed runs */
        size_t slot = ax_slot(a, i, j, m);
        for (long c = 0; c < a->tcnt[slot]; c++) buf[nt++] = a->tsamp[slot * a->tcap + c];
    }
    st->tmed = nt ? lb_median(buf, nt) : NAN;
}

static void approx_rows(FILE *f, FILE *fa, const lb_approx *a, double *buf) {
    for (int i = -1; i < a->nl * a->nh; i++) /* -1: pooled over heads */
        for (int j = 0; j <= a->nks; j++)
            for (int m = 0; m < LB_AX_COUNT; m++) {
                int size = slot_size(a, j, m);
                if (!size) continue;
                for (int norm = 0; norm < LB_AX_NNORM; norm++) {
                    slot_stats st;
                    stats_of(&st, a, i < 0 ? 0 : i, i < 0 ? a->nl * a->nh : i + 1, j, m, norm, buf);
                    if (st.err.n < 1) continue;
                    lb_welford ent = {0}, pred = {0};
                    for (int p = i < 0 ? 0 : i; p < (i < 0 ? a->nl * a->nh : i + 1); p++) {
                        lb_welford_merge(&ent, &a->ent[p]);
                        if (j < a->nks) lb_welford_merge(&pred, &a->pred[(size_t)p * a->nks + j]);
                    }
                    double jlp = m == LB_AX_JL && norm == LB_AX_NORM_PV && pred.n ? pred.mean : NAN;
                    FILE *o = i < 0 ? fa : f;
                    fprintf(o, "%d,%d,%d,%s,%s,%d,%d,%s,%.9g,%.9g,%.9g,%.9g,%.0f,%.9g,%.9g,%.9g,"
                               "%.9g,%.9g",
                            a->n, i < 0 ? -1 : a->layers[i / a->nh], i < 0 ? -1 : a->heads[i % a->nh],
                            lb_ax_name(m), lb_ax_kind(m), lb_ax_is_attention(m), size,
                            lb_ax_norm_name(norm), st.err.mean, st.lo, st.hi, st.q95, st.err.n,
                            st.tim.mean, ent.n ? ent.mean : NAN, jlp, st.tmed,
                            lb_ax_flops(m, a->n, a->d, size));
                    if (i < 0)
                        fprintf(o, ",%.9g,%.9g,%.9g", lb_ax_k_bound(a->n, 0.1),
                                lb_ax_k_bound(a->n, 0.2), lb_ax_eps_bound(a->n, size));
                    fputc('\n', o);
                }
            }
}

static void theorem_rows(FILE *f, const lb_approx *a) {
    for (int i = -1; i < a->nl * a->nh; i++)
        for (int j = 0; j < a->nks; j++)
            for (int e = 0; e < LB_AX_NEPS; e++) {
                double s = 0, t = 0, lo, hi;
                for (int p = i < 0 ? 0 : i; p < (i < 0 ? a->nl * a->nh : i + 1); p++) {
                    s += a->succ[((size_t)p * a->nks + j) * LB_AX_NEPS + e];
                    t += a->trials[(size_t)p * a->nks + j];
                }
                if (!(t > 0)) continue;
                lb_ci95_prop(s, t, &lo, &hi);
                fprintf(f, "%d,%d,%d,%d,%g,%.0f,%.0f,%.9g,%.9g,%.9g\n", a->n,
                        i < 0 ? -1 : a->layers[i / a->nh], i < 0 ? -1 : a->heads[i % a->nh],
                        a->ks[j], lb_ax_eps[e], s, t, s / t, lo, hi);
            }
}

/* k needed for eps, per head: the JL error follows c/√k (its expectation is exactly
 * sqrt((r²+1)/k)), so c is the least-squares fit over the k grid and k = (c/eps)². */
static void k_needed(const lb_approx *a, int norm, double eps, double *mean, double *mx) {
    lb_welford w = {0};
    *mx = NAN;
    for (int i = 0; i < a->nl * a->nh; i++) {
        double num = 0, den = 0;
        for (int j = 0; j < a->nks; j++) {
            size_t slot = ax_slot(a, i, j, LB_AX_JL);
            const double *x = a->samp + (slot * LB_AX_NNORM + norm) * a->cap;
            double s = 0;
            for (long c = 0; c < a->cnt[slot]; c++) s += x[c];
            if (a->cnt[slot] < 1) continue;
            num += s / a->cnt[slot] / sqrt((double)a->ks[j]);
            den += 1.0 / a->ks[j];
        }
        if (!(den > 0)) continue;
        double c = num / den, k = c * c / (eps * eps);
        lb_welford_add(&w, k);
        if (!(k <= *mx)) *mx = k;
    }
    *mean = w.n ? w.mean : NAN;
}

/* Least squares y = fa + fb x over the finite pairs; NaN with fewer than 2 distinct x. */
static void line_fit(const double *x, const double *y, int n, double *fa, double *fb) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int c = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(y[i])) sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i], c++;
    double den = c * sxx - sx * sx;
    *fa = *fb = NAN;
    if (c < 2 || !(fabs(den) > 1e-12 * (sxx + 1))) return;
    *fb = (c * sxy - sx * sy) / den;
    *fa = (sy - *fb * sx) / c;
}

static void kfit_rows(FILE *f, lb_approx *const *runs, int nruns) {
    for (int e = 0; e < LB_AX_NEPS; e++)
        for (int norm = 0; norm < LB_AX_NNORM; norm++) {
            double x[64], ym[64], yx[64], am, bm, ax, bx;
            int c = 0;
            for (int r = 0; r < nruns && c < 64; r++) {
                if (!runs[r]) continue;
                x[c] = log((double)runs[r]->n);
                k_needed(runs[r], norm, lb_ax_eps[e], &ym[c], &yx[c]);
                c++;
            }
            line_fit(x, ym, c, &am, &bm);
            line_fit(x, yx, c, &ax, &bx);
            for (int i = 0, r = 0; r < nruns; r++) {
                if (!runs[r]) continue;
                fprintf(f, "%g,%s,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", lb_ax_eps[e],
                        lb_ax_norm_name(norm), runs[r]->n, ym[i], yx[i],
                        lb_ax_k_bound(runs[r]->n, lb_ax_eps[e]), am, bm, ax, bx);
                i++;
            }
        }
}

static int learned_rows(FILE *f, const lb_approx *a, char *msg, size_t msglen) {
    if (!a->E) return 0;
    lb_svd_ws *ws = NULL;
    int k = a->lin_k, n = a->n, r = k < n ? k : n;
    float *sig = malloc(sizeof(float) * (size_t)r);
    if (!sig || lb_svd_ws_init(&ws, k, n, 0, msg, msglen)) {
        free(sig);
        return sig ? -1 : lb_fail(msg, msglen, "out of memory");
    }
    int rc = 0;
    for (int i = 0; i < a->nl * a->nh && !rc; i++)
        for (int e = 0; e < 2 && !rc; e++) {
            rc = lb_svd_values(ws, sig, (e ? a->F : a->E)[i], k, n, a->lin_n, msg, msglen);
            for (int s = 0; !rc && s < r; s++)
                fprintf(f, "%d,%d,%d,%c,%d,%.9g\n", n, a->layers[i / a->nh], a->heads[i % a->nh],
                        e ? 'F' : 'E', s + 1, sig[s]);
        }
    lb_svd_ws_free(ws);
    free(sig);
    return rc;
}

enum { O_APPROX, O_ALL, O_THM, O_KFIT, O_SV, O_COUNT };
static const char *const O_SUFFIX[O_COUNT] = {"_approx.csv", "_approx_all.csv", "_theorem.csv",
                                              "_kfit.csv", "_learned_sv.csv"};
static const char *const O_HEADER[O_COUNT] = {
    "n,layer,head,method,kind,attention,size,norm,err_mean,err_lo,err_hi,err_q95,count,time_s,"
    "row_entropy,jl_pred,time_median_s,flops",
    "n,layer,head,method,kind,attention,size,norm,err_mean,err_lo,err_hi,err_q95,count,time_s,"
    "row_entropy,jl_pred,time_median_s,flops,k_bound_01,k_bound_02,eps_bound",
    "n,layer,head,k,eps,success,trials,p,p_lo,p_hi",
    "eps,norm,n,k_needed_mean,k_needed_max,k_bound,fit_a,fit_b,fit_a_max,fit_b_max",
    "n,layer,head,matrix,index,sigma"};

static int write_all(FILE **f, lb_approx *const *runs, int nruns, char *msg, size_t msglen) {
    size_t most = 1;
    for (int r = 0; r < nruns; r++) {
        if (!runs[r]) continue;
        size_t c = runs[r]->cap > runs[r]->tcap ? runs[r]->cap : runs[r]->tcap;
        if ((size_t)runs[r]->nl * runs[r]->nh * c > most) most = (size_t)runs[r]->nl * runs[r]->nh * c;
    }
    double *buf = malloc(sizeof(double) * most);
    if (!buf) return lb_fail(msg, msglen, "out of memory");
    for (int r = 0; r < nruns; r++) {
        if (!runs[r]) continue;
        approx_rows(f[O_APPROX], f[O_ALL], runs[r], buf);
        theorem_rows(f[O_THM], runs[r]);
        if (learned_rows(f[O_SV], runs[r], msg, msglen)) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    kfit_rows(f[O_KFIT], runs, nruns);
    return 0;
}

int lb_approx_write(lb_outset *set, lb_approx *const *runs, int nruns, const char *prefix, int argc,
                    char **argv, char *msg, size_t msglen) {
    FILE *f[O_COUNT];
    char path[4200], sub[1200];
    lb_meta m;
    lb_meta_collect(&m);
    for (int i = 0; i < O_COUNT; i++) { /* members of the run's output set: whole or nothing */
        snprintf(path, sizeof path, "%s%s", prefix, O_SUFFIX[i]);
        if (!(f[i] = lb_outset_add(set, path, sub, sizeof sub))) return lb_fail(msg, msglen, "%s", sub);
        lb_meta_write_comments(f[i], &m, argc, argv);
        fprintf(f[i], "%s\n", O_HEADER[i]);
    }
    return write_all(f, runs, nruns, msg, msglen); /* write errors: reported by the commit */
}
