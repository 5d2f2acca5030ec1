/* The interval verdict rule of the report (lb_verdict_interval): holds only when the
 * whole 95% interval passes, undecided when it straddles a threshold, both directions,
 * thresholds hit exactly, NaN; and the words of every verdict kind. */
#include <math.h>
#include <string.h>

#include "lb_report.h"
#include "lb_test.h"

int main(void) {
    /* higher is better: σ at n/4 against 0.90 / 0.75 */
    LB_CHECK(lb_verdict_interval(0.92, 0.95, 0.90, 0.75, 1) == LB_HOLDS, "inside holds");
    LB_CHECK(lb_verdict_interval(0.90, 0.95, 0.90, 0.75, 1) == LB_HOLDS, "the threshold itself passes");
    LB_CHECK(lb_verdict_interval(0.85, 0.95, 0.90, 0.75, 1) == LB_UNDECIDED, "straddling 0.90");
    LB_CHECK(lb_verdict_interval(0.76, 0.80, 0.90, 0.75, 1) == LB_WEAKER, "between the thresholds");
    LB_CHECK(lb_verdict_interval(0.70, 0.80, 0.90, 0.75, 1) == LB_UNDECIDED, "straddling 0.75");
    LB_CHECK(lb_verdict_interval(0.50, 0.70, 0.90, 0.75, 1) == LB_NOT_HOLD, "below both");
    LB_CHECK(lb_verdict_interval(0.50, 0.95, 0.90, 0.75, 1) == LB_UNDECIDED, "straddling both");
    LB_CHECK(lb_verdict_interval(NAN, 0.95, 0.90, 0.75, 1) == LB_UNDECIDED, "NaN end");
    LB_CHECK(lb_verdict_interval(0.93, 0.93, 0.90, 0.75, 1) == LB_HOLDS, "a point interval");
    /* lower is better: a growth exponent against 0.5 / 1.0 */
    LB_CHECK(lb_verdict_interval(0.2, 0.4, 0.5, 1.0, 0) == LB_HOLDS, "exponent below 0.5");
    LB_CHECK(lb_verdict_interval(0.4, 0.6, 0.5, 1.0, 0) == LB_UNDECIDED, "exponent straddling 0.5");
    LB_CHECK(lb_verdict_interval(0.6, 0.9, 0.5, 1.0, 0) == LB_WEAKER, "exponent in (0.5, 1]");
    LB_CHECK(lb_verdict_interval(1.1, 1.3, 0.5, 1.0, 0) == LB_NOT_HOLD, "exponent above 1");
    LB_CHECK(lb_verdict_interval(-0.1, 0.1, 0.5, 1.0, 0) == LB_HOLDS, "negative exponent holds");
    /* words: the report's tests grep for them */
    LB_CHECK(!strcmp(lb_verdict_word(LB_OUTSIDE), "outside the model's trained length"), "outside word");
    LB_CHECK(!strcmp(lb_verdict_word(LB_UNDECIDED), "undecided"), "undecided word");
    LB_CHECK(!strcmp(lb_verdict_word(LB_HOLDS), "holds"), "holds word");
    return lb_test_summary("test_verdict");
}
