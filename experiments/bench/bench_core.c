/* Points, their statistics, the ratios against full attention, the sgemm reference
 * rate, the definitions the output states, and the interleaved timing loop. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "lb_bench.h"
#include "lb_stats.h"
#include "lb_util.h"

const char lb_bench_flops_text[] =
    "flops per call count 2 per multiply-add of the matrix products only (softmax, "
    "LayerNorm, GELU not counted). layer: full/stream 4*B*H*n^2*d; linformer "
    "4*B*H*n*k*d (attention over k) + 4*B*H*k*n*d (E*K, F*V); with k = w = m and "
    "W = n(2c+1) - c(c+1), c = min(k, n-1), the (query, key) pairs of a centred window: "
    "local 4*B*H*W*d; nystrom B*H*(8*n*m*d + 4*m^2*d + 8*6*m^3) (6 pseudo-inverse "
    "iterations); performer B*H*(8*n*m*d + 4*n*m); scatterbrain performer's + "
    "B*H*W*(4*d + 2*m). table3 encoder: per layer "
    "8*B*n*h^2 (Q,K,V,output dense) + 4*B*n*h*I (FFN) + the attention's count with "
    "h = hidden, I = intermediate. GFLOP/s = flops / median seconds / 1e9";
const char lb_bench_mem_text[] =
    "peak_extra = VmHWM after (lb_reset_peak_rss, kernel init incl. E/F, one call) minus "
    "VmRSS before, in the benchmark process (inputs q,k,v,out allocated and touched "
    "before: io_bytes). layer mem_saved = (io_bytes + peak_extra of full) / (io_bytes + "
    "peak_extra of the method), same n, d, H, B, threads";
const char lb_bench_t3_text[] =
    "table3: whole encoder forward (RoBERTa-base shape, random weights, the layers listed); "
    "batch_fit = largest B with lb_encoder_bytes(B) <= budget (weights excluded, held once), "
    "found exactly; the forward is timed at batch_timed = batch_fit capped by --max-batch and "
    "--t3-time-tokens / n (>= 1). Per cell (n, k) and baseline (materialise: (B,H,n,n) scores "
    "and probs held, the paper's 2020 baseline; full: one n x n block per thread; stream: "
    "online softmax): time_saved = baseline seconds per sequence / Linformer seconds per "
    "sequence (the paper's inference speed-up); predicted_compute = baseline flops per "
    "sequence / Linformer flops per sequence; time_over_compute = their quotient (1: the "
    "saving is the arithmetic saved); memory_saved_batch = Linformer batch_fit / baseline "
    "batch_fit (the paper's definition); memory_saved_peak = baseline peak bytes per sequence "
    "/ Linformer peak bytes per sequence (peak = measured peak_extra of encoder init + one "
    "forward at the timed batch, / batch_timed)";

const char lb_bench_peak_text[] =
    "peak_gflops = FP32 FMA peak of this run at the point's thread count: independent FMA "
    "chains on every thread, 256-bit and (where the CPU has AVX-512F) 512-bit, the faster "
    "width, best of 5 trials before the timing and 5 after it (one alone has read half the "
    "peak; bench-ab's paired mode measures before only) (meta.fingerprint.fma_peak); "
    "frac_peak = gflops / peak_gflops";

int lb_bench_method_known(int m) {
    return m >= 0 && m < 31 && strcmp(lb_attn_method_name((lb_attn_method)m), "?") != 0;
}

int lb_bench_cells(lb_bench_cell *cells, int methods, int sized, const lb_list *ks, long kmax) {
    int nc = 0;
    for (int m = 0; lb_bench_method_known(m); m++) {
        if (!(methods & (1 << m))) continue;
        int by_k = (sized & (1 << m)) != 0;
        for (int i = 0; i < (by_k ? ks->len : 1); i++) {
            int k = by_k ? (int)ks->v[i] : 0;
            if (k > kmax) continue;
            cells[nc++] = (lb_bench_cell){.method = (lb_attn_method)m, .k = k};
        }
    }
    return nc;
}

lb_bench_point *lb_bench_add(lb_bench_set *s) {
    if (s->len == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        lb_bench_point *p = realloc(s->pts, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        s->pts = p;
        s->cap = cap;
    }
    lb_bench_point *p = &s->pts[s->len++];
    memset(p, 0, sizeof *p);
    p->median = p->q1 = p->q3 = p->iqr = p->gflops = NAN;
    p->sgemm_gflops = p->speedup = p->mem_saved = p->peak_gflops = NAN;
    return p;
}

void lb_bench_set_free(lb_bench_set *s) {
    for (int i = 0; i < s->len; i++) free(s->pts[i].samples);
    free(s->pts);
    s->pts = NULL;
    s->len = s->cap = 0;
}

void lb_bench_point_stats(lb_bench_point *p) {
    if (p->status != LB_PT_OK || p->nsamples < 1) return;
    lb_quartiles(p->samples, (size_t)p->nsamples, &p->q1, &p->median, &p->q3, &p->iqr);
    p->gflops = p->median > 0 ? p->flops / p->median / 1e9 : NAN;
}

static int same_group(const lb_bench_point *a, const lb_bench_point *b) {
    return a->proto == b->proto && a->n == b->n && a->d == b->d && a->H == b->H &&
           a->threads == b->threads && a->layers == b->layers &&
           (a->proto == LB_PROTO_TABLE3 || a->B == b->B);
}

void lb_bench_ratios(lb_bench_set *set) {
    for (int i = 0; i < set->len; i++) {
        lb_bench_point *p = &set->pts[i];
        if (p->status != LB_PT_OK) continue;
        for (int j = 0; j < set->len; j++) {
            const lb_bench_point *f = &set->pts[j];
            if (f->method != LB_ATTN_FULL || f->status != LB_PT_OK || !same_group(p, f)) continue;
            if (p->proto == LB_PROTO_LAYER) {
                p->speedup = f->median / p->median;
                p->mem_saved = (double)(f->io_bytes + f->peak_extra) /
                               (double)(p->io_bytes + p->peak_extra);
            } else {
                p->speedup = (f->median / f->B) / (p->median / p->B);
                p->mem_saved = ((double)f->peak_extra / f->B) / ((double)p->peak_extra / p->B);
            }
        }
    }
}

double lb_bench_sgemm_rate(const float *q, const float *k, const float *v, int B, int H, int n,
                           int d, int threads, int reps, double budget) {
    size_t nn, per;
    if (lb_mul_size(&nn, (size_t)n, (size_t)n) || lb_mul_size(&per, nn + (size_t)n * d, 4) ||
        (double)per * threads > budget)
        return NAN;
    float *scratch = lb_alloc_big(per * (size_t)threads, 1);
    if (!scratch) return NAN;
    size_t hd = (size_t)n * d;
    float scale = 1.0f / sqrtf((float)d);
    int prev = openblas_get_num_threads();
    openblas_set_num_threads(1); /* B·H products in parallel, each single-threaded */
    double *t = malloc(sizeof(double) * (size_t)(reps + 1));
    if (!t) {
        lb_free(scratch);
        return NAN;
    }
    volatile float sink = 0;
    for (int r = 0; r <= reps; r++) { /* r = 0 is the warm-up */
        double t0 = lb_now();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (int bh = 0; bh < B * H; bh++) {
            float *S = scratch + (per / 4) * (size_t)omp_get_thread_num(), *O = S + nn;
            const float *qq = q + bh * hd, *kk = k + bh * hd, *vv = v + bh * hd;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, qq, d, kk, d, 0,
                        S, n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1, S, n, vv, d, 0, O,
                        d);
        }
        t[r] = lb_now() - t0;
        sink += scratch[nn]; /* keep the products alive */
    }
    (void)sink;
    openblas_set_num_threads(prev);
    double med = lb_median(t + 1, (size_t)reps);
    free(t);
    lb_free(scratch);
    return 4.0 * B * H * (double)n * n * d / med / 1e9;
}

