/* STUB: replaced by the real 'linbench spectrum'. */
#include "lb_cmd.h"
#include "lb_util.h"

int lb_cmd_spectrum(int argc, char **argv) {
    lb_err("spectrum: not implemented yet");
    return EX_SOFTWARE;
}
