/* The spectrum part of REPORT.md for one `linbench spectrum --out PREFIX` result:
 * Figure 1 (per-layer statistics at index n/4, the layer trend), projection error
 * against the optimal rank-k error, and the statistics vs n. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_report.h"
#include "lb_util.h"

/* Thresholds of the verdict rules; printed with each verdict. */
#define SKEW_RHO 0.5       /* Spearman rho(layer, value at index) for "holds" */
#define LOWRANK_HOLDS 0.90 /* pooled cumulative sigma at index n/4 */
#define LOWRANK_WEAKER 0.75
#define ENTROPY_WARN 0.90 /* row entropy / log n at or above: near-uniform rows */
#define PROJ_HOLDS 0.10   /* best projection error at the largest k <= n/4 */
#define PROJ_WEAKER 0.30
#define GROWTH_HOLDS 0.5 /* exponent of idx90 vs n */
#define GROWTH_WEAKER 1.0

static const char *const VSN_COLS[] = {
    "n",
    "layer",
    "index",
    "at_index_sigma_mean",
    "at_index_sigma_std",
    "at_index_energy_mean",
    "idx90_sigma_mean",
    "eff_rank_mean",
    "row_entropy_ratio_mean",
};
enum { V_N, V_LAYER, V_INDEX, V_SIG, V_SIGSD, V_ENE, V_IDX90, V_EFF, V_ENT, V_NCOL };
static const char *const PE_COLS[] = {
    "n",          "k",         "svd_p_mean",           "svd_pv_mean",
    "gauss_mean", "pool_mean", "linformer_gauss_mean", "linformer_pool_mean",
};
enum { P_N, P_K, P_SVDP, P_SVDPV, P_GAUSS, P_POOL, P_LG, P_LP, P_NCOL };

typedef struct {
    lb_table vsn, pe, sum;
    int v[V_NCOL], p[P_NCOL], s_n, s_layer, s_sig;
    cJSON *json;
} spec_files;

static void free_files(spec_files *s) {
    lb_table_free(&s->vsn), lb_table_free(&s->pe), lb_table_free(&s->sum);
    cJSON_Delete(s->json);
}

static int read_json(spec_files *s, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        lb_err("%s: cannot open (spectrum result)", path);
        return EX_NOINPUT;
    }
    char *b = NULL;
    size_t cap = 0, n = 0, got;
    do {
        char *nb = realloc(b, cap = cap ? 2 * cap : 1 << 16);
        if (!nb) break;
        b = nb;
        n += got = fread(b + n, 1, cap - n - 1, f);
    } while (n == cap - 1 && got);
    fclose(f);
    if (!b) return EX_OSERR;
    b[n] = 0;
    s->json = cJSON_Parse(b);
    free(b);
    if (!cJSON_IsObject(s->json)) {
        lb_err("%s: not valid JSON (expected the spectrum result object)", path);
        return EX_DATAERR;
    }
    return 0;
}

static int read_files(spec_files *s, const char *prefix) {
    char path[4096], msg[1024];
    int rc;
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "%s.json", prefix);
    if ((rc = read_json(s, path))) return rc;
    snprintf(path, sizeof path, "%s_vs_n.csv", prefix);
    if (lb_table_read(&s->vsn, path, msg, sizeof msg) || lb_table_cols(&s->vsn, s->v, VSN_COLS, V_NCOL, msg, sizeof msg))
        return lb_err("%s", msg), s->vsn.cannot_open ? EX_NOINPUT : EX_DATAERR;
    snprintf(path, sizeof path, "%s_projerr_all.csv", prefix);
    if (lb_table_read(&s->pe, path, msg, sizeof msg) || lb_table_cols(&s->pe, s->p, PE_COLS, P_NCOL, msg, sizeof msg))
        return lb_err("%s", msg), s->pe.cannot_open ? EX_NOINPUT : EX_DATAERR;
    snprintf(path, sizeof path, "%s_summary.csv", prefix);
    if (lb_table_read(&s->sum, path, msg, sizeof msg)) return lb_err("%s", msg), s->sum.cannot_open ? EX_NOINPUT : EX_DATAERR;
    if ((s->s_n = lb_table_col(&s->sum, "n", msg, sizeof msg)) < 0 || (s->s_layer = lb_table_col(&s->sum, "layer", msg, sizeof msg)) < 0 ||
        (s->s_sig = lb_table_col(&s->sum, "at_index_sigma_mean", msg, sizeof msg)) < 0)
        return lb_err("%s", msg), EX_DATAERR;
    if (s->vsn.nrow == 0) {
        lb_err("%s_vs_n.csv: no data rows", prefix);
        return EX_DATAERR;
    }
    return 0;
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

