/* Encoder bookkeeping the Python oracle cannot see: lb_model_bytes against RoBERTa-
 * base's known parameter count, lb_encoder_bytes (no overflow up to n = 65536, monotone,
 * consistent with what init allocates), clean failures (absurd batch, stream + probs,
 * bad ids), random init determinism, and layer sharing of the Linformer projections
 * (KV: F == E, so swapping K for V cannot matter — checked through the callback). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_model.h"
#include "lb_test.h"
#include "lb_util.h"
/* Internal on purpose: lb_fill_normal (the random init's streams) is checked directly. */
#include "model_int.h"

/* The out-of-memory test asks for ~0.5 TB; under ASan that must return NULL, not abort. */
__attribute__((used)) const char *__asan_default_options(void) {
    return "allocator_may_return_null=1";
}

static lb_config tiny(void) {
    lb_config c = {.type = LB_MODEL_ROBERTA, .vocab_size = 30, .hidden = 12, .layers = 2,
                   .heads = 3, .intermediate = 20, .max_pos = 70, .type_vocab = 1, .pad_id = 1,
                   .ln_eps = 1e-5f};
    return c;
}

static void test_bytes(void) {
    lb_config c;
    lb_config_roberta_base(&c);
    char msg[256];
    LB_CHECK(lb_config_check(&c, msg, sizeof msg) == 0, "roberta-base config: %s", msg);
    /* RobertaModel without pooler: 124,055,040 parameters */
    LB_CHECK(lb_model_bytes(&c) == (size_t)124055040 * 4, "roberta-base bytes %zu", lb_model_bytes(&c));
    lb_encoder_opts full = {.method = LB_ATTN_FULL}, lin = {.method = LB_ATTN_LINFORMER, .k = 256,
                                                           .share = LB_SHARE_LAYERWISE};
    size_t prev_n = 0;
    for (int n = 512; n <= 65536; n *= 2) {
        c.max_pos = n + 2;
        size_t bf = lb_encoder_bytes(&c, 1, n, &full, 0), bl = lb_encoder_bytes(&c, 1, n, &lin, 0);
        /* activations alone: (6·hidden + intermediate) floats per token */
        size_t act = (size_t)n * (6 * 768 + 3072) * 4;
        LB_CHECK(bf >= act && bf != SIZE_MAX && bf > prev_n, "full bytes n=%d: %zu", n, bf);
        LB_CHECK(bl >= act && bl != SIZE_MAX, "linformer bytes n=%d: %zu", n, bl);
        if (n >= 4096) LB_CHECK(bl < bf, "linformer smaller than full at n=%d", n);
        size_t prev_b = 0;
        for (int B = 1; B <= (1 << 20); B *= 4) {
            size_t b = lb_encoder_bytes(&c, B, n, &full, 1);
            LB_CHECK(b >= prev_b, "bytes not monotone in B at n=%d B=%d", n, B);
            prev_b = b;
        }
        prev_n = bf;
    }
    LB_CHECK(lb_encoder_bytes(&c, 0, 512, &full, 0) == SIZE_MAX, "B = 0 is 'too big', never 0");
    lb_encoder_opts bad = {.method = LB_ATTN_LINFORMER, .k = 1000};
    LB_CHECK(lb_encoder_bytes(&c, 1, 512, &bad, 0) == SIZE_MAX, "k > n is 'too big'");
}

static void test_failures(void) {
    lb_config c = tiny();
    lb_model *m = NULL;
    char msg[512] = "";
    LB_CHECK(lb_model_init_random(&m, &c, 1, msg, sizeof msg) == 0, "init: %s", msg);
    if (!m) return;
    lb_encoder *e = NULL;
    lb_encoder_opts o = {.method = LB_ATTN_FULL};
    LB_CHECK(lb_encoder_init(&e, m, 1 << 25, 64, &o, 0, msg, sizeof msg) == -1 && !e &&
                 strstr(msg, "2^31"), "B·n overflow: '%s'", msg);
    /* 2^30 tokens · 116 floats: ~0.5 TB, which malloc refuses on this machine */
    LB_CHECK(lb_encoder_init(&e, m, 1 << 24, 64, &o, 0, msg, sizeof msg) == -1 && !e &&
                 strstr(msg, "out of memory"), "huge batch fails cleanly: '%s'", msg);
    LB_CHECK(lb_encoder_init(&e, m, 1, 69, &o, 0, msg, sizeof msg) == -1 &&
                 strstr(msg, "max_position_embeddings = 70"), "n past positions: '%s'", msg);
    LB_CHECK(lb_encoder_init(&e, m, 1, 68, &o, 0, msg, sizeof msg) == 0, "n = max_pos - 2: %s", msg);
    lb_encoder_free(e);
    e = NULL;
    lb_encoder_opts so = {.method = LB_ATTN_STREAM};
    LB_CHECK(lb_encoder_init(&e, m, 1, 8, &so, 1, msg, sizeof msg) == -1 && strstr(msg, "stream"),
             "stream + probs: '%s'", msg);
    LB_CHECK(lb_encoder_init(&e, m, 2, 8, &o, 0, msg, sizeof msg) == 0, "init");
    if (e) {
        int32_t ids[16];
        for (int i = 0; i < 16; i++) ids[i] = 3 + i;
        float out[16 * 12];
        LB_CHECK(lb_encoder_forward(e, out, ids, NULL, NULL, NULL, NULL, msg, sizeof msg) == 0,
                 "forward: %s", msg);
        int fin = 1;
        for (int i = 0; i < 16 * 12; i++) fin &= isfinite(out[i]);
        LB_CHECK(fin, "finite output");
        ids[9] = 30;
        LB_CHECK(lb_encoder_forward(e, out, ids, NULL, NULL, NULL, NULL, msg, sizeof msg) == -1 &&
                     strstr(msg, "ids[1][1] = 30"), "id past vocab: '%s'", msg);
        ids[9] = 4;
        int32_t tt[16] = {0};
        tt[3] = 1;
        LB_CHECK(lb_encoder_forward(e, out, ids, tt, NULL, NULL, NULL, msg, sizeof msg) == -1 &&
                     strstr(msg, "token_types[0][3] = 1"), "type past type_vocab: '%s'", msg);
        lb_encoder_free(e);
    }
    lb_model_free(m);
    c.hidden = 13;
    LB_CHECK(lb_model_init_random(&m, &c, 1, msg, sizeof msg) == -1 && !m &&
                 strstr(msg, "multiple"), "hidden %% heads: '%s'", msg);
}

