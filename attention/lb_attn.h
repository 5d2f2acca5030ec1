/* lb_attn: float32 multi-head attention kernels.
 *
 * Layout: q, k, v and out are (B,H,n,d) row-major, d contiguous, one tensor per
 * argument. Argument order everywhere: outputs first, then inputs, then sizes.
 *
 *   full (materialised)  S = QKᵀ/√d with cblas_sgemm, stable row softmax, O = P V.
 *                        Workspace: one n×n score block per worker thread
 *                        (min(threads, B·H) blocks).
 *   stream               tiled, online softmax (FlashAttention recurrence); never
 *                        holds an n×n matrix. Workspace threads × (128×256 scores
 *                        + 2×128 running max/sum), independent of n.
 *   linformer            K̄ = E K, V̄ = F V with E, F (k,n); then attention of the n
 *                        queries over the k projected keys. Cost O(n k d).
 *                        Workspace: B·k·2Hd projected keys/values, plus per thread
 *                        n×k scores and a 512-row chunk of packed keys.
 *   materialise          as PyTorch/HuggingFace attention did in 2020 (the paper's
 *                        Table 3 baseline): the whole (B,H,n,n) score tensor, then a
 *                        second (B,H,n,n) probability tensor, then O = P V. Workspace
 *                        2·B·H·n² floats; forward only (train = 1 is refused).
 *
 *   local                sliding window, CENTRED: query i attends to the real keys j
 *                        with |i − j| <= w (w = cfg.k >= 0, at most 2w+1 keys; w >= n−1
 *                        is full attention). Blocks of `rows` = min(max(w, 32), 128)
 *                        queries take their scores against the key range their windows
 *                        cover by sgemm; entries outside a row's window are set to 0.
 *                        Workspace per thread: rows × min(n, rows + 2w) scores.
 *   nystrom              Nyströmformer (Xiong et al. 2021) without its convolution
 *                        skip: m = cfg.k landmarks Q̃, K̃ (m,d) = means of Q, K over m
 *                        contiguous segments of the REAL keys (segment l holds the real
 *                        keys of rank floor(l·r/m) .. floor((l+1)·r/m) − 1 among the r
 *                        real keys; m is cut to r when r < m). Output
 *                        softmax(QK̃ᵀ/√d) · Z · (softmax(Q̃Kᵀ/√d) V), Z = the iterative
 *                        pseudo-inverse of Ã = softmax(Q̃K̃ᵀ/√d): Z₀ = Ãᵀ/(‖Ã‖₁‖Ã‖∞),
 *                        Z ← ¼ Z (13I − ÃZ(15I − ÃZ(7I − ÃZ))), cfg.iters times (0 = 6,
 *                        the paper's). m = n with enough iterations is full attention.
 *                        Workspace per thread: 2·n·m + 5·m² + 4·m·d floats.
 *   performer            FAVOR+ (Choromanski et al. 2020) with positive orthogonal random
 *                        features: φ(x)_l = exp(ω_lᵀx − ‖x‖²/2)/√m on x = q/d^¼, k/d^¼,
 *                        so E[φ(q)ᵀφ(k)] = exp(qᵀk/√d); out_i = φ(q_i)ᵀ(Σ_j φ(k_j) v_jᵀ) /
 *                        φ(q_i)ᵀ(Σ_j φ(k_j)), sums over real keys. ω (m,d), m = cfg.k, is
 *                        drawn once by lb_attn_init from cfg.seed (lb_attn_performer_features)
 *                        and shared by every batch element and head. Stabilised: the
 *                        keys' features are divided by their max over the real keys of
 *                        a head, each query's by a factor that makes the largest term of
 *                        its normaliser 1 (both cancel in the ratio; no overflow, and no
 *                        division by an underflowed sum). Workspace: m·d shared, per
 *                        thread 2·n·m + m·(d+2) + n.
 *   scatterbrain         sparse + low-rank in the manner of Scatterbrain (Chen et al.
 *                        2021), with a local window instead of LSH as the sparse part:
 *                        the unnormalised attention exp(QKᵀ/√d) is approximated by the
 *                        Performer estimate φ(Q)φ(K)ᵀ (m = cfg.k features, ω as for
 *                        performer) everywhere, corrected to the exact exp(q_iᵀk_j/√d) on
 *                        the centred window |i − j| <= w (w = cfg.window); rows are then
 *                        normalised by the same approximation's row sums. So entries
 *                        inside the window are exact and the remainder is rank <= m;
 *                        w >= n−1 is full attention. Workspace: as performer plus per
 *                        thread 2 × rows × min(n, rows + 2w) (exact and low-rank
 *                        scores of one query block).
 * The four approximate methods have no backward and no probabilities (probs must be
 * NULL); E, F are ignored. For one head's Q, K, V of shape (n,d) use B = H = 1.
 *
 * Padding: mask is (B,n) with 1 for a real key and 0 for a padding key, or NULL when
 * every key is real. Full/stream: padding keys get probability exactly 0 (as
 * HuggingFace's additive most-negative-float mask gives after exp underflow).
 * Linformer: padding keys are removed before projection (E·diag(mask)·K,
 * F·diag(mask)·V) so padding never leaks into K̄, V̄.
 * Local: a query whose window holds no real key gets a zero row (it happens inside a
 * sequence with holes, not only when every key is padding). Nyström: landmarks are
 * made of real positions only (queries and keys at padding positions never enter
 * Q̃, K̃) and B̃'s softmax skips padding keys. Performer and scatterbrain: padding keys
 * are left out of Σ φ(k_j)v_jᵀ, Σ φ(k_j), the key stabiliser and the window.
 * Every method gives outputs for padding query rows too (attending to the real keys).
 * A query row whose keys are all padding gets a zero output row (and zero probs).
 * A key is padding exactly when its mask value is 0; any other value counts as real
 * (Linformer multiplies by this 0/1 indicator, not by the raw mask value).
 *
 * Sharing (Linformer §4) decides how many projections exist:
 *   LB_SHARE_NONE      E, F are (H,k,n): one per head (and per layer, at model level)
 *   LB_SHARE_HEADWISE  E, F are (k,n): one pair for all heads of a layer
 *   LB_SHARE_KV        E is (k,n) and F must equal E: one matrix per layer
 *   LB_SHARE_LAYERWISE as KV inside one layer; the model shares it across layers
 * With a shared E the kernel projects all heads of a batch element in one GEMM
 * (E · [K_1 … K_H]), and with E == F it projects K and V together.
 *
 * Checks stay on in release builds: lb_attn_init validates the configuration and
 * returns a message; lb_attn_check_args validates the pointers of one call, and
 * lb_attn_forward runs it and aborts with its message on a programming error.
 *
 * Threads: batch×heads run in parallel with single-threaded BLAS inside the region
 * (the OpenMP OpenBLAS build does that by itself); when B·H < threads the heads run
 * one after another with multi-threaded BLAS instead; a call of under 1 MFLOP runs
 * on one thread (a team costs more than the work). exp in the softmax is a
 * vectorised float approximation (< 1 ulp; NaN in, NaN out; e^x for x <= -104 is 0).
 */
