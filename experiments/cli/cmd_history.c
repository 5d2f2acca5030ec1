/* linbench history: a record of bench runs across commits.
 *   linbench history add [--store DIR] [--allow-dirty] RESULT_DIR
 *   linbench history [--store DIR] [--out DIR] [--match TEXT] [--factor F] [--alpha A]
 * The second draws every point's median and interquartile range against the runs
 * (gnuplot, plots/bench_history.gp) and marks the changes compare's rule flags. */
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lb_bench.h"
#include "lb_cmd.h"
#include "lb_util.h"

extern char **environ;

typedef struct {
    const char *store, *out, *match, *gp, *dir;
    double factor, alpha;
    int allow_dirty, plot, add;
} hist_opts;

static void usage(FILE *f) {
    fprintf(f,
        "usage: linbench history add [--store DIR] [--allow-dirty] RESULT_DIR\n"
        "       linbench history [--store DIR] [--out DIR] [--match TEXT] [OPTIONS]\n"
        "A record of bench runs across commits (make bench-history appends one).\n"
        "add: copy RESULT_DIR's bench.csv and bench.json (raw samples, commit, fingerprint)\n"
        "     into the store as its next run; a dirty tree's run is refused unless\n"
        "     --allow-dirty, a run without a fingerprint always.\n"
        "show (default): per point and run the median and quartiles, and the change from\n"
        "     the previous run on the same machine under compare's rule, into\n"
        "     OUT/history.csv; OUT/history.png draws them (gnuplot); flagged changes are\n"
        "     listed on stdout.\n\n"
        "  --store DIR   the store (default results/history)\n"
        "  --out DIR     where history.csv/.png go (default plots/out/history)\n"
        "  --match TEXT  only points whose key (protocol,method,...) contains TEXT\n"
        "  --factor F    --alpha A   compare's rule (default 1.10, 0.002)\n"
        "  --gp FILE     the gnuplot script (default plots/bench_history.gp)\n"
        "  --no-plot     write the CSV only\n"
        "  -h, --help    -V, --version\n"
        "exit: 0 done (show: whether or not changes were flagged); 64 bad arguments; 65\n"
        "malformed store or run; 66 missing input; 69 gnuplot not found; 73/74 cannot write\n");
}

static int parse_args(hist_opts *o, int argc, char **argv) {
    static const struct option opts[] = {
        {"store", required_argument, 0, 's'}, {"out", required_argument, 0, 'o'},
        {"match", required_argument, 0, 'm'}, {"factor", required_argument, 0, 'f'},
        {"alpha", required_argument, 0, 'a'}, {"gp", required_argument, 0, 'g'},
        {"no-plot", no_argument, 0, 'n'},     {"allow-dirty", no_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (c) {
        case 's': o->store = optarg; break;
        case 'o': o->out = optarg; break;
        case 'm': o->match = optarg; break;
        case 'g': o->gp = optarg; break;
        case 'n': o->plot = 0; break;
        case 'd': o->allow_dirty = 1; break;
        case 'f': if (lb_parse_double(optarg, &o->factor, 1.0, 1e6, "--factor")) return EX_USAGE; break;
        case 'a': if (lb_parse_double(optarg, &o->alpha, 1e-300, 1.0, "--alpha")) return EX_USAGE; break;
        case 'h': usage(stdout); return -1;
        case 'V': printf("linbench %s\n", LB_VERSION); return -1;
        default: usage(stderr); return EX_USAGE;
        }
    }
    int rest = argc - optind;
    o->add = rest >= 1 && !strcmp(argv[optind], "add");
    if (o->add && rest == 2) o->dir = argv[optind + 1];
    else if ((o->add && rest != 2) || (!o->add && !(rest == 0 || (rest == 1 && !strcmp(argv[optind], "show"))))) {
        lb_err("history: expected 'add RESULT_DIR' or 'show' (or nothing); see --help");
        return EX_USAGE;
    }
    return 0;
}

/* gnuplot -e "dat='...'; out='...'" SCRIPT; 0, or EX_UNAVAILABLE / EX_SOFTWARE. */
static int plot(const hist_opts *o, const char *dat, const char *png) {
    if (access(o->gp, R_OK)) {
        lb_err("history: the gnuplot script %s is missing (run from the repository root or pass --gp)", o->gp);
        return EX_NOINPUT;
    }
    size_t len = strlen(dat) + strlen(png) + 64;
    char *e = malloc(len);
    if (!e) return EX_OSERR;
    snprintf(e, len, "dat='%s'; out='%s'", dat, png);
    char *args[] = {"gnuplot", "-e", e, (char *)o->gp, NULL};
    pid_t pid;
    int st = 0, rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, args, environ);
    free(e);
    if (rc) {
        lb_err("history: cannot run gnuplot (apt-get install gnuplot-nox); the data is in %s", dat);
        return EX_UNAVAILABLE;
    }
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
        lb_err("history: gnuplot failed on %s", o->gp);
        return EX_SOFTWARE;
    }
    return 0;
}

static int show(const hist_opts *o) {
    lb_history h;
    char msg[1024], csv[4200], dat[4200], png[4200];
    int rc = lb_history_load(&h, o->store, msg, sizeof msg), npts = 0, nflag = 0;
    if (rc) {
        lb_err("history: %s", msg);
        return rc;
    }
    if (lb_mkdirs(o->out)) {
        lb_history_free(&h);
        return EX_CANTCREAT;
    }
    snprintf(csv, sizeof csv, "%s/history.csv", o->out);
    snprintf(dat, sizeof dat, "%s/history.dat", o->out);
    snprintf(png, sizeof png, "%s/history.png", o->out);
    rc = lb_history_write(&h, o->match, o->factor, o->alpha, csv, dat, stdout, &npts, &nflag, msg, sizeof msg);
    if (rc) lb_err("history: %s", msg);
    else printf("%d runs, %d points, %d regressions flagged; %s\n", h.len, npts, nflag, csv);
    lb_history_free(&h);
    if (!rc && o->plot && !(rc = plot(o, dat, png))) printf("drawn: %s\n", png);
    return rc;
}

int lb_cmd_history(int argc, char **argv) {
    hist_opts o = {.store = "results/history", .out = "plots/out/history", .gp = "plots/bench_history.gp",
                   .factor = 1.10, .alpha = 0.002, .plot = 1};
    int rc = parse_args(&o, argc, argv);
    if (rc) return rc < 0 ? EX_OK : rc;
    if (!o.add) return show(&o);
    char added[256], msg[1024];
    if ((rc = lb_history_add(o.store, o.dir, o.allow_dirty, added, sizeof added, msg, sizeof msg))) {
        lb_err("history: add: %s", msg);
        return rc;
    }
    printf("added %s/%s\n", o.store, added);
    return EX_OK;
}
