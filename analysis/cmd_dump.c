/* `linbench dump`: attention matrices P of a checkpoint as float32 .npy, and the
 * input handling it shares with `linbench spectrum` (model, text or ids, windows).
 *
 * One file of shape (S, L_sel, H_sel, n, n) is streamed through lb_npy_writer: each
 * selected (layer, head) block is appended as the encoder hands it over, so memory
 * holds one sequence's activations whatever S is, and the file appears (renamed)
 * only when every element arrived. Beside it: <stem>_ids.npy (S, n) int32,
 * <stem>_mask.npy (S, n) float32 and <stem>.json (metadata and parameters). */
#include <cblas.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_cmd.h"
#include "lb_meta.h"
#include "lb_npy.h"
#include "lb_progress.h"
#include "lb_spectrum.h"
#include "lb_util.h"

/* ---- shared input handling ---- */

void lb_spec_input_defaults(lb_spec_input_opts *o) {
    *o = (lb_spec_input_opts){0};
    o->byte_offset = -1;
    o->bos = o->eos = o->pad = -1;
    lb_win_opts_default(&o->win);
}

void lb_spec_input_usage(FILE *f) {
    fputs("  --model DIR          HuggingFace folder: config.json + model.safetensors\n"
          "  --text FILE          UTF-8 text, documents split on blank lines (--per-line: lines)\n"
          "  --ids FILE           token ids: .npy (1-D stream, 2-D ready sequences) or integers\n"
          "  --tokenizer DIR      vocab.json + merges.txt (default: the model folder)\n"
          "  --byte-tokenizer OFF byte-level ids (byte + OFF) instead of BPE\n"
          "  --policy pack|pad    pack: documents joined, cut into windows; pad: one per document\n"
          "  --stride S           pack: tokens between window starts (default n - 2)\n"
          "  --seed S             window choice and order (default 1)\n"
          "  --bos/--eos/--pad ID special ids (default: tokenizer, else RoBERTa 0/2 or BERT\n"
          "                       101/102, pad from config.json)\n"
          "  --threads T          worker threads (default: all)\n"
          "  --forward-threads T  threads of the forward pass, OpenBLAS and attention (spectrum:\n"
          "                       default 1, the analysis of the heads runs in parallel\n"
          "                       instead; dump: --threads)\n"
          "  --quiet              no progress bar\n",
          f);
}

int lb_spec_next_opt(int argc, char **argv, int *i, const char *const *flags, char *name,
                     size_t namelen, const char **val) {
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) || !a[2]) {
        lb_err("%s: unexpected argument '%s' (options start with --; see --help)", argv[0], a);
        return EX_USAGE;
    }
    a += 2;
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    if (len >= namelen) {
        lb_err("%s: unknown option '--%s'", argv[0], a);
        return EX_USAGE;
    }
    memcpy(name, a, len);
    name[len] = 0;
    (*i)++;
    for (int f = 0; flags[f]; f++)
        if (!strcmp(name, flags[f])) {
            if (eq) {
                lb_err("%s: --%s takes no value", argv[0], name);
                return EX_USAGE;
            }
            *val = NULL;
            return 0;
        }
    if (eq) {
        *val = eq + 1;
    } else if (*i < argc) {
        *val = argv[(*i)++];
    } else {
        lb_err("%s: --%s needs a value", argv[0], name);
        return EX_USAGE;
    }
    return 0;
}

