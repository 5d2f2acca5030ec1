/* `linbench train`: command-line parsing; the work is lb_train_run (train_loop.c). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_cmd.h"
#include "lb_train.h"
#include "lb_util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: linbench train --tokenizer DIR --train FILE [--valid FILE] --out DIR [options]\n"
            "       linbench train --resume CHECKPOINT [--steps N] [options]\n"
            "       linbench train --resume CHECKPOINT --export-bf16 DIR   (export only: the weights as saved)\n"
            "RoBERTa-style masked-LM pretraining (dynamic masking 15%%: 80%% <mask>, 10%% random, 10%% kept),\n"
            "AdamW with warm-up and decay, global-norm clipping; full or Linformer attention.\n\n"
            "data:      --tokenizer DIR (vocab.json + merges.txt)  --train FILE  --valid FILE\n"
            "           --ids (files hold token ids: .npy or whitespace-separated integers per document;\n"
            "           default: UTF-8 text, documents split on blank lines)\n"
            "model:     --layers 4 --hidden 256 --heads 4 --ffn 1024 [--max-pos N (default max n + 2)]\n"
            "           --attention full|linformer  --k K  --share none|headwise|kv|layerwise\n"
            "sequence:  --n 128 or a curriculum 128:3000,512:1000 (n for a number of steps)\n"
            "optimiser: --batch 8 --steps 1000 --lr 5e-4 --warmup 100 --decay linear|cosine|constant|wsd\n"
            "           --min-lr 0 --wd 0.01 --beta1 0.9 --beta2 0.98 --eps 1e-6 --clip 1.0\n"
            "run:       --seed 1 --threads 0 (all) --eval-every 100 --eval-batches 8 --log-every 10\n"
            "           --ckpt-every 0 (end only) --keep-all --log FILE.csv --stop-after N (steps this session)\n"
            "           --export-bf16 DIR (shipped model: BF16 safetensors + config.json + tokenizer)\n"
            "           --no-progress --quiet\n"
            "Checkpoints: OUT/checkpoint-STEP (config.json, model.safetensors F32 with HuggingFace RoBERTa\n"
            "names, optimizer.safetensors, tokenizer, trainer.json), each written atomically. Same seed and\n"
            "thread count give the same bits; resuming equals not stopping. SIGINT/SIGTERM: finish the\n"
            "step, write a checkpoint, exit 75.\n");
}

/* Set by SIGINT/SIGTERM: the loop finishes its step, writes a checkpoint and stops
 * (a signal handler can only talk through a global). */
static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

