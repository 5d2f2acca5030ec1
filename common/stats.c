/* Median, quartiles and the Mann–Whitney U test (see lb_stats.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_stats.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type-7 quantile of an already sorted array. */
static double sorted_quantile(const double *s, size_t len, double q) {
    double h = (double)(len - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo >= len - 1) return s[len - 1];
    double frac = h - (double)lo;
    return s[lo] + frac * (s[lo + 1] - s[lo]);
}

double lb_quantile(const double *x, size_t len, double q) {
    if (len == 0 || !(q >= 0 && q <= 1)) return NAN;
    double *s = malloc(len * sizeof *s);
    if (!s) return NAN;
    memcpy(s, x, len * sizeof *s);
    qsort(s, len, sizeof *s, cmp_double);
    double r = sorted_quantile(s, len, q);
    free(s);
    return r;
}

double lb_median(const double *x, size_t len) { return lb_quantile(x, len, 0.5); }

int lb_quartiles(const double *x, size_t len, double *q1, double *med, double *q3, double *iqr) {
    if (len == 0) return -1;
    double *s = malloc(len * sizeof *s);
    if (!s) return -1;
    memcpy(s, x, len * sizeof *s);
    qsort(s, len, sizeof *s, cmp_double);
    double a = sorted_quantile(s, len, 0.25), m = sorted_quantile(s, len, 0.5),
           b = sorted_quantile(s, len, 0.75);
    free(s);
    if (q1) *q1 = a;
    if (med) *med = m;
    if (q3) *q3 = b;
    if (iqr) *iqr = b - a;
    return 0;
}

typedef struct {
    double v;
    int from_x;
} tagged;

static int cmp_tagged(const void *a, const void *b) {
    double x = ((const tagged *)a)->v, y = ((const tagged *)b)->v;
    return (x > y) - (x < y);
}

/* Sorts t (len) by value and returns the sum of the 1-based ranks of the flagged items,
 * ties given their average rank; *tie_term = sum over runs of equal values of t^3 − t. */
static double rank_sum(tagged *t, size_t len, double *tie_term) {
    qsort(t, len, sizeof *t, cmp_tagged);
    double r = 0;
    *tie_term = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j + 1 < len && t[j + 1].v == t[i].v) j++;
        double run = (double)(j - i + 1), avg = 0.5 * (double)(i + j) + 1.0;
        for (size_t q = i; q <= j; q++)
            if (t[q].from_x) r += avg;
        *tie_term += run * run * run - run;
        i = j + 1;
    }
    return r;
}

/* The numbers of orderings with U = 0..kc under the null for sizes m, n without ties
 * (kc + 1 doubles, the caller frees; NULL when out of memory). The number with U = j is
 * the coefficient of q^j in the Gaussian binomial [m+n choose m]_q = prod_{i=1..m}
 * (1 - q^(n+i)) / (1 - q^i); each coefficient depends on lower ones only, so the
 * polynomial is kept truncated at degree kc. Multiplying by (1 - q^a) runs from the top
 * down, dividing by (1 - q^i) is a running sum from the bottom up. */
static double *u_null_counts(long kc, long m, long n) {
    double *c = calloc((size_t)kc + 1, sizeof *c);
    if (!c) return NULL;
    c[0] = 1;
    for (long i = 1; i <= m; i++) {
        long a = n + i;
        for (long j = kc; j >= a; j--) c[j] -= c[j - a];
        for (long j = i; j <= kc; j++) c[j] += c[j - i];
    }
    return c;
}

/* log C(m+n, m), the number of orderings: through lgamma it stays finite for large sizes. */
static double u_log_total(long m, long n) {
    return lgamma((double)(m + n + 1)) - lgamma((double)(m + 1)) - lgamma((double)(n + 1));
}

/* P(U <= kc) under the null for sizes m, n without ties. */
static double exact_cdf(long kc, long m, long n) {
    if (kc < 0) return 0;
    if (kc >= m * n) return 1;
    double *c = u_null_counts(kc, m, n);
    if (!c) return NAN;
    double sum = 0;
    for (long j = 0; j <= kc; j++) sum += c[j];
    free(c);
    return exp(log(sum) - u_log_total(m, n));
}

