/* lb_attn: configuration checks, workspace layout, init/free and dispatch. */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attn_int.h"
#include "lb_util.h"

#define LB_WS_LIMIT ((size_t)1 << 40) /* 1 TiB: anything larger is a typo */

static size_t round16(size_t x) { return (x + 15) & ~(size_t)15; }

size_t lb_lin_colchunk(const lb_attn_cfg *cfg, int threads) {
    size_t w = 2 * (size_t)cfg->H * (size_t)cfg->d;
    return round16((w + (size_t)threads - 1) / (size_t)threads);
}

static int resolve_threads(const lb_attn_cfg *cfg) {
    return cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
}

static int approx(lb_attn_method m) { return m >= LB_ATTN_LOCAL && m <= LB_ATTN_SCATTERBRAIN; }

/* Threads that get a workspace slot: those that work on whole heads get no more than
 * there are heads. */
static int slots(const lb_attn_cfg *cfg, int threads) {
    if (cfg->method == LB_ATTN_FULL || approx(cfg->method)) {
        long bh = (long)cfg->B * cfg->H;
        return bh < threads ? (int)bh : threads;
    }
    return threads;
}

int lb_attn_layout(const lb_attn_cfg *cfg, int threads, size_t *shared, size_t *per_thread) {
    size_t n = (size_t)cfg->n, d = (size_t)cfg->d, sh = 0, pt = 0, t;
    switch (cfg->method) {
    case LB_ATTN_FULL:
        if (lb_mul_size(&pt, n, n)) return -1;
        break;
    case LB_ATTN_STREAM:
        /* scores Br×Bc, running max and sum; the output rows are the accumulator */
        pt = (size_t)LB_STREAM_BR * LB_STREAM_BC + 2 * LB_STREAM_BR;
        break;
    case LB_ATTN_MATERIALISE: /* the (B,H,n,n) scores and probabilities, both held */
        if (lb_mul3_size(&sh, (size_t)cfg->B * (size_t)cfg->H, n, n) || lb_mul_size(&sh, sh, 2))
            return -1;
        break;
    case LB_ATTN_LINFORMER: {
        size_t kp = (size_t)cfg->k, hd2 = 2 * (size_t)cfg->H * d;
        /* projected K̄|V̄ of every batch element: B × k × 2Hd */
        if (lb_mul3_size(&sh, (size_t)cfg->B, kp, hd2)) return -1;
        /* per thread: scores n×k, and a chunk of packed keys: CHUNK × max(2d, the
         * thread's share of the 2Hd columns) */
        size_t cw = lb_lin_colchunk(cfg, threads);
        if (cw < 2 * d) cw = 2 * d;
        if (lb_mul_size(&pt, n, kp) || lb_mul_size(&t, LB_LIN_CHUNK, cw) || pt + t < pt)
            return -1;
        pt += t;
        break;
    }
    default:
        if (lb_attn_approx_layout(cfg, &sh, &pt)) return -1;
        break;
    }
    if (cfg->train && (cfg->method == LB_ATTN_FULL || cfg->method == LB_ATTN_LINFORMER)) {
        /* the backward reuses the same per-thread slots for its own scratch */
        size_t bt;
        if (lb_attn_backward_per_thread(cfg, &bt)) return -1;
        if (bt > pt) pt = bt;
    }
    *shared = round16(sh);
    *per_thread = round16(pt); /* 64-byte slots: no false sharing between threads */
    return *shared < sh || *per_thread < pt ? -1 : 0;
}

