/* `linbench spectrum` across MPI ranks: each rank analyses the windows it owns
 * (lb_spec_mine) into its own accumulators; lb_spec_runs_merge brings them to rank 0,
 * which writes the files. Sending accumulators, not matrices, keeps the traffic at a
 * few kilobytes per (layer, head) whatever the number of windows. */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "lb_mpi.h"
#include "lb_spectrum.h"
#include "lb_util.h"

int lb_spec_mine(long s) { return s % lb_mpi_size() == lb_mpi_rank(); }

/* The counters of a run, summed over ranks (times too: CPU-seconds of all ranks). */
#define RUN_COUNTERS 6
static void run_counters(double *c, const lb_spec_run *r) {
    c[0] = r->sequences, c[1] = r->proj_sequences, c[2] = r->tokens;
    c[3] = r->real_tokens, c[4] = r->forward_s, c[5] = r->analysis_s;
}

static size_t run_len(const lb_spec_run *r) {
    size_t len = RUN_COUNTERS + (size_t)r->nl * r->nh * r->nks * LB_PE_COUNT * 3;
    for (int a = 0; a < r->nl * r->nh; a++) len += lb_spec_acc_packed_len(&r->acc[a]);
    return len;
}

static void run_pack(double *out, const lb_spec_run *r) {
    run_counters(out, r);
    out += RUN_COUNTERS;
    size_t npe = (size_t)r->nl * r->nh * r->nks * LB_PE_COUNT;
    for (size_t j = 0; j < npe; j++)
        *out++ = r->pe[j].n, *out++ = r->pe[j].mean, *out++ = r->pe[j].m2;
    for (int a = 0; a < r->nl * r->nh; a++) {
        lb_spec_acc_pack(out, &r->acc[a]);
        out += lb_spec_acc_packed_len(&r->acc[a]);
    }
}

/* r += the packed run in (avail doubles); tmp is a scratch accumulator shaped as r's.
 * rows[a] gets where that rank's per-window rows of accumulator a start in `in`. */
static int run_merge_packed(lb_spec_run *r, const double *in, size_t avail, lb_spec_acc *tmp,
                            const double **rows, char *msg, size_t msglen) {
    const double *end = in + avail;
    size_t fixed = RUN_COUNTERS + (size_t)r->nl * r->nh * r->nks * LB_PE_COUNT * 3;
    if (avail < fixed)
        return lb_fail(msg, msglen, "n = %d: %zu values from a rank, expected at least %zu (do "
                       "all ranks run the same build and options?)", r->n, avail, fixed);
    r->sequences += (long)in[0], r->proj_sequences += (long)in[1], r->tokens += in[2];
    r->real_tokens += in[3], r->forward_s += in[4], r->analysis_s += in[5];
    in += RUN_COUNTERS;
    size_t npe = (size_t)r->nl * r->nh * r->nks * LB_PE_COUNT;
    for (size_t j = 0; j < npe; j++, in += 3)
        lb_welford_merge(&r->pe[j], &(lb_welford){in[0], in[1], in[2]});
    for (int a = 0; a < r->nl * r->nh; a++) {
        size_t len = lb_spec_acc_packed_len_in(&r->acc[a], in, (size_t)(end - in));
        if (len == SIZE_MAX || len > (size_t)(end - in))
            return lb_fail(msg, msglen, "n = %d: a rank's accumulator %d is truncated", r->n, a);
        if (lb_spec_acc_unpack(tmp, in, len, msg, msglen)) return -1;
        rows[a] = lb_spec_acc_packed_rows(&r->acc[a], in);
        lb_spec_acc_merge(&r->acc[a], tmp);
        in += len;
    }
    if (in != end) return lb_fail(msg, msglen, "n = %d: %zu values too many from a rank", r->n, (size_t)(end - in));
    return 0;
}

/* Per-window rows in the single-process order: window s was rank s mod size's
 * (s / size)-th. own (count0 rows) is rank 0's; rows[k] rank k's for k >= 1. */
