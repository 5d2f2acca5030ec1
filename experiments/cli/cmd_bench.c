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
#include "lb_outset.h"
#include "lb_progress.h"
#include "lb_outset.h"
#include "lb_util.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: linbench bench [OPTIONS]\n"
        "Time full (materialised), streaming and Linformer attention (and on request the\n"
        "local, Nystrom, Performer and scatterbrain approximations); write raw samples,\n"
        "per-point statistics and run metadata under --out.\n\n"
        "  --preset NAME     quick (seconds, for tests), default (~10 min: the layer grid\n"
        "                    and the paper's Table 3 cells up to n = 8192 with ONE encoder\n"
        "                    layer), paper (the paper's grid n = 512..65536, k = 128..2048,\n"
        "                    12 layers; days: make bench-table3-paper runs it resumably)\n"
        "                    default and paper size the batch by the paper's V100: 16 GiB\n"
        "                    less the 12-layer RoBERTa-base fp32 weights\n"
        "  --protocol P      layer, table3 or both (default: both)\n"
        "layer protocol (one attention layer):\n"
        "  -n, --n LIST      sequence lengths, e.g. 512,1024,4096 (1k = 1024)\n"
        "  -k, --k LIST      Linformer projected lengths, and the approximations' sizes\n"
        "                    (k = window radius w = landmarks/features m; cells with\n"
        "                    k > n are skipped)\n"
        "  -d, --d LIST      head dimensions          --heads LIST   heads\n"
        "  --batch LIST      batch sizes              --threads LIST worker threads\n"
        "  --methods LIST    of full,stream,linformer,local,nystrom,performer,scatterbrain\n"
        "                    (default: full,stream,linformer; table3 runs only those\n"
        "                    three: the encoder has no other)\n"
        "  --share NAME      Linformer sharing none|headwise|kv|layerwise (default kv)\n"
        "table3 protocol (whole RoBERTa-base-shaped encoder, largest batch under --budget):\n"
        "  --t3-n LIST, --t3-k LIST   the grid (default: the layer lists)\n"
        "  --layers LIST     encoder layers (default 12)\n"
        "  --t3-share NAME   Linformer sharing (default layerwise, as the paper)\n"
        "  --t3-methods LIST baselines and linformer (default materialise,full,stream,linformer;\n"
        "                    materialise keeps the (B,H,n,n) scores and probs, as in 2020)\n"
        "  --t3-threads N    threads (default: all)   --max-batch N  cap on the timed batch\n"
        "  --t3-budget SIZE  encoder memory (weights excluded) that sets the largest batch\n"
        "                    (default: the preset's, or --budget when given)\n"
        "  --t3-time-tokens N  time at most N tokens (batch <= N / n, >= 1); the memory\n"
        "                    saving still uses the largest batch (0 = time that batch)\n"
        "  --plan            print the table3 cells, batches and estimated time; run nothing\n"
        "  --plan-gflops R   the rate the plan assumes (default 150, 2 cores measured ~170)\n"
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
        "  --turn first|second:IN:OUT  take turns with another bench process over two FIFOs\n"
        "                    (bench-ab's paired mode: the two runs' calls alternate, never\n"
        "                    overlap; both must run the same grid); --turn-timeout S (600)\n"
        "Before timing, the FP32 FMA peak (256-bit; 512-bit on AVX-512 CPUs) is measured at\n"
        "each thread count; every point's frac_peak is its GFLOP/s over that peak.\n"
        "LB_BENCH_TEST_SLOWDOWN=METHOD:FACTOR (test only) stretches every timed call of\n"
        "METHOD by FACTOR, to measure the A/B tooling's power; results say so.\n"
        "  -h, --help        this text         -V, --version   the version\n"
        "exit: 0 done; 64 bad arguments; 70 a kernel failed; 73/74 cannot write results\n");
}

/* Tokens of the timed batch: enough rows (B·n) for the GEMMs to run at their full
 * rate, so the time per sequence no longer depends on the batch. */
#define T3_DEFAULT_TOKENS 4096
#define T3_PAPER_TOKENS 8192

