/* libFuzzer target for the .npy reader: parse any bytes; an accepted array must hold
 * exactly the data bytes that follow the header. Built by tests/common/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lb_npy a;
    char msg[512];
    if (lb_npy_parse(&a, data, size, "fuzz", msg, sizeof msg)) return 0;
    size_t es = (a.dtype == LB_NPY_F32 || a.dtype == LB_NPY_I32) ? 4 : 8;
    if (a.count * es > size || memcmp(a.data, data + size - a.count * es, a.count * es) != 0)
        abort();
    lb_npy_free(&a);
    return 0;
}
