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
#include "lb_model.h"
#include "lb_meta.h"
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
    int t3_methods;         /* table3 bit set: baselines and linformer */
    long t3_tokens;         /* table3: time at most this many tokens B·n (>= 1 sequence); 0 = none */
    const char *t3_budget_note; /* where t3_budget comes from (written to bench.json) */
    int plan;               /* print the table3 cells, batches and estimated time; run nothing */
    double plan_gflops;     /* the rate the plan's estimate assumes */
    int methods;            /* bit set: 1 << LB_ATTN_FULL | ... */
    lb_share share;         /* Linformer sharing in the layer protocol */
    lb_share t3_share;      /* and in table3 (the paper: layerwise) */
    int t3_threads;         /* threads of the encoder (0 = all) */
    int reps, warmup, sgemm_reps;
    long max_batch;         /* table3 cap on the timed batch (0 = none) */
    double budget;          /* bytes: per-point analytic memory limit (layer) */
    double t3_budget;       /* bytes: encoder memory limit that sets the table3 batch */
    uint64_t seed;
    int progress;           /* draw a progress bar (only on a terminal anyway) */
    int quiet;
    const char *out_dir;
    const char *preset;
    const char *paper;      /* the paper's Table 3 CSV shown beside ours (may be missing) */
    double peak_seconds;    /* time for each FMA peak measurement (per width, thread count) */
    /* TEST ONLY (LB_BENCH_TEST_SLOWDOWN=method:factor): every timed call of that
     * method is stretched to factor × its time by spinning, so that the A/B tooling's
     * power can be measured against a known slowdown. Never set in real runs; results
     * taken with it say so in bench.json and bench.csv. */
    int slow_method;        /* -1 none */
    double slow_factor;
    int shard_i, shard_n;   /* --shard i/N: this part of the grid (shard_n 0 = all) */
    const char *turn_spec;  /* --turn first|second:IN:OUT (bench-ab's paired mode); NULL = alone */
    double turn_timeout;    /* --turn-timeout: seconds to wait for the other side's token */
    struct lb_bench_turn *turn; /* the open turns of turn_spec, or NULL */
    int allow_shared_host;  /* --allow-shared-host: MPI ranks may time on one host */
} lb_bench_opts;

typedef enum { LB_PT_OK = 0, LB_PT_NOFIT = 1, LB_PT_FAIL = 2 } lb_pt_status;

