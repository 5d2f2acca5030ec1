/* The arguments tool_attn and tool_attn_bwd share, and the inputs they read:
 *
 *   KERNEL B H N D K SHARE THREADS DIR MASK      (argv[1..10])
 *
 * KERNEL is a method name, with _ref for the scalar reference; SHARE is read for
 * Linformer only; MASK 0 or 1 says whether DIR/mask.f32 (B,N) is read. Test-only;
 * static functions, one copy per tool. */
#ifndef TOOL_ATTN_ARGS_H
#define TOOL_ATTN_ARGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lb_attn.h"
#include "lb_util.h"
#include "tool_f32.h"

typedef struct {
    lb_attn_cfg c;   /* method, B, H, n, d, k, share, threads (and train for the backward) */
    int ref;         /* KERNEL ends in _ref: run the scalar reference */
    int mask;        /* read DIR/mask.f32 */
    const char *dir; /* where the inputs are and the outputs go */
    size_t sz, pn;   /* elements of q, k, v, out (B,H,N,D) and of probs (B,H,N,K or N) */
} tool_attn_args;

/* argv[0..6] = B H N D K SHARE THREADS: the sizes into v[0..4] and v[6] (v[5], SHARE, is
 * left to the caller). 0, or -1 after a message naming the argument. */
static int tool_parse_sizes(char **argv, long v[7]) {
    const char *names[] = {"B", "H", "N", "D", "K", "", "THREADS"};
    for (int i = 0; i < 7; i++)
        if (i != 5 && lb_parse_long(argv[i], &v[i], 0, 1 << 20, names[i])) return -1;
    return 0;
}

/* Fill a from argv[1..10] and check the configuration; the forward tool takes PROBS
 * after them. The backward tool runs full and Linformer only (the kernels with a
 * backward), configured for training, with k = 0 for full. 0, or a sysexits code after
 * a message. */
static int tool_attn_args_parse(tool_attn_args *a, int argc, char **argv, int backward) {
    if (argc != (backward ? 11 : 12)) {
        fprintf(stderr, "usage: %s KERNEL B H N D K SHARE THREADS DIR MASK%s\n", lb_prog_name,
                backward ? "" : " PROBS");
        return EX_USAGE;
    }
    const char *kern = argv[1];
    long v[7];
    if (tool_parse_sizes(argv + 2, v)) return EX_USAGE;
    size_t len = strlen(kern);
    a->ref = len > 4 && !strcmp(kern + len - 4, "_ref");
    a->mask = atoi(argv[10]);
    a->dir = argv[9];
    char mname[32];
    snprintf(mname, sizeof mname, "%.*s", (int)(a->ref ? len - 4 : len), kern);
    a->c = (lb_attn_cfg){.B = (int)v[0], .H = (int)v[1], .n = (int)v[2], .d = (int)v[3],
                         .k = (int)v[4], .share = LB_SHARE_NONE, .threads = (int)v[6],
                         .train = backward};
    int known = !lb_attn_method_parse(mname, &a->c.method);
    if (backward && known && a->c.method != LB_ATTN_FULL && a->c.method != LB_ATTN_LINFORMER)
        known = 0;
    if (!known) {
        lb_err("unknown kernel \"%s\"%s", kern,
               backward ? ": expected full, linformer, full_ref or linformer_ref" : "");
        return EX_USAGE;
    }
    int lin = a->c.method == LB_ATTN_LINFORMER;
    if (backward && !lin) a->c.k = 0;
    if (lin && lb_share_parse(argv[7], &a->c.share)) {
        lb_err("unknown sharing mode \"%s\"", argv[7]);
        return EX_USAGE;
    }
    char msg[256];
    if (lb_attn_check(&a->c, msg, sizeof msg)) {
        lb_err("%s", msg);
        return EX_USAGE;
    }
    const lb_attn_cfg *c = &a->c;
    a->sz = (size_t)c->B * c->H * c->n * c->d;
    a->pn = (size_t)c->B * c->H * c->n * (size_t)(lin ? c->k : c->n);
    return 0;
}

/* After the (B,H,N,D) inputs were read (nothing is read once *rc is set): DIR/mask.f32
 * (B,N) when asked, and for Linformer DIR/E.f32 and DIR/F.f32 of lb_attn_proj_elems
 * floats, F = E under kv and layerwise sharing, where one matrix serves both. */
static void tool_attn_read_mask_proj(float **mask, float **E, float **F, const tool_attn_args *a,
                                     int *rc) {
    *mask = *E = *F = NULL;
    if (!*rc && a->mask) *mask = read_f32(a->dir, "mask.f32", (size_t)a->c.B * a->c.n, rc);
    if (*rc || a->c.method != LB_ATTN_LINFORMER) return;
    size_t pe = lb_attn_proj_elems(&a->c);
    *E = read_f32(a->dir, "E.f32", pe, rc);
    *F = a->c.share >= LB_SHARE_KV ? *E : !*rc ? read_f32(a->dir, "F.f32", pe, rc) : NULL;
}

#endif
