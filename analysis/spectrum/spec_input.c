/* The input handling `linbench dump` and `linbench spectrum` share: options, the
 * model, text or ids into documents, windows, layer/head subsets, thread counts. */
#include <cblas.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_spectrum.h"
#include "lb_util.h"

void lb_spec_input_defaults(lb_spec_input_opts *o) {
    *o = (lb_spec_input_opts){0};
    o->byte_offset = -1;
    o->bos = o->eos = o->pad = -1;
    o->random_init = -1;
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
          "  --forward-threads T  threads of the forward pass, OpenBLAS and attention (default:\n"
          "                       --threads; on a busy machine 1, or OMP_WAIT_POLICY=passive)\n"
          "  --quiet              no progress bar\n"
          "  --random-init SEED   the model's architecture with random weights (a control)\n",
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
    } else if (!strcmp(name, "random-init")) {
        if (lb_parse_long(arg, &o->random_init, 0, (1L << 62), "--random-init")) *rc = EX_USAGE;
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

static int resolve_specials(lb_spec_input *in, const lb_spec_input_opts *o, const lb_config *c);

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
    if (lb_trained_read(&in->trained, o->model_dir, lb_model_config(in->model), msg, sizeof msg)) {
        lb_err("%s", msg);
        lb_spec_input_free(in);
        return EX_DATAERR;
    }
    if (o->random_init >= 0) { /* same config, fresh weights */
        lb_config cfg = *lb_model_config(in->model);
        lb_model_free(in->model);
        if (lb_model_init_random(&in->model, &cfg, (uint64_t)o->random_init, msg, sizeof msg)) {
            in->model = NULL;
            lb_err("--random-init: %s", msg);
            lb_spec_input_free(in);
            return EX_OSERR;
        }
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
    return resolve_specials(in, o, c);
}

/* bos/eos/pad: given, else the tokenizer's, else the model family's. Ready sequences
 * (a 2-D ids file) are used as they are: only pad (for the mask) matters there, so
 * bos and eos are neither checked nor recorded (-1). */
static int resolve_specials(lb_spec_input *in, const lb_spec_input_opts *o, const lb_config *c) {
    int tb = -1, te = -1, tp = -1, ready = in->docs.ready_n > 0;
    if (in->tok) lb_tokenizer_specials(in->tok, &tb, &te, &tp);
    int roberta = c->type == LB_MODEL_ROBERTA;
    in->bos = ready ? -1 : o->bos >= 0 ? (int)o->bos : tb >= 0 ? tb : roberta ? 0 : 101;
    in->eos = ready ? -1 : o->eos >= 0 ? (int)o->eos : te >= 0 ? te : roberta ? 2 : 102;
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


int lb_spec_probs_cols(lb_encoder_opts *eo, const lb_spec_input *in, int n) {
    lb_encoder_opts_for_model(eo, in->model);
    return eo->method == LB_ATTN_LINFORMER ? eo->k : n;
}
