/* "Approximations on real attention": Theorems 1 and 2 tested in the form the paper
 * states them, the best fixed projection, the learned E, F, and every efficient
 * attention at matched cost, from the files of `linbench spectrum` (PREFIX_approx.csv,
 * _approx_all.csv, _theorem.csv, _kfit.csv, _learned_sv.csv; lb_spectrum.h). Methods
 * are rows of the CSV: a method added to the analysis enters the tables, the figures
 * and the comparison verdict without a change here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_report.h"
#include "lb_util.h"
#include "report_int.h"

#define THM_P 0.90       /* Theorem 1's event must hold with probability >= this */
#define ERR_HOLDS 0.10   /* upper end of the 95% interval of the relative error */
#define ERR_WEAKER 0.30
#define LN_SLACK 1.5     /* k needed may grow at most this much faster than ln n */

static const char *const A_COLS[] = {"n",      "layer",   "head",   "method", "kind",
                                     "attention", "size", "norm",   "err_mean", "err_lo",
                                     "err_hi", "time_s",  "row_entropy", "jl_pred"};
enum { A_N, A_LAYER, A_HEAD, A_METHOD, A_KIND, A_ATT, A_SIZE, A_NORM, A_MEAN, A_LO, A_HI, A_TIME,
       A_ENT, A_PRED, A_NCOL };
static const char *const T_COLS[] = {"n", "layer", "k", "eps", "p", "p_lo", "p_hi", "trials"};
enum { T_N, T_LAYER, T_K, T_EPS, T_P, T_LO, T_HI, T_TRIALS, T_NCOL };
static const char *const K_COLS[] = {"eps", "norm", "n", "k_needed_mean", "k_needed_max",
                                     "k_bound", "fit_b"};
enum { K_EPS, K_NORM, K_N, K_MEAN, K_MAX, K_BOUND, K_FITB, K_NCOL };

typedef struct {
    lb_table all, per, thm, kfit, sv;
    int a[A_NCOL], p[A_NCOL], t[T_NCOL], k[K_NCOL];
    const char *prefix, *name;
} ax_files;

static void free_files(ax_files *f) {
    lb_table_free(&f->all), lb_table_free(&f->per), lb_table_free(&f->thm);
    lb_table_free(&f->kfit), lb_table_free(&f->sv);
}

static int read_files(ax_files *f, const char *prefix) {
    char p[4200];
    int rc;
#define RD(tab, suf, idx, cols, nc)                                                          \
    snprintf(p, sizeof p, "%s%s", prefix, suf);                                              \
    if ((rc = lb_table_read_ex(tab, p)) || (idx && (rc = lb_table_cols_ex(tab, idx, cols, nc)))) \
        return rc;
    RD(&f->all, "_approx_all.csv", f->a, A_COLS, A_NCOL);
    RD(&f->per, "_approx.csv", f->p, A_COLS, A_NCOL);
    RD(&f->thm, "_theorem.csv", f->t, T_COLS, T_NCOL);
    RD(&f->kfit, "_kfit.csv", f->k, K_COLS, K_NCOL);
    RD(&f->sv, "_learned_sv.csv", (int *)NULL, NULL, 0);
#undef RD
    return 0;
}

static double an(const ax_files *f, size_t i, int c) { return lb_table_num(&f->all, i, f->a[c]); }
static const char *as(const ax_files *f, size_t i, int c) { return lb_table_str(&f->all, i, f->a[c]); }

/* Pooled row of (n, method, size, norm); size 0 = the method's largest size at n. */
static long find(const ax_files *f, double n, const char *m, double size, const char *norm) {
    long best = -1;
    for (size_t i = 0; i < f->all.nrow; i++)
        if (an(f, i, A_N) == n && !strcmp(as(f, i, A_METHOD), m) && !strcmp(as(f, i, A_NORM), norm) &&
            (size > 0 ? an(f, i, A_SIZE) == size : best < 0 || an(f, i, A_SIZE) > an(f, best, A_SIZE)))
            best = (long)i;
    return best;
}

