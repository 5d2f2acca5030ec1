/* Approximations of one head's output PV on real attention (lb_spectrum.h, "approximations
 * of PV"): Theorem 1's and Theorem 2's random constructions as the paper states them, a
 * projection fitted on training windows, per-input oracles, the learned E, F of a
 * Linformer-trained model, all on the same held-out windows.
 *
 * Each (window, layer, head, draw) has its own R, the rows of one N(0,1) matrix G
 * scaled by 1/√k for size k (the sizes of one draw are nested). Products are single-threaded cblas calls (the
 * caller runs heads in parallel); norms are accumulated in double. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approx_int.h"
#include "lb_train_model.h"
#include "lb_util.h"

const double lb_ax_eps[LB_AX_NEPS] = {0.1, 0.2};

static const struct {
    const char *name, *kind;
    int attention;
} METHODS[LB_AX_COUNT] = {
    [LB_AX_FULL] = {"full", "exact", 1},       [LB_AX_JL] = {"jl", "random", 0},
    [LB_AX_THM2] = {"thm2", "random", 1},      [LB_AX_LINF_RAND] = {"linf_rand", "random", 1},
    [LB_AX_FITTED] = {"fitted", "fitted", 0},  [LB_AX_POOL] = {"pool", "oracle", 0},
    [LB_AX_SVD] = {"svd", "oracle", 0},        [LB_AX_LEARNED] = {"learned", "learned", 1},
    [LB_AX_LOCAL] = {"local", "sparse", 1},    [LB_AX_NYSTROM] = {"nystrom", "landmark", 1},
    [LB_AX_PERFORMER] = {"performer", "kernel", 1},
    [LB_AX_SCATTER] = {"scatterbrain", "sparse+lowrank", 1},
};

const char *lb_ax_name(int m) { return m >= 0 && m < LB_AX_COUNT ? METHODS[m].name : "?"; }
const char *lb_ax_kind(int m) { return m >= 0 && m < LB_AX_COUNT ? METHODS[m].kind : "?"; }
int lb_ax_is_attention(int m) { return m >= 0 && m < LB_AX_COUNT && METHODS[m].attention; }
const char *lb_ax_norm_name(int norm) { return norm == LB_AX_NORM_PV ? "pv" : "p_v"; }

int lb_ax_attn_cfg(lb_attn_cfg *cfg, int method, int n, int d, int size, uint64_t seed) {
    static const lb_attn_method kern[LB_AX_NATT] = {LB_ATTN_LOCAL, LB_ATTN_NYSTROM,
                                                    LB_ATTN_PERFORMER, LB_ATTN_SCATTERBRAIN};
    if (method < LB_AX_LOCAL || method > LB_AX_SCATTER) return -1;
    *cfg = (lb_attn_cfg){.method = kern[method - LB_AX_LOCAL], .B = 1, .H = 1, .n = n, .d = d,
                         .k = size, .threads = 1, .seed = seed};
    if (method == LB_AX_SCATTER) { /* two halves of one budget: window and features */
        cfg->window = size / 2;
        cfg->k = size / 2 > 0 ? size / 2 : 1;
    }
    return 0;
}

double lb_ax_flops(int method, int n, int d, int size) {
    double N = n, D = d, k = size;
    lb_attn_cfg c;
    switch (method) {
    case LB_AX_FULL: return 4 * N * N * D;
    case LB_AX_JL: return 4 * N * k * D + 2 * N * N * D;
    case LB_AX_THM2:
    case LB_AX_LINF_RAND: return 8 * N * k * D;
    case LB_AX_FITTED: return 2 * N * N * k + 4 * N * k * D;
    case LB_AX_POOL: return 2 * N * k * D + N * N + N * D;
    case LB_AX_LEARNED: return 4 * N * k * D;
    default: return lb_ax_attn_cfg(&c, method, n, d, size, 0) ? NAN : lb_attn_flops(&c);
    }
}

double lb_ax_k_bound(int n, double eps) { return 5.0 * log((double)n) / (eps * eps - eps * eps * eps); }

