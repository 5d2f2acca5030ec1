/* Result files (raw samples CSV, per-point summary CSV, Table 3 grid CSV, JSON) and
 * the stdout tables: crossovers, streaming memory, the Table 3 grid beside the paper. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_bench.h"
#include "lb_meta.h"
#include "lb_outset.h"
#include "lb_util.h"

static const char *proto_name(lb_bench_proto p) { return p == LB_PROTO_LAYER ? "layer" : "table3"; }
static const char *status_name(lb_pt_status s) {
    return s == LB_PT_OK ? "ok" : s == LB_PT_NOFIT ? "nofit" : "failed";
}

void lb_bench_paper_cell(const char *path, int n, int k, double *time, double *mem) {
    *time = *mem = NAN;
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        int pn, pk;
        double t, m;
        if (line[0] != '#' && sscanf(line, "%d,%d,%lf,%lf", &pn, &pk, &t, &m) == 4 && pn == n &&
            pk == k) {
            *time = t, *mem = m;
            break;
        }
    }
    fclose(f);
}

/* Number or NaN for CSV (gnuplot and numpy read "NaN"), null for JSON. */
static void csv_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, ",%.9g", x);
    else fprintf(f, ",NaN");
}
static void json_num(FILE *f, const char *key, double x) {
    if (isfinite(x)) fprintf(f, "\"%s\": %.9g", key, x);
    else fprintf(f, "\"%s\": null", key);
}

static void key_cols(FILE *f, const lb_bench_point *p) {
    fprintf(f, "%s,%s,%s,%d,%d,%d,%d,%d,%d,%d", proto_name(p->proto), lb_attn_method_name(p->method),
            lb_share_name(p->share), p->n, p->k, p->d, p->H, p->B, p->layers, p->threads);
}

/* The Transformer (full) point that a table3 or layer point is compared against. */
static const lb_bench_point *full_of(const lb_bench_set *s, const lb_bench_point *p,
                                     lb_attn_method variant) {
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *f = &s->pts[i];
        if (f->method == variant && f->proto == p->proto && f->n == p->n && f->d == p->d &&
            f->H == p->H && f->threads == p->threads && f->layers == p->layers &&
            (p->proto == LB_PROTO_TABLE3 || f->B == p->B))
            return f;
    }
    return NULL;
}

static void test_note(FILE *f, const lb_bench_opts *o) {
    if (o->slow_method >= 0)
        fprintf(f, "# TEST ONLY: LB_BENCH_TEST_SLOWDOWN stretched every %s call %.4gx; not a "
                   "measurement\n", lb_attn_method_name((lb_attn_method)o->slow_method), o->slow_factor);
}

static int write_raw(const lb_bench_set *s, const lb_bench_opts *o, FILE *f, const lb_meta *m,
                     int argc, char **argv) {
    lb_meta_write_comments(f, m, argc, argv);
    test_note(f, o);
    fprintf(f, "# raw samples: seconds per call (layer: one attention layer; table3: one encoder "
               "forward of the whole batch)\n");
    fprintf(f, "protocol,method,share,n,k,d,heads,batch,layers,threads,rep,seconds\n");
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        for (int r = 0; r < p->nsamples; r++) {
            key_cols(f, p);
            fprintf(f, ",%d,%.9g\n", r, p->samples[r]);
        }
    }
    return EX_OK;
}