#ifndef LB_ATTN_H
#define LB_ATTN_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LB_ATTN_FULL = 0,
    LB_ATTN_STREAM = 1,
    LB_ATTN_LINFORMER = 2,
    LB_ATTN_LOCAL = 3,       /* k = window radius w */
    LB_ATTN_NYSTROM = 4,     /* k = landmarks m */
    LB_ATTN_PERFORMER = 5,   /* k = random features m */
    LB_ATTN_SCATTERBRAIN = 6, /* k = random features m, window = radius w */
    LB_ATTN_MATERIALISE = 7   /* the 2020 baseline: (B,H,n,n) scores and probs held whole */
} lb_attn_method;
#define LB_ATTN_NMETHODS 8 /* methods are 0 .. LB_ATTN_NMETHODS − 1 */
typedef enum {
    LB_SHARE_NONE = 0,
    LB_SHARE_HEADWISE = 1,
    LB_SHARE_KV = 2,
    LB_SHARE_LAYERWISE = 3
} lb_share;

typedef struct {
    lb_attn_method method;
    int B, H, n, d; /* batch, heads, sequence length, head dimension; all >= 1 */
    int k;          /* the method's size: Linformer's projected length (1 <= k <= n),
                     * local's window radius w (>= 0), Nyström's landmarks (1 <= m <= n),
                     * performer's and scatterbrain's random features (1 <= m <= 65536);
                     * ignored by full and stream */
    lb_share share; /* Linformer only */
    int threads;    /* worker threads (batch×heads in parallel); 0 = omp_get_max_threads() */
    int train;      /* 1: also size the workspace for lb_attn_backward (full, linformer) */
    int iters;      /* Nyström pseudo-inverse iterations, 0 = 6 (the paper's); <= 100 */
    int window;     /* scatterbrain window radius w >= 0 */
    uint64_t seed;  /* performer/scatterbrain: seed of the random features ω */
} lb_attn_cfg;