double lb_ax_eps_bound(int n, int k) {
    double target = 5.0 * log((double)n) / k, lo = 0, hi = 2.0 / 3.0;
    if (!(target <= 4.0 / 27.0)) return NAN; /* eps² − eps³ peaks at 4/27 (eps = 2/3) */
    for (int i = 0; i < 100; i++) { /* increasing on (0, 2/3]: bisection */
        double mid = 0.5 * (lo + hi);
        if (mid * mid - mid * mid * mid < target) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

double lb_ax_jl_expected_sq(double np, double nv, double npv, int k) {
    double r = np * nv / npv;
    return (r * r + 1.0) / k;
}

void lb_ax_jl_apply(float *y, float *rv, float *t, const float *P, int ldp, const float *G,
                    const float *v, int n, int d, int k) {
    /* P (Rᵀ (R V)) costs 4nkd + 2n²d, against 2n²k + 2nkd for (P Rᵀ)(R V): k > d here. */
    float s = (float)(1.0 / sqrt((double)k));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, d, n, s, G, n, v, d, 0.0f, rv, d);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, d, k, s, G, n, rv, d, 0.0f, t, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, P, ldp, t, d, 0.0f, y, d);
}

int lb_ax_fit_eigvecs(float *G, int n, char *msg, size_t msglen) {
    float *w = malloc(sizeof(float) * (size_t)n);
    if (!w) return lb_fail(msg, msglen, "out of memory for the fitted projection (n = %d)", n);
    lapack_int info = LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', 'U', n, G, n, w);
    free(w);
    if (info != 0)
        return lb_fail(msg, msglen, "fitted projection: LAPACK ssyevd failed (info %d, n = %d)",
                       (int)info, n);
    return 0;
}

void lb_ax_fitted_apply(float *y, float *pu, float *uv, const float *P, int ldp, const float *U,
                        const float *v, int n, int d, int k) {
    const float *uk = U + (n - k); /* the last k columns, leading dimension n */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, n, 1.0f, P, ldp, uk, n, 0.0f, pu, k);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, d, n, 1.0f, uk, n, v, d, 0.0f, uv, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, k, 1.0f, pu, k, uv, d, 0.0f, y, d);
}

/* Row-wise stable softmax of s (rows, cols), in place; keys with keep[j] == 0 get 0
 * (keep NULL: all kept). A row with no key kept becomes 0. */
static void softmax_rows(float *s, int rows, int cols, const unsigned char *keep) {
    for (int i = 0; i < rows; i++) {
        float *row = s + (size_t)i * cols, mx = -INFINITY;
        for (int j = 0; j < cols; j++)
            if ((!keep || keep[j]) && row[j] > mx) mx = row[j];
        double sum = 0;
        for (int j = 0; j < cols; j++) {
            row[j] = (!keep || keep[j]) && mx > -INFINITY ? expf(row[j] - mx) : 0.0f;
            sum += row[j];
        }
        float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
        for (int j = 0; j < cols; j++) row[j] *= inv;
    }
}

void lb_ax_full_probs(float *P, const float *q, const float *k, const unsigned char *keep, int n,
                      int d) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, (float)(1.0 / sqrt((double)d)),
                q, d, k, d, 0.0f, P, n);
    softmax_rows(P, n, n, keep);
}

/* y (n,d) = softmax(Q (a R K)ᵀ/√d)(b R V) with R = G[0..k)/√k: a Linformer head with
 * E = aR, F = bR. Scratch rk, rv (k,d), s (n,k). */
void ax_linf_apply(float *y, float *rk, float *rv, float *s, const float *G, const float *q,
                       const float *k, const float *v, int n, int d, int kk, double a, double b) {
    double r = 1.0 / sqrt((double)kk);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kk, d, n, (float)(a * r), G, n, k, d,
                0.0f, rk, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kk, d, n, (float)(b * r), G, n, v, d,
                0.0f, rv, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, kk, d, (float)(1.0 / sqrt((double)d)),
                q, d, rk, d, 0.0f, s, kk);
    softmax_rows(s, n, kk, NULL);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, kk, 1.0f, s, kk, rv, d, 0.0f, y, d);
}

/* Exact block pooling (k contiguous blocks [⌊b n/k⌋, ⌊(b+1) n/k⌋)): y = (P S)(M V),
 * S sums a block of keys, M averages it. Scratch ps (n,k), mv (k,d). */
void ax_pool_apply(float *y, float *ps, float *mv, const float *P, int ldp, const float *v,
                       int n, int d, int k) {
    for (int b = 0; b < k; b++) {
        int lo = (int)((long)b * n / k), hi = (int)((long)(b + 1) * n / k);
        for (int c = 0; c < d; c++) {
            double s = 0;
            for (int j = lo; j < hi; j++) s += v[(size_t)j * d + c];
            mv[(size_t)b * d + c] = (float)(s / (hi - lo));
        }
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = lo; j < hi; j++) s += P[(size_t)i * ldp + j];
            ps[(size_t)i * k + b] = (float)s;
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, k, 1.0f, ps, k, mv, d, 0.0f, y, d);
}

/* ---- state ---- */

