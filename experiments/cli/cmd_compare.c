/* linbench compare BASE NEW: per point, the ratio of the medians and a two-sided
 * Mann–Whitney U test on the raw samples; a change is flagged only when both the
 * ratio exceeds the factor and the test rejects at alpha (as asv does). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lb_cmd.h"
#include "lb_stats.h"
#include "lb_util.h"

#define EXIT_REGRESSION 1

typedef struct {
    char *key;
    double *s;
    int len, cap;
} group;

typedef struct {
    group *g;
    int len, cap;
    char *header; /* key columns, for the table heading */
} result_file;

static void rf_free(result_file *r) {
    for (int i = 0; i < r->len; i++) free(r->g[i].key), free(r->g[i].s);
    free(r->g);
    free(r->header);
}

static group *find_group(result_file *r, const char *key, int create) {
    if (r->len && !strcmp(r->g[r->len - 1].key, key)) return &r->g[r->len - 1]; /* rows of a point are adjacent */
    for (int i = 0; i < r->len; i++)
        if (!strcmp(r->g[i].key, key)) return &r->g[i];
    if (!create) return NULL;
    if (r->len == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        group *g = realloc(r->g, (size_t)cap * sizeof *g);
        if (!g) return NULL;
        r->g = g, r->cap = cap;
    }
    group *g = &r->g[r->len];
    memset(g, 0, sizeof *g);
    if (!(g->key = strdup(key))) return NULL;
    r->len++;
    return g;
}

static int push(group *g, double v) {
    if (g->len == g->cap) {
        int cap = g->cap ? 2 * g->cap : 16;
        double *s = realloc(g->s, (size_t)cap * sizeof *s);
        if (!s) return -1;
        g->s = s, g->cap = cap;
    }
    g->s[g->len++] = v;
    return 0;
}

/* Split line in place at commas into fields (max). Returns the count. */
static int split(char *line, char **f, int max) {
    int n = 0;
    for (char *p = line;;) {
        if (n == max) return max + 1;
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

#define MAXCOL 64

/* Read a bench.csv (or DIR/bench.csv). Returns 0 or a sysexits code (message printed). */
static int read_results(result_file *r, const char *arg) {
    struct stat st;
    char path[4096];
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(path, sizeof path, "%s/bench.csv", arg);
    else snprintf(path, sizeof path, "%s", arg);
    FILE *f = fopen(path, "r");
    if (!f) {
        lb_err("compare: cannot open '%s': %s", path, strerror(errno));
        return EX_NOINPUT;
    }
    char *line = NULL, *fields[MAXCOL + 1];
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int ncol = 0, sec = -1, rep = -1, rc = EX_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0 || line[0] == '#') continue;
        if (!ncol) { /* the header */
            char *copy = strdup(line);
            ncol = split(line, fields, MAXCOL);
            if (!copy || ncol > MAXCOL) {
                free(copy);
                lb_err("compare: %s:%ld: header has more than %d columns", path, lineno, MAXCOL);
                rc = EX_DATAERR;
                break;
            }
            for (int i = 0; i < ncol; i++) {
                if (!strcmp(fields[i], "seconds")) sec = i;
                if (!strcmp(fields[i], "rep")) rep = i;
            }
            if (sec < 0) {
                free(copy);
                lb_err("compare: %s:%ld: header has no 'seconds' column; expected a linbench "
                       "bench.csv (protocol,...,rep,seconds)", path, lineno);
                rc = EX_DATAERR;
                break;
            }
            r->header = copy;
            continue;
        }
        int nf = split(line, fields, MAXCOL);
        if (nf != ncol) {
            lb_err("compare: %s:%ld: %d fields, expected %d as in the header", path, lineno, nf, ncol);
            rc = EX_DATAERR;
            break;
        }
        char *end;
        errno = 0;
        double v = strtod(fields[sec], &end);
        if (end == fields[sec] || *end || errno || !isfinite(v) || v < 0) {
            lb_err("compare: %s:%ld: seconds '%s' is not a finite non-negative number", path,
                   lineno, fields[sec]);
            rc = EX_DATAERR;
            break;
        }
        char key[1024];
        size_t kl = 0;
        key[0] = 0;
        for (int i = 0; i < ncol; i++) {
            if (i == sec || i == rep) continue;
            int w = snprintf(key + kl, sizeof key - kl, "%s%s", kl ? "," : "", fields[i]);
            if (w < 0 || (size_t)w >= sizeof key - kl) {
                lb_err("compare: %s:%ld: row too long", path, lineno);
                rc = EX_DATAERR;
                break;
            }
            kl += (size_t)w;
        }
        if (rc) break;
        group *g = find_group(r, key, 1);
        if (!g || push(g, v)) {
            lb_err("compare: out of memory reading %s", path);
            rc = EX_OSERR;
            break;
        }
    }
    if (!rc && ferror(f)) {
        lb_err("compare: error reading %s", path);
        rc = EX_IOERR;
    }
    if (!rc && !ncol) {
        lb_err("compare: %s: no header line; expected a linbench bench.csv", path);
        rc = EX_DATAERR;
    }
    if (!rc && r->len == 0) {
        lb_err("compare: %s: no samples", path);
        rc = EX_DATAERR;
    }
    free(line);
    fclose(f);
    return rc;
}

