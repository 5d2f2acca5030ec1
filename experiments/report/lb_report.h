/* lb_report: `linbench report` turns the result files of bench, spectrum and train into
 * results/REPORT.md. Every number and every verdict comes from those files; the text
 * around them is fixed templates, and each verdict prints the rule that produced it.
 * The sections write into r->md; missing optional inputs give "not run yet" lines,
 * unreadable or malformed ones an error (sysexits code, file and field named). */
#ifndef LB_REPORT_H
#define LB_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "lb_table.h"

typedef enum { LB_HOLDS, LB_WEAKER, LB_NOT_HOLD, LB_UNDECIDED, LB_OUTSIDE } lb_verdict_kind;

typedef struct {
    char *claim;
    char *rests_on;
    lb_verdict_kind kind;
} lb_verdict;

typedef struct {
    FILE *md;      /* the report body */
    char *outdir;  /* absolute folder of REPORT.md: figure links are relative to it */
    lb_verdict *v; /* (nv) for the summary table at the top */
    int nv, cap;
} lb_report;

/* Words for a verdict kind: "holds", "holds more weakly", "does not hold here", ... */
const char *lb_verdict_word(lb_verdict_kind k);
/* The verdict of a 95% interval [lo, hi] under a rule with two thresholds: holds when
 * the whole interval passes hold, holds more weakly when it passes weak but none of it
 * passes hold, does not hold when none of it passes weak, undecided when it straddles
 * a threshold (or is NaN). higher = 1: passing means >= the threshold; higher = 0:
 * passing means <= it (hold <= weak then). */
lb_verdict_kind lb_verdict_interval(double lo, double hi, double hold, double weak, int higher);
/* Write the verdict line (claim, verdict, rule, the numbers it used, the figure or
 * table it rests on) and record it for the summary. Returns 0 or EX_OSERR. */
int lb_report_verdict(lb_report *r, const char *claim, lb_verdict_kind k, const char *rule,
                      const char *rests_on, const char *numbers);
/* An image link to path relative to the report, or a note that it is not drawn yet. */
void lb_report_figure(lb_report *r, const char *alt, const char *path);
/* "> not run yet: <how>" */
void lb_report_not_run(lb_report *r, const char *what, const char *how);
/* Spearman rank correlation of x and y, each (n); average ranks for ties; NaN when
 * n < 2 or either is constant. */
double lb_spearman(const double *x, const double *y, int n);
/* Markdown table cell: s with '|' escaped. */
void lb_md_cell(FILE *f, const char *s);

/* Machine and build: one column per JSON result file (its "meta" object) plus the
 * machine running the report. labels, paths are (n). */
int lb_report_meta(lb_report *r, const char *const *labels, const char *const *paths, int n);
/* Figure 1 at every analysed n, projection error and spectrum vs n for one spectrum
 * result PREFIX (PREFIX.json with params.trained, PREFIX_windows.csv,
 * PREFIX_controls.csv, PREFIX_projerr_all.csv; figures next to it from
 * plots/spectrum.sh). init (NULL: none) is the same architecture's spectrum at random
 * init (`linbench spectrum --random-init`), a control. Numbers carry 95% percentile
 * bootstrap intervals over windows (boot resamples, seeded); verdicts at an n past the
 * model's trained length are LB_OUTSIDE. */
int lb_report_spectrum(lb_report *r, const char *prefix, const char *name, const char *init, int boot);
/* "Approximations on real attention" (report_approx.c) for the spectrum results
 * prefixes (n) named names: Theorems 1 and 2 as stated, the fitted projection, learned
 * E, F, every method at matched cost; "not run yet" when no PREFIX_approx_all.csv. */
int lb_report_approx(lb_report *r, const char *const *prefixes, const char *const *names, int n);
/* Table 3, time vs n and crossover from a bench folder (summary.csv, table3.csv);
 * figures from plots/bench_plots.sh in figdir. paper may be NULL. Within the Table 3
 * section, the paper preset's folder t3paper (NULL: "not run yet") through
 * lb_report_table3_paper, its figure in t3figdir. */
int lb_report_bench(lb_report *r, const char *dir, const char *paper, const char *figdir,
                    const char *t3paper, const char *t3figdir);
/* "Table 3 at the paper's scale": the rows of a Table 3 folder (make bench-table3-paper:
 * table3.csv, bench.json with the "parts" it was merged from) against the paper and the
 * modern kernels, its parts (machine, streaming kernel, wall time), and the paper's
 * lengths it lacks. No verdicts: those rest on the --bench folder. dir NULL: "not run
 * yet". figdir holds its table3.png. */
int lb_report_table3_paper(lb_report *r, const char *dir, const char *paper, const char *figdir);
/* Figure 3 from training logs (step,...,val_ppl,... CSV of `linbench train --log`);
 * labels, paths are (n); the first is the reference (standard attention). The figure
 * is figdir/fig3_valid_ppl.png when drawn (experiments/report/reproduce.mk). */
int lb_report_train(lb_report *r, const char *const *labels, const char *const *paths, int n,
                    const char *figdir);

#endif
