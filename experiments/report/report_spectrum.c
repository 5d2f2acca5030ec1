/* The spectrum part of REPORT.md for one `linbench spectrum --out PREFIX` result:
 * Figure 1 at every analysed n (per-layer statistics with bootstrap intervals, the
 * controls beside them, the low-rank verdict and the layer claim read three ways),
 * the statistics and growth exponents vs n, and the projection error against the
 * optimal rank-k. A verdict at an n past the model's trained length is marked
 * "outside the model's trained length" whatever its numbers say. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_report.h"
#include "lb_table.h"
#include "lb_util.h"
#include "report_int.h"

/* Thresholds of the verdict rules; printed with each verdict. */
#define SKEW_RHO 0.5       /* Spearman rho(layer, skew) for "holds"; > 0 for "more weakly" */
#define LOWRANK_HOLDS 0.90 /* pooled cumulative sigma at index n/4 */
#define LOWRANK_WEAKER 0.75
#define ENTROPY_WARN 0.90 /* row entropy / log n at or above: near-uniform rows */
#define PROJ_HOLDS 0.10   /* best projection error at the largest k <= n/4 */
#define PROJ_WEAKER 0.30
#define GROWTH_HOLDS 0.5 /* exponent of idx90 vs n */
#define GROWTH_WEAKER 1.0
#define BOOT_SEED 1
#define LEVEL 0.95

static const char *const PE_COLS[] = {
    "n",          "k",         "svd_p_mean",           "svd_pv_mean",
    "gauss_mean", "pool_mean", "linformer_gauss_mean", "linformer_pool_mean",
};
enum { P_N, P_K, P_SVDP, P_SVDPV, P_GAUSS, P_POOL, P_LG, P_LP, P_NCOL };
static const char *const CTRL_NAMES[] = {"uniform", "band"};
static const char *const CTRL_WORDS[] = {"control: uniform rows (rank 1)",
                                         "control: sharp local band (full rank)"};
enum { NCTRL = 2 };

typedef struct {
    lb_table pe, ctl;
    int p[P_NCOL], c_n, c_ctl, c_stat[LB_SPEC_NSTATS];
    cJSON *json;
    cJSON *eval;        /* PREFIX_eval.json: `linbench eval` on the same text; NULL: none */
    rb_data d, di;      /* the model; the random-init control (di.nn = 0: none) */
    rb_result res, ri;
    int trained_n, recorded, have_trained;
    const cJSON *curr, *vloss;
} spec_files;

static void free_files(spec_files *s) {
    lb_table_free(&s->pe), lb_table_free(&s->ctl);
    cJSON_Delete(s->json), cJSON_Delete(s->eval);
    rb_free(&s->d), rb_free(&s->di);
    rb_result_free(&s->res), rb_result_free(&s->ri);
}

static int read_json(cJSON **out, const char *path, const char *what) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        lb_err("%s: cannot open (%s)", path, what);
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
    *out = cJSON_Parse(b);
    free(b);
    if (!cJSON_IsObject(*out)) {
        lb_err("%s: not valid JSON (expected the %s object)", path, what);
        return EX_DATAERR;
    }
    return 0;
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "?";
}

static int jint(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

/* params.trained: the guard's record (absent in results of an older linbench). */
static void read_trained(spec_files *s) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(s->json, "params"),
                *t = cJSON_GetObjectItemCaseSensitive(p, "trained"),
                *mx = cJSON_GetObjectItemCaseSensitive(t, "max_n");
    s->trained_n = 1 << 30;
    if (!cJSON_IsNumber(mx)) return;
    s->have_trained = 1;
    s->trained_n = mx->valueint;
    s->recorded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "recorded"));
    s->curr = cJSON_GetObjectItemCaseSensitive(t, "curriculum");
    s->vloss = cJSON_GetObjectItemCaseSensitive(t, "valid_loss");
}

/* entry e of PREFIX_eval.json's "lengths" as n and loss {mean, lo, hi}; 0 if malformed */
static int eval_entry(const cJSON *e, int *n, double v[3]) {
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(e, "n"), *l = cJSON_GetObjectItemCaseSensitive(e, "loss");
    static const char *const k[3] = {"mean", "lo", "hi"};
    if (!cJSON_IsNumber(jn)) return 0;
    *n = jn->valueint;
    for (int i = 0; i < 3; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(l, k[i]);
        if (!cJSON_IsNumber(x)) return 0;
        v[i] = x->valuedouble;
    }
    return 1;
}