void lb_approx_free(lb_approx *a) {
    if (!a) return;
    for (int t = 0; a->tw && t < a->threads; t++) {
        ax_tws *w = &a->tw[t];
        lb_free(w->block);
        lb_svd_ws_free(w->svd);
        for (int j = 0; j < AX_MAXK; j++)
            for (int m = 0; m < LB_AX_NATT; m++) lb_attn_free(w->att[j][m]);
    }
    free(a->tw);
    lb_free(a->fit);
    free(a->layers), free(a->heads), free(a->E), free(a->F), free(a->keep), free(a->maskf);
    free(a->samp), free(a->cnt), free(a->tim), free(a->succ), free(a->trials), free(a->pred);
    free(a->tsamp), free(a->tcnt);
    free(a->ent);
    free(a);
}

/* The learned E, F of (layer, head): (k, N) rows with leading dimension N. */
static int find_learned(lb_approx *a, const lb_model *m, char *msg, size_t msglen) {
    const lb_config *c = lb_model_config(m);
    if (c->attn != LB_ATTN_LINFORMER) return 0;
    if (a->n > c->lin_n)
        return lb_fail(msg, msglen, "n = %d exceeds the learned projections' linformer_seq_len = %d",
                       a->n, c->lin_n);
    a->lin_k = c->lin_k, a->lin_n = c->lin_n;
    a->E = calloc((size_t)a->nl * a->nh, sizeof(float *));
    a->F = calloc((size_t)a->nl * a->nh, sizeof(float *));
    if (!a->E || !a->F) return lb_fail(msg, msglen, "out of memory");
    /* The table is the way in (lb_train_model.h); the block is only read here. */
    float *base = lb_model_params((lb_model *)m);
    const char *pre[2] = {"roberta.", "bert."};
    for (int l = 0; l < a->nl; l++)
        for (int e = 0; e < 2; e++) {
            char name[160];
            const lb_param *p = NULL;
            int layer = c->lin_share == LB_SHARE_LAYERWISE ? -1 : a->layers[l];
            int fe = c->lin_share >= LB_SHARE_KV ? 0 : e; /* kv, layerwise: F = E */
            for (int i = 0; i < 2 && !p; i++) {
                if (layer < 0) snprintf(name, sizeof name, "%sencoder.linformer_E", pre[i]);
                else snprintf(name, sizeof name, "%sencoder.layer.%d.attention.self.linformer_%c",
                              pre[i], layer, fe ? 'F' : 'E');
                p = lb_model_param_find(m, name);
            }
            if (!p) return lb_fail(msg, msglen, "the Linformer model has no tensor %s", name);
            for (int h = 0; h < a->nh; h++) {
                size_t off = c->lin_share == LB_SHARE_NONE
                                 ? (size_t)a->heads[h] * c->lin_k * c->lin_n : 0;
                (e ? a->F : a->E)[l * a->nh + h] = base + p->offset + off;
            }
        }
    return 0;
}

/* One handle per size slot and attention/ kernel (seed 0: each draw reseeds). */
static int attn_handles(ax_tws *w, const lb_approx *a, char *msg, size_t msglen) {
    for (int j = 0; j < a->nks; j++)
        for (int m = 0; m < LB_AX_NATT; m++) {
            lb_attn_cfg c;
            char m2[256];
            lb_ax_attn_cfg(&c, LB_AX_LOCAL + m, a->n, a->d, a->ks[j], 0);
            if (lb_attn_init(&w->att[j][m], &c, m2, sizeof m2))
                return lb_fail(msg, msglen, "%s at size %d: %s", lb_ax_name(LB_AX_LOCAL + m),
                               a->ks[j], m2);
        }
    return 0;
}

static int alloc_threads(lb_approx *a, char *msg, size_t msglen) {
    size_t n = (size_t)a->n, d = (size_t)a->d, K = (size_t)(a->kmax > a->lin_k ? a->kmax : a->lin_k);
    size_t sizes[AX_TW_COUNT] = {n * n, n * n, n * n, n * d, n * d, n * d, n * d, n * d, n * d,
                                 K * d, K * d, n * d, n * K, n * n, n, n * d, d,
                                 (size_t)a->kmax * n};
    a->tw = calloc((size_t)a->threads, sizeof *a->tw);
    if (!a->tw) return lb_fail(msg, msglen, "out of memory");
    for (int t = 0; t < a->threads; t++) {
        ax_tws *w = &a->tw[t];
        size_t total = 0;
        for (int i = 0; i < AX_TW_COUNT; i++) total += (sizes[i] + 15) & ~(size_t)15;
        if (!(w->block = lb_alloc(total * sizeof(float))))
            return lb_fail(msg, msglen, "out of memory for the approximation workspaces");
        float *at = w->block;
        for (int i = 0; i < AX_TW_COUNT; i++) {
            w->buf[i] = at;
            at += (sizes[i] + 15) & ~(size_t)15;
        }
        if (lb_svd_ws_init(&w->svd, a->n, a->n, 1, msg, msglen)) return -1;
        if (attn_handles(w, a, msg, msglen)) return -1;
    }
    return 0;
}

