/* Error against cost in "Approximations on real attention": every efficient attention
 * at one fixed flop budget, per head and pooled, from PREFIX_approx.csv and
 * PREFIX_approx_all.csv (lb_spectrum.h). The budget is a Linformer head's at the matched
 * size K (8·n·K·d, the flops column of thm2 at K); each method enters at its largest
 * grid size whose analytic flops are within COST_SLACK of it. Verdicts compare
 * intervals, never bare means. Files written before the flops column existed give
 * "undecided" with that reason. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lb_report.h"
#include "report_int.h"

/* A size counts at the budget when its flops are <= this × the budget: Performer's 4nm
 * normaliser products and the window's edge rows move a count a few percent off 8nsd;
 * Nyström's m³ pseudo-inverse term (12× at m = 256) does not fit and drops it a size. */
#define COST_SLACK 1.25
#define MOST_HEADS 0.5 /* "most heads": the Wilson interval of the share lies above this */
#define MAXH 256

static const char *const C_COLS[] = {"n", "layer", "head", "method", "attention", "size", "norm",
                                     "err_mean", "err_lo", "err_hi", "row_entropy", "flops"};
enum { C_N, C_LAYER, C_HEAD, C_METHOD, C_ATT, C_SIZE, C_NORM, C_MEAN, C_LO, C_HI, C_ENT, C_FLOPS,
       C_NCOL };

typedef struct {
    const lb_table *t;
    int c[C_NCOL];
} ctab;

static double cn(const ctab *t, size_t i, int c) { return lb_table_num(t->t, i, t->c[c]); }
static const char *cs(const ctab *t, size_t i, int c) { return lb_table_str(t->t, i, t->c[c]); }

/* 0, or -1 when a column is missing (a file from before the flops column). */
static int cols_of(ctab *t, const lb_table *tab) {
    char msg[512];
    t->t = tab;
    return lb_table_cols(tab, t->c, C_COLS, C_NCOL, msg, sizeof msg);
}

/* The row of (n, layer, head, method, norm pv) at the method's largest size within the
 * budget (flops <= COST_SLACK·budget); -1 when no size fits. */
static long at_budget(const ctab *t, double n, double layer, double head, const char *m,
                      double budget) {
    long best = -1;
    for (size_t i = 0; i < t->t->nrow; i++)
        if (cn(t, i, C_N) == n && cn(t, i, C_LAYER) == layer && cn(t, i, C_HEAD) == head &&
            !strcmp(cs(t, i, C_METHOD), m) && !strcmp(cs(t, i, C_NORM), "pv") &&
            cn(t, i, C_FLOPS) <= COST_SLACK * budget &&
            (best < 0 || cn(t, i, C_SIZE) > cn(t, best, C_SIZE)))
            best = (long)i;
    return best;
}

/* The attention-form methods in the file (full excluded: it is the reference). */
static int methods_of(const ctab *t, double n, char names[][32], int most) {
    int nm = 0;
    for (size_t i = 0; i < t->t->nrow; i++) {
        const char *m = cs(t, i, C_METHOD);
        if (cn(t, i, C_N) != n || cn(t, i, C_ATT) != 1 || !strcmp(m, "full")) continue;
        int j;
        for (j = 0; j < nm && strcmp(names[j], m); j++) {}
        if (j == nm && nm < most) snprintf(names[nm++], 32, "%.31s", m);
    }
    return nm;
}

typedef struct {
    double layer, head, ent, err;
    char best[32];
} head_best;

/* Each head's best method at the budget (least mean error among the methods' rows at
 * the budget). Returns the number of heads. */
static int best_per_head(head_best *hb, const ctab *t, double n, double budget,
                         char names[][32], int nm) {
    int nh = 0;
    for (size_t i = 0; i < t->t->nrow && nh < MAXH; i++) {
        if (cn(t, i, C_N) != n || strcmp(cs(t, i, C_METHOD), "full") || strcmp(cs(t, i, C_NORM), "pv"))
            continue; /* one "full" row per head: the list of heads */
        head_best *h = &hb[nh];
        *h = (head_best){cn(t, i, C_LAYER), cn(t, i, C_HEAD), cn(t, i, C_ENT), INFINITY, ""};
        for (int j = 0; j < nm; j++) {
            long r = at_budget(t, n, h->layer, h->head, names[j], budget);
            if (r >= 0 && cn(t, r, C_MEAN) < h->err)
                h->err = cn(t, r, C_MEAN), snprintf(h->best, sizeof h->best, "%.31s", names[j]);
        }
        if (h->best[0]) nh++;
    }
    return nh;
}