/* PREFIX_eval.json, optional (make reproduce writes it): the model's masked-token loss on
 * the analysed text at each n, so the report can show how well the model does on the very
 * text the spectra come from. It must name the spectrum's model and text: an eval of
 * another model or text beside this result would put a wrong number next to Figure 1. */
static int read_eval(spec_files *s, const char *prefix) {
    char path[4096];
    snprintf(path, sizeof path, "%s_eval.json", prefix);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    int rc = read_json(&s->eval, path, "`linbench eval` result");
    if (rc) return rc;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(s->json, "params"), *e;
    static const char *const ek[2] = {"model", "text"}, *const sk[2] = {"model", "input"};
    for (int i = 0; i < 2; i++)
        if (strcmp(jstr(s->eval, ek[i]), jstr(p, sk[i]))) {
            lb_err("%s: field \"%s\" is '%s', expected the spectrum result's '%s' (an eval of the same "
                   "model on the same text)", path, ek[i], jstr(s->eval, ek[i]), jstr(p, sk[i]));
            return EX_DATAERR;
        }
    const cJSON *lens = cJSON_GetObjectItemCaseSensitive(s->eval, "lengths");
    if (!cJSON_IsArray(lens)) {
        lb_err("%s: field \"lengths\": expected an array (one entry per n)", path);
        return EX_DATAERR;
    }
    cJSON_ArrayForEach(e, lens) {
        int n;
        double v[3];
        if (!eval_entry(e, &n, v)) {
            lb_err("%s: field \"lengths\": each entry needs \"n\" and \"loss\" {mean, lo, hi} as numbers", path);
            return EX_DATAERR;
        }
    }
    return 0;
}

/* The eval's loss at n into v (mean, lo, hi); 0 when not measured at n. */
static int eval_loss(const spec_files *s, int n, double v[3]) {
    const cJSON *e;
    int en;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s->eval, "lengths"))
        if (eval_entry(e, &en, v) && en == n) return 1;
    return 0;
}

static int read_files(spec_files *s, const char *prefix, const char *init, int boot) {
    char path[4096];
    const char *cn[2 + LB_SPEC_NSTATS] = {"n", "control"};
    int rc, cc[2 + LB_SPEC_NSTATS];
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "%s.json", prefix);
    if ((rc = read_json(&s->json, path, "spectrum result"))) return rc;
    read_trained(s);
    if ((rc = read_eval(s, prefix))) return rc;
    if ((rc = rb_read(&s->d, prefix))) return rc;
    snprintf(path, sizeof path, "%s_projerr_all.csv", prefix);
    if ((rc = lb_table_read_ex(&s->pe, path)) || (rc = lb_table_cols_ex(&s->pe, s->p, PE_COLS, P_NCOL))) return rc;
    snprintf(path, sizeof path, "%s_controls.csv", prefix);
    for (int i = 0; i < LB_SPEC_NSTATS; i++) cn[2 + i] = lb_spec_stat_name(i);
    if ((rc = lb_table_read_ex(&s->ctl, path)) || (rc = lb_table_cols_ex(&s->ctl, cc, cn, 2 + LB_SPEC_NSTATS)))
        return rc;
    s->c_n = cc[0], s->c_ctl = cc[1];
    memcpy(s->c_stat, cc + 2, sizeof s->c_stat);
    if ((rc = rb_bootstrap(&s->res, &s->d, boot, BOOT_SEED, LEVEL, s->trained_n))) return rc;
    if (init) {
        if ((rc = rb_read(&s->di, init))) return rc;
        if ((rc = rb_bootstrap(&s->ri, &s->di, boot, BOOT_SEED, LEVEL, 1 << 30))) return rc;
    }
    return 0;
}

/* A control's statistic at n (NaN when the controls file lacks it). */
static double ctrl(const spec_files *s, int n, int c, int stat) {
    for (size_t i = 0; i < s->ctl.nrow; i++)
        if (lb_table_num(&s->ctl, i, s->c_n) == n && !strcmp(lb_table_str(&s->ctl, i, s->c_ctl), CTRL_NAMES[c]))
            return lb_table_num(&s->ctl, i, s->c_stat[stat]);
    return NAN;
}