static void list_set(lb_list *l, const long *v, int len) {
    l->len = len;
    for (int i = 0; i < len; i++) l->v[i] = v[i];
}
#define LIST(l, ...)                                                        \
    do {                                                                    \
        const long tmp_[] = {__VA_ARGS__};                                  \
        list_set(l, tmp_, (int)(sizeof tmp_ / sizeof tmp_[0]));             \
    } while (0)

/* The memory the paper's 16 GB V100 leaves for activations: 16 GiB less the fp32
 * weights of the 12-layer RoBERTa-base (held once; the budget excludes weights). */
static double v100_budget(void) {
    lb_config c;
    lb_config_roberta_base(&c);
    return 16.0 * 1073741824.0 - (double)lb_model_bytes(&c);
}
static const char V100_NOTE[] = "the paper's 16 GB V100: 16 GiB less the fp32 weights of the "
                                "12-layer RoBERTa-base";

static int apply_preset(lb_bench_opts *o, const char *name) {
    int all = 1 << LB_ATTN_FULL | 1 << LB_ATTN_STREAM | 1 << LB_ATTN_LINFORMER;
    o->methods = all;
    o->t3_methods = all | 1 << LB_ATTN_MATERIALISE;
    o->plan_gflops = 150;
    o->protocols = LB_PROTO_LAYER | LB_PROTO_TABLE3;
    LIST(&o->d, 64);
    LIST(&o->heads, 12);
    LIST(&o->batch, 1);
    LIST(&o->threads, omp_get_max_threads());
    o->reps = 9, o->warmup = 2, o->sgemm_reps = 3;
    o->peak_seconds = 0.25;
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
        o->peak_seconds = 0.05;
        o->budget = o->t3_budget = 256.0 * 1048576;
        o->t3_budget_note = "the quick preset: 256 MiB";
        o->max_batch = 2;
    } else if (!strcmp(name, "default")) {
        LIST(&o->n, 256, 512, 1024, 2048, 4096, 8192, 16384);
        LIST(&o->k, 64, 128, 256);
        /* the paper's cells whose one-layer forwards fit ~5 min (make bench-plan) */
        LIST(&o->t3_n, 512, 1024, 2048, 4096, 8192);
        LIST(&o->t3_k, 128, 256, 512, 1024, 2048);
        LIST(&o->layers, 1);
        o->budget = 3.0 * 1073741824.0;
        o->t3_budget = v100_budget();
        o->t3_budget_note = V100_NOTE;
        o->t3_tokens = T3_DEFAULT_TOKENS;
    } else if (!strcmp(name, "paper")) {
        LIST(&o->n, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536);
        LIST(&o->k, 128, 256, 512, 1024, 2048);
        LIST(&o->t3_n, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536);
        LIST(&o->t3_k, 128, 256, 512, 1024, 2048);
        LIST(&o->layers, 12);
        o->budget = 16.0 * 1073741824.0; /* the paper's V100 */
        o->t3_budget = v100_budget();
        o->t3_budget_note = V100_NOTE;
        o->t3_tokens = T3_PAPER_TOKENS;
        o->reps = 3, o->warmup = 1; /* a forward is minutes at long n: 4 calls a point */
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

static int parse_methods(const char *s, int *mask, const char *what) {
    char buf[256];
    if (!*s || strlen(s) >= sizeof buf) {
        lb_err("bench: %s: expected a list of full,stream,linformer,local,nystrom,performer,"
               "scatterbrain,materialise", what);
        return -1;
    }
    strcpy(buf, s);
    *mask = 0;
    char *save = NULL;
    int count = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), count++) {
        lb_attn_method m;
        if (lb_attn_method_parse(t, &m)) {
            lb_err("bench: %s: unknown method '%s'; expected full, stream, linformer, local, "
                   "nystrom, performer, scatterbrain or materialise", what, t);
            return -1;
        }
        *mask |= 1 << m;
    }
    /* strtok skips empty items; refuse them like lb_parse_list does */
    if (strstr(s, ",,") || s[0] == ',' || s[strlen(s) - 1] == ',' || !count) {
        lb_err("bench: %s: empty item in '%s'", what, s);
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
    O_NOPROG, O_PRESET, O_PROTO, O_T3METHODS, O_T3TOKENS, O_PLAN, O_PLANRATE, O_SHARD, O_SHARED,
    O_TURN, O_TURNTO
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
    {"t3-methods", required_argument, 0, O_T3METHODS}, {"t3-time-tokens", required_argument, 0, O_T3TOKENS},
    {"plan", no_argument, 0, O_PLAN}, {"plan-gflops", required_argument, 0, O_PLANRATE},
    {"shard", required_argument, 0, O_SHARD}, {"allow-shared-host", no_argument, 0, O_SHARED},
    {"turn", required_argument, 0, O_TURN}, {"turn-timeout", required_argument, 0, O_TURNTO},
    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};