/* The budget: thm2's flops at size K (a Linformer head's 8nKd); NaN when absent. */
static double budget_of(const ctab *t, double n, double K) {
    for (size_t i = 0; i < t->t->nrow; i++)
        if (cn(t, i, C_N) == n && cn(t, i, C_SIZE) == K && !strcmp(cs(t, i, C_METHOD), "thm2"))
            return cn(t, i, C_FLOPS);
    return NAN;
}

static lb_verdict_kind share_kind(double lo, double hi) {
    return !(lo <= hi) ? LB_UNDECIDED : lo > MOST_HEADS ? LB_HOLDS : hi < MOST_HEADS ? LB_NOT_HOLD
                                                                                      : LB_UNDECIDED;
}

/* "Linformer's best fixed projection beats local attention at matched cost on most
 * heads": fitted at K (a Linformer head with K projected keys costs the budget) against
 * local at the budget, head by head, by their 95% intervals. */
static int fitted_vs_local(lb_report *r, const ctab *p, const char *name, double n, double K,
                           double budget) {
    int win = 0, loss = 0, tie = 0;
    for (size_t i = 0; i < p->t->nrow; i++) {
        if (cn(p, i, C_N) != n || cn(p, i, C_SIZE) != K || strcmp(cs(p, i, C_METHOD), "fitted") ||
            strcmp(cs(p, i, C_NORM), "pv"))
            continue;
        long l = at_budget(p, n, cn(p, i, C_LAYER), cn(p, i, C_HEAD), "local", budget);
        if (l < 0) continue;
        if (cn(p, i, C_HI) < cn(p, l, C_LO)) win++;
        else if (cn(p, l, C_HI) < cn(p, i, C_LO)) loss++;
        else tie++;
    }
    int all = win + loss + tie;
    double lo = NAN, hi = NAN;
    lb_ci95_prop(win, all, &lo, &hi);
    char claim[512], rule[640], num[512], ref[256];
    snprintf(claim, sizeof claim, "Linformer's best fixed projection beats local attention at "
             "matched cost on most heads — %s", name);
    snprintf(rule, sizeof rule, "per head, the fitted projection at k = K and local attention at "
             "its largest radius within %.2f × a Linformer head's flops at K: a win when the "
             "fitted 95%% interval lies wholly below local's; Wilson 95%% interval of the share of "
             "heads won: lower end > %.2f → holds; upper end < %.2f → does not hold; otherwise "
             "(or no heads) undecided", COST_SLACK, MOST_HEADS, MOST_HEADS);
    snprintf(num, sizeof num, "n = %g, K = %g, budget %.4g flops: fitted wins on %d, local on %d, "
             "%d overlap, of %d heads; share won %.3g [%.3g, %.3g]", n, K, budget, win, loss, tie,
             all, all ? (double)win / all : NAN, lo, hi);
    snprintf(ref, sizeof ref, "error against cost figure, %s (n = %g)", name, n);
    return lb_report_verdict(r, claim, share_kind(lo, hi), rule, ref, num);
}

/* Pooled over heads: the best other efficient attention at the budget against the better
 * of the two random Linformer heads (E = F = R; Theorem 2's δR, e^{−δ}R) at K. */
