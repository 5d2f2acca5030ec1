/* The paper's Table 3 protocol: a whole encoder forward (RoBERTa-base shape, random
 * weights, the number of layers from the list) with the attention kernel plugged in,
 * at the largest batch whose analytic memory (lb_encoder_bytes) fits the budget. */
#include <malloc.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_bench.h"
#include "lb_model.h"
#include "lb_util.h"

/* MemAvailable in bytes, 0 when unreadable. */
static double mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

static double encoder_flops(const lb_config *c, int B, int n, const lb_attn_cfg *ac) {
    double h = c->hidden, tok = (double)B * n;
    return c->layers * (8 * tok * h * h + 4 * tok * h * c->intermediate + lb_attn_flops(ac));
}

/* Largest B in [1, cap] with lb_encoder_bytes <= budget, or 0. */
static int largest_batch(const lb_config *c, int n, const lb_encoder_opts *eo, double budget,
                         long cap) {
    if ((double)lb_encoder_bytes(c, 1, n, eo, 0) > budget) return 0;
    long lo = 1, hi = 2;
    long top = cap > 0 ? cap : (1L << 20);
    while (hi <= top && (double)lb_encoder_bytes(c, (int)hi, n, eo, 0) <= budget) lo = hi, hi *= 2;
    if (hi > top) hi = top + 1;
    while (hi - lo > 1) { /* bytes(lo) fits, bytes(hi) does not (or hi is past the cap) */
        long mid = lo + (hi - lo) / 2;
        if ((double)lb_encoder_bytes(c, (int)mid, n, eo, 0) <= budget) lo = mid;
        else hi = mid;
    }
    return (int)lo;
}

typedef struct {
    lb_bench_point *p;
    lb_encoder_opts eo;
    lb_encoder *e;
    int32_t *ids;
} slot;

static void slot_release(slot *s) {
    lb_encoder_free(s->e);
    free(s->ids);
    s->e = NULL;
    s->ids = NULL;
}

static int slot_start(slot *s, const lb_model *m, lb_rng *rng) {
    char msg[160];
    const lb_config *c = lb_model_config(m);
    size_t len = (size_t)s->p->B * s->p->n;
    s->ids = malloc(len * sizeof *s->ids);
    if (!s->ids) {
        s->p->status = LB_PT_NOFIT;
        snprintf(s->p->note, sizeof s->p->note, "cannot allocate the token ids");
        return -1;
    }
    for (size_t i = 0; i < len; i++) /* random ids past the special tokens, no padding */
        s->ids[i] = 3 + (int32_t)(lb_rng_u64(rng) % (uint64_t)(c->vocab_size - 3));
    /* give freed heap pages back first, or new buffers reuse resident pages and
     * the high-water mark does not see them */
    malloc_trim(0);
    lb_reset_peak_rss();
    size_t base = lb_cur_rss();
    if (lb_encoder_init(&s->e, m, s->p->B, s->p->n, &s->eo, 0, msg, sizeof msg) ||
        lb_encoder_forward(s->e, NULL, s->ids, NULL, NULL, NULL, NULL, msg, sizeof msg)) {
        s->p->status = strstr(msg, "memory") ? LB_PT_NOFIT : LB_PT_FAIL;
        snprintf(s->p->note, sizeof s->p->note, "%s", msg);
        slot_release(s);
        return -1;
    }
    size_t peak = lb_peak_rss();
    s->p->peak_extra = peak > base ? peak - base : 0;
    return 0;
}

typedef struct {
    slot *sl;
    const lb_model *m;
    lb_rng *rng;
} t3_ctx;

static int t3_start(void *ctx, int i) {
    t3_ctx *c = ctx;
    return slot_start(&c->sl[i], c->m, c->rng);
}
static float t3_run(void *ctx, int i) {
    slot *s = &((t3_ctx *)ctx)->sl[i];
    char msg[160];
    return (float)lb_encoder_forward(s->e, NULL, s->ids, NULL, NULL, NULL, NULL, msg, sizeof msg);
}
static void t3_release(void *ctx, int i) { slot_release(&((t3_ctx *)ctx)->sl[i]); }
static const lb_bench_ops t3_ops = {t3_start, t3_run, t3_release};