/* The cost columns, absent from files written before them: index or -1 (a cell of
 * column -1 reads as NaN, printed "—"). */
static int opt_col(const lb_table *t, const char *name) {
    char msg[512];
    return lb_table_col(t, name, msg, sizeof msg);
}

static void table_at(lb_report *r, const ax_files *f, double n) {
    FILE *o = r->md;
    int cf = opt_col(&f->all, "flops"), ct = opt_col(&f->all, "time_median_s");
    fprintf(o, "\n| method | kind | size | ‖PV − Ŷ‖/‖PV‖ [95%%] | ‖PV − Ŷ‖/(‖P‖‖V‖) [95%%] | "
               "JL closed form | flops (analytic) | median s per head (timed) | mean s per head "
               "|\n|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < f->all.nrow; i++) {
        if (an(f, i, A_N) != n || strcmp(as(f, i, A_NORM), "pv")) continue;
        long j = find(f, n, as(f, i, A_METHOD), an(f, i, A_SIZE), "p_v");
        fprintf(o, "| %s | %s | %g | %.4g [%.4g, %.4g] | ", as(f, i, A_METHOD), as(f, i, A_KIND),
                an(f, i, A_SIZE), an(f, i, A_MEAN), an(f, i, A_LO), an(f, i, A_HI));
        if (j >= 0) fprintf(o, "%.4g [%.4g, %.4g]", an(f, j, A_MEAN), an(f, j, A_LO), an(f, j, A_HI));
        double x[4] = {an(f, i, A_PRED), lb_table_num(&f->all, i, cf),
                       lb_table_num(&f->all, i, ct), an(f, i, A_TIME)};
        for (int c = 0; c < 4; c++)
            if (isfinite(x[c])) fprintf(o, c ? " | %.3g" : " | %.4g", x[c]);
            else fputs(" | —", o);
        fputs(" |\n", o);
    }
}

static lb_verdict_kind err_kind(double hi) {
    return !isfinite(hi) ? LB_UNDECIDED : hi <= ERR_HOLDS ? LB_HOLDS : hi <= ERR_WEAKER ? LB_WEAKER
                                                                                       : LB_NOT_HOLD;
}

static int err_verdict(lb_report *r, const ax_files *f, double n, const char *m, double size,
                       const char *norm, const char *claim_text, const char *extra) {
    char claim[512], rule[512], num[768], ref[256];
    long i = find(f, n, m, size, norm);
    if (i < 0) return 0;
    snprintf(claim, sizeof claim, "%s — %s", claim_text, f->name);
    snprintf(rule, sizeof rule, "upper end of the 95%% interval of the mean error (%s) ≤ %.2f → "
             "holds; ≤ %.2f → holds more weakly; otherwise does not hold", norm, ERR_HOLDS, ERR_WEAKER);
    snprintf(num, sizeof num, "n = %g, %s at size %g: %.4g [%.4g, %.4g]%s", n, m, an(f, i, A_SIZE),
             an(f, i, A_MEAN), an(f, i, A_LO), an(f, i, A_HI), extra ? extra : "");
    snprintf(ref, sizeof ref, "approximation table, %s (n = %g)", f->name, n);
    return lb_report_verdict(r, claim, err_kind(an(f, i, A_HI)), rule, ref, num);
}

