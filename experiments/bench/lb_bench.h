/* lb_bench: the attention benchmark behind `linbench bench` (issue 2).
 *
 * Two protocols:
 *   layer   one attention layer, q/k/v/out (B,H,n,d), every method of a group
 *           (same n, d, H, B, threads) timed round-robin with the order rotated
 *           each repetition; an sgemm reference on the same GEMM shapes.
 *   table3  the paper's Table 3: a whole RoBERTa-shaped encoder forward (random
 *           weights, layers from the list) at the largest batch whose analytic
 *           encoder memory fits the budget; Transformer vs Linformer per (n, k).
 * Results: raw samples (one row per point and repetition), per-point statistics,
 * JSON with the run metadata, and a Table 3 grid beside the paper's values. */
#ifndef LB_BENCH_H
#define LB_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lb_attn.h"
#include "lb_progress.h"

#define LB_BENCH_MAXLIST 64

typedef enum { LB_PROTO_LAYER = 1, LB_PROTO_TABLE3 = 2 } lb_bench_proto;

typedef struct {
    long v[LB_BENCH_MAXLIST];
    int len;
} lb_list;

typedef struct {
    int protocols;          /* bit set of lb_bench_proto */
    lb_list n, k, d, heads, batch, threads; /* layer protocol grid */
    lb_list t3_n, t3_k, layers;             /* table3 grid: n, k, encoder layers */
    int methods;            /* bit set: 1 << LB_ATTN_FULL | ... */
    lb_share share;         /* Linformer sharing in the layer protocol */
    lb_share t3_share;      /* and in table3 (the paper: layerwise) */
    int t3_threads;         /* threads of the encoder (0 = all) */
    int reps, warmup, sgemm_reps;
    long max_batch;         /* table3 cap on the batch (0 = none) */
    double budget;          /* bytes: per-point analytic memory limit (layer) */
    double t3_budget;       /* bytes: encoder memory limit that sets the table3 batch */
    uint64_t seed;
    int progress;           /* draw a progress bar (only on a terminal anyway) */
    int quiet;
    const char *out_dir;
    const char *preset;
    const char *paper;      /* the paper's Table 3 CSV shown beside ours (may be missing) */
    int shard_i, shard_n;   /* --shard i/N: this part of the grid (shard_n 0 = all) */
    int allow_shared_host;  /* --allow-shared-host: MPI ranks may time on one host */
} lb_bench_opts;

typedef enum { LB_PT_OK = 0, LB_PT_NOFIT = 1, LB_PT_FAIL = 2 } lb_pt_status;

/* One configuration that was (or could not be) measured. */
typedef struct {
    lb_bench_proto proto;
    lb_attn_method method;
    lb_share share;
    int n, k, d, H, B, layers, threads; /* k = 0 for full/stream; B chosen for table3 */
    lb_pt_status status;
    char note[160];            /* why it does not fit / failed */
    double *samples;           /* seconds per call, reps of them */
    int nsamples;
    double median, q1, q3, iqr;
    double flops;              /* per call (formula in lb_bench_flops_text) */
    double gflops;             /* flops / median */
    double sgemm_gflops;       /* reference rate of this group (layer), NaN if none */
    size_t peak_extra;         /* measured: VmHWM after init + one call − RSS before */
    size_t analytic;           /* analytic bytes of what the point allocates */
    size_t io_bytes;           /* inputs/outputs allocated before (layer: q,k,v,out) */
    double speedup;            /* vs full (layer: time; table3: time per sequence) */
    double mem_saved;          /* vs full, see lb_bench_mem_text */
    int interleaved;
} lb_bench_point;

typedef struct {
    lb_bench_point *pts;
    int len, cap;
} lb_bench_set;

/* Definitions printed in the output and written to the JSON. */
extern const char lb_bench_flops_text[];
extern const char lb_bench_mem_text[];
extern const char lb_bench_t3_text[];

/* Append a zeroed point (NaN statistics) and return it, or NULL when out of memory. */
lb_bench_point *lb_bench_add(lb_bench_set *s);
void lb_bench_set_free(lb_bench_set *s);
/* Fill median/quartiles/gflops from samples. */
void lb_bench_point_stats(lb_bench_point *p);

