/* tool_svd: drives analysis/spectrum/lb_spectrum.h for the numpy oracle tests
 * (tests/analysis/spectrum/test_spectrum.py) and the SVD benchmark (experiments/bench/bench_svd.py).
 *
 *   tool_svd stats IN.npy INDEX OUT      IN is (B, rows, cols) or (rows, cols) float32.
 *       OUT_sigma.npy (B, min) f32; OUT_curves.npy (B, 2, cols) f64 (σ, energy);
 *       OUT_stats.npy (B, NSTATS) f64; OUT_acc.npy (4, cols) f64 (σ mean, σ std,
 *       energy mean, energy std over B, from the streaming accumulator);
 *       OUT_accstats.npy (NSTATS, 2) f64 (mean, std).
 *   tool_svd right IN.npy OUT            (rows, cols): OUT_sigma.npy, OUT_vt.npy.
 *   tool_svd projerr P Q K V KS SEED SVD OUT [REAL.npy NFULL]
 *       P (m, m), Q/K/V (m, d) float32; KS "16,32"; SVD 0/1; REAL int32 (m) ascending.
 *       OUT_err.npy (nks, LB_PE_COUNT) f64; per k: OUT_R<k>.npy = lb_proj_gauss(k, NFULL).
 *   tool_svd bench IN.npy THREADS [OUT.npy [BLAS_THREADS]]   values of every matrix
 *       of (B, r, c); prints "seconds <t>" for the loop only (workspaces made before
 *       timing). THREADS > 1: matrices in parallel (BLAS single-threaded inside);
 *       THREADS = 1: one after another with BLAS_THREADS (default: OpenBLAS's own).
 * Every other mode runs BLAS single-threaded (see main).
 * Exit 0 on success, 65 on bad data, 64 on bad usage. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_npy.h"
#include "lb_spectrum.h"
#include "lb_util.h"

static int load3(lb_npy *a, const char *path, int64_t *B, int64_t *r, int64_t *c) {
    char msg[512];
    if (lb_npy_read(a, path, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return -1;
    }
    if (a->dtype != LB_NPY_F32 || a->ndim < 2 || a->ndim > 3) {
        fprintf(stderr, "%s: want float32 of 2 or 3 dims\n", path);
        lb_npy_free(a);
        return -1;
    }
    *B = a->ndim == 3 ? a->shape[0] : 1;
    *r = a->shape[a->ndim - 2];
    *c = a->shape[a->ndim - 1];
    return 0;
}

static int out_npy(const char *prefix, const char *suffix, lb_npy_dtype t, int nd,
                   const int64_t *shape, const void *data) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s", prefix, suffix);
    return lb_npy_write(path, t, nd, shape, data);
}

static int cmd_stats(char **argv) {
    lb_npy a;
    int64_t B, R, C;
    if (load3(&a, argv[0], &B, &R, &C)) return EX_DATAERR;
    int index = atoi(argv[1]), mn = (int)(R < C ? R : C), len = (int)C, rc = EX_DATAERR;
    float *sig = calloc((size_t)(B * mn), sizeof(float));
    double *curves = calloc((size_t)(B * 2 * len), sizeof(double));
    double *stats = calloc((size_t)(B * LB_SPEC_NSTATS), sizeof(double));
    double *acc = calloc((size_t)(4 * len), sizeof(double)), *scratch = calloc(2 * len, 8);
    lb_svd_ws *w = NULL;
    lb_spec_acc ac;
    char msg[512];
    if (lb_spec_acc_init(&ac, len, index)) {
        fprintf(stderr, "bad index %d for length %d\n", index, len);
        goto done;
    }
    if (lb_svd_ws_init(&w, (int)R, (int)C, 0, msg, sizeof msg)) goto fail;
    for (int64_t b = 0; b < B; b++) {
        const float *P = (const float *)a.data + b * R * C;
        if (lb_svd_values(w, sig + b * mn, P, (int)R, (int)C, (int)C, msg, sizeof msg)) goto fail;
        double re = lb_spec_row_entropy(P, (int)R, (int)C, (int)C);
        double *cv = curves + b * 2 * len;
        lb_spec_matrix_stats(stats + b * LB_SPEC_NSTATS, cv, cv + len, len, index, sig + b * mn,
                             mn, re);
        lb_spec_acc_add(&ac, scratch, sig + b * mn, mn, re);
    }
    memcpy(acc, ac.c_mean, len * sizeof(double));
    lb_spec_acc_curve_std(&ac, acc + len, 0);
    memcpy(acc + 2 * len, ac.e_mean, len * sizeof(double));
    lb_spec_acc_curve_std(&ac, acc + 3 * len, 1);
    double as[LB_SPEC_NSTATS * 2];
    for (int s = 0; s < LB_SPEC_NSTATS; s++) {
        as[2 * s] = ac.stat[s].mean;
        as[2 * s + 1] = lb_welford_std(&ac.stat[s]);
    }
    int64_t s1[2] = {B, mn}, s2[3] = {B, 2, len}, s3[2] = {B, LB_SPEC_NSTATS}, s4[2] = {4, len},
            s5[2] = {LB_SPEC_NSTATS, 2};
    if (out_npy(argv[2], "_sigma.npy", LB_NPY_F32, 2, s1, sig) ||
        out_npy(argv[2], "_curves.npy", LB_NPY_F64, 3, s2, curves) ||
        out_npy(argv[2], "_stats.npy", LB_NPY_F64, 2, s3, stats) ||
        out_npy(argv[2], "_acc.npy", LB_NPY_F64, 2, s4, acc) ||
        out_npy(argv[2], "_accstats.npy", LB_NPY_F64, 2, s5, as))
        goto done;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "%s\n", msg);
done:
    lb_svd_ws_free(w);
    lb_spec_acc_free(&ac);
    free(sig), free(curves), free(stats), free(acc), free(scratch);
    lb_npy_free(&a);
    return rc;
}

static int cmd_right(char **argv) {
    lb_npy a;
    int64_t B, R, C;
    if (load3(&a, argv[0], &B, &R, &C)) return EX_DATAERR;
    int mn = (int)(R < C ? R : C), rc = EX_DATAERR;
    float *sig = calloc(mn, sizeof(float)), *vt = calloc((size_t)(mn * C), sizeof(float));
    lb_svd_ws *w = NULL;
    char msg[512];
    if (lb_svd_ws_init(&w, (int)R, (int)C, 1, msg, sizeof msg) ||
        lb_svd_right(w, sig, vt, a.data, (int)R, (int)C, (int)C, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
    } else {
        int64_t s1[1] = {mn}, s2[2] = {mn, C};
        if (!out_npy(argv[1], "_sigma.npy", LB_NPY_F32, 1, s1, sig) &&
            !out_npy(argv[1], "_vt.npy", LB_NPY_F32, 2, s2, vt))
            rc = 0;
    }
    lb_svd_ws_free(w);
    free(sig), free(vt);
    lb_npy_free(&a);
    return rc;
}

static int cmd_projerr(int argc, char **argv) {
    lb_npy P, Q, K, V, real = {0};
    int64_t b, m, m2, d;
    char msg[512];
    long ks[64];
    int nks = lb_parse_list(argv[4], ks, 64, 1, 1 << 20, "KS"), rc = EX_DATAERR;
    if (nks < 1) return EX_USAGE;
    if (load3(&P, argv[0], &b, &m, &m2)) return EX_DATAERR;
    if (load3(&Q, argv[1], &b, &m2, &d) || load3(&K, argv[2], &b, &m2, &d) ||
        load3(&V, argv[3], &b, &m2, &d))
        return EX_DATAERR; /* leaks on this test-only error path are fine */
    int n_full = (int)m;
    if (argc > 8) {
        if (lb_npy_read(&real, argv[8], msg, sizeof msg) || real.dtype != LB_NPY_I32) {
            fprintf(stderr, "%s: want int32\n", argv[8]);
            return EX_DATAERR;
        }
        n_full = atoi(argv[9]);
    }
    uint64_t seed = strtoull(argv[5], NULL, 10), seeds[64];
    int iks[64], kmax = 1;
    for (int j = 0; j < nks; j++) {
        iks[j] = (int)ks[j];
        seeds[j] = lb_proj_seed(seed, 0, 0, iks[j]);
        if (iks[j] > kmax) kmax = iks[j];
    }
    int with_svd = atoi(argv[6]);
    lb_pe_ws *w = NULL;
    double *err = calloc((size_t)nks * LB_PE_COUNT, sizeof(double));
    if (lb_pe_ws_init(&w, (int)m, (int)d, kmax, with_svd, msg, sizeof msg) ||
        lb_projerr_head(w, err, P.data, (int)m, Q.data, K.data, V.data, (int)m, (int)d, iks, nks,
                        seeds, real.data, n_full, with_svd, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
    } else {
        int64_t s[2] = {nks, LB_PE_COUNT};
        rc = out_npy(argv[7], "_err.npy", LB_NPY_F64, 2, s, err) ? EX_DATAERR : 0;
        for (int j = 0; j < nks && !rc; j++) {
            float *R = malloc(sizeof(float) * iks[j] * n_full);
            lb_proj_gauss(R, iks[j], n_full, seeds[j]);
            char suf[64];
            snprintf(suf, sizeof suf, "_R%d.npy", iks[j]);
            int64_t sr[2] = {iks[j], n_full};
            if (out_npy(argv[7], suf, LB_NPY_F32, 2, sr, R)) rc = EX_DATAERR;
            free(R);
        }
    }
    lb_pe_ws_free(w);
    free(err);
    lb_npy_free(&P), lb_npy_free(&Q), lb_npy_free(&K), lb_npy_free(&V), lb_npy_free(&real);
    return rc;
}

