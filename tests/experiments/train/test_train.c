/* Tests of the training pieces (experiments/train/lb_train.h): curriculum, LR schedule,
 * AdamW against a double-precision scalar reference, clipping, determinism of the
 * reductions across thread counts, dynamic masking (rates, specials, reproducibility),
 * the loader (every window once per epoch, position save/restore), and — with the
 * model — the training runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_test.h"
#include "lb_train.h"
#include "lb_train_model.h"
#include "lb_util.h"

static void test_curriculum(void) {
    lb_curriculum c;
    char msg[256];
    LB_CHECK(!lb_curriculum_parse(&c, "128", "--n", msg, sizeof msg), "%s", msg);
    LB_CHECK(c.count == 1 && lb_curriculum_n(&c, 0, NULL) == 128 && lb_curriculum_n(&c, 999999, NULL) == 128,
             "single n");
    LB_CHECK(!lb_curriculum_parse(&c, "128:3,512:2,64", "--n", msg, sizeof msg), "%s", msg);
    int want[] = {128, 128, 128, 512, 512, 64, 64};
    int ok = 1;
    for (int s = 0; s < 7; s++) ok &= lb_curriculum_n(&c, s, NULL) == want[s];
    LB_CHECK(ok, "phases by step");
    LB_CHECK(lb_curriculum_max_n(&c) == 512, "max n");
    char buf[64];
    lb_curriculum_format(&c, buf, sizeof buf);
    LB_CHECK(!strcmp(buf, "128:3,512:2,64"), "format '%s'", buf);
    const char *bad[] = {"", "2", "128:0", "128,512", "abc", "128:3,", "128;3", "99999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = 0;
        LB_CHECK(lb_curriculum_parse(&c, bad[i], "--n", msg, sizeof msg) && strstr(msg, "--n"),
                 "'%s' refused with a message naming the option: %s", bad[i], msg);
    }
}

/* Options by name (what `linbench train` parses): values land in the fields, bad ones
 * are refused with a message naming the option and what was expected. */
