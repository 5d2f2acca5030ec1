/* Tests of lb_mlm_set_pos_shift (randomised positions for training, lb_train_model.h).
 * The oracle is the same model with its position table moved: shifting sequence b by
 * s must give exactly what an unshifted run gives when row pad + 1 + s + i of the table
 * is copied to row pad + 1 + i. Both runs do the same arithmetic on the same numbers,
 * so the comparison is bit-exact. Also: the gradient lands in the shifted rows and
 * nowhere else in the table, pad tokens keep row pad_id, out-of-range shifts are refused
 * and clear the shift, and NULL restores plain positions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_test.h"
#include "lb_train_model.h"

enum { B = 2, N = 7, MAXPOS = 20, VOCAB = 19 }; /* odd n; room = 20 - 7 - 2 = 11 */
static const lb_config C = {.type = LB_MODEL_ROBERTA, .vocab_size = VOCAB, .hidden = 8, .layers = 2,
                            .heads = 2, .intermediate = 12, .max_pos = MAXPOS, .type_vocab = 1,
                            .pad_id = 1, .ln_eps = 1e-5f};

static float *pos_table(lb_model *m, int *h) {
    const lb_param *p = lb_model_param_find(m, "roberta.embeddings.position_embeddings.weight");
    *h = (int)p->shape[1];
    return lb_model_params(m) + p->offset;
}

/* ids with one pad in the middle of row 1 (RoBERTa: it keeps position pad_id, the
 * tokens after it count on without it); labels on every third token */
static void inputs(int32_t *ids, int32_t *labels) {
    for (int t = 0; t < B * N; t++) {
        ids[t] = 3 + (t * 5) % (VOCAB - 3);
        labels[t] = t % 3 == 0 ? (t * 7) % VOCAB : LB_MLM_IGNORE;
    }
    ids[N + 3] = 1;
    labels[N + 3] = LB_MLM_IGNORE;
}

/* loss of row b alone (batch 1), shifted by s or with the table moved down by s */
static double row_loss(const int32_t *ids, const int32_t *labels, int b, int s, int move_table) {
    char msg[256];
    lb_model *m = NULL;
    lb_mlm *w = NULL;
    double loss = NAN;
    if (lb_model_init_random(&m, &C, 11, msg, sizeof msg) || lb_mlm_init(&w, m, 1, N, 1, msg, sizeof msg)) {
        LB_CHECK(0, "init: %s", msg);
        lb_model_free(m);
        return loss;
    }
    int h;
    float *P = pos_table(m, &h);
    int32_t sh = s;
    if (move_table) /* row pad+1+i takes row pad+1+s+i (ascending: sources lie above) */
        for (int i = 0; i + C.pad_id + 1 + s < MAXPOS; i++)
            memcpy(P + (size_t)(C.pad_id + 1 + i) * h, P + (size_t)(C.pad_id + 1 + s + i) * h, sizeof *P * h);
    else
        LB_CHECK(!lb_mlm_set_pos_shift(w, &sh, msg, sizeof msg), "shift %d: %s", s, msg);
    lb_mlm_stats st;
    if (!lb_mlm_eval(w, ids + b * N, NULL, labels + b * N, &st, msg, sizeof msg)) loss = st.loss_sum;
    else LB_CHECK(0, "eval: %s", msg);
    lb_mlm_free(w);
    lb_model_free(m);
    return loss;
}

static void test_shift_is_moved_table(void) {
    int32_t ids[B * N], labels[B * N];
    inputs(ids, labels);
    const int shifts[] = {0, 1, 5, 11}; /* 11: the last window that fits */
    for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++)
        for (int b = 0; b < B; b++) {
            double a = row_loss(ids, labels, b, shifts[k], 0), t = row_loss(ids, labels, b, shifts[k], 1);
            LB_CHECK(a == t, "row %d shift %d: shifted loss %.17g, moved table %.17g", b, shifts[k], a, t);
        }
    /* and the shift matters: a model with distinct rows gives another loss */
    double a0 = row_loss(ids, labels, 0, 0, 0), a5 = row_loss(ids, labels, 0, 5, 0);
    LB_CHECK(a0 == a0 && a5 == a5 && a0 != a5, "shift 5 changes the loss (%.17g vs %.17g)", a5, a0);
}