static int write_summary(const lb_bench_set *s, const lb_bench_opts *o, FILE *f) {
    fprintf(f, "# one row per point; %s\n# %s\n# %s\n# %s\n", lb_bench_flops_text, lb_bench_mem_text,
            lb_bench_t3_text, lb_bench_peak_text);
    test_note(f, o);
    fprintf(f, "protocol,method,share,n,k,d,heads,batch,layers,threads,status,reps,median_s,q1_s,"
               "q3_s,iqr_s,flops,gflops,sgemm_gflops,frac_sgemm,peak_gflops,frac_peak,peak_extra_bytes,analytic_bytes,"
               "io_bytes,speedup_vs_full,mem_saved_vs_full,per_seq_s,per_seq_bytes,interleaved\n");
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        int ok = p->status == LB_PT_OK;
        key_cols(f, p);
        fprintf(f, ",%s,%d", status_name(p->status), p->nsamples);
        csv_num(f, p->median), csv_num(f, p->q1), csv_num(f, p->q3), csv_num(f, p->iqr);
        csv_num(f, p->flops), csv_num(f, p->gflops), csv_num(f, p->sgemm_gflops);
        csv_num(f, p->gflops / p->sgemm_gflops);
        csv_num(f, p->peak_gflops), csv_num(f, p->gflops / p->peak_gflops);
        csv_num(f, ok ? (double)p->peak_extra : NAN), csv_num(f, (double)p->analytic);
        csv_num(f, (double)p->io_bytes), csv_num(f, p->speedup), csv_num(f, p->mem_saved);
        csv_num(f, ok && p->B ? p->median / p->B : NAN);
        csv_num(f, ok && p->B ? (double)p->peak_extra / p->B : NAN);
        fprintf(f, ",%d\n", p->interleaved);
    }
    return EX_OK;
}

/* Smallest n of the layer grid where Linformer(k) beats `variant`; 0 if none. */
static int crossover(const lb_bench_set *s, const lb_bench_point *lin, lb_attn_method variant) {
    int best = 0;
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        if (p->proto != LB_PROTO_LAYER || p->method != LB_ATTN_LINFORMER || p->k != lin->k ||
            p->d != lin->d || p->H != lin->H || p->B != lin->B || p->threads != lin->threads ||
            p->status != LB_PT_OK)
            continue;
        const lb_bench_point *f = full_of(s, p, variant);
        if (f && f->status == LB_PT_OK && p->median < f->median && (!best || p->n < best))
            best = p->n;
    }
    return best;
}

/* Is p the first Linformer point of its (k, d, H, B, threads) family in the layer set? */
static int family_first(const lb_bench_set *s, int idx) {
    const lb_bench_point *p = &s->pts[idx];
    if (p->proto != LB_PROTO_LAYER || p->method != LB_ATTN_LINFORMER) return 0;
    for (int i = 0; i < idx; i++) {
        const lb_bench_point *q = &s->pts[i];
        if (q->proto == LB_PROTO_LAYER && q->method == LB_ATTN_LINFORMER && q->k == p->k &&
            q->d == p->d && q->H == p->H && q->B == p->B && q->threads == p->threads)
            return 0;
    }
    return 1;
}

static int has_variant(const lb_bench_set *s, lb_attn_method v) {
    for (int i = 0; i < s->len; i++)
        if (s->pts[i].proto == LB_PROTO_LAYER && s->pts[i].method == v) return 1;
    return 0;
}

/* One crossover row: the family of Linformer point lin against variant v, n the
 * smallest n where Linformer is faster (0: none in the grid); row counts from 0. */
typedef void crossover_fn(FILE *f, int row, const lb_bench_point *lin, lb_attn_method v, int n);

/* The crossovers in the order both outputs list them: each family of Linformer layer
 * points, against full then stream where the set has them. */
static void each_crossover(FILE *f, const lb_bench_set *s, crossover_fn *fn) {
    int row = 0;
    for (int i = 0; i < s->len; i++) {
        if (!family_first(s, i)) continue;
        for (int v = 0; v < 2; v++) /* LB_ATTN_FULL, LB_ATTN_STREAM */
            if (has_variant(s, (lb_attn_method)v))
                fn(f, row++, &s->pts[i], (lb_attn_method)v, crossover(s, &s->pts[i], (lb_attn_method)v));
    }
}

