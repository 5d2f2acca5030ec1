/* The paper's Table 3 protocol: a whole encoder forward (RoBERTa-base shape, random
 * weights, the number of layers from the list) with the attention kernel plugged in.
 * Each configuration's largest batch under the budget (lb_encoder_bytes, exact) gives
 * the paper's memory saving (ratio of the largest batches); the forward is timed at
 * that batch, or at fewer sequences when --t3-time-tokens / --max-batch cap it, and
 * the time and peak memory per sequence come from that run. Linformer is compared
 * with every baseline measured: materialise (the paper's 2020 baseline), full and
 * stream (memory-efficient). */
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

int lb_bench_t3_timed(const lb_bench_opts *o, int b_fit, int n) {
    long b = b_fit;
    if (o->max_batch > 0 && b > o->max_batch) b = o->max_batch;
    if (o->t3_tokens > 0 && b > o->t3_tokens / n) b = o->t3_tokens / n > 0 ? o->t3_tokens / n : 1;
    return b_fit > 0 ? (int)b : 0;
}

/* Flops of one encoder forward of B sequences of n tokens with the attention of eo. */
static double encoder_flops(const lb_config *c, int B, int n, const lb_encoder_opts *eo) {
    lb_attn_cfg ac = {.method = eo->method, .B = B, .H = c->heads, .n = n, .d = c->hidden / c->heads,
                      .k = eo->k, .share = eo->share, .threads = eo->threads};
    double h = c->hidden, tok = (double)B * n;
    return c->layers * (8 * tok * h * h + 4 * tok * h * c->intermediate + lb_attn_flops(&ac));
}

/* The cells of Table 3 at length n: every method of o->t3_methods, Linformer once per k
 * below n (the paper measured k < n only: k = n saves nothing). */
static int t3_cells(lb_bench_cell *cells, const lb_bench_opts *o, int n) {
    return lb_bench_cells(cells, o->t3_methods, 1 << LB_ATTN_LINFORMER, &o->t3_k, n - 1);
}

int lb_bench_t3_batch(const lb_config *c, int n, const lb_encoder_opts *eo, double budget,
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
    lb_bench_cell cells[LB_BENCH_MAXCELLS];
    int nc = t3_cells(cells, o, n);
    for (int i = 0; i < nc; i++) {
        lb_bench_point *p = lb_bench_add(set);
        if (!p) return;
        p->proto = LB_PROTO_TABLE3;
        p->method = cells[i].method;
        p->share = p->method == LB_ATTN_LINFORMER ? o->t3_share : LB_SHARE_NONE;
        p->n = n, p->k = cells[i].k, p->d = c->hidden / c->heads, p->H = c->heads;
        p->layers = c->layers, p->threads = threads;
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
        p->B_fit = lb_bench_t3_batch(c, n, &sl[i].eo, o->t3_budget, 0);
        p->B = lb_bench_t3_timed(o, p->B_fit, n);
        if (p->B == 0) {
            p->status = LB_PT_NOFIT;
            snprintf(p->note, sizeof p->note, "one sequence needs %.3g GiB > budget %.3g GiB",
                     lb_encoder_bytes(c, 1, n, &sl[i].eo, 0) / 1073741824.0,
                     o->t3_budget / 1073741824.0);
            continue;
        }
        p->analytic = lb_encoder_bytes(c, p->B, n, &sl[i].eo, 0);
        double avail = mem_available();
        if (avail > 0 && (double)p->analytic > 0.9 * avail) {
            p->status = LB_PT_NOFIT;
            snprintf(p->note, sizeof p->note, "the timed batch %d needs %.3g GiB > 90%% of this "
                     "machine's available %.3g GiB", p->B, p->analytic / 1073741824.0,
                     avail / 1073741824.0);
            continue;
        }
        p->flops = encoder_flops(c, p->B, n, &sl[i].eo);
    }
    /* interleave the configurations of this n that fit in the machine together */
    t3_ctx ctx = {sl, m, rng};
    lb_bench_mark_slow(&set->pts[first], np, o);
    lb_bench_interleave(&set->pts[first], np, 0, 0.7 * mem_available(), o->warmup, o->reps, prog,
                        &t3_ops, &ctx, o->turn);
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

/* The whole grid as the run takes it (layer counts, n, cells), each cell's batches found
 * as the run finds them, without building a model: the progress bar's work and the
 * plan. Returns the flops of every call of the cells that fit; with plan, also prints a
 * row a cell and adds each cell's estimated seconds to *seconds. */
static double t3_estimate(FILE *plan, double *seconds, const lb_bench_opts *o) {
    double w = 0;
    int calls = o->reps + (o->warmup > 1 ? o->warmup : 1);
    lb_bench_cell cells[LB_BENCH_MAXCELLS];
    for (int li = 0; li < o->layers.len; li++) {
        lb_config c;
        t3_config(&c, o, o->layers.v[li]);
        for (int ni = 0; ni < o->t3_n.len; ni++) {
            int n = (int)o->t3_n.v[ni], nc = t3_cells(cells, o, n);
            for (int i = 0; i < nc; i++) {
                lb_encoder_opts eo = {.method = cells[i].method, .k = cells[i].k ? cells[i].k : 1,
                                      .share = o->t3_share};
                int bf = lb_bench_t3_batch(&c, n, &eo, o->t3_budget, 0);
                int B = lb_bench_t3_timed(o, bf, n);
                double fl = B > 0 ? encoder_flops(&c, B, n, &eo) : 0;
                if (B > 0) w += fl * calls;
                if (!plan) continue;
                fprintf(plan, "%3d %6d %-11s %5d %7d %6d ", c.layers, n,
                        lb_attn_method_name(eo.method), cells[i].k, bf, B);
                if (!B) {
                    fprintf(plan, "does not fit: one sequence needs %.3g GiB\n",
                            lb_encoder_bytes(&c, 1, n, &eo, 0) / 1073741824.0);
                    continue;
                }
                double sec = fl * calls / (o->plan_gflops * 1e9);
                *seconds += sec;
                fprintf(plan, "%12.1f %10.1f\n", fl / 1e9, sec);
            }
        }
    }
    return w;
}

double lb_bench_table3_work(const lb_bench_opts *o) { return t3_estimate(NULL, NULL, o); }

/* ---- Table 3 outputs: one row per (n, k, baseline) ---------------------------------- */

static const lb_attn_method T3_BASELINES[] = {LB_ATTN_MATERIALISE, LB_ATTN_FULL, LB_ATTN_STREAM};
#define T3_NBASE ((int)(sizeof T3_BASELINES / sizeof T3_BASELINES[0]))

static const lb_bench_point *t3_base(const lb_bench_set *s, const lb_bench_point *p,
                                     lb_attn_method m) {
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *f = &s->pts[i];
        if (f->proto == LB_PROTO_TABLE3 && f->method == m && f->n == p->n && f->d == p->d &&
            f->H == p->H && f->layers == p->layers && f->threads == p->threads)
            return f;
    }
    return NULL;
}