static int parse_list(lb_list *l, const char *s, long lo, long hi, const char *what) {
    int c = lb_parse_list(s, l->v, LB_BENCH_MAXLIST, lo, hi, what);
    if (c < 0) return -1;
    l->len = c;
    return 0;
}

/* Second pass over argv: every option except --preset, over the preset's values. */
static int parse_args(lb_bench_opts *o, int argc, char **argv, int *t3n_set, int *t3k_set,
                      int *t3b_set, int *t3m_set) {
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
        case O_METHODS: bad = parse_methods(optarg, &o->methods, "--methods"); break;
        case O_T3METHODS: bad = parse_methods(optarg, &o->t3_methods, "--t3-methods"), *t3m_set = 1; break;
        case O_T3TOKENS: bad = lb_parse_long(optarg, &v, 0, 1L << 30, "--t3-time-tokens"), o->t3_tokens = v; break;
        case O_PLAN: o->plan = 1; break;
        case O_PLANRATE: bad = lb_parse_long(optarg, &v, 1, 1000000, "--plan-gflops"), o->plan_gflops = (double)v; break;
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
        case O_TURN: o->turn_spec = optarg; break;
        case O_TURNTO: bad = lb_parse_long(optarg, &v, 1, 86400, "--turn-timeout"), o->turn_timeout = (double)v; break;
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

/* Bytes the smallest layer point needs (inputs and workspace), at the first thread
 * count: what --budget must hold for anything to run. */
static double layer_need(const lb_bench_opts *o) {
    double need = INFINITY;
    for (int ni = 0; ni < o->n.len; ni++)
        for (int di = 0; di < o->d.len; di++)
            for (int hi = 0; hi < o->heads.len; hi++)
                for (int bi = 0; bi < o->batch.len; bi++)
                    for (int m = 0; lb_bench_method_known(m); m++) {
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
    return need;
}

/* Bytes one sequence of the smallest Table 3 point needs: what --t3-budget must hold. */
static double t3_need(const lb_bench_opts *o) {
    lb_config c;
    lb_config_roberta_base(&c);
    double need = INFINITY;
    for (int li = 0; li < o->layers.len; li++)
        for (int ni = 0; ni < o->t3_n.len; ni++)
            for (int m = 0; lb_bench_method_known(m); m++) {
                if (!(o->t3_methods & (1 << m))) continue;
                c.layers = (int)o->layers.v[li];
                lb_encoder_opts eo = {.method = (lb_attn_method)m, .k = 1, .share = o->t3_share};
                double b = (double)lb_encoder_bytes(&c, 1, (int)o->t3_n.v[ni], &eo, 0);
                if (b < need) need = b;
            }
    return need;
}

/* Refuse what cannot make sense before anything runs: k above every n, a budget
 * that no point of the grid fits in. */
static int validate(const lb_bench_opts *o) {
    if (!o->methods || !o->t3_methods) {
        lb_err("bench: --methods: no method selected");
        return -1;
    }
    int t3ok = 1 << LB_ATTN_FULL | 1 << LB_ATTN_STREAM | 1 << LB_ATTN_LINFORMER | 1 << LB_ATTN_MATERIALISE;
    if ((o->protocols & LB_PROTO_TABLE3) && (o->t3_methods & ~t3ok)) {
        lb_err("bench: --t3-methods: the Table 3 encoder runs full, stream, linformer or materialise "
               "attention only");
        return -1;
    }
    int sized = o->methods & lb_attn_sized_methods(); /* methods sized by the k grid */
    int t3 = o->methods & (1 << LB_ATTN_FULL | 1 << LB_ATTN_STREAM | 1 << LB_ATTN_LINFORMER);
    if ((o->protocols & LB_PROTO_LAYER) && sized && list_max(&o->k) > list_max(&o->n)) {
        lb_err("bench: --k: k = %ld exceeds every n (largest n = %ld); cells with k > n are "
               "skipped, so none would run", list_max(&o->k), list_max(&o->n));
        return -1;
    }
    long kmin = o->t3_k.len ? o->t3_k.v[0] : 0;
    for (int i = 0; i < o->t3_k.len; i++)
        if (o->t3_k.v[i] < kmin) kmin = o->t3_k.v[i];
    if ((o->protocols & LB_PROTO_TABLE3) && (o->t3_methods & (1 << LB_ATTN_LINFORMER)) &&
        kmin >= list_max(&o->t3_n)) {
        lb_err("bench: --t3-k: no k is below any table3 n (k = %ld, largest n = %ld); Table 3 "
               "measures k < n", kmin, list_max(&o->t3_n));
        return -1;
    }
    if (o->protocols & LB_PROTO_LAYER) {
        double need = layer_need(o);
        if (need > o->budget) {
            lb_err("bench: --budget: %.4g MiB is too small for any layer point (the smallest needs "
                   "%.4g MiB)", o->budget / 1048576, need / 1048576);
            return -1;
        }
    }
    if ((o->protocols & LB_PROTO_TABLE3) && t3) {
        double need = t3_need(o);
        if (need > o->t3_budget) {
            lb_err("bench: --t3-budget: %.4g MiB is too small for one sequence (the smallest "
                   "table3 point needs %.4g MiB)", o->t3_budget / 1048576, need / 1048576);
            return -1;
        }
    }
    return 0;
}

/* The preset first (its lists are the defaults the options change), then the options;
 * Table 3 follows the layer lists unless given its own (or the preset has its own).
 * 0, 1 after --help or --version, -1 after a message. */
static int parse(lb_bench_opts *o, int argc, char **argv) {
    const char *preset = "default";
    int c;
    optind = 0;
    opterr = 0; /* the second pass reports unknown options */
    while ((c = getopt_long(argc, argv, "n:k:d:qhV", longopts, NULL)) != -1)
        if (c == O_PRESET) preset = optarg;
    opterr = 1;
    if (apply_preset(o, preset)) return -1;
    o->preset = preset;
    o->share = LB_SHARE_KV;
    o->t3_share = LB_SHARE_LAYERWISE;
    o->seed = 1;
    o->progress = 1;
    o->out_dir = "results/latest";
    o->turn_timeout = 600;
    o->paper = LB_CMD_PAPER_TABLE3;
    lb_list n0 = o->n, k0 = o->k;
    int t3n_set = 0, t3k_set = 0, t3b_set = 0, t3m_set = 0, m0 = o->methods;
    double b0 = o->budget;
    int rc = parse_args(o, argc, argv, &t3n_set, &t3k_set, &t3b_set, &t3m_set);
    if (rc) return rc;
    if (!t3n_set && (o->t3_n.len == 0 || memcmp(&n0, &o->n, sizeof n0))) o->t3_n = o->n;
    if (!t3k_set && (o->t3_k.len == 0 || memcmp(&k0, &o->k, sizeof k0))) o->t3_k = o->k;
    if (!t3b_set && o->budget != b0) o->t3_budget = o->budget, o->t3_budget_note = "--budget";
    if (t3b_set) o->t3_budget_note = "--t3-budget";
    if (!t3m_set && o->methods != m0) o->t3_methods = o->methods; /* --methods alone: both protocols */
    return 0;
}

/* What a run (not a --plan) takes besides the options: the test-only slowdown from the
 * environment, and this shard's part of the grid. 0, or -1 after a message. */
static int prepare_run(lb_bench_opts *o) {
    char msg[512];
    if (lb_bench_test_slowdown(getenv("LB_BENCH_TEST_SLOWDOWN"), &o->slow_method, &o->slow_factor,
                               msg, sizeof msg))
        return lb_err("bench: %s", msg), -1;
    if (o->slow_method >= 0)
        fprintf(stderr, "linbench: bench: TEST ONLY: every %s call is stretched %.4gx "
                        "(LB_BENCH_TEST_SLOWDOWN)\n", lb_attn_method_name((lb_attn_method)o->slow_method),
                o->slow_factor);
    if (lb_bench_shard_apply(o, msg, sizeof msg)) return lb_err("bench: %s", msg), -1;
    if (o->reps < 9)
        fprintf(stderr, "linbench: bench: warning: %d repetitions (< 9): `linbench compare` cannot "
                        "flag changes reliably on these results\n", o->reps);
    return 0;
}

/* Both protocols into set, the FMA peaks measured into meta before and after the timing
 * (same run; the timing starts at *t0). 0 or a sysexits code. */
static int run(lb_bench_set *set, const lb_bench_opts *o, lb_meta *meta, double *t0) {
    lb_progress pg;
    double work = 0;
    if (o->protocols & LB_PROTO_LAYER) work += lb_bench_layer_work(o);
    if (o->protocols & LB_PROTO_TABLE3) work += lb_bench_table3_work(o);
    lb_meta_collect(meta);
    lb_bench_turn_begin(o->turn, "peaks");
    if (lb_bench_measure_peaks(meta, o))
        fprintf(stderr, "linbench: bench: warning: FMA peak measured for the first %d thread counts "
                        "only\n", LB_FP_MAXPEAK);
    lb_bench_turn_end(o->turn);
    lb_progress_init(&pg, "bench", work, o->progress);
    *t0 = lb_now();
    int rc = EX_OK;
    if (o->protocols & LB_PROTO_LAYER) rc = lb_bench_layer(set, o, &pg);
    if (!rc && (o->protocols & LB_PROTO_TABLE3)) rc = lb_bench_table3(set, o, &pg);
    lb_progress_done(&pg);
    /* again after the timing, keeping the larger: one reading alone has come out at half.
     * Not in paired mode, whose other side (maybe an older build) has no such turn and
     * would be disturbed by a measurement outside one. */
    if (!o->turn || !o->turn->on) lb_bench_measure_peaks(meta, o);
    return rc;
}

/* The result files and the tables on stdout; a failed point makes the exit status 70. */
static int write_results(lb_bench_set *set, const lb_bench_opts *o, const lb_meta *meta,
                         double t0, int argc, char **argv) {
    lb_bench_ratios(set);
    lb_bench_set_peaks(set, &meta->fp);
    int rc = lb_bench_write(set, o, meta, argc, argv);
    if (!o->quiet) {
        lb_bench_print(stdout, set, o);
        printf("\n%d points in %.1f s; results in %s/\n", set->len, lb_now() - t0, o->out_dir);
    }
    int failed = 0;
    for (int i = 0; i < set->len; i++) failed |= set->pts[i].status == LB_PT_FAIL;
    if (failed) lb_err("bench: some points failed (see the 'failed' rows)");
    return rc ? rc : failed ? EX_SOFTWARE : EX_OK;
}

int lb_cmd_bench(int argc, char **argv) {
    lb_outset_catch_signals(); /* an interrupted bench leaves earlier results as they were */
    lb_bench_opts o = {0};
    int rc = parse(&o, argc, argv);
    if (rc) return rc > 0 ? EX_OK : EX_USAGE;
    if (validate(&o)) return EX_USAGE;
    if (o.plan) {
        lb_bench_table3_plan(stdout, &o);
        return EX_OK;
    }
    if (prepare_run(&o)) return EX_USAGE;
    lb_bench_turn turn;
    char msg[1200];
    if (o.turn_spec) {
        if (lb_bench_turn_open(&turn, o.turn_spec, o.turn_timeout, msg, sizeof msg))
            return lb_err("bench: %s", msg), EX_USAGE;
        o.turn = &turn;
    }
    lb_bench_set set = {0};
    lb_meta meta;
    double t0;
    rc = run(&set, &o, &meta, &t0);
    if (!rc && o.turn && turn.failed) /* samples of unlike or overlapping calls: write nothing */
        rc = (lb_err("bench: --turn: %s; no results written", turn.why), EX_SOFTWARE);
    if (!rc) rc = write_results(&set, &o, &meta, t0, argc, argv);
    if (o.turn) lb_bench_turn_close(&turn);
    lb_bench_set_free(&set);
    return rc;
}