/* Local, Nyström, Performer, scatterbrain (the formulas are stated in lb_attn.h). */
int lb_attn_approx_layout(const lb_attn_cfg *cfg, size_t *shared, size_t *per_thread) {
    size_t n = (size_t)cfg->n, d = (size_t)cfg->d, m = (size_t)cfg->k, a, b, c;
    int w = cfg->method == LB_ATTN_SCATTERBRAIN ? cfg->window : cfg->k;
    w = lb_local_clamp(w < 0 ? 0 : w, cfg->n);
    size_t rows = (size_t)lb_local_rows(w), span = rows + 2 * (size_t)w;
    if (span > n) span = n;
    size_t band = rows * span; /* one block's scores */
    *shared = 0;
    switch (cfg->method) {
    case LB_ATTN_LOCAL: *per_thread = band; return 0;
    case LB_ATTN_NYSTROM: /* F̃ (n×m), B̃ (m×n); Ã, Z and three m×m temporaries; Q̃, K̃, W, Y */
        if (lb_mul3_size(&a, 2, n, m) || lb_mul3_size(&b, 5, m, m) || lb_mul3_size(&c, 4, m, d))
            return -1;
        *per_thread = a + b + c;
        return *per_thread < a || *per_thread - a < b ? -1 : 0;
    case LB_ATTN_PERFORMER:
    case LB_ATTN_SCATTERBRAIN:
        /* ω (m×d) shared; φ(Q), φ(K) (n×m), Σφ(k)vᵀ (m×d), Σφ(k) and its log (m),
         * per-row scales (n) */
        if (lb_mul_size(shared, m, d) || lb_mul3_size(&a, 2, n, m) || lb_mul_size(&b, m, d + 2))
            return -1;
        c = cfg->method == LB_ATTN_SCATTERBRAIN ? 2 * band : 0; /* exact and low-rank scores */
        *per_thread = a + b + n + c;
        return *per_thread < a ? -1 : 0;
    default: return -1;
    }
}

static int total_floats(const lb_attn_cfg *cfg, int threads, size_t *out) {
    size_t sh, pt, all;
    if (lb_attn_layout(cfg, threads, &sh, &pt)) return -1;
    if (lb_mul_size(&all, pt, (size_t)slots(cfg, threads)) || all + sh < all) return -1;
    *out = all + sh;
    return 0;
}

/* The sizes of local .. scatterbrain. */
static int check_approx(const lb_attn_cfg *cfg, char *msg, size_t msglen) {
    const char *what = cfg->method == LB_ATTN_LOCAL     ? "window radius w"
                       : cfg->method == LB_ATTN_NYSTROM ? "landmarks m"
                                                        : "random features m";
    int lo = cfg->method == LB_ATTN_LOCAL ? 0 : 1;
    int hi = cfg->method == LB_ATTN_LOCAL ? INT_MAX : cfg->method == LB_ATTN_NYSTROM ? cfg->n
                                                                                     : 65536;
    if (cfg->k < lo || cfg->k > hi) {
        if (cfg->method == LB_ATTN_NYSTROM)
            snprintf(msg, msglen, "k = %d (%s): expected 1 <= m <= n = %d", cfg->k, what, cfg->n);
        else
            snprintf(msg, msglen, "k = %d (%s): expected %d <= k <= %d", cfg->k, what, lo, hi);
        return -1;
    }
    if (cfg->method == LB_ATTN_NYSTROM && (cfg->iters < 0 || cfg->iters > 100)) {
        snprintf(msg, msglen, "iters = %d: expected 0 (the default, 6) to 100", cfg->iters);
        return -1;
    }
    if (cfg->method == LB_ATTN_SCATTERBRAIN && cfg->window < 0) {
        snprintf(msg, msglen, "window = %d: expected a window radius >= 0", cfg->window);
        return -1;
    }
    return 0;
}

