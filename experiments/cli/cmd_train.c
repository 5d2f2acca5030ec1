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
            "           --pos-sinusoid (start the learned position table from sinusoids, std 0.02)\n"
            "           --pos-shift (each training sequence at a random offset in the position table,\n"
            "             so short curriculum phases train every row; validation is not shifted)\n"
            "           --pos-shift-from STEP (with --pos-shift: shift from update STEP on; default 0)\n"
            "           --pos-fixed (the position table is sinusoids of RMS 0.05, never trained)\n"
            "           --pos-learn-from STEP (with --pos-fixed: the table is trained from update STEP on)\n"
            "           --pos-rms R (the sinusoids' RMS for --pos-sinusoid or --pos-fixed)\n"
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

/* The options; every one but the presentation flags is a training option that
 * lb_train_opts_set parses by its name (has_arg 0: a flag). */
static const struct option OPTIONS[] = {
    {"tokenizer", 1, 0, 0}, {"train", 1, 0, 0}, {"valid", 1, 0, 0}, {"ids", 0, 0, 0}, {"layers", 1, 0, 0},
    {"hidden", 1, 0, 0}, {"heads", 1, 0, 0}, {"ffn", 1, 0, 0}, {"max-pos", 1, 0, 0}, {"pos-sinusoid", 0, 0, 0}, {"pos-shift", 0, 0, 0},
    {"pos-shift-from", 1, 0, 0}, {"pos-fixed", 0, 0, 0}, {"pos-learn-from", 1, 0, 0}, {"pos-rms", 1, 0, 0}, {"n", 1, 0, 0},
    {"batch", 1, 0, 0}, {"steps", 1, 0, 0}, {"lr", 1, 0, 0}, {"min-lr", 1, 0, 0}, {"warmup", 1, 0, 0},
    {"decay", 1, 0, 0}, {"wd", 1, 0, 0}, {"beta1", 1, 0, 0}, {"beta2", 1, 0, 0}, {"eps", 1, 0, 0},
    {"clip", 1, 0, 0}, {"seed", 1, 0, 0}, {"threads", 1, 0, 0}, {"attention", 1, 0, 0}, {"k", 1, 0, 0},
    {"share", 1, 0, 0}, {"eval-every", 1, 0, 0}, {"eval-batches", 1, 0, 0}, {"ckpt-every", 1, 0, 0},
    {"log-every", 1, 0, 0}, {"keep-all", 0, 0, 0}, {"out", 1, 0, 0}, {"resume", 1, 0, 0}, {"log", 1, 0, 0},
    {"export-bf16", 1, 0, 0}, {"stop-after", 1, 0, 0}, {"no-progress", 0, 0, 'P'}, {"quiet", 0, 0, 'q'},
    {"help", 0, 0, 'h'}, {0, 0, 0, 0}};

/* argv into o. Returns -1 to go on, or the exit status (help: 0; a bad option: 64). */
static int parse(lb_train_opts *o, int argc, char **argv) {
    char msg[512];
    int c, idx;
    lb_train_opts_default(o);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", OPTIONS, &idx)) != -1) {
        if (c == 'h') return usage(stdout), EX_OK;
        if (c == 'P') o->progress = 0;
        else if (c == 'q') o->quiet = 1;
        else if (c == '?' || c == ':')
            return lb_err("train: unknown option or missing value: %s", argv[optind - 1]), usage(stderr), EX_USAGE;
        else if (lb_train_opts_set(o, OPTIONS[idx].name, optarg, msg, sizeof msg))
            return lb_err("%s", msg), EX_USAGE;
    }
    if (optind < argc) return lb_err("train: unexpected argument '%s'", argv[optind]), EX_USAGE;
    return -1;
}

/* What the options alone can tell (0, or -1 after a message); the rest (against the
 * checkpoint and the data) is lb_train_run's, before it writes anything. */
static int validate(const lb_train_opts *o) {
    if (o->attention == LB_ATTN_LINFORMER && !o->k && !o->resume)
        return lb_err("--attention linformer needs --k"), -1;
    if (o->pos_fixed && o->pos_sinusoid)
        return lb_err("--pos-fixed sets the position table itself: drop --pos-sinusoid"), -1;
    if (o->pos_shift_from && !o->pos_shift) return lb_err("--pos-shift-from needs --pos-shift"), -1;
    if (o->pos_learn_from && !o->pos_fixed) return lb_err("--pos-learn-from needs --pos-fixed"), -1;
    if (o->pos_rms > 0 && !o->pos_fixed && !o->pos_sinusoid)
        return lb_err("--pos-rms sets the sinusoids of --pos-fixed or --pos-sinusoid: give one of them"), -1;
    if (o->warmup >= o->steps && o->warmup > 0 && !o->resume)
        fprintf(stderr, "note: --warmup %ld >= --steps %ld: the learning rate never decays\n", o->warmup, o->steps);
    return 0;
}

static int exit_status(lb_train_status st) {
    switch (st) {
    case LB_TRAIN_DONE: return EX_OK;
    case LB_TRAIN_INTERRUPTED: case LB_TRAIN_BUSY: return EX_TEMPFAIL;
    case LB_TRAIN_BAD_OPTIONS: return EX_USAGE;
    case LB_TRAIN_BAD_DATA: return EX_DATAERR;
    case LB_TRAIN_CANNOT_WRITE: return EX_CANTCREAT;
    case LB_TRAIN_FAILED: break;
    }
    return EX_SOFTWARE;
}

/* Train with SIGINT/SIGTERM turned into a stop request for the run's duration. */
static int run(lb_train_opts *o) {
    char msg[1024] = "";
    lb_train_status st = LB_TRAIN_FAILED;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    o->stop = &stop_requested;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = lb_train_run(o, &st, msg, sizeof msg);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc || st != LB_TRAIN_DONE) lb_err("%s", msg);
    return exit_status(st);
}

int lb_cmd_train(int argc, char **argv) {
    lb_train_opts o;
    int rc = parse(&o, argc, argv); /* -1: go on */
    return rc >= 0 ? rc : validate(&o) ? EX_USAGE : run(&o);
}