/* Theorem 1 in its own form: Pr(‖P RᵀR w − Pw‖ < eps‖Pw‖) per column w, at the largest k. */
static int theorem1(lb_report *r, const ax_files *f, double n) {
    const lb_table *t = &f->thm;
    long best = -1;
    for (size_t i = 0; i < t->nrow; i++)
        if (lb_table_num(t, i, f->t[T_N]) == n && lb_table_num(t, i, f->t[T_LAYER]) < 0 &&
            lb_table_num(t, i, f->t[T_EPS]) == 0.2 &&
            (best < 0 || lb_table_num(t, i, f->t[T_K]) > lb_table_num(t, best, f->t[T_K])))
            best = (long)i;
    if (best < 0) return 0;
    double k = lb_table_num(t, best, f->t[T_K]), lo = lb_table_num(t, best, f->t[T_LO]);
    double hi = lb_table_num(t, best, f->t[T_HI]), bound = 5 * log(n) / (0.04 - 0.008);
    char claim[512], rule[512], num[768], ref[256];
    lb_verdict_kind kind = lo >= THM_P ? LB_HOLDS : hi < THM_P ? LB_NOT_HOLD : LB_UNDECIDED;
    snprintf(claim, sizeof claim, "Theorem 1 as stated: ‖P RᵀR w − P w‖ < ε‖P w‖ for each column w "
             "of V with high probability (ε = 0.2) — %s", f->name);
    snprintf(rule, sizeof rule, "Wilson 95%% interval of the event's frequency over columns, draws "
             "and windows at the largest k: lower end ≥ %.2f → holds; upper end < %.2f → does not "
             "hold; otherwise undecided", THM_P, THM_P);
    snprintf(num, sizeof num, "n = %g, k = %g: frequency %.4g [%.4g, %.4g] over %g trials; the "
             "paper's bound asks k ≥ 5 ln n/(ε² − ε³) = %.0f at ε = 0.2%s", n, k,
             lb_table_num(t, best, f->t[T_P]), lo, hi, lb_table_num(t, best, f->t[T_TRIALS]), bound,
             k < bound ? ": k is BELOW the bound, so the theorem promises nothing at this k and "
                         "the test is of the rate it implies" : "");
    snprintf(ref, sizeof ref, "Theorem 1 and 2 figure (‖PV‖ normalisation), %s (n = %g)", f->name, n);
    return lb_report_verdict(r, claim, kind, rule, ref, num);
}

/* The k needed for eps against ln n over the analysed n. */
static int k_growth(lb_report *r, const ax_files *f) {
    FILE *o = r->md;
    const lb_table *t = &f->kfit;
    fprintf(o, "\nk needed for ε (JL law err = c/√k fitted per head over the k grid, k = (c/ε)²; mean "
               "and worst head) against the paper's bound 5 ln n/(ε² − ε³), and the fit k = a + b ln n "
               "over the analysed n:\n\n| ε | normalisation | n | k needed (mean) | k needed (max) | "
               "paper's bound | fitted b | paper's b |\n|---|---|---|---|---|---|---|---|\n");
    double n0 = 0, k0 = 0, n1 = 0, k1 = 0;
    for (size_t i = 0; i < t->nrow; i++) {
        double e = lb_table_num(t, i, f->k[K_EPS]), n = lb_table_num(t, i, f->k[K_N]);
        double km = lb_table_num(t, i, f->k[K_MEAN]);
        const char *norm = lb_table_str(t, i, f->k[K_NORM]);
        fprintf(o, "| %g | %s | %g | %.0f | %.0f | %.0f | %.4g | %.4g |\n", e, norm, n, km,
                lb_table_num(t, i, f->k[K_MAX]), lb_table_num(t, i, f->k[K_BOUND]),
                lb_table_num(t, i, f->k[K_FITB]), 5 / (e * e - e * e * e));
        if (e != 0.1 || strcmp(norm, "pv") || !isfinite(km)) continue;
        if (!n0 || n < n0) n0 = n, k0 = km;
        if (!n1 || n > n1) n1 = n, k1 = km;
    }
    char claim[512], rule[512], num[512], ref[256];
    double ratio = n1 > n0 && k0 > 0 ? k1 / k0 : NAN, lnr = n1 > n0 ? log(n1) / log(n0) : NAN;
    lb_verdict_kind kind = !isfinite(ratio) ? LB_UNDECIDED : ratio <= LN_SLACK * lnr ? LB_HOLDS : LB_NOT_HOLD;
    snprintf(claim, sizeof claim, "the k Theorem 1 needs grows like ln n (ε = 0.1, ‖PV‖ "
             "normalisation) — %s", f->name);
    snprintf(rule, sizeof rule, "k needed at the largest n over the smallest ≤ %.1f × ln n_max/ln "
             "n_min → holds; larger → does not hold; one n → undecided", LN_SLACK);
    snprintf(num, sizeof num, "k needed %.0f at n = %g, %.0f at n = %g: ratio %.3g against ln ratio %.3g",
             k0, n0, k1, n1, ratio, lnr);
    snprintf(ref, sizeof ref, "k-needed table, %s", f->name);
    return lb_report_verdict(r, claim, kind, rule, ref, num);
}