static double vnum(const spec_files *s, size_t row, int c) { return lb_table_num(&s->vsn, row, s->v[c]); }

/* Figure 1 at length n: per-layer table and the two verdicts. */
static int figure1(lb_report *r, spec_files *s, const char *prefix, const char *name, long n) {
    FILE *o = r->md;
    char fig[4096], num[512], ref[512];
    size_t pooled = (size_t)-1;
    int nl = 0;
    double *lay = malloc(2 * s->vsn.nrow * sizeof *lay), *val = lay ? lay + s->vsn.nrow : NULL;
    if (!lay) return EX_OSERR;
    fprintf(o, "\n| layer | cumulative σ at index (mean ± std) | heads min–max | cumulative σ² at index "
               "| idx90 (σ) | effective rank | row entropy / log n |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < s->vsn.nrow; i++) {
        if (vnum(s, i, V_N) != (double)n) continue;
        double layer = vnum(s, i, V_LAYER);
        if (layer < 0) {
            pooled = i;
            continue;
        }
        double lo = INFINITY, hi = -INFINITY;
        for (size_t j = 0; j < s->sum.nrow; j++) {
            if (lb_table_num(&s->sum, j, s->s_n) != (double)n ||
                lb_table_num(&s->sum, j, s->s_layer) != layer)
                continue;
            double x = lb_table_num(&s->sum, j, s->s_sig);
            lo = fmin(lo, x), hi = fmax(hi, x);
        }
        lay[nl] = layer, val[nl++] = vnum(s, i, V_SIG);
        fprintf(o, "| %g | %.4f ± %.4f | %.4f–%.4f | %.4f | %.1f | %.1f | %.3f |\n", layer, vnum(s, i, V_SIG),
                vnum(s, i, V_SIGSD), lo, hi, vnum(s, i, V_ENE), vnum(s, i, V_IDX90), vnum(s, i, V_EFF),
                vnum(s, i, V_ENT));
    }
    if (pooled != (size_t)-1)
        fprintf(o, "| all | %.4f ± %.4f | | %.4f | %.1f | %.1f | %.3f |\n", vnum(s, pooled, V_SIG),
                vnum(s, pooled, V_SIGSD), vnum(s, pooled, V_ENE), vnum(s, pooled, V_IDX90),
                vnum(s, pooled, V_EFF), vnum(s, pooled, V_ENT));
    int rc = 0;
    /* higher layers more skewed: rank correlation and the top half against the bottom half */
    double rho = lb_spearman(lay, val, nl), bot = 0, top = 0;
    int h = nl / 2;
    for (int i = 0; i < nl; i++) { /* rows come in layer order from the writer */
        if (i < h) bot += val[i] / h;
        if (i >= nl - h) top += val[i] / h;
    }
    lb_verdict_kind k = nl < 2                        ? LB_UNDECIDED
                        : rho > SKEW_RHO && top > bot ? LB_HOLDS
                        : rho > 0 && top > bot        ? LB_WEAKER
                                                      : LB_NOT_HOLD;
    snprintf(num, sizeof num, "%d layers, Spearman ρ = %.3f, top-half mean %.4f vs bottom-half mean %.4f", nl,
             rho, top, bot);
    snprintf(ref, sizeof ref, "Figure 1 right, %s (n = %ld)", name, n);
    snprintf(fig, sizeof fig,
             "ρ(layer, cumulative σ at index) > %.1f and top-half mean > bottom-half mean → holds; ρ > 0 and "
             "top > bottom → holds more weakly; otherwise does not hold",
             SKEW_RHO);
    char claim[256];
    snprintf(claim, sizeof claim, "higher layers are more skewed (lower rank) — %s", name);
    rc = lb_report_verdict(r, claim, k, fig, ref, num);
    if (!rc && pooled != (size_t)-1) {
        double x = vnum(s, pooled, V_SIG);
        k = x >= LOWRANK_HOLDS ? LB_HOLDS : x >= LOWRANK_WEAKER ? LB_WEAKER : LB_NOT_HOLD;
        snprintf(num, sizeof num, "cumulative σ at index %g of %ld, all layers and heads: %.4f",
                 vnum(s, pooled, V_INDEX), n, x);
        snprintf(fig, sizeof fig, "≥ %.2f → holds; ≥ %.2f → holds more weakly; otherwise does not hold",
                 LOWRANK_HOLDS, LOWRANK_WEAKER);
        snprintf(ref, sizeof ref, "Figure 1 left, %s (n = %ld)", name, n);
        snprintf(claim, sizeof claim,
                 "P is low rank: most of its spectrum lies in the first n/4 singular values — %s", name);
        rc = lb_report_verdict(r, claim, k, fig, ref, num);
        double ent = vnum(s, pooled, V_ENT);
        if (!rc && ent >= ENTROPY_WARN)
            fprintf(
                o,
                "\n> **Warning:** mean row entropy / log n = %.3f (≥ %.2f): the attention rows are close to "
                "uniform, and a near-uniform P is trivially low rank, so this spectrum says little about "
                "learned structure.\n",
                ent, ENTROPY_WARN);
    }
    free(lay);
    return rc;
}

