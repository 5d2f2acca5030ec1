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

    /* Published FNV-1a 64 vectors (the checksums stored in checkpoints must not drift):
     * "" is the offset basis, "a" and "foobar" from the FNV reference test suite. */
    LB_CHECK(lb_fnv1a(LB_FNV1A_INIT, "", 0) == 0xcbf29ce484222325ULL, "fnv1a empty");
    LB_CHECK(lb_fnv1a(LB_FNV1A_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL, "fnv1a a");
    LB_CHECK(lb_fnv1a(lb_fnv1a(LB_FNV1A_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ULL,
             "fnv1a foobar in two pieces");
    /* splitmix64 seeded with 0 first returns mix64(0x9E3779B97F4A7C15) = 0xE220A8397B1DCDAF
     * (Vigna's reference implementation). */
    LB_CHECK(lb_mix64(0x9E3779B97F4A7C15ULL) == 0xE220A8397B1DCDAFULL, "splitmix64 finaliser");
    LB_CHECK(lb_seed_mix(1, 2, 3) != lb_seed_mix(2, 1, 3), "seed_mix is not symmetric");

    char fdir[] = "/tmp/lbfilesXXXXXX", fa[64], fb[64], msg[256];
    LB_CHECK(mkdtemp(fdir) != NULL, "mkdtemp");
    snprintf(fa, sizeof fa, "%s/a", fdir);
    snprintf(fb, sizeof fb, "%s/b", fdir);
    FILE *fw = fopen(fa, "w");
    fputs("foobar", fw), fclose(fw);
    uint64_t h = LB_FNV1A_INIT;
    size_t bytes = 0;
    LB_CHECK(lb_copy_file(fa, fb, msg, sizeof msg) == 0, "copy: %s", msg);
    LB_CHECK(lb_file_fnv(fb, &h, &bytes, msg, sizeof msg) == 0 && h == 0x85944171f73967e8ULL && bytes == 6,
             "file fnv of the copy");
    LB_CHECK(lb_file_fnv("/nonexistent/x", &h, NULL, msg, sizeof msg) == -1 && strstr(msg, "/nonexistent/x"),
             "missing file named: %s", msg);
    lb_remove_flat_dir(fdir);
    LB_CHECK(access(fdir, F_OK) != 0, "flat dir removed");

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