static void test_gradient_rows_and_limits(void) {
    char msg[256];
    lb_model *m = NULL;
    lb_mlm *w = NULL;
    if (lb_model_init_random(&m, &C, 11, msg, sizeof msg) || lb_mlm_init(&w, m, B, N, 1, msg, sizeof msg)) {
        LB_CHECK(0, "init: %s", msg);
        lb_model_free(m);
        return;
    }
    int32_t ids[B * N], labels[B * N], sh[B] = {3, 11};
    inputs(ids, labels);
    size_t elems = lb_model_param_elems(m);
    float *g = calloc(elems, sizeof *g);
    LB_CHECK(g != NULL, "out of memory");
    if (!g) goto out;
    LB_CHECK(!lb_mlm_set_pos_shift(w, sh, msg, sizeof msg), "shift: %s", msg);
    LB_CHECK(!lb_mlm_step(w, g, 0, ids, NULL, labels, NULL, msg, sizeof msg), "step: %s", msg);
    int h;
    const lb_param *p = lb_model_param_find(m, "roberta.embeddings.position_embeddings.weight");
    h = (int)p->shape[1];
    /* rows used: row 0 at 2+3 .. 2+3+6; row 1 (one pad) at 2+11 .. 2+11+5, pad at 1 (no
     * gradient: padding_idx) */
    int used[MAXPOS] = {0};
    for (int i = 0; i < N; i++) used[2 + 3 + i] = 1;
    for (int i = 0; i < N - 1; i++) used[2 + 11 + i] = 1;
    int wrong = 0;
    for (int r = 0; r < MAXPOS; r++) {
        double norm = 0;
        for (int j = 0; j < h; j++) norm += fabs((double)g[p->offset + (size_t)r * h + j]);
        if ((norm > 0) != used[r]) wrong++, fprintf(stderr, "  row %d: |grad| %g, used %d\n", r, norm, used[r]);
    }
    LB_CHECK(wrong == 0, "the position gradient lands exactly in the shifted rows (%d rows wrong)", wrong);
    /* limits: 12 would need row 20 of a 20-row table; negative is refused; both clear */
    int32_t over[B] = {0, 12}, neg[B] = {-1, 0};
    LB_CHECK(lb_mlm_set_pos_shift(w, over, msg, sizeof msg) == -1 && strstr(msg, "shift[1] = 12") &&
                 strstr(msg, "[0, 11]"), "shift 12 refused naming it and the range: %s", msg);
    LB_CHECK(lb_mlm_set_pos_shift(w, neg, msg, sizeof msg) == -1 && strstr(msg, "shift[0] = -1"),
             "negative shift refused: %s", msg);
    /* after a refusal (and after NULL) the run is unshifted: same loss as a fresh workspace */
    lb_mlm_stats s1, s2;
    LB_CHECK(!lb_mlm_eval(w, ids, NULL, labels, &s1, msg, sizeof msg), "eval: %s", msg);
    LB_CHECK(!lb_mlm_set_pos_shift(w, sh, msg, sizeof msg) && !lb_mlm_set_pos_shift(w, NULL, msg, sizeof msg),
             "set then clear");
    LB_CHECK(!lb_mlm_eval(w, ids, NULL, labels, &s2, msg, sizeof msg), "eval: %s", msg);
    lb_mlm *fresh = NULL;
    lb_mlm_stats s3 = {0};
    LB_CHECK(!lb_mlm_init(&fresh, m, B, N, 1, msg, sizeof msg) &&
                 !lb_mlm_eval(fresh, ids, NULL, labels, &s3, msg, sizeof msg), "fresh eval: %s", msg);
    LB_CHECK(s1.loss_sum == s3.loss_sum && s2.loss_sum == s3.loss_sum,
             "cleared shift = no shift (%.17g, %.17g vs %.17g)", s1.loss_sum, s2.loss_sum, s3.loss_sum);
    lb_mlm_free(fresh);
out:
    free(g);
    lb_mlm_free(w);
    lb_model_free(m);
}

int main(void) {
    test_shift_is_moved_table();
    test_gradient_rows_and_limits();
    return lb_test_summary("test_pos_shift");
}
