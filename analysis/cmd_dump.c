/* STUB: replaced by the real 'linbench dump'. */
#include "lb_cmd.h"
#include "lb_util.h"

int lb_cmd_dump(int argc, char **argv) {
    lb_err("dump: not implemented yet");
    return EX_SOFTWARE;
}