int lb_approx_init(lb_approx **out, const lb_ax_opts *o, const lb_model *m, int n, int nl,
                   const int *layers, int nh, const int *heads, int threads, char *msg,
                   size_t msglen) {
    *out = NULL;
    const lb_config *c = lb_model_config(m);
    if (o->draws < 1 || o->eval_windows < 0 || o->fit_windows < 0 || n < 2 || nl < 1 || nh < 1 ||
        threads < 1)
        return lb_fail(msg, msglen, "approximations: draws %d must be >= 1 and n %d >= 2",
                       o->draws, n);
    lb_approx *a = calloc(1, sizeof *a);
    if (!a) return lb_fail(msg, msglen, "out of memory");
    a->o = *o, a->n = n, a->d = c->hidden / c->heads, a->nl = nl, a->nh = nh, a->threads = threads;
    for (int k = 16; k <= n / 2 && a->nks < AX_MAXK; k *= 2) a->ks[a->nks++] = k;
    if (a->nks == 0) a->ks[a->nks++] = n / 2;
    a->kmax = a->ks[a->nks - 1];
    /* Theorem 2's δ: Wang et al. 2020 (arXiv 2006.04768), Appendix B, the proof of
     * Theorem 2: "Define E = δR and F = e^{−δ}R, where R ∈ R^{n×k} with i.i.d. entries
     * from N(0, 1/k), δ is a constant with δ = 1/2^n" (checked against the paper's text;
     * step (b) of the same proof also says "δ = θ(1/n)", which --delta 1/n gives). At
     * n >= ~150 δ·R underflows to 0 in float, so the scores are 0 and the softmax
     * uniform: what exact arithmetic gives to double precision anyway (e^{δx} = 1 +
     * O(2^−n)). */
    a->delta = isnan(o->delta) ? ldexp(1.0, -n) : o->delta;
    a->layers = malloc(sizeof(int) * nl), a->heads = malloc(sizeof(int) * nh);
    a->keep = malloc((size_t)n), a->maskf = malloc(sizeof(float) * n);
    if (!a->layers || !a->heads || !a->keep || !a->maskf) goto oom;
    memcpy(a->layers, layers, sizeof(int) * nl), memcpy(a->heads, heads, sizeof(int) * nh);
    memset(a->keep, 1, (size_t)n);
    for (int j = 0; j < n; j++) a->maskf[j] = 1.0f;
    if (find_learned(a, m, msg, msglen)) goto fail;
    size_t hs = (size_t)nl * nh, slots = hs * AX_NSLOT(a), cap = (size_t)o->eval_windows * o->draws;
    a->cap = cap > 0 ? cap : 1;
    a->samp = calloc(slots * LB_AX_NNORM * a->cap, sizeof(double));
    a->cnt = calloc(slots, sizeof(long));
    a->tim = calloc(slots, sizeof(lb_welford));
    a->tcap = (size_t)(o->eval_windows > 0 ? o->eval_windows : 1) * LB_AX_TREPS;
    a->tsamp = calloc(slots * a->tcap, sizeof(double));
    a->tcnt = calloc(slots, sizeof(long));
    a->succ = calloc(hs * a->nks * LB_AX_NEPS, sizeof(double));
    a->trials = calloc(hs * a->nks, sizeof(double));
    a->pred = calloc(hs * a->nks, sizeof(lb_welford));
    a->ent = calloc(hs, sizeof(lb_welford));
    if (o->fit_windows > 0) a->fit = lb_alloc(sizeof(float) * hs * n * n);
    if (!a->samp || !a->cnt || !a->tim || !a->tsamp || !a->tcnt || !a->succ || !a->trials ||
        !a->pred || !a->ent ||
        (o->fit_windows > 0 && !a->fit))
        goto oom;
    if (a->fit) memset(a->fit, 0, sizeof(float) * hs * n * n);
    if (alloc_threads(a, msg, msglen)) goto fail;
    *out = a;
    return 0;
oom:
    lb_fail(msg, msglen, "out of memory for the approximations at n = %d", n);
fail:
    lb_approx_free(a);
    return -1;
}