/* Projection error at length n against the Eckart–Young optimum. */
static int projerr(lb_report *r, spec_files *s, const char *prefix, const char *name, long n) {
    FILE *o = r->md;
    char path[4096], num[512], rule[256], ref[256], claim[256];
    fprintf(o,
            "\n### Projection error vs the optimal rank-k — %s (n = %ld)\n\n"
            "Relative Frobenius errors of stand-ins for PV (and for P in the optimal column), "
            "mean over layers, heads and sequences.\n",
            name, n);
    snprintf(path, sizeof path, "%s_projerr_n%ld.png", prefix, n);
    lb_report_figure(r, "projection error vs k", path);
    fprintf(
        o, "\n| k | optimal ‖P−P_k‖/‖P‖ | optimal rank-k PV | P RᵀR V (Gaussian) | mean pooling | Linformer, "
           "Gaussian E | Linformer, pooling E | best stand-in / optimal PV "
           "|\n|---|---|---|---|---|---|---|---|\n");
    size_t best_row = (size_t)-1;
    double best_k = -1;
    for (size_t i = 0; i < s->pe.nrow; i++) {
        if (lb_table_num(&s->pe, i, s->p[P_N]) != (double)n) continue;
        double v[P_NCOL];
        for (int c = 0; c < P_NCOL; c++) v[c] = lb_table_num(&s->pe, i, s->p[c]);
        double best = fmin(fmin(v[P_GAUSS], v[P_POOL]), fmin(v[P_LG], v[P_LP]));
        fprintf(o, "| %g | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | ", v[P_K], v[P_SVDP], v[P_SVDPV],
                v[P_GAUSS], v[P_POOL], v[P_LG], v[P_LP]);
        /* at k = n the optimum is exact (0): a ratio to it says nothing */
        if (v[P_SVDPV] > 1e-6)
            fprintf(o, "%.2f |\n", best / v[P_SVDPV]);
        else
            fprintf(o, "— |\n");
        if (v[P_K] <= n / 4.0 && v[P_K] > best_k) best_k = v[P_K], best_row = i;
    }
    if (best_row == (size_t)-1) {
        fprintf(o, "\n> no projection sizes k ≤ n/4 at n = %ld in `%s_projerr_all.csv`\n", n, prefix);
        return 0;
    }
    double v[P_NCOL];
    for (int c = 0; c < P_NCOL; c++) v[c] = lb_table_num(&s->pe, best_row, s->p[c]);
    double best = fmin(fmin(v[P_GAUSS], v[P_POOL]), fmin(v[P_LG], v[P_LP]));
    lb_verdict_kind k = best <= PROJ_HOLDS ? LB_HOLDS : best <= PROJ_WEAKER ? LB_WEAKER : LB_NOT_HOLD;
    snprintf(num, sizeof num, "k = %g: best stand-in error %.4f (optimal rank-k %.4f)", v[P_K], best,
             v[P_SVDPV]);
    snprintf(rule, sizeof rule,
             "best projection error at the largest k ≤ n/4 ≤ %.2f → holds; ≤ %.2f → holds more weakly; "
             "otherwise does not hold",
             PROJ_HOLDS, PROJ_WEAKER);
    snprintf(ref, sizeof ref, "projection error table, %s (n = %ld)", name, n);
    snprintf(claim, sizeof claim,
             "PV is well approximated through a k-dimensional projection (Theorem 1) — %s", name);
    return lb_report_verdict(r, claim, k, rule, ref, num);
}

