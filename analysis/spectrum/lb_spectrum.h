/* lb_spectrum: singular-value spectra of attention matrices P (Linformer Figure 1)
 * and the error of low-rank / projected stand-ins for P (Theorem 1 and past it).
 *
 * Matrices are float32 row-major with a leading dimension; singular values are
 * computed with LAPACK sgesdd on a per-thread workspace allocated once. Statistics
 * are accumulated in double, streaming: no matrix is kept after it is analysed.
 *
 * Curves, for σ_1 >= ... >= σ_r (r = min(rows, cols)) and a curve length len >= r:
 *   σ-curve      c_i = Σ_{j<=i} σ_j / Σ_j σ_j
 *   energy curve e_i = Σ_{j<=i} σ_j² / Σ_j σ_j²
 * for i = 1..len; past r both are exactly 1 (everything is captured), so matrices of
 * different sizes (padding) can be averaged index by index. Indices are 1-based.
 */
#ifndef LB_SPECTRUM_H
#define LB_SPECTRUM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lb_attn.h"
#include "lb_corpus.h"
#include "lb_model.h"

/* ---- singular values (analysis/spectrum/svd.c) ---- */

typedef struct lb_svd_ws lb_svd_ws; /* one per thread: copies of A, LAPACK work */

/* Workspace for matrices up to max_rows × max_cols. want_vectors also reserves
 * room for lb_svd_right. Returns 0, or -1 with msg (out of memory, LAPACK query). */
int lb_svd_ws_init(lb_svd_ws **out, int max_rows, int max_cols, int want_vectors, char *msg,
                   size_t msglen);
void lb_svd_ws_free(lb_svd_ws *w);

/* sigma is (min(rows,cols)), descending; P is (rows, cols) with leading dimension
 * ld >= cols; P is not modified. Returns 0, or -1 with msg (sizes past the
 * workspace, LAPACK info != 0 i.e. no convergence). */
int lb_svd_values(lb_svd_ws *w, float *sigma, const float *P, int rows, int cols, int ld,
                  char *msg, size_t msglen);
/* As lb_svd_values, plus vt (min(rows,cols), cols): row i is the right singular
 * vector v_i of P (P = Σ σ_i u_i v_iᵀ). Needs a workspace made with want_vectors. */
int lb_svd_right(lb_svd_ws *w, float *sigma, float *vt, const float *P, int rows, int cols,
                 int ld, char *msg, size_t msglen);

/* ---- per-matrix statistics (analysis/spectrum/spectrum_acc.c) ---- */

/* c and e are (len), len >= 1: the curves above; r may be less or more than len
 * (values past len are ignored). An all-zero sigma gives curves of 1. */
void lb_spec_curves(double *c, double *e, int len, const float *sigma, int r);
/* First 1-based index i with curve[i-1] >= level (len if none reaches it, which
 * rounding can cause at level 1). */
int lb_spec_first_reach(const double *curve, int len, double level);
/* exp(−Σ p_i log p_i), p_i = σ_i/Σσ (Roy & Vetterli 2007); 0 for an all-zero sigma. */
double lb_spec_eff_rank(const float *sigma, int r);
/* Mean over rows of the row entropy −Σ_j P_ij log P_ij divided by log(cols): 1 for
 * uniform rows, 0 for one-hot rows. P is (rows, cols) with leading dimension ld,
 * rows are expected to sum to 1. cols == 1 gives 1 (the one distribution is both
 * uniform and one-hot; we call it uniform). */
double lb_spec_row_entropy(const float *P, int rows, int cols, int ld);

/* Welford running mean and variance. */
typedef struct {
    double n, mean, m2;
} lb_welford;
void lb_welford_add(lb_welford *w, double x);
/* Sample standard deviation (n − 1 in the denominator); 0 when n < 2. */
double lb_welford_std(const lb_welford *w);

/* The statistics of one matrix, and their running means over many. */
enum {
    LB_SPEC_AT_SIGMA,   /* c at the chosen index */
    LB_SPEC_AT_ENERGY,  /* e at the chosen index */
    LB_SPEC_IDX90_SIGMA,
    LB_SPEC_IDX99_SIGMA,
    LB_SPEC_IDX90_ENERGY,
    LB_SPEC_IDX99_ENERGY,
    LB_SPEC_EFF_RANK,
    LB_SPEC_ROW_ENTROPY, /* lb_spec_row_entropy */
    LB_SPEC_NSTATS
};
const char *lb_spec_stat_name(int stat); /* "at_index_sigma", ... */