/* The fields one by one: method, sizes, threads, train, the method's own parameters. */
static int check_fields(const lb_attn_cfg *cfg, char *msg, size_t msglen) {
    if ((unsigned)cfg->method >= LB_ATTN_NMETHODS) {
        snprintf(msg, msglen, "method = %d: expected full, stream, linformer, local, nystrom, "
                 "performer, scatterbrain or materialise", (int)cfg->method);
        return -1;
    }
    const struct { const char *name; int v; } sz[] = {
        {"B (batch)", cfg->B}, {"H (heads)", cfg->H}, {"n (sequence length)", cfg->n},
        {"d (head dimension)", cfg->d}};
    for (int i = 0; i < 4; i++)
        if (sz[i].v < 1) {
            snprintf(msg, msglen, "%s = %d: expected >= 1", sz[i].name, sz[i].v);
            return -1;
        }
    if (cfg->threads < 0 || cfg->threads > 4096) {
        snprintf(msg, msglen, "threads = %d: expected 0 (all) to 4096", cfg->threads);
        return -1;
    }
    if (cfg->train != 0 && cfg->train != 1) {
        snprintf(msg, msglen, "train = %d: expected 0 or 1", cfg->train);
        return -1;
    }
    if (cfg->train && cfg->method != LB_ATTN_FULL && cfg->method != LB_ATTN_LINFORMER) {
        snprintf(msg, msglen, "train = 1 with %s attention: %s has no backward "
                 "(train with full or linformer)", lb_attn_method_name(cfg->method),
                 lb_attn_method_name(cfg->method));
        return -1;
    }
    if (approx(cfg->method) && check_approx(cfg, msg, msglen)) return -1;
    if (cfg->train && cfg->method == LB_ATTN_MATERIALISE) {
        snprintf(msg, msglen, "train = 1 with materialise attention: it is the forward-only "
                 "inference baseline (train with full or linformer)");
        return -1;
    }
    if (cfg->method == LB_ATTN_LINFORMER) {
        if (cfg->k < 1 || cfg->k > cfg->n) {
            snprintf(msg, msglen, "k = %d: expected 1 <= k <= n = %d", cfg->k, cfg->n);
            return -1;
        }
        if ((unsigned)cfg->share > LB_SHARE_LAYERWISE) {
            snprintf(msg, msglen, "share = %d: expected none, headwise, kv or layerwise",
                     (int)cfg->share);
            return -1;
        }
    }
    return 0;
}

/* The sizes together: BLAS dimensions, the inputs' address space, the workspace. */
static int check_sizes(const lb_attn_cfg *cfg, char *msg, size_t msglen) {
    /* BLAS takes int leading dimensions: 2·H·d (Linformer's packed K|V) must fit */
    if ((long long)cfg->H * cfg->d > INT_MAX / 2) {
        snprintf(msg, msglen, "H·d = %lld: too large (BLAS dimensions are int)",
                 (long long)cfg->H * cfg->d);
        return -1;
    }
    size_t elems;
    if (lb_mul3_size(&elems, (size_t)cfg->B * (size_t)cfg->H, (size_t)cfg->n, (size_t)cfg->d) ||
        elems > SIZE_MAX / sizeof(float)) {
        snprintf(msg, msglen, "B·H·n·d = %d·%d·%d·%d overflows the address space", cfg->B,
                 cfg->H, cfg->n, cfg->d);
        return -1;
    }
    int threads = resolve_threads(cfg);
    size_t fl;
    if (total_floats(cfg, threads, &fl) || fl > LB_WS_LIMIT / sizeof(float)) {
        if (approx(cfg->method))
            snprintf(msg, msglen, "n = %d, k = %d: the %s workspace (%d threads) exceeds 1 TiB",
                     cfg->n, cfg->k, lb_attn_method_name(cfg->method), threads);
        else if (cfg->method == LB_ATTN_LINFORMER)
            snprintf(msg, msglen,
                     "n = %d, k = %d: the linformer workspace (n·k scores per thread, %d "
                     "threads, plus B·k·2·H·d projections) exceeds 1 TiB",
                     cfg->n, cfg->k, threads);
        else if (cfg->method == LB_ATTN_MATERIALISE)
            snprintf(msg, msglen, "B = %d, n = %d: the materialise workspace (2·B·H·n² floats: "
                     "scores and probabilities) exceeds 1 TiB", cfg->B, cfg->n);
        else
            snprintf(msg, msglen, "n = %d: the %s workspace (%s per thread, %d threads) "
                     "exceeds 1 TiB", cfg->n, lb_attn_method_name(cfg->method),
                     cfg->method == LB_ATTN_FULL ? "n×n scores" : "tiles", threads);
        return -1;
    }
    return 0;
}

int lb_attn_check(const lb_attn_cfg *cfg, char *msg, size_t msglen) {
    return check_fields(cfg, msg, msglen) || check_sizes(cfg, msg, msglen) ? -1 : 0;
}

size_t lb_attn_workspace_bytes(const lb_attn_cfg *cfg) {
    size_t fl;
    if (total_floats(cfg, resolve_threads(cfg), &fl)) return SIZE_MAX;
    return fl * sizeof(float);
}