static int vs_n(lb_report *r, spec_files *s, const char *prefix, const char *name) {
    FILE *o = r->md;
    char path[4096], num[512], rule[256], ref[256], claim[256];
    fprintf(o, "\n### Spectrum vs n — %s\n", name);
    snprintf(path, sizeof path, "%s_spectrum_vs_n.png", prefix);
    lb_report_figure(r, "spectrum statistics vs n", path);
    fprintf(o, "\n| n | index | cumulative σ at index | idx90 (σ) | idx90 / n | effective rank | row entropy "
               "/ log n |\n"
               "|---|---|---|---|---|---|---|\n");
    double n0 = 0, i0 = 0, n1 = 0, i1 = 0;
    int cnt = 0;
    for (size_t i = 0; i < s->vsn.nrow; i++) {
        if (vnum(s, i, V_LAYER) >= 0) continue;
        double n = vnum(s, i, V_N), idx = vnum(s, i, V_IDX90);
        fprintf(o, "| %g | %g | %.4f | %.1f | %.3f | %.1f | %.3f |\n", n, vnum(s, i, V_INDEX),
                vnum(s, i, V_SIG), idx, idx / n, vnum(s, i, V_EFF), vnum(s, i, V_ENT));
        if (!cnt || n < n0) n0 = n, i0 = idx;
        if (!cnt || n > n1) n1 = n, i1 = idx;
        cnt++;
    }
    double g = cnt >= 2 && n1 > n0 && i0 > 0 && i1 > 0 ? log(i1 / i0) / log(n1 / n0) : NAN;
    lb_verdict_kind k = isnan(g)            ? LB_UNDECIDED
                        : g < GROWTH_HOLDS  ? LB_HOLDS
                        : g < GROWTH_WEAKER ? LB_WEAKER
                                            : LB_NOT_HOLD;
    snprintf(num, sizeof num, "idx90 %.1f at n = %g, %.1f at n = %g: growth exponent %.3f", i0, n0, i1, n1,
             g);
    snprintf(rule, sizeof rule,
             "exponent log(idx90 ratio)/log(n ratio) < %.1f → holds; < %.1f → holds more weakly; otherwise "
             "(rank grows like n) does not hold; one n → undecided",
             GROWTH_HOLDS, GROWTH_WEAKER);
    snprintf(ref, sizeof ref, "spectrum vs n, %s", name);
    snprintf(claim, sizeof claim, "the rank P needs grows much slower than n — %s", name);
    return lb_report_verdict(r, claim, k, rule, ref, num);
}

int lb_report_spectrum(lb_report *r, const char *prefix, const char *name) {
    spec_files s;
    int rc = read_files(&s, prefix);
    if (rc) {
        free_files(&s);
        return rc;
    }
    /* Figure 1 at n = 512 as the paper, else the largest n measured */
    long n = 0;
    for (size_t i = 0; i < s.vsn.nrow; i++) {
        double x = vnum(&s, i, V_N);
        if (x == 512 || (n != 512 && x > n)) n = (long)x;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(s.json, "params");
    FILE *o = r->md;
    char path[4096];
    fprintf(o, "\n## Figure 1 — %s\n\nModel `%s`, input `%s` (tokenizer %s, policy %s); result `%s`.\n", name,
            jstr(p, "model"), jstr(p, "input"), jstr(p, "tokenizer"), jstr(p, "policy"), prefix);
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(s.json, "runs"), *run;
    cJSON_ArrayForEach(run, runs) {
        const cJSON *rn = cJSON_GetObjectItemCaseSensitive(run, "n"),
                    *sq = cJSON_GetObjectItemCaseSensitive(run, "sequences");
        if (cJSON_IsNumber(rn) && cJSON_IsNumber(sq))
            fprintf(o, "%s n = %g: %g sequences", run == runs->child ? "" : ";", rn->valuedouble,
                    sq->valuedouble);
    }
    fprintf(o, ".\n");
    snprintf(path, sizeof path, "%s_fig1_left_sigma_n%ld.png", prefix, n);
    lb_report_figure(r, "Figure 1 left: cumulative singular values per layer", path);
    snprintf(path, sizeof path, "%s_fig1_right_n%ld.png", prefix, n);
    lb_report_figure(r, "Figure 1 right: heatmap of layers x heads at the index", path);
    rc = figure1(r, &s, prefix, name, n);
    if (!rc) rc = projerr(r, &s, prefix, name, n);
    if (!rc) rc = vs_n(r, &s, prefix, name);
    free_files(&s);
    return rc;
}