static void run_n(lb_bench_set *set, const lb_bench_opts *o, lb_progress *prog, const lb_model *m,
                  int n, int threads, lb_rng *rng) {
    const lb_config *c = lb_model_config(m);
    int first = set->len;
    for (int meth = 0; meth < 3; meth++) {
        if (!(o->methods & (1 << meth))) continue;
        int nk = meth == LB_ATTN_LINFORMER ? o->t3_k.len : 1;
        for (int i = 0; i < nk; i++) {
            int kk = meth == LB_ATTN_LINFORMER ? (int)o->t3_k.v[i] : 0;
            if (kk > n) continue;
            lb_bench_point *p = lb_bench_add(set);
            if (!p) return;
            p->proto = LB_PROTO_TABLE3;
            p->method = (lb_attn_method)meth;
            p->share = meth == LB_ATTN_LINFORMER ? o->t3_share : LB_SHARE_NONE;
            p->n = n, p->k = kk, p->d = c->hidden / c->heads, p->H = c->heads;
            p->layers = c->layers, p->threads = threads;
        }
    }
    int np = set->len - first;
    if (np == 0) return;
    slot *sl = calloc((size_t)np, sizeof *sl);
    if (!sl) return;
    for (int i = 0; i < np; i++) {
        lb_bench_point *p = &set->pts[first + i];
        sl[i].p = p;
        sl[i].eo = (lb_encoder_opts){.method = p->method, .k = p->k ? p->k : 1, .share = p->share,
                                     .threads = threads, .seed = o->seed + 17};
        p->B = largest_batch(c, n, &sl[i].eo, o->t3_budget, o->max_batch);
        if (p->B == 0) {
            p->status = LB_PT_NOFIT;
            snprintf(p->note, sizeof p->note, "one sequence needs %.3g GiB > budget %.3g GiB",
                     lb_encoder_bytes(c, 1, n, &sl[i].eo, 0) / 1073741824.0,
                     o->t3_budget / 1073741824.0);
            continue;
        }
        p->analytic = lb_encoder_bytes(c, p->B, n, &sl[i].eo, 0);
        lb_attn_cfg ac = {.method = p->method, .B = p->B, .H = c->heads, .n = n, .d = p->d,
                          .k = sl[i].eo.k, .share = p->share, .threads = threads};
        p->flops = encoder_flops(c, p->B, n, &ac);
    }
    /* interleave the configurations of this n that fit in the machine together */
    t3_ctx ctx = {sl, m, rng};
    lb_bench_mark_slow(&set->pts[first], np, o);
    lb_bench_interleave(&set->pts[first], np, 0, 0.7 * mem_available(), o->warmup, o->reps, prog,
                        &t3_ops, &ctx);
    free(sl);
}

static void t3_config(lb_config *c, const lb_bench_opts *o, long layers) {
    lb_config_roberta_base(c);
    c->layers = (int)layers;
    long maxn = 0;
    for (int i = 0; i < o->t3_n.len; i++)
        if (o->t3_n.v[i] > maxn) maxn = o->t3_n.v[i];
    if (maxn + 2 > c->max_pos) c->max_pos = (int)maxn + 2; /* RoBERTa positions start at 2 */
}

int lb_bench_table3(lb_bench_set *set, const lb_bench_opts *o, lb_progress *prog) {
    lb_rng rng;
    lb_rng_seed(&rng, o->seed + 3);
    int threads = o->t3_threads > 0 ? o->t3_threads : omp_get_max_threads();
    for (int li = 0; li < o->layers.len; li++) {
        lb_config c;
        t3_config(&c, o, o->layers.v[li]);
        lb_model *m = NULL;
        char msg[160];
        if (lb_model_init_random(&m, &c, o->seed, msg, sizeof msg)) {
            lb_err("bench: table3: cannot build the %ld-layer encoder: %s", o->layers.v[li], msg);
            return EX_SOFTWARE;
        }
        for (int ni = 0; ni < o->t3_n.len; ni++) run_n(set, o, prog, m, (int)o->t3_n.v[ni], threads, &rng);
        lb_model_free(m);
    }
    return EX_OK;
}

/* Flops of every call for the progress bar; the batch is found as the run does. */
double lb_bench_table3_work(const lb_bench_opts *o) {
    double w = 0;
    int calls = o->reps + (o->warmup > 1 ? o->warmup : 1);
    for (int li = 0; li < o->layers.len; li++) {
        lb_config c;
        t3_config(&c, o, o->layers.v[li]);
        for (int ni = 0; ni < o->t3_n.len; ni++)
            for (int meth = 0; meth < 3; meth++) {
                if (!(o->methods & (1 << meth))) continue;
                int nk = meth == LB_ATTN_LINFORMER ? o->t3_k.len : 1;
                for (int i = 0; i < nk; i++) {
                    int n = (int)o->t3_n.v[ni], kk = meth == LB_ATTN_LINFORMER ? (int)o->t3_k.v[i] : 1;
                    if (kk > n) continue;
                    lb_encoder_opts eo = {.method = (lb_attn_method)meth, .k = kk, .share = o->t3_share};
                    int B = largest_batch(&c, n, &eo, o->t3_budget, o->max_batch);
                    lb_attn_cfg ac = {.method = eo.method, .B = B, .H = c.heads, .n = n,
                                      .d = c.hidden / c.heads, .k = kk, .share = eo.share};
                    if (B > 0) w += encoder_flops(&c, B, n, &ac) * calls;
                }
            }
    }
    return w;
}