typedef struct {
    double sum[2];
} acc;

static void collect(void *user, int layer, const float *probs, const float *q, const float *k,
                    const float *v, int B, int H, int n, int cols, int d) {
    acc *a = user;
    for (long i = 0; i < (long)B * H * n * cols; i++) a->sum[layer] += probs[i];
    (void)q, (void)k, (void)v, (void)d;
}

static void test_random_and_probs(void) {
    lb_config c = tiny();
    lb_model *a = NULL, *b = NULL;
    char msg[512] = "";
    lb_model_init_random(&a, &c, 42, msg, sizeof msg);
    lb_model_init_random(&b, &c, 42, msg, sizeof msg);
    if (!a || !b) {
        LB_CHECK(0, "init: %s", msg);
        return;
    }
    /* same seed, same model: compare outputs of one forward each */
    float oa[2 * 9 * 12], ob[2 * 9 * 12];
    int32_t ids[18];
    float mask[18];
    for (int i = 0; i < 18; i++) {
        ids[i] = 2 + (i * 7) % 27;
        mask[i] = (i >= 14) ? 0.0f : 1.0f;
    }
    for (int i = 14; i < 18; i++) ids[i] = 1; /* padding in row 1 */
    lb_encoder_opts lo = {.method = LB_ATTN_LINFORMER, .k = 5, .share = LB_SHARE_KV, .seed = 3};
    lb_encoder *ea = NULL, *eb = NULL;
    LB_CHECK(lb_encoder_init(&ea, a, 2, 9, &lo, 1, msg, sizeof msg) == 0, "init: %s", msg);
    LB_CHECK(lb_encoder_init(&eb, b, 2, 9, &lo, 0, msg, sizeof msg) == 0, "init: %s", msg);
    if (ea && eb) {
        acc s = {{0, 0}};
        LB_CHECK(lb_encoder_forward(ea, oa, ids, NULL, mask, collect, &s, msg, sizeof msg) == 0, "%s", msg);
        LB_CHECK(lb_encoder_forward(eb, ob, ids, NULL, mask, NULL, NULL, msg, sizeof msg) == 0, "%s", msg);
        LB_CHECK(memcmp(oa, ob, sizeof oa) == 0, "deterministic in the seed");
        /* every row of P sums to 1: 2·3·9 rows per layer */
        LB_CHECK(lb_close(s.sum[0], 54, 1e-4, 0) && lb_close(s.sum[1], 54, 1e-4, 0),
                 "prob mass %g %g", s.sum[0], s.sum[1]);
        LB_CHECK(lb_encoder_forward(eb, ob, ids, NULL, mask, collect, &s, msg, sizeof msg) == -1 &&
                     strstr(msg, "without"), "probs without want_probs: '%s'", msg);
    }
    lb_encoder_free(ea);
    lb_encoder_free(eb);
    lb_model_free(a);
    lb_model_free(b);
}

static void test_fill(void) {
    const size_t N = (size_t)1 << 20;
    float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    lb_fill_normal(a, N, 0.02f, 7, 3, 1);
    lb_fill_normal(b, N, 0.02f, 7, 3, 2);
    LB_CHECK(memcmp(a, b, N * sizeof(float)) == 0, "fill independent of the thread count");
    double s = 0, ss = 0;
    for (size_t i = 0; i < N; i++) {
        s += a[i];
        ss += (double)a[i] * a[i];
    }
    double mean = s / N, sd = sqrt(ss / N - mean * mean);
    /* 5 standard errors: sd/sqrt(N) for the mean, sd/sqrt(2N) for the sd */
    LB_CHECK(fabs(mean) < 5 * 0.02 / 1024, "mean %g", mean);
    LB_CHECK(fabs(sd - 0.02) < 5 * 0.02 / sqrt(2.0 * N), "sd %g", sd);
    lb_fill_normal(b, N, 0.02f, 7, 4, 2);
    LB_CHECK(memcmp(a, b, 4096) != 0, "streams differ");
    lb_fill_normal(b, 5, 0.02f, 7, 3, 2); /* a prefix of the same stream */
    LB_CHECK(memcmp(a, b, 5 * sizeof(float)) == 0, "short fill is a prefix");
    free(a);
    free(b);
}

int main(void) {
    test_fill();
    test_bytes();
    test_failures();
    test_random_and_probs();
    return lb_test_summary("test_encoder");
}
