/* Internal to analysis/spectrum/approx*.c: the state of the approximation analysis of
 * one n (lb_spectrum.h, "approximations of PV"). Not a public API. */
#ifndef LB_APPROX_INT_H
#define LB_APPROX_INT_H

#include "lb_spectrum.h"

#define AX_MAXK 16
/* Result slots per (layer, head): one per size in ks, plus one at the method's own size
 * (full: n, learned: the model's k). */
#define AX_NSLOT(a) ((size_t)((a)->nks + 1) * LB_AX_COUNT)

/* Per-thread buffers (sizes in alloc_threads): PF recomputed P; PZ P with padded rows
 * and columns zeroed; SF exact head scores; QZ, KZ, VZ inputs with padded rows zeroed;
 * PV the exact output; Y a stand-in's output; T (n,d) scratch; RV, RK (k,d); W (n,d)
 * v_iᵀV rows of the SVD; S (n,k) scores or P·U; VT right singular vectors; SIGMA;
 * SPARE (n,d); CN (d) column norms of PV; G (kmax,n) N(0,1) rows of the current draw. */
enum { TW_PF, TW_PZ, TW_SF, TW_QZ, TW_KZ, TW_VZ, TW_PV, TW_Y, TW_T, TW_RV, TW_RK, TW_W, TW_S,
       TW_VT, TW_SIGMA, TW_SPARE, TW_CN, TW_G, AX_TW_COUNT };

typedef struct {
    float *block, *buf[AX_TW_COUNT];
    lb_svd_ws *svd;
    lb_attn *att[AX_MAXK][LB_AX_NATT]; /* per size slot, the attention/ kernels' handles */
} ax_tws;

struct lb_approx {
    lb_ax_opts o;
    int n, d, nl, nh, threads;
    int *layers, *heads;  /* (nl), (nh): model indices */
    int nks, ks[AX_MAXK], kmax;
    double delta;         /* Theorem 2's δ in use */
    int lin_k, lin_n;     /* learned projections (0 when the model has none) */
    const float **E, **F; /* (nl·nh): (lin_k, lin_n) rows, leading dimension lin_n */
    unsigned char *keep;  /* (n) 1 = real position of the current window */
    float *maskf;         /* (n) the same as lb_attn's mask: 1.0 real, 0.0 padding */
    int phase;            /* 0 idle, 1 fit, 2 evaluate */
    int fitted;           /* the fit accumulators hold eigenvectors */
    long window;          /* the current window's index (seeds its draws) */
    float *fit;           /* (nl·nh, n, n) Σ PᵀP, then its eigenvectors */
    ax_tws *tw;           /* (threads) */
    size_t cap;           /* samples per slot: eval_windows · draws */
    double *samp;         /* (nl·nh, slot, norm, cap) errors */
    long *cnt;            /* (nl·nh, slot) samples so far */
    lb_welford *tim;      /* (nl·nh, slot) seconds per application */
    size_t tcap;          /* timed runs kept per slot: eval_windows · LB_AX_TREPS */
    double *tsamp;        /* (nl·nh, slot, tcap) seconds of the timed runs */
    long *tcnt;           /* (nl·nh, slot) timed runs so far */
    double *succ;         /* (nl·nh, nks, eps) Theorem 1's per-column event: successes */
    double *trials;       /* (nl·nh, nks) columns × draws tried */
    lb_welford *pred;     /* (nl·nh, nks) the JL closed form sqrt((r²+1)/k) */
    lb_welford *ent;      /* (nl·nh) row entropy ratio of the evaluated P */
};

/* y (n,d) = softmax(Q (a R K)ᵀ/√d)(b R V), R = G[0..kk)/√kk: a Linformer head with
 * E = aR, F = bR (approx.c). Scratch rk, rv (kk,d), s (n,kk). */
void ax_linf_apply(float *y, float *rk, float *rv, float *s, const float *G, const float *q,
                   const float *k, const float *v, int n, int d, int kk, double a, double b);
/* y (n,d) = exact block pooling at kk blocks (approx.c). Scratch ps (n,kk), mv (kk,d). */
void ax_pool_apply(float *y, float *ps, float *mv, const float *P, int ldp, const float *v, int n,
                   int d, int kk);

/* G (kmax,n) = N(0,1) draw t of head pair (li, hi) in the current window (approx.c). */
void ax_draw(float *G, const lb_approx *a, int li, int hi, int t);
/* The seed of that draw (G is filled from it; the random features derive from it). */
uint64_t ax_draw_seed(const lb_approx *a, int li, int hi, int t);

/* Slot index of (head pair i, size slot j, method m). */
static inline size_t ax_slot(const lb_approx *a, int i, int j, int m) {
    return ((size_t)i * (a->nks + 1) + j) * LB_AX_COUNT + m;
}

#endif