int lb_cmd_train(int argc, char **argv) {
    enum {
        O_TOK = 256, O_TRAIN, O_VALID, O_IDS, O_LAYERS, O_HIDDEN, O_HEADS, O_FFN, O_MAXPOS, O_N, O_BATCH,
        O_STEPS, O_LR, O_MINLR, O_WARMUP, O_DECAY, O_WD, O_B1, O_B2, O_EPS, O_CLIP, O_SEED, O_THREADS,
        O_ATTN, O_K, O_SHARE, O_EVERY, O_EVALB, O_CKPT, O_LOGEVERY, O_KEEP, O_OUT, O_RESUME, O_LOG,
        O_EXPORT, O_STOP, O_NOPROG, O_QUIET
    };
    static const struct option lo[] = {
        {"tokenizer", 1, 0, O_TOK}, {"train", 1, 0, O_TRAIN}, {"valid", 1, 0, O_VALID},
        {"ids", 0, 0, O_IDS}, {"layers", 1, 0, O_LAYERS}, {"hidden", 1, 0, O_HIDDEN},
        {"heads", 1, 0, O_HEADS}, {"ffn", 1, 0, O_FFN}, {"max-pos", 1, 0, O_MAXPOS}, {"n", 1, 0, O_N},
        {"batch", 1, 0, O_BATCH}, {"steps", 1, 0, O_STEPS}, {"lr", 1, 0, O_LR}, {"min-lr", 1, 0, O_MINLR},
        {"warmup", 1, 0, O_WARMUP}, {"decay", 1, 0, O_DECAY}, {"wd", 1, 0, O_WD}, {"beta1", 1, 0, O_B1},
        {"beta2", 1, 0, O_B2}, {"eps", 1, 0, O_EPS}, {"clip", 1, 0, O_CLIP}, {"seed", 1, 0, O_SEED},
        {"threads", 1, 0, O_THREADS}, {"attention", 1, 0, O_ATTN}, {"k", 1, 0, O_K},
        {"share", 1, 0, O_SHARE}, {"eval-every", 1, 0, O_EVERY}, {"eval-batches", 1, 0, O_EVALB},
        {"ckpt-every", 1, 0, O_CKPT}, {"log-every", 1, 0, O_LOGEVERY}, {"keep-all", 0, 0, O_KEEP},
        {"out", 1, 0, O_OUT}, {"resume", 1, 0, O_RESUME}, {"log", 1, 0, O_LOG},
        {"export-bf16", 1, 0, O_EXPORT}, {"stop-after", 1, 0, O_STOP}, {"no-progress", 0, 0, O_NOPROG},
        {"quiet", 0, 0, O_QUIET}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    lb_train_opts o;
    lb_train_opts_default(&o);
    long v;
    char msg[512];
    int c, idx;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return EX_OK;
        }
        if (c == '?' || c == ':') {
            lb_err("train: unknown option or missing value: %s", argv[optind - 1]);
            usage(stderr);
            return EX_USAGE;
        }
        const char *name = NULL;
        for (int i = 0; lo[i].name; i++)
            if (lo[i].val == c) name = lo[i].name;
        lb_train_opts_mark(&o, name);
        int bad = 0;
        switch (c) {
        case O_TOK: o.tokenizer = optarg; break;
        case O_TRAIN: o.train = optarg; break;
        case O_VALID: o.valid = optarg; break;
        case O_IDS: o.ids_input = 1; break;
        case O_LAYERS: bad = lb_parse_long(optarg, &v, 1, 256, "--layers"); o.layers = (int)v; break;
        case O_HIDDEN: bad = lb_parse_long(optarg, &v, 1, 65536, "--hidden"); o.hidden = (int)v; break;
        case O_HEADS: bad = lb_parse_long(optarg, &v, 1, 1024, "--heads"); o.heads = (int)v; break;
        case O_FFN: bad = lb_parse_long(optarg, &v, 1, 1 << 20, "--ffn"); o.ffn = (int)v; break;
        case O_MAXPOS: bad = lb_parse_long(optarg, &v, 1, 1 << 20, "--max-pos"); o.max_pos = (int)v; break;
        case O_N:
            if (lb_curriculum_parse(&o.curr, optarg, "--n", msg, sizeof msg)) {
                lb_err("%s", msg);
                return EX_USAGE;
            }
            break;
        case O_BATCH: bad = lb_parse_long(optarg, &v, 1, 1 << 16, "--batch"); o.batch = (int)v; break;
        case O_STEPS: bad = lb_parse_long(optarg, &o.steps, 1, 1000000000L, "--steps"); break;
        case O_LR: bad = lb_parse_double(optarg, &o.lr, 0, 10, "--lr"); break;
        case O_MINLR: bad = lb_parse_double(optarg, &o.min_lr, 0, 10, "--min-lr"); break;
        case O_WARMUP: bad = lb_parse_long(optarg, &o.warmup, 0, 1000000000L, "--warmup"); break;
        case O_DECAY:
            if (!strcmp(optarg, "linear")) o.decay = LB_DECAY_LINEAR;
            else if (!strcmp(optarg, "cosine")) o.decay = LB_DECAY_COSINE;
            else if (!strcmp(optarg, "constant")) o.decay = LB_DECAY_CONSTANT;
            else if (!strcmp(optarg, "wsd")) o.decay = LB_DECAY_WSD;
            else lb_err("--decay '%s': expected linear, cosine, constant or wsd", optarg), bad = 1;
            break;
        case O_WD: bad = lb_parse_double(optarg, &o.wd, 0, 10, "--wd"); break;
        case O_B1: bad = lb_parse_double(optarg, &o.beta1, 0, 0.999999999, "--beta1"); break;
        case O_B2: bad = lb_parse_double(optarg, &o.beta2, 0, 0.999999999, "--beta2"); break;
        case O_EPS: bad = lb_parse_double(optarg, &o.eps, 1e-30, 1, "--eps"); break;
        case O_CLIP: bad = lb_parse_double(optarg, &o.clip, 0, 1e9, "--clip"); break;
        case O_SEED: {
            char *end;
            o.seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end || *optarg == '-') lb_err("--seed '%s': expected a non-negative integer", optarg), bad = 1;
            break;
        }
        case O_THREADS: bad = lb_parse_long(optarg, &v, 0, 1024, "--threads"); o.threads = (int)v; break;
        case O_ATTN: {
            lb_attn_method m;
            if (lb_attn_method_parse(optarg, &m) || (m != LB_ATTN_FULL && m != LB_ATTN_LINFORMER))
                lb_err("--attention '%s': expected full or linformer", optarg), bad = 1;
            else o.attention = (int)m;
            break;
        }
        case O_K: bad = lb_parse_long(optarg, &v, 1, 1 << 20, "--k"); o.k = (int)v; break;
        case O_SHARE: {
            lb_share s;
            if (lb_share_parse(optarg, &s)) lb_err("--share '%s': expected none, headwise, kv or layerwise", optarg), bad = 1;
            else o.share = (int)s;
            break;
        }
        case O_EVERY: bad = lb_parse_long(optarg, &o.eval_every, 0, 1000000000L, "--eval-every"); break;
        case O_EVALB: bad = lb_parse_long(optarg, &o.eval_batches, 1, 1000000L, "--eval-batches"); break;
        case O_CKPT: bad = lb_parse_long(optarg, &o.ckpt_every, 0, 1000000000L, "--ckpt-every"); break;
        case O_LOGEVERY: bad = lb_parse_long(optarg, &o.log_every, 0, 1000000000L, "--log-every"); break;
        case O_KEEP: o.keep_all = 1; break;
        case O_OUT: o.out = optarg; break;
        case O_RESUME: o.resume = optarg; break;
        case O_LOG: o.log = optarg; break;
        case O_EXPORT: o.export_bf16 = optarg; break;
        case O_STOP: bad = lb_parse_long(optarg, &o.stop_after, 1, 1000000000L, "--stop-after"); break;
        case O_NOPROG: o.progress = 0; break;
        case O_QUIET: o.quiet = 1; break;
        }
        if (bad) return EX_USAGE;
    }
    if (optind < argc) {
        lb_err("train: unexpected argument '%s'", argv[optind]);
        return EX_USAGE;
    }
    if (o.attention == LB_ATTN_LINFORMER && !o.k && !o.resume) {
        lb_err("--attention linformer needs --k");
        return EX_USAGE;
    }
    if (o.warmup >= o.steps && o.warmup > 0 && !o.resume)
        fprintf(stderr, "note: --warmup %ld >= --steps %ld: the learning rate never decays\n", o.warmup,
                o.steps);
    o.stop = &stop_requested;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = lb_train_run(&o, argc, argv);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