static int cmd_bench(char **argv) {
    lb_npy a;
    int64_t B, R, C;
    if (load3(&a, argv[0], &B, &R, &C)) return EX_DATAERR;
    int threads = atoi(argv[1]), mn = (int)(R < C ? R : C), bad = 0;
    if (threads < 1) threads = 1;
    lb_svd_ws **w = calloc(threads, sizeof *w);
    float *sig = calloc((size_t)(B * mn), sizeof(float));
    char msg[512];
    for (int t = 0; t < threads; t++)
        if (lb_svd_ws_init(&w[t], (int)R, (int)C, 0, msg, sizeof msg)) return EX_SOFTWARE;
    if (argv[2] && argv[3]) openblas_set_num_threads(atoi(argv[3]));
    double t0 = lb_now();
    if (threads == 1) { /* no parallel region: a team of one would not make BLAS serial */
        char m2[256];
        for (int64_t b = 0; b < B; b++)
            bad += lb_svd_values(w[0], sig + b * mn, (const float *)a.data + b * R * C, (int)R,
                                 (int)C, (int)C, m2, sizeof m2) != 0;
    } else {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : bad)
        for (int64_t b = 0; b < B; b++) {
            char m2[256];
            bad += lb_svd_values(w[omp_get_thread_num()], sig + b * mn,
                                 (const float *)a.data + b * R * C, (int)R, (int)C, (int)C, m2,
                                 sizeof m2) != 0;
        }
    }
    double t = lb_now() - t0;
    printf("seconds %.6f\nmatrices %lld\nthreads %d\nsigma0_sum %.6g\n", t, (long long)B, threads,
           (double)sig[0]);
    if (argv[2]) {
        int64_t s[2] = {B, mn};
        if (lb_npy_write(argv[2], LB_NPY_F32, 2, s, sig)) bad++;
    }
    for (int i = 0; i < threads; i++) lb_svd_ws_free(w[i]);
    free(w), free(sig);
    lb_npy_free(&a);
    return bad ? EX_SOFTWARE : 0;
}

int main(int argc, char **argv) {
    /* Outside a parallel region of >= 2 threads, OpenBLAS's OpenMP build threads the
     * many small BLAS-2 calls inside sgesdd; on a busy machine that was measured 50 to
     * 300 times slower than one thread (0.035 s vs 1.6-12 s at 512). Tests want one. */
    if (!(argc >= 2 && !strcmp(argv[1], "bench"))) openblas_set_num_threads(1);
    if (argc >= 5 && !strcmp(argv[1], "stats")) return cmd_stats(argv + 2);
    if (argc >= 4 && !strcmp(argv[1], "right")) return cmd_right(argv + 2);
    if ((argc == 10 || argc == 12) && !strcmp(argv[1], "projerr"))
        return cmd_projerr(argc - 2, argv + 2);
    if (argc >= 4 && !strcmp(argv[1], "bench")) return cmd_bench(argv + 2);
    fprintf(stderr, "usage: see the comment at the top of tests/analysis/spectrum/tool_svd.c\n");
    return EX_USAGE;
}