static void test_opts_set(void) {
    lb_train_opts o;
    char msg[256];
    lb_train_opts_default(&o);
    LB_CHECK(lb_train_opts_set(&o, "layers", "3", msg, sizeof msg) == 0 && o.layers == 3, "layers");
    LB_CHECK(lb_train_opts_set(&o, "steps", "2k", msg, sizeof msg) == 0 && o.steps == 2048, "2k steps");
    LB_CHECK(lb_train_opts_set(&o, "decay", "wsd", msg, sizeof msg) == 0 && o.decay == LB_DECAY_WSD, "decay");
    LB_CHECK(lb_train_opts_set(&o, "attention", "linformer", msg, sizeof msg) == 0 &&
                 o.attention == LB_ATTN_LINFORMER, "attention");
    LB_CHECK(lb_train_opts_set(&o, "share", "kv", msg, sizeof msg) == 0 && o.share == LB_SHARE_KV, "share");
    LB_CHECK(lb_train_opts_set(&o, "keep-all", NULL, msg, sizeof msg) == 0 && o.keep_all == 1, "flag");
    LB_CHECK(lb_train_opts_set(&o, "n", "32:2,64", msg, sizeof msg) == 0 && o.curr.count == 2, "curriculum");
    LB_CHECK(o.n_given == 7, "every option set is marked given (%d)", o.n_given);
    static const char *const bad[][3] = {
        {"layers", "0", "--layers"}, {"lr", "nan", "--lr"}, {"lr", "11", "out of range"},
        {"seed", "-1", "--seed"}, {"decay", "sideways", "wsd"}, {"attention", "stream", "full or linformer"},
        {"share", "x", "layerwise"}, {"bogus", "1", "not a training option"}, {"batch", "4x", "--batch"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = 0;
        LB_CHECK(lb_train_opts_set(&o, bad[i][0], bad[i][1], msg, sizeof msg) == -1 && strstr(msg, bad[i][2]),
                 "--%s %s refused: %s", bad[i][0], bad[i][1], msg);
    }
}

static void test_lr(void) {
    /* Exact values: warm-up is linear from lr/warmup, decay ends at min_lr. */
    LB_CHECK(lb_close(lb_lr_at(0, 100, 10, 1e-3, 0, LB_DECAY_LINEAR), 1e-4, 0, 1e-12), "warm-up start");
    LB_CHECK(lb_close(lb_lr_at(9, 100, 10, 1e-3, 0, LB_DECAY_LINEAR), 1e-3, 0, 1e-12), "warm-up end");
    LB_CHECK(lb_close(lb_lr_at(99, 100, 10, 1e-3, 1e-5, LB_DECAY_LINEAR), 1e-5, 0, 1e-12), "linear end");
    LB_CHECK(lb_close(lb_lr_at(99, 100, 10, 1e-3, 1e-5, LB_DECAY_COSINE), 1e-5, 0, 1e-9), "cosine end");
    double mid = lb_lr_at(54, 100, 10, 1e-3, 0, LB_DECAY_LINEAR);
    LB_CHECK(lb_close(mid, 1e-3 * (1 - 44.0 / 89), 0, 1e-12), "linear midpoint %g", mid);
    LB_CHECK(lb_lr_at(50, 100, 0, 1e-3, 0, LB_DECAY_CONSTANT) == 1e-3, "constant");
    /* WSD over 100 steps: stable to step 79, linear from lr at 80 to min_lr at 99. */
    LB_CHECK(lb_lr_at(79, 100, 10, 1e-3, 1e-4, LB_DECAY_WSD) == 1e-3, "wsd stable");
    LB_CHECK(lb_close(lb_lr_at(80, 100, 10, 1e-3, 1e-4, LB_DECAY_WSD), 1e-3, 0, 1e-12), "wsd decay start");
    LB_CHECK(lb_close(lb_lr_at(99, 100, 10, 1e-3, 1e-4, LB_DECAY_WSD), 1e-4, 0, 1e-12), "wsd end");
    LB_CHECK(lb_close(lb_lr_at(5, 100, 10, 1e-3, 1e-4, LB_DECAY_WSD), 6e-4, 0, 1e-12), "wsd warm-up");
    double prev = 1;
    int mono = 1;
    for (long s = 10; s < 100; s++) {
        double l = lb_lr_at(s, 100, 10, 1e-3, 0, LB_DECAY_COSINE);
        mono &= l <= prev;
        prev = l;
    }
    LB_CHECK(mono, "cosine decay is non-increasing");
}

static void test_adamw(void) {
    /* Against a scalar double reference over 5 updates, odd length (not a multiple
     * of any vector width), with large and tiny gradients. Tolerance 1e-5 relative:
     * float arithmetic of a handful of operations per update, 5 updates. */
    enum { N = 1037, T = 5 };
    float *p = malloc(N * sizeof *p), *m = calloc(N, sizeof *m), *v = calloc(N, sizeof *v), *g = malloc(N * sizeof *g);
    double *rp = malloc(N * sizeof *rp), *rm = calloc(N, sizeof *rm), *rv = calloc(N, sizeof *rv);
    lb_rng r;
    lb_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) rp[i] = p[i] = (float)lb_rng_normal(&r);
    lb_adamw_hp hp = {0.9, 0.98, 1e-6};
    double lr = 1e-2, wd = 0.1;
    for (int t = 1; t <= T; t++) {
        for (int i = 0; i < N; i++) g[i] = (float)(lb_rng_normal(&r) * (i % 3 == 0 ? 1e3 : i % 3 == 1 ? 1e-4 : 1));
        lb_adamw_update(p, m, v, g, N, &hp, t, lr, wd, 2);
        for (int i = 0; i < N; i++) {
            rm[i] = 0.9 * rm[i] + 0.1 * g[i];
            rv[i] = 0.98 * rv[i] + 0.02 * (double)g[i] * g[i];
            double mh = rm[i] / (1 - pow(0.9, t)), vh = rv[i] / (1 - pow(0.98, t));
            rp[i] = rp[i] * (1 - lr * wd) - lr * mh / (sqrt(vh) + 1e-6);
        }
    }
    float *ref = malloc(N * sizeof *ref);
    for (int i = 0; i < N; i++) ref[i] = (float)rp[i];
    lb_check_array("adamw params", p, ref, N, 1e-6, 1e-5);
    free(p), free(m), free(v), free(g), free(rp), free(rm), free(rv), free(ref);
}

