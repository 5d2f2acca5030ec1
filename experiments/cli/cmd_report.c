/* linbench report: REPORT.md from the result files of bench, spectrum and train.
 * The whole report is built in memory and written atomically, so a failed or
 * interrupted run leaves the previous REPORT.md (or none) in place. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_cmd.h"
#include "lb_outset.h"
#include "lb_report.h"
#include "lb_util.h"

#define MAXIN 32

static void usage(FILE *f) {
    fprintf(f,
            "usage: linbench report [--bench DIR] [--spectrum PREFIX[,PREFIX...]] [options] --out FILE\n"
            "Write a Markdown report (REPORT.md) from result files: machine and build metadata, Figure 1\n"
            "per corpus, projection error vs the optimal rank-k, spectrum vs n, Table 3 against the paper,\n"
            "time vs n and crossover, Figure 3; a verdict with its rule for each of the paper's claims.\n\n"
            "  --bench DIR            `linbench bench` folder (summary.csv, table3.csv, bench.json)\n"
            "  --spectrum LIST        `linbench spectrum --out` prefixes, comma-separated\n"
            "  --corpus-names LIST    a name per prefix (default: the prefixes' file names)\n"
            "  --random-init LIST     a `linbench spectrum --random-init` prefix per --spectrum prefix:\n"
            "                         the same architecture at random init, a control beside Figure 1\n"
            "  --bootstrap B          resamples of the windows for the 95%% intervals (default 1000)\n"
            "  --train-log LIST       `linbench train --log` CSVs as LABEL=FILE or FILE, comma-separated\n"
            "                         (or repeated); the first is the reference (standard attention)\n"
            "  --paper FILE           the paper's Table 3 CSV (default %s when present)\n"
            "  --figures DIR          folder of the bench and Figure 3 plots (default plots/out)\n"
            "  --table3-paper DIR     the paper preset's Table 3 folder (make bench-table3-paper:\n"
            "                         results/paper-table3), shown beside the default preset's\n"
            "  --table3-paper-figures DIR  its plots (default plots/out-paper-table3)\n"
            "  --out FILE             the report (default results/REPORT.md)\n"
            "  -h, --help             this text\n"
            "An option left out gives a section saying \"not run yet\"; a named file that is missing or\n"
            "malformed is an error.\n"
            "exit: 0 written; 64 bad arguments; 65 malformed input; 66 missing input; 73/74 cannot write\n",
            LB_CMD_PAPER_TABLE3);
}

/* Split s (modified) on commas into out; returns the count or -1 when over max. */
static int split_list(char *s, char **out, int have, int max, const char *what) {
    for (char *p = s, *c; p; p = c) {
        if ((c = strchr(p, ','))) *c++ = 0;
        if (!*p) continue;
        if (have == max) {
            lb_err("report: more than %d items in %s", max, what);
            return -1;
        }
        out[have++] = p;
    }
    return have;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

typedef struct {
    const char *bench, *paper, *figures, *out, *t3paper, *t3figures;
    char *spec[MAXIN], *names[MAXIN], *logs[MAXIN], *labels[MAXIN], *init[MAXIN];
    int nspec, nnames, nlogs, ninit;
    long boot;
    char *own[4 * MAXIN]; /* strdup'd option values */
    int nown;
} opts;

static int parse(opts *o, int argc, char **argv) {
    static const struct option lo[] = {
        {"bench", 1, 0, 'b'},     {"spectrum", 1, 0, 's'}, {"corpus-names", 1, 0, 'c'},
        {"train-log", 1, 0, 't'}, {"paper", 1, 0, 'p'},    {"figures", 1, 0, 'f'},
        {"out", 1, 0, 'o'},       {"help", 0, 0, 'h'},     {"random-init", 1, 0, 'i'},
        {"bootstrap", 1, 0, 'B'}, {"table3-paper", 1, 0, 'T'}, {"table3-paper-figures", 1, 0, 'F'},
        {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        char *v = NULL;
        if (ch == 's' || ch == 'c' || ch == 't' || ch == 'i') {
            if (o->nown == 4 * MAXIN || !(v = o->own[o->nown++] = strdup(optarg))) {
                lb_err("report: too many list options");
                return EX_USAGE;
            }
        }
        switch (ch) {
        case 'b': o->bench = optarg; break;
        case 's':
            if ((o->nspec = split_list(v, o->spec, o->nspec, MAXIN, "--spectrum")) < 0) return EX_USAGE;
            break;
        case 'c':
            if ((o->nnames = split_list(v, o->names, o->nnames, MAXIN, "--corpus-names")) < 0)
                return EX_USAGE;
            break;
        case 't':
            if ((o->nlogs = split_list(v, o->logs, o->nlogs, MAXIN, "--train-log")) < 0) return EX_USAGE;
            break;
        case 'i':
            if ((o->ninit = split_list(v, o->init, o->ninit, MAXIN, "--random-init")) < 0) return EX_USAGE;
            break;
        case 'B':
            if (lb_parse_long(optarg, &o->boot, 10, 1000000, "--bootstrap")) return EX_USAGE;
            break;
        case 'p': o->paper = optarg; break;
        case 'f': o->figures = optarg; break;
        case 'T': o->t3paper = optarg; break;
        case 'F': o->t3figures = optarg; break;
        case 'o': o->out = optarg; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (optind < argc) {
        lb_err("report: unexpected argument '%s' (options only; see --help)", argv[optind]);
        return EX_USAGE;
    }
    if (o->nnames && o->nnames != o->nspec) {
        lb_err("report: --corpus-names has %d names for %d --spectrum prefixes", o->nnames, o->nspec);
        return EX_USAGE;
    }
    if (o->ninit && o->ninit != o->nspec) {
        lb_err("report: --random-init has %d prefixes for %d --spectrum prefixes", o->ninit, o->nspec);
        return EX_USAGE;
    }
    for (int i = o->nnames; i < o->nspec; i++) o->names[i] = (char *)base_name(o->spec[i]);
    for (int i = 0; i < o->nlogs; i++) {
        char *eq = strchr(o->logs[i], '=');
        if (eq) {
            *eq = 0, o->labels[i] = o->logs[i], o->logs[i] = eq + 1;
        } else { /* no label: the path names the run */
            o->labels[i] = o->logs[i];
        }
        if (!*o->labels[i] || !*o->logs[i]) {
            lb_err("report: --train-log item '%s': expected LABEL=FILE or FILE", o->labels[i]);
            return EX_USAGE;
        }
    }
    if (!o->paper && access(LB_CMD_PAPER_TABLE3, R_OK) == 0) o->paper = LB_CMD_PAPER_TABLE3;
    return 0;
}

static int body(lb_report *r, const opts *o) {
    const char *labels[MAXIN + 1], *paths[MAXIN + 1];
    char store[MAXIN + 1][4096];
    int n = 0, rc;
    if (o->bench) {
        snprintf(store[n], sizeof store[n], "%s/bench.json", o->bench);
        labels[n] = "bench", paths[n] = store[n], n++;
    }
    for (int i = 0; i < o->nspec; i++) {
        snprintf(store[n], sizeof store[n], "%s.json", o->spec[i]);
        labels[n] = o->names[i], paths[n] = store[n], n++;
    }
    if ((rc = lb_report_meta(r, labels, paths, n))) return rc;
    if (!o->nspec) {
        fprintf(r->md, "\n## Figure 1 — spectra of the context mapping matrix P\n");
        lb_report_not_run(r, "spectrum analysis", "make reproduce (or linbench spectrum --out PREFIX)");
    }
    for (int i = 0; i < o->nspec; i++)
        if ((rc = lb_report_spectrum(r, o->spec[i], o->names[i], o->ninit ? o->init[i] : NULL, (int)o->boot))) return rc;
    if ((rc = lb_report_approx(r, (const char *const *)o->spec, (const char *const *)o->names,
                               o->nspec)))
        return rc;
    if (o->bench) {
        if ((rc = lb_report_bench(r, o->bench, o->paper, o->figures, o->t3paper, o->t3figures))) return rc;
    } else {
        fprintf(r->md, "\n## Table 3 — inference speed-up and memory saving, ours vs the paper\n");
        lb_report_not_run(r, "benchmark", "make bench (or linbench bench --out DIR)");
        if ((rc = lb_report_table3_paper(r, o->t3paper, o->paper, o->t3figures))) return rc;
        fprintf(r->md, "\n## Speed of one attention layer: time vs n and crossover\n");
        lb_report_not_run(r, "benchmark", "make bench (or linbench bench --out DIR)");
    }
    return lb_report_train(r, (const char *const *)o->labels, (const char *const *)o->logs, o->nlogs,
                           o->figures);
}

/* Header, the summary of verdicts, then the body. */
static void assemble(FILE *f, const lb_report *r, const char *body_text, size_t body_len, int argc,
                     char **argv) {
    fprintf(f,
            "# linbench report: the Linformer paper's evidence on this machine\n\n"
            "Generated by `linbench report` from result files; do not edit by hand. Command:\n\n`linbench");
    for (int i = 0; i < argc; i++) fputc(' ', f), lb_md_cell(f, argv[i]);
    fprintf(f, "`\n\n## Verdicts\n\nEach verdict is derived from the numbers below by the rule printed next "
               "to it.\n\n"
               "| claim | verdict | rests on |\n|---|---|---|\n");
    for (int i = 0; i < r->nv; i++) {
        fputs("| ", f), lb_md_cell(f, r->v[i].claim);
        fprintf(f, " | %s | ", lb_verdict_word(r->v[i].kind)), lb_md_cell(f, r->v[i].rests_on),
            fputs(" |\n", f);
    }
    if (!r->nv) fputs("| (no results yet) | | |\n", f);
    fwrite(body_text, 1, body_len, f);
}

/* The folder of --out, made and resolved into absdir (the report names its files
 * relative to it). 0, or a sysexits code after a message. */
static int out_folder(char *absdir, const char *out) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    if (!*dir) snprintf(dir, sizeof dir, "/");
    if (lb_mkdirs(dir) || !realpath(dir, absdir)) {
        lb_err("report: cannot create the folder of --out '%s'", out);
        return EX_CANTCREAT;
    }
    return 0;
}

/* The body of the report into memory (*text, *len: the caller frees *text) and the
 * verdicts into r. 0 or a sysexits code. */
static int run(lb_report *r, const opts *o, char **text, size_t *len) {
    if (!(r->md = open_memstream(text, len))) return EX_OSERR;
    int rc = body(r, o);
    fclose(r->md);
    return rc;
}

/* An output set (lb_outset.h): the report appears whole or not at all. */
static int write_report(const lb_report *r, const opts *o, const char *text, size_t len, int argc,
                        char **argv) {
    char msg[1200];
    int rc;
    lb_outset *out = lb_outset_new(msg, sizeof msg);
    FILE *f = out ? lb_outset_add(out, o->out, msg, sizeof msg) : NULL;
    if (!f) {
        lb_err("report: %s", msg);
        lb_outset_abort(out);
        rc = EX_CANTCREAT;
    } else {
        assemble(f, r, text, len, argc, argv);
        rc = lb_outset_commit(out, msg, sizeof msg) ? lb_err("report: %s", msg), EX_IOERR : 0;
    }
    if (!rc) printf("wrote %s (%d verdicts)\n", o->out, r->nv);
    return rc;
}

int lb_cmd_report(int argc, char **argv) {
    opts o = {.figures = "plots/out", .t3figures = "plots/out-paper-table3", .out = "results/REPORT.md"};
    int rc = parse(&o, argc, argv);
    if (rc) {
        for (int i = 0; i < o.nown; i++) free(o.own[i]);
        return rc < 0 ? EX_OK : rc;
    }
    lb_outset_catch_signals(); /* an interrupt leaves an earlier report as it was */
    lb_report r = {0};
    char *text = NULL, absdir[PATH_MAX];
    size_t len = 0;
    rc = out_folder(absdir, o.out);
    r.outdir = absdir;
    if (!rc) rc = run(&r, &o, &text, &len);
    if (!rc) rc = write_report(&r, &o, text, len, argc, argv);
    free(text);
    for (int i = 0; i < r.nv; i++) free(r.v[i].claim), free(r.v[i].rests_on);
    free(r.v);
    for (int i = 0; i < o.nown; i++) free(o.own[i]);
    return rc;
}
