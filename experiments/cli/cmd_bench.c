/* linbench bench: command line, presets and argument checks; the protocols live in
 * bench_layer.c and bench_table3.c, the outputs in bench_output.c. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_bench.h"
#include "lb_cmd.h"
#include "lb_model.h"
#include "lb_progress.h"
#include "lb_util.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: linbench bench [OPTIONS]\n"
        "Time full (materialised), streaming and Linformer attention; write raw samples,\n"
        "per-point statistics and run metadata under --out.\n\n"
        "  --preset NAME     quick (seconds, for tests), default (~10 min), paper (the\n"
        "                    paper's grid n = 512..65536, k = 128..2048; hours)\n"
        "  --protocol P      layer, table3 or both (default: both)\n"
        "layer protocol (one attention layer):\n"
        "  -n, --n LIST      sequence lengths, e.g. 512,1024,4096 (1k = 1024)\n"
        "  -k, --k LIST      Linformer projected lengths (cells with k > n are skipped)\n"
        "  -d, --d LIST      head dimensions          --heads LIST   heads\n"
        "  --batch LIST      batch sizes              --threads LIST worker threads\n"
        "  --methods LIST    of full,stream,linformer (default: all three)\n"
        "  --share NAME      Linformer sharing none|headwise|kv|layerwise (default kv)\n"
        "table3 protocol (whole RoBERTa-base-shaped encoder, largest batch under --budget):\n"
        "  --t3-n LIST, --t3-k LIST   the grid (default: the layer lists)\n"
        "  --layers LIST     encoder layers (default 12)\n"
        "  --t3-share NAME   Linformer sharing (default layerwise, as the paper)\n"
        "  --t3-threads N    threads (default: all)   --max-batch N  cap on the batch\n"
        "  --t3-budget SIZE  encoder memory (weights excluded) that sets the batch\n"
        "                    (default: --budget)\n"
        "common:\n"
        "  --budget SIZE     memory per point, e.g. 512M, 16G (default 4G); points above\n"
        "                    it are reported as not fitting\n"
        "  --reps N          timed repetitions (default 9; < 9 is warned about)\n"
        "  --warmup N        warm-up calls per point (default 2, at least 1)\n"
        "  --sgemm-reps N    repetitions of the sgemm reference (default 3; 0 = skip)\n"
        "  --seed N          RNG seed (default 1)\n"
        "  --out DIR         output folder (default results/latest): bench.csv,\n"
        "                    summary.csv, table3.csv, bench.json\n"
        "  --paper FILE      the paper's Table 3 CSV (default results/paper/linformer_table3.csv)\n"
        "  --no-progress     no progress bar (it is drawn only on a terminal anyway)\n"
        "  --shard I/N       run part I (0-based) of N of the grid (every Nth n); join the\n"
        "                    folders with linbench merge. Under mpirun each rank is a shard\n"
        "                    writing OUT/rank-R; --allow-shared-host lets ranks share a host\n"
        "  -q, --quiet       no tables on stdout\n"
        "  -h, --help        this text         -V, --version   the version\n"
        "exit: 0 done; 64 bad arguments; 70 a kernel failed; 73/74 cannot write results\n");
}

static void list_set(lb_list *l, const long *v, int len) {
    l->len = len;
    for (int i = 0; i < len; i++) l->v[i] = v[i];
}
#define LIST(l, ...)                                                        \
    do {                                                                    \
        const long tmp_[] = {__VA_ARGS__};                                  \
        list_set(l, tmp_, (int)(sizeof tmp_ / sizeof tmp_[0]));             \
    } while (0)

static int apply_preset(lb_bench_opts *o, const char *name) {
    int all = 1 << LB_ATTN_FULL | 1 << LB_ATTN_STREAM | 1 << LB_ATTN_LINFORMER;
    o->methods = all;
    o->protocols = LB_PROTO_LAYER | LB_PROTO_TABLE3;
    LIST(&o->d, 64);
    LIST(&o->heads, 12);
    LIST(&o->batch, 1);
    LIST(&o->threads, omp_get_max_threads());
    o->reps = 9, o->warmup = 2, o->sgemm_reps = 3;
    o->budget = o->t3_budget = 4.0 * 1073741824.0;
    if (!strcmp(name, "quick")) {
        LIST(&o->n, 64, 96);
        LIST(&o->k, 16, 32);
        LIST(&o->d, 16);
        LIST(&o->heads, 2);
        LIST(&o->t3_n, 64);
        LIST(&o->t3_k, 16);
        LIST(&o->layers, 1);
        o->reps = 3, o->warmup = 1, o->sgemm_reps = 1;
        o->budget = o->t3_budget = 256.0 * 1048576;
        o->max_batch = 2;
    } else if (!strcmp(name, "default")) {
        LIST(&o->n, 256, 512, 1024, 2048, 4096, 8192, 16384);
        LIST(&o->k, 64, 128, 256);
        LIST(&o->t3_n, 512, 1024, 2048);
        LIST(&o->t3_k, 128, 256);
        LIST(&o->layers, 1);
        o->budget = 3.0 * 1073741824.0;
        o->t3_budget = 256.0 * 1048576;
    } else if (!strcmp(name, "paper")) {
        LIST(&o->n, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536);
        LIST(&o->k, 128, 256, 512, 1024, 2048);
        LIST(&o->t3_n, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536);
        LIST(&o->t3_k, 128, 256, 512, 1024, 2048);
        LIST(&o->layers, 12);
        o->budget = o->t3_budget = 16.0 * 1073741824.0; /* the paper's V100 */
    } else {
        lb_err("bench: --preset: unknown preset '%s'; expected quick, default or paper", name);
        return -1;
    }
    return 0;
}

