/* Unit tests of common/stats.c on hand-computed cases (scipy is the oracle in
 * test_stats.py): quantiles, U, exact and asymptotic p-values, bad input. */
#include <math.h>
#include <stdlib.h>

#include "lb_stats.h"
#include "lb_test.h"

int main(void) {
    /* quantiles: type 7 on 1..5 and on an even count */
    double a[] = {5, 1, 4, 2, 3};
    LB_CHECK(lb_median(a, 5) == 3, "median %g", lb_median(a, 5));
    double q1, med, q3, iqr;
    LB_CHECK(lb_quartiles(a, 5, &q1, &med, &q3, &iqr) == 0, "quartiles failed");
    LB_CHECK(q1 == 2 && med == 3 && q3 == 4 && iqr == 2, "%g %g %g %g", q1, med, q3, iqr);
    double b[] = {4, 1, 3, 2};
    LB_CHECK(lb_median(b, 4) == 2.5, "even median %g", lb_median(b, 4));
    lb_quartiles(b, 4, &q1, NULL, &q3, NULL);
    LB_CHECK(q1 == 1.75 && q3 == 3.25, "even quartiles %g %g", q1, q3);
    LB_CHECK(a[0] == 5 && a[1] == 1, "input left unsorted");
    double one = 7;
    LB_CHECK(lb_median(&one, 1) == 7, "size 1");
    LB_CHECK(isnan(lb_median(a, 0)), "size 0 is NaN");
    LB_CHECK(lb_quartiles(a, 0, &q1, &med, &q3, &iqr) == -1, "size 0 refused");

    /* Mann–Whitney: complete separation of 3 vs 3, U1 = 0.
     * exact: P(U <= 0) = 1/C(6,3) = 1/20, two-sided 0.1.
     * normal: mu = 4.5, sigma = sqrt(9·7/12), z = (9 − 4.5 − 0.5)/sigma. */
    double x[] = {1, 2, 3}, y[] = {4, 5, 6};
    lb_mwu_result r;
    LB_CHECK(lb_mannwhitney(&r, x, 3, y, 3, LB_MWU_EXACT) == 0, "exact failed");
    LB_CHECK(r.u1 == 0 && lb_close(r.p, 0.1, 0, 1e-12) && r.exact, "U %g p %.17g", r.u1, r.p);
    LB_CHECK(lb_mannwhitney(&r, x, 3, y, 3, LB_MWU_ASYMP) == 0, "asymp failed");
    double z = 4.0 / sqrt(9.0 * 7 / 12);
    LB_CHECK(lb_close(r.p, erfc(z / sqrt(2.0)), 0, 1e-12) && !r.exact, "p %.17g", r.p);
    LB_CHECK(lb_mannwhitney(&r, x, 3, y, 3, LB_MWU_AUTO) == 0 && r.exact, "auto exact");
    /* symmetry: swapping the samples keeps p and gives U2 = n1·n2 − U1 */
    lb_mwu_result s;
    lb_mannwhitney(&s, y, 3, x, 3, LB_MWU_EXACT);
    LB_CHECK(s.u1 == 9, "swapped U %g", s.u1);
    LB_CHECK(lb_close(s.p, 0.1, 0, 1e-12), "swapped p %g", s.p);
    /* 1 vs 1 and identical samples: p = 1 */
    LB_CHECK(lb_mannwhitney(&r, x, 1, y, 1, LB_MWU_EXACT) == 0 && r.p == 1, "1v1 p %g", r.p);
    double c[] = {2, 2, 2, 2};
    LB_CHECK(lb_mannwhitney(&r, c, 2, c + 2, 2, LB_MWU_AUTO) == 0 && r.p == 1 && r.ties && !r.exact,
             "all tied p %g", r.p);
    /* ties: x = {1,2,2}, y = {2,3,3}: ranks 1, 3,3 | 3, 5.5,5.5 → R1 = 7, U1 = 1 */
    double tx[] = {1, 2, 2}, ty[] = {2, 3, 3};
    LB_CHECK(lb_mannwhitney(&r, tx, 3, ty, 3, LB_MWU_AUTO) == 0 && r.u1 == 1 && r.ties, "tie U %g",
             r.u1);
    /* 9 vs 9 separated: exact p = 2/C(18,9), below the default alpha 0.002 */
    double u[9], v[9];
    for (int i = 0; i < 9; i++) u[i] = 1.0 + i * 0.01, v[i] = 1.5 + i * 0.01;
    lb_mannwhitney(&r, u, 9, v, 9, LB_MWU_AUTO);
    LB_CHECK(lb_close(r.p, 2.0 / 48620, 0, 1e-12), "9v9 p %.17g", r.p);
    /* large exact case stays finite and in [0, 1] */
    double *big = malloc(sizeof(double) * 600);
    for (int i = 0; i < 600; i++) big[i] = (i * 7919) % 600;
    LB_CHECK(lb_mannwhitney(&r, big, 300, big + 300, 300, LB_MWU_EXACT) == 0 && r.p >= 0 &&
                 r.p <= 1,
             "big exact p %g", r.p);
    free(big);
    /* bad input */
    double nanv[] = {1, NAN};
    LB_CHECK(lb_mannwhitney(&r, nanv, 2, y, 3, LB_MWU_AUTO) == -1, "NaN refused");
    LB_CHECK(lb_mannwhitney(&r, x, 0, y, 3, LB_MWU_AUTO) == -1, "empty refused");
    return lb_test_summary("test_stats");
}
