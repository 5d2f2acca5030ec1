/* `linbench dump`: attention matrices P of a checkpoint as float32 .npy (inputs as
 * for `linbench spectrum`: analysis/spectrum/spec_input.c).
 *
 * One file of shape (S, L_sel, H_sel, n, n) is streamed through lb_npy_writer: each
 * selected (layer, head) block is appended as the encoder hands it over, so memory
 * holds one sequence's activations whatever S is, and the file appears (renamed)
 * only when every element arrived. Beside it: <stem>_ids.npy (S, n) int32,
 * <stem>_mask.npy (S, n) float32 and <stem>.json (metadata and parameters). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_cmd.h"
#include "lb_meta.h"
#include "lb_npy.h"
#include "lb_progress.h"
#include "lb_spectrum.h"
#include "lb_util.h"

/* ---- linbench dump ---- */

typedef struct {
    lb_npy_writer *w;
    const char *layer_on; /* (L) */
    const int *heads;
    int nh, n, failed;
} dump_ctx;

static void dump_cb(void *user, int layer, const float *probs, const float *q, const float *k,
                    const float *v, int B, int H, int n, int cols, int d) {
    dump_ctx *c = user;
    if (c->failed || !c->layer_on[layer]) return;
    for (int i = 0; i < c->nh; i++)
        if (lb_npy_writer_append(c->w, probs + (size_t)c->heads[i] * n * cols,
                                 (size_t)n * cols)) {
            c->failed = 1;
            return;
        }
}

static void dump_usage(FILE *f) {
    fputs("usage: linbench dump --model DIR (--text FILE | --ids FILE) --out FILE.npy [options]\n"
          "Writes P = softmax(QK^T/sqrt(d)) as float32 (S, layers, heads, n, n) to FILE.npy,\n"
          "with FILE_ids.npy (S, n), FILE_mask.npy (S, n) and FILE.json beside it. A\n"
          "Linformer-trained model gives its P-bar (S, layers, heads, n, k) instead.\n"
          "  --n N                sequence length (default min(512, what the positions allow))\n"
          "  --sequences S        how many windows (default 1)\n"
          "  --layers LIST|all    0-based layer subset (default all)\n"
          "  --heads LIST|all     0-based head subset (default all)\n"
          "  --max-gib G          refuse to write more than G GiB (default 8)\n",
          f);
    lb_spec_input_usage(f);
}

static int write_sidecars(const char *stem, int argc, char **argv, const lb_spec_input_opts *o,
                          const lb_windows *win, const int *layers, int nl, const int *heads,
                          int nh, long S, int n, int cols, const int32_t *ids, const float *mask) {
    char path[4200];
    int64_t shape[2] = {S, n};
    snprintf(path, sizeof path, "%s_ids.npy", stem);
    if (lb_npy_write(path, LB_NPY_I32, 2, shape, ids)) return -1;
    snprintf(path, sizeof path, "%s_mask.npy", stem);
    if (lb_npy_write(path, LB_NPY_F32, 2, shape, mask)) return -1;
    snprintf(path, sizeof path, "%s.json", stem);
    lb_atomic a;
    FILE *f = lb_atomic_open(&a, path);
    if (!f) return -1;
    lb_meta m;
    lb_meta_collect(&m);
    fputs("{\n", f);
    lb_meta_write_json(f, &m, argc, argv, 2);
    fprintf(f, ",\n  \"model\": ");
    lb_json_str(f, o->model_dir);
    fprintf(f, ",\n  \"input\": ");
    lb_json_str(f, o->ids_path ? o->ids_path : o->text_path);
    fprintf(f, ",\n  \"policy\": ");
    lb_json_str(f, lb_windows_describe(win));
    fprintf(f, ",\n  \"shape\": [%ld, %d, %d, %d, %d],\n  \"layers\": [", S, nl, nh, n, cols);
    for (int i = 0; i < nl; i++) fprintf(f, "%s%d", i ? ", " : "", layers[i]);
    fputs("],\n  \"heads\": [", f);
    for (int i = 0; i < nh; i++) fprintf(f, "%s%d", i ? ", " : "", heads[i]);
    fputs("],\n  \"padding\": \"rows and columns with mask 0 are padding; padded keys have "
          "probability 0\"", f);
    if (cols != n) /* a Linformer model: P-bar over the k projected keys */
        fprintf(f, ",\n  \"probs\": \"P-bar = softmax(Q (E K)^T / sqrt(d)), (n, k = %d): the "
                "learned projection's attention\"", cols);
    fputs("\n}\n", f);
    return lb_atomic_commit(&a);
}

