/* tool_attn: runs one attention kernel (or its scalar reference) on raw float32 files,
 * for the numpy oracle tests/attention/test_attention.py.
 *
 *   tool_attn KERNEL B H N D K SHARE THREADS DIR MASK PROBS
 *     KERNEL  full | stream | linformer | full_ref | stream_ref | linformer_ref
 *     SHARE   none | headwise | kv | layerwise (linformer; anything otherwise)
 *     MASK, PROBS  0 or 1: read DIR/mask.f32 (B,N); write DIR/probs.f32
 *   Reads DIR/q.f32, k.f32, v.f32 (B,H,N,D) as written by ndarray.tofile, and for
 *   linformer DIR/E.f32 (and DIR/F.f32 unless kv/layerwise, where F = E), of shape
 *   (H,K,N) for none and (K,N) otherwise. Writes DIR/out.f32 (B,H,N,D) and
 *   DIR/probs.f32 (B,H,N,N or K). Exit 0, 64 bad usage, 65 bad data, 66 missing file,
 *   70 kernel init failed. */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "lb_attn.h"
#include "lb_util.h"
#include "tool_attn_args.h"

int main(int argc, char **argv) {
    lb_prog_name = "tool_attn";
    tool_attn_args args;
    int rc = tool_attn_args_parse(&args, argc, argv, 0);
    if (rc) return rc;
    const lb_attn_cfg c = args.c;
    const int B = c.B, H = c.H, n = c.n, d = c.d, kp = c.k, ref = args.ref;
    const char *dir = args.dir;
    const size_t sz = args.sz, pn = args.pn;
    int want_probs = atoi(argv[11]);
    char msg[256];
    float *q = read_f32(dir, "q.f32", sz, &rc), *k = q ? read_f32(dir, "k.f32", sz, &rc) : NULL;
    float *vv = k ? read_f32(dir, "v.f32", sz, &rc) : NULL, *mask, *E, *F;
    tool_attn_read_mask_proj(&mask, &E, &F, &args, &rc);
    float *out = lb_alloc(sz * sizeof *out), *probs = want_probs ? lb_alloc(pn * 4) : NULL;
    if (!rc) {
        if (ref && c.method == LB_ATTN_FULL)
            lb_attn_full_ref(out, probs, q, k, vv, mask, B, H, n, d);
        else if (ref && c.method == LB_ATTN_STREAM)
            lb_attn_stream_ref(out, q, k, vv, mask, B, H, n, d, 64);
        else if (ref)
            lb_attn_linformer_ref(out, probs, q, k, vv, mask, E, F, B, H, n, d, kp, c.share);
        else {
            lb_attn *a;
            if (lb_attn_init(&a, &c, msg, sizeof msg)) {
                lb_err("%s", msg);
                rc = EX_SOFTWARE;
            } else if (lb_attn_check_args(a, out, probs, q, k, vv, E, F, msg, sizeof msg)) {
                lb_err("%s", msg);
                rc = EX_USAGE;
                lb_attn_free(a);
            } else {
                lb_attn_forward(a, out, probs, q, k, vv, mask, E, F);
                lb_attn_free(a);
            }
        }
    }
    if (!rc && (write_f32(dir, "out.f32", out, sz) ||
                (probs && write_f32(dir, "probs.f32", probs, pn))))
        rc = EX_CANTCREAT;
    if (F != E) lb_free(F);
    lb_free(E), lb_free(q), lb_free(k), lb_free(vv), lb_free(mask), lb_free(out), lb_free(probs);
    return rc;
}
