/* lb_meta: the run metadata every result file carries, so that two result files can
 * be compared knowing what produced them: git commit and dirty flag, compiler and
 * flags, CPU model, OpenBLAS config/core/threads, LAPACK version, kernel, date, the
 * command line, and the machine fingerprint (lb_fingerprint) that `linbench compare`
 * checks before it judges two runs against each other. */
#ifndef LB_META_H
#define LB_META_H

#include <stdint.h>
#include <stdio.h>

#define LB_FP_MAXPEAK 8

/* The FP32 FMA rate measured at one thread count in the run that wrote the result. */
typedef struct {
    int threads;
    double fma256_gflops; /* 256-bit FMA (AVX2+FMA); NaN when not measured */
    double fma512_gflops; /* 512-bit FMA (AVX-512F); NaN when the CPU has none */
} lb_peak;

/* What makes two timings comparable: the processor (cpuid facts from /proc/cpuinfo,
 * caches from sysfs), the memory, the kernel, the BLAS core and threads and the build.
 * Two machines that print the same "model name" differ here (family/model/stepping,
 * flags); the measured peaks tell how fast each actually was. Strings are "unknown"
 * and numbers -1 when a source could not be read. */
typedef struct {
    char vendor[32];
    int family, model, stepping;
    char model_name[128];
    char flags[320];      /* the SIMD flags that matter, in a fixed order */
    char microcode[32];
    long l1d_kib, l1i_kib, l2_kib, l3_kib;
    int cores;            /* physical cores (distinct physical id, core id pairs) */
    int threads;          /* logical CPUs listed in /proc/cpuinfo */
    int cpus_allowed;     /* CPUs this process may run on (not part of the identity) */
    long mem_mib;         /* MemTotal */
    char kernel[256];     /* uname -srm */
    char blas_core[64];   /* openblas_get_corename() */
    char blas_coretype[64]; /* OPENBLAS_CORETYPE, "" when unset */
    int blas_threads;
    char compiler[128];
    char cflags[512];
    int npeak;
    lb_peak peak[LB_FP_MAXPEAK];
} lb_fingerprint;

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
    lb_fingerprint fp;     /* static facts only; peaks are added by lb_fingerprint_add_peak */
} lb_meta;

/* Fill every field; never fails (unknown values become "unknown"). */
void lb_meta_collect(lb_meta *m);
/* Write `"meta": {...}` members (no surrounding braces) as JSON, indented by `indent`
 * spaces; argv is recorded as "command"; the fingerprint as "fingerprint". */
void lb_meta_write_json(FILE *f, const lb_meta *m, int argc, char **argv, int indent);
/* Write the same facts as CSV comment lines "# key: value". */
void lb_meta_write_comments(FILE *f, const lb_meta *m, int argc, char **argv);
/* The compiler command and flags this binary was built with. */
const char *lb_meta_cflags(void);
/* The compiler's name and version ("gcc 12.2.0"); NULL when neither gcc nor clang. */
const char *lb_meta_compiler(void);
/* JSON string escaping of s into f (with the quotes). */
void lb_json_str(FILE *f, const char *s);

/* --- the fingerprint (common/fingerprint.c) --- */

/* The static facts of this machine and build (no measurement). */
void lb_fingerprint_collect(lb_fingerprint *fp);
/* The same from other sources (tests): cpuinfo, meminfo and the sysfs cache folder of
 * one CPU (".../cpu0/cache"); each may be NULL or unreadable (fields stay unknown). */
void lb_fingerprint_collect_from(lb_fingerprint *fp, const char *cpuinfo, const char *meminfo,
                                 const char *cachedir);
/* Whether this CPU and OS can run 256-bit FMA (AVX2+FMA) / 512-bit FMA (AVX-512F). */
int lb_cpu_has_fma256(void);
int lb_cpu_has_fma512(void);
/* The FP32 FMA rate (GFLOP/s) of `threads` threads each running independent FMA chains
 * of `bits` (256 or 512) width for about `seconds` in all; the best of a few trials.
 * NaN when the CPU lacks that width or threads < 1. */
double lb_fma_peak(int bits, int threads, double seconds);
/* Measure both widths at `threads` threads into fp->peak; when that count is already
 * there, measure again and keep the larger of each width. Returns 0, or -1 when the
 * table is full. */
int lb_fingerprint_add_peak(lb_fingerprint *fp, int threads, double seconds);
/* The best FMA rate measured at `threads` threads (max of both widths), or NaN. */
double lb_fingerprint_peak(const lb_fingerprint *fp, int threads);
/* The identity fields (everything but cpus_allowed and the peaks) that differ between a
 * and b, written as "field (A vs B); ..." into out. Returns their count. */
int lb_fingerprint_diff(const lb_fingerprint *a, const lb_fingerprint *b, char *out, size_t outlen);
/* FNV-1a 64 of the identity fields: one id per machine and build configuration. */
uint64_t lb_fingerprint_id(const lb_fingerprint *fp);
/* The fingerprint as a cJSON object (void * to keep cJSON out of this header; the
 * caller deletes it), and back. from_json returns 0, or -1 with msg naming the field. */
void *lb_fingerprint_to_json(const lb_fingerprint *fp);
int lb_fingerprint_from_json(lb_fingerprint *fp, const void *obj, char *msg, size_t msglen);
/* The fingerprint of a result JSON (its "meta"."fingerprint"). Returns 0, 1 when the
 * file has metadata but no fingerprint (written before fingerprints existed), or -1
 * with msg (cannot read, not JSON, malformed fingerprint). */
int lb_fingerprint_load(lb_fingerprint *fp, const char *json_path, char *msg, size_t msglen);

#endif