static void json_crossover(FILE *f, int row, const lb_bench_point *p, lb_attn_method v, int n) {
    fprintf(f, "%s\n    {\"versus\": \"%s\", \"k\": %d, \"d\": %d, \"heads\": %d, \"batch\": "
               "%d, \"threads\": %d, \"n\": ",
            row ? "," : "", lb_attn_method_name(v), p->k, p->d, p->H, p->B, p->threads);
    if (n) fprintf(f, "%d}", n);
    else fprintf(f, "null}");
}

static void text_crossover(FILE *f, int row, const lb_bench_point *p, lb_attn_method v, int n) {
    fprintf(f, "  linformer k=%-5d vs %-6s (d=%d H=%d B=%d t=%d): ", p->k, lb_attn_method_name(v),
            p->d, p->H, p->B, p->threads);
    if (n) fprintf(f, "n = %d\n", n);
    else fprintf(f, "none in grid\n");
}

/* A streaming point of the layer grid that ran: the rows of the stream-memory tables. */
static int stream_ok(const lb_bench_point *p) {
    return p->proto == LB_PROTO_LAYER && p->method == LB_ATTN_STREAM && p->status == LB_PT_OK;
}

static void json_list(FILE *f, const char *key, const lb_list *l) {
    fprintf(f, "    \"%s\": [", key);
    for (int i = 0; i < l->len; i++) fprintf(f, "%s%ld", i ? ", " : "", l->v[i]);
    fprintf(f, "],\n");
}

/* The sgemm rate of every layer group: the second measured rate of the fingerprint. */
static void write_sgemm_rates(FILE *f, const lb_bench_set *s) {
    fprintf(f, "  \"sgemm_rates\": [");
    int c = 0;
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        int first = p->proto == LB_PROTO_LAYER && isfinite(p->sgemm_gflops);
        for (int j = 0; first && j < i; j++) {
            const lb_bench_point *q = &s->pts[j];
            first = !(q->proto == LB_PROTO_LAYER && q->n == p->n && q->d == p->d && q->H == p->H &&
                      q->B == p->B && q->threads == p->threads);
        }
        if (!first) continue;
        fprintf(f, "%s\n    {\"n\": %d, \"d\": %d, \"heads\": %d, \"batch\": %d, \"threads\": %d, ",
                c++ ? "," : "", p->n, p->d, p->H, p->B, p->threads);
        json_num(f, "gflops", p->sgemm_gflops);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n");
}

/* The names of the methods in the bit set, as a JSON list. */
static void json_methods(FILE *f, int methods) {
    fprintf(f, "[");
    for (int i = 0, c = 0; lb_bench_method_known(i); i++)
        if (methods & (1 << i)) fprintf(f, "%s\"%s\"", c++ ? ", " : "", lb_attn_method_name((lb_attn_method)i));
    fprintf(f, "]");
}

