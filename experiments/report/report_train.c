/* The Figure 3 part of REPORT.md: validation perplexity curves of training runs
 * (`linbench train --log`), each run against the first (standard attention). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_report.h"
#include "lb_util.h"

#define PAR_HOLDS 0.05 /* |ppl / reference ppl - 1| at the last common evaluation */
#define PAR_WEAKER 0.15
#define CURVE_ROWS 12 /* evaluation steps shown in the curve table */

typedef struct {
    double *step, *ppl; /* (len) evaluated rows only */
    size_t len;
} curve;

static int read_curve(curve *cv, const char *path) {
    lb_table t;
    int c[2], rc = 0;
    char msg[1024];
    static const char *const COLS[] = {"step", "val_ppl"};
    memset(cv, 0, sizeof *cv);
    if (lb_table_read(&t, path, msg, sizeof msg)) return lb_err("%s", msg), t.cannot_open ? EX_NOINPUT : EX_DATAERR;
    if (lb_table_cols(&t, c, COLS, 2, msg, sizeof msg)) { rc = (lb_err("%s", msg), EX_DATAERR); goto out; }
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
        if (isfinite(p) && p > 0) cv->step[cv->len] = s, cv->ppl[cv->len++] = p;
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

int lb_report_train(lb_report *r, const char *const *labels, const char *const *paths, int n,
                    const char *figdir) {
    FILE *o = r->md;
    fprintf(o, "\n## Figure 3 — validation perplexity during masked-LM training\n");
    if (n == 0) {
        lb_report_not_run(r, "training runs", "make train-small (then pass its log.csv with --train-log)");
        return 0;
    }
    curve *cv = calloc((size_t)n, sizeof *cv);
    if (!cv) return EX_OSERR;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) rc = read_curve(&cv[i], paths[i]);
    if (rc) goto out;
    char path[4096];
    snprintf(path, sizeof path, "%s/fig3_valid_ppl.png", figdir);
    lb_report_figure(r, "Figure 3: validation perplexity vs step", path);
    fprintf(o,
            "\nReference: `%s` (the first log).\n\n| run | log | evaluations | last step | final validation "
            "perplexity |\n|---|---|---|---|---|\n",
            labels[0]);
    for (int i = 0; i < n; i++) {
        fputs("| ", o), lb_md_cell(o, labels[i]), fputs(" | `", o), lb_md_cell(o, paths[i]);
        if (cv[i].len)
            fprintf(o, "` | %zu | %g | %.3f |\n", cv[i].len, cv[i].step[cv[i].len - 1],
                    cv[i].ppl[cv[i].len - 1]);
        else
            fprintf(o, "` | 0 | – | – |\n");
    }
    /* the curves at up to CURVE_ROWS of the reference's evaluation steps */
    const curve *ref = &cv[0];
    if (ref->len) {
        fprintf(o, "\n| step |");
        for (int i = 0; i < n; i++) fputc(' ', o), lb_md_cell(o, labels[i]), fputs(" |", o);
        fprintf(o, "\n|---|");
        for (int i = 0; i < n; i++) fputs("---|", o);
        size_t every = (ref->len + CURVE_ROWS - 1) / CURVE_ROWS;
        for (size_t j = 0; j < ref->len; j++) {
            if (j % every && j != ref->len - 1) continue;
            fprintf(o, "\n| %g |", ref->step[j]);
            for (int i = 0; i < n; i++) fprintf(o, " %.3f |", at_step(&cv[i], ref->step[j]));
        }
        fputc('\n', o);
    }
    if (n == 1)
        lb_report_not_run(r, "Linformer runs to compare with the reference",
                          "make train-small TRAIN_OUT=results/fig3-linformer-k128 "
                          "TRAIN_ARGS='--attention linformer --k 128' (reproduce.mk picks up results/fig3-*/log.csv)");
    for (int i = 1; i < n && !rc; i++) {
        double s = NAN, a = NAN, b = NAN;
        for (size_t j = cv[i].len; j-- > 0;) {
            double x = at_step(ref, cv[i].step[j]);
            if (!isnan(x)) {
                s = cv[i].step[j], a = cv[i].ppl[j], b = x;
                break;
            }
        }
        double gap = a / b - 1;
        lb_verdict_kind k = isnan(gap)                ? LB_UNDECIDED
                            : fabs(gap) <= PAR_HOLDS  ? LB_HOLDS
                            : fabs(gap) <= PAR_WEAKER ? LB_WEAKER
                                                      : LB_NOT_HOLD;
        char claim[512], num[256], rule[256];
        snprintf(claim, sizeof claim, "%s trains nearly on par with %s (Figure 3)", labels[i], labels[0]);
        snprintf(num, sizeof num, "at step %g: perplexity %.3f vs %.3f, gap %+.1f%%", s, a, b, 100 * gap);
        snprintf(rule, sizeof rule,
                 "at the last step both evaluated, |ppl / reference − 1| ≤ %.0f%% → holds; ≤ %.0f%% "
                 "→ holds more weakly; otherwise does not hold; no common step → undecided",
                 100 * PAR_HOLDS, 100 * PAR_WEAKER);
        rc = lb_report_verdict(r, claim, k, rule, "Figure 3 table", num);
    }
out:
    for (int i = 0; i < n; i++) free(cv[i].step), free(cv[i].ppl);
    free(cv);
    return rc;
}
