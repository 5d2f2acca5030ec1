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
 *
 * Padding: mask is (B,n) with 1 for a real key and 0 for a padding key, or NULL when
 * every key is real. Full/stream: padding keys get probability exactly 0 (as
 * HuggingFace's additive most-negative-float mask gives after exp underflow).
 * Linformer: padding keys are removed before projection (E·diag(mask)·K,
 * F·diag(mask)·V) so padding never leaks into K̄, V̄.
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

typedef enum { LB_ATTN_FULL = 0, LB_ATTN_STREAM = 1, LB_ATTN_LINFORMER = 2 } lb_attn_method;
typedef enum {
    LB_SHARE_NONE = 0,
    LB_SHARE_HEADWISE = 1,
    LB_SHARE_KV = 2,
    LB_SHARE_LAYERWISE = 3
} lb_share;

typedef struct {
    lb_attn_method method;
    int B, H, n, d; /* batch, heads, sequence length, head dimension; all >= 1 */
    int k;          /* Linformer projected length, 1 <= k <= n; ignored otherwise */
    lb_share share; /* Linformer only */
    int threads;    /* worker threads (batch×heads in parallel); 0 = omp_get_max_threads() */
    int train;      /* 1: also size the workspace for lb_attn_backward (full, linformer) */
} lb_attn_cfg;

typedef struct lb_attn lb_attn; /* opaque: a copy of the cfg plus its workspace */

/* Names for the command line and result files: "full", "stream", "linformer";
 * "none", "headwise", "kv", "layerwise". Parse returns -1 for an unknown name. */
const char *lb_attn_method_name(lb_attn_method m);
int lb_attn_method_parse(const char *s, lb_attn_method *out);
const char *lb_share_name(lb_share s);
int lb_share_parse(const char *s, lb_share *out);

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
 * full/stream. */
size_t lb_attn_proj_elems(const lb_attn_cfg *cfg);

/* Floating-point operations of one forward call, counted as 2 per multiply-add of
 * the matrix products (QKᵀ, PV, and for Linformer EK, FV) — the softmax is not
 * counted. full/stream: 4·B·H·n²·d. linformer: 4·B·H·n·k·d (attention) +
 * 4·B·H·k·n·d (projections). */
double lb_attn_flops(const lb_attn_cfg *cfg);

/* Allocate the workspace (touched once, so timings exclude first-touch faults).
 * Returns 0, or -1 with a message in msg (bad cfg, or out of memory). */
int lb_attn_init(lb_attn **out, const lb_attn_cfg *cfg, char *msg, size_t msglen);
void lb_attn_free(lb_attn *a);

/* Validate the pointers of one lb_attn_forward call (same arguments): out, q, k, v
 * non-NULL; E, F non-NULL for linformer (ignored otherwise), F == E for KV/LAYERWISE;
 * probs NULL for stream. Returns 0, or -1 with a message naming the argument. */
int lb_attn_check_args(const lb_attn *a, const float *out, const float *probs, const float *q,
                       const float *k, const float *v, const float *E, const float *F,
                       char *msg, size_t msglen);

/* One call at a time per lb_attn (the workspace is shared by its threads); make one
 * lb_attn per concurrent caller.
 * out is (B,H,n,d); q, k, v are (B,H,n,d); mask is (B,n) or NULL; E, F as described
 * above (NULL for full/stream); probs, when not NULL, receives the attention
 * probabilities: (B,H,n,n) for full, (B,H,n,k) for linformer; stream must get NULL. */
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