/* One configuration that was (or could not be) measured. */
typedef struct {
    lb_bench_proto proto;
    lb_attn_method method;
    lb_share share;
    int n, k, d, H, B, layers, threads; /* k = 0 for full/stream; B chosen for table3 */
    int B_fit;                 /* table3: largest batch under the budget (B = timed batch) */
    lb_pt_status status;
    char note[160];            /* why it does not fit / failed */
    double *samples;           /* seconds per call, reps of them */
    int nsamples;
    double median, q1, q3, iqr;
    double flops;              /* per call (formula in lb_bench_flops_text) */
    double gflops;             /* flops / median */
    double sgemm_gflops;       /* reference rate of this group (layer), NaN if none */
    double peak_gflops;        /* FP32 FMA peak at this point's threads, same run; NaN if none */
    double slowdown;           /* test only: > 1 stretches each timed call (see opts) */
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
extern const char lb_bench_peak_text[];

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
/* turn: NULL, or the turns taken with another bench process (each point's start and
 * warm-up is one turn, each timed call another). */
void lb_bench_interleave(lb_bench_point *pts, int np, double used0, double room, int warmup,
                         int reps, lb_progress *prog, const lb_bench_ops *ops, void *ctx,
                         struct lb_bench_turn *turn);

/* --- turns (bench_turn.c): bench-ab's paired mode ---
 * Two bench processes (the base and the new build) on the same grid, started together,
 * pass a token over two FIFOs and do every piece of timed or heavy work (FMA peak, a
 * group's inputs, a point's start and warm-up, each timed call) only while holding it,
 * so their calls alternate at most seconds apart and never overlap. A token carries the
 * turn's number and a hash of what was done; a mismatch (the two sides' work diverged)
 * or no token within timeout_s fails the turn, and every later turn: the run then
 * writes nothing (lb_bench_turn.failed, .why). */
typedef struct lb_bench_turn {
    int rfd, wfd;        /* FIFO read from the other side / written to it */
    int on, first, hold; /* hold: the first side before its first turn */
    int failed;
    long long count;     /* turns completed */
    uint64_t last;       /* tag of this side's last turn */
    double timeout_s;
    char why[256];
} lb_bench_turn;
/* spec "first:IN:OUT" or "second:IN:OUT" (FIFO paths; the first side's OUT is the
 * second's IN). 0, or -1 with msg. */
int lb_bench_turn_open(lb_bench_turn *t, const char *spec, double timeout_s, char *msg, size_t msglen);
void lb_bench_turn_close(lb_bench_turn *t);
/* Wait for the token (t NULL or not open: no-op); what names the work, the same on both sides. */
int lb_bench_turn_begin(lb_bench_turn *t, const char *what);
int lb_bench_turn_end(lb_bench_turn *t);

/* Run the protocols; points are appended to set (a point that does not fit is
 * recorded as such). Returns 0, or a sysexits code for failures that stop the run.
 * Progress goes to prog (may be NULL). */
int lb_bench_layer(lb_bench_set *set, const lb_bench_opts *o, lb_progress *prog);
int lb_bench_table3(lb_bench_set *set, const lb_bench_opts *o, lb_progress *prog);
/* Table 3 bookkeeping. The largest B in [1, cap] (cap 0: 2^20) whose analytic encoder
 * memory lb_encoder_bytes(c, B, n, eo) is <= budget, found exactly; 0 when one sequence
 * does not fit. The batch that is timed: b_fit capped by o->max_batch and by
 * o->t3_tokens / n (at least 1); 0 when b_fit is 0. */
int lb_bench_t3_batch(const lb_config *c, int n, const lb_encoder_opts *eo, double budget, long cap);
int lb_bench_t3_timed(const lb_bench_opts *o, int b_fit, int n);
/* Is m a method lb_attn knows (has a name)? Loops over methods stop at the first not. */
int lb_bench_method_known(int m);
/* One cell of a group of points: a method and its k (0 for a method the k grid does
 * not size). */
typedef struct {
    lb_attn_method method;
    int k;
} lb_bench_cell;
#define LB_BENCH_MAXCELLS (LB_ATTN_NMETHODS * LB_BENCH_MAXLIST)
/* The cells of one group in the order both protocols measure them: each method of the
 * bit set `methods`, those in the bit set `sized` once per k of ks up to kmax (a larger
 * k is no cell), the others once with k = 0. The one grid loop of the runs, the
 * progress estimates and the Table 3 plan. Returns how many (<= LB_BENCH_MAXCELLS). */
int lb_bench_cells(lb_bench_cell *cells, int methods, int sized, const lb_list *ks, long kmax);
/* table3.csv: one row per (n, k, baseline) — see lb_bench_t3_text. Returns 0 or a
 * sysexits code. */
int lb_bench_write_table3(const lb_bench_set *s, FILE *f, const char *paper);
/* The Table 3 tables on stdout (per point, then per cell and baseline). */
void lb_bench_print_table3(FILE *f, const lb_bench_set *s, const lb_bench_opts *o);
/* The cells the table3 protocol would run: largest and timed batch, flops per call,
 * and the time it would take at o->plan_gflops. Returns the estimated seconds. */
double lb_bench_table3_plan(FILE *f, const lb_bench_opts *o);

/* Estimated work units (flops × calls) of each protocol, for the progress bar. */
double lb_bench_layer_work(const lb_bench_opts *o);
double lb_bench_table3_work(const lb_bench_opts *o);

/* Speed-up and memory-saved ratios against the full-attention point of each group. */
void lb_bench_ratios(lb_bench_set *set);

/* The FMA peak of every thread count the protocols use, measured into m->fp (in the
 * same run; a second call measures again and keeps the larger). Returns 0, or -1 when
 * there are too many counts. */
int lb_bench_measure_peaks(lb_meta *m, const lb_bench_opts *o);
/* Each point's peak_gflops from the fingerprint's peaks at its thread count. */
void lb_bench_set_peaks(lb_bench_set *set, const lb_fingerprint *fp);
/* The test-only slowdown from LB_BENCH_TEST_SLOWDOWN ("method:factor", factor in
 * [1, 10]); unset gives method -1. Returns 0, or -1 with msg on a malformed value. */
int lb_bench_test_slowdown(const char *env, int *method, double *factor, char *msg, size_t msglen);

/* Mark points of the test-only slowed method (o->slow_method) before timing them. */
void lb_bench_mark_slow(lb_bench_point *pts, int np, const lb_bench_opts *o);

/* Outputs into o->out_dir (atomically): bench.csv (raw samples), summary.csv
 * (one row per point), table3.csv (grid beside the paper) and bench.json, with the
 * run metadata m (its fingerprint and peaks). Returns 0 or a sysexits code. */
int lb_bench_write(const lb_bench_set *set, const lb_bench_opts *o, const lb_meta *m, int argc,
                   char **argv);
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
/* Join result folders dirs (n of them) into out: the rows of bench.csv and summary.csv
 * in the order given; table3.csv (when any folder has one) rebuilt from the merged
 * Table 3 points with the paper's cells from paper (NULL: none), so that one n may be
 * measured in several folders (a configuration measured twice is refused, and so is
 * a row whose points come from two machines, whatever allow_mixed); bench.json
 * with the points of all and "merged_from",
 * one entry a folder (folder, n, table3_n, date, git_commit, git_dirty, machine: the
 * fingerprint id, cpu: its vendor, family and model, fma_peak_gflops: its best FMA rate,
 * stream_kernel, elapsed_s from DIR/elapsed_s; null when unknown),
 * plus mixed_machine and mixed_stream_kernel. Refused: a missing file, different CSV
 * headers, or (unless allow_mixed) different machine metadata (CPU, kernel, compiler
 * and flags, OpenBLAS, threads, and the fingerprint when both have one). Folders that
 * differ in machine (allowed) or streaming kernel are named in warn (warnlen; "" when
 * none; may be NULL). Crossovers need the whole n axis and are left out. 0 or -1 with
 * msg; out is written atomically. */
int lb_bench_merge(const char *out, const char *const *dirs, int n, int allow_mixed,
                   const char *paper, char *warn, size_t warnlen, char *msg, size_t msglen);

#endif

/* --- results read back: `linbench compare`, `linbench history` (bench_compare.c) --- */

/* The raw samples of one point: every bench.csv row with the same columns apart from
 * rep and seconds. */
typedef struct {
    char *key;     /* those columns joined by commas */
    int threads;   /* the threads column, -1 when there is none */
    double *s;
    int len, cap;
} lb_point_samples;

typedef struct {
    lb_point_samples *g;
    int len, cap;
    char *header;  /* the key columns' names joined by commas */
    int has_fp;    /* 1 when bench.json beside the samples holds a fingerprint */
    lb_fingerprint fp;
    char fp_note[160]; /* why there is none: no bench.json, written before fingerprints */
} lb_results;

/* Read a bench.csv (a file, or a folder holding one) and the fingerprint of the
 * bench.json beside it. Returns 0, or a sysexits code (EX_NOINPUT, EX_DATAERR) with
 * msg naming the file, line and field. */
int lb_results_read(lb_results *r, const char *arg, char *msg, size_t msglen);
void lb_results_free(lb_results *r);
const lb_point_samples *lb_results_find(const lb_results *r, const char *key);

/* The verdict of one point under compare's rule (the asv rule): a regression when
 * median(new)/median(base) > factor and the two-sided Mann–Whitney U test rejects at
 * alpha; an improvement when the ratio < 1/factor and the test rejects. Samples are
 * multiplied by their side's scale first (1, or the run's FMA peak for a machine-
 * relative comparison: time × peak is the time in units of the machine's speed). */
typedef enum { LB_SAME = 0, LB_REGRESSION = 1, LB_IMPROVED = -1 } lb_verdict;
typedef struct {
    double base_med, new_med, ratio, p;
    /* 95% distribution-free interval of new/base (Hodges–Lehmann, lb_hl_ratio): what the
     * samples allow the change to be; NaN when a sample is 0 */
    double ratio_lo, ratio_hi;
    lb_verdict verdict;
} lb_judgement;
/* The interval's level: the usual 95%, not 1 − alpha (alpha guards the flag over many points). */
#define LB_JUDGE_LEVEL 0.95
int lb_bench_judge(lb_judgement *j, const double *base, int nb, double bscale, const double *cand,
                   int nn, double nscale, double factor, double alpha);
/* The paired verdict (compare --paired, bench-ab's paired mode): sample i of the base is
 * paired with sample i of the new side (the same call, timed back to back), nb == nn.
 * ratio = exp of the Hodges–Lehmann location of the log ratios log(new_i/base_i), its 95%
 * interval from the Walsh averages, p from the two-sided Wilcoxon signed-rank test on
 * them; the same flag rule. base_med and new_med stay the sides' medians. Returns 0, or -1
 * (unequal counts, a sample <= 0, out of memory). */
int lb_bench_judge_paired(lb_judgement *j, const double *base, int nb, double bscale, const double *cand,
                          int nn, double nscale, double factor, double alpha);
/* The smallest p-value the U test can return for samples of n1 and n2 (completely
 * separated samples without ties): a comparison with min_p >= alpha cannot flag. */
double lb_bench_min_p(int n1, int n2);
/* The smallest m such that m samples a side can reach p < alpha. */
int lb_bench_samples_needed(double alpha);

/* --- the history store: one bench run per commit (bench_history.c) ---
 * STORE/index.csv (seq,commit,dirty,date,fingerprint,dir; one row per run, oldest
 * first) and STORE/runs/NNNN-COMMIT12/{bench.csv,bench.json} (the raw samples and the
 * metadata with the fingerprint, as bench wrote them). */
typedef struct {
    int seq;
    char commit[48];
    int dirty;
    char date[32];
    char fpid[24];       /* the fingerprint id: runs are judged only against the same id */
    lb_results res;
} lb_history_run;

typedef struct {
    lb_history_run *run;
    int len;
} lb_history;

/* Append the bench results in result_dir to the store (created if needed). A run of a
 * dirty tree, or without a fingerprint, is refused unless allow_dirty (for the first).
 * Returns 0 (the run's folder in added), or a sysexits code with msg. */
int lb_history_add(const char *store, const char *result_dir, int allow_dirty, char *added,
                   size_t addedlen, char *msg, size_t msglen);
/* Load every run of the store. Returns 0 or a sysexits code with msg. */
int lb_history_load(lb_history *h, const char *store, char *msg, size_t msglen);
void lb_history_free(lb_history *h);

/* Per point (those whose key contains `match`, all when NULL) and run: median, quartiles
 * and the change from the previous run of the same fingerprint under compare's rule
 * (regression, improved, same, underpowered, other_machine for a run whose previous one
 * was on another machine, first). Writes csv_path (one row per point and run) and
 * dat_path (gnuplot: one block per point: seq, median, q1, q3, change as -1/0/1,
 * commit label), and one line per flagged change on report. Returns 0 or a sysexits
 * code with msg; *npoints the points written, *nflagged the regressions. */
int lb_history_write(const lb_history *h, const char *match, double factor, double alpha,
                     const char *csv_path, const char *dat_path, FILE *report, int *npoints,
                     int *nflagged, char *msg, size_t msglen);
