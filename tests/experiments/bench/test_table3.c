/* Table 3 bookkeeping: the largest batch under a budget is found exactly (a budget
 * that fits b sequences but not b + 1 gives b, for every method, including the
 * materialising baseline whose memory grows as B·n²); the timed batch follows its
 * caps; and the paper's memory saving (ratio of the largest batches) comes out of it. */
#include <stdint.h>
#include <string.h>

#include "lb_bench.h"
#include "lb_model.h"
#include "lb_test.h"

static void test_exact(void) {
    lb_config c;
    lb_config_roberta_base(&c);
    c.layers = 1;
    static const int ns[] = {64, 512, 1000};
    static const int bs[] = {1, 2, 3, 7, 64, 513};
    /* the Table 3 protocol's methods (the encoder runs no approximate attention) */
    static const lb_attn_method t3[] = {LB_ATTN_FULL, LB_ATTN_STREAM, LB_ATTN_LINFORMER, LB_ATTN_MATERIALISE};
    for (size_t mi = 0; mi < sizeof t3 / sizeof *t3; mi++)
        for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
            for (size_t bi = 0; bi < sizeof bs / sizeof *bs; bi++) {
                int n = ns[ni], b = bs[bi];
                int m = (int)t3[mi];
                lb_encoder_opts eo = {.method = (lb_attn_method)m, .k = 32,
                                      .share = LB_SHARE_LAYERWISE, .threads = 2};
                double at_b = (double)lb_encoder_bytes(&c, b, n, &eo, 0);
                double at_b1 = (double)lb_encoder_bytes(&c, b + 1, n, &eo, 0);
                const char *name = lb_attn_method_name((lb_attn_method)m);
                LB_CHECK(at_b1 > at_b, "%s n %d: bytes grow with the batch", name, n);
                /* exactly b fits: the budget is bytes(b), or one byte short of bytes(b+1) */
                int got = lb_bench_t3_batch(&c, n, &eo, at_b, 0);
                LB_CHECK(got == b, "%s n %d: budget bytes(%d) gives batch %d", name, n, b, got);
                got = lb_bench_t3_batch(&c, n, &eo, at_b1 - 1, 0);
                LB_CHECK(got == b, "%s n %d: budget bytes(%d) - 1 gives %d, expected %d", name, n,
                         b + 1, got, b);
                got = lb_bench_t3_batch(&c, n, &eo, at_b1, 0);
                LB_CHECK(got == b + 1, "%s n %d: budget bytes(%d) gives %d", name, n, b + 1, got);
                if (b == 1) {
                    got = lb_bench_t3_batch(&c, n, &eo, at_b - 1, 0);
                    LB_CHECK(got == 0, "%s n %d: one byte short of one sequence gives %d", name, n, got);
                }
                got = lb_bench_t3_batch(&c, n, &eo, at_b1, b);
                LB_CHECK(got == b, "%s n %d: the cap %d holds (got %d)", name, n, b, got);
            }
}

/* The materialising baseline holds 8·H·n² more bytes per sequence than the scores of
 * one block per thread: its largest batch is the smaller, by the analytic amount. */
static void test_materialise_ratio(void) {
    lb_config c;
    lb_config_roberta_base(&c);
    lb_encoder_opts mat = {.method = LB_ATTN_MATERIALISE, .threads = 2};
    lb_encoder_opts lin = {.method = LB_ATTN_LINFORMER, .k = 128, .share = LB_SHARE_LAYERWISE,
                           .threads = 2};
    int n = 2048;
    double budget = 16.0 * 1073741824.0;
    int bm = lb_bench_t3_batch(&c, n, &mat, budget, 0), bl = lb_bench_t3_batch(&c, n, &lin, budget, 0);
    /* per sequence: activations (6·768 + 3072)·4·n bytes (+ positions) and, materialised,
     * 2·12·n²·4 bytes of scores and probabilities */
    double per_mat = (6.0 * 768 + 3072 + 1) * 4 * n + 8.0 * 12 * n * n;
    LB_CHECK(bm == (int)(budget / per_mat) || bm == (int)(budget / per_mat) - 1,
             "materialise batch %d, expected about %d", bm, (int)(budget / per_mat));
    LB_CHECK(bl > 5 * bm, "linformer fits many more sequences (%d vs %d)", bl, bm);
}

static void test_timed(void) {
    lb_bench_opts o;
    memset(&o, 0, sizeof o);
    LB_CHECK(lb_bench_t3_timed(&o, 100, 512) == 100, "no cap: the largest batch is timed");
    LB_CHECK(lb_bench_t3_timed(&o, 0, 512) == 0, "nothing fits: nothing is timed");
    o.t3_tokens = 4096;
    LB_CHECK(lb_bench_t3_timed(&o, 100, 512) == 8, "4096 tokens at n = 512: 8 sequences");
    LB_CHECK(lb_bench_t3_timed(&o, 5, 512) == 5, "the largest batch is below the cap");
    LB_CHECK(lb_bench_t3_timed(&o, 100, 8192) == 1, "at least one sequence");
    o.max_batch = 3;
    LB_CHECK(lb_bench_t3_timed(&o, 100, 512) == 3, "--max-batch caps too");
}

int main(void) {
    test_exact();
    test_materialise_ratio();
    test_timed();
    return lb_test_summary("test_table3");
}
