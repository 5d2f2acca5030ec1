/* attn_int: what the attention files share and nobody else sees. */
#ifndef LB_ATTN_INT_H
#define LB_ATTN_INT_H

#include <omp.h>
#include <stddef.h>

#include "lb_attn.h"

/* Streaming tile sizes: queries × keys per step. Br×Bc scores (128 KiB) plus the
 * Br×d accumulator stay in L2 while the K/V tiles stream through. */
#ifndef LB_STREAM_BR /* overridable with -D for tuning only */
#define LB_STREAM_BR 128
#endif
#ifndef LB_STREAM_BC
#define LB_STREAM_BC 256
#endif

/* The fused streaming tile (attn_stream_fused.c): LB_FUSED_BR queries per tile. */
#define LB_FUSED_BR 96
/* Which fused variant this CPU runs: 0 none (sgemm path), 1 AVX2+FMA, 2 AVX-512F. */
int lb_stream_fused_isa(void);
/* Tests only: make every later call use variant isa (0 = the sgemm path) when this
 * CPU has it; -1 otherwise. Not thread-safe: call before any attention runs. */
int lb_stream_fused_force(int isa);
/* Per-thread floats the fused tile needs for head size d. */
size_t lb_stream_fused_floats(int d);
/* 1 when lb_stream_fused_tile runs (does not refuse) for head size d given ws_floats of
 * per-thread workspace: a fused variant on this CPU, d a multiple of 16, room enough. */
int lb_stream_fused_fits(int d, size_t ws_floats);
/* One tile: o (br,d) = attention of q (br,d), br <= LB_FUSED_BR, over ext keys k and
 * values v whose rows are ldk and ldv floats apart, mb the key mask or NULL; ws holds
 * lb_stream_fused_floats(d). 0, or -1 when the fused path does not apply (no variant,
 * d not a multiple of 16): the caller then takes its sgemm path. */
int lb_stream_fused_tile(float *o, float *ws, const float *q, const float *k, int ldk, const float *v,
                         int ldv, const float *mb, int br, int d, int ext);

/* Linformer projects the keys in row chunks of this many rows, so that its packed
 * copy of K|V is O(chunk), not O(n). */
#define LB_LIN_CHUNK 512

/* Local attention (and scatterbrain's window) takes queries in blocks of this many
 * rows: about w, so that the block's key range (rows + 2w) wastes at most ~1.5×
 * beside the 2w+1 keys of a window, within 32..128 so sgemm has rows to work on. */
static inline int lb_local_rows(int w) { return w < 32 ? 32 : w > 128 ? 128 : w; }

/* The window radius that matters: min(w, n − 1) (w >= n − 1 sees every key). */
static inline int lb_local_clamp(int w, int n) { return w < n - 1 ? w : n - 1; }

/* Below this many flops a call runs on one thread: starting a team and its barriers
 * cost more than the work (and far more when the cores are oversubscribed and the
 * waiting threads spin). 1 MFLOP is ~10 µs of sgemm. */
#define LB_SMALL_FLOPS 1e6

struct lb_attn {
    lb_attn_cfg cfg;
    int threads;      /* resolved: cfg.threads or omp_get_max_threads(); sizes the slots */
    int run_threads;  /* threads a call uses: 1 below LB_SMALL_FLOPS, else threads */
    float *ws;        /* workspace, lb_alloc_big, touched */
    size_t ws_bytes;
    size_t ws_thread; /* floats per thread in the per-thread part */
};

/* Workspace layout, in floats; returns -1 on size_t overflow. shared = floats used by
 * all threads together (Linformer's packed K|V and projections), per_thread = floats
 * each thread owns. Total = shared + threads·per_thread. */
int lb_attn_layout(const lb_attn_cfg *cfg, int threads, size_t *shared, size_t *per_thread);

/* Linformer with a shared E splits the 2·H·d packed K|V columns into chunks of this
 * many (a multiple of 16), one per thread. */
size_t lb_lin_colchunk(const lb_attn_cfg *cfg, int threads);

/* Floats of per-thread scratch lb_attn_backward needs for cfg (full, linformer);
 * -1 on size_t overflow. lb_attn_layout takes the max with the forward's when
 * cfg->train. */
int lb_attn_backward_per_thread(const lb_attn_cfg *cfg, size_t *per_thread);

/* The kernels; arguments already checked. */
void lb_attn_full_run(lb_attn *a, float *out, float *probs, const float *q, const float *k,
                      const float *v, const float *mask);
void lb_attn_stream_run(lb_attn *a, float *out, const float *q, const float *k, const float *v,
                        const float *mask);
void lb_attn_materialise_run(lb_attn *a, float *out, float *probs, const float *q, const float *k,
                             const float *v, const float *mask);