static void test_clip(void) {
    enum { N = 100003 }; /* several chunks, last one partial */
    float *g = malloc(N * sizeof *g), *h = malloc(N * sizeof *h);
    double ref = 0;
    for (int i = 0; i < N; i++) {
        g[i] = (float)sin(i * 0.37) * 3;
        ref += (double)g[i] * g[i];
    }
    memcpy(h, g, N * sizeof *g);
    double s1 = lb_sumsq(g, N, 1), s2 = lb_sumsq(g, N, 2), s3 = lb_sumsq(g, N, 3);
    LB_CHECK(s1 == s2 && s2 == s3, "sum of squares identical for 1, 2, 3 threads (%.17g %.17g %.17g)", s1, s2, s3);
    LB_CHECK(lb_close(s1, ref, 0, 1e-12), "sum of squares %g vs %g", s1, ref); /* double both ways */
    double norm = lb_clip_grad(g, N, 1.0, 2);
    LB_CHECK(lb_close(norm, sqrt(ref), 0, 1e-12), "norm before clipping");
    LB_CHECK(lb_close(sqrt(lb_sumsq(g, N, 2)), 1.0, 0, 1e-5), "norm after clipping is the clip"); /* float scale */
    LB_CHECK(lb_clip_grad(h, 10, 1e9, 2) > 0 && h[3] == (float)sin(3 * 0.37) * 3, "no clip below the limit");
    LB_CHECK(lb_sumsq(g, 0, 2) == 0, "empty");
    g[5] = NAN;
    LB_CHECK(!isfinite(lb_clip_grad(g, N, 1.0, 2)), "NaN gradient reported");
    free(g), free(h);
}

