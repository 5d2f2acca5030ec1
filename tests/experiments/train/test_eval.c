/* Tests of the per-position validation (experiments/train/lb_eval.h) and the per-token
 * loss it rests on (lb_mlm_eval_tokens): the token losses add up to lb_mlm_eval's sum
 * bit for bit (same rows, same order), NaN marks exactly the unpredicted positions,
 * and the ratio / paired-difference intervals match their closed forms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_eval.h"
#include "lb_test.h"
#include "lb_train_model.h"

static void test_token_losses(void) {
    const lb_config c = {.type = LB_MODEL_ROBERTA, .vocab_size = 23, .hidden = 8, .layers = 2,
                         .heads = 2, .intermediate = 12, .max_pos = 40, .type_vocab = 1,
                         .pad_id = 1, .ln_eps = 1e-5f};
    enum { B = 3, N = 17 }; /* odd n, a batch that is not a power of two */
    char msg[256];
    lb_model *m = NULL;
    lb_mlm *w = NULL;
    if (lb_model_init_random(&m, &c, 7, msg, sizeof msg) || lb_mlm_init(&w, m, B, N, 1, msg, sizeof msg)) {
        LB_CHECK(0, "init: %s", msg);
        lb_model_free(m);
        return;
    }
    int32_t ids[B * N], labels[B * N];
    double tok[B * N];
    int want_pred = 0;
    for (int t = 0; t < B * N; t++) {
        ids[t] = 3 + (t * 7) % 20;
        labels[t] = t % 4 == 1 ? (t * 5) % 23 : LB_MLM_IGNORE;
        want_pred += labels[t] != LB_MLM_IGNORE;
    }
    lb_mlm_stats a, b;
    LB_CHECK(!lb_mlm_eval(w, ids, NULL, labels, &a, msg, sizeof msg), "eval: %s", msg);
    LB_CHECK(!lb_mlm_eval_tokens(w, ids, NULL, labels, &b, tok, msg, sizeof msg), "eval_tokens: %s", msg);
    double sum = 0;
    int nan_ok = 1, pred = 0;
    for (int t = 0; t < B * N; t++) {
        int is_pred = labels[t] != LB_MLM_IGNORE;
        nan_ok &= is_pred ? tok[t] == tok[t] && tok[t] >= 0 : tok[t] != tok[t];
        if (is_pred) sum += tok[t], pred++;
    }
    /* exact: lb_mlm_eval sums the same per-row values in the same (row) order */
    LB_CHECK(sum == a.loss_sum && b.loss_sum == a.loss_sum, "token losses sum %.17g vs %.17g", sum,
             a.loss_sum);
    LB_CHECK(nan_ok && pred == want_pred && b.n_pred == want_pred, "NaN exactly at unpredicted tokens");
    lb_mlm_free(w);
    lb_model_free(m);
}

static void test_intervals(void) {
    /* a = 2·b exactly: the ratio is 2 with zero width */
    double b[5] = {3, 1, 4, 1, 5}, a[5], est, lo, hi;
    for (int i = 0; i < 5; i++) a[i] = 2 * b[i];
    lb_eval_ratio_ci(a, b, 5, &est, &lo, &hi);
    LB_CHECK(est == 2 && lo == 2 && hi == 2, "exact ratio: %g [%g, %g]", est, lo, hi);
    /* equal counts: the ratio is the mean of a/b and the interval mean ± 1.96·s/√n
     * (closed form; 1e-12 relative: a few double roundings) */
    double a2[4] = {1, 2, 4, 9}, b2[4] = {1, 1, 1, 1};
    lb_eval_ratio_ci(a2, b2, 4, &est, &lo, &hi);
    double mean = 4, sd = sqrt((9 + 4 + 0 + 25) / 3.0), half = 1.959963984540054 * sd / 2;
    LB_CHECK(lb_close(est, mean, 0, 1e-12) && lb_close(hi - lo, 2 * half, 0, 1e-12),
             "ratio interval %g [%g, %g], want %g ± %g", est, lo, hi, mean, half);
    /* the paired difference of a group with itself is exactly 0 with zero width */
    lb_eval_diff_ci(a2, b2, a2, b2, 4, &est, &lo, &hi);
    LB_CHECK(est == 0 && lo == 0 && hi == 0, "self difference %g [%g, %g]", est, lo, hi);
    /* a constant shift of every unit's mean: difference = the shift, zero width */
    double a3[4];
    for (int i = 0; i < 4; i++) a3[i] = a2[i] + 0.5;
    lb_eval_diff_ci(a3, b2, a2, b2, 4, &est, &lo, &hi);
    LB_CHECK(lb_close(est, 0.5, 0, 1e-12) && lb_close(hi - lo, 0, 1e-12, 0), "shift %g [%g, %g]", est, lo, hi);
    /* one unit: no interval (NaN bounds), never a false zero width */
    lb_eval_ratio_ci(a2, b2, 1, &est, &lo, &hi);
    LB_CHECK(est == 1 && lo != lo && hi != hi, "one unit gives NaN bounds");
}

int main(void) {
    test_token_losses();
    test_intervals();
    return lb_test_summary("test_eval");
}
