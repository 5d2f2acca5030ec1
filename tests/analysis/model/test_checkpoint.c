/* Checkpoints (lb_model_save → lb_model_load), the parameter table, the half
 * conversions, and the MLM step's contract: the encoder forward and the training
 * forward agree bit for bit, steps are deterministic, bad input is refused with the
 * gradient untouched. (Gradients against finite differences: test_model_grad.py;
 * the layer backward: test_layers_backward.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_safetensors.h"
#include "lb_test.h"
#include "lb_train_model.h"
#include "lb_util.h"

static char tmpdir[] = "/tmp/lb_test_ckpt_XXXXXX";

static lb_config tiny(lb_attn_method attn, int k, lb_share share, int lin_n) {
    lb_config c = {.type = LB_MODEL_ROBERTA, .vocab_size = 23, .hidden = 8, .layers = 2, .heads = 2,
                   .intermediate = 12, .max_pos = 16, .type_vocab = 1, .pad_id = 1, .ln_eps = 1e-5f,
                   .attn = attn, .lin_k = k, .lin_share = share, .lin_n = lin_n};
    return c;
}

static lb_model *make(const lb_config *c, uint64_t seed) {
    char msg[512];
    lb_model *m = NULL;
    if (lb_model_init_random(&m, c, seed, msg, sizeof msg)) {
        LB_CHECK(0, "init: %s", msg);
        return NULL;
    }
    lb_rng r;
    lb_rng_seed(&r, seed + 1);
    float *p = lb_model_params(m);
    for (size_t i = 0; i < lb_model_param_elems(m); i++) p[i] += (float)(0.1 * lb_rng_normal(&r));
    return m;
}

static void test_table(void) {
    lb_config c = tiny(LB_ATTN_LINFORMER, 3, LB_SHARE_NONE, 8);
    lb_model *m = make(&c, 1);
    if (!m) return;
    size_t off = 0;
    int ok = 1, decay_ok = 1;
    for (int i = 0; i < lb_model_param_count(m); i++) {
        const lb_param *p = lb_model_param(m, i);
        size_t cnt = 1;
        for (int j = 0; j < p->ndim; j++) cnt *= (size_t)p->shape[j];
        ok &= p->offset == off && p->count == cnt;
        off += p->count;
        decay_ok &= p->decay == (p->ndim >= 2);
    }
    LB_CHECK(ok && off == lb_model_param_elems(m), "table tiles the block (%zu of %zu)", off,
             lb_model_param_elems(m));
    LB_CHECK(decay_ok, "decay on matrices only");
    const lb_param *e = lb_model_param_find(m, "roberta.encoder.layer.1.attention.self.linformer_F");
    LB_CHECK(e && e->ndim == 3 && e->shape[0] == 2 && e->shape[1] == 3 && e->shape[2] == 8,
             "linformer_F (H,k,N)");
    LB_CHECK(lb_model_param_find(m, "lm_head.bias") && lb_model_param_find(m, "lm_head.dense.weight"),
             "head names");
    LB_CHECK(!lb_model_param_find(m, "lm_head.decoder.weight"), "decoder tied, not a parameter");
    LB_CHECK(lb_model_param(m, -1) == NULL && lb_model_param(m, 1 << 20) == NULL, "out of range");
    lb_model_free(m);
}

static void test_halves(void) {
    /* ties go to even; overflow to infinity; subnormals */
    LB_CHECK(lb_f32_to_bf16(1.0f + 0x1p-8f) == 0x3F80, "bf16 tie to even (down)");
    LB_CHECK(lb_f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3F82, "bf16 tie to even (up)");
    LB_CHECK(lb_f32_to_bf16(-2.0f) == 0xC000, "bf16 -2");
    LB_CHECK(lb_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00, "f16 tie to even (down)");
    LB_CHECK(lb_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3C02, "f16 tie to even (up)");
    LB_CHECK(lb_f32_to_f16(65504.0f) == 0x7BFF && lb_f32_to_f16(65520.0f) == 0x7C00, "f16 max / overflow");
    LB_CHECK(lb_f32_to_f16(0x1p-24f) == 0x0001 && lb_f32_to_f16(0x1p-25f) == 0x0000 &&
             lb_f32_to_f16(0x1.8p-25f) == 0x0001, "f16 smallest subnormal and ties");
    LB_CHECK(lb_f32_to_f16(-0.0f) == 0x8000, "f16 -0");
    LB_CHECK((lb_f32_to_f16(NAN) & 0x7E00) == 0x7E00 && (lb_f32_to_bf16(NAN) & 0x7FC0) == 0x7FC0, "NaN stays NaN");
    /* every f16 and bf16 value converts back to itself */
    int ok = 1;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00) continue;
        ok &= lb_f32_to_f16(lb_f16_to_f32((uint16_t)h)) == h;
        if ((h & 0x7F80) != 0x7F80) ok &= lb_f32_to_bf16(lb_bf16_to_f32((uint16_t)h)) == h;
    }
    LB_CHECK(ok, "half round trips");
}