int lb_spec_input_opt(lb_spec_input_opts *o, const char *name, const char *arg, int *rc) {
    long v;
    *rc = 0;
    if (!strcmp(name, "model")) o->model_dir = arg;
    else if (!strcmp(name, "text")) o->text_path = arg;
    else if (!strcmp(name, "ids")) o->ids_path = arg;
    else if (!strcmp(name, "tokenizer")) o->tok_dir = arg;
    else if (!strcmp(name, "per-line")) o->per_line = 1;
    else if (!strcmp(name, "quiet")) o->quiet = 1;
    else if (!strcmp(name, "byte-tokenizer")) {
        if (lb_parse_long(arg, &v, 0, 1 << 20, "--byte-tokenizer")) *rc = EX_USAGE;
        else o->byte_offset = (int)v;
    } else if (!strcmp(name, "policy")) {
        if (!strcmp(arg, "pack")) o->win.policy = LB_WIN_PACK;
        else if (!strcmp(arg, "pad")) o->win.policy = LB_WIN_PAD;
        else {
            lb_err("--policy: expected pack or pad, got '%s'", arg);
            *rc = EX_USAGE;
        }
    } else if (!strcmp(name, "stride")) {
        if (lb_parse_long(arg, &o->win.stride, 1, 1L << 30, "--stride")) *rc = EX_USAGE;
    } else if (!strcmp(name, "seed")) {
        if (lb_parse_long(arg, &v, 0, (1L << 62), "--seed")) *rc = EX_USAGE;
        else o->win.seed = (uint64_t)v;
    } else if (!strcmp(name, "bos") || !strcmp(name, "eos") || !strcmp(name, "pad")) {
        char what[8];
        snprintf(what, sizeof what, "--%s", name);
        if (lb_parse_long(arg, &v, 0, 1L << 30, what)) *rc = EX_USAGE;
        else *(name[0] == 'b' ? &o->bos : name[0] == 'e' ? &o->eos : &o->pad) = v;
    } else if (!strcmp(name, "forward-threads")) {
        if (lb_parse_long(arg, &v, 1, 1024, "--forward-threads")) *rc = EX_USAGE;
        else o->forward_threads = (int)v;
    } else if (!strcmp(name, "threads")) {
        if (lb_parse_long(arg, &v, 1, 1024, "--threads")) *rc = EX_USAGE;
        else o->threads = (int)v;
    } else
        return 0;
    return 1;
}

int lb_spec_max_n(const lb_config *c) {
    return c->type == LB_MODEL_ROBERTA ? c->max_pos - c->pad_id - 1 : c->max_pos;
}

void lb_spec_input_free(lb_spec_input *in) {
    lb_model_free(in->model);
    lb_tokenizer_free(in->tok);
    lb_docs_free(&in->docs);
    *in = (lb_spec_input){0};
}

int lb_spec_input_load(lb_spec_input *in, const lb_spec_input_opts *o) {
    char msg[1024];
    struct stat st;
    *in = (lb_spec_input){0};
    lb_docs_init(&in->docs);
    if (!o->model_dir) {
        lb_err("--model DIR is required");
        return EX_USAGE;
    }
    if (!o->text_path == !o->ids_path) {
        lb_err("give exactly one of --text FILE or --ids FILE");
        return EX_USAGE;
    }
    /* OpenBLAS's OpenMP build follows omp_get_max_threads(), and setting its count
     * sets OpenMP's: resolve --threads first; our own parallel regions then name
     * their team size (in->threads) explicitly, and BLAS keeps forward_threads (the
     * encoder gets it too). */
    in->threads = o->threads > 0 ? o->threads : omp_get_max_threads();
    in->forward_threads = o->forward_threads > 0 ? o->forward_threads : in->threads;
    openblas_set_num_threads(in->forward_threads);
    if (stat(o->model_dir, &st) || !S_ISDIR(st.st_mode)) {
        lb_err("--model %s: not a directory (%s)", o->model_dir,
               errno ? strerror(errno) : "a file");
        return EX_NOINPUT;
    }
    if (lb_model_load(&in->model, o->model_dir, msg, sizeof msg)) {
        lb_err("%s", msg);
        return EX_DATAERR;
    }
    const lb_config *c = lb_model_config(in->model);
    in->max_n = lb_spec_max_n(c);
    int rc;
    if (o->ids_path) {
        rc = lb_docs_read_ids(&in->docs, o->ids_path, c->vocab_size, msg, sizeof msg);
    } else {
        if (o->byte_offset >= 0) {
            rc = lb_tokenizer_bytes(&in->tok, o->byte_offset, msg, sizeof msg);
        } else {
            const char *dir = o->tok_dir ? o->tok_dir : o->model_dir;
            rc = lb_tokenizer_for_model(&in->tok, dir, msg, sizeof msg);
            if (rc == 1) {
                lb_err("--text needs a tokenizer: %s (or --tokenizer DIR, --byte-tokenizer "
                       "OFFSET)", msg);
                lb_spec_input_free(in);
                return EX_NOINPUT;
            }
        }
        if (!rc)
            rc = lb_docs_read_text(&in->docs, o->text_path, in->tok, o->per_line, msg, sizeof msg);
    }
    if (rc) {
        lb_err("%s", msg);
        lb_spec_input_free(in);
        return access(o->ids_path ? o->ids_path : o->text_path, R_OK) ? EX_NOINPUT : EX_DATAERR;
    }
    int tb = -1, te = -1, tp = -1;
    if (in->tok) lb_tokenizer_specials(in->tok, &tb, &te, &tp);
    int roberta = c->type == LB_MODEL_ROBERTA;
    in->bos = o->bos >= 0 ? (int)o->bos : tb >= 0 ? tb : roberta ? 0 : 101;
    in->eos = o->eos >= 0 ? (int)o->eos : te >= 0 ? te : roberta ? 2 : 102;
    in->pad = o->pad >= 0 ? (int)o->pad : tp >= 0 ? tp : c->pad_id;
    const char *nm[3] = {"bos", "eos", "pad"};
    int id[3] = {in->bos, in->eos, in->pad};
    for (int s = 0; s < 3; s++)
        if (id[s] >= c->vocab_size) {
            lb_err("%s id %d is past the model's vocabulary (%d ids, %s/config.json): give "
                   "--%s", nm[s], id[s], c->vocab_size, o->model_dir, nm[s]);
            lb_spec_input_free(in);
            return EX_USAGE;
        }
    return 0;
}

