/* Raw float32 file I/O shared by the tools the numpy oracles drive (tool_attn,
 * tool_attn_bwd, tool_attn_approx): the Python side writes inputs with ndarray.tofile
 * and reads outputs with numpy.fromfile. Test-only; static functions, one copy per tool. */
#ifndef TOOL_F32_H
#define TOOL_F32_H

#include <stdio.h>
#include <sysexits.h>

#include "lb_util.h"

/* Read exactly len floats from DIR/name; -1 with a message otherwise. */
static float *read_f32(const char *dir, const char *name, size_t len, int *rc) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        lb_err("%s: cannot open", path);
        *rc = EX_NOINPUT;
        return NULL;
    }
    float *x = lb_alloc(len * sizeof *x + 4);
    size_t got = fread(x, sizeof *x, len + 1, f);
    fclose(f);
    if (got != len) {
        lb_err("%s: expected %zu float32 values, found %s%zu", path, len,
               got > len ? "more than " : "", got > len ? len : got);
        lb_free(x);
        *rc = EX_DATAERR;
        return NULL;
    }
    return x;
}

static int write_f32(const char *dir, const char *name, const float *x, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lb_atomic at;
    FILE *f = lb_atomic_open(&at, path);
    if (!f) return -1;
    if (fwrite(x, sizeof *x, len, f) != len) {
        lb_err("%s: write failed", path);
        lb_atomic_abort(&at);
        return -1;
    }
    return lb_atomic_commit(&at);
}

#endif