/* "512M", "16G", "1.5g", "4096" (bytes) → bytes. */
static int parse_size(const char *s, double *out, const char *what) {
    char *end;
    double v = strtod(s, &end);
    double mul = 1;
    if (end != s) {
        switch (*end) {
        case 'k': case 'K': mul = 1024.0, end++; break;
        case 'm': case 'M': mul = 1048576.0, end++; break;
        case 'g': case 'G': mul = 1073741824.0, end++; break;
        case 't': case 'T': mul = 1099511627776.0, end++; break;
        default: break;
        }
        if (*end == 'i' || *end == 'B') end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    }
    if (end == s || *end || !(v > 0) || !isfinite(v * mul) || v * mul > 1099511627776.0 * 64) {
        lb_err("bench: %s: '%s' is not a size; expected a positive number of bytes with an "
               "optional K, M, G or T suffix, e.g. 512M", what, s);
        return -1;
    }
    *out = v * mul;
    return 0;
}

static int parse_methods(const char *s, int *mask) {
    char buf[256];
    if (!*s || strlen(s) >= sizeof buf) {
        lb_err("bench: --methods: expected a list of full,stream,linformer");
        return -1;
    }
    strcpy(buf, s);
    *mask = 0;
    char *save = NULL;
    int count = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), count++) {
        lb_attn_method m;
        if (lb_attn_method_parse(t, &m)) {
            lb_err("bench: --methods: unknown method '%s'; expected full, stream or linformer", t);
            return -1;
        }
        *mask |= 1 << m;
    }
    /* strtok skips empty items; refuse them like lb_parse_list does */
    if (strstr(s, ",,") || s[0] == ',' || s[strlen(s) - 1] == ',' || !count) {
        lb_err("bench: --methods: empty item in '%s'", s);
        return -1;
    }
    return 0;
}

static long list_max(const lb_list *l) {
    long m = 0;
    for (int i = 0; i < l->len; i++)
        if (l->v[i] > m) m = l->v[i];
    return m;
}

enum {
    O_HEADS = 256, O_BATCH, O_THREADS, O_METHODS, O_SHARE, O_T3N, O_T3K, O_LAYERS, O_T3SHARE,
    O_T3THREADS, O_MAXB, O_BUDGET, O_T3BUDGET, O_REPS, O_WARMUP, O_SGEMM, O_SEED, O_OUT, O_PAPER,
    O_NOPROG, O_PRESET, O_PROTO, O_SHARD, O_SHARED
};