/* stats is (LB_SPEC_NSTATS); index is 1-based in [1, len]; c, e are (len) scratch. */
void lb_spec_matrix_stats(double *stats, double *c, double *e, int len, int index,
                          const float *sigma, int r, double row_entropy);

/* One accumulator per (layer, head): running mean/variance of the curves index by
 * index and of every statistic. */
typedef struct {
    int len;    /* curve length (n) */
    int index;  /* 1-based index for the "at index" statistics */
    double *c_mean, *c_m2, *e_mean, *e_m2; /* (len) each */
    double count;
    lb_welford stat[LB_SPEC_NSTATS];
    /* Every matrix's statistics in the order added, (count, LB_SPEC_NSTATS): one row
     * per window, so that the report can resample windows (bootstrap). win_lost is
     * set when growing it failed (the writer then refuses). */
    double *win;
    size_t win_cap;
    int win_lost;
} lb_spec_acc;

int lb_spec_acc_init(lb_spec_acc *a, int len, int index);
void lb_spec_acc_free(lb_spec_acc *a);
/* Add one matrix's spectrum; scratch is (2·len) doubles. */
void lb_spec_acc_add(lb_spec_acc *a, double *scratch, const float *sigma, int r,
                     double row_entropy);
/* Sample standard deviation of curve values: sd is (len); which 0 = σ, 1 = energy. */
void lb_spec_acc_curve_std(const lb_spec_acc *a, double *sd, int which);
/* a += b: the accumulator of both window sets (Chan et al.'s pairwise mean/variance
 * merge, in double); a and b have the same len and index. */
void lb_spec_acc_merge(lb_spec_acc *a, const lb_spec_acc *b);
/* Flat form for sending between ranks: lb_spec_acc_packed_len doubles; unpack into an
 * accumulator made by lb_spec_acc_init with the same len and index (0, or -1 with msg
 * when avail is short or the shapes differ). */
size_t lb_spec_acc_packed_len(const lb_spec_acc *a);
void lb_spec_acc_pack(double *out, const lb_spec_acc *a);
int lb_spec_acc_unpack(lb_spec_acc *a, const double *in, size_t avail, char *msg,
                       size_t msglen);
/* The packed length of the blob at in (avail values) for an accumulator shaped as
 * shape (its per-window row count is read from the blob); SIZE_MAX when malformed.
 * The blob's per-window rows start at lb_spec_acc_packed_rows. lb_spec_acc_merge
 * merges the statistics only: per-window rows are the caller's to order (MPI keeps
 * the single-process window order, spectrum_mpi.c), through lb_spec_acc_set_rows
 * (count rows; 0 or -1 when out of memory). */
size_t lb_spec_acc_packed_len_in(const lb_spec_acc *shape, const double *in, size_t avail);
const double *lb_spec_acc_packed_rows(const lb_spec_acc *shape, const double *in);
int lb_spec_acc_set_rows(lb_spec_acc *a, const double *rows, size_t count);

/* PREFIX_windows.csv: n,layer,head,window, then every statistic (lb_spec_stat_name)
 * of each analysed matrix; window is the 0-based order of the sequence at that n.
 * Returns 0, or -1 when an accumulator lost its per-window rows (out of memory). */
struct lb_spec_run_s;
int lb_spec_write_windows(FILE *f, const struct lb_spec_run_s *runs, int nruns);

/* ---- controls: attention matrices with known spectra (analysis/spectrum/controls.c) ----
 *   UNIFORM   P_ij = 1/n: rank 1 (every row the same), row entropy 1
 *   BAND      P_ij ∝ exp(−|i−j|) for |i−j| <= 2: a sharp local band, full rank (its
 *             symbol 1 + 2e⁻¹cos θ + 2e⁻²cos 2θ stays above 0.47), idx90 near 0.8 n
 *   IDENTITY  P = I: every σ_i = 1, idx90 = ⌈0.9 n⌉, effective rank n */
typedef enum { LB_CTRL_UNIFORM = 0, LB_CTRL_BAND, LB_CTRL_IDENTITY, LB_CTRL_COUNT } lb_ctrl_kind;
const char *lb_ctrl_name(int kind); /* "uniform", "band", "identity" */
/* P is (n, n), rows summing to 1. */
void lb_ctrl_matrix(float *P, int n, int kind);
/* The control at size acc->len through the same code as a model's P (lb_svd_values,
 * lb_spec_row_entropy, lb_spec_acc_add). Returns 0, or -1 with msg. */