int lb_cmd_dump(int argc, char **argv) {
    lb_spec_input_opts o;
    lb_spec_input_defaults(&o);
    const char *out = NULL, *layers_s = NULL, *heads_s = NULL;
    long n = 0, S = 1;
    double max_gib = 8;
    static const char *const flags[] = {"help", "per-line", "quiet", NULL};
    char name[64];
    const char *val;
    int rc;
    for (int i = 1; i < argc;) {
        if ((rc = lb_spec_next_opt(argc, argv, &i, flags, name, sizeof name, &val))) return rc;
        if (!strcmp(name, "help")) {
            dump_usage(stdout);
            return EX_OK;
        }
        if (lb_spec_input_opt(&o, name, val, &rc)) {
            if (rc) return rc;
        } else if (!strcmp(name, "out")) out = val;
        else if (!strcmp(name, "layers")) layers_s = val;
        else if (!strcmp(name, "heads")) heads_s = val;
        else if (!strcmp(name, "n")) {
            if (lb_parse_long(val, &n, 1, 1L << 20, "--n")) return EX_USAGE;
        } else if (!strcmp(name, "sequences")) {
            if (lb_parse_long(val, &S, 1, 1L << 30, "--sequences")) return EX_USAGE;
        } else if (!strcmp(name, "max-gib")) {
            if (lb_parse_double(val, &max_gib, 0, 1e6, "--max-gib")) return EX_USAGE;
        } else {
            lb_err("dump: unknown option --%s (see linbench dump --help)", name);
            return EX_USAGE;
        }
    }
    size_t ol = out ? strlen(out) : 0;
    if (ol < 5 || strcmp(out + ol - 4, ".npy")) {
        lb_err("dump: --out FILE.npy is required (a name ending in .npy)");
        return EX_USAGE;
    }
    lb_spec_input in;
    if ((rc = lb_spec_input_load(&in, &o))) return rc;
    const lb_config *c = lb_model_config(in.model);
    lb_windows *win = NULL;
    lb_encoder *enc = NULL;
    lb_npy_writer *w = NULL;
    lb_batch batch = {0};
    int32_t *ids = NULL;
    float *mask = NULL;
    int *layers = calloc((size_t)c->layers, sizeof(int)), *heads = calloc((size_t)c->heads, sizeof(int));
    char *layer_on = calloc((size_t)c->layers, 1), msg[1024], stem[4096];
    snprintf(stem, sizeof stem, "%.*s", (int)(ol - 4), out);
    rc = EX_USAGE;
    if (!layers || !heads || !layer_on) goto oom;
    if (n == 0) n = in.max_n < 512 ? in.max_n : 512;
    if (n > in.max_n) {
        lb_err("dump: --n %ld is past the model's position table (at most %d for %s/config.json)",
               n, in.max_n, o.model_dir);
        goto done;
    }
    int nl = lb_spec_subset(layers, layers_s, c->layers, "--layers");
    int nh = lb_spec_subset(heads, heads_s, c->heads, "--heads");
    if (nl < 0 || nh < 0) goto done;
    for (int i = 0; i < nl; i++) layer_on[layers[i]] = 1;
    if ((rc = lb_spec_windows(&win, &in, &o, (int)n, S))) goto done;
    S = (long)lb_windows_count(win);
    lb_encoder_opts eo = {.method = LB_ATTN_FULL, .threads = in.forward_threads};
    int cols = lb_spec_probs_cols(&eo, &in, (int)n); /* k for a Linformer model's P-bar */
    double gib = (double)S * nl * nh * (double)n * cols * 4 / (1 << 30);
    rc = EX_USAGE;
    if (gib > max_gib) {
        lb_err("dump: %ld x %d x %d x %ld x %d floats is %.2f GiB, over --max-gib %g", S, nl, nh,
               n, cols, gib, max_gib);
        goto done;
    }
    rc = EX_SOFTWARE;
    ids = malloc((size_t)S * n * sizeof *ids);
    mask = malloc((size_t)S * n * sizeof *mask);
    if (!ids || !mask || lb_batch_init(&batch, 1, (int)n, msg, sizeof msg)) goto oom;
    for (long s = 0; s < S; s++) { /* small (S, n): hold it so the sidecars match exactly */
        lb_windows_fill(&batch, win, (size_t)s);
        memcpy(ids + s * n, batch.ids, n * sizeof *ids);
        memcpy(mask + s * n, batch.mask, n * sizeof *mask);
    }
    if (lb_encoder_init(&enc, in.model, 1, (int)n, &eo, 1, msg, sizeof msg)) {
        lb_err("dump: %s", msg);
        goto done;
    }
    int64_t shape[5] = {S, nl, nh, n, cols};
    rc = EX_CANTCREAT;
    if (!(w = lb_npy_writer_open(out, LB_NPY_F32, 5, shape))) goto done;
    dump_ctx ctx = {.w = w, .layer_on = layer_on, .heads = heads, .nh = nh, .n = (int)n};
    lb_progress pg;
    lb_progress_init(&pg, "dump", (double)S, !o.quiet);
    double t0 = lb_now();
    for (long s = 0; s < S; s++) {
        if (lb_encoder_forward(enc, NULL, ids + s * n, NULL, mask + s * n, dump_cb, &ctx, msg,
                               sizeof msg)) {
            lb_progress_done(&pg);
            lb_err("dump: sequence %ld: %s", s, msg);
            rc = EX_DATAERR;
            goto done;
        }
        if (ctx.failed) {
            lb_progress_done(&pg);
            goto done;
        }
        lb_progress_add(&pg, 1);
    }
    lb_progress_done(&pg);
    double t = lb_now() - t0;
    int crc = lb_npy_writer_close(w);
    w = NULL;
    if (crc) goto done;
    if (write_sidecars(stem, argc, argv, &o, win, layers, nl, heads, nh, S, (int)n, cols, ids,
                       mask)) {
        char p[4200];
        unlink(out); /* all or nothing: a dump without its ids is not usable */
        const char *suf[3] = {"_ids.npy", "_mask.npy", ".json"};
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s%s", stem, suf[i]);
            unlink(p);
        }
        goto done;
    }
    printf("wrote %s: (%ld, %d, %d, %ld, %d) float32, %.1f MiB; %.0f tokens/s (forward and "
           "writing)\n", out, S, nl, nh, n, cols, gib * 1024, (double)S * n / t);
    rc = EX_OK;
    goto done;
oom:
    lb_err("dump: out of memory");
    rc = EX_OSERR;
done:
    if (w) lb_npy_writer_abort(w);
    lb_encoder_free(enc);
    lb_windows_free(win);
    lb_batch_free(&batch);
    free(ids), free(mask), free(layers), free(heads), free(layer_on);
    lb_spec_input_free(&in);
    return rc;
}
