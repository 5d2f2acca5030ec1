/* tool_forward: run the encoder on a checkpoint folder for the Python oracle tests.
 *
 *   tool_forward MODEL_DIR IDS.npy HIDDEN_OUT.npy [options]
 *     --probs P.npy      write probabilities (L,B,H,n,cols)
 *     --qkv DIR          write DIR/q.npy, k.npy, v.npy, each (L,B,H,n,d)
 *     --mask M.npy       (B,n) 1 real / 0 padding (float or int)
 *     --types T.npy      (B,n) token types (int)
 *     --method full|stream|linformer  --k K  --share none|headwise|kv|layerwise  --seed S
 *     --threads T
 *     (a model trained with Linformer always runs its learned E/F: --method, --k and
 *     --share are then taken from its config.json)
 *
 * ids must be an int32/int64 .npy of shape (B,n). Exit 0, or a sysexits code with one
 * message on stderr; no output file is left behind on failure. */
#include <stdlib.h>
#include <string.h>

#include "lb_model.h"
#include "lb_npy.h"
#include "lb_util.h"

typedef struct {
    lb_npy_writer *p, *q, *k, *v;
    int failed;
} sink;

static void on_probs(void *user, int layer, const float *probs, const float *q, const float *k,
                     const float *v, int B, int H, int n, int cols, int d) {
    sink *s = user;
    size_t pe = (size_t)B * H * n * cols, qe = (size_t)B * H * n * d;
    if (s->p && lb_npy_writer_append(s->p, probs, pe)) s->failed = 1;
    if (s->q && (lb_npy_writer_append(s->q, q, qe) || lb_npy_writer_append(s->k, k, qe) ||
                 lb_npy_writer_append(s->v, v, qe)))
        s->failed = 1;
    (void)layer;
}

/* Load a (B,n) integer (or, for the mask, any numeric) array into *out (B·n). */
static int load_2d(const char *path, int want_float, int B, int n, void **out, int *Bo, int *no) {
    lb_npy a;
    char msg[512];
    if (lb_npy_read(&a, path, msg, sizeof msg)) {
        lb_err("%s", msg);
        return EX_DATAERR;
    }
    if (a.ndim != 2 || (B >= 0 && (a.shape[0] != B || a.shape[1] != n)) || a.shape[0] < 1 ||
        a.shape[1] < 1 || a.shape[0] > 1 << 20 || a.shape[1] > 1 << 24) {
        lb_err("%s: shape must be (B,n)%s", path, B >= 0 ? " matching the ids" : "");
        lb_npy_free(&a);
        return EX_DATAERR;
    }
    if (!want_float && (a.dtype == LB_NPY_F32 || a.dtype == LB_NPY_F64)) {
        lb_err("%s: descr must be an integer type ('<i4' or '<i8')", path);
        lb_npy_free(&a);
        return EX_DATAERR;
    }
    void *o = malloc(a.count * 4);
    if (!o) {
        lb_npy_free(&a);
        lb_err("out of memory");
        return EX_OSERR;
    }
    for (size_t i = 0; i < a.count; i++) {
        double v = a.dtype == LB_NPY_F32   ? ((float *)a.data)[i]
                   : a.dtype == LB_NPY_F64 ? ((double *)a.data)[i]
                   : a.dtype == LB_NPY_I32 ? ((int32_t *)a.data)[i]
                                           : (double)((int64_t *)a.data)[i];
        if (want_float) {
            ((float *)o)[i] = (float)v;
        } else {
            if (!(v >= -2147483648.0 && v <= 2147483647.0)) {
                lb_err("%s: element %zu = %g does not fit int32", path, i, v);
                free(o);
                lb_npy_free(&a);
                return EX_DATAERR;
            }
            ((int32_t *)o)[i] = (int32_t)v;
        }
    }
    *Bo = (int)a.shape[0];
    *no = (int)a.shape[1];
    lb_npy_free(&a);
    *out = o;
    return 0;
}

