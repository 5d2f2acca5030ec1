/* linbench compare BASE NEW: per point, the ratio of the medians and a two-sided
 * Mann–Whitney U test on the raw samples; a change is flagged only when both the
 * ratio exceeds the factor and the test rejects at alpha (as asv). Before judging it
 * checks that the two runs come from the same machine (fingerprint) and that their
 * sample sizes can reach alpha at all, and refuses, with its own exit code, otherwise. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_bench.h"
#include "lb_cmd.h"
#include "lb_util.h"

#define EXIT_REGRESSION 1
#define EXIT_OTHER_MACHINE 3
#define EXIT_UNDERPOWERED 4

typedef struct {
    double factor, alpha;
    int quiet, allow_other;
    int paired;          /* --paired: sample i of BASE with sample i of NEW (signed-rank) */
    const char *out;     /* CSV of the verdicts, or NULL */
    const char *base, *cand;
} cmp_opts;

static void usage(FILE *f) {
    fprintf(f,
        "usage: linbench compare [OPTIONS] BASE NEW\n"
        "Compare two 'linbench bench' results (bench.csv files or folders holding one).\n"
        "Per point: ratio = median(NEW) / median(BASE) and a two-sided Mann–Whitney U test\n"
        "on the raw samples. A regression is ratio > FACTOR and p < ALPHA; an improvement\n"
        "ratio < 1/FACTOR and p < ALPHA.\n"
        "Refused before judging: results whose machine fingerprints (bench.json beside\n"
        "bench.csv) differ, or where one side has none; and sample sizes with which the U\n"
        "test cannot reach ALPHA (the message says how many samples a side are needed).\n\n"
        "  --factor F   ratio threshold (default 1.10)\n"
        "  --alpha A    significance level (default 0.002)\n"
        "  --paired     the i-th sample of a point in BASE and in NEW were timed back to back\n"
        "               (bench-ab's paired mode): ratio = the Hodges–Lehmann ratio of the\n"
        "               pairs, p from the Wilcoxon signed-rank test on log(new/base)\n"
        "  --allow-other-machine  judge results from different fingerprints anyway, each\n"
        "               point as a fraction of its own run's FMA peak (time × peak)\n"
        "  --out FILE   also write the verdicts as CSV (key columns, base_median,\n"
        "               new_median, ratio, p, verdict)\n"
        "  -q, --quiet  print only flagged points and the summary\n"
        "  -h, --help   -V, --version\n"
        "exit: 0 nothing regressed; 1 a regression; 3 different machines (refused);\n"
        "4 too few samples to reach ALPHA (refused); 64 bad arguments; 65 malformed\n"
        "results; 66 missing file; 73 cannot write --out\n");
}