/* The learned E, F: condition number σ_1/σ_k against a Gaussian matrix's (√n+√k)/(√n−√k). */
static void learned_sv(lb_report *r, const ax_files *f, double n) {
    const lb_table *t = &f->sv;
    int cn = lb_table_col_ex(t, "n"), ci = lb_table_col_ex(t, "index"), cs = lb_table_col_ex(t, "sigma");
    if (cn < 0 || ci < 0 || cs < 0 || t->nrow == 0) return;
    double first = 0, ratio = 0, mats = 0, kmax = 0;
    for (size_t i = 0; i < t->nrow; i++) {
        if (lb_table_num(t, i, cn) != n) continue;
        double idx = lb_table_num(t, i, ci), s = lb_table_num(t, i, cs);
        if (idx == 1) first = s;
        if (idx > kmax) kmax = idx;
        if (i + 1 == t->nrow || lb_table_num(t, i + 1, ci) == 1) ratio += first / s, mats++;
    }
    if (!mats) return;
    double g = (sqrt(n) + sqrt(kmax)) / (sqrt(n) - sqrt(kmax));
    fprintf(r->md, "\nLearned E, F at n = %g: mean σ_1/σ_k %.3g over %g matrices (a Gaussian k × n "
                   "matrix has about (√n + √k)/(√n − √k) = %.3g; larger means training made the "
                   "projections lower-rank). Values: `%s_learned_sv.csv`.\n",
            n, ratio / mats, mats, kmax < n ? g : NAN, f->prefix);
}

static void figures(lb_report *r, const ax_files *f, double n) {
    char p[4200], alt[256];
    const char *what[4][2] = {
        {"theorem_pv", "Theorems 1 and 2, error over ‖PV‖"},
        {"theorem_p_v", "Theorems 1 and 2, error over ‖P‖‖V‖"},
        {"cost", "error against cost (analytic flops; measured median time) per method and size"},
        {"entropy", "each head's error, and its best method at a fixed cost, against its row "
                    "entropy"}};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s_%s_n%g.png", f->prefix, what[i][0], n);
        snprintf(alt, sizeof alt, "%s, n = %g", what[i][1], n);
        lb_report_figure(r, alt, p);
    }
}

static const char LEGEND[] =
    "\nEvery stand-in Ŷ for one head's PV, measured on held-out windows (after the windows that fit "
    "the fitted projection), labelled by what it is: **random** — `jl` P RᵀR V with R ~ N(0, 1/k) "
    "(Theorem 1's construction), `thm2` softmax(Q(δRK)ᵀ/√d)(e^{−δ}RV) (Theorem 2's E = δR, "
    "F = e^{−δ}R, δ = 1/2^n as the proof in the paper's Appendix B defines it, unless `--delta` says otherwise), `linf_rand` an untrained "
    "Linformer head E = F = R; **fitted** — `fitted` P U Uᵀ V with U the top-k eigenvectors of "
    "Σ PᵀP over the fit windows (the floor for an input-independent projection of P); **oracle** — "
    "`pool` exact block sums of P, `svd` the best rank-k P_k of each input (no fixed E, F reaches "
    "them); **learned** — `learned` the trained Linformer head P̄(FV) of a Linformer checkpoint "
    "against the same model's exact attention; **exact** — `full` (its time is the cost "
    "reference); the other efficient attentions from the head's q, k, v through the attention/ "
    "kernels: **sparse** — `local`, a centred window of radius w; **landmark** — `nystrom`, m "
    "segment-mean landmarks and 6 pseudo-inverse iterations (the Nyströmformer paper's; not "
    "exact even at m = n); **kernel** — `performer`, m positive orthogonal random features, "
    "drawn afresh per draw; **sparse+lowrank** — `scatterbrain`, radius w/2 exact plus m/2 "
    "features. One size grid k = m = w at matched cost: at size s each attention costs about "
    "8nsd flops (Nyström more at large m: its m³ term). Errors are means over windows × draws "
    "with 95% t intervals; each in both normalisations: ‖PV‖_F (Theorem 1's statement) and "
    "‖P‖_F‖V‖_F (what the JL argument bounds). Cost: `flops` is the analytic count of one "
    "application to one head (for jl, fitted and pool given P, which they need); the median s "
    "is the median of the timed runs on this head's shape during the run (one thread while the "
    "other heads run: only as good as the machine was quiet), the mean s every application's "
    "mean.\n";