/* A tiny GPT-2-style tokenizer: <s> <pad> </s> <unk>, the 256 bytes, <mask>; no merges. */
static int write_tokenizer(const char *dir) {
    char p[512];
    snprintf(p, sizeof p, "%s/vocab.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fprintf(f, "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3");
    for (int b = 0; b < 256; b++) {
        uint32_t cp = lb_gpt2_byte_to_cp((unsigned char)b);
        char u[8];
        int n = 0;
        if (cp < 0x80) u[n++] = (char)cp;
        else u[n++] = (char)(0xC0 | (cp >> 6)), u[n++] = (char)(0x80 | (cp & 0x3F));
        u[n] = 0;
        fprintf(f, ", \"%s%s\": %d", (cp == '"' || cp == '\\') ? "\\" : "", u, 4 + b);
    }
    fprintf(f, ", \"<mask>\": 260}\n");
    fclose(f);
    snprintf(p, sizeof p, "%s/merges.txt", dir);
    f = fopen(p, "w");
    if (!f) return -1;
    fprintf(f, "#version: 0.2\n");
    fclose(f);
    return 0;
}

static void test_mask(lb_tokenizer *t) {
    lb_mask_cfg cfg;
    char msg[256];
    LB_CHECK(!lb_mask_cfg_init(&cfg, t, msg, sizeof msg), "%s", msg);
    LB_CHECK(cfg.mask_id == 260 && cfg.vocab == 261 && cfg.n_special == 5, "specials %d mask %d", cfg.n_special,
             cfg.mask_id);
    enum { N = 37, S = 4000 };
    int32_t ids[N], orig[N], lab[N], ids2[N], lab2[N];
    float mask[N];
    long chosen = 0, as_mask = 0, as_rand = 0, kept = 0, real = 0, bad = 0;
    for (int s = 0; s < S; s++) {
        int len = 3 + s % (N - 3); /* varying real length, padding after */
        for (int i = 0; i < N; i++) {
            orig[i] = i == 0 ? 0 : i == len - 1 ? 2 : i >= len ? 1 : 4 + (s * 31 + i * 7) % 256;
            mask[i] = i < len ? 1.0f : 0.0f;
        }
        memcpy(ids, orig, sizeof ids);
        int k = lb_mask_sequence(ids, lab, mask, N, &cfg, 42, 3, (uint64_t)s);
        int m = len - 2, want = (int)lround(0.15 * m);
        if (want < 1) want = 1;
        if (k != want) bad++;
        real += m;
        for (int i = 0; i < N; i++) {
            if (lab[i] == -100) {
                if (ids[i] != orig[i]) bad++;
                continue;
            }
            chosen++;
            if (lab[i] != orig[i] || i == 0 || i >= len - 1) bad++;
            if (ids[i] == 260) as_mask++;
            else if (ids[i] == orig[i]) kept++;
            else {
                as_rand++;
                if (lb_mask_is_special(&cfg, ids[i]) || ids[i] < 0 || ids[i] >= 261) bad++;
            }
        }
        memcpy(ids2, orig, sizeof ids2);
        lb_mask_sequence(ids2, lab2, mask, N, &cfg, 42, 3, (uint64_t)s);
        if (memcmp(ids, ids2, sizeof ids) || memcmp(lab, lab2, sizeof lab)) bad++;
    }
    LB_CHECK(bad == 0, "%ld bad positions (labels, specials, padding, counts, reproducibility)", bad);
    /* Rates over ~20k choices: binomial standard error ≈ 0.3% (80%) and 0.2% (10%);
     * 1.5% margins are > 5 standard errors. Random draws equal to the original count
     * as kept (1/256 of the random 10%). */
    double fm = (double)as_mask / chosen, fr = (double)as_rand / chosen, fk = (double)kept / chosen;
    LB_CHECK(fabs(fm - 0.8) < 0.015 && fabs(fr - 0.1) < 0.015 && fabs(fk - 0.1) < 0.015,
             "80/10/10 split: %.4f %.4f %.4f of %ld", fm, fr, fk, chosen);
    LB_CHECK(fabs((double)chosen / real - 0.15) < 0.02, "15%% chosen: %.4f", (double)chosen / real);
    /* Different step or sequence → a different mask. */
    for (int i = 0; i < N; i++) orig[i] = 4 + i, mask[i] = 1;
    memcpy(ids, orig, sizeof ids);
    memcpy(ids2, orig, sizeof ids);
    lb_mask_sequence(ids, lab, mask, N, &cfg, 42, 3, 0);
    lb_mask_sequence(ids2, lab2, mask, N, &cfg, 42, 4, 0);
    LB_CHECK(memcmp(lab, lab2, sizeof lab) != 0, "mask changes with the step (dynamic masking)");
    /* One real token → exactly one chosen; only specials → none. */
    for (int i = 0; i < N; i++) ids[i] = 1, mask[i] = 0;
    ids[0] = 0, ids[1] = 77, ids[2] = 2, mask[0] = mask[1] = mask[2] = 1;
    LB_CHECK(lb_mask_sequence(ids, lab, mask, N, &cfg, 1, 1, 1) == 1 && lab[1] == 77, "single token");
    ids[1] = 3;
    LB_CHECK(lb_mask_sequence(ids, lab, mask, N, &cfg, 1, 1, 1) == 0, "only specials: nothing chosen");
}

static void test_loader(lb_tokenizer *t) {
    lb_docs d;
    lb_docs_init(&d);
    /* 3 documents of 10, 25, 4 tokens: pack stream 10+1+25+1+4 = 41, n 8 → c 6 → 7 windows */
    int32_t buf[25];
    for (int j = 0; j < 25; j++) buf[j] = 10 + j;
    lb_docs_add(&d, buf, 10);
    lb_docs_add(&d, buf, 25);
    lb_docs_add(&d, buf, 4);
    lb_loader *l;
    char msg[256];
    LB_CHECK(!lb_loader_init(&l, &d, 5, 0, 2, 1, msg, sizeof msg), "%s", msg);
    size_t W = lb_loader_windows(l, 8);
    LB_CHECK(W == 7, "windows %zu", W);
    lb_batch b;
    lb_batch_init(&b, 3, 8, msg, sizeof msg);
    /* Two epochs in batches of 3 (21 windows = 3 epochs exactly): each epoch's
     * windows are a permutation; starts found by the first content token. */
    int32_t firsts[21];
    int k = 0;
    for (int it = 0; it < 7; it++) {
        lb_loader_next(l, &b, msg, sizeof msg);
        for (int r = 0; r < 3; r++) firsts[k++] = b.ids[r * 8 + 1] * 1000 + b.ids[r * 8 + 2];
    }
    int perm_ok = 1, same_order = 1;
    for (int e = 0; e < 3; e++)
        for (int i = 0; i < 7; i++)
            for (int j = i + 1; j < 7; j++) perm_ok &= firsts[e * 7 + i] != firsts[e * 7 + j];
    for (int i = 0; i < 7; i++) same_order &= firsts[i] == firsts[7 + i];
    LB_CHECK(perm_ok, "every window once per epoch");
    LB_CHECK(!same_order, "epochs reshuffled");
    /* Save the position mid-epoch, read on, restore into a fresh loader: same batch. */
    lb_loader_next(l, &b, msg, sizeof msg);
    lb_loader_pos pos;
    lb_loader_get(l, &pos);
    int32_t a1[24], a2[24];
    lb_loader_next(l, &b, msg, sizeof msg);
    memcpy(a1, b.ids, sizeof a1);
    lb_loader *l2;
    lb_loader_init(&l2, &d, 5, 0, 2, 1, msg, sizeof msg);
    LB_CHECK(!lb_loader_set(l2, &pos, msg, sizeof msg), "%s", msg);
    lb_loader_next(l2, &b, msg, sizeof msg);
    memcpy(a2, b.ids, sizeof a2);
    LB_CHECK(!memcmp(a1, a2, sizeof a1), "restored position gives the same batch");
    pos.pos = 99;
    LB_CHECK(lb_loader_set(l2, &pos, msg, sizeof msg) && strstr(msg, "past"), "bad position refused: %s", msg);
    lb_loader_free(l2);
    lb_loader_free(l);
    lb_batch_free(&b);
    lb_mask_cfg cfg;
    lb_mask_cfg_init(&cfg, t, msg, sizeof msg);
    LB_CHECK(lb_docs_top_token(&d, &cfg) == 10, "most frequent token %d", lb_docs_top_token(&d, &cfg));
    uint64_t h1 = lb_docs_checksum(&d);
    d.tokens[3]++;
    LB_CHECK(h1 != lb_docs_checksum(&d), "checksum sees a changed token");
    lb_docs_free(&d);
    lb_docs empty;
    lb_docs_init(&empty);
    LB_CHECK(lb_loader_init(&l, &empty, 1, 0, 2, 1, msg, sizeof msg) && strstr(msg, "empty"), "empty corpus: %s",
             msg);
}

/* ---- training runs through lb_train_run (tiny model: vocab 261, hidden 16, 2 layers,
 * 2 heads, FFN 32, n 16/24, batch 4) ---- */

static void run_opts(lb_train_opts *o, const char *dir, const char *out) {
    static char tok[600], tr[600], va[600];
    snprintf(tok, sizeof tok, "%s", dir);
    snprintf(tr, sizeof tr, "%s/train.txt", dir);
    snprintf(va, sizeof va, "%s/valid.txt", dir);
    /* Set by name, as `linbench train` does: the options table is the one interface. */
    const char *const set[][2] = {
        {"tokenizer", tok}, {"train", tr}, {"valid", va}, {"out", out}, {"layers", "2"}, {"hidden", "16"},
        {"heads", "2"}, {"ffn", "32"}, {"n", "24"}, {"batch", "4"}, {"steps", "6"}, {"lr", "1e-2"},
        {"warmup", "2"}, {"eval-every", "3"}, {"eval-batches", "2"}, {"log-every", "1"}, {"threads", "2"},
        {"seed", "3"}};
    char msg[256];
    lb_train_opts_default(o);
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        LB_CHECK(lb_train_opts_set(o, set[i][0], set[i][1], msg, sizeof msg) == 0, "set --%s: %s", set[i][0], msg);
    o->n_given = 0; /* a fresh run: nothing to compare with a checkpoint */
    o->progress = 0;
    o->quiet = 1;
}

/* Resume from checkpoint dir with every option taken from it. */
static void resume_opts(lb_train_opts *o, const char *dir) {
    lb_train_opts_default(o);
    o->resume = dir;
    o->progress = 0;
    o->quiet = 1;
}

/* lb_train_run's status; a failure's message is printed, so a failing check shows why. */
static lb_train_status train(const lb_train_opts *o) {
    char msg[1024] = "";
    lb_train_status st = LB_TRAIN_FAILED;
    int rc = lb_train_run(o, &st, msg, sizeof msg);
    if (rc != 0 && (st == LB_TRAIN_DONE || st == LB_TRAIN_INTERRUPTED)) return LB_TRAIN_FAILED; /* contradictory */
    if (rc != 0 && !msg[0]) return LB_TRAIN_FAILED; /* a failure must say why */
    if (msg[0]) printf("(lb_train_run: %s)\n", msg);
    return st;
}

/* Read a file whole; NULL when missing. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) free(b), b = NULL;
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

static int same_file(const char *a, const char *b) {
    size_t la, lb;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

/* Same parameter block (loaded through lb_model_load, as dump/spectrum load it) and
 * same optimizer file, bit for bit. */
static int same_state(const char *c1, const char *c2) {
    char a[700], b[700], msg[512];
    lb_model *m1 = NULL, *m2 = NULL;
    int ok = !lb_model_load(&m1, c1, msg, sizeof msg) && !lb_model_load(&m2, c2, msg, sizeof msg);
    if (!ok) printf("load: %s\n", msg);
    ok = ok && lb_model_param_elems(m1) == lb_model_param_elems(m2) &&
         !memcmp(lb_model_params(m1), lb_model_params(m2), lb_model_param_elems(m1) * sizeof(float));
    snprintf(a, sizeof a, "%s/optimizer.safetensors", c1);
    snprintf(b, sizeof b, "%s/optimizer.safetensors", c2);
    ok = ok && same_file(a, b);
    lb_model_free(m1);
    lb_model_free(m2);
    return ok;
}

/* Train losses from the log CSV (column 5), into out[0..max). */
static int read_losses(const char *path, double *out, int max) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[512];
    int n = 0;
    if (!fgets(line, sizeof line, f)) n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        char *p = line;
        for (int c = 0; c < 4 && p; c++) p = strchr(p, ','), p = p ? p + 1 : p;
        if (p) out[n++] = strtod(p, NULL);
    }
    fclose(f);
    return n;
}

