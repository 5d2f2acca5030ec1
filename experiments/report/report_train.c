/* The Figure 3 part of REPORT.md from training logs (`linbench train --log`). Logs
 * are grouped into arms by label: "ARM-sSEED" (or a repeated label) is one seed of
 * ARM; the first arm is the reference (standard attention); an arm whose label starts
 * with "control" is the negative control, which must train clearly worse. Per arm: the
 * final validation perplexity, mean over seeds with a 95% t-interval; per compared arm
 * the ratio to the reference with its interval (Welch, on log perplexity = loss). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_report.h"
#include "lb_util.h"

#define PAR_BAND 0.05   /* "on par": the ratio's interval inside [1 - 5%, 1 + 5%] */
#define CURVE_ROWS 12   /* evaluation steps shown in the curve table */
#define MAXSEED 64

typedef struct {
    double *step, *ppl, n_last; /* (len) evaluated rows only; n of the last row */
    size_t len;
} curve;

typedef struct {
    char name[128];
    int idx[MAXSEED], ns; /* the logs of this arm */
    double mean, lo, hi;  /* final perplexity: geometric mean over seeds, 95% interval */
    double lmean, lvar;   /* mean and variance of log final perplexity */
    double n_last;
} arm;

static int read_curve(curve *cv, const char *path) {
    lb_table t;
    int c[3], rc = 0;
    char msg[1024];
    static const char *const COLS[] = {"step", "val_ppl", "n"};
    memset(cv, 0, sizeof *cv);
    if (lb_table_read(&t, path, msg, sizeof msg)) return lb_err("%s", msg), t.cannot_open ? EX_NOINPUT : EX_DATAERR;
    if (lb_table_cols(&t, c, COLS, 3, msg, sizeof msg)) { rc = (lb_err("%s", msg), EX_DATAERR); goto out; }
    cv->step = malloc((t.nrow + 1) * sizeof *cv->step);
    cv->ppl = malloc((t.nrow + 1) * sizeof *cv->ppl);
    if (!cv->step || !cv->ppl) {
        rc = EX_OSERR;
        goto out;
    }
    for (size_t i = 0; i < t.nrow; i++) {
        double s = lb_table_num(&t, i, c[0]), p = lb_table_num(&t, i, c[1]);
        if (isnan(s)) {
            lb_err("%s: data row %zu: step '%s' is not a number", path, i + 1, lb_table_str(&t, i, c[0]));
            rc = EX_DATAERR;
            goto out;
        }
        if (isfinite(p) && p > 0)
            cv->step[cv->len] = s, cv->ppl[cv->len++] = p, cv->n_last = lb_table_num(&t, i, c[2]);
    }
out:
    lb_table_free(&t);
    return rc;
}

static double at_step(const curve *cv, double step) {
    for (size_t i = 0; i < cv->len; i++)
        if (cv->step[i] == step) return cv->ppl[i];
    return NAN;
}