/* The last validation loss logged at n (params.trained.valid_loss), NaN if none. */
static double valid_loss(const spec_files *s, int n) {
    const cJSON *p;
    cJSON_ArrayForEach(p, s->vloss) {
        const cJSON *a = cJSON_GetArrayItem(p, 0), *b = cJSON_GetArrayItem(p, 1);
        if (cJSON_IsNumber(a) && cJSON_IsNumber(b) && a->valueint == n) return b->valuedouble;
    }
    return NAN;
}

/* The index of the "at index" statistics at n (PREFIX.json runs[].index; n/4 if absent). */
static int run_index(const spec_files *s, int n) {
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(s->json, "runs")) {
        const cJSON *rn = cJSON_GetObjectItemCaseSensitive(run, "n"), *ix = cJSON_GetObjectItemCaseSensitive(run, "index");
        if (cJSON_IsNumber(rn) && rn->valueint == n && cJSON_IsNumber(ix)) return ix->valueint;
    }
    return n / 4 > 0 ? n / 4 : 1;
}

/* "x [lo, hi]" with the given decimals. */
static const char *iv(char *buf, size_t len, const rb_result *r, int q, int dec) {
    snprintf(buf, len, "%.*f [%.*f, %.*f]", dec, r->est[q], dec, r->lo[q], dec, r->hi[q]);
    return buf;
}

/* What the model trained at, and the validation loss at each analysed n. */
static void trained_text(lb_report *r, const spec_files *s) {
    FILE *o = r->md;
    if (!s->have_trained) {
        fprintf(o, "\n**Trained length:** not in this result (written by an older linbench): no n is "
                   "checked against the lengths the model trained at.\n");
    } else if (!s->recorded) {
        fprintf(o, "\n**Trained length:** the model's config.json records none (no `linbench_trained`: "
                   "not exported by `linbench train`), so it is treated as trained at every length its "
                   "position table allows, n ≤ %d (max_position_embeddings − 2 for RoBERTa); verdicts "
                   "cannot tell a length it never learned.\n", s->trained_n);
    } else {
        fprintf(o, "\n**Trained length:** n ≤ %d. Updates per length (config.json `linbench_trained`):",
                s->trained_n);
        const cJSON *p;
        int first = 1;
        cJSON_ArrayForEach(p, s->curr) {
            fprintf(o, "%s n = %d: %d", first ? "" : ",", cJSON_GetArrayItem(p, 0)->valueint,
                    cJSON_GetArrayItem(p, 1)->valueint);
            first = 0;
        }
        fprintf(o, ". A verdict at a longer n is marked \"outside the model's trained length\".\n");
    }
    fprintf(o, "\n| n | windows | masked-token loss on this text (`linbench eval`, 95%% interval) | "
               "validation loss at n in training (last logged) | within the trained length |\n"
               "|---|---|---|---|---|\n");
    for (int ni = 0; ni < s->d.nn; ni++) {
        int n = s->d.len[ni].n;
        double v = valid_loss(s, n), e[3];
        fprintf(o, "| %d | %d | ", n, s->d.len[ni].W);
        if (eval_loss(s, n, e)) fprintf(o, "%.4f [%.4f, %.4f] | ", e[0], e[1], e[2]);
        else fprintf(o, "— (not measured) | ");
        if (isnan(v)) fprintf(o, "— (not a training length) | ");
        else fprintf(o, "%.4f | ", v);
        fprintf(o, "%s |\n", n <= s->trained_n ? "yes" : "**no**");
    }
    if (!s->eval)
        fprintf(o, "\nNo `linbench eval` of the model on this text next to the result (PREFIX_eval.json; "
                   "`make reproduce` writes it): the loss column is empty.\n");
    else
        fprintf(o, "\nThe eval column: `linbench eval` on the first %d tokens of the same text (whole "
                   "documents packed into windows of n, %d masking draw%s; interval over windows). The "
                   "training column: the last validation loss logged at that n during training, on the "
                   "training run's validation split, by the model as it was then.\n",
                jint(s->eval, "tokens"), jint(s->eval, "passes"), jint(s->eval, "passes") == 1 ? "" : "s");
    fprintf(o, "\nEvery x [lo, hi] below is the mean over windows with its 95%% percentile bootstrap interval "
               "(%d resamples of the windows, each n on its own, seed %d). A verdict holds only when its "
               "whole interval passes the rule, and is undecided when the interval straddles a threshold. "
               "Controls beside each table: the same architecture at random init (`linbench spectrum "
               "--random-init`), and two synthetic P through the same code: uniform rows (rank 1) and a "
               "sharp local band (P_ij ∝ e^−|i−j| for |i−j| ≤ 2: full rank).\n",
            s->res.B, BOOT_SEED);
}

