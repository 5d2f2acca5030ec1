/* `linbench merge`: join the result folders of `linbench bench --shard` (or of the ranks
 * of an MPI bench) into one (experiments/bench/bench_merge.c). */
#include <stdio.h>
#include <string.h>

#include "lb_bench.h"
#include "lb_cmd.h"
#include "lb_util.h"

static void usage(FILE *f) {
    fputs("usage: linbench merge --out DIR [--allow-mixed] DIR...\n"
          "Join bench result folders (shards of one grid) into DIR: the rows of bench.csv,\n"
          "summary.csv and table3.csv, and bench.json with every point and \"merged_from\".\n"
          "Folders measured on different machines or builds (meta: CPU, kernel, compiler,\n"
          "flags, OpenBLAS, threads) are refused unless --allow-mixed.\n", f);
}

int lb_cmd_merge(int argc, char **argv) {
    const char *out = NULL, *dirs[256];
    int n = 0, allow = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout), EX_OK;
        if (!strcmp(argv[i], "--allow-mixed")) allow = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strncmp(argv[i], "--", 2)) {
            lb_err("merge: unknown option %s (see linbench merge --help)", argv[i]);
            return EX_USAGE;
        } else if (n < 256) dirs[n++] = argv[i];
        else return lb_err("merge: more than 256 folders"), EX_USAGE;
    }
    if (!out || n < 1) {
        lb_err("merge: --out DIR and at least one folder are required");
        usage(stderr);
        return EX_USAGE;
    }
    char msg[1024];
    if (lb_bench_merge(out, dirs, n, allow, msg, sizeof msg)) {
        lb_err("merge: %s", msg);
        return strstr(msg, "cannot open") ? EX_NOINPUT : EX_DATAERR;
    }
    printf("merged %d folder%s into %s\n", n, n == 1 ? "" : "s", out);
    return EX_OK;
}