/* The sgemm rate (GFLOP/s) on the attention's GEMM shapes: B·H pairs of
 * (n×d · d×n) and (n×n · n×d), `threads` pairs in parallel, single-threaded BLAS
 * inside, as the kernels run. q, k, v are (B,H,n,d). Returns NaN if the n×n scratch
 * does not fit in budget or cannot be allocated. */
double lb_bench_sgemm_rate(const float *q, const float *k, const float *v, int B, int H, int n,
                           int d, int threads, int reps, double budget);

/* The timing loop both protocols share. Points pts[0..np-1] (statuses already set,
 * `bytes` each point's analytic memory) are taken in runs that fit together in `room`
 * beside `used0` bytes already held; each live point is started (ops->start: allocate
 * and one call, counted as the first warm-up), warmed up to `warmup` calls, then timed
 * `reps` times round-robin, rotating the order every repetition so that slow drifts
 * of the machine hit every point alike; then its statistics are filled and it is
 * released. ops->run returns a value of the result, kept alive so no call is elided. */
typedef struct {
    int (*start)(void *ctx, int i); /* nonzero: skip the point (its status says why) */
    float (*run)(void *ctx, int i);
    void (*release)(void *ctx, int i);
} lb_bench_ops;
void lb_bench_interleave(lb_bench_point *pts, int np, double used0, double room, int warmup,
                         int reps, lb_progress *prog, const lb_bench_ops *ops, void *ctx);

/* Run the protocols; points are appended to set (a point that does not fit is
 * recorded as such). Returns 0, or a sysexits code for failures that stop the run.
 * Progress goes to prog (may be NULL). */
int lb_bench_layer(lb_bench_set *set, const lb_bench_opts *o, lb_progress *prog);
int lb_bench_table3(lb_bench_set *set, const lb_bench_opts *o, lb_progress *prog);
/* Estimated work units (flops × calls) of each protocol, for the progress bar. */
double lb_bench_layer_work(const lb_bench_opts *o);
double lb_bench_table3_work(const lb_bench_opts *o);

/* Speed-up and memory-saved ratios against the full-attention point of each group. */
void lb_bench_ratios(lb_bench_set *set);

/* Outputs into o->out_dir (atomically): bench.csv (raw samples), summary.csv
 * (one row per point), table3.csv (grid beside the paper) and bench.json.
 * Returns 0 or a sysexits code. */
int lb_bench_write(const lb_bench_set *set, const lb_bench_opts *o, int argc, char **argv);
/* The paper's Table 3 (n,k,time_saved_x,memory_saved_x) from path; missing file or
 * cell gives NaN. Returns the value for (n, k) in *time and *mem. */
void lb_bench_paper_cell(const char *path, int n, int k, double *time, double *mem);
/* Human-readable tables, crossovers and stream memory on f. */
void lb_bench_print(FILE *f, const lb_bench_set *set, const lb_bench_opts *o);

/* ---- shards and their merge (experiments/bench/bench_merge.c) ---- */

/* Parse "i/N" (0 <= i < N <= 1024). 0 or -1 with msg. */
int lb_bench_shard_parse(const char *s, int *i, int *n, char *msg, size_t msglen);
/* Keep this shard's part of the grid: entry j of the n lists (layer and table3) when
 * j mod N = i, so every (n, ...) group, and the speedups inside it, stays whole. Under
 * MPI (more than one rank) the ranks are the shards: rank r takes r/size and writes
 * OUT/rank-r, after a check that no two ranks share a host (they would disturb each
 * other's timings) unless allow_shared_host. Collective under MPI. 0 or -1 with msg
 * (every rank fails together). */
int lb_bench_shard_apply(lb_bench_opts *o, char *msg, size_t msglen);
/* Join result folders dirs (n of them) into out: the rows of bench.csv, summary.csv and
 * table3.csv in order, bench.json with the points of all and "merged_from". Refused:
 * a missing file, different CSV headers, or (unless allow_mixed) different machine
 * metadata (CPU, kernel, compiler and flags, OpenBLAS, threads). Crossovers need the
 * whole n axis and are left out. 0 or -1 with msg; out is written atomically. */
int lb_bench_merge(const char *out, const char *const *dirs, int n, int allow_mixed, char *msg,
                   size_t msglen);

#endif