static void table_row(FILE *o, const char *label, const rb_result *res, const rb_data *d, int ni, int l) {
    static const int cols[] = {LB_SPEC_AT_SIGMA, LB_SPEC_AT_ENERGY, LB_SPEC_IDX90_SIGMA,
                               LB_SPEC_IDX99_SIGMA, LB_SPEC_EFF_RANK, LB_SPEC_ROW_ENTROPY};
    static const int dec[] = {4, 4, 1, 1, 1, 3};
    char b[128];
    fprintf(o, "| %s |", label);
    for (int c = 0; c < 6; c++) fprintf(o, " %s |", iv(b, sizeof b, res, rb_q_mean(d, ni, l, cols[c]), dec[c]));
    fputc('\n', o);
}

/* The per-layer table at one n, with the pooled row and the controls. */
static void fig1_table(lb_report *r, const spec_files *s, int ni) {
    FILE *o = r->md;
    int n = s->d.len[ni].n;
    char lab[64];
    fprintf(o, "\n| layer | cumulative σ at n/4 | cumulative σ² at n/4 | idx90 (σ) | idx99 (σ) | effective "
               "rank | row entropy / log n |\n|---|---|---|---|---|---|---|\n");
    for (int l = 0; l < s->d.nl; l++) {
        snprintf(lab, sizeof lab, "%d", s->d.layers[l]);
        table_row(o, lab, &s->res, &s->d, ni, l);
    }
    table_row(o, "**all**", &s->res, &s->d, ni, s->d.nl);
    int ii = -1;
    for (int k = 0; k < s->di.nn; k++)
        if (s->di.len[k].n == n) ii = k;
    if (ii >= 0) table_row(o, "control: random init, all layers", &s->ri, &s->di, ii, s->di.nl);
    else fprintf(o, "| control: random init | not run at this n | | | | | |\n");
    for (int c = 0; c < NCTRL; c++)
        fprintf(o, "| %s | %.4f | %.4f | %.0f | %.0f | %.1f | %.3f |\n", CTRL_WORDS[c],
                ctrl(s, n, c, LB_SPEC_AT_SIGMA), ctrl(s, n, c, LB_SPEC_AT_ENERGY),
                ctrl(s, n, c, LB_SPEC_IDX90_SIGMA), ctrl(s, n, c, LB_SPEC_IDX99_SIGMA),
                ctrl(s, n, c, LB_SPEC_EFF_RANK), ctrl(s, n, c, LB_SPEC_ROW_ENTROPY));
}