static void test_round_trip(lb_config c, lb_weight_dtype dt, const char *tag) {
    lb_model *m = make(&c, 5), *r = NULL;
    if (!m) return;
    char dir[256], msg[512];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, tag);
    const char *md[] = {"step", "7", NULL};
    int rc = lb_model_save(dir, m, dt, md, msg, sizeof msg);
    LB_CHECK(rc == 0, "%s: save: %s", tag, msg);
    rc = rc ? rc : lb_model_load(&r, dir, msg, sizeof msg);
    LB_CHECK(rc == 0, "%s: load: %s", tag, msg);
    if (rc) {
        lb_model_free(m);
        return;
    }
    const lb_config *rc2 = lb_model_config(r);
    LB_CHECK(rc2->attn == c.attn && rc2->lin_k == c.lin_k && rc2->lin_share == c.lin_share &&
             rc2->lin_n == c.lin_n && rc2->ln_eps == c.ln_eps && rc2->vocab_size == c.vocab_size &&
             rc2->pad_id == c.pad_id, "%s: config round trip", tag);
    LB_CHECK(lb_model_has_head(r), "%s: head loaded", tag);
    size_t n = lb_model_param_elems(m);
    LB_CHECK(n == lb_model_param_elems(r), "%s: same size", tag);
    const float *a = lb_model_params(m), *b = lb_model_params(r);
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++) {
        float want = dt == LB_DTYPE_F32 ? a[i] : dt == LB_DTYPE_F16 ? lb_f16_to_f32(lb_f32_to_f16(a[i]))
                                                                   : lb_bf16_to_f32(lb_f32_to_bf16(a[i]));
        if (memcmp(&want, &b[i], 4)) bad = i;
    }
    LB_CHECK(bad == n, "%s: weights identical after rounding (first difference at %zu)", tag, bad);
    lb_model_free(m);
    lb_model_free(r);
}