int lb_spec_windows(lb_windows **out, const lb_spec_input *in, const lb_spec_input_opts *o, int n,
                    long max_count) {
    char msg[1024];
    lb_win_opts w = o->win;
    w.n = n;
    w.max_count = max_count;
    w.bos = in->bos;
    w.eos = in->eos;
    w.pad = in->pad;
    if (lb_windows_init(out, &in->docs, &w, msg, sizeof msg)) {
        lb_err("%s", msg);
        return EX_DATAERR;
    }
    return 0;
}

int lb_spec_subset(int *list, const char *s, int count, const char *what) {
    if (!s || !strcmp(s, "all")) {
        for (int i = 0; i < count; i++) list[i] = i;
        return count;
    }
    long *v = calloc((size_t)count + 1, sizeof *v);
    if (!v) return -1;
    int got = lb_parse_list(s, v, count + 1, 0, count - 1, what);
    int n = 0;
    if (got > count) {
        lb_err("%s: more entries than the model's %d", what, count);
        got = -1;
    }
    if (got >= 0) { /* ascending and unique: the order the encoder produces them */
        char *seen = calloc((size_t)count, 1);
        for (int i = 0; seen && i < got; i++) seen[v[i]] = 1;
        for (int i = 0; seen && i < count; i++)
            if (seen[i]) list[n++] = i;
        free(seen);
    }
    free(v);
    return got < 0 ? -1 : n;
}

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
          "with FILE_ids.npy (S, n), FILE_mask.npy (S, n) and FILE.json beside it.\n"
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
                          int nh, long S, int n, const int32_t *ids, const float *mask) {
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
    fprintf(f, ",\n  \"shape\": [%ld, %d, %d, %d, %d],\n  \"layers\": [", S, nl, nh, n, n);
    for (int i = 0; i < nl; i++) fprintf(f, "%s%d", i ? ", " : "", layers[i]);
    fputs("],\n  \"heads\": [", f);
    for (int i = 0; i < nh; i++) fprintf(f, "%s%d", i ? ", " : "", heads[i]);
    fputs("],\n  \"padding\": \"rows and columns with mask 0 are padding; padded keys have "
          "probability 0\"\n}\n",
          f);
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
    double gib = (double)S * nl * nh * (double)n * n * 4 / (1 << 30);
    rc = EX_USAGE;
    if (gib > max_gib) {
        lb_err("dump: %ld x %d x %d x %ld x %ld floats is %.2f GiB, over --max-gib %g", S, nl, nh,
               n, n, gib, max_gib);
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
    lb_encoder_opts eo = {.method = LB_ATTN_FULL, .threads = in.forward_threads};
    if (lb_encoder_init(&enc, in.model, 1, (int)n, &eo, 1, msg, sizeof msg)) {
        lb_err("dump: %s", msg);
        goto done;
    }
    int64_t shape[5] = {S, nl, nh, n, n};
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
    if (write_sidecars(stem, argc, argv, &o, win, layers, nl, heads, nh, S, (int)n, ids, mask)) {
        char p[4200];
        unlink(out); /* all or nothing: a dump without its ids is not usable */
        const char *suf[3] = {"_ids.npy", "_mask.npy", ".json"};
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s%s", stem, suf[i]);
            unlink(p);
        }
        goto done;
    }
    printf("wrote %s: (%ld, %d, %d, %ld, %ld) float32, %.1f MiB; %.0f tokens/s (forward and "
           "writing)\n", out, S, nl, nh, n, n, gib * 1024, (double)S * n / t);
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
