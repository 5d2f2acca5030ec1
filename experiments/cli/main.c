/* linbench: the command-line entry point; dispatches to the subcommands. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_cmd.h"
#include "lb_mpi.h"
#include "lb_util.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cmds[] = {
    {"bench", lb_cmd_bench, "time full, streaming and Linformer attention across n and k"},
    {"merge", lb_cmd_merge, "join bench result folders (shards of one grid) into one"},
    {"compare", lb_cmd_compare, "compare two bench results; flag regressions (U test + ratio)"},
    {"history", lb_cmd_history, "bench runs across commits: append one, draw each point, flag changes"},
    {"dump", lb_cmd_dump, "write attention matrices P of a model as .npy"},
    {"spectrum", lb_cmd_spectrum, "singular-value spectra of P per layer and head"},
    {"bpe-train", lb_cmd_bpe_train, "train a GPT-2 byte-level BPE tokenizer (vocab.json + merges.txt)"},
    {"train", lb_cmd_train, "masked-LM pretraining (full or Linformer attention), checkpoints, resume"},
    {"report", lb_cmd_report, "write results/REPORT.md from bench, spectrum and train results"},
    {"eval", lb_cmd_eval, "masked-LM validation loss by length and position bucket, with intervals"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: linbench [--help] [--version] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
    fprintf(f, "\n'linbench COMMAND --help' describes each command.\n");
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv) {
    /* Debian's OpenBLAS 0.3.21 picks kernels that compute wrong results on this CPU
     * unless OPENBLAS_CORETYPE is set (common/README.md). It reads the variable when the
     * library loads, before main, so set it and start again once. */
    if (!getenv("OPENBLAS_CORETYPE") && !getenv("LINBENCH_REEXEC")) {
        setenv("OPENBLAS_CORETYPE", "Haswell", 1);
        setenv("LINBENCH_REEXEC", "1", 1);
        execv("/proc/self/exe", argv);
        /* exec failed: carry on with whatever OpenBLAS chose */
    }
    char msg[256];
    if (lb_mpi_init(&argc, &argv, msg, sizeof msg)) {
        lb_err("%s", msg);
        return EX_SOFTWARE;
    }
    /* under mpirun every way out passes lb_mpi_finish (a rank failing alone ends the job) */
    return lb_mpi_finish(dispatch(argc, argv));
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EX_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EX_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("linbench %s\n", LB_VERSION);
        return EX_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name)) continue;
        /* one answer for every command, whatever its own option parser knows */
        if (argc == 3 && (!strcmp(argv[2], "--version") || !strcmp(argv[2], "-V"))) {
            printf("linbench %s\n", LB_VERSION);
            return EX_OK;
        }
        return cmds[i].fn(argc - 1, argv + 1);
    }
    lb_err("unknown command '%s'", argv[1]);
    usage(stderr);
    return EX_USAGE;
}