/* The encoder (dump/spectrum) and the training forward run the same layers. */
static void test_same_forward(lb_config c, int n, const char *tag) {
    enum { B = 2 };
    lb_model *m = make(&c, 9);
    if (!m) return;
    char msg[512];
    lb_encoder_opts o = {.method = LB_ATTN_FULL, .threads = 2};
    lb_encoder_opts_for_model(&o, m);
    lb_encoder *e = NULL;
    lb_mlm *w = NULL;
    int32_t ids[B * 16], labels[B * 16];
    float mask[B * 16], *hid = malloc(sizeof(float) * B * (size_t)n * c.hidden);
    for (int t = 0; t < B * n; t++) {
        ids[t] = 3 + (t * 7) % (c.vocab_size - 3);
        mask[t] = 1;
        labels[t] = t % 3 == 0 ? (t * 5) % c.vocab_size : LB_MLM_IGNORE;
    }
    ids[B * n - 1] = c.pad_id, mask[B * n - 1] = 0, labels[B * n - 1] = LB_MLM_IGNORE;
    int rc = lb_encoder_init(&e, m, B, n, &o, 0, msg, sizeof msg);
    LB_CHECK(rc == 0, "%s: encoder: %s", tag, msg);
    rc = rc ? rc : lb_mlm_init(&w, m, B, n, 2, msg, sizeof msg);
    LB_CHECK(rc == 0, "%s: mlm: %s", tag, msg);
    if (!rc) {
        lb_mlm_stats st;
        rc = lb_encoder_forward(e, hid, ids, NULL, mask, NULL, NULL, msg, sizeof msg) ||
             lb_mlm_eval(w, ids, mask, labels, &st, msg, sizeof msg);
        LB_CHECK(rc == 0, "%s: forward: %s", tag, msg);
        LB_CHECK(!rc && memcmp(hid, lb_mlm_hidden(w), sizeof(float) * B * (size_t)n * c.hidden) == 0,
                 "%s: encoder and training forward agree bit for bit", tag);
        /* determinism: two steps, bit-identical; 1 thread close to 2 */
        size_t ne = lb_model_param_elems(m);
        float *g1 = calloc(ne, 4), *g2 = calloc(ne, 4), *g3 = calloc(ne, 4);
        lb_mlm_stats s1, s2;
        lb_mlm_step(w, g1, 0, ids, mask, labels, &s1, msg, sizeof msg);
        lb_mlm_step(w, g2, 0, ids, mask, labels, &s2, msg, sizeof msg);
        LB_CHECK(memcmp(g1, g2, ne * 4) == 0 && s1.loss == s2.loss && s1.loss == st.loss,
                 "%s: deterministic (loss %.9g %.9g %.9g)", tag, s1.loss, s2.loss, st.loss);
        /* accumulation: a second step with scale 1/(2P) twice equals one with 1/P */
        memset(g2, 0, ne * 4);
        float half = 0.5f / (float)s1.n_pred;
        lb_mlm_step(w, g2, half, ids, mask, labels, NULL, msg, sizeof msg);
        lb_mlm_step(w, g2, half, ids, mask, labels, NULL, msg, sizeof msg);
        LB_CHECK(lb_check_array("accumulated = mean", g2, g1, (long)ne, 1e-7, 1e-5), "%s", tag);
        lb_mlm *w1 = NULL;
        if (!lb_mlm_init(&w1, m, B, n, 1, msg, sizeof msg)) {
            lb_mlm_step(w1, g3, 0, ids, mask, labels, NULL, msg, sizeof msg);
            /* float sums split differently across threads: a few ulps */
            LB_CHECK(lb_check_array("1 vs 2 threads", g3, g1, (long)ne, 1e-7, 1e-4), "%s", tag);
            lb_mlm_free(w1);
        }
        /* bad input: refused, grad untouched */
        memcpy(g2, g1, ne * 4);
        labels[0] = c.vocab_size;
        LB_CHECK(lb_mlm_step(w, g2, 0, ids, mask, labels, NULL, msg, sizeof msg) == -1 &&
                 strstr(msg, "labels[0][0]"), "%s: bad label refused: %s", tag, msg);
        labels[0] = LB_MLM_IGNORE;
        ids[1] = -1;
        LB_CHECK(lb_mlm_step(w, g2, 0, ids, mask, labels, NULL, msg, sizeof msg) == -1 &&
                 strstr(msg, "ids[") && strstr(msg, "-1 is outside"), "%s: bad id refused: %s", tag, msg);
        ids[1] = 4;
        mask[B * n - 2] = 0.5f;
        LB_CHECK(lb_mlm_step(w, g2, 0, ids, mask, labels, NULL, msg, sizeof msg) == -1 &&
                 strstr(msg, "mask[") && strstr(msg, "0.5"), "%s: bad mask refused: %s", tag, msg);
        mask[B * n - 2] = 1;
        LB_CHECK(memcmp(g1, g2, ne * 4) == 0, "%s: grad untouched by refused steps", tag);
        /* nothing predicted: loss 0, gradient untouched */
        for (int t = 0; t < B * n; t++) labels[t] = LB_MLM_IGNORE;
        lb_mlm_step(w, g2, 0, ids, mask, labels, &s2, msg, sizeof msg);
        LB_CHECK(s2.n_pred == 0 && s2.loss == 0 && memcmp(g1, g2, ne * 4) == 0, "%s: no predictions", tag);
        free(g1), free(g2), free(g3);
    }
    free(hid);
    lb_encoder_free(e);
    lb_mlm_free(w);
    lb_model_free(m);
}

/* An encoder-only checkpoint (no MLM head) loads with a random head; half a head is
 * refused. Written with lb_st_write from a subset of the table. */
static void test_headless(void) {
    lb_config c = tiny(LB_ATTN_FULL, 0, 0, 0);
    lb_model *m = make(&c, 4), *r = NULL;
    if (!m) return;
    char dir[256], path[300], msg[512];
    for (int variant = 0; variant < 2; variant++) {
        snprintf(dir, sizeof dir, "%s/headless%d", tmpdir, variant);
        LB_CHECK(lb_model_save(dir, m, LB_DTYPE_F32, NULL, msg, sizeof msg) == 0, "save: %s", msg);
        int np = lb_model_param_count(m), k = 0;
        lb_st_out *t = calloc((size_t)np, sizeof *t);
        for (int i = 0; i < np; i++) {
            const lb_param *p = lb_model_param(m, i);
            int head = strncmp(p->name, "lm_head.", 8) == 0;
            if (head && !(variant == 1 && strcmp(p->name, "lm_head.dense.weight") == 0)) continue;
            t[k] = (lb_st_out){.name = p->name, .dtype = LB_ST_F32, .ndim = p->ndim,
                               .data = lb_model_params(m) + p->offset};
            for (int j = 0; j < p->ndim; j++) t[k].shape[j] = p->shape[j];
            k++;
        }
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        LB_CHECK(lb_st_write(path, t, k, NULL, msg, sizeof msg) == 0, "rewrite: %s", msg);
        free(t);
        int rc = lb_model_load(&r, dir, msg, sizeof msg);
        if (variant == 0) {
            LB_CHECK(rc == 0 && !lb_model_has_head(r), "headless checkpoint loads: %s", msg);
            const lb_param *wd = rc ? NULL : lb_model_param_find(r, "lm_head.dense.weight");
            LB_CHECK(wd && memcmp(lb_model_params(r), lb_model_params(m),
                                  sizeof(float) * lb_model_param(m, 0)->count) == 0,
                     "encoder weights intact");
        } else {
            LB_CHECK(rc == -1 && strstr(msg, "incomplete"), "half a head refused: %s", msg);
        }
        lb_model_free(r);
        r = NULL;
    }
    lb_model_free(m);
}

