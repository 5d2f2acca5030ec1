/* The linbench subcommands. Each takes the argv that follows the subcommand name
 * (argv[0] is the subcommand) and returns a sysexits code. */
#ifndef LB_CMD_H
#define LB_CMD_H

/* The paper's Table 3 (copied from the paper), relative to the repository root: the
 * default of bench, merge and report for the paper's columns beside ours. */
#define LB_CMD_PAPER_TABLE3 "results/paper/linformer_table3.csv"

int lb_cmd_bench(int argc, char **argv);    /* experiments/cli/cmd_bench.c */
int lb_cmd_compare(int argc, char **argv);  /* experiments/cli/cmd_compare.c */
int lb_cmd_history(int argc, char **argv);  /* experiments/cli/cmd_history.c */
int lb_cmd_dump(int argc, char **argv);     /* experiments/cli/cmd_dump.c */
int lb_cmd_spectrum(int argc, char **argv); /* experiments/cli/cmd_spectrum.c */
int lb_cmd_bpe_train(int argc, char **argv); /* experiments/cli/cmd_bpe_train.c */
int lb_cmd_train(int argc, char **argv);    /* experiments/cli/cmd_train.c */
int lb_cmd_report(int argc, char **argv);   /* experiments/cli/cmd_report.c */
int lb_cmd_eval(int argc, char **argv);     /* experiments/cli/cmd_eval.c */
int lb_cmd_merge(int argc, char **argv);    /* experiments/cli/cmd_merge.c */

#endif
