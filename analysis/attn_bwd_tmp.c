/* TEMPORARY: a plain scalar attention backward (double accumulation), used by the
 * MLM step until attention/ provides lb_attn_backward. Same conventions as
 * lb_attn_forward (lb_attn.h): padding keys (mask 0) have P = 0; Linformer removes
 * them before projecting (E·diag(m)·K). dq, dk, dv overwritten; dE, dF accumulated
 * (they may be the same pointer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

void lb_attn_backward_tmp(float *dq, float *dk, float *dv, float *dE, float *dF, const float *dout,
                          const float *q, const float *k, const float *v, const float *mask,
                          const float *E, const float *F, const float *probs, int B, int H, int n,
                          int d, int lin, int kp, lb_share share) {
    const int cols = lin ? kp : n;
    const double sc = 1.0 / sqrt((double)d);
    double *kb = calloc((size_t)cols * d, sizeof *kb), *vb = calloc((size_t)cols * d, sizeof *vb);
    double *dkb = calloc((size_t)cols * d, sizeof *dkb), *dvb = calloc((size_t)cols * d, sizeof *dvb);
    double *ds = calloc((size_t)cols, sizeof *ds);
    if (!kb || !vb || !dkb || !dvb || !ds) abort();
    for (int b = 0; b < B; b++)
        for (int hh = 0; hh < H; hh++) {
            const long o = ((long)b * H + hh) * n * d;
            const float *Q = q + o, *K = k + o, *Vv = v + o, *dO = dout + o;
            const float *P = probs + ((long)b * H + hh) * n * cols;
            const float *m = mask ? mask + (long)b * n : NULL;
            const long eo = share == LB_SHARE_NONE ? (long)hh * kp * n : 0;
            for (int i = 0; i < cols; i++)
                for (int t = 0; t < d; t++) {
                    double sk = 0, sv = 0;
                    if (!lin) {
                        sk = K[(long)i * d + t];
                        sv = Vv[(long)i * d + t];
                    } else
                        for (int j = 0; j < n; j++) {
                            if (m && m[j] == 0.0f) continue;
                            sk += (double)E[eo + (long)i * n + j] * K[(long)j * d + t];
                            sv += (double)F[eo + (long)i * n + j] * Vv[(long)j * d + t];
                        }
                    kb[i * d + t] = sk;
                    vb[i * d + t] = sv;
                }
            memset(dkb, 0, sizeof(double) * (size_t)cols * d);
            memset(dvb, 0, sizeof(double) * (size_t)cols * d);
            for (int i = 0; i < n; i++) {
                const float *pr = P + (long)i * cols, *go = dO + (long)i * d;
                double dot = 0;
                for (int j = 0; j < cols; j++) {
                    double dp = 0;
                    for (int t = 0; t < d; t++) dp += go[t] * vb[j * d + t];
                    ds[j] = dp;
                    dot += dp * pr[j];
                    for (int t = 0; t < d; t++) dvb[j * d + t] += pr[j] * (double)go[t];
                }
                for (int t = 0; t < d; t++) {
                    double acc = 0;
                    for (int j = 0; j < cols; j++) acc += pr[j] * (ds[j] - dot) * kb[j * d + t];
                    dq[o + (long)i * d + t] = (float)(acc * sc);
                }
                for (int j = 0; j < cols; j++) {
                    double g = pr[j] * (ds[j] - dot) * sc;
                    for (int t = 0; t < d; t++) dkb[j * d + t] += g * Q[(long)i * d + t];
                }
            }
            if (!lin) {
                for (long x = 0; x < (long)n * d; x++) {
                    dk[o + x] = (float)dkb[x];
                    dv[o + x] = (float)dvb[x];
                }
                continue;
            }
            for (int j = 0; j < n; j++) {
                int real = !(m && m[j] == 0.0f);
                for (int t = 0; t < d; t++) {
                    double ak = 0, av = 0;
                    if (real)
                        for (int i = 0; i < cols; i++) {
                            ak += (double)E[eo + (long)i * n + j] * dkb[i * d + t];
                            av += (double)F[eo + (long)i * n + j] * dvb[i * d + t];
                        }
                    dk[o + (long)j * d + t] = (float)ak;
                    dv[o + (long)j * d + t] = (float)av;
                }
                if (!real) continue;
                for (int i = 0; i < cols; i++) {
                    double ge = 0, gf = 0;
                    for (int t = 0; t < d; t++) {
                        ge += dkb[i * d + t] * K[(long)j * d + t];
                        gf += dvb[i * d + t] * Vv[(long)j * d + t];
                    }
                    dE[eo + (long)i * n + j] += (float)ge;
                    dF[eo + (long)i * n + j] += (float)gf;
                }
            }
        }
    free(kb);
    free(vb);
    free(dkb);
    free(dvb);
    free(ds);
}