static void usage(FILE *f) {
    fprintf(f,
        "usage: linbench compare [OPTIONS] BASE NEW\n"
        "Compare two 'linbench bench' results (bench.csv files or folders holding one).\n"
        "Per point: ratio = median(NEW) / median(BASE) and a two-sided Mann–Whitney U test\n"
        "on the raw samples. A regression is ratio > FACTOR and p < ALPHA; an improvement\n"
        "ratio < 1/FACTOR and p < ALPHA.\n\n"
        "  --factor F   ratio threshold (default 1.10)\n"
        "  --alpha A    significance level (default 0.002)\n"
        "  -q, --quiet  print only flagged points and the summary\n"
        "  -h, --help   -V, --version\n"
        "exit: 0 nothing regressed; 1 a regression; 64 bad arguments; 65 malformed\n"
        "results; 66 missing file\n");
}

int lb_cmd_compare(int argc, char **argv) {
    double factor = 1.10, alpha = 0.002;
    int quiet = 0, c;
    static const struct option opts[] = {{"factor", required_argument, 0, 'f'},
                                         {"alpha", required_argument, 0, 'a'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    optind = 0;
    while ((c = getopt_long(argc, argv, "qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (lb_parse_double(optarg, &factor, 1.0, 1e6, "--factor")) return EX_USAGE;
            break;
        case 'a':
            if (lb_parse_double(optarg, &alpha, 1e-300, 1.0, "--alpha")) return EX_USAGE;
            break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return EX_OK;
        case 'V': printf("linbench %s\n", LB_VERSION); return EX_OK;
        default: usage(stderr); return EX_USAGE;
        }
    }
    if (argc - optind != 2) {
        lb_err("compare: expected two result files, BASE and NEW (see --help)");
        return EX_USAGE;
    }
    result_file base = {0}, cand = {0};
    int rc = read_results(&base, argv[optind]);
    if (!rc) rc = read_results(&cand, argv[optind + 1]);
    if (rc) {
        rf_free(&base), rf_free(&cand);
        return rc;
    }
    int regress = 0, improve = 0, same = 0, only_base = 0, few = 0, matched = 0;
    if (!quiet)
        printf("%-58s %11s %11s %7s %9s  %s\n", "point (header minus rep, seconds)", "base_med_s",
               "new_med_s", "ratio", "p", "verdict");
    for (int i = 0; i < base.len; i++) {
        group *b = &base.g[i], *n = find_group(&cand, b->key, 0);
        if (!n) {
            only_base++;
            if (!quiet) printf("%-58s only in BASE\n", b->key);
            continue;
        }
        matched++;
        double mb = lb_median(b->s, (size_t)b->len), mn = lb_median(n->s, (size_t)n->len);
        double ratio = mb > 0 ? mn / mb : (mn > 0 ? INFINITY : 1);
        lb_mwu_result u;
        double p = lb_mannwhitney(&u, b->s, (size_t)b->len, n->s, (size_t)n->len, LB_MWU_AUTO) ? NAN : u.p;
        if (b->len < 9 || n->len < 9) few++;
        const char *verdict = "same";
        if (p < alpha && ratio > factor) verdict = "REGRESSION", regress++;
        else if (p < alpha && ratio < 1 / factor) verdict = "improved", improve++;
        else same++;
        if (!quiet || strcmp(verdict, "same"))
            printf("%-58s %11.4g %11.4g %7.3f %9.2g  %s\n", b->key, mb, mn, ratio, p, verdict);
    }
    int only_new = 0;
    for (int i = 0; i < cand.len; i++)
        if (!find_group(&base, cand.g[i].key, 0)) {
            only_new++;
            if (!quiet) printf("%-58s only in NEW\n", cand.g[i].key);
        }
    printf("\ncolumns: %s\n", base.header);
    printf("%d compared: %d regressed, %d improved, %d unchanged (factor %.3g, alpha %.3g); "
           "%d only in BASE, %d only in NEW\n",
           matched, regress, improve, same, factor, alpha, only_base, only_new);
    if (few)
        fprintf(stderr, "linbench: compare: warning: %d points have fewer than 9 samples on a side; "
                        "the U test then cannot reach small p-values (changes go unflagged)\n", few);
    rf_free(&base), rf_free(&cand);
    if (!matched) {
        lb_err("compare: no point in common between the two results");
        return EX_DATAERR;
    }
    return regress ? EXIT_REGRESSION : EX_OK;
}
