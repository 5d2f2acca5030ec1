/* tool_attn_approx: runs one approximate attention kernel (or its scalar reference) on
 * raw float32 files, for the numpy oracle tests/attention/test_attention_approx.py.
 *
 *   tool_attn_approx KERNEL B H N D K WINDOW ITERS SEED THREADS DIR MASK
 *     KERNEL  local | nystrom | performer | scatterbrain, or the same with _ref
 *     K       window radius (local), landmarks (nystrom), features (performer,
 *             scatterbrain); WINDOW scatterbrain's radius; ITERS Nyström's iterations
 *             (0 = the default 6; the reference gets the same number); SEED the
 *             features' seed; MASK 0 or 1: read DIR/mask.f32 (B,N)
 *   Reads DIR/q.f32, k.f32, v.f32 (B,H,N,D) as written by ndarray.tofile. Writes
 *   DIR/out.f32 (B,H,N,D) and, for performer and scatterbrain, DIR/omega.f32 (K,D):
 *   the features the kernel drew (the reference draws the same from SEED). Exit 0,
 *   64 bad usage, 65 bad data, 66 missing file, 70 kernel init failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lb_attn.h"
#include "lb_util.h"
#include "tool_f32.h"

static int run_ref(lb_attn_method m, float *out, float *omega, const float *q, const float *k,
                   const float *v, const float *mask, const lb_attn_cfg *c) {
    int B = c->B, H = c->H, n = c->n, d = c->d, kp = c->k;
    switch (m) {
    case LB_ATTN_LOCAL: lb_attn_local_ref(out, q, k, v, mask, B, H, n, d, kp); return 0;
    case LB_ATTN_NYSTROM:
        lb_attn_nystrom_ref(out, q, k, v, mask, B, H, n, d, kp, c->iters ? c->iters : 6);
        return 0;
    default: break;
    }
    if (lb_attn_performer_features(omega, kp, d, c->seed)) return EX_SOFTWARE;
    if (m == LB_ATTN_PERFORMER)
        lb_attn_performer_ref(out, q, k, v, mask, omega, B, H, n, d, kp);
    else
        lb_attn_scatterbrain_ref(out, q, k, v, mask, omega, B, H, n, d, kp, c->window);
    return 0;
}

static int run_fast(float *out, float *omega, const float *q, const float *k, const float *v,
                    const float *mask, const lb_attn_cfg *c) {
    char msg[256];
    lb_attn *a;
    if (lb_attn_init(&a, c, msg, sizeof msg)) {
        lb_err("%s", msg);
        return EX_SOFTWARE;
    }
    lb_attn_forward(a, out, NULL, q, k, v, mask, NULL, NULL);
    if (omega) memcpy(omega, lb_attn_features(a), (size_t)c->k * c->d * sizeof *omega);
    lb_attn_free(a);
    return 0;
}

int main(int argc, char **argv) {
    lb_prog_name = "tool_attn_approx";
    if (argc != 13) {
        fprintf(stderr, "usage: tool_attn_approx KERNEL B H N D K WINDOW ITERS SEED THREADS DIR "
                        "MASK\n");
        return EX_USAGE;
    }
    const char *kern = argv[1], *dir = argv[11];
    const char *names[] = {"B", "H", "N", "D", "K", "WINDOW", "ITERS", "SEED", "THREADS"};
    long v[9];
    for (int i = 0; i < 9; i++)
        if (lb_parse_long(argv[2 + i], &v[i], 0, 1L << 30, names[i])) return EX_USAGE;
    size_t len = strlen(kern);
    int ref = len > 4 && !strcmp(kern + len - 4, "_ref"), use_mask = atoi(argv[12]);
    char mname[32];
    snprintf(mname, sizeof mname, "%.*s", (int)(ref ? len - 4 : len), kern);
    lb_attn_cfg c = {.B = (int)v[0], .H = (int)v[1], .n = (int)v[2], .d = (int)v[3],
                     .k = (int)v[4], .window = (int)v[5], .iters = (int)v[6],
                     .seed = (uint64_t)v[7], .threads = (int)v[8]};
    if (lb_attn_method_parse(mname, &c.method) || c.method < LB_ATTN_LOCAL) {
        lb_err("unknown kernel \"%s\": expected local, nystrom, performer or scatterbrain "
               "(optionally with _ref)", kern);
        return EX_USAGE;
    }
    char msg[256];
    if (lb_attn_check(&c, msg, sizeof msg)) {
        lb_err("%s", msg);
        return EX_USAGE;
    }
    size_t sz = (size_t)c.B * c.H * c.n * c.d;
    int rc = 0, feats = c.method >= LB_ATTN_PERFORMER;
    float *q = read_f32(dir, "q.f32", sz, &rc), *k = q ? read_f32(dir, "k.f32", sz, &rc) : NULL;
    float *vv = k ? read_f32(dir, "v.f32", sz, &rc) : NULL, *mask = NULL;
    if (vv && use_mask) mask = read_f32(dir, "mask.f32", (size_t)c.B * c.n, &rc);
    float *out = lb_alloc(sz * sizeof *out);
    float *omega = feats ? lb_alloc((size_t)c.k * c.d * sizeof *omega) : NULL;
    if (!rc)
        rc = ref ? run_ref(c.method, out, omega, q, k, vv, mask, &c)
                 : run_fast(out, omega, q, k, vv, mask, &c);
    if (!rc && (write_f32(dir, "out.f32", out, sz) ||
                (omega && write_f32(dir, "omega.f32", omega, (size_t)c.k * c.d))))
        rc = EX_CANTCREAT;
    lb_free(q), lb_free(k), lb_free(vv), lb_free(mask), lb_free(out), lb_free(omega);
    return rc;
}
