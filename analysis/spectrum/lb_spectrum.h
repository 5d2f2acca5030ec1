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
    int bos, eos, pad;   /* the specials used for windows */
    int max_n;           /* the longest n the position table allows */
    int threads;         /* resolved --threads (omp_get_max_threads() before any change) */
    int forward_threads;    /* resolved --forward-threads */
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
/* Parse a --layers/--heads subset ("all" or a list in [0, count)) into sel (count
 * flags) and the ascending list; returns the number selected or -1 (error printed). */
int lb_spec_subset(int *list, const char *s, int count, const char *what);

/* ---- `linbench spectrum` results and their files (analysis/spectrum/spectrum_out.c) ---- */

/* Everything measured at one sequence length n. */
typedef struct {
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
    int bos, eos, pad;
} lb_spec_params;

/* The output files of a prefix, opened up front (so a bad path fails before the
 * work) and committed together at the end:
 *   PREFIX.csv           n,layer,head,index,sigma_mean,sigma_std,energy_mean,energy_std,count
 *   PREFIX_layers.csv    the same pooled over the selected heads (head column absent)
 *   PREFIX_summary.csv   n,layer,head,count,index, then <stat>_mean,<stat>_std per stat
 *   PREFIX_vs_n.csv      the summary pooled over heads: per (n, layer), layer -1 = all
 *   PREFIX_projerr.csv   n,layer,head,k,method,mean,std,count
 *   PREFIX_projerr_all.csv n,k, then <method>_mean,<method>_std, count (pooled)
 *   PREFIX.json          metadata, parameters, per-n summaries, the file list
 * CSV files start with "# " comment lines (run metadata), then a header line. */
typedef struct lb_spec_out lb_spec_out;
int lb_spec_out_open(lb_spec_out **out, const char *prefix);
/* Write every file's content; then commit renames them all. abort removes the
 * temporaries (also after a failed write or commit). 0 or -1 (error printed). */
int lb_spec_out_write(lb_spec_out *o, const lb_spec_run *runs, int nruns, const lb_spec_params *p,
                      int argc, char **argv);
int lb_spec_out_commit(lb_spec_out *o);
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