void lb_attn_linformer_run(lb_attn *a, float *out, float *probs, const float *q, const float *k,
                           const float *v, const float *mask, const float *E, const float *F);

void lb_attn_local_run(lb_attn *a, float *out, const float *q, const float *k, const float *v,
                       const float *mask);
void lb_attn_nystrom_run(lb_attn *a, float *out, const float *q, const float *k,
                         const float *v, const float *mask);
void lb_attn_performer_run(lb_attn *a, float *out, const float *q, const float *k,
                           const float *v, const float *mask);
void lb_attn_scatterbrain_run(lb_attn *a, float *out, const float *q, const float *k,
                              const float *v, const float *mask);

/* Floats of per-thread workspace of the approximate methods (local .. scatterbrain),
 * and of the shared part (the features ω); -1 on size_t overflow. */
int lb_attn_approx_layout(const lb_attn_cfg *cfg, size_t *shared, size_t *per_thread);

/* Performer's positive features of rows x (r,d) into phi (r,m): phi_il =
 * exp(t_il − c), t_il = ω_lᵀx_i/d^¼ − ‖x_i‖²/(2√d), for rows with mask[i] != 0 (mask
 * NULL = all real); other rows are 0. per_row = 0 (keys): c = max of t over all real
 * rows and l, returned in cmax[0]. per_row = 1 (queries): c_i per row, returned in
 * cmax[i]: max_l t_il, or with lks (m) = log Σ_j φ(k_j) given, max(max_l (t_il +
 * lks_l), max_l t_il − 80), which makes the row's normaliser φ(q_i)ᵀΣφ(k) >= 1
 * (no division by an underflowed sum) while no feature exceeds e^80. Returns the
 * number of real rows. */
int lb_performer_phi(float *phi, float *cmax, const float *x, const float *mask,
                     const float *omega, const float *lks, int r, int m, int d, int per_row);

/* Stabilised Σ_j φ(k_j) v_jᵀ into kv (m,d) and Σ_j φ(k_j) into ksum (m), over the
 * first ext rows of phik (ext,m) and v (ext,d). */
void lb_performer_kv(float *kv, float *ksum, const float *phik, const float *v, int ext, int m,
                     int d);

/* First thing inside a parallel region of tp threads over items (heads, tiles) when T
 * threads are the call's: with one item at a time (tp == 1: too few items to go round)
 * the T threads go to BLAS and to the rows instead. Returns the threads for the rows:
 * T then, else 1. The ICV it sets is local to the region. */
static inline int lb_attn_region_threads(int tp, int T) {
    if (tp != 1) return 1;
    omp_set_num_threads(T);
    return T;
}

/* One (b,h) of an approximate method: o (n,d) its output, ws the calling thread's
 * per-thread workspace, q, k, v (n,d) its inputs, mb (n) its batch element's mask row
 * or NULL, ext its key extent (>= 1: a head without a real key never gets here). */
typedef void lb_attn_head_fn(const lb_attn *a, float *o, float *ws, const float *q,
                             const float *k, const float *v, const float *mb, int ext);

/* head over the B·H heads of (B,H,n,d) q, k, v into out, in parallel over heads; with
 * fewer heads than threads, one head at a time and the threads go to BLAS. Each
 * thread's workspace follows the shared part of the layout; a head whose every key
 * is padding is set to 0 without a call. */
void lb_attn_each_head(lb_attn *a, float *out, const float *q, const float *k, const float *v,
                       const float *mask, lb_attn_head_fn *head);

/* The index of the first of ptrs[0..n) that is NULL; -1 when none is. */
int lb_attn_first_null(const void *const *ptrs, int n);

/* Under kv and layerwise sharing one matrix serves both projections: 0 when F == E
 * there (or the sharing has two), else -1 with the reason in msg. */
int lb_attn_check_alias(const lb_attn *a, const float *E, const float *F, char *msg,
                        size_t msglen);

/* Keys that matter for one batch element: 1 + the index of the last real key (0 when
 * every key is padding); keys past it are all padding. mask is (n) or NULL. */
int lb_attn_key_extent(const float *mask, int n);

/* row (len) in place → softmax over the real keys (mask[j] != 0; mask NULL = all
 * real), padding keys exactly 0; a row with no real key becomes all 0. */
void lb_softmax_row(float *row, int len, const float *mask);

/* One online-softmax step on a row of len scores (in place → exp(s − m_new), padding
 * 0). *m is the running max (−inf before the first real key), *l the running sum;
 * both updated. Returns the factor exp(m_old − m_new) the accumulator must be
 * multiplied by before adding this tile's P·V (1 while no real key has been seen). */
float lb_softmax_online_row(float *row, int len, const float *mask, float *m, float *l);


#endif