int lb_ctrl_spectrum(lb_spec_acc *acc, int kind, char *msg, size_t msglen);
/* PREFIX_controls.csv: n,control,index,sigma,energy, then every statistic; one row
 * per curve index (the statistics repeat on each row of a control). The UNIFORM and
 * BAND controls at every run's n and index. Returns 0, or -1 with msg. */
int lb_spec_write_controls(FILE *f, const struct lb_spec_run_s *runs, int nruns, char *msg,
                           size_t msglen);

/* ---- what a model trained at (analysis/spectrum/trained.c) ----
 * `linbench train`'s export writes config.json's "linbench_trained": {"curriculum":
 * [[n, updates], ...], "valid_loss": [[n, last validation loss at n], ...], "updates":
 * total}. A folder without it (a HuggingFace checkpoint) is taken as trained at every
 * length its position table allows (lb_spec_max_n: max_position_embeddings − 2 for
 * RoBERTa), and recorded = 0 says so. */
#define LB_TRAINED_MAX 16
typedef struct {
    int recorded;                    /* 1: from "linbench_trained" */
    int max_n;                       /* the longest length trained at (updates > 0) */
    int nstage;
    int n[LB_TRAINED_MAX];
    long updates[LB_TRAINED_MAX];
    double valid_loss[LB_TRAINED_MAX]; /* NaN where none was logged */
    long total_updates;
} lb_trained;
/* Returns 0, or -1 with msg (a malformed "linbench_trained"; *t then holds the
 * position-table fallback). */
int lb_trained_read(lb_trained *t, const char *model_dir, const lb_config *c, char *msg,
                    size_t msglen);
/* 1 with a warning text in msg when n is past t->max_n, else 0. */
int lb_trained_beyond(const lb_trained *t, int n, char *msg, size_t msglen);
/* The record as one JSON object (PREFIX.json "params"."trained"). */
void lb_trained_json(FILE *f, const lb_trained *t);

/* ---- projection error (analysis/spectrum/projerr.c) ---- */

/* The stand-ins for P whose output error ‖PV − Ŷ‖_F / ‖PV‖_F is measured:
 *   GAUSS      Ŷ = P Rᵀ R V, R (k, m) N(0, 1/k) as in Theorem 1's proof (E = F = R)
 *   POOL       mean pooling over k contiguous key blocks: Ŷ = (P Sᵀ)(M V), S sums a
 *              block, M averages it; blocks are [⌊b·m/k⌋, ⌊(b+1)·m/k⌋), so k = m
 *              gives Ŷ = PV exactly. k > m is clipped to m.
 *   LINF_GAUSS the Linformer head softmax(Q (R K)ᵀ/√d)(R V), E = F = R (Gaussian)
 *   LINF_POOL  the same with mean-pooled keys and values (E = F = M)
 *   SVD_PV     best rank-k P_k (Eckart–Young): ‖(P − P_k) V‖_F / ‖PV‖_F
 *   SVD_P      ‖P − P_k‖_F / ‖P‖_F = sqrt(Σ_{i>k} σ_i² / Σ σ_i²) (no V involved)
 * Errors are relative; a zero PV (or P) gives NaN for that entry. */
typedef enum {
    LB_PE_GAUSS = 0,
    LB_PE_POOL,
    LB_PE_LINF_GAUSS,
    LB_PE_LINF_POOL,
    LB_PE_SVD_PV,
    LB_PE_SVD_P,
    LB_PE_COUNT
} lb_pe_method;
const char *lb_pe_name(int method); /* "gauss", "pool", "linformer_gauss", ... */

/* R is (k, n): N(0, 1/k), deterministic in seed (the same seed gives the same R). */
void lb_proj_gauss(float *R, int k, int n, uint64_t seed);
/* The seed of the R used for (layer, head, k) of a run with seed `seed`. */
uint64_t lb_proj_seed(uint64_t seed, int layer, int head, int k);

typedef struct lb_pe_ws lb_pe_ws; /* one per thread */

/* For heads of up to max_m real tokens, head dimension d, projections up to kmax.
 * want_svd reserves the SVD with vectors (SVD_PV, SVD_P). */