typedef struct {
    double time_x, mem_batch_x, compute_x, mem_peak_x, peak_base, peak_lin;
    const char *status;
    char note[200];
} t3_row;

static double per_seq(double x, int B) { return B > 0 ? x / B : NAN; }

/* The ratios of Linformer point p against baseline point b (either may not have run). */
static void t3_compare(t3_row *r, const lb_bench_point *b, const lb_bench_point *p) {
    r->time_x = r->mem_batch_x = r->compute_x = r->mem_peak_x = NAN;
    r->peak_base = r->peak_lin = NAN;
    r->note[0] = 0;
    if (b->B_fit > 0 && p->B_fit > 0) r->mem_batch_x = (double)p->B_fit / b->B_fit;
    if (b->status == LB_PT_OK) r->peak_base = per_seq((double)b->peak_extra, b->B);
    if (p->status == LB_PT_OK) r->peak_lin = per_seq((double)p->peak_extra, p->B);
    if (p->status != LB_PT_OK || b->status != LB_PT_OK) {
        const lb_bench_point *x = p->status != LB_PT_OK ? p : b;
        r->status = x->status == LB_PT_NOFIT ? (x == p ? "linformer_nofit" : "baseline_nofit")
                                             : (x == p ? "linformer_failed" : "baseline_failed");
        snprintf(r->note, sizeof r->note, "%s: %s", lb_attn_method_name(x->method), x->note);
        return;
    }
    r->status = "ok";
    r->time_x = per_seq(b->median, b->B) / per_seq(p->median, p->B);
    r->compute_x = per_seq(b->flops, b->B) / per_seq(p->flops, p->B);
    r->mem_peak_x = r->peak_base / r->peak_lin;
}

static void t3_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, ",%.9g", x);
    else fprintf(f, ",NaN");
}