static int exists(const char *p) {
    FILE *f = fopen(p, "r");
    if (f) fclose(f);
    return f != NULL;
}

/* Nothing but `keep` (or nothing) left in folder out: no temporary or partial checkpoint. */
static int clean_out(const char *out, const char *keep) {
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' 2>/dev/null | grep -v -x -e '%s' -e log.csv)\"", out,
             keep ? keep : "NONE");
    return system(cmd) == 0;
}

static void write_corpus(const char *dir) {
    char p[600];
    const char *words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red"};
    lb_rng r;
    lb_rng_seed(&r, 11);
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s", dir, k ? "valid.txt" : "train.txt");
        FILE *f = fopen(p, "w");
        for (int d = 0; d < (k ? 12 : 60); d++) {
            int len = 4 + (int)(lb_rng_u64(&r) % 12);
            for (int w = 0; w < len; w++) fprintf(f, "%s%s", w ? " " : "", words[lb_rng_u64(&r) % 12]);
            fprintf(f, ".\n\n");
        }
        fclose(f);
    }
}

/* Resume out/checkpoint-step to the end: its last checkpoint must equal ref's bits. */
static void check_resume(const char *out, long step, const char *ref, const char *what) {
    char ck[700];
    lb_train_opts o;
    snprintf(ck, sizeof ck, "%s/checkpoint-%ld", out, step);
    resume_opts(&o, ck);
    LB_CHECK(train(&o) == LB_TRAIN_DONE, "resume from %s", ck);
    snprintf(ck, sizeof ck, "%s/checkpoint-6", out);
    LB_CHECK(same_state(ref, ck), "%s", what);
}

