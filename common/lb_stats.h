/* lb_stats: the small statistics the benchmark and `linbench compare` need: median,
 * quartiles (numpy's default linear interpolation, so numpy is a direct oracle) and
 * the two-sided Mann–Whitney U test on raw timing samples (no normality assumed). */
#ifndef LB_STATS_H
#define LB_STATS_H

#include <stddef.h>

/* Quantile q in [0,1] of x (len >= 1) with linear interpolation between order
 * statistics (numpy.percentile's default, Hyndman–Fan type 7). x is not modified.
 * Returns NaN when len == 0 or on allocation failure. */
double lb_quantile(const double *x, size_t len, double q);
double lb_median(const double *x, size_t len);
/* First and third quartiles of x (len) in one sort; *iqr = q3 - q1. Any out pointer
 * may be NULL. Returns 0, or -1 when len == 0 or allocation fails. */
int lb_quartiles(const double *x, size_t len, double *q1, double *med, double *q3, double *iqr);

typedef enum {
    LB_MWU_AUTO = 0,  /* exact when there are no ties and n1 + n2 <= LB_MWU_EXACT_MAX */
    LB_MWU_EXACT = 1, /* exact null distribution (ties are ignored, as scipy does) */
    LB_MWU_ASYMP = 2  /* normal approximation, tie and continuity corrections */
} lb_mwu_method;

#define LB_MWU_EXACT_MAX 50

typedef struct {
    double u1;       /* U of the first sample: #(x_i > y_j) + 0.5 #(x_i == y_j) */
    double p;        /* two-sided p-value, in [0, 1] */
    int exact;       /* 1 if the exact distribution was used */
    int ties;        /* 1 if the pooled sample had ties */
} lb_mwu_result;

/* Two-sided Mann–Whitney U test of x (n1) against y (n2), both >= 1 and finite.
 * The p-value conventions follow scipy.stats.mannwhitneyu(alternative="two-sided",
 * use_continuity=True): p = 2·P(U >= max(U1, U2)), clipped to 1.
 * Exact mode needs n1 + n2 <= 1000 (the distribution is computed as the
 * coefficients of a Gaussian binomial, O(n1·n1·n2) time and O(n1·n2) memory).
 * Returns 0, or -1 (bad sizes, NaN/Inf input, out of memory). */
int lb_mannwhitney(lb_mwu_result *res, const double *x, size_t n1, const double *y, size_t n2,
                   lb_mwu_method method);

#endif
