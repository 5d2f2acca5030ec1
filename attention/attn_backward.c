/* Backward of full and Linformer attention, from the probabilities the forward
 * returned. Per (b,h), with P (n × c), c = n (full) or k (Linformer), scale s = 1/√d:
 *   dV_c = Pᵀ dO, dP = dO V_cᵀ, dS = s·P ∘ (dP − rowsum(dP ∘ P)),
 *   dQ = dS K_c, dK_c = dSᵀ Q,
 * where K_c, V_c are K, V (full) or K̄ = E·diag(m)·K, V̄ = F·diag(m)·V (Linformer,
 * recomputed here), and then for Linformer dK = diag(m)·Eᵀ dK̄, dV = diag(m)·Fᵀ dV̄,
 * dE += dK̄ (diag(m)K)ᵀ, dF += dV̄ (diag(m)V)ᵀ.
 *
 * Heads run in parallel (static schedule) with single-threaded sgemm inside. dE, dF
 * are shared between heads (and batch elements), so each thread accumulates into
 * its own partial and the partials are added in thread order afterwards: no race and
 * the same bits on every run with the same thread count. Keys past the last real one
 * are left out of the products (their P is 0, so their gradients are 0). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"
#include "lb_util.h"

static size_t proj_elems(const lb_attn_cfg *c) {
    size_t e = (size_t)c->k * (size_t)c->n;
    return c->share == LB_SHARE_NONE ? e * (size_t)c->H : e;
}

int lb_attn_backward_per_thread(const lb_attn_cfg *c, size_t *pt) {
    size_t n = (size_t)c->n, d = (size_t)c->d, kp = (size_t)c->k, a, b, e;
    if (c->method == LB_ATTN_FULL) return lb_mul_size(pt, n, n); /* dP */
    /* masked K, V (n×d each); K̄, V̄, dK̄, dV̄ (k×d each); dP (n×k); partial dE, dF */
    if (lb_mul_size(&a, n, d + d + kp) || lb_mul_size(&b, kp, 4 * d) ||
        lb_mul_size(&e, proj_elems(c), 2))
        return -1;
    *pt = a + b + e;
    return *pt < a || *pt - a < b ? -1 : 0;
}

/* dP (n × c, leading dimension ld) in place → s·P ∘ (dP − rowsum(dP ∘ P)). */
static void softmax_grad(float *dP, const float *P, int ldp, int n, int c, int ld, float s) {
    for (int i = 0; i < n; i++) {
        const float *p = P + (size_t)i * ldp;
        float *g = dP + (size_t)i * ld;
        double dot = 0;
        for (int j = 0; j < c; j++) dot += (double)g[j] * p[j];
        for (int j = 0; j < c; j++) g[j] = s * p[j] * (float)(g[j] - dot);
    }
}

static void zero_rows(float *x, int r0, int r1, int d) {
    if (r1 > r0) memset(x + (size_t)r0 * d, 0, (size_t)(r1 - r0) * d * sizeof *x);
}

/* The backward of O = softmax(Q Xkᵀ/√d) Xv for one head, the part full and Linformer
 * share: X are the cols keys/values attended to (K, V or the projected K̄, V̄), P (n × cols,
 * leading dimension ldp) the saved probabilities, dP (n × cols) scratch. dXk, dXv are
 * (cols × d), dq (n × d). */
static void attend_backward(float *dq, float *dXk, float *dXv, float *dP, const float *dO,
                            const float *q, const float *Xk, const float *Xv, const float *P,
                            int ldp, int n, int cols, int d) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, d, n, 1.0f, P, ldp, dO, d, 0.0f,
                dXv, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, cols, d, 1.0f, dO, d, Xv, d, 0.0f, dP,
                cols);
    softmax_grad(dP, P, ldp, n, cols, cols, 1.0f / sqrtf((float)d));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, cols, 1.0f, dP, cols, Xk, d, 0.0f,
                dq, d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, d, n, 1.0f, dP, cols, q, d, 0.0f,
                dXk, d);
}