static void test_runs(const char *dir) {
    char out1[600], out2[600], out3[600], c1[700], c2[700], log[700], path[800], cmd[3000];
    write_corpus(dir);
    snprintf(out1, sizeof out1, "%s/run1", dir);
    snprintf(out2, sizeof out2, "%s/run2", dir);
    snprintf(out3, sizeof out3, "%s/run3", dir);
    lb_train_opts o;

    /* 1. Loss goes down over 30 steps. First-5 vs last-5 means: masked-token CE
     * starts near ln(261) ≈ 5.6 and the byte statistics of this corpus are learnt
     * within a few steps at lr 1e-2; 0.5 nats is far below the drop seen (~2) and far
     * above the step-to-step noise of batch 4 (~0.2). */
    run_opts(&o, dir, out1);
    o.steps = 30;
    o.eval_every = 10;
    snprintf(log, sizeof log, "%s/loss.csv", dir);
    o.log = log;
    LB_CHECK(train(&o) == LB_TRAIN_DONE, "30-step run");
    double loss[30];
    int nl = read_losses(log, loss, 30);
    double first = 0, last = 0;
    for (int i = 0; i < 5 && nl == 30; i++) first += loss[i] / 5, last += loss[25 + i] / 5;
    LB_CHECK(nl == 30 && last < first - 0.5, "loss falls: first 5 %.4f, last 5 %.4f (%d lines)", first, last, nl);
    printf("loss: first 5 steps %.4f, last 5 %.4f\n", first, last);

    /* 2. Same seed and threads → the same bits; 3. 3 steps + resume 3 = 6 steps. */
    run_opts(&o, dir, out1);
    LB_CHECK(train(&o) == LB_TRAIN_DONE, "run A");
    run_opts(&o, dir, out2);
    LB_CHECK(train(&o) == LB_TRAIN_DONE, "run B");
    snprintf(c1, sizeof c1, "%s/checkpoint-6", out1);
    snprintf(c2, sizeof c2, "%s/checkpoint-6", out2);
    LB_CHECK(same_state(c1, c2), "two runs with the same seed and threads are bit-identical");
    run_opts(&o, dir, out3);
    o.stop_after = 3;
    LB_CHECK(train(&o) == LB_TRAIN_DONE, "3 steps");
    check_resume(out3, 3, c1, "3 steps + resume 3 equals 6 steps, bit for bit");

    /* An interrupt (the flag a signal handler sets) stops after the step with a
     * checkpoint; resuming from it still equals the uninterrupted run. */
    snprintf(out3, sizeof out3, "%s/run5", dir);
    run_opts(&o, dir, out3);
    volatile sig_atomic_t stop = 1;
    o.stop = &stop;
    LB_CHECK(train(&o) == LB_TRAIN_INTERRUPTED, "an interrupted run ends LB_TRAIN_INTERRUPTED");
    check_resume(out3, 1, c1, "interrupt at 1 + resume equals 6 steps");
    snprintf(out3, sizeof out3, "%s/run3", dir);

    /* 4. Bad input: nothing half-written. */
    snprintf(c2, sizeof c2, "%s/checkpoint-3", out3);
    lb_train_opts_default(&o);
    o.resume = c2;
    o.hidden = 32;
    lb_train_opts_mark(&o, "hidden");
    o.progress = 0;
    o.quiet = 1;
    LB_CHECK(train(&o) == LB_TRAIN_BAD_OPTIONS, "mismatched --hidden on resume refused");
    snprintf(cmd, sizeof cmd, "cp -r %s %s/corrupt && printf 'Z' | dd of=%s/corrupt/model.safetensors bs=1 "
             "seek=200 conv=notrunc 2>/dev/null", c2, dir, dir);
    LB_CHECK(system(cmd) == 0, "make a corrupt copy");
    snprintf(path, sizeof path, "%s/corrupt", dir);
    lb_train_opts_default(&o);
    o.resume = path;
    o.progress = 0;
    o.quiet = 1;
    snprintf(out2, sizeof out2, "%s/run4", dir);
    o.out = out2;
    LB_CHECK(train(&o) == LB_TRAIN_BAD_DATA && clean_out(out2, NULL), "corrupt checkpoint refused");
    snprintf(cmd, sizeof cmd, "cp -r %s %s/short && truncate -s 100 %s/short/optimizer.safetensors", c2, dir,
             dir);
    LB_CHECK(system(cmd) == 0, "make a truncated copy");
    snprintf(path, sizeof path, "%s/short", dir);
    LB_CHECK(train(&o) == LB_TRAIN_BAD_DATA && clean_out(out2, NULL), "truncated optimizer state refused");
    snprintf(path, sizeof path, "%s/empty.txt", dir);
    fclose(fopen(path, "w"));
    run_opts(&o, dir, out2);
    o.train = path;
    LB_CHECK(train(&o) == LB_TRAIN_BAD_DATA && clean_out(out2, NULL), "empty corpus refused");
    run_opts(&o, dir, out2);
    o.max_pos = 20; /* n 24 needs 26 */
    LB_CHECK(train(&o) == LB_TRAIN_BAD_OPTIONS && clean_out(out2, NULL), "n past the position table refused");
    run_opts(&o, dir, out2);
    o.attention = LB_ATTN_LINFORMER;
    o.k = 25;
    LB_CHECK(train(&o) == LB_TRAIN_BAD_OPTIONS && clean_out(out2, NULL), "k > n refused");

    /* 5. Linformer, every sharing mode, trained by the same code; resume equivalence
     * for each (it also exercises the learned E/F in the optimizer state); the
     * BF16 export loads back. */
    const lb_share modes[] = {LB_SHARE_NONE, LB_SHARE_HEADWISE, LB_SHARE_KV, LB_SHARE_LAYERWISE};
    for (int i = 0; i < 4; i++) {
        snprintf(out1, sizeof out1, "%s/lin%d", dir, i);
        snprintf(out2, sizeof out2, "%s/lin%d-b", dir, i);
        run_opts(&o, dir, out1);
        o.attention = LB_ATTN_LINFORMER;
        o.k = 8;
        o.share = modes[i];
        o.curr.count = 2, o.curr.n[0] = 16, o.curr.steps[0] = 2, o.curr.n[1] = 24; /* n changes mid-run */
        char exp_dir[700];
        snprintf(exp_dir, sizeof exp_dir, "%s/export", out1);
        o.export_bf16 = exp_dir;
        LB_CHECK(train(&o) == LB_TRAIN_DONE, "linformer %s", lb_share_name(modes[i]));
        o.out = out2;
        o.export_bf16 = NULL;
        o.stop_after = 4;
        LB_CHECK(train(&o) == LB_TRAIN_DONE, "linformer %s, 4 steps", lb_share_name(modes[i]));
        snprintf(c2, sizeof c2, "%s/checkpoint-4", out2);
        lb_train_opts_default(&o);
        o.resume = c2;
        o.progress = 0;
        o.quiet = 1;
        LB_CHECK(train(&o) == LB_TRAIN_DONE, "linformer resume");
        snprintf(c1, sizeof c1, "%s/checkpoint-6", out1);
        snprintf(c2, sizeof c2, "%s/checkpoint-6", out2);
        LB_CHECK(same_state(c1, c2), "linformer %s: 4 + resume 2 equals 6 steps", lb_share_name(modes[i]));
        lb_model *m = NULL, *e = NULL;
        char msg[512];
        int ok = !lb_model_load(&m, c1, msg, sizeof msg) && !lb_model_load(&e, exp_dir, msg, sizeof msg);
        /* BF16 keeps 8 significant bits: round-to-nearest errs by at most half a unit
         * in the last place, 2^-8 relative (2^-8 of the value's power of two). */
        LB_CHECK(ok && lb_check_array("bf16 export", lb_model_params(e), lb_model_params(m),
                                      (long)lb_model_param_elems(m), 1e-30, 1.0 / 256),
                 "export loads: %s", ok ? "" : msg);
        snprintf(path, sizeof path, "%s/vocab.json", exp_dir);
        LB_CHECK(exists(path), "export carries the tokenizer");
        lb_model_free(m);
        lb_model_free(e);
    }
}

int main(void) {
    test_curriculum();
    test_opts_set();
    test_lr();
    test_adamw();
    test_clip();
    char dir[] = "/tmp/lbtrainXXXXXX";
    if (!mkdtemp(dir)) return 1;
    lb_tokenizer *t = NULL;
    char v[600], m[600], msg[256];
    snprintf(v, sizeof v, "%s/vocab.json", dir);
    snprintf(m, sizeof m, "%s/merges.txt", dir);
    LB_CHECK(!write_tokenizer(dir) && !lb_tokenizer_load_bpe(&t, v, m, msg, sizeof msg), "tokenizer: %s", msg);
    if (t) {
        test_mask(t);
        test_loader(t);
        test_runs(dir);
        lb_tokenizer_free(t);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) printf("could not remove %s\n", dir);
    return lb_test_summary("test_train");
}
