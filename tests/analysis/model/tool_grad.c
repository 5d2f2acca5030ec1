/* tool_grad: the C side of tests/analysis/model/test_model_grad.py.
 *
 *   tool_grad init DIR KIND VOCAB HIDDEN LAYERS HEADS FFN MAXPOS ATTN K SHARE LINN SEED
 *                  NOISE DTYPE
 *       random model (lb_model_init_random), then every parameter += N(0, NOISE²)
 *       so that biases and LayerNorms are not trivially 0/1; saved with
 *       lb_model_save in DTYPE (f32, f16, bf16). ATTN full|linformer.
 *   tool_grad step DIR IN OUT THREADS
 *       IN: int32 B, int32 n, ids (B·n int32), mask (B·n float32), labels (B·n int32).
 *       Loads DIR, runs lb_mlm_step (scale 0: mean loss) and writes the gradient as
 *       OUT (safetensors, F32, the parameter names); prints "loss L n_pred N correct C".
 *       Also runs lb_mlm_eval and fails when its loss differs by a bit.
 * Exit 0, or a sysexits code with a message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lb_model.h"
#include "lb_safetensors.h"
#include "lb_train_model.h"
#include "lb_util.h"

static int do_init(char **a) {
    lb_config c = {0};
    c.type = strcmp(a[0], "bert") == 0 ? LB_MODEL_BERT : LB_MODEL_ROBERTA;
    c.vocab_size = atoi(a[1]);
    c.hidden = atoi(a[2]);
    c.layers = atoi(a[3]);
    c.heads = atoi(a[4]);
    c.intermediate = atoi(a[5]);
    c.max_pos = atoi(a[6]);
    c.type_vocab = c.type == LB_MODEL_BERT ? 2 : 1;
    c.pad_id = c.type == LB_MODEL_BERT ? 0 : 1;
    c.ln_eps = c.type == LB_MODEL_BERT ? 1e-12f : 1e-5f;
    if (lb_attn_method_parse(a[7], &c.attn) || lb_share_parse(a[9], &c.lin_share)) {
        lb_err("bad attention '%s' or share '%s'", a[7], a[9]);
        return EX_USAGE;
    }
    c.lin_k = atoi(a[8]);
    c.lin_n = atoi(a[10]);
    uint64_t seed = strtoull(a[11], NULL, 10);
    double noise = atof(a[12]);
    lb_weight_dtype dt = !strcmp(a[13], "f16") ? LB_DTYPE_F16 : !strcmp(a[13], "bf16") ? LB_DTYPE_BF16 : LB_DTYPE_F32;
    char msg[1024];
    lb_model *m;
    if (lb_model_init_random(&m, &c, seed, msg, sizeof msg)) {
        lb_err("%s", msg);
        return EX_DATAERR;
    }
    float *p = lb_model_params(m);
    size_t n = lb_model_param_elems(m);
    lb_rng r;
    lb_rng_seed(&r, seed + 7);
    for (size_t i = 0; i < n; i++) p[i] += (float)(noise * lb_rng_normal(&r));
    const char *md[] = {"producer", "tool_grad", NULL};
    int rc = lb_model_save(a[-1], m, dt, md, msg, sizeof msg);
    if (rc) lb_err("%s", msg);
    lb_model_free(m);
    return rc ? EX_CANTCREAT : 0;
}

static int do_step(const char *dir, const char *in, const char *out, int threads) {
    char msg[1024];
    int32_t hdr[2];
    FILE *f = fopen(in, "rb");
    if (!f || fread(hdr, 4, 2, f) != 2 || hdr[0] < 1 || hdr[1] < 1) {
        lb_err("%s: cannot read B, n", in);
        if (f) fclose(f);
        return EX_NOINPUT;
    }
    size_t T = (size_t)hdr[0] * (size_t)hdr[1];
    int32_t *ids = malloc(T * 4), *labels = malloc(T * 4);
    float *mask = malloc(T * 4);
    int ok = ids && labels && mask && fread(ids, 4, T, f) == T && fread(mask, 4, T, f) == T &&
             fread(labels, 4, T, f) == T;
    fclose(f);
    lb_model *m = NULL;
    lb_mlm *w = NULL;
    float *g = NULL;
    lb_st_out *t = NULL;
    int rc = EX_DATAERR;
    if (!ok) {
        lb_err("%s: truncated", in);
        goto done;
    }
    if (lb_model_load(&m, dir, msg, sizeof msg) ||
        lb_mlm_init(&w, m, hdr[0], hdr[1], threads, msg, sizeof msg)) {
        lb_err("%s", msg);
        goto done;
    }
    size_t ne = lb_model_param_elems(m);
    g = calloc(ne, sizeof *g);
    lb_mlm_stats st, st2;
    if (!g || lb_mlm_step(w, g, 0.0f, ids, mask, labels, &st, msg, sizeof msg) ||
        lb_mlm_eval(w, ids, mask, labels, &st2, msg, sizeof msg)) {
        lb_err("%s", g ? msg : "out of memory");
        goto done;
    }
    if (st.loss != st2.loss || st.n_correct != st2.n_correct) {
        lb_err("eval loss %.17g differs from step loss %.17g", st2.loss, st.loss);
        goto done;
    }
    int np = lb_model_param_count(m);
    t = calloc((size_t)np, sizeof *t);
    for (int i = 0; t && i < np; i++) {
        const lb_param *p = lb_model_param(m, i);
        t[i] = (lb_st_out){.name = p->name, .dtype = LB_ST_F32, .ndim = p->ndim, .data = g + p->offset};
        for (int j = 0; j < p->ndim; j++) t[i].shape[j] = p->shape[j];
    }
    if (!t || lb_st_write(out, t, np, NULL, msg, sizeof msg)) {
        lb_err("%s", t ? msg : "out of memory");
        rc = EX_CANTCREAT;
        goto done;
    }
    printf("loss %.17g n_pred %ld correct %ld\n", st.loss, st.n_pred, st.n_correct);
    rc = 0;
done:
    free(t);
    free(g);
    lb_mlm_free(w);
    lb_model_free(m);
    free(ids);
    free(labels);
    free(mask);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 17 && !strcmp(argv[1], "init")) return do_init(argv + 3);
    if (argc == 6 && !strcmp(argv[1], "step")) return do_step(argv[2], argv[3], argv[4], atoi(argv[5]));
    lb_err("usage: tool_grad init DIR KIND V H L HEADS FFN MAXPOS ATTN K SHARE LINN SEED NOISE DTYPE\n"
           "       tool_grad step DIR IN OUT THREADS");
    return EX_USAGE;
}