static const struct option longopts[] = {
    {"preset", required_argument, 0, O_PRESET}, {"protocol", required_argument, 0, O_PROTO},
    {"n", required_argument, 0, 'n'}, {"k", required_argument, 0, 'k'},
    {"d", required_argument, 0, 'd'}, {"heads", required_argument, 0, O_HEADS},
    {"batch", required_argument, 0, O_BATCH}, {"threads", required_argument, 0, O_THREADS},
    {"methods", required_argument, 0, O_METHODS}, {"share", required_argument, 0, O_SHARE},
    {"t3-n", required_argument, 0, O_T3N}, {"t3-k", required_argument, 0, O_T3K},
    {"layers", required_argument, 0, O_LAYERS}, {"t3-share", required_argument, 0, O_T3SHARE},
    {"t3-threads", required_argument, 0, O_T3THREADS}, {"max-batch", required_argument, 0, O_MAXB},
    {"budget", required_argument, 0, O_BUDGET}, {"t3-budget", required_argument, 0, O_T3BUDGET},
    {"reps", required_argument, 0, O_REPS}, {"warmup", required_argument, 0, O_WARMUP},
    {"sgemm-reps", required_argument, 0, O_SGEMM}, {"seed", required_argument, 0, O_SEED},
    {"out", required_argument, 0, O_OUT}, {"paper", required_argument, 0, O_PAPER},
    {"no-progress", no_argument, 0, O_NOPROG}, {"quiet", no_argument, 0, 'q'},
    {"shard", required_argument, 0, O_SHARD}, {"allow-shared-host", no_argument, 0, O_SHARED},
    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};

static int parse_list(lb_list *l, const char *s, long lo, long hi, const char *what) {
    int c = lb_parse_list(s, l->v, LB_BENCH_MAXLIST, lo, hi, what);
    if (c < 0) return -1;
    l->len = c;
    return 0;
}