size_t lb_attn_proj_elems(const lb_attn_cfg *cfg) {
    if (cfg->method != LB_ATTN_LINFORMER) return 0;
    size_t e = (size_t)cfg->k * (size_t)cfg->n;
    return cfg->share == LB_SHARE_NONE ? e * (size_t)cfg->H : e;
}

/* (query, key) pairs of centred windows of radius w over n positions. */
static double window_pairs(int w, int n) {
    double c = w < 0 ? 0 : lb_local_clamp(w, n);
    return (double)n * (2 * c + 1) - c * (c + 1);
}

double lb_attn_flops(const lb_attn_cfg *cfg) {
    double bh = (double)cfg->B * cfg->H, n = cfg->n, d = cfg->d, k = cfg->k;
    switch (cfg->method) {
    case LB_ATTN_LINFORMER: return 4 * bh * n * k * d + 4 * bh * k * n * d;
    case LB_ATTN_LOCAL: return 4 * bh * window_pairs(cfg->k, cfg->n) * d;
    case LB_ATTN_NYSTROM: {
        double it = cfg->iters ? cfg->iters : 6;
        return bh * (8 * n * k * d + 4 * k * k * d + 8 * it * k * k * k);
    }
    case LB_ATTN_PERFORMER: return bh * (8 * n * k * d + 4 * n * k);
    case LB_ATTN_SCATTERBRAIN:
        return bh * (8 * n * k * d + 4 * n * k + window_pairs(cfg->window, cfg->n) * (4 * d + 2 * k));
    default: return 4 * bh * n * n * d;
    }
}