/* "params": the options of the run. */
static void json_params(FILE *f, const lb_bench_opts *o) {
    fprintf(f, ",\n  \"params\": {\n    \"preset\": ");
    lb_json_str(f, o->preset ? o->preset : "none");
    fprintf(f, ",\n    \"protocols\": [%s%s%s],\n", o->protocols & LB_PROTO_LAYER ? "\"layer\"" : "",
            o->protocols == (LB_PROTO_LAYER | LB_PROTO_TABLE3) ? ", " : "",
            o->protocols & LB_PROTO_TABLE3 ? "\"table3\"" : "");
    json_list(f, "n", &o->n), json_list(f, "k", &o->k), json_list(f, "d", &o->d);
    json_list(f, "heads", &o->heads), json_list(f, "batch", &o->batch);
    json_list(f, "threads", &o->threads), json_list(f, "table3_n", &o->t3_n);
    json_list(f, "table3_k", &o->t3_k), json_list(f, "table3_layers", &o->layers);
    fprintf(f, "    \"methods\": ");
    json_methods(f, o->methods);
    fprintf(f, ",\n    \"share\": \"%s\",\n    \"table3_share\": \"%s\",\n", lb_share_name(o->share),
            lb_share_name(o->t3_share));
    fprintf(f, "    \"table3_threads\": %d,\n    \"reps\": %d,\n    \"warmup\": %d,\n    "
               "\"sgemm_reps\": %d,\n    \"max_batch\": %ld,\n    \"budget_bytes\": %.0f,\n    "
               "\"seed\": %llu,\n",
            o->t3_threads, o->reps, o->warmup > 1 ? o->warmup : 1, o->sgemm_reps, o->max_batch,
            o->budget, (unsigned long long)o->seed);
    fprintf(f, "    \"table3_budget_bytes\": %.0f,\n    \"table3_budget_note\": ", o->t3_budget);
    lb_json_str(f, o->t3_budget_note ? o->t3_budget_note : "--t3-budget");
    fprintf(f, ",\n    \"table3_time_tokens\": %ld,\n    \"table3_methods\": ", o->t3_tokens);
    json_methods(f, o->t3_methods);
    fprintf(f, ",\n    \"stream_kernel\": \"%s\"", lb_attn_stream_kernel());
    /* paired: this run took turns with another (bench-ab's paired mode) */
    if (o->turn)
        fprintf(f, ",\n    \"paired\": {\"side\": \"%s\", \"turns\": %lld}", o->turn->first ? "first" : "second",
                o->turn->count);
    else
        fprintf(f, ",\n    \"paired\": null");
    fprintf(f, ",\n    \"test_slowdown\": ");
    if (o->slow_method >= 0)
        fprintf(f, "{\"method\": \"%s\", \"factor\": %.9g}\n  },\n",
                lb_attn_method_name((lb_attn_method)o->slow_method), o->slow_factor);
    else
        fprintf(f, "null\n  },\n");
}

/* "definitions": what the numbers mean. */
static void json_definitions(FILE *f) {
    fprintf(f, "  \"definitions\": {\n    \"flops\": ");
    lb_json_str(f, lb_bench_flops_text);
    fprintf(f, ",\n    \"memory\": ");
    lb_json_str(f, lb_bench_mem_text);
    fprintf(f, ",\n    \"table3\": ");
    lb_json_str(f, lb_bench_t3_text);
    fprintf(f, ",\n    \"timing\": \"inputs and workspaces allocated and touched before timing "
               "(huge pages requested); warm-up calls, then repetitions round-robin over the "
               "methods of a group with the order rotated each repetition; median and IQR "
               "(numpy linear quartiles) of the raw samples\",\n    \"sgemm\": \"B*H pairs of "
               "sgemm (n x d . d x n) and (n x n . n x d), threads pairs in parallel, 1-thread "
               "BLAS each, rate = 4*B*H*n^2*d / median\",\n    \"peak\": ");
    lb_json_str(f, lb_bench_peak_text);
    fprintf(f, "\n  },\n");
}