/* Higher layers more skewed, read three ways (σ at n/4 up, idx90 down, effective rank down). */
static int layer_claim(lb_report *r, const spec_files *s, int ni, const char *name, int outside) {
    static const char *const words[RB_NRHO] = {"cumulative σ at n/4 rises with the layer",
                                               "idx90 (σ) falls with the layer",
                                               "effective rank falls with the layer"};
    FILE *o = r->md;
    int n = s->d.len[ni].n;
    lb_verdict_kind k[RB_NRHO];
    char num[1024], b[96], rule[400], ref[256], claim[256];
    size_t len = 0;
    fprintf(o, "\n| reading of \"higher layers are more skewed\" | Spearman ρ(layer, reading) | reading "
               "alone |\n|---|---|---|\n");
    for (int m = 0; m < RB_NRHO; m++) {
        int q = rb_q_rho(&s->d, ni, m);
        k[m] = s->d.nl < 2 ? LB_UNDECIDED : lb_verdict_interval(s->res.lo[q], s->res.hi[q], SKEW_RHO, 1e-12, 1);
        fprintf(o, "| %s | %s | %s |\n", words[m], iv(b, sizeof b, &s->res, q, 3), lb_verdict_word(k[m]));
        len += (size_t)snprintf(num + len, len < sizeof num ? sizeof num - len : 0, "%s%s: ρ = %s", m ? "; " : "",
                                m == 0 ? "σ at n/4" : m == 1 ? "idx90" : "effective rank", b);
    }
    int agree = k[0] == k[1] && k[1] == k[2];
    lb_verdict_kind v = outside ? LB_OUTSIDE : agree ? k[0] : LB_UNDECIDED;
    if (!agree)
        fprintf(o, "\nThe three readings disagree at n = %d (%s / %s / %s): the layer trend depends on how "
                   "skew is measured.\n", n, lb_verdict_word(k[0]), lb_verdict_word(k[1]), lb_verdict_word(k[2]));
    snprintf(rule, sizeof rule,
             "for each reading, ρ interval ≥ %.1f → holds; > 0 → holds more weakly; ≤ 0 → does not "
             "hold; straddling → undecided; the claim takes the common verdict of the three readings, "
             "undecided when they disagree; n past the trained length → outside",
             SKEW_RHO);
    snprintf(ref, sizeof ref, "Figure 1 right, %s (n = %d)", name, n);
    snprintf(claim, sizeof claim, "higher layers are more skewed (lower rank) — %s, n = %d", name, n);
    return lb_report_verdict(r, claim, v, rule, ref, num);
}

static int low_rank(lb_report *r, const spec_files *s, int ni, const char *name, int outside) {
    int n = s->d.len[ni].n, q = rb_q_mean(&s->d, ni, s->d.nl, LB_SPEC_AT_SIGMA);
    char num[512], b[96], rule[300], ref[256], claim[256];
    lb_verdict_kind k = outside ? LB_OUTSIDE
                                : lb_verdict_interval(s->res.lo[q], s->res.hi[q], LOWRANK_HOLDS, LOWRANK_WEAKER, 1);
    snprintf(num, sizeof num, "cumulative σ at index %d of %d, all layers and heads: %s (uniform control %.4f, "
             "band control %.4f)", run_index(s, n), n, iv(b, sizeof b, &s->res, q, 4),
             ctrl(s, n, 0, LB_SPEC_AT_SIGMA), ctrl(s, n, 1, LB_SPEC_AT_SIGMA));
    snprintf(rule, sizeof rule, "interval ≥ %.2f → holds; within [%.2f, %.2f) → holds more weakly; below %.2f → "
             "does not hold; straddling → undecided; n past the trained length → outside", LOWRANK_HOLDS,
             LOWRANK_WEAKER, LOWRANK_HOLDS, LOWRANK_WEAKER);
    snprintf(ref, sizeof ref, "Figure 1 left, %s (n = %d)", name, n);
    snprintf(claim, sizeof claim, "P is low rank: most of its spectrum lies in the first n/4 singular values — %s, "
             "n = %d", name, n);
    int rc = lb_report_verdict(r, claim, k, rule, ref, num);
    double ent = s->res.est[rb_q_mean(&s->d, ni, s->d.nl, LB_SPEC_ROW_ENTROPY)];
    if (!rc && ent >= ENTROPY_WARN)
        fprintf(r->md, "\n> **Warning:** mean row entropy / log n = %.3f (≥ %.2f): the attention rows are close "
                       "to uniform, and a near-uniform P is trivially low rank, so this spectrum says little "
                       "about learned structure.\n", ent, ENTROPY_WARN);
    return rc;
}