int lb_attn_init(lb_attn **out, const lb_attn_cfg *cfg, char *msg, size_t msglen) {
    *out = NULL;
    if (lb_attn_check(cfg, msg, msglen)) return -1;
    lb_attn *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    a->cfg = *cfg;
    a->threads = resolve_threads(cfg);
    a->run_threads = lb_attn_flops(cfg) < LB_SMALL_FLOPS ? 1 : a->threads;
    size_t sh, fl;
    lb_attn_layout(cfg, a->threads, &sh, &a->ws_thread);
    total_floats(cfg, a->threads, &fl);
    a->ws_bytes = fl * sizeof(float);
    a->ws = lb_alloc_big(a->ws_bytes, 1);
    if (!a->ws) {
        snprintf(msg, msglen, "out of memory: %s attention workspace of %zu bytes",
                 lb_attn_method_name(cfg->method), a->ws_bytes);
        free(a);
        return -1;
    }
    if ((cfg->method == LB_ATTN_PERFORMER || cfg->method == LB_ATTN_SCATTERBRAIN) &&
        lb_attn_performer_features(a->ws, cfg->k, cfg->d, cfg->seed)) {
        snprintf(msg, msglen, "out of memory drawing the random features");
        lb_attn_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

void lb_attn_free(lb_attn *a) {
    if (!a) return;
    lb_free(a->ws);
    free(a);
}


const float *lb_attn_features(const lb_attn *a) {
    lb_attn_method m = a->cfg.method;
    return m == LB_ATTN_PERFORMER || m == LB_ATTN_SCATTERBRAIN ? a->ws : NULL;
}

int lb_attn_reseed(lb_attn *a, uint64_t seed) {
    /* ω sits at the start of the workspace (lb_attn_init drew it there); nothing else
     * depends on the seed, so redrawing it in place is a fresh draw of the method. */
    if (!lb_attn_features(a)) return 0;
    if (lb_attn_performer_features(a->ws, a->cfg.k, a->cfg.d, seed)) return -1;
    a->cfg.seed = seed;
    return 0;
}

int lb_attn_check_args(const lb_attn *a, const float *out, const float *probs, const float *q,
                       const float *k, const float *v, const float *E, const float *F,
                       char *msg, size_t msglen) {
    if (!a) return lb_fail(msg, msglen, "attention handle is NULL (lb_attn_init failed?)");
    const char *names[] = {"out", "q", "k", "v"};
    const void *ptrs[] = {out, q, k, v};
    int i = lb_attn_first_null(ptrs, 4);
    if (i >= 0) return lb_fail(msg, msglen, "%s is NULL", names[i]);
    if (a->cfg.method != LB_ATTN_FULL && a->cfg.method != LB_ATTN_LINFORMER &&
        a->cfg.method != LB_ATTN_MATERIALISE && probs) {
        snprintf(msg, msglen, "probs must be NULL for %s attention (it never holds them)",
                 lb_attn_method_name(a->cfg.method));
        return -1;
    }
    if (a->cfg.method == LB_ATTN_LINFORMER) {
        if (!E || !F) {
            snprintf(msg, msglen, "linformer needs projections: %s is NULL", !E ? "E" : "F");
            return -1;
        }
        return lb_attn_check_alias(a, E, F, msg, msglen);
    }
    return 0;
}

void lb_attn_forward(lb_attn *a, float *out, float *probs, const float *q, const float *k,
                     const float *v, const float *mask, const float *E, const float *F) {
    char msg[256];
    if (lb_attn_check_args(a, out, probs, q, k, v, E, F, msg, sizeof msg)) {
        /* a programming error in the caller, not bad data: stop loudly */
        lb_err("lb_attn_forward: %s", msg);
        abort();
    }
    switch (a->cfg.method) {
    case LB_ATTN_FULL: lb_attn_full_run(a, out, probs, q, k, v, mask); break;
    case LB_ATTN_STREAM: lb_attn_stream_run(a, out, q, k, v, mask); break;
    case LB_ATTN_LINFORMER: lb_attn_linformer_run(a, out, probs, q, k, v, mask, E, F); break;
    case LB_ATTN_LOCAL: lb_attn_local_run(a, out, q, k, v, mask); break;
    case LB_ATTN_NYSTROM: lb_attn_nystrom_run(a, out, q, k, v, mask); break;
    case LB_ATTN_PERFORMER: lb_attn_performer_run(a, out, q, k, v, mask); break;
    case LB_ATTN_SCATTERBRAIN: lb_attn_scatterbrain_run(a, out, q, k, v, mask); break;
    case LB_ATTN_MATERIALISE: lb_attn_materialise_run(a, out, probs, q, k, v, mask); break;
    }
}

void lb_attn_each_head(lb_attn *a, float *out, const float *q, const float *k, const float *v,
                       const float *mask, lb_attn_head_fn *head) {
    const int H = a->cfg.H, n = a->cfg.n, T = a->run_threads;
    const long bh = (long)a->cfg.B * H;
    const size_t nd = (size_t)n * a->cfg.d;
    const int tp = bh < T ? (int)bh : T;
    size_t shared, pt;
    lb_attn_layout(&a->cfg, a->threads, &shared, &pt);
#pragma omp parallel num_threads(tp)
    {
        lb_attn_region_threads(tp, T);
        float *ws = a->ws + shared + (size_t)omp_get_thread_num() * a->ws_thread;
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < bh; t++) {
            const float *mb = mask ? mask + (size_t)(t / H) * n : NULL;
            int ext = lb_attn_key_extent(mb, n);
            float *o = out + (size_t)t * nd;
            if (ext == 0)
                memset(o, 0, nd * sizeof *o);
            else
                head(a, o, ws, q + (size_t)t * nd, k + (size_t)t * nd, v + (size_t)t * nd, mb, ext);
        }
    }
}

int lb_attn_first_null(const void *const *ptrs, int n) {
    for (int i = 0; i < n; i++)
        if (!ptrs[i]) return i;
    return -1;
}

int lb_attn_check_alias(const lb_attn *a, const float *E, const float *F, char *msg,
                        size_t msglen) {
    if ((a->cfg.share == LB_SHARE_KV || a->cfg.share == LB_SHARE_LAYERWISE) && F != E)
        return lb_fail(msg, msglen, "share = %s: F must be the same matrix as E (F == E)",
                       lb_share_name(a->cfg.share));
    return 0;
}

int lb_attn_key_extent(const float *mask, int n) {
    if (!mask) return n;
    int e = n;
    while (e > 0 && mask[e - 1] == 0) e--;
    return e;
}
