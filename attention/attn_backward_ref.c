/* Scalar references of the attention backward: the chain rule written as plain loops
 * in double, no BLAS, no threads, probabilities recomputed in double. The oracle for
 * attn_backward.c, itself checked against finite differences by the tests. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_attn.h"

static int is_real(const float *mb, int j) { return !mb || mb[j] != 0; }

/* Attention of n queries over c keys given in double (kc, vc: c × d; real[j] says
 * which keys count): fills p (n × c) and accumulates dq (n × d, double), dkc and dvc
 * (c × d, double, zeroed here) from dout. dq is written as float. */
static void attn_grad(float *dq, double *dkc, double *dvc, double *p, double *dp,
                      const float *dout, const float *q, const double *kc, const double *vc,
                      const int *real, int n, int c, int d) {
    const double s = 1.0 / sqrt((double)d);
    memset(dkc, 0, (size_t)c * d * sizeof *dkc);
    memset(dvc, 0, (size_t)c * d * sizeof *dvc);
    for (int i = 0; i < n; i++) {
        const float *qi = q + (size_t)i * d, *gi = dout + (size_t)i * d;
        double m = -INFINITY, sum = 0, dot = 0;
        for (int j = 0; j < c; j++) {
            p[j] = 0;
            if (!real[j]) continue;
            for (int x = 0; x < d; x++) p[j] += qi[x] * kc[(size_t)j * d + x];
            p[j] *= s;
            if (p[j] > m) m = p[j];
        }
        for (int j = 0; j < c; j++) {
            p[j] = real[j] ? exp(p[j] - m) : 0.0;
            sum += p[j];
        }
        for (int j = 0; j < c; j++) {
            p[j] = sum > 0 ? p[j] / sum : 0.0; /* no real key: output 0, gradient 0 */
            dp[j] = 0;
            for (int x = 0; x < d; x++) {
                dp[j] += gi[x] * vc[(size_t)j * d + x];
                dvc[(size_t)j * d + x] += p[j] * gi[x];
            }
            dot += dp[j] * p[j];
        }
        for (int x = 0; x < d; x++) {
            double acc = 0;
            for (int j = 0; j < c; j++) {
                double ds = p[j] * (dp[j] - dot) * s;
                acc += ds * kc[(size_t)j * d + x];
                dkc[(size_t)j * d + x] += ds * qi[x];
            }
            dq[(size_t)i * d + x] = (float)acc;
        }
    }
}

void lb_attn_full_backward_ref(float *dq, float *dk, float *dv, const float *dout,
                               const float *q, const float *k, const float *v,
                               const float *mask, int B, int H, int n, int d) {
    const size_t nd = (size_t)n * d;
    double *kc = malloc(nd * sizeof *kc), *vc = malloc(nd * sizeof *vc);
    double *dkc = malloc(nd * sizeof *dkc), *dvc = malloc(nd * sizeof *dvc);
    double *p = malloc((size_t)n * sizeof *p), *dp = malloc((size_t)n * sizeof *dp);
    int *real = malloc((size_t)n * sizeof *real);
    if (!kc || !vc || !dkc || !dvc || !p || !dp || !real) abort();
    for (int b = 0; b < B; b++) {
        const float *mb = mask ? mask + (size_t)b * n : NULL;
        for (int j = 0; j < n; j++) real[j] = is_real(mb, j);
        for (int h = 0; h < H; h++) {
            size_t o = ((size_t)b * H + h) * nd;
            for (size_t x = 0; x < nd; x++) kc[x] = k[o + x], vc[x] = v[o + x];
            attn_grad(dq + o, dkc, dvc, p, dp, dout + o, q + o, kc, vc, real, n, n, d);
            for (size_t x = 0; x < nd; x++) dk[o + x] = (float)dkc[x], dv[o + x] = (float)dvc[x];
        }
    }
    free(kc), free(vc), free(dkc), free(dvc), free(p), free(dp), free(real);
}