int lb_mannwhitney(lb_mwu_result *res, const double *x, size_t n1, const double *y, size_t n2,
                   lb_mwu_method method) {
    if (!res || !x || !y || n1 == 0 || n2 == 0 || n1 > 1000000 || n2 > 1000000) return -1;
    size_t N = n1 + n2;
    tagged *t = malloc(N * sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < n1; i++) t[i] = (tagged){x[i], 1};
    for (size_t j = 0; j < n2; j++) t[n1 + j] = (tagged){y[j], 0};
    for (size_t i = 0; i < N; i++)
        if (!isfinite(t[i].v)) {
            free(t);
            return -1;
        }
    double tie_term, r1 = rank_sum(t, N, &tie_term);
    free(t);
    double dn1 = (double)n1, dn2 = (double)n2, dN = (double)N;
    double u1 = r1 - dn1 * (dn1 + 1) / 2, u2 = dn1 * dn2 - u1, umax = u1 > u2 ? u1 : u2;
    int ties = tie_term > 0;
    int exact = method == LB_MWU_EXACT || (method == LB_MWU_AUTO && !ties && N <= LB_MWU_EXACT_MAX);
    double p;
    if (exact) {
        if (N > 1000) return -1;
        long m = (long)(n1 < n2 ? n1 : n2), n = (long)(n1 < n2 ? n2 : n1);
        /* P(U >= k) = P(U <= m·n − k) by symmetry; k truncated like scipy's astype(int) */
        long k = (long)floor(umax);
        p = 2 * exact_cdf(m * n - k, m, n);
        if (isnan(p)) return -1;
    } else {
        double s = sqrt(dn1 * dn2 / 12 * ((dN + 1) - tie_term / (dN * (dN - 1))));
        double num = umax - dn1 * dn2 / 2 - 0.5; /* continuity correction */
        if (!(s > 0)) p = 1; /* every value equal: no evidence either way */
        else p = erfc(num / s / sqrt(2.0)); /* 2 · (1 − Φ(z)) */
    }
    if (p > 1) p = 1;
    if (p < 0) p = 0;
    res->u1 = u1;
    res->p = p;
    res->exact = exact;
    res->ties = ties;
    return 0;
}

/* The z with 0.5·erfc(z/√2) = tail (bisection: monotone in z). */
static double upper_z(double tail) {
    double zl = 0, zh = 40;
    for (int it = 0; it < 200; it++) {
        double z = 0.5 * (zl + zh);
        if (0.5 * erfc(z / sqrt(2.0)) > tail) zl = z;
        else zh = z;
    }
    return zh;
}

/* The interval order c of a statistic whose null is close to normal (mean, sd). */
static long normal_order(double mean, double sd, double tail) {
    double c = floor(mean - upper_z(tail) * sd);
    return c < 0 ? 0 : (long)c;
}

/* The largest order c with P(U <= c − 1) <= tail for sizes m <= n (0 when even c = 1 is
 * too likely, or out of memory: no finite interval). The exact null is counted once and
 * its cumulative sum scanned: the first c with P(U <= c) > tail. */
static long hl_order(long m, long n, double tail) {
    if (m + n > LB_MWU_EXACT_MAX) {
        double mn = (double)m * (double)n;
        return normal_order(mn / 2, sqrt(mn * (double)(m + n + 1) / 12), tail);
    }
    double *cnt = u_null_counts(m * n, m, n), lt = u_log_total(m, n), sum = 0;
    if (!cnt) return 0;
    long c = 0;
    for (; c < m * n; c++) {
        sum += cnt[c];
        if (exp(log(sum) - lt) > tail) break;
    }
    free(cnt);
    return c;
}

int lb_hl_ratio(double *est, double *lo, double *hi, const double *x, size_t n1, const double *y, size_t n2,
                double level) {
    if (!x || !y || n1 == 0 || n2 == 0 || !(level > 0 && level < 1) || (double)n1 * (double)n2 > 1e7) return -1;
    for (size_t i = 0; i < n1; i++)
        if (!(x[i] > 0) || !isfinite(x[i])) return -1;
    for (size_t j = 0; j < n2; j++)
        if (!(y[j] > 0) || !isfinite(y[j])) return -1;
    size_t np = n1 * n2;
    double *r = malloc(np * sizeof *r);
    if (!r) return -1;
    for (size_t i = 0; i < n1; i++)
        for (size_t j = 0; j < n2; j++) r[i * n2 + j] = y[j] / x[i];
    qsort(r, np, sizeof *r, cmp_double);
    *est = sorted_quantile(r, np, 0.5);
    long m = (long)(n1 < n2 ? n1 : n2), n = (long)(n1 < n2 ? n2 : n1);
    long c = hl_order(m, n, (1 - level) / 2);
    if (c < 1) *lo = 0, *hi = INFINITY;
    else *lo = r[c - 1], *hi = r[np - (size_t)c]; /* 1-based R_(c) and R_(np+1−c) */
    free(r);
    return 0;
}

/* The numbers of subsets of the ranks 1..m with each sum 0..m(m+1)/2: the signed-rank
 * statistic's null counts without ties or zeros (the caller frees; NULL when out of
 * memory). Kept as doubles: exact below 2^53, so for m <= 52. */
static double *wsr_null_counts(long m) {
    long top = m * (m + 1) / 2;
    double *c = calloc((size_t)top + 1, sizeof *c);
    if (!c) return NULL;
    c[0] = 1;
    for (long r = 1; r <= m; r++)
        for (long s = top; s >= r; s--) c[s] += c[s - r];
    return c;
}

/* P(W <= t) for m differences without ties or zeros. */
static double wsr_exact_cdf(long t, long m) {
    if (t < 0) return 0;
    if (t >= m * (m + 1) / 2) return 1;
    double *c = wsr_null_counts(m);
    if (!c) return NAN;
    double sum = 0;
    for (long s = 0; s <= t; s++) sum += c[s];
    free(c);
    return sum / ldexp(1.0, (int)m);
}

