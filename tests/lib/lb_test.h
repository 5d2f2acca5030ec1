/* lb_test: the tiny harness every C test uses. A check prints FAIL with its location
 * and the values; a test program ends with lb_test_summary(), which prints
 * "RESULT <passed> <failed>" for tests/run.sh and returns the exit status
 * (non-zero when anything failed), so a failing test can never exit 0.
 *
 * Closeness is |x − ref| <= atol + rtol·|ref|, written as a positive comparison so
 * that a NaN or Inf on either side fails. */
#ifndef LB_TEST_H
#define LB_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int lb_test_passed, lb_test_failed;

static inline int lb_close(double x, double ref, double atol, double rtol) {
    return fabs(x - ref) <= atol + rtol * fabs(ref); /* false for NaN */
}

#define LB_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (cond) {                                                          \
            lb_test_passed++;                                                \
        } else {                                                             \
            lb_test_failed++;                                                \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        }                                                                    \
    } while (0)

/* Run one section of a test program and print its time, to keep an eye on the
 * valgrind/ASan budget (needs lb_now from lb_util.h where it is used). */
#define LB_SECTION(call)                                                 \
    do {                                                                 \
        double t0_ = lb_now();                                           \
        call;                                                            \
        printf("%-28s %.2f s\n", #call, lb_now() - t0_);                \
    } while (0)

/* Compare arrays x and ref of len elements; one pass/fail for the whole array, and
 * the worst element reported on failure. Returns 1 if all close. */
static inline int lb_check_array(const char *name, const float *x, const float *ref, long len,
                                 double atol, double rtol) {
    long bad = -1;
    double worst = 0;
    for (long i = 0; i < len; i++) {
        double dx = x[i], dr = ref[i];
        if (!lb_close(dx, dr, atol, rtol)) {
            double excess = fabs(dx - dr) - (atol + rtol * fabs(dr));
            if (bad < 0 || !(excess <= worst)) { /* NaN excess wins */
                bad = i;
                worst = excess;
            }
        }
    }
    if (bad < 0) {
        lb_test_passed++;
        return 1;
    }
    lb_test_failed++;
    printf("FAIL %s: element %ld: got %.9g, want %.9g (atol %g, rtol %g)\n", name, bad,
           (double)x[bad], (double)ref[bad], atol, rtol);
    return 0;
}

/* A test's scratch folder: tmpl (ending in XXXXXX) made with mkdtemp. 0, or 1 after a
 * message (what main returns: the test cannot run). */
static inline int lb_test_tmpdir(char *tmpl) {
    if (mkdtemp(tmpl)) return 0;
    perror("mkdtemp");
    return 1;
}

/* Remove the scratch folder and all in it; a note when that fails (not a failure). */
static inline void lb_test_rmtree(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) printf("note: could not remove %s\n", dir);
}

static inline int lb_test_summary(const char *prog) {
    printf("%s: %d passed, %d failed\n", prog, lb_test_passed, lb_test_failed);
    printf("RESULT %d %d\n", lb_test_passed, lb_test_failed);
    return lb_test_failed ? 1 : 0;
}

#endif