static int pooled_best(lb_report *r, const ctab *a, const char *name, double n, double K,
                       double budget, char names[][32], int nm) {
    long lin = -1, best = -1;
    for (int j = 0; j < nm; j++) {
        long i = at_budget(a, n, -1, -1, names[j], budget);
        if (i < 0) continue;
        int random_lin = !strcmp(names[j], "thm2") || !strcmp(names[j], "linf_rand");
        long *slot = random_lin ? &lin : &best;
        if (*slot < 0 || cn(a, i, C_MEAN) < cn(a, *slot, C_MEAN)) *slot = i;
    }
    char claim[512], rule[512], num[768], ref[256];
    lb_verdict_kind kind = LB_UNDECIDED;
    if (lin >= 0 && best >= 0)
        kind = cn(a, best, C_HI) < cn(a, lin, C_LO) ? LB_HOLDS
               : cn(a, lin, C_HI) < cn(a, best, C_LO) ? LB_NOT_HOLD : LB_UNDECIDED;
    snprintf(claim, sizeof claim, "another efficient attention approximates the real heads better "
             "than a random-projection Linformer head at the same cost — %s", name);
    snprintf(rule, sizeof rule, "pooled over heads, each method at its largest size within %.2f × a "
             "Linformer head's flops at K: the best other method's 95%% interval wholly below the "
             "better random Linformer head's → holds; wholly above → does not hold; overlapping "
             "or missing → undecided", COST_SLACK);
    if (lin >= 0 && best >= 0)
        snprintf(num, sizeof num, "n = %g, budget %.4g flops: best other %s at size %g, %.4g [%.4g, "
                 "%.4g]; random Linformer %s at size %g, %.4g [%.4g, %.4g]", n, budget,
                 cs(a, best, C_METHOD), cn(a, best, C_SIZE), cn(a, best, C_MEAN), cn(a, best, C_LO),
                 cn(a, best, C_HI), cs(a, lin, C_METHOD), cn(a, lin, C_SIZE), cn(a, lin, C_MEAN),
                 cn(a, lin, C_LO), cn(a, lin, C_HI));
    else
        snprintf(num, sizeof num, "n = %g: %s", n, lin < 0 ? "no random Linformer head in the file"
                                                           : "no other efficient attention in the file");
    snprintf(ref, sizeof ref, "error against cost figure, %s (n = %g)", name, n);
    return lb_report_verdict(r, claim, kind, rule, ref, num);
}

/* Heads differ in their best method at the budget (a sharp head and a flat head may want
 * different approximations). */
static int heads_differ(lb_report *r, const head_best *hb, int nh, const char *name, double n,
                        double budget, int others) {
    char seen[16][32], claim[512], rule[512], num[1024], ref[256];
    int ns = 0;
    for (int h = 0; h < nh; h++) {
        int j;
        for (j = 0; j < ns && strcmp(seen[j], hb[h].best); j++) {}
        if (j == ns && ns < 16) snprintf(seen[ns++], sizeof seen[0], "%.31s", hb[h].best);
    }
    int len = snprintf(num, sizeof num, "n = %g, budget %.4g flops, %d heads: best methods", n,
                       budget, nh);
    for (int j = 0; j < ns && len < (int)sizeof num - 80; j++) {
        double lo = INFINITY, hi = -INFINITY;
        int c = 0;
        for (int h = 0; h < nh; h++)
            if (!strcmp(hb[h].best, seen[j])) c++, lo = fmin(lo, hb[h].ent), hi = fmax(hi, hb[h].ent);
        len += snprintf(num + len, sizeof num - len, "%s %s on %d heads (row entropy %.2f–%.2f)",
                        j ? ";" : "", seen[j], c, lo, hi);
    }
    lb_verdict_kind kind = nh == 0 ? LB_UNDECIDED : ns >= 2 ? LB_HOLDS : others ? LB_NOT_HOLD
                                                                               : LB_UNDECIDED;
    if (nh > 0 && kind == LB_UNDECIDED && len < (int)sizeof num - 120)
        snprintf(num + len, sizeof num - len, " — only the random Linformer constructions are in "
                 "the file; the comparison needs the other efficient attentions");
    snprintf(claim, sizeof claim, "heads differ in which efficient attention approximates them best "
             "at a fixed cost (sharp vs flat heads) — %s", name);
    snprintf(rule, sizeof rule, "each head's method of least mean error among the attention-form "
             "methods at their largest size within %.2f × a Linformer head's flops at K: two or "
             "more different best methods → holds; one → does not hold; only random Linformer "
             "constructions present → undecided", COST_SLACK);
    snprintf(ref, sizeof ref, "best method against row entropy figure, %s (n = %g)", name, n);
    return lb_report_verdict(r, claim, kind, rule, ref, num);
}

