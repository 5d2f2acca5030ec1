/* lb_spec_acc_merge / pack / unpack: accumulating windows split into parts and merging
 * the parts (what MPI ranks do) equals accumulating them all in one, and a packed
 * accumulator comes back bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "lb_spectrum.h"
#include "lb_test.h"
#include "lb_util.h"

enum { LEN = 13, R = 9, W = 11 }; /* odd sizes; r < len exercises the padding of 1 */

static void sigma_of(float *s, int w) {
    lb_rng g;
    lb_rng_seed(&g, 100 + (uint64_t)w);
    float v = 1;
    for (int i = 0; i < R; i++) s[i] = v *= (float)(0.2 + 0.7 * lb_rng_uniform(&g));
}

static void check_equal(const lb_spec_acc *a, const lb_spec_acc *b, const char *what) {
    /* The merge reorders sums of W values in [0, 13]: a few ulps; 1e-12 relative and
     * absolute leaves room for that and catches a wrong weight (>= 1e-3 here). */
    int bad = 0;
    for (int i = 0; i < LEN; i++)
        bad += !lb_close(a->c_mean[i], b->c_mean[i], 1e-12, 1e-12) +
               !lb_close(a->c_m2[i], b->c_m2[i], 1e-12, 1e-12) +
               !lb_close(a->e_mean[i], b->e_mean[i], 1e-12, 1e-12) +
               !lb_close(a->e_m2[i], b->e_m2[i], 1e-12, 1e-12);
    for (int s = 0; s < LB_SPEC_NSTATS; s++)
        bad += !lb_close(a->stat[s].mean, b->stat[s].mean, 1e-12, 1e-12) +
               !lb_close(a->stat[s].m2, b->stat[s].m2, 1e-12, 1e-12) +
               (a->stat[s].n != b->stat[s].n);
    LB_CHECK(bad == 0 && a->count == b->count, "%s: %d values differ, count %g vs %g", what,
             bad, a->count, b->count);
}

int main(void) {
    double scratch[2 * LEN];
    float s[R];
    lb_spec_acc all, part[3], m;
    lb_spec_acc_init(&all, LEN, 4);
    lb_spec_acc_init(&m, LEN, 4);
    for (int p = 0; p < 3; p++) lb_spec_acc_init(&part[p], LEN, 4);
    for (int w = 0; w < W; w++) {
        sigma_of(s, w);
        lb_spec_acc_add(&all, scratch, s, R, 0.1 * w);
        lb_spec_acc_add(&part[w % 3], scratch, s, R, 0.1 * w); /* window w to rank w mod 3 */
    }
    for (int p = 0; p < 3; p++) lb_spec_acc_merge(&m, &part[p]);
    check_equal(&m, &all, "3 parts merged vs one pass");

    /* an empty part changes nothing; merging into an empty one copies exactly */
    lb_spec_acc e, c;
    lb_spec_acc_init(&e, LEN, 4);
    lb_spec_acc_init(&c, LEN, 4);
    lb_spec_acc_merge(&m, &e);
    check_equal(&m, &all, "merge of an empty part");
    lb_spec_acc_merge(&c, &all);
    LB_CHECK(memcmp(c.c_m2, all.c_m2, sizeof(double) * LEN) == 0 && c.count == all.count,
             "merge into an empty accumulator copies it");

    /* pack -> unpack is exact; a short buffer and a different shape are refused */
    size_t n = lb_spec_acc_packed_len(&all);
    double *buf = malloc(n * sizeof(double));
    char msg[256];
    {
        lb_spec_acc u, v;
        lb_spec_acc_init(&u, LEN, 4);
        lb_spec_acc_init(&v, LEN + 1, 4);
        lb_spec_acc_pack(buf, &all);
        int rc = lb_spec_acc_unpack(&u, buf, n, msg, sizeof msg);
        LB_CHECK(rc == 0 && memcmp(u.e_mean, all.e_mean, sizeof(double) * LEN) == 0 &&
                     memcmp(u.stat, all.stat, sizeof all.stat) == 0 && u.count == all.count,
                 "pack/unpack round trip (rc %d)", rc);
        LB_CHECK(lb_spec_acc_unpack(&u, buf, n - 1, msg, sizeof msg) == -1 && strstr(msg, "expected"),
                 "short buffer refused: %s", msg);
        LB_CHECK(lb_spec_acc_unpack(&v, buf, n + 2 * LEN, msg, sizeof msg) == -1 &&
                     strstr(msg, "len 13"), "other length refused: %s", msg);
        lb_spec_acc_free(&u);
        lb_spec_acc_free(&v);
    }
    free(buf);
    lb_spec_acc_free(&all), lb_spec_acc_free(&m), lb_spec_acc_free(&e), lb_spec_acc_free(&c);
    for (int p = 0; p < 3; p++) lb_spec_acc_free(&part[p]);
    return lb_test_summary("test_spec_merge");
}
