/* libFuzzer target for the safetensors reader: parse any bytes, then look up and
 * convert every tensor the parser accepted. Built by tests/common/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>

#include "lb_safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lb_safetensors *st = NULL;
    char msg[512];
    if (lb_st_parse(&st, data, size, "fuzz", msg, sizeof msg)) return 0;
    for (int i = 0; i < lb_st_count(st); i++) {
        const lb_st_tensor *t = lb_st_at(st, i);
        if (lb_st_find(st, t->name) != t) abort(); /* lookup must find what the header holds */
        float *out = malloc(t->count ? t->count * sizeof(float) : 1);
        if (!out) continue;
        (void)lb_st_read_f32(st, out, t, t->ndim, t->shape, msg, sizeof msg);
        free(out);
    }
    lb_st_close(st);
    return 0;
}