typedef struct lb_attn lb_attn; /* opaque: a copy of the cfg plus its workspace */

/* Names for the command line and result files: "full", "stream", "linformer",
 * "local", "nystrom", "performer", "scatterbrain", "materialise";
 * "none", "headwise", "kv", "layerwise". Parse returns -1 for an unknown name. */
const char *lb_attn_method_name(lb_attn_method m);
int lb_attn_method_parse(const char *s, lb_attn_method *out);
const char *lb_share_name(lb_share s);
int lb_share_parse(const char *s, lb_share *out);
/* Which inner kernel streaming attention runs on this CPU for a d that is a multiple
 * of 16 (LB_ATTN_FUSED, see attn_stream_fused.c): "fused-avx2", "fused-avx512" or
 * "sgemm" (other d always take "sgemm"). Results record it beside their timings. */
const char *lb_attn_stream_kernel(void);
/* The methods cfg.k sizes (Linformer's k; the approximations' w or m), as a bit mask
 * (bit m set for method m): not full, stream or materialise, which have no k, so a
 * benchmark grid over k runs them once. */
int lb_attn_sized_methods(void);

/* Validate cfg. Returns 0, or -1 and writes a message naming the field and what was
 * expected into msg (e.g. "k = 600 exceeds n = 512"). */
int lb_attn_check(const lb_attn_cfg *cfg, char *msg, size_t msglen);

/* Bytes of workspace lb_attn_init allocates for cfg (the analytic extra memory);
 * threads = 0 counts omp_get_max_threads() now. With cfg->train the per-thread part
 * is the larger of the forward's and the backward's scratch: full needs no more
 * (n×n either way); linformer's backward needs per thread n·(2d + k) + 4·k·d floats
 * plus two dE/dF partials of lb_attn_proj_elems(cfg) floats each. Count it with the
 * thread count the handle will really use. SIZE_MAX if it overflows (a cfg that
 * lb_attn_check rejects). */
size_t lb_attn_workspace_bytes(const lb_attn_cfg *cfg);

/* Elements of E (and of F) that cfg needs: H·k·n for NONE, k·n otherwise, 0 for
 * every method but linformer. */
size_t lb_attn_proj_elems(const lb_attn_cfg *cfg);

