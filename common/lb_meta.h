/* lb_meta: the run metadata every result file carries, so that two result files can
 * be compared knowing what produced them: git commit and dirty flag,
 * compiler and flags, CPU model, OpenBLAS config/core/threads, LAPACK version,
 * kernel, date, plus the command line. */
#ifndef LB_META_H
#define LB_META_H

#include <stdio.h>

typedef struct {
    char git_commit[48];  /* "unknown" outside a checkout */
    int git_dirty;        /* 1 if the tree had uncommitted changes, -1 unknown */
    char compiler[128];
    char cflags[512];
    char cpu_model[128];
    char blas_config[256]; /* openblas_get_config() */
    char blas_core[64];    /* openblas_get_corename() */
    int blas_threads;
    int omp_threads;
    char lapack_version[32];
    char kernel[256];     /* uname -srm */
    char date[32];         /* ISO 8601 UTC */
    char hostname[64];
} lb_meta;

/* Fill every field; never fails (unknown values become "unknown"). */
void lb_meta_collect(lb_meta *m);
/* Write `"meta": {...}` members (no surrounding braces) as JSON, indented by `indent`
 * spaces; argv is recorded as "command". */
void lb_meta_write_json(FILE *f, const lb_meta *m, int argc, char **argv, int indent);
/* Write the same facts as CSV comment lines "# key: value". */
void lb_meta_write_comments(FILE *f, const lb_meta *m, int argc, char **argv);
/* JSON string escaping of s into f (with the quotes). */
void lb_json_str(FILE *f, const char *s);

#endif