int main(int argc, char **argv) {
    lb_prog_name = "tool_forward";
    if (argc < 4) {
        lb_err("usage: tool_forward MODEL_DIR IDS.npy HIDDEN_OUT.npy [--probs P.npy] [--qkv DIR] "
               "[--mask M.npy] [--types T.npy] [--method M] [--k K] [--share S] [--seed S]");
        return EX_USAGE;
    }
    const char *probs_path = NULL, *qkv = NULL, *mask_path = NULL, *types_path = NULL;
    lb_encoder_opts o = {.method = LB_ATTN_FULL, .share = LB_SHARE_LAYERWISE, .k = 0, .seed = 1};
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
        if (!v) {
            lb_err("option %s needs a value", a);
            return EX_USAGE;
        }
        i++;
        if (!strcmp(a, "--probs")) probs_path = v;
        else if (!strcmp(a, "--qkv")) qkv = v;
        else if (!strcmp(a, "--mask")) mask_path = v;
        else if (!strcmp(a, "--types")) types_path = v;
        else if (!strcmp(a, "--method")) {
            if (lb_attn_method_parse(v, &o.method)) {
                lb_err("--method: unknown '%s'", v);
                return EX_USAGE;
            }
        } else if (!strcmp(a, "--share")) {
            if (lb_share_parse(v, &o.share)) {
                lb_err("--share: unknown '%s'", v);
                return EX_USAGE;
            }
        } else if (!strcmp(a, "--k")) {
            if (lb_parse_long(v, &x, 1, 1 << 24, "--k")) return EX_USAGE;
            o.k = (int)x;
        } else if (!strcmp(a, "--seed")) {
            if (lb_parse_long(v, &x, 0, 1L << 62, "--seed")) return EX_USAGE;
            o.seed = (uint64_t)x;
        } else if (!strcmp(a, "--threads")) {
            if (lb_parse_long(v, &x, 0, 1024, "--threads")) return EX_USAGE;
            o.threads = (int)x;
        } else {
            lb_err("unknown option %s", a);
            return EX_USAGE;
        }
    }
    char msg[1024];
    int rc = 0, B, n, B2, n2;
    int32_t *ids = NULL, *types = NULL;
    float *mask = NULL, *hidden = NULL;
    lb_model *m = NULL;
    lb_encoder *e = NULL;
    sink s = {0};
    if ((rc = load_2d(argv[2], 0, -1, 0, (void **)&ids, &B, &n))) return rc;
    if (mask_path && (rc = load_2d(mask_path, 1, B, n, (void **)&mask, &B2, &n2))) goto out;
    if (types_path && (rc = load_2d(types_path, 0, B, n, (void **)&types, &B2, &n2))) goto out;
    if (lb_model_load(&m, argv[1], msg, sizeof msg)) {
        lb_err("%s", msg);
        rc = EX_DATAERR;
        goto out;
    }
    const lb_config *c = lb_model_config(m);
    int want = probs_path || qkv;
    lb_encoder_opts_for_model(&o, m); /* a Linformer-trained model runs its own E/F */
    if (lb_encoder_init(&e, m, B, n, &o, want, msg, sizeof msg)) {
        lb_err("%s", msg);
        rc = EX_DATAERR;
        goto out;
    }
    int d = c->hidden / c->heads, cols = o.method == LB_ATTN_LINFORMER ? o.k : n;
    int64_t ps[5] = {c->layers, B, c->heads, n, cols}, qs[5] = {c->layers, B, c->heads, n, d};
    if (probs_path && !(s.p = lb_npy_writer_open(probs_path, LB_NPY_F32, 5, ps))) {
        rc = EX_CANTCREAT;
        goto out;
    }
    if (qkv) {
        char p[3][4096];
        for (int j = 0; j < 3; j++) snprintf(p[j], sizeof p[j], "%s/%c.npy", qkv, "qkv"[j]);
        s.q = lb_npy_writer_open(p[0], LB_NPY_F32, 5, qs);
        s.k = lb_npy_writer_open(p[1], LB_NPY_F32, 5, qs);
        s.v = lb_npy_writer_open(p[2], LB_NPY_F32, 5, qs);
        if (!s.q || !s.k || !s.v) {
            rc = EX_CANTCREAT;
            goto out;
        }
    }
    hidden = malloc(sizeof(float) * (size_t)B * n * c->hidden);
    if (!hidden) {
        lb_err("out of memory");
        rc = EX_OSERR;
        goto out;
    }
    if (lb_encoder_forward(e, hidden, ids, types, mask, want ? on_probs : NULL, &s, msg, sizeof msg)) {
        lb_err("%s", msg);
        rc = EX_DATAERR;
        goto out;
    }
    if (s.failed) {
        rc = EX_IOERR;
        goto out;
    }
out:
    /* commit the streamed files only when everything succeeded */
    if (rc == 0 && s.p && lb_npy_writer_close(s.p)) rc = EX_IOERR;
    else if (s.p && rc) lb_npy_writer_abort(s.p);
    lb_npy_writer *w[3] = {s.q, s.k, s.v};
    for (int j = 0; j < 3; j++) {
        if (!w[j]) continue;
        if (rc == 0) {
            if (lb_npy_writer_close(w[j])) rc = EX_IOERR;
        } else {
            lb_npy_writer_abort(w[j]);
        }
    }
    /* hidden states last, so a run that failed anywhere leaves no file at all */
    if (rc == 0) {
        int64_t hs[3] = {B, n, lb_model_config(m)->hidden};
        if (lb_npy_write(argv[3], LB_NPY_F32, 3, hs, hidden)) rc = EX_CANTCREAT;
    }
    free(hidden);
    free(ids);
    free(mask);
    free(types);
    lb_encoder_free(e);
    lb_model_free(m);
    return rc;
}
