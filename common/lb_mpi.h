/* lb_mpi: the one door to MPI. Nothing else in linbench includes mpi.h.
 *
 * Built with LB_MPI (make MPI=1, or by default when pkg-config finds ompi-c) these
 * call Open MPI; built without, they are single-process stubs (rank 0 of 1), so every
 * caller is written once. Even an MPI build stays a plain single process unless a
 * launcher (mpirun, srun) started it: MPI is initialised only when the environment
 * names a rank, so `linbench bench` on a laptop never touches the MPI runtime.
 *
 * Failure rule: a rank that fails prints its reason (lb_err names the rank, see
 * lb_mpi_init) and either every rank learns it at a collective (lb_mpi_agree) and
 * returns cleanly, or lb_mpi_finish/lb_mpi_abort brings the whole job down. */
#ifndef LB_MPI_H
#define LB_MPI_H

#include <stddef.h>

/* Initialise MPI when a launcher started us (or LINBENCH_MPI=1 forces it); sets
 * lb_prog_name to "linbench[rank R/N]" when N > 1 so that every error message names
 * its rank. Returns 0, or -1 with msg. Call once, first thing in main. */
int lb_mpi_init(int *argc, char ***argv, char *msg, size_t msglen);
/* End of main: rc is the command's exit code. A rank that fails alone (rc != 0 and no
 * lb_mpi_agree saw it) aborts the job, since the others may wait for it forever;
 * otherwise MPI is finalised. Returns rc. */
int lb_mpi_finish(int rc);

int lb_mpi_rank(void);  /* 0 without MPI */
int lb_mpi_size(void);  /* 1 without MPI */
/* 1 when this build has MPI compiled in (whether or not it is running under it). */
int lb_mpi_built(void);

/* x is (n), summed in place over all ranks (every rank gets the sum). 0 or -1 + msg. */
int lb_mpi_allreduce_sum_d(double *x, size_t n, char *msg, size_t msglen);
int lb_mpi_allreduce_sum_f(float *x, size_t n, char *msg, size_t msglen);
/* x is (n): the largest value of each entry over all ranks, in place. */
int lb_mpi_allreduce_max_d(double *x, size_t n, char *msg, size_t msglen);

/* Every rank hands `len` bytes; rank 0 gets them concatenated in rank order in *all
 * (malloc'd, free it) with lens (size) the length from each rank; other ranks get
 * *all = NULL and lens untouched. 0 or -1 + msg (on every rank's own terms). */
int lb_mpi_gather(void **all, size_t *lens, const void *mine, size_t len, char *msg,
                  size_t msglen);

/* buf is (len) bytes: rank 0's bytes replace every other rank's. 0 or -1 + msg. */
int lb_mpi_bcast(void *buf, size_t len, char *msg, size_t msglen);

void lb_mpi_barrier(void);

/* The ranks agree on a status: every rank calls it at the same point with its own rc
 * (0 = fine); all get the largest. Marks the failure as shared, so lb_mpi_finish
 * ends the job normally instead of aborting. */
int lb_mpi_agree(int rc);

/* Print "linbench[rank R/N]: <message>" and end the whole job with code. */
void lb_mpi_abort(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