static int parse_args(cmp_opts *o, int argc, char **argv) {
    static const struct option opts[] = {{"factor", required_argument, 0, 'f'},
                                         {"alpha", required_argument, 0, 'a'},
                                         {"allow-other-machine", no_argument, 0, 'm'},
                                         {"paired", no_argument, 0, 'p'},
                                         {"out", required_argument, 0, 'o'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (lb_parse_double(optarg, &o->factor, 1.0, 1e6, "--factor")) return EX_USAGE;
            break;
        case 'a':
            if (lb_parse_double(optarg, &o->alpha, 1e-300, 1.0, "--alpha")) return EX_USAGE;
            break;
        case 'm': o->allow_other = 1; break;
        case 'p': o->paired = 1; break;
        case 'o': o->out = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return -1;
        case 'V': printf("linbench %s\n", LB_VERSION); return -1;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (argc - optind != 2) {
        lb_err("compare: expected two result files, BASE and NEW (see --help)");
        return EX_USAGE;
    }
    o->base = argv[optind], o->cand = argv[optind + 1];
    return 0;
}

/* Same machine? 0: judge times as they are; 1: judge fractions of peak; or an exit code. */
static int check_machines(const cmp_opts *o, const lb_results *b, const lb_results *n) {
    char why[4096] = "";
    int differ = 0;
    if (b->has_fp && n->has_fp) differ = lb_fingerprint_diff(&b->fp, &n->fp, why, sizeof why) > 0;
    else if (b->has_fp || n->has_fp) {
        snprintf(why, sizeof why, "%s has no fingerprint (%s), so the machines cannot be told "
                 "apart", b->has_fp ? "NEW" : "BASE", b->has_fp ? n->fp_note : b->fp_note);
        differ = 1;
    } else {
        fprintf(stderr, "linbench: compare: warning: neither side has a machine fingerprint (%s); "
                        "assuming the same machine\n", b->fp_note);
        return 0;
    }
    if (!differ) return 0;
    if (!o->allow_other) {
        lb_err("compare: refused: BASE and NEW come from different machines or builds: %s. Rerun "
               "both on one machine, or pass --allow-other-machine to compare fractions of each "
               "run's FMA peak", why);
        return EXIT_OTHER_MACHINE;
    }
    fprintf(stderr, "linbench: compare: different machines (%s); comparing each point as a "
                    "fraction of its own run's FMA peak\n", why);
    for (int i = 0; i < b->len; i++) {
        const lb_point_samples *g = &b->g[i], *h = lb_results_find(n, g->key);
        if (!h) continue;
        if (!b->has_fp || !n->has_fp || !isfinite(lb_fingerprint_peak(&b->fp, g->threads)) ||
            !isfinite(lb_fingerprint_peak(&n->fp, h->threads))) {
            lb_err("compare: --allow-other-machine needs each run's FMA peak at the point's thread "
                   "count (meta.fingerprint.fma_peak); %s lacks it for %d threads",
                   !b->has_fp || !isfinite(lb_fingerprint_peak(&b->fp, g->threads)) ? "BASE" : "NEW",
                   g->threads);
            return EX_DATAERR;
        }
    }
    return 1;
}

/* Refuse when some matched point's sample sizes cannot reach alpha even when the two
 * samples are completely separated: such a comparison would report "same" for anything. */
static int check_power(const cmp_opts *o, const lb_results *b, const lb_results *n) {
    int weak = 0, n1 = 0, n2 = 0, few = 0;
    for (int i = 0; i < b->len; i++) {
        const lb_point_samples *g = &b->g[i], *h = lb_results_find(n, g->key);
        if (!h) continue;
        if (o->paired) {
            if (g->len != h->len) {
                lb_err("compare: --paired: point %s has %d samples in BASE and %d in NEW; pairs "
                       "need the same count (the runs of one paired A/B)", g->key, g->len, h->len);
                return EX_DATAERR;
            }
            /* the signed-rank test's smallest p with m pairs is 2 / 2^m */
            if (ldexp(2.0, -g->len) >= o->alpha && !weak++) n1 = g->len;
            continue;
        }
        few += g->len < 9 || h->len < 9;
        if (lb_bench_min_p(g->len, h->len) >= o->alpha) {
            if (!weak++) n1 = g->len, n2 = h->len;
        }
    }
    if (weak && o->paired) {
        int need = 1;
        while (ldexp(2.0, -need) >= o->alpha) need++;
        lb_err("compare: refused: %d points have too few pairs to reach alpha = %g (e.g. %d: the "
               "signed-rank test's smallest p is %.3g); each needs at least %d pairs", weak, o->alpha,
               n1, ldexp(2.0, -n1), need);
        return EXIT_UNDERPOWERED;
    }
    if (weak) {
        lb_err("compare: refused: %d points have too few samples to reach alpha = %g (e.g. %d and "
               "%d samples: the U test's smallest p is %.3g); each side needs at least %d samples "
               "(bench --reps, or more A/B rounds)",
               weak, o->alpha, n1, n2, lb_bench_min_p(n1, n2), lb_bench_samples_needed(o->alpha));
        return EXIT_UNDERPOWERED;
    }
    if (few)
        fprintf(stderr, "linbench: compare: warning: %d points have fewer than 9 samples on a side; "
                        "the U test has little power there (small changes go unflagged)\n", few);
    return 0;
}

static const char *verdict_name(lb_verdict v) {
    return v == LB_REGRESSION ? "REGRESSION" : v == LB_IMPROVED ? "improved" : "same";
}

static void csv_num(FILE *f, double x) { fprintf(f, isfinite(x) ? ",%.9g" : ",NaN", x); }

/* Judge every point, print the table and the --out rows. Returns the regressions. */
static int judge_all(const cmp_opts *o, const lb_results *b, const lb_results *n, int relative,
                     FILE *csv, int counts[6]) {
    if (!o->quiet)
        printf("%-58s %11s %11s %7s %15s %9s  %s\n", "point (header minus rep, seconds)",
               relative ? "base_s*peak" : "base_med_s", relative ? "new_s*peak" : "new_med_s",
               "ratio", "95% interval", "p", "verdict");
    for (int i = 0; i < b->len; i++) {
        const lb_point_samples *g = &b->g[i], *h = lb_results_find(n, g->key);
        if (!h) {
            counts[3]++;
            if (!o->quiet) printf("%-58s only in BASE\n", g->key);
            if (csv) fprintf(csv, "%s,NaN,NaN,NaN,NaN,NaN,NaN,only_base\n", g->key);
            continue;
        }
        double sb = relative ? lb_fingerprint_peak(&b->fp, g->threads) : 1;
        double sn = relative ? lb_fingerprint_peak(&n->fp, h->threads) : 1;
        lb_judgement j;
        if (o->paired ? lb_bench_judge_paired(&j, g->s, g->len, sb, h->s, h->len, sn, o->factor, o->alpha)
                      : lb_bench_judge(&j, g->s, g->len, sb, h->s, h->len, sn, o->factor, o->alpha))
            return -1;
        counts[j.verdict == LB_REGRESSION ? 0 : j.verdict == LB_IMPROVED ? 1 : 2]++;
        /* "same" that cannot exclude a change past the factor: the samples are too few or
         * too noisy to call it unchanged, only not flagged (an interval that is NaN counts) */
        if (j.verdict == LB_SAME && !(j.ratio_hi <= o->factor && j.ratio_lo >= 1 / o->factor)) counts[5]++;
        if (!o->quiet || j.verdict != LB_SAME) {
            char iv[40];
            snprintf(iv, sizeof iv, "[%.3f, %.3f]", j.ratio_lo, j.ratio_hi);
            printf("%-58s %11.4g %11.4g %7.3f %15s %9.2g  %s\n", g->key, j.base_med, j.new_med, j.ratio, iv,
                   j.p, verdict_name(j.verdict));
        }
        if (csv) {
            fputs(g->key, csv);
            csv_num(csv, j.base_med), csv_num(csv, j.new_med), csv_num(csv, j.ratio);
            csv_num(csv, j.ratio_lo), csv_num(csv, j.ratio_hi), csv_num(csv, j.p);
            fprintf(csv, ",%s\n", j.verdict == LB_REGRESSION ? "regression" : verdict_name(j.verdict));
        }
    }
    for (int i = 0; i < n->len; i++)
        if (!lb_results_find(b, n->g[i].key)) {
            counts[4]++;
            if (!o->quiet) printf("%-58s only in NEW\n", n->g[i].key);
            if (csv) fprintf(csv, "%s,NaN,NaN,NaN,NaN,NaN,NaN,only_new\n", n->g[i].key);
        }
    return 0;
}

static int run(const cmp_opts *o, const lb_results *b, const lb_results *n) {
    int relative = check_machines(o, b, n);
    if (relative > 1) return relative;
    int rc = check_power(o, b, n);
    if (rc) return rc;
    lb_atomic a;
    FILE *csv = NULL;
    if (o->out) {
        if (!(csv = lb_atomic_open(&a, o->out))) return EX_CANTCREAT;
        fprintf(csv, "# linbench compare, factor %g, alpha %g%s; ratio = %s%s\n%s,"
                     "base_median,new_median,ratio,ratio_lo,ratio_hi,p,verdict\n",
                o->factor, o->alpha, relative ? ", machine-relative" : "",
                o->paired ? "Hodges-Lehmann ratio of the paired samples (signed-rank p)" : "new/base median",
                relative ? " of seconds x FMA peak" : o->paired ? "" : " seconds", b->header);
    }
    int counts[6] = {0}; /* regressed, improved, same, only base, only new, same but wide */
    if (judge_all(o, b, n, relative, csv, counts)) {
        if (csv) lb_atomic_abort(&a);
        lb_err("compare: a point could not be judged (out of memory, or --paired with a 0 s sample)");
        return EX_OSERR;
    }
    if (csv && lb_atomic_commit(&a)) return EX_IOERR;
    int matched = counts[0] + counts[1] + counts[2];
    printf("\ncolumns: %s%s\n", b->header,
           relative ? "; medians in seconds x GFLOP/s of the run's FMA peak" : "");
    printf("%d compared: %d regressed, %d improved, %d unchanged (factor %.3g, alpha %.3g); "
           "%d only in BASE, %d only in NEW\n",
           matched, counts[0], counts[1], counts[2], o->factor, o->alpha, counts[3], counts[4]);
    if (counts[5])
        printf("%d of the %d unchanged cannot rule out a change past the factor: their 95%% interval of "
               "new/base reaches beyond [%.3g, %.3g] (more rounds or repetitions narrow it)\n",
               counts[5], counts[2], 1 / o->factor, o->factor);
    if (!matched) {
        lb_err("compare: no point in common between the two results");
        return EX_DATAERR;
    }
    return counts[0] ? EXIT_REGRESSION : EX_OK;
}

int lb_cmd_compare(int argc, char **argv) {
    cmp_opts o = {.factor = 1.10, .alpha = 0.002};
    int rc = parse_args(&o, argc, argv);
    if (rc) return rc < 0 ? EX_OK : rc;
    lb_results base, cand;
    char msg[1024];
    if ((rc = lb_results_read(&base, o.base, msg, sizeof msg))) {
        lb_err("compare: %s", msg);
        return rc;
    }
    if ((rc = lb_results_read(&cand, o.cand, msg, sizeof msg))) {
        lb_err("compare: %s", msg);
        lb_results_free(&base);
        return rc;
    }
    rc = run(&o, &base, &cand);
    lb_results_free(&base), lb_results_free(&cand);
    return rc;
}