int lb_pe_ws_init(lb_pe_ws **out, int max_m, int d, int kmax, int want_svd, char *msg,
                  size_t msglen);
void lb_pe_ws_free(lb_pe_ws *w);

/* err is (nks, LB_PE_COUNT), row j for ks[j]. P is (m, m) with leading dimension
 * ldp (real queries × real keys); q, k, v are (m, d) contiguous. R for ks[j] is
 * lb_proj_gauss(R, ks[j], n_full, seeds[j]) restricted to the columns real[0..m)
 * (the positions of the real keys in the full sequence; real == NULL means
 * 0..m−1 and n_full == m). with_svd = 0 leaves the SVD_* entries NaN.
 * Returns 0, or -1 with msg (SVD failure). */
int lb_projerr_head(lb_pe_ws *w, double *err, const float *P, int ldp, const float *q,
                    const float *k, const float *v, int m, int d, const int *ks, int nks,
                    const uint64_t *seeds, const int *real, int n_full, int with_svd,
                    char *msg, size_t msglen);


/* ---- approximations of PV on real attention (analysis/spectrum/approx.c) ----
 *
 * Every stand-in Ŷ for one head's output PV, on held-out windows, with what it is:
 *   kind "random"  drawn afresh, D seeded draws per window:
 *     jl         P Rᵀ R V, R (k,n) N(0, 1/k): Theorem 1's construction as its proof uses it
 *     thm2       softmax(Q (δR K)ᵀ/√d) (e^{−δ}R V): Theorem 2's E = δR, F = e^{−δ}R
 *     linf_rand  softmax(Q (R K)ᵀ/√d) (R V): a Linformer head with E = F = R untrained
 *   kind "fitted"  one projection for all inputs, fitted on training windows:
 *     fitted     P U Uᵀ V, U (n,k) the top-k eigenvectors of Σ PᵀP over the fit windows
 *   kind "oracle"  built from this very input's P (no fixed E, F can do it):
 *     pool       exact block sums of P times block means of V (k contiguous blocks)
 *     svd        the best rank-k P_k of this P (Eckart–Young) applied to V
 *   kind "learned" the model's own E, F (Linformer-trained checkpoints):
 *     learned    P̄ (F V), P̄ the trained head's probabilities; size = the model's k
 *   kind "exact"   full: P V itself (error 0; its time is the cost reference)
 *   the other efficient attentions, from the head's q, k, v through the attention/
 *   kernels (lb_attn.h, B = H = 1, one thread), the same mask:
 *     local         kind "sparse":        centred window of radius w = size
 *     nystrom       kind "landmark":      m = size segment-mean landmarks, 6 iterations
 *     performer     kind "kernel":        m = size positive orthogonal random features,
 *                                         drawn afresh for each of the D draws
 *     scatterbrain  kind "sparse+lowrank": radius w = size/2 plus m = size/2 features
 *                                         (D draws, as performer)
 * The size grid is one for all (k = m = w): at size s every method costs about
 * 8·n·s·d flops (Linformer 8nkd, local 8nwd, performer 8nmd + 4nm, scatterbrain's two
 * halves together, Nyström 8nmd plus its m²d and m³ terms); lb_ax_flops gives each
 * count. Each error is given in two normalisations: ‖PV − Ŷ‖_F / ‖PV‖_F (Theorem 1's
 * statement) and ‖PV − Ŷ‖_F / (‖P‖_F ‖V‖_F) (what the JL argument bounds). Only real
 * query rows count; padded keys and values are zeroed before any projection.
 * A new method is a row of the method table in approx.c and a case of run_method in
 * approx_head.c: its results are rows of the files, nothing else changes. */
typedef enum {
    LB_AX_FULL = 0,
    LB_AX_JL,
    LB_AX_THM2,
    LB_AX_LINF_RAND,
    LB_AX_FITTED,
    LB_AX_POOL,
    LB_AX_SVD,
    LB_AX_LEARNED,
    LB_AX_LOCAL,        /* the attention/ kernels: LB_AX_LOCAL .. LB_AX_SCATTER */
    LB_AX_NYSTROM,
    LB_AX_PERFORMER,
    LB_AX_SCATTER,
    LB_AX_COUNT
} lb_ax_method;
#define LB_AX_NATT (LB_AX_SCATTER - LB_AX_LOCAL + 1)
/* Timed runs per (head, method, size) and held-out window: deterministic methods run
 * this many times, the random ones time their first this-many draws; the median of
 * these is the time_median_s column. */