/* The tag of a turn on point p: its configuration, so two sides on different grids differ. */
static void turn_what(char *buf, size_t len, const char *phase, const lb_bench_point *p, int rep) {
    snprintf(buf, len, "%s %d %d %d %d %d %d %d %d %d %d", phase, (int)p->proto, (int)p->method, (int)p->share,
             p->n, p->k, p->d, p->H, p->B, p->layers, rep);
}

void lb_bench_interleave(lb_bench_point *pts, int np, double used0, double room, int warmup,
                         int reps, lb_progress *prog, const lb_bench_ops *ops, void *ctx,
                         lb_bench_turn *turn) {
    char what[160];
    int *live = malloc(sizeof *live * (size_t)(np > 0 ? np : 1));
    if (!live) {
        for (int i = 0; i < np; i++)
            if (pts[i].status == LB_PT_OK) {
                pts[i].status = LB_PT_FAIL;
                snprintf(pts[i].note, sizeof pts[i].note, "out of memory");
            }
        return;
    }
    volatile float sink = 0;
    for (int i0 = 0; i0 < np;) {
        double used = used0;
        int i1 = i0;
        while (i1 < np && (i1 == i0 || pts[i1].status != LB_PT_OK ||
                           used + (double)pts[i1].analytic <= room)) {
            if (pts[i1].status == LB_PT_OK) used += (double)pts[i1].analytic;
            i1++;
        }
        int nl = 0;
        for (int i = i0; i < i1; i++) {
            lb_bench_point *p = &pts[i];
            if (p->status != LB_PT_OK) continue;
            turn_what(what, sizeof what, "start", p, 0);
            lb_bench_turn_begin(turn, what);
            int bad = ops->start(ctx, i);
            if (!bad) {
                if (prog) lb_progress_add(prog, p->flops);
                for (int w = 1; w < warmup; w++) {
                    sink += ops->run(ctx, i);
                    if (prog) lb_progress_add(prog, p->flops);
                }
            }
            lb_bench_turn_end(turn);
            if (bad) continue;
            p->samples = malloc(sizeof(double) * (size_t)reps);
            if (!p->samples) {
                p->status = LB_PT_FAIL;
                snprintf(p->note, sizeof p->note, "out of memory");
                ops->release(ctx, i);
                continue;
            }
            live[nl++] = i;
        }
        for (int r = 0; r < reps; r++)
            for (int j = 0; j < nl; j++) {
                int i = live[(j + r) % nl];
                turn_what(what, sizeof what, "run", &pts[i], r);
                lb_bench_turn_begin(turn, what);
                double t0 = lb_now();
                float x = ops->run(ctx, i);
                double dt = lb_now() - t0;
                if (pts[i].slowdown > 1) { /* test only: spin to factor × the call */
                    double until = t0 + dt * pts[i].slowdown;
                    while (lb_now() < until) {}
                    dt = lb_now() - t0;
                }
                lb_bench_turn_end(turn);
                pts[i].samples[pts[i].nsamples++] = dt;
                sink += x;
                if (prog) lb_progress_add(prog, pts[i].flops);
            }
        for (int j = 0; j < nl; j++) {
            pts[live[j]].interleaved = nl > 1;
            lb_bench_point_stats(&pts[live[j]]);
            ops->release(ctx, live[j]);
        }
        i0 = i1;
    }
    (void)sink;
    free(live);
}

