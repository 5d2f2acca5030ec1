/* Data-parallel `linbench train` across MPI ranks (train_int.h): each rank runs the
 * forward and backward of its rows of the global batch, the gradients are summed with
 * one allreduce, then every rank clips and steps identically. The scale of each rank's
 * gradient is 1/(predicted positions of the whole batch), so the sum is exactly the
 * gradient of the global batch's mean loss, as one process would compute it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_mpi.h"
#include "lb_util.h"
#include "train_int.h"

/* Under MPI the loop's stop flag is this one, raised only when the ranks agreed (in
 * lb_train_mpi_step) that some rank saw the signal flag, signal_stop: a rank that saw the
 * signal just after a step's allreduce must not stop a step before the others. */
static volatile sig_atomic_t agreed_stop, *signal_stop;

/* Rows [*first, *first + return) of a batch of B are this rank's. */
static int my_rows(int B, int *first) {
    int r = lb_mpi_rank(), size = lb_mpi_size();
    int lo = (int)((long)B * r / size), hi = (int)((long)B * (r + 1) / size);
    *first = lo;
    return hi - lo;
}

int lb_train_mpi_begin(lb_run *r, lb_train_opts *o) {
    int size = lb_mpi_size();
    if (o->resume && r->st.ranks != size) {
        lb_err("resume: %s was trained on %d rank%s; resume it with mpirun -np %d (the "
               "batch split and the loader position depend on the rank count)", o->resume,
               r->st.ranks, r->st.ranks == 1 ? "" : "s", r->st.ranks);
        return EX_USAGE;
    }
    if (size == 1) return EX_OK;
    int bmin = lb_curriculum_min_batch(&o->curr, o->batch);
    if (bmin < size) {
        if (bmin == o->batch)
            lb_err("--batch %d is smaller than the %d ranks: every rank needs a row", bmin, size);
        else
            lb_err("--n: a phase's batch of %d is smaller than the %d ranks: every rank needs a row", bmin, size);
        return EX_USAGE;
    }
    signal_stop = o->stop;
    if (o->stop) o->stop = &agreed_stop;
    if (lb_mpi_rank() > 0) {
        /* Rank 0 speaks for the job: the others print nothing but errors and write no
         * log, export or checkpoint (the loop asks lb_mpi_rank before each). */
        o->log = NULL;
        o->export_bf16 = NULL;
        o->progress = 0;
        o->quiet = 1;
        if (!freopen("/dev/null", "w", stdout)) {
            lb_err("cannot silence the standard output of rank %d", lb_mpi_rank());
            return EX_OSERR;
        }
    }
    return EX_OK;
}

static long count_pred(const int32_t *labels, size_t len) {
    long c = 0;
    for (size_t i = 0; i < len; i++) c += labels[i] != LB_MLM_IGNORE;
    return c;
}

/* One rank's forward+backward on its rows, shifted as asked (the shift is cleared again:
 * validation uses the same workspace unshifted). */
static int shifted_step(lb_mlm *ws, float *grad, float scale, const lb_run *r, size_t off, const int32_t *shift,
                        lb_mlm_stats *s, char *msg, size_t msglen) {
    if (lb_mlm_set_pos_shift(ws, shift, msg, msglen)) return -1;
    int rc = lb_mlm_step(ws, grad, scale, r->b.ids + off, r->b.mask + off, r->labels + off, s, msg, msglen);
    lb_mlm_set_pos_shift(ws, NULL, NULL, 0);
    return rc;
}

int lb_train_mpi_step(lb_run *r, const lb_train_opts *o, int n, const int32_t *shift, lb_mlm_stats *s,
                      char *msg, size_t msglen) {
    if (lb_mpi_size() == 1) return shifted_step(r->ws, r->grad, 0, r, 0, shift, s, msg, msglen);
    int first, rows = my_rows(r->b.cap, &first);
    if (!r->ws_part || r->ws_part_n != n || r->ws_part_batch != r->b.cap) {
        lb_mlm_free(r->ws_part);
        r->ws_part = NULL;
        if (lb_mlm_init(&r->ws_part, r->m, rows, n, o->threads, msg, msglen)) return -1;
        r->ws_part_n = n, r->ws_part_batch = r->b.cap;
    }
    size_t off = (size_t)first * n, elems = lb_model_param_elems(r->m);
    /* Every rank holds the whole masked batch: the global count of predicted
     * positions needs no communication. */
    long total = count_pred(r->labels, (size_t)r->b.cap * n);
    float scale = total > 0 ? 1.0f / (float)total : 1.0f;
    lb_mlm_stats mine;
    if (shifted_step(r->ws_part, r->grad, scale, r, off, shift ? shift + first : NULL, &mine, msg, msglen))
        return -1;
    /* st[3]: a SIGINT/SIGTERM seen by any rank stops every rank after this same step
     * (otherwise the first to stop would leave the others waiting here) */
    double st[4] = {mine.loss_sum, (double)mine.n_pred, (double)mine.n_correct,
                    signal_stop && *signal_stop ? 1 : 0};
    if (lb_mpi_allreduce_sum_f(r->grad, elems, msg, msglen) ||
        lb_mpi_allreduce_sum_d(st, 4, msg, msglen))
        return -1;
    if (st[3] > 0 && o->stop) {
        agreed_stop = 1;
        /* all stop with EX_TEMPFAIL together: end normally, so that MPI_Finalize waits
         * for rank 0's checkpoint instead of an abort cutting it short */
        lb_mpi_agree(EX_TEMPFAIL);
    }
    s->loss_sum = st[0];
    s->n_pred = (long)st[1];
    s->n_correct = (long)st[2];
    s->loss = s->n_pred > 0 ? s->loss_sum / (double)s->n_pred : 0;
    return 0;
}

void lb_train_mpi_free(lb_run *r) {
    lb_mlm_free(r->ws_part);
    r->ws_part = NULL;
}