/* Second pass over argv: every option except --preset, over the preset's values. */
static int parse_args(lb_bench_opts *o, int argc, char **argv, int *t3n_set, int *t3k_set,
                      int *t3b_set) {
    int c;
    long v;
    optind = 0;
    while ((c = getopt_long(argc, argv, "n:k:d:qhV", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case O_PRESET: break;
        case O_PROTO:
            if (!strcmp(optarg, "layer")) o->protocols = LB_PROTO_LAYER;
            else if (!strcmp(optarg, "table3")) o->protocols = LB_PROTO_TABLE3;
            else if (!strcmp(optarg, "both")) o->protocols = LB_PROTO_LAYER | LB_PROTO_TABLE3;
            else {
                lb_err("bench: --protocol: unknown '%s'; expected layer, table3 or both", optarg);
                bad = 1;
            }
            break;
        case 'n': bad = parse_list(&o->n, optarg, 1, 1L << 20, "--n"); break;
        case 'k': bad = parse_list(&o->k, optarg, 1, 1L << 20, "--k"); break;
        case 'd': bad = parse_list(&o->d, optarg, 1, 4096, "--d"); break;
        case O_HEADS: bad = parse_list(&o->heads, optarg, 1, 1024, "--heads"); break;
        case O_BATCH: bad = parse_list(&o->batch, optarg, 1, 1L << 16, "--batch"); break;
        case O_THREADS: bad = parse_list(&o->threads, optarg, 1, 1024, "--threads"); break;
        case O_METHODS: bad = parse_methods(optarg, &o->methods); break;
        case O_SHARE:
        case O_T3SHARE:
            if (lb_share_parse(optarg, c == O_SHARE ? &o->share : &o->t3_share)) {
                lb_err("bench: %s: unknown sharing '%s'; expected none, headwise, kv or layerwise",
                       c == O_SHARE ? "--share" : "--t3-share", optarg);
                bad = 1;
            }
            break;
        case O_T3N: bad = parse_list(&o->t3_n, optarg, 1, 1L << 20, "--t3-n"), *t3n_set = 1; break;
        case O_T3K: bad = parse_list(&o->t3_k, optarg, 1, 1L << 20, "--t3-k"), *t3k_set = 1; break;
        case O_LAYERS: bad = parse_list(&o->layers, optarg, 1, 96, "--layers"); break;
        case O_T3THREADS: bad = lb_parse_long(optarg, &v, 0, 1024, "--t3-threads"), o->t3_threads = (int)v; break;
        case O_MAXB: bad = lb_parse_long(optarg, &v, 0, 1L << 20, "--max-batch"), o->max_batch = v; break;
        case O_BUDGET: bad = parse_size(optarg, &o->budget, "--budget"); break;
        case O_T3BUDGET: bad = parse_size(optarg, &o->t3_budget, "--t3-budget"), *t3b_set = 1; break;
        case O_REPS: bad = lb_parse_long(optarg, &v, 1, 100000, "--reps"), o->reps = (int)v; break;
        case O_WARMUP: bad = lb_parse_long(optarg, &v, 0, 1000, "--warmup"), o->warmup = (int)v; break;
        case O_SGEMM: bad = lb_parse_long(optarg, &v, 0, 1000, "--sgemm-reps"), o->sgemm_reps = (int)v; break;
        case O_SEED: bad = lb_parse_long(optarg, &v, 0, 0x7fffffffffffffffL, "--seed"), o->seed = (uint64_t)v; break;
        case O_OUT: o->out_dir = optarg; break;
        case O_PAPER: o->paper = optarg; break;
        case O_NOPROG: o->progress = 0; break;
        case O_SHARD: { /* part i of N of the grid (bench_merge.c); join with linbench merge */
            char m[256];
            if ((bad = lb_bench_shard_parse(optarg, &o->shard_i, &o->shard_n, m, sizeof m)))
                lb_err("bench: --shard: %s", m);
            break;
        }
        case O_SHARED: o->allow_shared_host = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("linbench %s\n", LB_VERSION); return 1;
        default: usage(stderr); return -1;
        }
        if (bad) return -1;
    }
    if (optind < argc) {
        lb_err("bench: unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    return 0;
}

/* Refuse what cannot make sense before anything runs: k above every n, a budget
 * that no point of the grid fits in. */
static int validate(const lb_bench_opts *o) {
    if (!o->methods) {
        lb_err("bench: --methods: no method selected");
        return -1;
    }
    int lin = o->methods & (1 << LB_ATTN_LINFORMER);
    if ((o->protocols & LB_PROTO_LAYER) && lin && list_max(&o->k) > list_max(&o->n)) {
        lb_err("bench: --k: k = %ld exceeds every n (largest n = %ld); Linformer needs k <= n",
               list_max(&o->k), list_max(&o->n));
        return -1;
    }
    if ((o->protocols & LB_PROTO_TABLE3) && lin && list_max(&o->t3_k) > list_max(&o->t3_n)) {
        lb_err("bench: --t3-k: k = %ld exceeds every table3 n (largest n = %ld)", list_max(&o->t3_k),
               list_max(&o->t3_n));
        return -1;
    }
    if (o->protocols & LB_PROTO_LAYER) {
        double need = INFINITY;
        for (int ni = 0; ni < o->n.len; ni++)
            for (int di = 0; di < o->d.len; di++)
                for (int hi = 0; hi < o->heads.len; hi++)
                    for (int bi = 0; bi < o->batch.len; bi++)
                        for (int m = 0; m < 3; m++) {
                            if (!(o->methods & (1 << m))) continue;
                            lb_attn_cfg c = {.method = (lb_attn_method)m, .B = (int)o->batch.v[bi],
                                             .H = (int)o->heads.v[hi], .n = (int)o->n.v[ni],
                                             .d = (int)o->d.v[di], .k = 1, .share = o->share,
                                             .threads = (int)o->threads.v[0]};
                            char msg[160];
                            if (lb_attn_check(&c, msg, sizeof msg)) continue;
                            double b = 16.0 * c.B * c.H * (double)c.n * c.d +
                                       (double)lb_attn_workspace_bytes(&c);
                            if (b < need) need = b;
                        }
        if (need > o->budget) {
            lb_err("bench: --budget: %.4g MiB is too small for any layer point (the smallest needs "
                   "%.4g MiB)", o->budget / 1048576, need / 1048576);
            return -1;
        }
    }
    if (o->protocols & LB_PROTO_TABLE3) {
        lb_config c;
        lb_config_roberta_base(&c);
        double need = INFINITY;
        for (int li = 0; li < o->layers.len; li++)
            for (int ni = 0; ni < o->t3_n.len; ni++)
                for (int m = 0; m < 3; m++) {
                    if (!(o->methods & (1 << m))) continue;
                    c.layers = (int)o->layers.v[li];
                    lb_encoder_opts eo = {.method = (lb_attn_method)m, .k = 1, .share = o->t3_share};
                    double b = (double)lb_encoder_bytes(&c, 1, (int)o->t3_n.v[ni], &eo, 0);
                    if (b < need) need = b;
                }
        if (need > o->t3_budget) {
            lb_err("bench: --t3-budget: %.4g MiB is too small for one sequence (the smallest "
                   "table3 point needs %.4g MiB)", o->t3_budget / 1048576, need / 1048576);
            return -1;
        }
    }
    return 0;
}

int lb_cmd_bench(int argc, char **argv) {
    lb_bench_opts o = {0};
    const char *preset = "default";
    int c;
    optind = 0;
    opterr = 0; /* the second pass reports unknown options */
    while ((c = getopt_long(argc, argv, "n:k:d:qhV", longopts, NULL)) != -1)
        if (c == O_PRESET) preset = optarg;
    opterr = 1;
    if (apply_preset(&o, preset)) return EX_USAGE;
    o.preset = preset;
    o.share = LB_SHARE_KV;
    o.t3_share = LB_SHARE_LAYERWISE;
    o.seed = 1;
    o.progress = 1;
    o.out_dir = "results/latest";
    o.paper = "results/paper/linformer_table3.csv";
    lb_list n0 = o.n, k0 = o.k;
    int t3n_set = 0, t3k_set = 0, t3b_set = 0;
    double b0 = o.budget;
    int rc = parse_args(&o, argc, argv, &t3n_set, &t3k_set, &t3b_set);
    if (rc) return rc > 0 ? EX_OK : EX_USAGE;
    /* table3 follows the layer lists unless given its own (or the preset has its own) */
    if (!t3n_set && (o.t3_n.len == 0 || memcmp(&n0, &o.n, sizeof n0))) o.t3_n = o.n;
    if (!t3k_set && (o.t3_k.len == 0 || memcmp(&k0, &o.k, sizeof k0))) o.t3_k = o.k;
    if (!t3b_set && o.budget != b0) o.t3_budget = o.budget;
    if (validate(&o)) return EX_USAGE;
    char smsg[512];
    if (lb_bench_shard_apply(&o, smsg, sizeof smsg)) return lb_err("bench: %s", smsg), EX_USAGE;
    if (o.reps < 9)
        fprintf(stderr, "linbench: bench: warning: %d repetitions (< 9): `linbench compare` cannot "
                        "flag changes reliably on these results\n", o.reps);

    lb_bench_set set = {0};
    lb_progress pg;
    double work = 0;
    if (o.protocols & LB_PROTO_LAYER) work += lb_bench_layer_work(&o);
    if (o.protocols & LB_PROTO_TABLE3) work += lb_bench_table3_work(&o);
    lb_progress_init(&pg, "bench", work, o.progress);
    double t0 = lb_now();
    rc = EX_OK;
    if (o.protocols & LB_PROTO_LAYER) rc = lb_bench_layer(&set, &o, &pg);
    if (!rc && (o.protocols & LB_PROTO_TABLE3)) rc = lb_bench_table3(&set, &o, &pg);
    lb_progress_done(&pg);
    if (rc) {
        lb_bench_set_free(&set);
        return rc;
    }
    lb_bench_ratios(&set);
    rc = lb_bench_write(&set, &o, argc, argv);
    if (!o.quiet) {
        lb_bench_print(stdout, &set, &o);
        printf("\n%d points in %.1f s; results in %s/\n", set.len, lb_now() - t0, o.out_dir);
    }
    int failed = 0;
    for (int i = 0; i < set.len; i++) failed |= set.pts[i].status == LB_PT_FAIL;
    if (failed) lb_err("bench: some points failed (see the 'failed' rows)");
    lb_bench_set_free(&set);
    return rc ? rc : failed ? EX_SOFTWARE : EX_OK;
}
