/* Singular values of float32 matrices through LAPACK sgesdd, on a workspace made
 * once per thread so that the hot loop never allocates.
 *
 * LAPACKE's row-major path would transpose into a freshly allocated copy on every
 * call, and with jobz = 'N' it rejects ldu = ldvt = 1 (LAPACKE 3.11). We call the
 * column-major path instead: a row-major P (rows × cols) is, byte for byte, the
 * column-major A = Pᵀ (cols × rows), which has the same singular values, and P's
 * right singular vectors are A's left ones (columns of U, i.e. rows of Uᵀ in memory). */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_spectrum.h"
#include "lb_util.h"

struct lb_svd_ws {
    int max_rows, max_cols, vectors;
    float *a;         /* max_rows·max_cols: sgesdd destroys its input */
    float *u, *vt;    /* vectors only: U (cols × r) and Vᵀ (r × rows) of A */
    float *work;
    lapack_int lwork;
    lapack_int *iwork; /* 8·min(m, n) */
};

static lapack_int query_lwork(char jobz, int m, int n, char *msg, size_t msglen) {
    float q = 0, dummy = 0, s = 0;
    lapack_int iw = 0;
    lapack_int info = LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, jobz, m, n, &dummy, m > 0 ? m : 1,
                                          &s, &dummy, m > 0 ? m : 1, &dummy,
                                          (m < n ? m : n) > 0 ? (m < n ? m : n) : 1, &q, -1, &iw);
    if (info != 0) {
        snprintf(msg, msglen, "sgesdd workspace query for %d x %d failed (info %d)", m, n,
                 (int)info);
        return -1;
    }
    return (lapack_int)q + 1;
}

int lb_svd_ws_init(lb_svd_ws **out, int max_rows, int max_cols, int want_vectors, char *msg,
                   size_t msglen) {
    *out = NULL;
    if (max_rows < 1 || max_cols < 1) {
        snprintf(msg, msglen, "SVD workspace: sizes must be >= 1 (got %d x %d)", max_rows,
                 max_cols);
        return -1;
    }
    lb_svd_ws *w = calloc(1, sizeof *w);
    if (!w) goto oom;
    w->max_rows = max_rows;
    w->max_cols = max_cols;
    w->vectors = want_vectors;
    int r = max_rows < max_cols ? max_rows : max_cols;
    size_t na, nu, nvt;
    if (lb_mul_size(&na, (size_t)max_rows, (size_t)max_cols) ||
        lb_mul_size(&nu, (size_t)max_cols, (size_t)r) ||
        lb_mul_size(&nvt, (size_t)r, (size_t)max_rows) || na > ((size_t)1 << 40))
        goto oom;
    w->a = lb_alloc(na * sizeof(float));
    if (!w->a) goto oom;
    if (want_vectors) {
        w->u = lb_alloc(nu * sizeof(float));
        w->vt = lb_alloc(nvt * sizeof(float));
        if (!w->u || !w->vt) goto oom;
    }
    /* The largest need over the shapes this workspace serves is at the maximum sizes
     * (sgesdd's requirement grows with m and n); each call re-checks anyway. */
    lapack_int lw = query_lwork(want_vectors ? 'S' : 'N', max_cols, max_rows, msg, msglen);
    if (lw < 0) {
        lb_svd_ws_free(w);
        return -1;
    }
    w->lwork = lw;
    w->work = lb_alloc((size_t)lw * sizeof(float));
    w->iwork = lb_alloc((size_t)8 * (size_t)r * sizeof(lapack_int));
    if (!w->work || !w->iwork) goto oom;
    *out = w;
    return 0;
oom:
    snprintf(msg, msglen, "out of memory for the SVD workspace of %d x %d%s", max_rows,
             max_cols, want_vectors ? " with vectors" : "");
    lb_svd_ws_free(w);
    return -1;
}

void lb_svd_ws_free(lb_svd_ws *w) {
    if (!w) return;
    lb_free(w->a);
    lb_free(w->u);
    lb_free(w->vt);
    lb_free(w->work);
    lb_free(w->iwork);
    free(w);
}

static int run(lb_svd_ws *w, char jobz, float *sigma, float *vt, const float *P, int rows,
               int cols, int ld, char *msg, size_t msglen) {
    if (rows < 1 || cols < 1 || rows > w->max_rows || cols > w->max_cols || ld < cols) {
        snprintf(msg, msglen, "SVD of %d x %d (ld %d) does not fit a workspace of %d x %d", rows,
                 cols, ld, w->max_rows, w->max_cols);
        return -1;
    }
    if (jobz != 'N' && !w->vectors) {
        snprintf(msg, msglen, "SVD with vectors asked of a values-only workspace");
        return -1;
    }
    /* LAPACK's behaviour on NaN/Inf is undefined (it may loop long): refuse up front. */
    for (int i = 0; i < rows; i++) {
        const float *row = P + (size_t)i * ld;
        float *dst = w->a + (size_t)i * cols;
        for (int j = 0; j < cols; j++) {
            if (!isfinite(row[j])) {
                snprintf(msg, msglen, "SVD input has a non-finite value at row %d, column %d",
                         i, j);
                return -1;
            }
            dst[j] = row[j];
        }
    }
    int m = cols, n = rows, r = m < n ? m : n; /* A = Pᵀ is m × n column-major */
    lapack_int need = query_lwork(jobz, m, n, msg, msglen);
    if (need < 0) return -1;
    if (need > w->lwork) { /* not expected (see init); grow rather than fail */
        float *nw = lb_alloc((size_t)need * sizeof(float));
        if (!nw) {
            snprintf(msg, msglen, "out of memory growing the SVD workspace");
            return -1;
        }
        lb_free(w->work);
        w->work = nw;
        w->lwork = need;
    }
    float dummy = 0;
    lapack_int info;
    if (jobz == 'N')
        info = LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, 'N', m, n, w->a, m, sigma, &dummy, m,
                                   &dummy, r, w->work, w->lwork, w->iwork);
    else
        info = LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, 'S', m, n, w->a, m, sigma, w->u, m, w->vt, r,
                                   w->work, w->lwork, w->iwork);
    if (info != 0) {
        snprintf(msg, msglen, "sgesdd on a %d x %d matrix failed (info %d%s)", rows, cols,
                 (int)info, info > 0 ? ": no convergence" : "");
        return -1;
    }
    /* U (m × r, column-major, ld m): column i is P's right singular vector i, stored
     * contiguously, which is exactly row i of the row-major (r × cols) vt. */
    if (vt) memcpy(vt, w->u, (size_t)r * (size_t)m * sizeof(float));
    return 0;
}

int lb_svd_values(lb_svd_ws *w, float *sigma, const float *P, int rows, int cols, int ld,
                  char *msg, size_t msglen) {
    return run(w, 'N', sigma, NULL, P, rows, cols, ld, msg, msglen);
}

int lb_svd_right(lb_svd_ws *w, float *sigma, float *vt, const float *P, int rows, int cols,
                 int ld, char *msg, size_t msglen) {
    return run(w, 'S', sigma, vt, P, rows, cols, ld, msg, msglen);
}