/* Floating-point operations of one forward call, counted as 2 per multiply-add of
 * the matrix products (QKᵀ, PV, and for Linformer EK, FV) — the softmax is not
 * counted. full/stream: 4·B·H·n²·d. linformer: 4·B·H·n·k·d (attention) +
 * 4·B·H·k·n·d (projections). With no padding (the counts do not depend on the mask),
 * c = min(w, n−1) and W = n(2c+1) − c(c+1) the (query, key) pairs of a centred window:
 *   local         4·B·H·W·d (scores and P·V inside the windows; the kernel's block
 *                 rectangles compute up to ~1.5–3× more, not counted)
 *   nystrom       B·H·(8·n·m·d + 4·m²·d + 8·iters·m³): QK̃ᵀ, Q̃Kᵀ, B̃V, F̃(ZW) are
 *                 2nmd each, Q̃K̃ᵀ and ZW 2m²d each, one iteration four m×m products
 *   performer     B·H·(8·n·m·d + 4·n·m): Qωᵀ, Kωᵀ, φ(K)ᵀV, φ(Q)(·) 2nmd each, the two
 *                 normaliser products 2nm each (exp not counted)
 *   scatterbrain  performer's + B·H·W·(4·d + 2·m): exact scores and C·V on the window,
 *                 and the low-rank estimate φ(q_i)ᵀφ(k_j) there to subtract */
double lb_attn_flops(const lb_attn_cfg *cfg);

/* Allocate the workspace (touched once, so timings exclude first-touch faults).
 * Returns 0, or -1 with a message in msg (bad cfg, or out of memory). */
int lb_attn_init(lb_attn **out, const lb_attn_cfg *cfg, char *msg, size_t msglen);
void lb_attn_free(lb_attn *a);

/* The random features ω (k,d) a draws for performer/scatterbrain (row l is ω_l), the
 * same for every call; NULL for the other methods. */
const float *lb_attn_features(const lb_attn *a);
/* Redraw a's random features from seed, as lb_attn_init would with cfg.seed = seed
 * (same ω bit for bit), without reallocating: for callers that need a fresh draw per
 * input (linbench spectrum's D draws per window). No-op for the other methods.
 * 0, or -1 when out of memory (ω is then unspecified). */
int lb_attn_reseed(lb_attn *a, uint64_t seed);

/* Draw positive orthogonal random features ω (m,d): blocks of d rows (the last block
 * cut to m mod d), each block the Gram–Schmidt orthonormalisation of a d×d Gaussian
 * matrix, each row then scaled by the norm of an independent N(0, I_d) vector, so
 * that every row is marginally N(0, I_d) (unbiased) and rows within a block are
 * exactly orthogonal (lower variance). Deterministic in seed. Returns 0, or -1 when
 * out of memory (d doubles of scratch). */
int lb_attn_performer_features(float *omega, int m, int d, uint64_t seed);

/* Validate the pointers of one lb_attn_forward call (same arguments): out, q, k, v
 * non-NULL; E, F non-NULL for linformer (ignored otherwise), F == E for KV/LAYERWISE;
 * probs NULL for every method but full and linformer. Returns 0, or -1 with a
 * message naming the argument. */
int lb_attn_check_args(const lb_attn *a, const float *out, const float *probs, const float *q,
                       const float *k, const float *v, const float *E, const float *F,
                       char *msg, size_t msglen);

/* One call at a time per lb_attn (the workspace is shared by its threads); make one
 * lb_attn per concurrent caller.
 * out is (B,H,n,d); q, k, v are (B,H,n,d); mask is (B,n) or NULL; E, F as described
 * above (NULL for the other methods); probs, when not NULL, receives the attention
 * probabilities: (B,H,n,n) for full and materialise, (B,H,n,k) for linformer; the
 * other methods must get NULL. */
void lb_attn_forward(lb_attn *a, float *out, float *probs, const float *q, const float *k,
                     const float *v, const float *mask, const float *E, const float *F);

/* Backward of lb_attn_forward (full and linformer; stream has none: training uses
 * full or linformer, and lb_attn_check rejects train = 1 with stream). a must have
 * been made with cfg.train = 1 (the workspace then holds the backward's scratch too;
 * lb_attn_workspace_bytes counts it); otherwise this aborts with a message, as
 * lb_attn_forward does on a programming error.
 *   dq, dk, dv (B,H,n,d)  OVERWRITTEN with d(loss)/dq, /dk, /dv.
 *   dE, dF  shapes as E, F: ACCUMULATED (+=), so heads and layers sharing one matrix
 *           sum their gradients; NULL for full. dE == dF is allowed (E == F for
 *           kv/layerwise): both contributions are added into it.
 *   dout (B,H,n,d)  d(loss)/d(out); q, k, v, mask, E, F exactly as given to forward.
 *   probs  the probabilities the forward returned for these inputs: (B,H,n,n) for
 *          full, (B,H,n,k) for linformer. The caller keeps them (they are not saved
 *          inside a: one lb_attn serves every layer of a model).
 * Padding keys get zero dk, dv (and zero columns of dE, dF). Linformer recomputes
 * K̄ = E·diag(m)·K and V̄ = F·diag(m)·V. Heads run in parallel with sgemm inside;
 * dE/dF are summed through per-thread partials added in thread order, so the result
 * is bit-for-bit reproducible for a given cfg (thread count included). */