/* "points": every point with its statistics and raw samples. */
static void json_points(FILE *f, const lb_bench_set *s) {
    fprintf(f, "  \"points\": [\n");
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        fprintf(f, "    {\"protocol\": \"%s\", \"method\": \"%s\", \"share\": \"%s\", \"n\": %d, "
                   "\"k\": %d, \"d\": %d, \"heads\": %d, \"batch\": %d, \"layers\": %d, "
                   "\"threads\": %d, \"batch_fit\": %d, \"status\": \"%s\", \"note\": ",
                proto_name(p->proto), lb_attn_method_name(p->method), lb_share_name(p->share), p->n,
                p->k, p->d, p->H, p->B, p->layers, p->threads, p->B_fit, status_name(p->status));
        lb_json_str(f, p->note);
        fprintf(f, ", ");
        json_num(f, "median_s", p->median), fprintf(f, ", ");
        json_num(f, "q1_s", p->q1), fprintf(f, ", ");
        json_num(f, "q3_s", p->q3), fprintf(f, ", ");
        json_num(f, "iqr_s", p->iqr), fprintf(f, ", ");
        json_num(f, "flops", p->flops), fprintf(f, ", ");
        json_num(f, "gflops", p->gflops), fprintf(f, ", ");
        json_num(f, "sgemm_gflops", p->sgemm_gflops), fprintf(f, ", ");
        json_num(f, "frac_sgemm", p->gflops / p->sgemm_gflops), fprintf(f, ", ");
        json_num(f, "peak_gflops", p->peak_gflops), fprintf(f, ", ");
        json_num(f, "frac_peak", p->gflops / p->peak_gflops), fprintf(f, ", ");
        json_num(f, "peak_extra_bytes", p->status == LB_PT_OK ? (double)p->peak_extra : NAN);
        fprintf(f, ", ");
        json_num(f, "analytic_bytes", (double)p->analytic), fprintf(f, ", ");
        json_num(f, "io_bytes", (double)p->io_bytes), fprintf(f, ", ");
        json_num(f, "speedup_vs_full", p->speedup), fprintf(f, ", ");
        json_num(f, "mem_saved_vs_full", p->mem_saved);
        fprintf(f, ", \"interleaved\": %s, \"samples_s\": [", p->interleaved ? "true" : "false");
        for (int r = 0; r < p->nsamples; r++) fprintf(f, "%s%.9g", r ? ", " : "", p->samples[r]);
        fprintf(f, "]}%s\n", i + 1 < s->len ? "," : "");
    }
    fprintf(f, "  ],\n");
}

/* bench.json: the run's metadata and options, then the points and the tables drawn
 * from them. Written with fprintf, in this order, so that runs diff line by line. */
static int write_json(const lb_bench_set *s, const lb_bench_opts *o, FILE *f,
                      const lb_meta *m, int argc, char **argv) {
    fprintf(f, "{\n");
    lb_meta_write_json(f, m, argc, argv, 2);
    json_params(f, o);
    write_sgemm_rates(f, s);
    json_definitions(f);
    json_points(f, s);
    fprintf(f, "  \"crossovers\": [");
    each_crossover(f, s, json_crossover);
    fprintf(f, "\n  ],\n  \"stream_memory\": [");
    int c = 0;
    for (int i = 0; i < s->len; i++) {
        const lb_bench_point *p = &s->pts[i];
        if (!stream_ok(p)) continue;
        fprintf(f, "%s\n    {\"n\": %d, \"d\": %d, \"heads\": %d, \"batch\": %d, \"threads\": %d, "
                   "\"peak_extra_bytes\": %zu, \"analytic_bytes\": %zu}",
                c++ ? "," : "", p->n, p->d, p->H, p->B, p->threads, p->peak_extra, p->analytic);
    }
    fprintf(f, "\n  ]\n}\n");
    return EX_OK;
}

/* The files of a run are one output set (lb_outset.h): all appear, or none and the
 * previous ones stay. */
int lb_bench_write(const lb_bench_set *set, const lb_bench_opts *o, const lb_meta *m, int argc,
                   char **argv) {
    static const char *const names[4] = {"bench.csv", "summary.csv", "bench.json", "table3.csv"};
    if (lb_mkdirs(o->out_dir)) return EX_CANTCREAT;
    char msg[1200], path[4200];
    FILE *f[4] = {NULL};
    lb_outset *out = lb_outset_new(msg, sizeof msg);
    for (int i = 0; out && i < ((o->protocols & LB_PROTO_TABLE3) ? 4 : 3); i++) {
        snprintf(path, sizeof path, "%s/%s", o->out_dir, names[i]);
        if (!(f[i] = lb_outset_add(out, path, msg, sizeof msg))) {
            lb_err("bench: %s", msg);
            lb_outset_abort(out);
            return EX_CANTCREAT;
        }
    }
    if (!out) return lb_err("bench: %s", msg), EX_OSERR;
    write_raw(set, o, f[0], m, argc, argv);
    write_summary(set, o, f[1]);
    write_json(set, o, f[2], m, argc, argv);
    if (f[3]) lb_bench_write_table3(set, f[3], o->paper);
    if (lb_outset_commit(out, msg, sizeof msg))
        return lb_err("bench: %s; earlier results in %s are untouched", msg, o->out_dir), EX_IOERR;
    return EX_OK;
}

