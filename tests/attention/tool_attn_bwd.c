/* tool_attn_bwd: runs the attention backward (the kernel after its forward, or the
 * scalar reference) on raw float32 files, for the numpy oracle
 * tests/attention/test_attention_backward.py.
 *
 *   tool_attn_bwd KERNEL B H N D K SHARE THREADS DIR MASK
 *     KERNEL  full | linformer | full_ref | linformer_ref
 *     SHARE   none | headwise | kv | layerwise (linformer; anything otherwise)
 *     MASK    0 or 1: read DIR/mask.f32 (B,N)
 *   Reads DIR/q.f32, k.f32, v.f32, dout.f32 (B,H,N,D) as written by ndarray.tofile,
 *   and for linformer DIR/E.f32 (and F.f32 unless kv/layerwise, where F = E) of
 *   shape (H,K,N) for none, (K,N) otherwise. Writes DIR/dq.f32, dk.f32, dv.f32 and
 *   for linformer dE.f32 and dF.f32 from zero; kv/layerwise pass dE == dF, so only
 *   dE.f32 is written and holds both contributions. Outputs are written only when
 *   everything succeeded. Exit 0, 64 bad usage, 65 bad data, 66 missing file,
 *   70 kernel init failed, 73 cannot write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lb_attn.h"
#include "lb_util.h"
#include "tool_attn_args.h"

int main(int argc, char **argv) {
    lb_prog_name = "tool_attn_bwd";
    tool_attn_args args;
    int rc = tool_attn_args_parse(&args, argc, argv, 1);
    if (rc) return rc;
    const lb_attn_cfg c = args.c;
    const int B = c.B, H = c.H, n = c.n, d = c.d, kp = c.k, ref = args.ref;
    const int lin = c.method == LB_ATTN_LINFORMER, alias = lin && c.share >= LB_SHARE_KV;
    const char *dir = args.dir;
    const size_t sz = args.sz, pn = args.pn, pe = lb_attn_proj_elems(&c);
    char msg[256];
    const char *in_names[] = {"q.f32", "k.f32", "v.f32", "dout.f32"};
    float *in[4] = {0}, *mask, *E, *F;
    for (int i = 0; i < 4 && !rc; i++) in[i] = read_f32(dir, in_names[i], sz, &rc);
    tool_attn_read_mask_proj(&mask, &E, &F, &args, &rc);
    float *g[3], *dE = NULL, *dF = NULL;
    for (int i = 0; i < 3; i++) g[i] = lb_alloc(sz * sizeof(float));
    if (lin) {
        dE = lb_alloc(pe * sizeof *dE + 4);
        dF = alias ? dE : lb_alloc(pe * sizeof *dF + 4);
        memset(dE, 0, pe * sizeof *dE);
        memset(dF, 0, pe * sizeof *dF);
    }
    if (!rc && ref && lin)
        lb_attn_linformer_backward_ref(g[0], g[1], g[2], dE, dF, in[3], in[0], in[1], in[2], mask,
                                       E, F, B, H, n, d, kp, c.share);
    else if (!rc && ref)
        lb_attn_full_backward_ref(g[0], g[1], g[2], in[3], in[0], in[1], in[2], mask, B, H, n, d);
    else if (!rc) {
        lb_attn *a;
        if (lb_attn_init(&a, &c, msg, sizeof msg)) {
            lb_err("%s", msg);
            rc = EX_SOFTWARE;
        } else {
            float *out = lb_alloc(sz * sizeof *out), *probs = lb_alloc(pn * sizeof *probs);
            lb_attn_forward(a, out, probs, in[0], in[1], in[2], mask, E, F);
            lb_attn_backward(a, g[0], g[1], g[2], dE, dF, in[3], in[0], in[1], in[2], mask, E, F,
                             probs);
            lb_free(out), lb_free(probs);
            lb_attn_free(a);
        }
    }
    if (!rc && (write_f32(dir, "dq.f32", g[0], sz) || write_f32(dir, "dk.f32", g[1], sz) ||
                write_f32(dir, "dv.f32", g[2], sz) ||
                (lin && write_f32(dir, "dE.f32", dE, pe)) ||
                (lin && !alias && write_f32(dir, "dF.f32", dF, pe))))
        rc = EX_CANTCREAT;
    if (F != E) lb_free(F);
    if (dF != dE) lb_free(dF);
    lb_free(E), lb_free(dE), lb_free(mask);
    for (int i = 0; i < 4; i++) lb_free(in[i]);
    for (int i = 0; i < 3; i++) lb_free(g[i]);
    return rc;
}