void lb_attn_linformer_backward_ref(float *dq, float *dk, float *dv, float *dE, float *dF,
                                    const float *dout, const float *q, const float *k,
                                    const float *v, const float *mask, const float *E,
                                    const float *F, int B, int H, int n, int d, int kp,
                                    lb_share share) {
    const size_t nd = (size_t)n * d, kd = (size_t)kp * d;
    const size_t pe = (size_t)kp * n * (share == LB_SHARE_NONE ? (size_t)H : 1);
    double *kb = malloc(kd * sizeof *kb), *vb = malloc(kd * sizeof *vb);
    double *dkb = malloc(kd * sizeof *dkb), *dvb = malloc(kd * sizeof *dvb);
    double *p = malloc((size_t)kp * sizeof *p), *dp = malloc((size_t)kp * sizeof *dp);
    /* the dE, dF sums in double, added to the caller's arrays once at the end */
    double *gE = calloc(pe, sizeof *gE), *gF = calloc(pe, sizeof *gF);
    int *real = malloc((size_t)kp * sizeof *real);
    if (!kb || !vb || !dkb || !dvb || !p || !dp || !gE || !gF || !real) abort();
    for (int b = 0; b < B; b++) {
        const float *mb = mask ? mask + (size_t)b * n : NULL;
        int any = 0;
        for (int j = 0; j < n; j++) any |= is_real(mb, j);
        /* every key padding: the forward outputs 0 with zero probabilities */
        for (int r = 0; r < kp; r++) real[r] = any;
        for (int h = 0; h < H; h++) {
            const size_t o = ((size_t)b * H + h) * nd;
            const size_t eo = share == LB_SHARE_NONE ? (size_t)h * kp * n : 0;
            const float *Eh = E + eo, *Fh = F + eo, *kh = k + o, *vh = v + o;
            memset(kb, 0, kd * sizeof *kb);
            memset(vb, 0, kd * sizeof *vb);
            for (int r = 0; r < kp; r++)
                for (int j = 0; j < n; j++)
                    if (is_real(mb, j))
                        for (int x = 0; x < d; x++) {
                            kb[(size_t)r * d + x] += (double)Eh[(size_t)r * n + j] * kh[(size_t)j * d + x];
                            vb[(size_t)r * d + x] += (double)Fh[(size_t)r * n + j] * vh[(size_t)j * d + x];
                        }
            attn_grad(dq + o, dkb, dvb, p, dp, dout + o, q + o, kb, vb, real, n, kp, d);
            for (int j = 0; j < n; j++)
                for (int x = 0; x < d; x++) {
                    double gk = 0, gv = 0;
                    if (is_real(mb, j))
                        for (int r = 0; r < kp; r++) {
                            gk += Eh[(size_t)r * n + j] * dkb[(size_t)r * d + x];
                            gv += Fh[(size_t)r * n + j] * dvb[(size_t)r * d + x];
                        }
                    dk[o + (size_t)j * d + x] = (float)gk;
                    dv[o + (size_t)j * d + x] = (float)gv;
                }
            for (int r = 0; r < kp; r++)
                for (int j = 0; j < n; j++) {
                    if (!is_real(mb, j)) continue;
                    double ge = 0, gf = 0;
                    for (int x = 0; x < d; x++) {
                        ge += dkb[(size_t)r * d + x] * kh[(size_t)j * d + x];
                        gf += dvb[(size_t)r * d + x] * vh[(size_t)j * d + x];
                    }
                    gE[eo + (size_t)r * n + j] += ge;
                    gF[eo + (size_t)r * n + j] += gf;
                }
        }
    }
    /* dE == dF (aliased): both sums land in the one array */
    for (size_t x = 0; x < pe; x++) dE[x] = (float)(dE[x] + gE[x]);
    for (size_t x = 0; x < pe; x++) dF[x] = (float)(dF[x] + gF[x]);
    free(kb), free(vb), free(dkb), free(dvb), free(p), free(dp), free(gE), free(gF), free(real);
}