/* splitmix64 finaliser: decorrelates nearby (window, draw) pairs. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int lb_approx_window(lb_approx *a, long s, const float *mask, char *msg, size_t msglen) {
    const lb_ax_opts *o = &a->o;
    a->phase = s < o->fit_windows ? 1 : s < (long)o->fit_windows + o->eval_windows ? 2 : 0;
    for (int j = 0; j < a->n; j++) {
        a->keep[j] = !mask || mask[j] != 0.0f;
        a->maskf[j] = a->keep[j] ? 1.0f : 0.0f;
    }
    if (a->phase == 2 && a->fit && !a->fitted) {
        int bad = 0;
        char m2[256] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(a->threads)
        for (int i = 0; i < a->nl * a->nh; i++)
            if (lb_ax_fit_eigvecs(a->fit + (size_t)i * a->n * a->n, a->n, m2, sizeof m2)) bad = 1;
        if (bad) return lb_fail(msg, msglen, "%s", m2);
        a->fitted = 1;
    }
    a->window = s;
    return 0;
}

uint64_t ax_draw_seed(const lb_approx *a, int li, int hi, int t) {
    uint64_t x = mix(mix(a->o.seed ^ 0x5eedULL) ^ (uint64_t)a->window);
    x = mix(x ^ ((uint64_t)(uint32_t)a->layers[li] << 32 | (uint32_t)a->heads[hi]));
    return mix(x ^ (uint64_t)t);
}

void ax_draw(float *G, const lb_approx *a, int li, int hi, int t) {
    lb_rng g;
    lb_rng_seed(&g, ax_draw_seed(a, li, hi, t));
    lb_rng_fill_normal(&g, G, (size_t)a->kmax * a->n, 1.0f);
}

/* ---- command-line options of the analysis (`linbench spectrum`) ---- */

void lb_ax_defaults(lb_ax_opts *o) {
    *o = (lb_ax_opts){.draws = 20, .fit_windows = 16, .eval_windows = 4, .delta = NAN, .seed = 1};
}

void lb_ax_usage(FILE *f) {
    fputs("  --approx-draws D     seeded draws of R per window for the random constructions\n"
          "                       (Theorems 1 and 2; default 20; 0 = no approximation analysis)\n"
          "  --fit-sequences F    windows that fit the data-fitted projection (default 16)\n"
          "  --approx-sequences E held-out windows every approximation is measured on\n"
          "                       (after the fit windows; default 4)\n"
          "  --delta X            Theorem 2's delta (default 2^-n: the paper's proof of Theorem 2,\n"
          "                       Appendix B of arXiv 2006.04768, sets delta = 1/2^n)\n",
          f);
}

int lb_ax_opt(lb_ax_opts *o, const char *name, const char *arg, int *rc) {
    long v;
    *rc = 0;
    if (!strcmp(name, "approx-draws")) {
        if (lb_parse_long(arg, &v, 0, 100000, "--approx-draws")) *rc = EX_USAGE;
        else o->draws = (int)v;
    } else if (!strcmp(name, "fit-sequences")) {
        if (lb_parse_long(arg, &v, 0, 1L << 30, "--fit-sequences")) *rc = EX_USAGE;
        else o->fit_windows = (int)v;
    } else if (!strcmp(name, "approx-sequences")) {
        if (lb_parse_long(arg, &v, 1, 1L << 20, "--approx-sequences")) *rc = EX_USAGE;
        else o->eval_windows = (int)v;
    } else if (!strcmp(name, "delta")) {
        if (lb_parse_double(arg, &o->delta, 0, 1e6, "--delta")) *rc = EX_USAGE;
    } else
        return 0;
    return 1;
}

int lb_spec_approx_init(lb_approx **out, const lb_ax_opts *o, const lb_spec_input *in, int n,
                        long windows, int nl, const int *layers, int nh, const int *heads,
                        char *msg, size_t msglen) {
    lb_ax_opts use = *o;
    *out = NULL;
    if (use.draws == 0) { /* off; a Linformer model still needs its P recomputed */
        if (lb_model_config(in->model)->attn != LB_ATTN_LINFORMER) return 0;
        use.draws = 1, use.fit_windows = use.eval_windows = 0;
    }
    /* held-out windows first claim what the run has, the fit takes the rest */
    if (use.eval_windows > windows) use.eval_windows = (int)windows;
    if (use.fit_windows > windows - use.eval_windows) use.fit_windows = (int)(windows - use.eval_windows);
    return lb_approx_init(out, &use, in->model, n, nl, layers, nh, heads, in->threads, msg, msglen);
}