/* Figure 1 at length index ni: figures, table, the two verdicts. */
static int figure1(lb_report *r, const spec_files *s, const char *prefix, const char *name, int ni) {
    FILE *o = r->md;
    int n = s->d.len[ni].n, outside = n > s->trained_n;
    char path[4096];
    double v = valid_loss(s, n), e[3];
    fprintf(o, "\n### Figure 1 — %s, n = %d%s\n\n", name, n, outside ? " — outside the model's trained length" : "");
    if (eval_loss(s, n, e)) fprintf(o, "Masked-token loss at n = %d on this text: %.4f [%.4f, %.4f] (`linbench eval`); ", n, e[0], e[1], e[2]);
    else fprintf(o, "Masked-token loss at n = %d on this text: not measured; ", n);
    if (isnan(v)) fprintf(o, "in training: not a training length.\n");
    else fprintf(o, "in training: %.4f (last logged at this n).\n", v);
    if (outside)
        fprintf(o, "\n> **Outside the model's trained length:** it trained at n ≤ %d; the positions past that are "
                   "what initialisation left, so the verdicts at n = %d describe the training gap, not attention.\n",
                s->trained_n, n);
    snprintf(path, sizeof path, "%s_fig1_left_sigma_n%d.png", prefix, n);
    lb_report_figure(r, "Figure 1 left: cumulative singular values per layer, with the controls", path);
    snprintf(path, sizeof path, "%s_fig1_right_n%d.png", prefix, n);
    lb_report_figure(r, "Figure 1 right: heatmap of layers x heads at the index", path);
    fig1_table(r, s, ni);
    int rc = low_rank(r, s, ni, name, outside);
    return rc ? rc : layer_claim(r, s, ni, name, outside);
}

/* Projection error at length n against the Eckart–Young optimum. */
static int projerr(lb_report *r, const spec_files *s, const char *prefix, const char *name, long n) {
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
    lb_verdict_kind k = n > s->trained_n ? LB_OUTSIDE
                        : best <= PROJ_HOLDS ? LB_HOLDS : best <= PROJ_WEAKER ? LB_WEAKER : LB_NOT_HOLD;
    snprintf(num, sizeof num, "k = %g: best stand-in error %.4f (optimal rank-k %.4f)", v[P_K], best,
             v[P_SVDPV]);
    snprintf(rule, sizeof rule,
             "best projection error at the largest k ≤ n/4 ≤ %.2f → holds; ≤ %.2f → holds more weakly; "
             "otherwise does not hold; n past the trained length → outside",
             PROJ_HOLDS, PROJ_WEAKER);
    snprintf(ref, sizeof ref, "projection error table, %s (n = %ld)", name, n);
    snprintf(claim, sizeof claim,
             "PV is well approximated through a k-dimensional projection (Theorem 1) — %s", name);
    return lb_report_verdict(r, claim, k, rule, ref, num);
}

/* The statistics vs n, the growth exponents (least-squares fits over every n), and the
 * layer claim's readings across n. */
