/* Controls for Figure 1: attention matrices whose spectra are known, run through the
 * same SVD and statistics as a model's P, so that "low rank" is read against what a
 * trivially low-rank (uniform rows) and a high-rank (sharp local band) P look like. */
#include <math.h>
#include <stdlib.h>

#include "lb_spectrum.h"
#include "lb_util.h"

const char *lb_ctrl_name(int kind) {
    static const char *names[LB_CTRL_COUNT] = {"uniform", "band", "identity"};
    return kind >= 0 && kind < LB_CTRL_COUNT ? names[kind] : "?";
}

void lb_ctrl_matrix(float *P, int n, int kind) {
    for (int i = 0; i < n; i++) {
        float *row = P + (size_t)i * n;
        double sum = 0;
        for (int j = 0; j < n; j++) {
            int d = abs(i - j);
            double w = kind == LB_CTRL_UNIFORM ? 1.0
                       : kind == LB_CTRL_BAND  ? (d <= 2 ? exp(-(double)d) : 0.0)
                                               : (d == 0);
            row[j] = (float)w;
            sum += w;
        }
        for (int j = 0; j < n; j++) row[j] = (float)(row[j] / sum);
    }
}

int lb_ctrl_spectrum(lb_spec_acc *acc, int kind, char *msg, size_t msglen) {
    int n = acc->len, rc = -1;
    float *P = malloc(sizeof(float) * (size_t)n * n), *sigma = malloc(sizeof(float) * (size_t)n);
    double *scratch = malloc(sizeof(double) * 2 * (size_t)n);
    lb_svd_ws *ws = NULL;
    if (!P || !sigma || !scratch) {
        lb_fail(msg, msglen, "control %s at n = %d: out of memory", lb_ctrl_name(kind), n);
    } else if (!lb_svd_ws_init(&ws, n, n, 0, msg, msglen)) {
        lb_ctrl_matrix(P, n, kind);
        if (!lb_svd_values(ws, sigma, P, n, n, n, msg, msglen)) {
            lb_spec_acc_add(acc, scratch, sigma, n, lb_spec_row_entropy(P, n, n, n));
            rc = 0;
        }
    }
    lb_svd_ws_free(ws);
    free(P), free(sigma), free(scratch);
    return rc;
}

int lb_spec_write_controls(FILE *f, const lb_spec_run *runs, int nruns, char *msg,
                           size_t msglen) {
    static const int kinds[] = {LB_CTRL_UNIFORM, LB_CTRL_BAND};
    fputs("n,control,index,sigma,energy", f);
    for (int s = 0; s < LB_SPEC_NSTATS; s++) fprintf(f, ",%s", lb_spec_stat_name(s));
    fputc('\n', f);
    for (int ri = 0; ri < nruns; ri++)
        for (int k = 0; k < 2; k++) {
            lb_spec_acc a;
            if (lb_spec_acc_init(&a, runs[ri].n, runs[ri].index))
                return lb_fail(msg, msglen, "controls at n = %d: out of memory", runs[ri].n);
            if (lb_ctrl_spectrum(&a, kinds[k], msg, msglen)) {
                lb_spec_acc_free(&a);
                return -1;
            }
            for (int i = 0; i < a.len; i++) {
                fprintf(f, "%d,%s,%d,%.9g,%.9g", a.len, lb_ctrl_name(kinds[k]), i + 1, a.c_mean[i],
                        a.e_mean[i]);
                for (int s = 0; s < LB_SPEC_NSTATS; s++) fprintf(f, ",%.9g", a.stat[s].mean);
                fputc('\n', f);
            }
            lb_spec_acc_free(&a);
        }
    return 0;
}