static int one(lb_report *r, const ax_files *f) {
    double nmax = 0;
    for (size_t i = 0; i < f->all.nrow; i++) nmax = fmax(nmax, an(f, i, A_N));
    fprintf(r->md, "\n### %s\n%s", f->name, LEGEND);
    for (size_t i = 0; i < f->all.nrow; i++) { /* one table per n, in file order */
        double n = an(f, i, A_N);
        if (i > 0 && an(f, i - 1, A_N) == n) continue;
        fprintf(r->md, "\n#### n = %g\n", n);
        table_at(r, f, n);
        learned_sv(r, f, n);
        figures(r, f, n);
    }
    int rc;
    double K = 0; /* matched size: the largest grid size <= n/4 (else the smallest) */
    for (size_t i = 0; i < f->all.nrow; i++)
        if (an(f, i, A_N) == nmax && !strcmp(as(f, i, A_METHOD), "jl")) {
            double s = an(f, i, A_SIZE);
            if ((s <= nmax / 4 && s > K) || (K == 0 && s > nmax / 4)) K = s;
        }
    if ((rc = theorem1(r, f, nmax)) ||
        (rc = err_verdict(r, f, nmax, "jl", 0, "p_v", "Theorem 1's construction P RᵀR V within "
                          "ε‖P‖_F‖V‖_F (the form the JL argument bounds)", NULL)) ||
        (rc = k_growth(r, f)) ||
        (rc = err_verdict(r, f, nmax, "thm2", 0, "p_v", "Theorem 2's construction E = δR, F = "
                          "e^{−δ}R approximates the head within ε‖P‖‖V‖", NULL)) ||
        (rc = err_verdict(r, f, nmax, "fitted", K, "pv", "PV is well approximated through a fixed "
                          "k-dimensional projection (best fitted projection, held-out windows)", NULL)) ||
        (rc = err_verdict(r, f, nmax, "learned", 0, "pv", "the trained Linformer head stays close "
                          "to exact attention with the same weights", NULL)))
        return rc;
    return lb_report_approx_cost(r, &f->per, &f->all, f->name, nmax, K);
}

int lb_report_approx(lb_report *r, const char *const *prefixes, const char *const *names, int n) {
    fprintf(r->md, "\n## Approximations on real attention\n");
    int any = 0;
    for (int i = 0; i < n; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s_approx_all.csv", prefixes[i]);
        if (access(p, R_OK)) continue;
        ax_files f = {.prefix = prefixes[i], .name = names[i]};
        int rc = read_files(&f, prefixes[i]);
        if (!rc) rc = one(r, &f);
        free_files(&f);
        if (rc) return rc;
        any = 1;
    }
    if (!any)
        lb_report_not_run(r, "approximation analysis",
                          "make reproduce (linbench spectrum writes PREFIX_approx*.csv unless "
                          "--approx-draws 0)");
    return 0;
}