/* One (b,h) of full attention over its first ext >= 1 keys. dP is n × ext. */
static void full_head(float *dq, float *dk, float *dv, float *dP, const float *dO,
                      const float *q, const float *k, const float *v, const float *P, int n,
                      int d, int ext) {
    attend_backward(dq, dk, dv, dP, dO, q, k, v, P, n, n, ext, d);
    zero_rows(dk, ext, n, d);
    zero_rows(dv, ext, n, d);
}

typedef struct {
    const float *E, *F; /* this head's projections (k × n) */
    float *pE, *pF;     /* this head's slice of the thread's partials (pF may be pE) */
} proj;

/* One (b,h) of Linformer over the first ext >= 1 keys; ws per lb_attn_backward_per_thread. */
static void lin_head(float *dq, float *dk, float *dv, float *ws, proj pr, const float *dO,
                     const float *q, const float *k, const float *v, const float *P,
                     const float *mb, int n, int d, int kp, int ext) {
    float *Km = ws, *Vm = Km + (size_t)n * d, *Kb = Vm + (size_t)n * d, *Vb = Kb + (size_t)kp * d;
    float *dKb = Vb + (size_t)kp * d, *dVb = dKb + (size_t)kp * d, *dP = dVb + (size_t)kp * d;
    for (int j = 0; j < ext; j++) { /* diag(m)·K, diag(m)·V */
        int real = !mb || mb[j] != 0;
        for (int x = 0; x < d; x++) {
            Km[(size_t)j * d + x] = real ? k[(size_t)j * d + x] : 0.0f;
            Vm[(size_t)j * d + x] = real ? v[(size_t)j * d + x] : 0.0f;
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, d, ext, 1.0f, pr.E, n, Km, d, 0.0f,
                Kb, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kp, d, ext, 1.0f, pr.F, n, Vm, d, 0.0f,
                Vb, d);
    attend_backward(dq, dKb, dVb, dP, dO, q, Kb, Vb, P, kp, n, kp, d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ext, d, kp, 1.0f, pr.E, n, dKb, d, 0.0f,
                dk, d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ext, d, kp, 1.0f, pr.F, n, dVb, d, 0.0f,
                dv, d);
    for (int j = 0; j < ext; j++)
        if (mb && mb[j] == 0) {
            memset(dk + (size_t)j * d, 0, (size_t)d * sizeof *dk);
            memset(dv + (size_t)j * d, 0, (size_t)d * sizeof *dv);
        }
    zero_rows(dk, ext, n, d);
    zero_rows(dv, ext, n, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kp, ext, d, 1.0f, dKb, d, Km, d, 1.0f,
                pr.pE, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kp, ext, d, 1.0f, dVb, d, Vm, d, 1.0f,
                pr.pF, n);
}

static int check_bwd(const lb_attn *a, float *dq, float *dk, float *dv, float *dE, float *dF,
                     const float *dout, const float *q, const float *k, const float *v,
                     const float *E, const float *F, const float *probs, char *msg, size_t len) {
    if (!a) return lb_fail(msg, len, "attention handle is NULL (lb_attn_init failed?)");
    if (a->cfg.method != LB_ATTN_FULL && a->cfg.method != LB_ATTN_LINFORMER) {
        snprintf(msg, len, "%s attention has no backward (train with full or linformer)",
                 lb_attn_method_name(a->cfg.method));
        return -1;
    }
    if (!a->cfg.train) {
        snprintf(msg, len, "the handle was made with cfg.train = 0: set train = 1 for a "
                 "workspace that holds the backward");
        return -1;
    }
    const char *names[] = {"dq", "dk", "dv", "dout", "q", "k", "v", "probs"};
    const void *ptrs[] = {dq, dk, dv, dout, q, k, v, probs};
    int i = lb_attn_first_null(ptrs, 8);
    if (i >= 0) return lb_fail(msg, len, "%s is NULL", names[i]);
    if (a->cfg.method != LB_ATTN_LINFORMER) return 0;
    const char *ln[] = {"E", "F", "dE", "dF"};
    const void *lp[] = {E, F, dE, dF};
    if ((i = lb_attn_first_null(lp, 4)) >= 0)
        return lb_fail(msg, len, "linformer backward needs %s (it is NULL)", ln[i]);
    return lb_attn_check_alias(a, E, F, msg, len);
}

void lb_attn_backward(lb_attn *a, float *dq, float *dk, float *dv, float *dE, float *dF,
                      const float *dout, const float *q, const float *k, const float *v,
                      const float *mask, const float *E, const float *F, const float *probs) {
    char msg[256];
    if (check_bwd(a, dq, dk, dv, dE, dF, dout, q, k, v, E, F, probs, msg, sizeof msg)) {
        lb_err("lb_attn_backward: %s", msg); /* a programming error in the caller */
        abort();
    }
    const int H = a->cfg.H, n = a->cfg.n, d = a->cfg.d, T = a->run_threads;
    const int lin = a->cfg.method == LB_ATTN_LINFORMER, kp = lin ? a->cfg.k : n;
    const long bh = (long)a->cfg.B * H;
    const size_t nd = (size_t)n * d, nc = (size_t)n * kp;
    const size_t pe = lin ? proj_elems(&a->cfg) : 0;
    size_t shared, per_thread, bt;
    lb_attn_layout(&a->cfg, a->threads, &shared, &per_thread);
    lb_attn_backward_per_thread(&a->cfg, &bt);
    float *slots = a->ws + shared;
    /* with dE == dF both contributions go into one partial (and one sum) */
    const size_t poff = bt - 2 * pe, pfoff = dE == dF ? poff : poff + pe;
    const int tp = bh < T ? (int)bh : T;
#pragma omp parallel num_threads(tp)
    {
        lb_attn_region_threads(tp, T);
        float *ws = slots + (size_t)omp_get_thread_num() * per_thread;
        if (lin) memset(ws + poff, 0, 2 * pe * sizeof *ws);
#pragma omp for schedule(static)
        for (long t = 0; t < bh; t++) {
            const int b = (int)(t / H), h = (int)(t % H);
            const float *mb = mask ? mask + (size_t)b * n : NULL;
            const int ext = lb_attn_key_extent(mb, n);
            float *gq = dq + t * nd, *gk = dk + t * nd, *gv = dv + t * nd;
            if (ext == 0) { /* every key is padding: the output was 0 whatever the inputs */
                memset(gq, 0, nd * sizeof *gq);
                memset(gk, 0, nd * sizeof *gk);
                memset(gv, 0, nd * sizeof *gv);
                continue;
            }
            if (!lin) {
                full_head(gq, gk, gv, ws, dout + t * nd, q + t * nd, k + t * nd, v + t * nd,
                          probs + t * nc, n, d, ext);
                continue;
            }
            const size_t eo = a->cfg.share == LB_SHARE_NONE ? (size_t)h * kp * n : 0;
            proj pr = {E + eo, F + eo, ws + poff + eo, ws + pfoff + eo};
            lin_head(gq, gk, gv, ws, pr, dout + t * nd, q + t * nd, k + t * nd, v + t * nd,
                     probs + t * nc, mb, n, d, kp, ext);
        }
        if (lin) { /* the implicit barrier above: every partial is complete */
#pragma omp for schedule(static)
            for (size_t i = 0; i < pe; i++) {
                float se = dE[i], sf = dE == dF ? 0.0f : dF[i];
                for (int th = 0; th < tp; th++) {
                    const float *w = slots + (size_t)th * per_thread;
                    se += w[poff + i];
                    if (dE != dF) sf += w[pfoff + i];
                }
                dE[i] = se;
                if (dE != dF) dF[i] = sf;
            }
        }
    }
}