#define LB_AX_TREPS 3
enum { LB_AX_NORM_PV = 0, LB_AX_NORM_PFVF = 1, LB_AX_NNORM = 2 };
#define LB_AX_NEPS 2 /* Theorem 1's event at eps = 0.1 and 0.2 */
extern const double lb_ax_eps[LB_AX_NEPS];
const char *lb_ax_name(int method);   /* "full", "jl", "thm2", ... */
/* "exact", "random", "fitted", "oracle", "learned", "sparse", "landmark", "kernel",
 * "sparse+lowrank" */
const char *lb_ax_kind(int method);
/* 1 when the method computes Ŷ from q, k, v alone (a usable attention), 0 when it
 * needs P (a probe of P's structure, not something one could run). */
int lb_ax_is_attention(int method);
const char *lb_ax_norm_name(int norm); /* "pv", "p_v" */

/* The paper's bound: k >= 5 ln n / (eps² − eps³) (Theorem 1's proof); and the eps it
 * guarantees at a given k: the root in (0, 2/3] of eps² − eps³ = 5 ln n / k, NaN when
 * k < 5 ln n · 27/4 (no eps < 1 is guaranteed). */
double lb_ax_k_bound(int n, double eps);
double lb_ax_eps_bound(int n, int k);
/* The expectation of the squared JL error for Gaussian R (k,n) N(0, 1/k), any P, V:
 * E ‖P RᵀR V − PV‖_F² = (‖P‖_F² ‖V‖_F² + ‖PV‖_F²) / k. Returns the expectation of the
 * squared relative error (normalised by ‖PV‖_F²): (r² + 1)/k, r = ‖P‖‖V‖ / ‖PV‖. */
double lb_ax_jl_expected_sq(double np, double nv, double npv, int k);
/* Two-sided 95% t interval of the mean of w: mean ∓ t_{0.975, n−1} s/√n (NaN when
 * n < 2). Wilson 95% interval of a proportion s/t (NaN when t = 0). */
void lb_ci95_mean(const lb_welford *w, double *lo, double *hi);
void lb_ci95_prop(double s, double t, double *lo, double *hi);
double lb_t975(double df);

/* y (n,d) = the JL stand-in P Rᵀ(R V) for R = G[0..k) rows · 1/√k; G (>= k, n) N(0,1)
 * rows; scratch rv (k,d), t (n,d). The oracle tests hold this to numpy. */
void lb_ax_jl_apply(float *y, float *rv, float *t, const float *P, int ldp, const float *G,
                    const float *v, int n, int d, int k);
/* P (n,n) = softmax(q kᵀ/√d) over the keys with keep[j] != 0 (keep NULL: all); q, k
 * (n,d). A Linformer model's full attention recomputed without projection. */
void lb_ax_full_probs(float *P, const float *q, const float *k, const unsigned char *keep, int n,
                      int d);
/* U (n,n) in place: eigenvectors of the symmetric G (n,n; upper triangle used), in
 * ascending order of eigenvalue (the top k are the last k columns). 0 or -1 + msg. */
int lb_ax_fit_eigvecs(float *G, int n, char *msg, size_t msglen);
/* y (n,d) = P U_k (U_kᵀ V) with U_k the last k columns of U (n,n); scratch pu (n,k),
 * uv (k,d). */
void lb_ax_fitted_apply(float *y, float *pu, float *uv, const float *P, int ldp, const float *U,
                        const float *v, int n, int d, int k);

/* cfg (B = H = 1, one thread) of the attention/ kernel that method m (LB_AX_LOCAL ..
 * LB_AX_SCATTER) runs at grid size `size` on one head of (n, d); seed draws the random
 * features. 0, or -1 for a method that is not one of them. */
int lb_ax_attn_cfg(lb_attn_cfg *cfg, int method, int n, int d, int size, uint64_t seed);
/* Analytic flops of one application of method m at `size` to one head of (n, d),
 * 2 per multiply-add of the products (softmax and exp not counted), no padding:
 * full 4n²d; jl 4nkd + 2n²d, fitted 2n²k + 4nkd, pool 2nkd + n² + nd (additions 1
 * each) — these three given P, which they need; thm2, linf_rand 8nkd; learned 4nkd
 * (F V and P̄ (F V); P̄ comes from the model's forward); local .. scatterbrain
 * lb_attn_flops of lb_ax_attn_cfg; svd NaN (LAPACK's iterations have no fixed count). */
