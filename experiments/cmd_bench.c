/* STUB: replaced by the real 'linbench bench'. */
#include "lb_cmd.h"
#include "lb_util.h"

int lb_cmd_bench(int argc, char **argv) {
    lb_err("bench: not implemented yet");
    return EX_SOFTWARE;
}