/* Sharp heads want windows: the heads whose best method at the budget keeps an exact
 * window (local, scatterbrain) have lower row entropy than the rest (Welch 95% interval
 * of the difference of mean entropies). */
static int entropy_relation(lb_report *r, const head_best *hb, int nh, const char *name, double n) {
    lb_welford win = {0}, rest = {0};
    for (int h = 0; h < nh; h++)
        if (isfinite(hb[h].ent))
            lb_welford_add(!strcmp(hb[h].best, "local") || !strcmp(hb[h].best, "scatterbrain")
                               ? &win : &rest, hb[h].ent);
    double diff = win.mean - rest.mean, lo = NAN, hi = NAN;
    if (win.n >= 2 && rest.n >= 2) {
        double s1 = lb_welford_std(&win), s2 = lb_welford_std(&rest);
        double v1 = s1 * s1 / win.n, v2 = s2 * s2 / rest.n;
        double df = (v1 + v2) * (v1 + v2) / (v1 * v1 / (win.n - 1) + v2 * v2 / (rest.n - 1));
        if (!(df >= 1)) df = 1; /* both groups constant: a zero-width interval, t(1) */
        double h = lb_t975(df) * sqrt(v1 + v2);
        lo = diff - h, hi = diff + h;
    }
    lb_verdict_kind kind = !(lo <= hi) ? LB_UNDECIDED : hi < 0 ? LB_HOLDS : lo > 0 ? LB_NOT_HOLD
                                                                                   : LB_UNDECIDED;
    char claim[512], rule[512], num[512], ref[256];
    snprintf(claim, sizeof claim, "sharp heads (low row entropy) are the ones a window serves best "
             "at a fixed cost — %s", name);
    snprintf(rule, sizeof rule, "mean row entropy of the heads whose best method at the budget is "
             "local or scatterbrain minus that of the other heads, Welch 95%% interval: wholly "
             "below 0 → holds; wholly above 0 → does not hold; otherwise, or fewer than 2 heads "
             "in a group → undecided");
    snprintf(num, sizeof num, "n = %g: %.0f window-best heads (mean entropy %.3g), %.0f others "
             "(%.3g); difference %.3g [%.3g, %.3g]", n, (double)win.n, win.n ? win.mean : NAN,
             (double)rest.n, rest.n ? rest.mean : NAN, win.n && rest.n ? diff : NAN, lo, hi);
    snprintf(ref, sizeof ref, "best method against row entropy figure, %s (n = %g)", name, n);
    return lb_report_verdict(r, claim, kind, rule, ref, num);
}

int lb_report_approx_cost(lb_report *r, const lb_table *per, const lb_table *all,
                          const char *name, double n, double K) {
    ctab p, a;
    char names[16][32];
    if (cols_of(&p, per) || cols_of(&a, all)) {
        fprintf(r->md, "\nThe files of %s predate the flops column: rerun `linbench spectrum` for "
                       "the comparison at a fixed cost.\n", name);
        return 0;
    }
    double budget = budget_of(&a, n, K);
    int nm = methods_of(&p, n, names, 16), others = 0;
    for (int j = 0; j < nm; j++)
        others |= strcmp(names[j], "thm2") && strcmp(names[j], "linf_rand");
    head_best hb[MAXH];
    int nh = isfinite(budget) ? best_per_head(hb, &p, n, budget, names, nm) : 0;
    fprintf(r->md, "\nAt a fixed cost (n = %g): the budget is a Linformer head's flops at k = K = "
                   "%g (8nKd = %.4g); each method enters at its largest size within %.2f × that. "
                   "The measured times (`time_median_s`) are in the tables and the right panel of "
                   "the cost figure; the verdicts use the analytic flops only.\n",
            n, K, budget, COST_SLACK);
    int rc;
    if ((rc = fitted_vs_local(r, &p, name, n, K, budget)) ||
        (rc = pooled_best(r, &a, name, n, K, budget, names, nm)) ||
        (rc = heads_differ(r, hb, nh, name, n, budget, others)))
        return rc;
    return entropy_relation(r, hb, nh, name, n);
}