static int interleave_rows(lb_spec_acc *a, const double *own, size_t count0, const double *const *rows,
                           size_t size) {
    size_t total = (size_t)a->count;
    double *all = malloc((total ? total : 1) * LB_SPEC_NSTATS * sizeof *all);
    if (!all) return -1;
    for (size_t s = 0; s < total; s++) {
        size_t k = s % size, i = s / size;
        const double *src = k == 0 ? (i < count0 ? own + i * LB_SPEC_NSTATS : NULL) : rows[k] + i * LB_SPEC_NSTATS;
        for (int j = 0; j < LB_SPEC_NSTATS; j++) all[s * LB_SPEC_NSTATS + j] = src ? src[j] : NAN;
    }
    int rc = lb_spec_acc_set_rows(a, all, total);
    free(all);
    return rc;
}

static int merge_one(lb_spec_run *r, char *msg, size_t msglen) {
    size_t len = run_len(r), size = (size_t)lb_mpi_size(), *lens = calloc(size, sizeof *lens);
    double *mine = malloc(len * sizeof(double)), *all = NULL;
    lb_spec_acc tmp;
    int rc = -1;
    if (!lens || !mine || lb_spec_acc_init(&tmp, r->n, r->index)) {
        /* the others are already heading into the gather: end the job, not this call */
        lb_mpi_abort(EX_OSERR, "spectrum: n = %d: out of memory for the merge", r->n);
    }
    run_pack(mine, r);
    if (lb_mpi_gather((void **)&all, lens, mine, len * sizeof(double), msg, msglen)) goto out;
    if (lb_mpi_rank() == 0) {
        /* Rank 0's own share is already in r; the others follow in rank order. */
        int A = r->nl * r->nh;
        const double **rows = calloc(size * (size_t)A, sizeof *rows);
        double **own = calloc((size_t)A, sizeof *own);
        size_t *own_n = calloc((size_t)A, sizeof *own_n);
        if (!rows || !own || !own_n) {
            free(rows), free(own), free(own_n);
            lb_fail(msg, msglen, "out of memory for the merge");
            goto out;
        }
        for (int a = 0; a < A; a++) { /* rank 0's rows, before the merge grows the counts */
            own_n[a] = (size_t)r->acc[a].count;
            own[a] = r->acc[a].win_lost ? NULL : malloc((own_n[a] ? own_n[a] : 1) * LB_SPEC_NSTATS * sizeof(double));
            if (own[a] && own_n[a]) memcpy(own[a], r->acc[a].win, own_n[a] * LB_SPEC_NSTATS * sizeof(double));
        }
        const double *p = all + lens[0] / sizeof(double);
        int bad = 0;
        for (size_t k = 1; k < size && !bad; k++) {
            bad = run_merge_packed(r, p, lens[k] / sizeof(double), &tmp, rows + k * (size_t)A, msg, msglen);
            p += lens[k] / sizeof(double);
        }
        for (int a = 0; a < A && !bad; a++) {
            const double *per[64];
            size_t nk = size < 64 ? size : 64;
            for (size_t k = 1; k < nk; k++) per[k] = rows[k * (size_t)A + a];
            if (size > 64 || !own[a] || interleave_rows(&r->acc[a], own[a], own_n[a], per, size))
                r->acc[a].win_lost = 1; /* the windows file is then refused, with a message */
        }
        for (int a = 0; a < A; a++) free(own[a]);
        free(rows), free(own), free(own_n);
        if (bad) goto out;
    }
    rc = 0;
out:
    lb_spec_acc_free(&tmp);
    free(all), free(mine), free(lens);
    return rc;
}

int lb_spec_runs_merge(lb_spec_run *runs, int nruns, char *msg, size_t msglen) {
    if (lb_mpi_size() == 1) return 0;
    for (int i = 0; i < nruns; i++)
        if (merge_one(&runs[i], msg, msglen)) return -1;
    return 0;
}