static double mib(size_t b) { return (double)b / 1048576.0; }

void lb_bench_print(FILE *f, const lb_bench_set *s, const lb_bench_opts *o) {
    int any_layer = 0, any_t3 = 0;
    for (int i = 0; i < s->len; i++) {
        any_layer |= s->pts[i].proto == LB_PROTO_LAYER;
        any_t3 |= s->pts[i].proto == LB_PROTO_TABLE3;
    }
    fprintf(f, "GFLOP/s: %s\nmemory: %s\n", lb_bench_flops_text, lb_bench_mem_text);
    if (any_layer) {
        fprintf(f, "\nlayer protocol (one attention layer; sgemm = same-shape reference rate in this "
                   "run; %%peak = GFLOP/s / the FP32 FMA peak measured in this run)\n");
        fprintf(f, "%-9s %5s %6s %4s %3s %3s %2s %10s %9s %8s %7s %7s %6s %10s %10s %8s %8s\n",
                "method", "k", "n", "d", "H", "B", "t", "median_ms", "iqr_ms", "GFLOP/s", "sgemm",
                "%sgemm", "%peak", "peak_MiB", "analyt_MiB", "speedup", "memsaved");
        for (int i = 0; i < s->len; i++) {
            const lb_bench_point *p = &s->pts[i];
            if (p->proto != LB_PROTO_LAYER) continue;
            fprintf(f, "%-9s %5d %6d %4d %3d %3d %2d ", lb_attn_method_name(p->method), p->k, p->n,
                    p->d, p->H, p->B, p->threads);
            if (p->status != LB_PT_OK) {
                fprintf(f, "%s: %s\n", status_name(p->status), p->note);
                continue;
            }
            fprintf(f, "%10.3f %9.3f %8.1f %7.1f %6.0f%% %5.0f%% %10.1f %10.1f %8.2f %8.2f\n",
                    p->median * 1e3, p->iqr * 1e3, p->gflops, p->sgemm_gflops,
                    100 * p->gflops / p->sgemm_gflops, 100 * p->gflops / p->peak_gflops,
                    mib(p->peak_extra), mib(p->analytic), p->speedup, p->mem_saved);
        }
        fprintf(f, "\ncrossover: smallest n in the grid where Linformer's median < the variant's\n");
        each_crossover(f, s, text_crossover);
        if (has_variant(s, LB_ATTN_STREAM)) {
            fprintf(f, "\nstreaming peak extra memory (should not grow as n^2):\n");
            for (int i = 0; i < s->len; i++) {
                const lb_bench_point *p = &s->pts[i];
                if (!stream_ok(p)) continue;
                const lb_bench_point *fu = full_of(s, p, LB_ATTN_FULL);
                fprintf(f, "  n=%-6d d=%d H=%d B=%d t=%d: %.2f MiB (analytic %.2f)", p->n, p->d, p->H,
                        p->B, p->threads, mib(p->peak_extra), mib(p->analytic));
                if (fu && fu->status == LB_PT_OK)
                    fprintf(f, "; full %.2f MiB; time stream/full %.2f", mib(fu->peak_extra),
                            p->median / fu->median);
                fprintf(f, "\n");
            }
        }
    }
    if (any_t3) lb_bench_print_table3(f, s, o);
    int few = o->reps < 9;
    if (few) fprintf(f, "\nwarning: %d repetitions; `linbench compare` needs >= 9 to flag changes reliably\n", o->reps);
}