/* The largest order c with P(W <= c − 1) <= tail for n differences (0 when even c = 1 is
 * too likely, or out of memory), as hl_order for U. */
static long wsr_order(long n, double tail) {
    long top = n * (n + 1) / 2;
    if (n > LB_MWU_EXACT_MAX) {
        double dn = (double)n;
        return normal_order(dn * (dn + 1) / 4, sqrt(dn * (dn + 1) * (2 * dn + 1) / 24), tail);
    }
    double *cnt = wsr_null_counts(n), total = ldexp(1.0, (int)n), sum = 0;
    if (!cnt) return 0;
    long c = 0;
    for (; c < top; c++) {
        sum += cnt[c];
        if (sum / total > tail) break;
    }
    free(cnt);
    return c;
}

int lb_signed_rank(lb_wsr_result *res, const double *d, size_t n, lb_mwu_method method) {
    if (!res || !d || n == 0 || n > 1000000) return -1;
    tagged *t = malloc(n * sizeof *t);
    if (!t) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(d[i])) {
            free(t);
            return -1;
        }
        if (d[i] != 0) t[m++] = (tagged){fabs(d[i]), d[i] > 0};
    }
    memset(res, 0, sizeof *res);
    res->m = (int)m;
    if (m == 0) { /* no evidence either way */
        free(t);
        res->p = 1;
        return 0;
    }
    double tie_term, wp = rank_sum(t, m, &tie_term);
    free(t);
    double dm = (double)m, total = dm * (dm + 1) / 2, T = wp < total - wp ? wp : total - wp;
    int ties = tie_term > 0;
    int exact = method == LB_MWU_EXACT || (method == LB_MWU_AUTO && !ties && m <= LB_MWU_EXACT_MAX);
    double p;
    if (exact) {
        if (m > 52) return -1; /* the subset counts would leave double's exact integers */
        p = 2 * wsr_exact_cdf((long)floor(T), (long)m);
        if (isnan(p)) return -1;
    } else {
        double mean = total / 2, var = dm * (dm + 1) * (2 * dm + 1) / 24 - tie_term / 48;
        p = var > 0 ? erfc((mean - T) / sqrt(var) / sqrt(2.0)) : 1; /* 2·Φ((T − mean)/sd) */
    }
    res->w_plus = wp;
    res->p = p > 1 ? 1 : p < 0 ? 0 : p;
    res->exact = exact;
    res->ties = ties;
    return 0;
}

int lb_hl_paired(double *est, double *lo, double *hi, const double *d, size_t n, double level) {
    if (!d || n == 0 || !(level > 0 && level < 1) || (double)n * (double)(n + 1) / 2 > 1e7) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(d[i])) return -1;
    size_t na = n * (n + 1) / 2, k = 0;
    double *a = malloc(na * sizeof *a);
    if (!a) return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) a[k++] = 0.5 * (d[i] + d[j]);
    qsort(a, na, sizeof *a, cmp_double);
    *est = sorted_quantile(a, na, 0.5);
    long c = wsr_order((long)n, (1 - level) / 2);
    if (c < 1) *lo = -INFINITY, *hi = INFINITY;
    else *lo = a[c - 1], *hi = a[na - (size_t)c];
    free(a);
    return 0;
}

void lb_boot_draw(size_t *idx, size_t len, lb_rng *rng) {
    /* len is far below 2^32 here: the modulo bias of a 64-bit draw is < 2^-32 */
    for (size_t i = 0; i < len; i++) idx[i] = (size_t)(lb_rng_u64(rng) % len);
}

int lb_boot_interval(double *lo, double *hi, const double *reps, size_t B, double level) {
    if (B == 0 || !(level > 0 && level < 1)) return -1;
    double *s = malloc(B * sizeof *s);
    if (!s) return -1;
    size_t k = 0;
    for (size_t i = 0; i < B; i++)
        if (!isnan(reps[i])) s[k++] = reps[i];
    if (k == 0) {
        *lo = *hi = NAN;
    } else {
        qsort(s, k, sizeof *s, cmp_double);
        *lo = sorted_quantile(s, k, (1 - level) / 2);
        *hi = sorted_quantile(s, k, (1 + level) / 2);
    }
    free(s);
    return 0;
}

int lb_boot_mean(double *lo, double *hi, const double *x, size_t len, size_t B, double level,
                 uint64_t seed) {
    if (len == 0) return -1;
    double *reps = malloc(B * sizeof *reps);
    size_t *idx = malloc(len * sizeof *idx);
    int rc = -1;
    if (reps && idx) {
        lb_rng rng;
        lb_rng_seed(&rng, seed);
        for (size_t b = 0; b < B; b++) {
            lb_boot_draw(idx, len, &rng);
            double s = 0;
            for (size_t i = 0; i < len; i++) s += x[idx[i]];
            reps[b] = s / (double)len;
        }
        rc = lb_boot_interval(lo, hi, reps, B, level);
    }
    free(reps), free(idx);
    return rc;
}
