/* The layer protocol: one attention layer per point; the methods of a group (same n,
 * d, H, B, threads) timed round-robin, rotating the order every repetition, so that
 * slow drifts of the machine hit every method alike. */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_bench.h"
#include "lb_util.h"

typedef struct {
    lb_bench_point *p;
    lb_attn_cfg cfg;
    lb_attn *a;
    float *E, *F;
} slot;

static void slot_release(slot *s) {
    lb_attn_free(s->a);
    if (s->F != s->E) lb_free(s->F);
    lb_free(s->E);
    s->a = NULL;
    s->E = s->F = NULL;
}

/* Analytic bytes a point allocates: the kernel workspace and its E/F. */
static size_t point_bytes(const lb_attn_cfg *c) {
    size_t pe = lb_attn_proj_elems(c), ws = lb_attn_workspace_bytes(c);
    int two = c->method == LB_ATTN_LINFORMER && (c->share == LB_SHARE_NONE || c->share == LB_SHARE_HEADWISE);
    return ws + pe * sizeof(float) * (two ? 2 : 1);
}

/* Init (E/F + workspace) and one call, measuring the peak memory this adds. */
static int slot_start(slot *s, float *out, const float *q, const float *k, const float *v,
                      lb_rng *rng) {
    char msg[160];
    /* give freed heap pages back first, or new buffers reuse resident pages and
     * the high-water mark does not see them */
    malloc_trim(0);
    lb_reset_peak_rss();
    size_t base = lb_cur_rss();
    size_t pe = lb_attn_proj_elems(&s->cfg);
    if (pe) {
        s->E = lb_alloc_big(pe * sizeof(float), 1);
        int two = s->cfg.share == LB_SHARE_NONE || s->cfg.share == LB_SHARE_HEADWISE;
        s->F = two ? lb_alloc_big(pe * sizeof(float), 1) : s->E;
        if (!s->E || !s->F) {
            snprintf(s->p->note, sizeof s->p->note, "cannot allocate E/F (%zu bytes)", pe * 4);
            s->p->status = LB_PT_NOFIT;
            slot_release(s);
            return -1;
        }
        float scale = 1.0f / sqrtf((float)s->cfg.k); /* Theorem 1: N(0, 1/k) */
        lb_rng_fill_normal(rng, s->E, pe, scale);
        if (s->F != s->E) lb_rng_fill_normal(rng, s->F, pe, scale);
    }
    if (lb_attn_init(&s->a, &s->cfg, msg, sizeof msg)) {
        snprintf(s->p->note, sizeof s->p->note, "%s", msg);
        s->p->status = strstr(msg, "memory") ? LB_PT_NOFIT : LB_PT_FAIL;
        slot_release(s);
        return -1;
    }
    lb_attn_forward(s->a, out, NULL, q, k, v, NULL, s->E, s->F);
    size_t peak = lb_peak_rss();
    s->p->peak_extra = peak > base ? peak - base : 0;
    return 0;
}

typedef struct {
    slot *sl;
    float *out;
    const float *q, *k, *v;
    lb_rng *rng;
    size_t len; /* elements of out */
} layer_ctx;

static int layer_start(void *ctx, int i) {
    layer_ctx *c = ctx;
    return slot_start(&c->sl[i], c->out, c->q, c->k, c->v, c->rng);
}
static float layer_run(void *ctx, int i) {
    layer_ctx *c = ctx;
    slot *s = &c->sl[i];
    lb_attn_forward(s->a, c->out, NULL, c->q, c->k, c->v, NULL, s->E, s->F);
    return c->out[0] + c->out[c->len - 1];
}
static void layer_release(void *ctx, int i) { slot_release(&((layer_ctx *)ctx)->sl[i]); }
static const lb_bench_ops layer_ops = {layer_start, layer_run, layer_release};

/* One group of the grid: the points with the same n, d, H, B and threads. */
typedef struct {
    int n, d, H, B, threads;
} group;

/* Group gi of the grid in the order the run takes it (threads outermost, then d, H, B
 * and n); 0 past the last. */
static int layer_group(group *g, const lb_bench_opts *o, long gi) {
    const lb_list *dims[5] = {&o->n, &o->batch, &o->heads, &o->d, &o->threads}; /* fastest first */
    long at[5];
    for (int i = 0; i < 5; i++) {
        if (dims[i]->len == 0) return 0;
        at[i] = gi % dims[i]->len;
        gi /= dims[i]->len;
    }
    if (gi) return 0;
    *g = (group){.n = (int)o->n.v[at[0]], .B = (int)o->batch.v[at[1]], .H = (int)o->heads.v[at[2]],
                 .d = (int)o->d.v[at[3]], .threads = (int)o->threads.v[at[4]]};
    return 1;
}

/* The cells of a group (k > n: no such cell, the paper leaves it empty). */
static int group_cells(lb_bench_cell *cells, const lb_bench_opts *o, int n) {
    /* k = m = w; scatterbrain takes k for both its features and its window radius */
    return lb_bench_cells(cells, o->methods, lb_attn_sized_methods(), &o->k, n);
}