double lb_ax_flops(int method, int n, int d, int size);

typedef struct {
    int draws;         /* D random draws per window (>= 1) */
    int fit_windows;   /* windows [0, F) fit the projection */
    int eval_windows;  /* windows [F, F + E) are evaluated */
    double delta;      /* Theorem 2's δ; NaN = 2^−n (arXiv 2006.04768, Appendix B: δ = 1/2^n) */
    uint64_t seed;
} lb_ax_opts;

/* Defaults (20 draws, 16 fit and 4 held-out windows, δ = 2^−n, seed 1); the options
 * --approx-draws, --fit-sequences, --approx-sequences, --delta (lb_ax_opt: as
 * lb_spec_input_opt) and their usage lines. */
void lb_ax_defaults(lb_ax_opts *o);
int lb_ax_opt(lb_ax_opts *o, const char *name, const char *arg, int *rc);
void lb_ax_usage(FILE *f);

typedef struct lb_approx lb_approx;
/* For one n: the selected (layer, head) pairs (model indices), a model that may hold
 * learned Linformer projections, `threads` workers (thread ids 0 .. threads−1).
 * ks: 16, 32, ... up to n/2 (n/2 alone when n < 32). 0 or -1 + msg. */
int lb_approx_init(lb_approx **out, const lb_ax_opts *o, const lb_model *m, int n, int nl,
                   const int *layers, int nh, const int *heads, int threads, char *msg,
                   size_t msglen);
void lb_approx_free(lb_approx *a);
/* Before window s's forward: mask (n) 1 real / 0 padding (NULL = all real). At the
 * first evaluation window the fitted projections are solved. 0 or -1 + msg. */
int lb_approx_window(lb_approx *a, long s, const float *mask, char *msg, size_t msglen);
/* One head of the current window, from the encoder's callback (thread `tid`):
 * probs (n, cols) with leading dimension cols — P itself (cols = n) or a Linformer
 * model's P̄ (cols = k); q, k, v (n, d). On return *P, *ldp are the full P (n, n):
 * probs itself, or for a Linformer model P recomputed from q, k without projection
 * (padding keys 0), in a buffer of the thread's that lives until its next call.
 * Fit windows accumulate PᵀP, evaluation windows measure every method. */
int lb_approx_head(lb_approx *a, int tid, int li, int hi, const float **P, int *ldp,
                   const float *probs, int cols, const float *q, const float *k, const float *v,
                   char *msg, size_t msglen);
/* Write the results of runs (one lb_approx per n, NULL entries skipped) next to PREFIX:
 *   PREFIX_approx.csv   n,layer,head,method,kind,attention,size,norm,err_mean,err_lo,
 *                       err_hi,err_q95,count,time_s,row_entropy,jl_pred,time_median_s,
 *                       flops
 *                       (per head; time_s: mean seconds per application to one head;
 *                       time_median_s: median of the LB_AX_TREPS timed runs per
 *                       held-out window, one thread, while other heads run on the
 *                       other threads — only as good as the machine was quiet;
 *                       flops: lb_ax_flops)
 *   PREFIX_approx_all.csv the same pooled over heads (layer = head = −1; the median
 *                       over every head's timed runs), plus k_bound_01, k_bound_02,
 *                       eps_bound
 *   PREFIX_theorem.csv  n,layer,head,k,eps,success,trials,p_lo,p_hi (Theorem 1's event
 *                       ‖P RᵀR w − Pw‖ < eps ‖Pw‖ per column w of V, over draws)
 *   PREFIX_kfit.csv     eps,norm,n,k_needed_mean,k_needed_max,k_bound, then the fit
 *                       k = a + b ln n over the analysed n: fit_a, fit_b (NaN < 2 n)
 *   PREFIX_learned_sv.csv n,layer,head,matrix,index,sigma (learned E, F; n columns)
 * The files are added to set (the spectrum run's output set, lb_outset.h), so they
 * appear with the run's other files or not at all. 0 or -1 + msg. */
typedef struct lb_outset lb_outset;
int lb_approx_write(lb_outset *set, lb_approx *const *runs, int nruns, const char *prefix, int argc,
                    char **argv, char *msg, size_t msglen);

