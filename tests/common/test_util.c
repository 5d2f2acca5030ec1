/* Tests for common/: list parsing, overflow checks, atomic files, the RNG. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_test.h"
#include "lb_util.h"

int main(void) {
    long v[8];
    LB_CHECK(lb_parse_list("512,1024,4k", v, 8, 1, 1 << 20, "--n") == 3 && v[2] == 4096, "list");
    LB_CHECK(lb_parse_list("512,,1024", v, 8, 1, 1 << 20, "--n") == -1, "empty item");
    LB_CHECK(lb_parse_list("512,x", v, 8, 1, 1 << 20, "--n") == -1, "garbage item");
    LB_CHECK(lb_parse_list("0", v, 8, 1, 1 << 20, "--n") == -1, "below range");
    LB_CHECK(lb_parse_list("1,2,3", v, 2, 1, 9, "--n") == -1, "too many");
    LB_CHECK(lb_parse_list("99999999999999999999", v, 2, 1, 9, "--n") == -1, "overflow");
    size_t s;
    LB_CHECK(lb_mul3_size(&s, (size_t)1 << 32, (size_t)1 << 32, 2) == -1, "size overflow");
    LB_CHECK(lb_mul3_size(&s, 3, 5, 7) == 0 && s == 105, "size product");

    lb_rng a, b;
    lb_rng_seed(&a, 42);
    lb_rng_seed(&b, 42);
    int same = 1;
    double mean = 0;
    for (int i = 0; i < 10000; i++) {
        double x = lb_rng_normal(&a);
        same &= x == lb_rng_normal(&b);
        mean += x / 10000;
    }
    LB_CHECK(same, "rng repeats for the same seed");
    /* 4.5 standard errors of the mean of 10k N(0,1): fails by chance ~1e-5 */
    LB_CHECK(fabs(mean) < 0.045, "normal mean %g", mean);

    char dir[] = "/tmp/lbtestXXXXXX";
    LB_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[64];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    lb_atomic at;
    FILE *f = lb_atomic_open(&at, path);
    LB_CHECK(f != NULL, "atomic open");
    fputs("partial", f);
    LB_CHECK(access(path, F_OK) != 0, "no file under the final name before commit");
    lb_atomic_abort(&at);
    LB_CHECK(access(path, F_OK) != 0, "abort leaves nothing");
    f = lb_atomic_open(&at, path);
    fputs("whole", f);
    LB_CHECK(lb_atomic_commit(&at) == 0 && access(path, F_OK) == 0, "commit renames");
    unlink(path);
    rmdir(dir);
    return lb_test_summary("test_util");
}
