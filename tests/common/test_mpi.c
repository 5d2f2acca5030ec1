/* lb_mpi as a plain process (no launcher in the environment): rank 0 of 1, the
 * collectives leave their data as it is, a gather hands back this rank's bytes. The
 * same holds for a build with and without MPI; tests/experiments/mpi/ runs the rest
 * under mpirun. */
#include <stdlib.h>
#include <string.h>

#include "lb_mpi.h"
#include "lb_test.h"
#include "lb_util.h"

int main(int argc, char **argv) {
    char msg[256];
    unsetenv("OMPI_COMM_WORLD_SIZE"), unsetenv("PMIX_RANK"), unsetenv("PMI_RANK");
    unsetenv("PMI_SIZE"), unsetenv("LINBENCH_MPI");
    LB_CHECK(lb_mpi_init(&argc, &argv, msg, sizeof msg) == 0, "init: %s", msg);
    LB_CHECK(lb_mpi_rank() == 0 && lb_mpi_size() == 1, "rank %d size %d", lb_mpi_rank(),
             lb_mpi_size());
    double d[3] = {1.5, -2, 3};
    float f[2] = {0.25f, 7};
    LB_CHECK(lb_mpi_allreduce_sum_d(d, 3, msg, sizeof msg) == 0 && d[0] == 1.5 && d[1] == -2 &&
                 d[2] == 3, "sum of doubles over one rank is the identity");
    LB_CHECK(lb_mpi_allreduce_sum_f(f, 2, msg, sizeof msg) == 0 && f[0] == 0.25f && f[1] == 7,
             "sum of floats over one rank is the identity");
    LB_CHECK(lb_mpi_allreduce_max_d(d, 3, msg, sizeof msg) == 0 && d[1] == -2, "max: identity");
    void *all = NULL;
    size_t lens[1] = {99};
    LB_CHECK(lb_mpi_gather(&all, lens, "abc", 3, msg, sizeof msg) == 0 && all && lens[0] == 3 &&
                 memcmp(all, "abc", 3) == 0, "gather of one rank returns its bytes");
    free(all);
    LB_CHECK(lb_mpi_gather(&all, lens, NULL, 0, msg, sizeof msg) == 0 && all && lens[0] == 0,
             "gather of nothing");
    free(all);
    char b[4] = "xyz";
    LB_CHECK(lb_mpi_bcast(b, sizeof b, msg, sizeof msg) == 0 && strcmp(b, "xyz") == 0,
             "broadcast from rank 0 to itself leaves the bytes");
    lb_mpi_barrier();
    LB_CHECK(lb_mpi_agree(0) == 0 && lb_mpi_agree(65) == 65, "agree over one rank: own rc");
    LB_CHECK(lb_mpi_finish(0) == 0, "finish returns rc");
    return lb_test_summary("test_mpi");
}
