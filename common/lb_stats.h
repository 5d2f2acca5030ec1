/* lb_stats: the small statistics the benchmark and `linbench compare` need: median,
 * quartiles (numpy's default linear interpolation, so numpy is a direct oracle) and
 * the two-sided Mann–Whitney U test on raw timing samples, and the percentile
 * bootstrap the report's intervals come from. */
#ifndef LB_STATS_H
#define LB_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "lb_util.h"

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

/* Hodges–Lehmann ratio of y over x and its distribution-free interval (Moses; Hollander,
 * Wolfe & Chicken, Nonparametric Statistical Methods, 3rd ed., §4.3), for positive
 * samples such as timings: *est is the median of the n1·n2 ratios y_j / x_i, and the
 * level interval is [R_(c), R_(n1·n2+1−c)] of the sorted ratios, c the largest order with
 * P(U <= c − 1) <= (1 − level)/2 under the U test's null (exact distribution when
 * n1 + n2 <= LB_MWU_EXACT_MAX, normal approximation above). Under a pure scale change
 * y ~ r·x the interval covers r with probability >= level (exactly at most 1 − 2P(U <= c − 1)
 * from below by discreteness). Too few samples for any finite interval (c = 0) give
 * lo = 0, hi = +inf. Returns 0, or -1 (empty or non-positive or non-finite input, more
 * than 1e7 pairs, level outside (0, 1), out of memory). */
int lb_hl_ratio(double *est, double *lo, double *hi, const double *x, size_t n1, const double *y, size_t n2,
                double level);

/* Wilcoxon signed-rank test of paired differences d (n >= 1, finite), two-sided, as
 * scipy.stats.wilcoxon(d, zero_method="wilcox", correction=False): zeros are dropped,
 * ranks of |d| averaged over ties, T = min(W+, W−), p = 2·P(W <= T) clipped to 1; the
 * exact null distribution (subsets of ranks 1..m) when there are no ties and
 * m <= LB_MWU_EXACT_MAX (LB_MWU_AUTO), else the normal approximation with the tie
 * correction. m = 0 (every difference 0) gives p = 1. Returns 0, or -1 (bad input, exact
 * asked above 1000 pairs, out of memory). */
typedef struct {
    double w_plus; /* sum of the ranks of the positive differences */
    double p;
    int m;         /* differences that are not zero */
    int exact, ties;
} lb_wsr_result;
int lb_signed_rank(lb_wsr_result *res, const double *d, size_t n, lb_mwu_method method);

/* Hodges–Lehmann location of paired differences d (n >= 1, finite) and its
 * distribution-free interval (Hollander, Wolfe & Chicken §3.2): *est is the median of the
 * n(n+1)/2 Walsh averages (d_i + d_j)/2, i <= j, and the level interval is
 * [A_(c), A_(M+1−c)] of the sorted averages, c the largest order with P(W <= c − 1) <=
 * (1 − level)/2 under the signed-rank null (exact when n <= LB_MWU_EXACT_MAX, normal
 * approximation above). c = 0 gives [−inf, +inf]. Returns 0, or -1 (bad input, more than
 * 1e7 averages, level outside (0, 1), out of memory). */
int lb_hl_paired(double *est, double *lo, double *hi, const double *d, size_t n, double level);

/* ---- percentile bootstrap (Efron & Tibshirani 1993, ch. 13) ----
 * A resample draws len items uniformly with replacement; a statistic computed on
 * each of B resamples gives B replicates, and the level interval is their type-7
 * quantiles at (1 − level)/2 and (1 + level)/2 (numpy.percentile on the replicates,
 * scipy.stats.bootstrap(method="percentile")). Seeded through lb_rng: the same seed
 * gives the same interval. */

/* idx is (len): indices in [0, len) drawn with replacement. */
void lb_boot_draw(size_t *idx, size_t len, lb_rng *rng);
/* Percentile interval of reps (B >= 1, NaN replicates skipped; all NaN gives NaN).
 * Returns 0, or -1 (B = 0, level outside (0, 1), out of memory). */
int lb_boot_interval(double *lo, double *hi, const double *reps, size_t B, double level);
/* The interval of the mean of x (len >= 1) from B resamples with the given seed.
 * Returns 0 or -1 (as above). */
int lb_boot_mean(double *lo, double *hi, const double *x, size_t len, size_t B, double level,
                 uint64_t seed);

#endif