/* ---- inputs shared by `linbench dump` and `linbench spectrum` (analysis/spectrum/spec_input.c) ---- */

/* The options both commands take; lb_spec_input_opt consumes one of them. */
typedef struct {
    const char *model_dir;  /* --model DIR (HuggingFace folder) */
    const char *text_path;  /* --text FILE (UTF-8; tokenizer from --tokenizer or DIR) */
    const char *ids_path;   /* --ids FILE (.npy or whitespace integers) */
    const char *tok_dir;    /* --tokenizer DIR (vocab.json + merges.txt); default model_dir */
    int byte_offset;        /* --byte-tokenizer OFFSET; -1 = not asked */
    int per_line;           /* --per-line: one document per line of text */
    long bos, eos, pad;     /* --bos/--eos/--pad; -1 = from the tokenizer or the model */
    lb_win_opts win;        /* --policy, --stride, --seed (n and max_count set per use) */
    int threads;            /* --threads; 0 = all */
    int forward_threads;    /* --forward-threads: encoder and its BLAS; 0 = threads */
    int quiet;              /* --quiet: no progress bar */
    long random_init;       /* --random-init SEED: the architecture with random weights
                               (lb_model_init_random), a control; -1 = the weights */
} lb_spec_input_opts;

void lb_spec_input_defaults(lb_spec_input_opts *o);
/* Handle option `name` (without "--") with value arg. Returns 1 if it was one of the
 * shared options (0 on success is then reported through *rc = 0, or *rc = EX_USAGE
 * with an error printed), 0 if the name is not a shared option. */
int lb_spec_input_opt(lb_spec_input_opts *o, const char *name, const char *arg, int *rc);
/* Usage lines of the shared options. */
void lb_spec_input_usage(FILE *f);

typedef struct {
    lb_model *model;
    lb_tokenizer *tok;   /* NULL for --ids */
    lb_docs docs;
    int bos, eos, pad;   /* the specials used for windows; bos, eos -1 for ready sequences */
    int max_n;           /* the longest n the position table allows */
    int threads;         /* resolved --threads (omp_get_max_threads() before any change) */
    int forward_threads;    /* resolved --forward-threads */
    lb_trained trained;     /* the lengths the model trained at (lb_trained_read) */
} lb_spec_input;

/* Load the model and the input documents; resolve the specials. Returns 0 or a
 * sysexits code with the error printed (missing folder, malformed files, no
 * tokenizer for text, specials past the vocabulary). */
int lb_spec_input_load(lb_spec_input *in, const lb_spec_input_opts *o);
void lb_spec_input_free(lb_spec_input *in);
/* The largest n the model's position table allows: max_pos − pad_id − 1 for
 * RoBERTa (positions start after the pad id), max_pos for BERT. */
int lb_spec_max_n(const lb_config *c);
/* Windows of length n over in->docs, at most max_count; policy text through
 * lb_windows_describe. Returns 0 or a sysexits code with the error printed. */
int lb_spec_windows(lb_windows **out, const lb_spec_input *in, const lb_spec_input_opts *o, int n,
                    long max_count);
/* The encoder options `dump` and `spectrum` run a model with: full attention, or a
 * Linformer-trained model's own learned E, F (lb_encoder_opts_for_model). Returns the
 * columns of the probabilities the encoder hands over: n, or the model's k (P-bar). */
int lb_spec_probs_cols(lb_encoder_opts *eo, const lb_spec_input *in, int n);
/* The approximation analysis of one n for `linbench spectrum` (analysis/spectrum/
 * approx.c; *out NULL when it is off and the model holds no learned projections):
 * the held-out windows are clipped to `windows`, the fit windows to what is left.
 * 0 or -1 + msg. */
int lb_spec_approx_init(lb_approx **out, const lb_ax_opts *o, const lb_spec_input *in, int n,
                        long windows, int nl, const int *layers, int nh, const int *heads,
                        char *msg, size_t msglen);
/* Parse a --layers/--heads subset ("all" or a list in [0, count)) into sel (count
 * flags) and the ascending list; returns the number selected or -1 (error printed). */
int lb_spec_subset(int *list, const char *s, int count, const char *what);

/* ---- `linbench spectrum` results and their files (analysis/spectrum/spectrum_out.c) ---- */