/* Student t quantile 0.975 for df degrees of freedom (df rounded down: conservative). */
static double t975(double df) {
    static const double T[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (!(df >= 1)) return NAN;
    int d = (int)df;
    return d <= 30 ? T[d - 1] : 1.960 + 2.4 / d;
}

/* "k32-headwise-s2" -> "k32-headwise" */
static void arm_name(char *out, size_t len, const char *label) {
    snprintf(out, len, "%s", label);
    char *s = strrchr(out, '-');
    if (s && s[1] == 's' && s[2] && strspn(s + 2, "0123456789") == strlen(s + 2)) *s = 0;
}

static int group(arm **out, const char *const *labels, const curve *cv, int n) {
    arm *a = calloc((size_t)n, sizeof *a);
    if (!a) return -1;
    int na = 0;
    for (int i = 0; i < n; i++) {
        char nm[128];
        arm_name(nm, sizeof nm, labels[i]);
        int j = 0;
        while (j < na && strcmp(a[j].name, nm)) j++;
        if (j == na) snprintf(a[na++].name, sizeof a->name, "%s", nm);
        if (a[j].ns < MAXSEED) a[j].idx[a[j].ns++] = i;
    }
    for (int j = 0; j < na; j++) { /* final perplexity over the seeds that evaluated */
        double s = 0, ss = 0;
        int m = 0;
        for (int q = 0; q < a[j].ns; q++) {
            const curve *c = &cv[a[j].idx[q]];
            if (!c->len) continue;
            double x = log(c->ppl[c->len - 1]);
            s += x, ss += x * x, m++, a[j].n_last = c->n_last;
        }
        a[j].lmean = m ? s / m : NAN;
        a[j].lvar = m > 1 ? (ss - s * s / m) / (m - 1) : NAN;
        if (a[j].lvar < 0) a[j].lvar = 0;
        a[j].ns = m ? a[j].ns : 0;
        double h = m > 1 ? t975(m - 1) * sqrt(a[j].lvar / m) : NAN;
        a[j].mean = exp(a[j].lmean), a[j].lo = exp(a[j].lmean - h), a[j].hi = exp(a[j].lmean + h);
        int seeds = 0;
        for (int q = 0; q < a[j].ns; q++) seeds += cv[a[j].idx[q]].len > 0;
        a[j].ns = seeds;
    }
    *out = a;
    return na;
}

/* Ratio of arm x to reference r (geometric means) with its 95% Welch interval. */
static void ratio(const arm *x, const arm *r, double *rat, double *lo, double *hi) {
    double d = x->lmean - r->lmean, vx = x->lvar / x->ns, vr = r->lvar / r->ns, se = sqrt(vx + vr);
    double df = (vx + vr) * (vx + vr) / (vx * vx / (x->ns - 1) + vr * vr / (r->ns - 1));
    if (!(se > 0)) df = x->ns + r->ns - 2; /* identical seeds: zero width, any df */
    double h = t975(df) * se;
    *rat = exp(d), *lo = exp(d - h), *hi = exp(d + h);
}

/* "95% interval [lo, hi]", or why there is none (a side with one seed has no spread). */
static const char *iv_text(char *b, size_t len, double lo, double hi) {
    if (isnan(lo)) snprintf(b, len, "no interval (fewer than 2 seeds a side)");
    else snprintf(b, len, "95%% interval [%.3f, %.3f]", lo, hi);
    return b;
}

/* The rule: ctl = {ratio, lo, hi} of the control (NULL
 * when none). Returns LB_HOLDS or LB_UNDECIDED with the reason in why. */
static int fig3_rule(const double *ctl, double rat, double lo, double hi, char *why, size_t len) {
    if (!ctl) return snprintf(why, len, "no negative control to show the set-up can tell arms apart"), LB_UNDECIDED;
    if (isnan(ctl[1]))
        return snprintf(why, len, "the control's separation from standard is unknown (its ratio %.3f "
                        "has no interval: fewer than 2 seeds a side)", ctl[0]), LB_UNDECIDED;
    if (!(ctl[1] > 1))
        return snprintf(why, len, "the control is not separated from standard (its ratio %.3f, "
                        "interval [%.3f, %.3f] reaches 1)", ctl[0], ctl[1], ctl[2]), LB_UNDECIDED;
    if (isnan(lo))
        return snprintf(why, len, "the ratio %.3f has no interval (fewer than 2 seeds a side)", rat),
               LB_UNDECIDED;
    if (!(lo >= 1 - PAR_BAND && hi <= 1 + PAR_BAND))
        return snprintf(why, len, "the interval [%.3f, %.3f] of the ratio %.3f is not inside "
                        "[%.2f, %.2f]%s", lo, hi, rat, 1 - PAR_BAND, 1 + PAR_BAND,
                        lo > 1 + PAR_BAND ? ": wholly worse than standard" : ""), LB_UNDECIDED;
    return snprintf(why, len, "interval inside ±%.0f%% and the control separated", 100 * PAR_BAND), LB_HOLDS;
}

static const char RULE[] =
    "the 95% interval of the final-perplexity ratio to standard (geometric means over seeds, "
    "Welch t on log perplexity) inside [0.95, 1.05] AND the negative control's interval wholly "
    "above 1 → holds (trains on par); otherwise undecided, with the reason";

static void arms_table(FILE *o, const arm *a, int na, const double (*rr)[3]) {
    fprintf(o, "\n| arm | seeds | final n | final validation perplexity (geometric mean) | 95%% interval "
               "| ratio to %s | 95%% interval |\n|---|---|---|---|---|---|---|\n", a[0].name);
    for (int j = 0; j < na; j++) {
        fputs("| ", o), lb_md_cell(o, a[j].name);
        if (!a[j].ns) {
            fprintf(o, " | 0 | – | – | – | – | – |\n");
            continue;
        }
        fprintf(o, " | %d | %g | %.2f |", a[j].ns, a[j].n_last, a[j].mean);
        if (isfinite(a[j].lo)) fprintf(o, " [%.2f, %.2f] |", a[j].lo, a[j].hi);
        else fputs(" – |", o);
        if (j == 0) fputs(" 1 | – |\n", o);
        else if (isfinite(rr[j][0])) {
            fprintf(o, " %.3f |", rr[j][0]);
            if (isfinite(rr[j][1])) fprintf(o, " [%.3f, %.3f] |\n", rr[j][1], rr[j][2]);
            else fputs(" – |\n", o);
        } else fputs(" not compared (another n) | – |\n", o);
    }
}

/* Geometric mean over an arm's seeds at the reference's evaluation steps. */
static void curve_table(FILE *o, const arm *a, int na, const curve *cv) {
    const curve *ref = &cv[a[0].idx[0]];
    if (!ref->len) return;
    fprintf(o, "\nValidation perplexity during training (geometric mean over seeds):\n\n| step |");
    for (int j = 0; j < na; j++) fputc(' ', o), lb_md_cell(o, a[j].name), fputs(" |", o);
    fprintf(o, "\n|---|");
    for (int j = 0; j < na; j++) fputs("---|", o);
    size_t every = (ref->len + CURVE_ROWS - 1) / CURVE_ROWS;
    for (size_t t = 0; t < ref->len; t++) {
        if (t % every && t != ref->len - 1) continue;
        fprintf(o, "\n| %g |", ref->step[t]);
        for (int j = 0; j < na; j++) {
            double s = 0;
            int m = 0;
            for (int q = 0; q < a[j].ns; q++) {
                double x = at_step(&cv[a[j].idx[q]], ref->step[t]);
                if (isfinite(x)) s += log(x), m++;
            }
            if (m) fprintf(o, " %.2f |", exp(s / m));
            else fputs(" – |", o);
        }
    }
    fputc('\n', o);
}

static int verdicts(lb_report *r, const arm *a, int na, const double (*rr)[3]) {
    const double *ctl = NULL;
    int ci = -1, rc = 0;
    for (int j = 1; j < na; j++)
        if (!strncmp(a[j].name, "control", 7) && isfinite(rr[j][0])) ctl = rr[j], ci = j;
    char claim[512], num[512], why[256], iv[64];
    if (ci > 0) {
        snprintf(claim, sizeof claim, "the negative control %s trains clearly worse than %s", a[ci].name, a[0].name);
        snprintf(num, sizeof num, "ratio %.3f, %s, %d and %d seeds", ctl[0],
                 iv_text(iv, sizeof iv, ctl[1], ctl[2]), a[ci].ns, a[0].ns);
        rc = lb_report_verdict(r, claim, ctl[1] > 1 ? LB_HOLDS : LB_UNDECIDED,
                               "the control's interval of the ratio wholly above 1 → holds; otherwise "
                               "undecided (the set-up cannot tell a broken model from a good one)",
                               "Figure 3 arms table", num);
    }
    for (int j = 1; j < na && !rc; j++) {
        if (j == ci || !isfinite(rr[j][0])) continue;
        lb_verdict_kind k = fig3_rule(ctl, rr[j][0], rr[j][1], rr[j][2], why, sizeof why);
        snprintf(claim, sizeof claim, "%s trains on par with %s (Figure 3)", a[j].name, a[0].name);
        snprintf(num, sizeof num, "ratio %.3f, %s, %d and %d seeds; %s", rr[j][0],
                 iv_text(iv, sizeof iv, rr[j][1], rr[j][2]), a[j].ns, a[0].ns, why);
        rc = lb_report_verdict(r, claim, k, RULE, "Figure 3 arms table", num);
    }
    return rc;
}

int lb_report_train(lb_report *r, const char *const *labels, const char *const *paths, int n,
                    const char *figdir) {
    FILE *o = r->md;
    fprintf(o, "\n## Figure 3 — validation perplexity during masked-LM training\n");
    if (n == 0) {
        lb_report_not_run(r, "training runs", "make fig3 (then make reproduce-report)");
        return 0;
    }
    curve *cv = calloc((size_t)n, sizeof *cv);
    arm *a = NULL;
    double (*rr)[3] = calloc((size_t)n, sizeof *rr);
    if (!cv || !rr) {
        free(cv), free(rr);
        return EX_OSERR;
    }
    int rc = 0, na = 0;
    for (int i = 0; i < n && !rc; i++) rc = read_curve(&cv[i], paths[i]);
    if (rc || (na = group(&a, labels, cv, n)) < 0) {
        rc = rc ? rc : EX_OSERR;
        goto out;
    }
    static const char *const FIGS[][2] = {{"fig3_k", "Linformer at three k against standard"},
                                          {"fig3_share", "sharing modes at the middle k"},
                                          {"fig3_n", "fixed k, growing n"}};
    char path[4096];
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/%s.png", figdir, FIGS[f][0]);
        lb_report_figure(r, FIGS[f][1], path);
    }
    fprintf(o, "\nReference: `%s` (the first arm); seeds of an arm are its logs labelled ARM-sSEED. "
               "Final perplexity: the last evaluation of each seed, geometric mean over seeds, 95%% "
               "t-interval; the ratio's interval is Welch's on log perplexity. Arms ending at another "
               "n than the reference (the fixed-k, growing-n panel) are shown, not compared.\n",
            a[0].name);
    for (int j = 0; j < na; j++) {
        rr[j][0] = rr[j][1] = rr[j][2] = NAN;
        if (j && a[j].ns && a[0].ns && a[j].n_last == a[0].n_last)
            ratio(&a[j], &a[0], &rr[j][0], &rr[j][1], &rr[j][2]);
    }
    arms_table(o, a, na, (const double(*)[3])rr);
    curve_table(o, a, na, cv);
    if (na == 1)
        lb_report_not_run(r, "Linformer runs to compare with the reference", "make fig3");
    rc = verdicts(r, a, na, (const double(*)[3])rr);
out:
    for (int i = 0; i < n; i++) free(cv[i].step), free(cv[i].ppl);
    free(cv), free(a), free(rr);
    return rc;
}
