/* linbench eval: masked-LM validation of a model folder by length and position bucket
 * (lb_eval.h), written as one JSON file for the model card. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_cmd.h"
#include "lb_eval.h"
#include "lb_util.h"

#define MAX_N 16

typedef struct {
    lb_eval_opts e;
    int n[MAX_N];
    const char *out;
} eval_args;

static void usage(FILE *f) {
    fprintf(f,
            "usage: linbench eval --model DIR --text FILE --n 128,512 --out FILE.json [options]\n"
            "Masked-token validation loss of a model folder at each n on the same tokens (the\n"
            "first --max-tokens of FILE, whole documents, packed into windows), per position\n"
            "bucket of the window, with 95%% intervals over windows; and the position\n"
            "embeddings' norm and neighbour cosine per bucket.\n"
            "options: --max-tokens 102400 (0 = all)  --buckets 4  --passes 2 (masking draws)\n"
            "         --seed 1  --threads 0 (all)\n");
}

static int parse(eval_args *a, int argc, char **argv) {
    static const struct option opts[] = {
        {"model", 1, 0, 'm'}, {"text", 1, 0, 't'},    {"n", 1, 0, 'n'},      {"out", 1, 0, 'o'},
        {"max-tokens", 1, 0, 'T'}, {"buckets", 1, 0, 'b'}, {"passes", 1, 0, 'p'},
        {"seed", 1, 0, 's'}, {"threads", 1, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    lb_eval_opts_default(&a->e);
    long v, list[MAX_N];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->e.model = optarg; break;
        case 't': a->e.text = optarg; break;
        case 'o': a->out = optarg; break;
        case 'n': {
            int k = lb_parse_list(optarg, list, MAX_N, 3, 1 << 20, "--n");
            if (k < 0) return EX_USAGE;
            for (int i = 0; i < k; i++) a->n[i] = (int)list[i];
            a->e.n = a->n;
            a->e.n_count = k;
            break;
        }
        case 'T': if (lb_parse_long(optarg, &v, 0, 1L << 40, "--max-tokens")) return EX_USAGE; a->e.max_tokens = v; break;
        case 'b': if (lb_parse_long(optarg, &v, 1, LB_EVAL_MAX_BUCKETS, "--buckets")) return EX_USAGE; a->e.buckets = (int)v; break;
        case 'p': if (lb_parse_long(optarg, &v, 1, 64, "--passes")) return EX_USAGE; a->e.passes = (int)v; break;
        case 's': if (lb_parse_long(optarg, &v, 0, 1L << 62, "--seed")) return EX_USAGE; a->e.seed = (uint64_t)v; break;
        case 'j': if (lb_parse_long(optarg, &v, 0, 1024, "--threads")) return EX_USAGE; a->e.threads = (int)v; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind < argc) return lb_err("eval: unexpected argument '%s'", argv[optind]), EX_USAGE;
    if (!a->e.model || !a->e.text || !a->e.n_count || !a->out)
        return lb_err("eval: --model, --text, --n and --out are required"), EX_USAGE;
    return 0;
}

static cJSON *interval(double est, double lo, double hi) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "mean", est);
    cJSON_AddNumberToObject(o, "lo", lo);
    cJSON_AddNumberToObject(o, "hi", hi);
    return o;
}

static cJSON *to_json(const lb_eval_result *r, const eval_args *a) {
    cJSON *root = cJSON_CreateObject(), *lens = cJSON_AddArrayToObject(root, "lengths");
    cJSON_AddStringToObject(root, "model", a->e.model);
    cJSON_AddStringToObject(root, "text", a->e.text);
    cJSON_AddStringToObject(root, "tokenizer", r->tokenizer);
    cJSON_AddNumberToObject(root, "tokens", (double)r->tokens);
    cJSON_AddNumberToObject(root, "passes", a->e.passes);
    cJSON_AddNumberToObject(root, "seed", (double)a->e.seed);
    for (int i = 0; i < r->n_count; i++) {
        const lb_eval_len *L = &r->len[i];
        cJSON *l = cJSON_CreateObject(), *bs;
        cJSON_AddNumberToObject(l, "n", L->n);
        cJSON_AddNumberToObject(l, "windows", (double)L->windows);
        cJSON_AddItemToObject(l, "loss", interval(L->loss, L->loss_lo, L->loss_hi));
        cJSON_AddNumberToObject(l, "acc", L->acc);
        cJSON_AddNumberToObject(l, "n_pred", (double)L->n_pred);
        bs = cJSON_AddArrayToObject(l, "buckets");
        for (int b = 0; b < a->e.buckets; b++) {
            const lb_eval_bucket *k = &L->bucket[b];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "lo", k->lo);
            cJSON_AddNumberToObject(o, "hi", k->hi);
            cJSON_AddItemToObject(o, "loss", interval(k->loss, k->loss_lo, k->loss_hi));
            cJSON_AddItemToObject(o, "minus_first", interval(k->diff, k->diff_lo, k->diff_hi));
            cJSON_AddNumberToObject(o, "n_pred", (double)k->n_pred);
            cJSON_AddItemToArray(bs, o);
        }
        cJSON_AddItemToArray(lens, l);
    }
    cJSON *ps = cJSON_AddArrayToObject(root, "position_embeddings");
    for (int b = 0; b < r->pos_buckets; b++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "lo", r->pos[b].lo);
        cJSON_AddNumberToObject(o, "hi", r->pos[b].hi);
        cJSON_AddNumberToObject(o, "norm", r->pos[b].norm);
        cJSON_AddNumberToObject(o, "neighbour_cos", r->pos[b].neighbour_cos);
        cJSON_AddItemToArray(ps, o);
    }
    return root;
}

static int write_out(const cJSON *root, const char *path) {
    char *text = cJSON_Print(root);
    if (!text) return lb_err("eval: out of memory"), EX_OSERR;
    lb_atomic at;
    FILE *f = lb_atomic_open(&at, path);
    if (!f) {
        free(text);
        return EX_CANTCREAT;
    }
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return lb_atomic_commit(&at) ? EX_IOERR : EX_OK;
}

int lb_cmd_eval(int argc, char **argv) {
    eval_args a = {0};
    int rc = parse(&a, argc, argv);
    if (rc) return rc < 0 ? EX_OK : rc;
    lb_eval_result r;
    char msg[1024];
    if (lb_eval_run(&r, &a.e, msg, sizeof msg)) {
        lb_err("eval: %s", msg);
        lb_eval_free(&r);
        return EX_DATAERR;
    }
    cJSON *root = to_json(&r, &a);
    lb_eval_free(&r);
    rc = write_out(root, a.out);
    cJSON_Delete(root);
    return rc;
}