int lb_bench_write_table3(const lb_bench_set *s, FILE *f, const char *paper) {
    fprintf(f, "# %s\n# paper_*: Wang et al. 2020, Table 3 (V100 16 GB, baseline: materialising "
               "attention); NaN: not measured or not in the paper\n", lb_bench_t3_text);
    fprintf(f, "n,k,layers,baseline,time_saved_x,memory_saved_batch_x,predicted_compute_x,"
               "memory_saved_peak_x,paper_time_saved_x,paper_memory_saved_x,status,"
               "batch_fit_baseline,batch_fit_linformer,batch_timed_baseline,batch_timed_linformer,"
               "peak_bytes_per_seq_baseline,peak_bytes_per_seq_linformer,time_over_compute,note\n");
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        if (p->proto != LB_PROTO_TABLE3 || p->method != LB_ATTN_LINFORMER) continue;
        double pt, pm;
        lb_bench_paper_cell(paper, p->n, p->k, &pt, &pm);
        for (int j = 0; j < T3_NBASE; j++) {
            const lb_bench_point *b = t3_base(s, p, T3_BASELINES[j]);
            if (!b) continue;
            t3_row r;
            t3_compare(&r, b, p);
            fprintf(f, "%d,%d,%d,%s", p->n, p->k, p->layers, lb_attn_method_name(b->method));
            t3_num(f, r.time_x), t3_num(f, r.mem_batch_x), t3_num(f, r.compute_x);
            t3_num(f, r.mem_peak_x), t3_num(f, pt), t3_num(f, pm);
            fprintf(f, ",%s,%d,%d,%d,%d", r.status, b->B_fit, p->B_fit, b->B, p->B);
            t3_num(f, r.peak_base), t3_num(f, r.peak_lin), t3_num(f, r.time_x / r.compute_x);
            fputc(',', f);
            for (const char *c = r.note; *c; c++) fputc(*c == ',' || *c == '\n' ? ';' : *c, f);
            fputc('\n', f);
        }
    }
    return EX_OK; /* write errors are reported by the output set's commit */
}

void lb_bench_print_table3(FILE *f, const lb_bench_set *s, const lb_bench_opts *o) {
    fprintf(f, "\ntable3 protocol: %s\n", lb_bench_t3_text);
    fprintf(f, "%-11s %5s %6s %3s %6s %5s %10s %12s %12s\n", "method", "k", "n", "L", "B_fit",
            "B", "median_s", "ms_per_seq", "MiB_per_seq");
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        if (p->proto != LB_PROTO_TABLE3) continue;
        fprintf(f, "%-11s %5d %6d %3d %6d %5d ", lb_attn_method_name(p->method), p->k, p->n,
                p->layers, p->B_fit, p->B);
        if (p->status != LB_PT_OK) {
            fprintf(f, "%s: %s\n", p->status == LB_PT_NOFIT ? "nofit" : "failed", p->note);
            continue;
        }
        fprintf(f, "%10.3f %12.2f %12.2f\n", p->median, 1e3 * p->median / p->B,
                (double)p->peak_extra / p->B / 1048576.0);
    }
    fprintf(f, "\nLinformer vs each baseline (time: per sequence; compute: predicted flops ratio; "
               "mem_batch: largest-batch ratio, the paper's; mem_peak: peak bytes per sequence)\n");
    fprintf(f, "%6s %5s %-11s %8s %8s %7s %9s %8s %7s  %s\n", "n", "k", "baseline", "time_x",
            "compute", "paper", "mem_batch", "mem_peak", "paper", "status");
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        if (p->proto != LB_PROTO_TABLE3 || p->method != LB_ATTN_LINFORMER) continue;
        double pt, pm;
        lb_bench_paper_cell(o->paper, p->n, p->k, &pt, &pm);
        for (int j = 0; j < T3_NBASE; j++) {
            const lb_bench_point *b = t3_base(s, p, T3_BASELINES[j]);
            if (!b) continue;
            t3_row r;
            t3_compare(&r, b, p);
            fprintf(f, "%6d %5d %-11s %8.2f %8.2f %7.2g %9.2f %8.2f %7.2g  %s%s%s\n", p->n, p->k,
                    lb_attn_method_name(b->method), r.time_x, r.compute_x, pt, r.mem_batch_x,
                    r.mem_peak_x, pm, r.status, r.note[0] ? ": " : "", r.note);
        }
    }
}

double lb_bench_table3_plan(FILE *f, const lb_bench_opts *o) {
    double total = 0;
    int calls = o->reps + (o->warmup > 1 ? o->warmup : 1);
    fprintf(f, "table3 plan: budget %.4g GiB (%s), timed batch <= %ld tokens%s, %d calls a "
               "point, at %.0f GFLOP/s\n", o->t3_budget / 1073741824.0,
            o->t3_budget_note ? o->t3_budget_note : "--t3-budget", o->t3_tokens,
            o->t3_tokens ? "" : " (no cap)", calls, o->plan_gflops);
    fprintf(f, "%3s %6s %-11s %5s %7s %6s %12s %10s\n", "L", "n", "method", "k", "B_fit", "B",
            "GFLOP/call", "est_s");
    t3_estimate(f, &total, o);
    fprintf(f, "estimated total: %.0f s (%.1f h)\n", total, total / 3600);
    return total;
}
