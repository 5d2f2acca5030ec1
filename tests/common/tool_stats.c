/* tool_stats: drives lb_stats for tests/common/test_stats.py. Reads one job per line on
 * stdin and prints one answer line per job, full precision:
 *   "mwu METHOD n1 n2 x1..xn1 y1..yn2"  ->  "u1 p exact ties"   (METHOD auto|exact|asymp)
 *   "quart n x1..xn"                    ->  "q1 median q3 iqr"
 *   "boot B seed level n x1..xn"        ->  "lo hi" (percentile bootstrap of the mean)
 *   "hl level n1 n2 x1..xn1 y1..yn2"    ->  "est lo hi" (Hodges–Lehmann ratio y/x)
 *   "wsr METHOD n d1..dn"               ->  "w_plus p m exact ties" (signed-rank test)
 *   "hlp level n d1..dn"                ->  "est lo hi" (Hodges–Lehmann of paired differences)
 * A malformed job prints "error" (the test then fails on it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_stats.h"

static int read_vals(double *v, int cnt) {
    for (int i = 0; i < cnt; i++)
        if (scanf("%lf", &v[i]) != 1) return -1;
    return 0;
}

int main(void) {
    char kind[16], meth[16];
    while (scanf("%15s", kind) == 1) {
        if (!strcmp(kind, "mwu")) {
            int n1, n2;
            if (scanf("%15s %d %d", meth, &n1, &n2) != 3 || n1 < 1 || n2 < 1 || n1 > 100000 ||
                n2 > 100000)
                return 1;
            double *x = malloc(sizeof(double) * (size_t)(n1 + n2));
            if (!x || read_vals(x, n1 + n2)) return 1;
            lb_mwu_method m = !strcmp(meth, "exact")   ? LB_MWU_EXACT
                              : !strcmp(meth, "asymp") ? LB_MWU_ASYMP
                                                       : LB_MWU_AUTO;
            lb_mwu_result r;
            if (lb_mannwhitney(&r, x, (size_t)n1, x + n1, (size_t)n2, m)) printf("error\n");
            else printf("%.17g %.17g %d %d\n", r.u1, r.p, r.exact, r.ties);
            free(x);
        } else if (!strcmp(kind, "quart")) {
            int n;
            if (scanf("%d", &n) != 1 || n < 1 || n > 1000000) return 1;
            double *x = malloc(sizeof(double) * (size_t)n), a, m, b, iqr;
            if (!x || read_vals(x, n)) return 1;
            if (lb_quartiles(x, (size_t)n, &a, &m, &b, &iqr)) printf("error\n");
            else printf("%.17g %.17g %.17g %.17g\n", a, m, b, iqr);
            free(x);
        } else if (!strcmp(kind, "boot")) {
            int n, B;
            unsigned long long seed;
            double level, lo, hi;
            if (scanf("%d %llu %lf %d", &B, &seed, &level, &n) != 4 || n < 1 || n > 1000000 ||
                B < 1 || B > 1000000)
                return 1;
            double *x = malloc(sizeof(double) * (size_t)n);
            if (!x || read_vals(x, n)) return 1;
            if (lb_boot_mean(&lo, &hi, x, (size_t)n, (size_t)B, level, seed)) printf("error\n");
            else printf("%.17g %.17g\n", lo, hi);
            free(x);
        } else if (!strcmp(kind, "hl")) {
            int n1, n2;
            double level, est, lo, hi;
            if (scanf("%lf %d %d", &level, &n1, &n2) != 3 || n1 < 1 || n2 < 1 || n1 > 100000 || n2 > 100000)
                return 1;
            double *x = malloc(sizeof(double) * (size_t)(n1 + n2));
            if (!x || read_vals(x, n1 + n2)) return 1;
            if (lb_hl_ratio(&est, &lo, &hi, x, (size_t)n1, x + n1, (size_t)n2, level)) printf("error\n");
            else printf("%.17g %.17g %.17g\n", est, lo, hi);
            free(x);
        } else if (!strcmp(kind, "wsr") || !strcmp(kind, "hlp")) {
            int n;
            double level = 0;
            int ok = !strcmp(kind, "wsr") ? scanf("%15s %d", meth, &n) == 2 : scanf("%lf %d", &level, &n) == 2;
            if (!ok || n < 1 || n > 100000) return 1;
            double *x = malloc(sizeof(double) * (size_t)n), est, lo, hi;
            if (!x || read_vals(x, n)) return 1;
            if (!strcmp(kind, "wsr")) {
                lb_mwu_method m = !strcmp(meth, "exact") ? LB_MWU_EXACT : !strcmp(meth, "asymp") ? LB_MWU_ASYMP : LB_MWU_AUTO;
                lb_wsr_result r;
                if (lb_signed_rank(&r, x, (size_t)n, m)) printf("error\n");
                else printf("%.17g %.17g %d %d %d\n", r.w_plus, r.p, r.m, r.exact, r.ties);
            } else if (lb_hl_paired(&est, &lo, &hi, x, (size_t)n, level)) {
                printf("error\n");
            } else {
                printf("%.17g %.17g %.17g\n", est, lo, hi);
            }
            free(x);
        } else {
            return 1;
        }
    }
    return 0;
}
