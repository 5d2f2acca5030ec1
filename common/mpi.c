/* lb_mpi: MPI behind a small interface (lb_mpi.h), or single-process stubs when the
 * build has no MPI. The only file that includes mpi.h. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_mpi.h"
#include "lb_util.h"

#ifdef LB_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1, g_on = 0, g_agreed = 0;
static char g_name[64];

int lb_mpi_built(void) {
#ifdef LB_MPI
    return 1;
#else
    return 0;
#endif
}

int lb_mpi_rank(void) { return g_rank; }
int lb_mpi_size(void) { return g_size; }

/* Launchers announce themselves in the environment: Open MPI's mpirun, PMIx (srun
 * --mpi=pmix, prterun), PMI (MPICH's hydra, srun --mpi=pmi2). Without one, MPI_Init
 * would make a singleton at best and fork a daemon at worst: stay a plain process. */
static int launched(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE", NULL};
    const char *force = getenv("LINBENCH_MPI");
    if (force && *force) return strcmp(force, "0") != 0;
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int lb_mpi_init(int *argc, char ***argv, char *msg, size_t msglen) {
#ifdef LB_MPI
    if (!launched()) return 0;
    int provided = 0;
    /* FUNNELED: OpenMP threads compute, only the main thread calls MPI. */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return lb_fail(msg, msglen, "MPI_Init_thread failed");
    g_on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    /* Errors come back as codes, so a failed call can be reported with its rank. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (g_size > 1) {
        snprintf(g_name, sizeof g_name, "linbench[rank %d/%d]", g_rank, g_size);
        lb_prog_name = g_name;
    }
    return 0;
#else
    (void)argc, (void)argv;
    if (launched() && getenv("LINBENCH_MPI") == NULL && getenv("OMPI_COMM_WORLD_SIZE") &&
        atoi(getenv("OMPI_COMM_WORLD_SIZE")) > 1)
        /* N copies of a build without MPI would each do the whole job and race on the
         * output files: refuse rather than silently repeat the work. */
        return lb_fail(msg, msglen, "started by mpirun with %s ranks, but this linbench was "
                       "built without MPI (make MPI=1)", getenv("OMPI_COMM_WORLD_SIZE"));
    return 0;
#endif
}

int lb_mpi_finish(int rc) {
#ifdef LB_MPI
    if (!g_on) return rc;
    if (rc != 0 && g_size > 1 && !g_agreed) {
        fprintf(stderr, "%s: exit code %d; ending every rank of the job\n", lb_prog_name, rc);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Finalize();
    g_on = 0;
#endif
    return rc;
}

#ifdef LB_MPI
static int mpi_failed(int err, const char *what, char *msg, size_t msglen) {
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "code %d", err);
    return lb_fail(msg, msglen, "%s failed: %s", what, s);
}

static int reduce(void *x, size_t n, MPI_Datatype t, MPI_Op op, const char *what, char *msg,
                  size_t msglen) {
    if (!g_on || g_size == 1 || n == 0) return 0;
    if (n > INT_MAX) return lb_fail(msg, msglen, "%s: %zu values exceed MPI's int count", what, n);
    int err = MPI_Allreduce(MPI_IN_PLACE, x, (int)n, t, op, MPI_COMM_WORLD);
    return err == MPI_SUCCESS ? 0 : mpi_failed(err, what, msg, msglen);
}
#endif

int lb_mpi_allreduce_sum_d(double *x, size_t n, char *msg, size_t msglen) {
#ifdef LB_MPI
    return reduce(x, n, MPI_DOUBLE, MPI_SUM, "MPI_Allreduce (sum of doubles)", msg, msglen);
#else
    (void)x, (void)n, (void)msg, (void)msglen;
    return 0;
#endif
}

int lb_mpi_allreduce_sum_f(float *x, size_t n, char *msg, size_t msglen) {
#ifdef LB_MPI
    return reduce(x, n, MPI_FLOAT, MPI_SUM, "MPI_Allreduce (sum of floats)", msg, msglen);
#else
    (void)x, (void)n, (void)msg, (void)msglen;
    return 0;
#endif
}

int lb_mpi_allreduce_max_d(double *x, size_t n, char *msg, size_t msglen) {
#ifdef LB_MPI
    return reduce(x, n, MPI_DOUBLE, MPI_MAX, "MPI_Allreduce (max)", msg, msglen);
#else
    (void)x, (void)n, (void)msg, (void)msglen;
    return 0;
#endif
}

int lb_mpi_gather(void **all, size_t *lens, const void *mine, size_t len, char *msg,
                  size_t msglen) {
    *all = NULL;
    if (g_size == 1) {
        *all = malloc(len ? len : 1);
        if (!*all) return lb_fail(msg, msglen, "out of memory for %zu bytes", len);
        if (len) memcpy(*all, mine, len);
        lens[0] = len;
        return 0;
    }
#ifdef LB_MPI
    if (len > INT_MAX) return lb_fail(msg, msglen, "gather: %zu bytes exceed MPI's int count", len);
    int n = (int)len, *counts = NULL, *displs = NULL, err;
    if (g_rank == 0) {
        counts = calloc((size_t)g_size, sizeof(int));
        displs = calloc((size_t)g_size, sizeof(int));
    }
    /* The others are already on their way into the gather: no way back but down. */
    if (g_rank == 0 && (!counts || !displs)) lb_mpi_abort(EX_OSERR, "gather: out of memory");
    err = MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (err != MPI_SUCCESS) return mpi_failed(err, "MPI_Gather (sizes)", msg, msglen);
    size_t total = 0;
    char *buf = NULL;
    if (g_rank == 0) {
        for (int r = 0; r < g_size; r++) {
            displs[r] = (int)total;
            total += (size_t)counts[r];
            lens[r] = (size_t)counts[r];
        }
        if (total <= INT_MAX) buf = malloc(total ? total : 1);
    }
    err = MPI_Gatherv(mine, n, MPI_BYTE, buf, counts, displs, MPI_BYTE, 0, MPI_COMM_WORLD);
    free(counts);
    free(displs);
    if (err != MPI_SUCCESS) {
        free(buf);
        return mpi_failed(err, "MPI_Gatherv", msg, msglen);
    }
    if (g_rank == 0 && !buf) return lb_fail(msg, msglen, "out of memory gathering %zu bytes", total);
    *all = buf;
    return 0;
#else
    return lb_fail(msg, msglen, "gather across %d ranks without MPI", g_size);
#endif
}

int lb_mpi_bcast(void *buf, size_t len, char *msg, size_t msglen) {
#ifdef LB_MPI
    if (!g_on || g_size == 1 || len == 0) return 0;
    if (len > INT_MAX) return lb_fail(msg, msglen, "broadcast: %zu bytes exceed MPI's int count", len);
    int err = MPI_Bcast(buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
    return err == MPI_SUCCESS ? 0 : mpi_failed(err, "MPI_Bcast", msg, msglen);
#else
    (void)buf, (void)len, (void)msg, (void)msglen;
    return 0;
#endif
}

void lb_mpi_barrier(void) {
#ifdef LB_MPI
    if (g_on && g_size > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

int lb_mpi_agree(int rc) {
    if (g_size == 1) return rc;
    double v = rc;
    char msg[256];
    if (lb_mpi_allreduce_max_d(&v, 1, msg, sizeof msg))
        lb_mpi_abort(EX_SOFTWARE, "agreeing on a status: %s", msg);
    if (v != 0) g_agreed = 1;
    return (int)v;
}

void lb_mpi_abort(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", lb_prog_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
#ifdef LB_MPI
    if (g_on) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    exit(code);
}
