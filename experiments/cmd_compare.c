/* STUB: replaced by the real 'linbench compare'. */
#include "lb_cmd.h"
#include "lb_util.h"

int lb_cmd_compare(int argc, char **argv) {
    lb_err("compare: not implemented yet");
    return EX_SOFTWARE;
}