static int vs_n(lb_report *r, const spec_files *s, const char *prefix, const char *name) {
    FILE *o = r->md;
    const rb_data *d = &s->d;
    const rb_result *res = &s->res;
    char path[4096], num[512], rule[400], ref[256], claim[256], b[4][96];
    fprintf(o, "\n### Spectrum vs n — %s\n", name);
    snprintf(path, sizeof path, "%s_spectrum_vs_n.png", prefix);
    lb_report_figure(r, "spectrum statistics vs n", path);
    fprintf(o, "\n| n | cumulative σ at n/4 | idx90 (σ) | idx90 (σ²) | effective rank | row entropy / log n | "
               "trained |\n|---|---|---|---|---|---|---|\n");
    int ntr = 0;
    for (int ni = 0; ni < d->nn; ni++) {
        int n = d->len[ni].n;
        ntr += n <= s->trained_n;
        fprintf(o, "| %d | %s | %s | %s | %s | %.3f | %s |\n", n,
                iv(b[0], sizeof b[0], res, rb_q_mean(d, ni, d->nl, LB_SPEC_AT_SIGMA), 4),
                iv(b[1], sizeof b[1], res, rb_q_mean(d, ni, d->nl, LB_SPEC_IDX90_SIGMA), 1),
                iv(b[2], sizeof b[2], res, rb_q_mean(d, ni, d->nl, LB_SPEC_IDX90_ENERGY), 1),
                iv(b[3], sizeof b[3], res, rb_q_mean(d, ni, d->nl, LB_SPEC_EFF_RANK), 1),
                res->est[rb_q_mean(d, ni, d->nl, LB_SPEC_ROW_ENTROPY)], n <= s->trained_n ? "yes" : "no");
    }
    fprintf(o, "\nGrowth exponent: the slope of a least-squares fit of log idx90 against log n, per layer and "
               "pooled (1 = the rank grows like n, 0 = it does not grow), over the n within the trained "
               "length (%d of them) and over every analysed n (%d).\n\n"
               "| layer | idx90 (σ), trained n | idx90 (σ²), trained n | idx90 (σ), every n | idx90 (σ²), every "
               "n |\n|---|---|---|---|---|\n", ntr, d->nn);
    for (int l = 0; l <= d->nl; l++) {
        if (l < d->nl) fprintf(o, "| %d |", d->layers[l]);
        else fprintf(o, "| **all** |");
        for (int set = 0; set < RB_NSET; set++)
            for (int w = 0; w < RB_NGROW; w++) fprintf(o, " %s |", iv(b[0], sizeof b[0], res, rb_q_grow(d, set, l, w), 3));
        fputc('\n', o);
    }
    /* the layer claim's three readings at every n: where they agree */
    fprintf(o, "\nThe layer claim across n (Spearman ρ of each reading; verdict of the reading alone):\n\n"
               "| n | σ at n/4 | idx90 (σ) | effective rank |\n|---|---|---|---|\n");
    for (int ni = 0; ni < d->nn; ni++) {
        fprintf(o, "| %d%s |", d->len[ni].n, d->len[ni].n > s->trained_n ? " (outside)" : "");
        for (int m = 0; m < RB_NRHO; m++) {
            int q = rb_q_rho(d, ni, m);
            fprintf(o, " %s: %s |", iv(b[0], sizeof b[0], res, q, 2),
                    lb_verdict_word(lb_verdict_interval(res->lo[q], res->hi[q], SKEW_RHO, 1e-12, 1)));
        }
        fputc('\n', o);
    }
    int q = rb_q_grow(d, RB_SET_TRAINED, d->nl, RB_GROW_SIGMA);
    lb_verdict_kind k = ntr < 2 && d->nn >= 2 ? LB_OUTSIDE
                        : lb_verdict_interval(res->lo[q], res->hi[q], GROWTH_HOLDS, GROWTH_WEAKER, 0);
    snprintf(num, sizeof num, "pooled exponent of idx90 (σ) over the %d n within the trained length: %s; over every "
             "n: %s", ntr, iv(b[0], sizeof b[0], res, q, 3),
             iv(b[1], sizeof b[1], res, rb_q_grow(d, RB_SET_ALL, d->nl, RB_GROW_SIGMA), 3));
    snprintf(rule, sizeof rule,
             "exponent interval ≤ %.1f → holds; within (%.1f, %.1f] → holds more weakly; above %.1f "
             "(rank grows like n) → does not hold; straddling, or fewer than 2 n → undecided; fewer than 2 n "
             "within the trained length → outside", GROWTH_HOLDS, GROWTH_HOLDS, GROWTH_WEAKER, GROWTH_WEAKER);
    snprintf(ref, sizeof ref, "spectrum vs n, %s", name);
    snprintf(claim, sizeof claim, "the rank P needs grows much slower than n — %s", name);
    return lb_report_verdict(r, claim, k, rule, ref, num);
}

int lb_report_spectrum(lb_report *r, const char *prefix, const char *name, const char *init, int boot) {
    spec_files s;
    int rc = read_files(&s, prefix, init, boot > 0 ? boot : 1000);
    if (rc) {
        free_files(&s);
        return rc;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(s.json, "params");
    FILE *o = r->md;
    fprintf(o, "\n## Figure 1 — %s\n\nModel `%s`, input `%s` (tokenizer %s, policy %s); result `%s`", name,
            jstr(p, "model"), jstr(p, "input"), jstr(p, "tokenizer"), jstr(p, "policy"), prefix);
    if (init) fprintf(o, "; random-init control `%s`", init);
    fprintf(o, ".\n");
    trained_text(r, &s);
    for (int ni = 0; ni < s.d.nn && !rc; ni++) rc = figure1(r, &s, prefix, name, ni);
    /* projection error at n = 512 as the paper, else the largest n measured */
    long n = 0;
    for (size_t i = 0; i < s.pe.nrow; i++) {
        double x = lb_table_num(&s.pe, i, s.p[P_N]);
        if (x == 512 || (n != 512 && x > n)) n = (long)x;
    }
    if (!rc && n) rc = projerr(r, &s, prefix, name, n);
    if (!rc) rc = vs_n(r, &s, prefix, name);
    free_files(&s);
    return rc;
}