void lb_attn_backward(lb_attn *a, float *dq, float *dk, float *dv, float *dE, float *dF,
                      const float *dout, const float *q, const float *k, const float *v,
                      const float *mask, const float *E, const float *F, const float *probs);

/* Plain scalar references (double accumulation, no BLAS, no threads), the tests'
 * oracle next to each fast kernel. Same shapes and conventions as above; exp is the
 * C library's double exp. lb_attn_stream_ref runs the online-softmax recurrence over
 * key tiles of `tile` keys (tile >= 1). */
void lb_attn_full_ref(float *out, float *probs, const float *q, const float *k, const float *v,
                      const float *mask, int B, int H, int n, int d);
void lb_attn_stream_ref(float *out, const float *q, const float *k, const float *v,
                        const float *mask, int B, int H, int n, int d, int tile);
void lb_attn_linformer_ref(float *out, float *probs, const float *q, const float *k,
                           const float *v, const float *mask, const float *E, const float *F,
                           int B, int H, int n, int d, int kp, lb_share share);
/* The materialising definition: all scores, then all probabilities, then P·V. */
void lb_attn_materialise_ref(float *out, float *probs, const float *q, const float *k,
                             const float *v, const float *mask, int B, int H, int n, int d);

/* Scalar references of the approximate methods, same conventions (out (B,H,n,d),
 * q, k, v (B,H,n,d), mask (B,n) or NULL), in double with the C library's exp. w is
 * the window radius (any w >= 0), m the landmarks/features, iters the Nyström
 * iterations (>= 0 here: no default), omega (m,d) the features the kernel uses
 * (lb_attn_features, or lb_attn_performer_features with the same seed). The
 * performer/scatterbrain references scale each weight by exp(−a_i − b), b the keys'
 * max feature exponent, a_i the query's (scatterbrain: or its window's max score − b,
 * if larger): nothing changes in exact arithmetic, and exp stays finite in double. */
void lb_attn_local_ref(float *out, const float *q, const float *k, const float *v,
                       const float *mask, int B, int H, int n, int d, int w);
void lb_attn_nystrom_ref(float *out, const float *q, const float *k, const float *v,
                         const float *mask, int B, int H, int n, int d, int m, int iters);
void lb_attn_performer_ref(float *out, const float *q, const float *k, const float *v,
                           const float *mask, const float *omega, int B, int H, int n, int d,
                           int m);
void lb_attn_scatterbrain_ref(float *out, const float *q, const float *k, const float *v,
                              const float *mask, const float *omega, int B, int H, int n,
                              int d, int m, int w);

/* Scalar references of lb_attn_backward, all in double (probabilities recomputed in
 * double from q, k, v rather than taken from a forward). Same conventions: dq, dk, dv
 * overwritten, dE, dF accumulated (may be the same pointer). */
void lb_attn_full_backward_ref(float *dq, float *dk, float *dv, const float *dout,
                               const float *q, const float *k, const float *v,
                               const float *mask, int B, int H, int n, int d);
void lb_attn_linformer_backward_ref(float *dq, float *dk, float *dv, float *dE, float *dF,
                                    const float *dout, const float *q, const float *k,
                                    const float *v, const float *mask, const float *E,
                                    const float *F, int B, int H, int n, int d, int kp,
                                    lb_share share);

#endif