static void run_group(lb_bench_set *set, const lb_bench_opts *o, lb_progress *prog,
                      const group *g, lb_rng *rng) {
    const int n = g->n, d = g->d, H = g->H, B = g->B, t = g->threads;
    int first = set->len;
    lb_bench_cell cells[LB_BENCH_MAXCELLS];
    int nc = group_cells(cells, o, n);
    for (int i = 0; i < nc; i++) { /* the points of the group */
        lb_bench_point *p = lb_bench_add(set);
        if (!p) return;
        *p = (lb_bench_point){.proto = LB_PROTO_LAYER, .method = cells[i].method,
                              .share = cells[i].method == LB_ATTN_LINFORMER ? o->share : LB_SHARE_NONE,
                              .n = n, .k = cells[i].k, .d = d, .H = H, .B = B, .layers = 1,
                              .threads = t, .median = NAN, .q1 = NAN, .q3 = NAN,
                              .iqr = NAN, .gflops = NAN, .sgemm_gflops = NAN,
                              .speedup = NAN, .mem_saved = NAN};
    }
    int np = set->len - first;
    if (np == 0) return;
    size_t io = 0;
    int io_ok = !lb_mul3_size(&io, (size_t)B * H, (size_t)n, (size_t)d * 16); /* q,k,v,out */
    slot *sl = calloc((size_t)np, sizeof *sl);
    if (!sl) return;
    for (int i = 0; i < np; i++) {
        lb_bench_point *p = &set->pts[first + i];
        sl[i].p = p;
        sl[i].cfg = (lb_attn_cfg){.method = p->method, .B = B, .H = H, .n = n, .d = d,
                                  .k = p->k ? p->k : 1, .share = p->share, .threads = t,
                                  .window = p->k, .seed = o->seed};
        char msg[160];
        p->io_bytes = io;
        p->flops = lb_attn_flops(&sl[i].cfg);
        if (lb_attn_check(&sl[i].cfg, msg, sizeof msg)) {
            p->status = LB_PT_NOFIT;
            snprintf(p->note, sizeof p->note, "%s", msg);
            continue;
        }
        p->analytic = point_bytes(&sl[i].cfg);
        if (!io_ok || (double)io + (double)p->analytic > o->budget) {
            p->status = LB_PT_NOFIT;
            snprintf(p->note, sizeof p->note, "needs %.3g GiB (inputs %.3g + %.3g) > budget %.3g GiB",
                     ((double)io + p->analytic) / 1073741824.0, io / 1073741824.0,
                     p->analytic / 1073741824.0, o->budget / 1073741824.0);
        }
    }
    /* the group's inputs (and the sgemm rate) are one turn of a paired run */
    char what[96];
    snprintf(what, sizeof what, "group %d %d %d %d %d", n, d, H, B, t);
    lb_bench_turn_begin(o->turn, what);
    float *q = NULL, *k = NULL, *v = NULL, *out = NULL;
    int any = 0;
    for (int i = 0; i < np; i++) any |= sl[i].p->status == LB_PT_OK;
    if (any) {
        q = lb_alloc_big(io / 4, 1), k = lb_alloc_big(io / 4, 1);
        v = lb_alloc_big(io / 4, 1), out = lb_alloc_big(io / 4, 1);
    }
    if (any && (!q || !k || !v || !out)) {
        for (int i = 0; i < np; i++)
            if (sl[i].p->status == LB_PT_OK) {
                sl[i].p->status = LB_PT_NOFIT;
                snprintf(sl[i].p->note, sizeof sl[i].p->note, "cannot allocate the inputs");
            }
        any = 0;
    }
    if (any) {
        size_t len = io / 16;
        lb_rng_fill_normal(rng, q, len, 1.0f);
        lb_rng_fill_normal(rng, k, len, 1.0f);
        lb_rng_fill_normal(rng, v, len, 1.0f);
        double rate = o->sgemm_reps > 0 ? lb_bench_sgemm_rate(q, k, v, B, H, n, d, t, o->sgemm_reps,
                                                              o->budget - (double)io)
                                        : NAN;
        for (int i = 0; i < np; i++) sl[i].p->sgemm_gflops = rate;
    }
    lb_bench_turn_end(o->turn);
    if (any) {
        layer_ctx ctx = {sl, out, q, k, v, rng, io / 16};
        lb_bench_mark_slow(&set->pts[first], np, o);
        lb_bench_interleave(&set->pts[first], np, (double)io, o->budget, o->warmup, o->reps, prog,
                            &layer_ops, &ctx, o->turn);
    }
    lb_free(q), lb_free(k), lb_free(v), lb_free(out);
    free(sl);
}

int lb_bench_layer(lb_bench_set *set, const lb_bench_opts *o, lb_progress *prog) {
    lb_rng rng;
    lb_rng_seed(&rng, o->seed);
    group g;
    for (long gi = 0; layer_group(&g, o, gi); gi++) run_group(set, o, prog, &g, &rng);
    return EX_OK;
}

double lb_bench_layer_work(const lb_bench_opts *o) {
    double w = 0;
    int calls = o->reps + (o->warmup > 1 ? o->warmup : 1);
    lb_bench_cell cells[LB_BENCH_MAXCELLS];
    group g;
    for (long gi = 0; layer_group(&g, o, gi); gi++) {
        int nc = group_cells(cells, o, g.n);
        for (int i = 0; i < nc; i++) {
            int kk = cells[i].k ? cells[i].k : 1;
            lb_attn_cfg c = {.method = cells[i].method, .B = g.B, .H = g.H, .n = g.n, .d = g.d,
                             .k = kk, .window = kk, .share = o->share};
            w += lb_attn_flops(&c) * calls;
        }
    }
    return w;
}
