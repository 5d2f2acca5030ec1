/* Performer FAVOR+ (Choromanski et al. 2020): positive orthogonal random features.
 * Per (b,h): φ(K) (ext×m) by one sgemm with ω and an exp, Σφ(k)vᵀ (m×d) and Σφ(k) by
 * a second, φ(Q) (n×m) by a third, and out = φ(Q)(Σφ(k)vᵀ) row-normalised by
 * φ(Q)Σφ(k). Linear in n; nothing n×n. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"
#include "lb_util.h"
#include "lb_vexp.h"

/* Row i of omega: a Gaussian vector made orthogonal to rows 0..i−1 of the block
 * (unit length), by Gram–Schmidt done twice (once leaves float-sized residues). */
static void orth_row(float *omega, double *g, int i, int d, lb_rng *r) {
    double nrm;
    do {
        for (int c = 0; c < d; c++) g[c] = lb_rng_normal(r);
        for (int pass = 0; pass < 2; pass++)
            for (int p = 0; p < i; p++) {
                const float *u = omega + (size_t)p * d;
                double dot = 0;
                for (int c = 0; c < d; c++) dot += g[c] * u[c];
                for (int c = 0; c < d; c++) g[c] -= dot * u[c];
            }
        nrm = 0;
        for (int c = 0; c < d; c++) nrm += g[c] * g[c];
    } while (!(nrm > 1e-20)); /* probability 0, but never divide by it */
    double s = 1 / sqrt(nrm);
    for (int c = 0; c < d; c++) omega[(size_t)i * d + c] = (float)(g[c] * s);
}

int lb_attn_performer_features(float *omega, int m, int d, uint64_t seed) {
    double *g = malloc((size_t)d * 2 * sizeof *g), *len = g + d;
    if (!g) return -1;
    lb_rng r;
    lb_rng_seed(&r, seed);
    for (int r0 = 0; r0 < m; r0 += d) {
        int bs = m - r0 < d ? m - r0 : d;
        float *blk = omega + (size_t)r0 * d;
        for (int i = 0; i < bs; i++) {
            orth_row(blk, g, i, d, &r);
            double chi = 0; /* the length of an independent N(0, I_d) vector */
            for (int c = 0; c < d; c++) {
                double x = lb_rng_normal(&r);
                chi += x * x;
            }
            len[i] = sqrt(chi);
        }
        /* scaled only now: the projections above need unit rows */
        for (int i = 0; i < bs; i++)
            for (int c = 0; c < d; c++) blk[(size_t)i * d + c] *= (float)len[i];
    }
    free(g);
    return 0;
}

int lb_performer_phi(float *phi, float *cmax, const float *x, const float *mask,
                     const float *omega, const float *lks, int r, int m, int d, int per_row) {
    const float s4 = 1.0f / sqrtf(sqrtf((float)d)), hs = 0.5f / sqrtf((float)d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r, m, d, s4, x, d, omega, d, 0.0f, phi,
                m);
    float gmax = -INFINITY;
    int nreal = 0;
    for (int i = 0; i < r; i++) {
        float *row = phi + (size_t)i * m;
        if (mask && mask[i] == 0) continue;
        const float *xi = x + (size_t)i * d;
        float sq = 0, mx = -INFINITY;
        for (int c = 0; c < d; c++) sq += xi[c] * xi[c];
        sq *= hs; /* ‖x/d^¼‖²/2 */
        for (int l = 0; l < m; l++) {
            row[l] -= sq;
            mx = row[l] > mx ? row[l] : mx;
        }
        if (per_row && lks) {
            /* the normaliser's largest term φ_l·ksum_l becomes 1, so it is >= 1; but no
             * feature above e^80, which stays far from FLT_MAX times any ksum_l */
            float c = mx - 80.0f;
            for (int l = 0; l < m; l++) c = row[l] + lks[l] > c ? row[l] + lks[l] : c;
            mx = c;
        }
        if (per_row) cmax[i] = mx;
        gmax = mx > gmax ? mx : gmax;
        nreal++;
    }
    for (int i = 0; i < r; i++) {
        float *row = phi + (size_t)i * m;
        if (mask && mask[i] == 0) {
            memset(row, 0, (size_t)m * sizeof *row);
            continue;
        }
        float c = per_row ? cmax[i] : gmax;
        for (int l = 0; l < m; l++) row[l] -= c;
        lb_vexp_array(row, row, (size_t)m);
    }
    if (!per_row) cmax[0] = gmax;
    return nreal;
}

void lb_performer_kv(float *kv, float *ksum, const float *phik, const float *v, int ext, int m,
                     int d) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, d, ext, 1.0f, phik, m, v, d, 0.0f, kv,
                d);
    for (int l = 0; l < m; l++) ksum[l] = 0;
    for (int j = 0; j < ext; j++)
        for (int l = 0; l < m; l++) ksum[l] += phik[(size_t)j * m + l];
}

/* One (b,h); ws as laid out by lb_attn_approx_layout, the features ω the shared part. */
static void head(const lb_attn *a, float *o, float *ws, const float *q, const float *k,
                 const float *v, const float *mb, int ext) {
    const int n = a->cfg.n, d = a->cfg.d, m = a->cfg.k;
    const float *omega = a->ws;
    float *phik = ws, *phiq = phik + (size_t)n * m, *kv = phiq + (size_t)n * m;
    float *ksum = kv + (size_t)m * d, *lks = ksum + m, *cmax = lks + m;
    lb_performer_phi(phik, cmax, k, mb, omega, NULL, ext, m, d, 0);
    lb_performer_kv(kv, ksum, phik, v, ext, m, d);
    for (int l = 0; l < m; l++) lks[l] = logf(ksum[l]); /* −inf where every key underflowed */
    lb_performer_phi(phiq, cmax, q, NULL, omega, lks, n, m, d, 1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, m, 1.0f, phiq, m, kv, d, 0.0f, o,
                d);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, m, 1.0f, phiq, m, ksum, 1, 0.0f, cmax, 1);
    for (int i = 0; i < n; i++) {
        /* >= 1 by the choice of the query scale (lb_performer_phi); 0 only when every
         * key feature underflowed: no estimate, a zero row */
        float inv = cmax[i] > 0 ? 1.0f / cmax[i] : 0.0f, *oi = o + (size_t)i * d;
        for (int c = 0; c < d; c++) oi[c] *= inv;
    }
}

void lb_attn_performer_run(lb_attn *a, float *out, const float *q, const float *k,
                           const float *v, const float *mask) {
    lb_attn_each_head(a, out, q, k, v, mask, head);
}