/* Everything measured at one sequence length n. */
typedef struct lb_spec_run_s {
    int n, index;               /* length; 1-based index of the "at index" statistics */
    int nl, nh;                 /* selected layers and heads */
    const int *layers, *heads;  /* (nl), (nh): model indices */
    lb_spec_acc *acc;           /* (nl, nh) */
    int nks;
    const int *ks;              /* (nks) projection sizes used at this n */
    lb_welford *pe;             /* (nl, nh, nks, LB_PE_COUNT) */
    long sequences, proj_sequences, windows_total;
    double tokens, real_tokens; /* all positions; positions with mask 1 */
    double forward_s, analysis_s;
    const char *policy;         /* lb_windows_describe */
} lb_spec_run;

/* The parameters recorded in PREFIX.json. */
typedef struct {
    const lb_spec_input_opts *io;
    const char *tokenizer;      /* lb_tokenizer_describe or "none (ids)" */
    long sequences, proj_sequences;
    int index_opt;              /* 0 = n/4 */
    int proj_k_given;           /* 0: default list capped at n */
    int threads, forward_threads;
    int ready;                  /* ready sequences (2-D ids): no policy, stride, bos, eos */
    int bos, eos, pad;          /* as used; -1 = not used (JSON null) */
    const lb_trained *trained;  /* NULL: not recorded in PREFIX.json */
} lb_spec_params;

/* The output files of a prefix, opened up front (so a bad path fails before the
 * work) and committed together at the end as one lb_outset (all or none appear; the
 * previous files stay until then):
 *   PREFIX.csv           n,layer,head,index,sigma_mean,sigma_std,energy_mean,energy_std,count
 *   PREFIX_layers.csv    the same pooled over the selected heads (head column absent)
 *   PREFIX_summary.csv   n,layer,head,count,index, then <stat>_mean,<stat>_std per stat
 *   PREFIX_vs_n.csv      the summary pooled over heads: per (n, layer), layer -1 = all
 *   PREFIX_projerr.csv   n,layer,head,k,method,mean,std,count
 *   PREFIX_projerr_all.csv n,k, then <method>_mean,<method>_std, count (pooled)
 *   PREFIX_windows.csv   every matrix's statistics (lb_spec_write_windows)
 *   PREFIX_controls.csv  the uniform and band controls (lb_spec_write_controls)
 *   PREFIX.json          metadata, parameters, per-n summaries, the file list
 * CSV files start with "# " comment lines (run metadata), then a header line. */
typedef struct lb_spec_out lb_spec_out;
int lb_spec_out_open(lb_spec_out **out, const char *prefix);
/* Write every file's content; then commit renames them all. abort removes the
 * temporaries (also after a failed write or commit). 0 or -1 (error printed). */
int lb_spec_out_write(lb_spec_out *o, const lb_spec_run *runs, int nruns, const lb_spec_params *p,
                      int argc, char **argv);
int lb_spec_out_commit(lb_spec_out *o);
/* The output set o writes into (more members may be added before the commit). */
lb_outset *lb_spec_out_set(lb_spec_out *o);
void lb_spec_out_abort(lb_spec_out *o);

/* Chan et al.'s pairwise combination: a += b. */
void lb_welford_merge(lb_welford *a, const lb_welford *b);

/* ---- `linbench spectrum` across MPI ranks (analysis/spectrum/spectrum_mpi.c) ---- */

/* Window s of a run belongs to rank s mod size: a fixed rule, so the window set does not
 * depend on the rank count, and ranks get equal shares of a sorted or padded corpus. */
int lb_spec_mine(long s);
/* Every rank hands its runs (the same n list, layers, heads and ks on every rank);
 * rank 0 ends with the merge of all ranks' accumulators, projection errors and
 * counters (in rank order), the others keep their own. A collective: every rank calls
 * it. 0, or -1 with msg. One rank: nothing to do. */
int lb_spec_runs_merge(lb_spec_run *runs, int nruns, char *msg, size_t msglen);

/* Command-line walking for both commands: argv[*i] must be "--name" or
 * "--name=value"; flags (a NULL-terminated list of names) take no value, any other
 * name takes the next argument (or the text after '='). Copies the name (without
 * "--") into name[namelen], sets *val (NULL for a flag) and advances *i past what it
 * used. Returns 0, or EX_USAGE with an error printed. */
int lb_spec_next_opt(int argc, char **argv, int *i, const char *const *flags, char *name,
                     size_t namelen, const char **val);

#endif
