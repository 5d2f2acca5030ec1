/* Local (sliding-window) attention, centred: query i sees keys i−w .. i+w. Queries go
 * in blocks of lb_local_rows(w); a block's windows together cover one contiguous key
 * range, so its scores are one sgemm (rows × range), each row's softmax runs over its
 * own window only (the rest of the row set to 0), and O = P·V is a second sgemm on
 * the same range. The rectangle costs up to (rows + 2w)/(2w + 1) times the band. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include <cblas.h>

#include "attn_int.h"

/* Rows i0 .. i0+br of one (b,h) over keys [j0, j1): softmax of each row over its window
 * (columns outside it 0), then o = S·V. S is br × (j1 − j0). */
static void block(float *o, float *S, const float *q, const float *k, const float *v,
                  const float *mb, int i0, int br, int j0, int j1, int w, int d) {
    const int kc = j1 - j0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, br, kc, d, 1.0f / sqrtf((float)d),
                q + (size_t)i0 * d, d, k + (size_t)j0 * d, d, 0.0f, S, kc);
    for (int r = 0; r < br; r++) {
        int i = i0 + r, lo = i - w > j0 ? i - w - j0 : 0, hi = i + w + 1 < j1 ? i + w + 1 - j0 : kc;
        float *row = S + (size_t)r * kc;
        if (lo >= hi) { /* the window lies past the last real key */
            memset(row, 0, (size_t)kc * sizeof *row);
            continue;
        }
        lb_softmax_row(row + lo, hi - lo, mb ? mb + j0 + lo : NULL);
        memset(row, 0, (size_t)lo * sizeof *row);
        memset(row + hi, 0, (size_t)(kc - hi) * sizeof *row);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, br, d, kc, 1.0f, S, kc,
                v + (size_t)j0 * d, d, 0.0f, o + (size_t)i0 * d, d);
}

/* One (b,h), block by block; ws holds one block's scores. */
static void head(const lb_attn *a, float *o, float *ws, const float *q, const float *k,
                 const float *v, const float *mb, int ext) {
    const int n = a->cfg.n, d = a->cfg.d;
    const int w = lb_local_clamp(a->cfg.k, n), rows = lb_local_rows(w);
    for (int i0 = 0; i0 < n; i0 += rows) {
        int br = n - i0 < rows ? n - i0 : rows;
        int j0 = i0 - w > 0 ? i0 - w : 0;
        int j1 = i0 + br + w < ext ? i0 + br + w : ext; /* keys past ext: padding */
        if (j1 <= j0) {
            memset(o + (size_t)i0 * d, 0, (size_t)br * d * sizeof *o);
            continue;
        }
        block(o, ws, q, k, v, mb, i0, br, j0, j1, w, d);
    }
}

void lb_attn_local_run(lb_attn *a, float *out, const float *q, const float *k, const float *v,
                       const float *mask) {
    lb_attn_each_head(a, out, q, k, v, mask, head);
}
