/* `linbench merge`: join the result folders of `linbench bench --shard` (or of the ranks
 * of an MPI bench, or the parts of make bench-table3-paper) into one
 * (experiments/bench/bench_merge.c). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lb_bench.h"
#include "lb_cmd.h"
#include "lb_util.h"

static void usage(FILE *f) {
    fputs("usage: linbench merge --out DIR [--allow-mixed] [--paper FILE] DIR...\n"
          "Join bench result folders (shards of one grid, or the per-n parts of make\n"
          "bench-table3-paper) into DIR, in the order given: the rows of bench.csv, summary.csv\n"
          "and table3.csv, and bench.json with every point and \"merged_from\" (each folder's\n"
          "grid, date, commit, machine fingerprint, CPU family and model, FMA peak, streaming\n"
          "kernel and DIR/elapsed_s).\n"
          "Folders measured on different machines or builds (meta: CPU, kernel, compiler,\n"
          "flags, OpenBLAS, threads, fingerprint) are refused unless --allow-mixed; folders\n"
          "whose streaming kernels differ are joined with a warning. table3.csv is rebuilt\n"
          "from the merged points, so one n may be measured in several folders (a baseline in\n"
          "one, Linformer in another); a configuration measured twice is refused, and so is\n"
          "one n whose points come from two machines (even with --allow-mixed). --paper:\n"
          "the paper's Table 3 CSV for its columns (default " LB_CMD_PAPER_TABLE3 " when present).\n", f);
}

#define MAXDIRS 256

typedef struct {
    const char *out, *paper, *dirs[MAXDIRS];
    int n, allow_mixed;
} merge_opts;

/* 0, 1 after --help, or -1 after a message. */
static int parse(merge_opts *o, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout), 1;
        if (!strcmp(argv[i], "--allow-mixed")) o->allow_mixed = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) o->out = argv[++i];
        else if (!strcmp(argv[i], "--paper") && i + 1 < argc) o->paper = argv[++i];
        else if (!strncmp(argv[i], "--", 2)) {
            lb_err("merge: unknown option %s (see linbench merge --help)", argv[i]);
            return -1;
        } else if (o->n < MAXDIRS) o->dirs[o->n++] = argv[i];
        else return lb_err("merge: more than %d folders", MAXDIRS), -1;
    }
    if (!o->out || o->n < 1) {
        lb_err("merge: --out DIR and at least one folder are required");
        usage(stderr);
        return -1;
    }
    return 0;
}

int lb_cmd_merge(int argc, char **argv) {
    merge_opts o = {0};
    int rc = parse(&o, argc, argv);
    if (rc) return rc > 0 ? EX_OK : EX_USAGE;
    char msg[1024], warn[4096];
    if (o.paper && access(o.paper, R_OK)) {
        lb_err("merge: --paper %s: cannot read", o.paper);
        return EX_NOINPUT;
    }
    if (!o.paper && access(LB_CMD_PAPER_TABLE3, R_OK) == 0) o.paper = LB_CMD_PAPER_TABLE3;
    if (lb_bench_merge(o.out, o.dirs, o.n, o.allow_mixed, o.paper, warn, sizeof warn, msg, sizeof msg)) {
        lb_err("merge: %s", msg);
        return strstr(msg, "cannot open") ? EX_NOINPUT : EX_DATAERR;
    }
    if (*warn) lb_err("merge: warning: %s", warn);
    printf("merged %d folder%s into %s\n", o.n, o.n == 1 ? "" : "s", o.out);
    return EX_OK;
}