static void test_refusals(void) {
    char msg[512], dir[256];
    lb_config c = tiny(LB_ATTN_LINFORMER, 3, LB_SHARE_KV, 8);
    lb_model *m = make(&c, 2);
    if (!m) return;
    lb_mlm *w = NULL;
    LB_CHECK(lb_mlm_init(&w, m, 1, 9, 1, msg, sizeof msg) == -1 && strstr(msg, "linformer_seq_len"),
             "n > lin_n refused: %s", msg);
    lb_encoder *e = NULL;
    lb_encoder_opts o = {.method = LB_ATTN_FULL};
    LB_CHECK(lb_encoder_init(&e, m, 1, 8, &o, 0, msg, sizeof msg) == -1 && strstr(msg, "linformer"),
             "full attention on a Linformer model refused: %s", msg);
    lb_config bad = c;
    bad.lin_k = 9;
    LB_CHECK(lb_config_check(&bad, msg, sizeof msg) == -1 && strstr(msg, "linformer_k"), "k > N: %s", msg);
    /* a value F16 cannot hold: refused, nothing written */
    lb_model_params(m)[0] = 1e6f;
    snprintf(dir, sizeof dir, "%s/f16bad", tmpdir);
    LB_CHECK(lb_model_save(dir, m, LB_DTYPE_F16, NULL, msg, sizeof msg) == -1 &&
             strstr(msg, "does not fit F16"), "F16 overflow refused: %s", msg);
    char p[300];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    LB_CHECK(access(p, F_OK) != 0, "no file after a refused save");
    lb_model_params(m)[0] = NAN;
    LB_CHECK(lb_model_save(dir, m, LB_DTYPE_F32, NULL, msg, sizeof msg) == -1, "NaN refused");
    LB_CHECK(lb_model_save("/proc/nope/ckpt", m, LB_DTYPE_F32, NULL, msg, sizeof msg) == -1,
             "unwritable folder refused: %s", msg);
    lb_model_free(m);
}

int main(void) {
    if (lb_test_tmpdir(tmpdir)) return 1;
    test_table();
    test_halves();
    test_round_trip(tiny(LB_ATTN_FULL, 0, 0, 0), LB_DTYPE_F32, "full-f32");
    test_round_trip(tiny(LB_ATTN_FULL, 0, 0, 0), LB_DTYPE_BF16, "full-bf16");
    test_round_trip(tiny(LB_ATTN_FULL, 0, 0, 0), LB_DTYPE_F16, "full-f16");
    lb_config bert = tiny(LB_ATTN_FULL, 0, 0, 0);
    bert.type = LB_MODEL_BERT, bert.pad_id = 0, bert.type_vocab = 2, bert.ln_eps = 1e-12f;
    test_round_trip(bert, LB_DTYPE_F32, "bert-f32");
    const lb_share sh[4] = {LB_SHARE_NONE, LB_SHARE_HEADWISE, LB_SHARE_KV, LB_SHARE_LAYERWISE};
    for (int i = 0; i < 4; i++) {
        char tag[64];
        snprintf(tag, sizeof tag, "lin-%s", lb_share_name(sh[i]));
        test_round_trip(tiny(LB_ATTN_LINFORMER, 3, sh[i], 8), LB_DTYPE_F32, tag);
        test_same_forward(tiny(LB_ATTN_LINFORMER, 3, sh[i], 8), 8, tag);
        snprintf(tag, sizeof tag, "lin-%s-slice", lb_share_name(sh[i]));
        test_same_forward(tiny(LB_ATTN_LINFORMER, 3, sh[i], 8), 5, tag);
    }
    test_same_forward(tiny(LB_ATTN_FULL, 0, 0, 0), 7, "full");
    test_same_forward(bert, 1, "bert n=1");
    test_headless();
    test_refusals();
    lb_test_rmtree(tmpdir);
    return lb_test_summary("test_checkpoint");
}