int lb_bench_measure_peaks(lb_meta *m, const lb_bench_opts *o) {
    int rc = 0;
    if (o->protocols & LB_PROTO_LAYER)
        for (int i = 0; i < o->threads.len; i++)
            rc |= lb_fingerprint_add_peak(&m->fp, (int)o->threads.v[i], o->peak_seconds);
    if (o->protocols & LB_PROTO_TABLE3)
        rc |= lb_fingerprint_add_peak(&m->fp, o->t3_threads > 0 ? o->t3_threads : omp_get_max_threads(),
                                      o->peak_seconds);
    return rc ? -1 : 0;
}

void lb_bench_set_peaks(lb_bench_set *set, const lb_fingerprint *fp) {
    for (int i = 0; i < set->len; i++)
        set->pts[i].peak_gflops = lb_fingerprint_peak(fp, set->pts[i].threads);
}

int lb_bench_test_slowdown(const char *env, int *method, double *factor, char *msg, size_t msglen) {
    *method = -1, *factor = 1;
    if (!env || !*env) return 0;
    char name[32];
    const char *colon = strchr(env, ':');
    lb_attn_method m;
    char *end;
    if (!colon || (size_t)(colon - env) >= sizeof name)
        return lb_fail(msg, msglen, "LB_BENCH_TEST_SLOWDOWN='%s': expected METHOD:FACTOR, e.g. "
                       "linformer:1.15", env);
    memcpy(name, env, (size_t)(colon - env));
    name[colon - env] = 0;
    double f = strtod(colon + 1, &end);
    if (lb_attn_method_parse(name, &m))
        return lb_fail(msg, msglen, "LB_BENCH_TEST_SLOWDOWN: unknown method '%s'", name);
    if (end == colon + 1 || *end || !(f >= 1 && f <= 10))
        return lb_fail(msg, msglen, "LB_BENCH_TEST_SLOWDOWN: factor '%s' is not a number in [1, 10]",
                       colon + 1);
    *method = (int)m, *factor = f;
    return 0;
}

void lb_bench_mark_slow(lb_bench_point *pts, int np, const lb_bench_opts *o) {
    for (int i = 0; o->slow_method >= 0 && i < np; i++)
        if ((int)pts[i].method == o->slow_method) pts[i].slowdown = o->slow_factor;
}
