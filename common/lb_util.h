/* lb_util: the small services every part of linbench uses: error reporting, monotonic
 * time, aligned and huge-page allocation, peak-memory measurement, hashing, a seeded
 * RNG, atomic output files, whole-file helpers and integer-list parsing. Nothing here
 * keeps global state except lb_prog_name (set once by main).
 *
 * The error convention of the library (every folder below experiments/cli/): a
 * function returns 0 (or a count, or a pointer) on success and -1 (or NULL) on failure,
 * with the reason written by lb_fail into the caller's `char *msg, size_t msglen`,
 * naming the file, field or option and what was expected. Library code does not print
 * errors and does not return sysexits codes: only experiments/cli/ prints (lb_err) and
 * maps a failure to an exit status (64 usage, 65 data, 66 no input, 70 software,
 * 73/74 cannot write, 75 try again). Where a caller must tell failures apart to choose
 * that status, the function says how (an enum out-parameter or a field, as lb_table's
 * cannot_open), never with an exit code.
 * Exceptions kept for now: lb_atomic_open/commit, lb_mkdirs and lb_parse_* below still
 * print with lb_err (their ~90 call sites span every folder); new code must not add
 * more of them. */
#ifndef LB_UTIL_H
#define LB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

#define LB_VERSION "0.1.0"

/* Program name used as the prefix of every error message. */
extern const char *lb_prog_name;

/* Print "linbench: <message>\n" to stderr: for experiments/cli/ (and the exceptions above). */
void lb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Format a message into msg (when msg != NULL and msglen > 0) and return -1: the one way
 * library functions report an error to a caller that decides how to show it. */
int lb_fail(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Seconds from an arbitrary fixed point, CLOCK_MONOTONIC. */
double lb_now(void);

/* 64-byte aligned allocation; returns NULL on failure (size 0 gives a valid pointer).
 * Free with lb_free. */
void *lb_alloc(size_t bytes);
/* Large buffer: 2 MiB aligned, madvise(MADV_HUGEPAGE), and (touch != 0) every page
 * written once so that later timed code does not pay first-touch page faults. */
void *lb_alloc_big(size_t bytes, int touch);
void lb_free(void *p);

/* Overflow-checked size arithmetic: return 0 and set *out, or return -1 on overflow. */
int lb_mul_size(size_t *out, size_t a, size_t b);
int lb_mul3_size(size_t *out, size_t a, size_t b, size_t c);

/* Peak resident set (VmHWM) of this process in bytes, and a reset of it
 * (writes 5 to /proc/self/clear_refs). lb_peak_rss returns 0 if unreadable. */
size_t lb_peak_rss(void);
size_t lb_cur_rss(void);
void lb_reset_peak_rss(void);

/* The splitmix64 finaliser: a bijective 64-bit mix whose every output bit depends on
 * every input bit. The one integer mixer of linbench (seeds, hash-table slots). */
uint64_t lb_mix64(uint64_t x);
/* Mix three integers into one seed (lb_mix64 per word): the seed of an RNG stream that
 * must depend only on these numbers (seed, step, sequence index), never on timing. */
uint64_t lb_seed_mix(uint64_t a, uint64_t b, uint64_t c);
/* FNV-1a 64 of p[0..n), continuing from h (start with LB_FNV1A_INIT): the one byte hash
 * of linbench (checksums of files and corpora stored in checkpoints, so it must never
 * change). */
#define LB_FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t lb_fnv1a(uint64_t h, const void *p, size_t n);
/* Hash-table key of p[0..n): FNV-1a then lb_mix64, so the low bits used as a slot
 * depend on every byte. Not stored anywhere; may change between versions. */
uint64_t lb_hash_bytes(const void *p, size_t n);

/* Deterministic RNG (xoshiro256**, seeded through splitmix64). Same seed, same stream. */
typedef struct { uint64_t s[4]; } lb_rng;
void lb_rng_seed(lb_rng *r, uint64_t seed);
uint64_t lb_rng_u64(lb_rng *r);
double lb_rng_uniform(lb_rng *r);  /* in [0, 1) */
double lb_rng_normal(lb_rng *r);   /* N(0, 1), Box–Muller */
/* x is (len), filled with scale * N(0,1). */
void lb_rng_fill_normal(lb_rng *r, float *x, size_t len, float scale);

/* Atomic output: write to "<path>.tmp.XXXXXX" in the same folder, then rename.
 * An interrupted or failed run leaves no partial file under the final name. */
typedef struct {
    FILE *f;
    char *path;
    char *tmp;
} lb_atomic;
/* Returns the FILE* (also in a->f) or NULL with an error printed. */
FILE *lb_atomic_open(lb_atomic *a, const char *path);
/* Flush, fsync, close and rename. Returns 0 or -1 (error printed, temp removed). */
int lb_atomic_commit(lb_atomic *a);
/* Close and remove the temp file; the final path is untouched. */
void lb_atomic_abort(lb_atomic *a);

/* Parse a comma-separated list of integers ("512,1024,4096"; "1k" = 1024 allowed)
 * into out[0..max). Each value must lie in [lo, hi]. Returns the count, or -1 with an
 * error that names `what` (the option) and the offending item. */
int lb_parse_list(const char *s, long *out, int max, long lo, long hi, const char *what);
/* One integer / double with range check; -1 with error naming `what` on failure. */
int lb_parse_long(const char *s, long *out, long lo, long hi, const char *what);
int lb_parse_double(const char *s, double *out, double lo, double hi, const char *what);

/* Whole files and folders (files.c). Each returns 0, or -1 with msg naming the path. */
/* FNV-1a 64 (lb_fnv1a) of a file's bytes, continuing from *h; *bytes (may be NULL) gets
 * the file's size. */
int lb_file_fnv(const char *path, uint64_t *h, size_t *bytes, char *msg, size_t msglen);
/* A whole file (at most 1 GiB) into a malloc'd buffer with a NUL after its *len (may
 * be NULL) bytes, for text and JSON; NULL with msg, *cannot_open (may be NULL) set when
 * the file could not be opened (missing or unreadable) rather than read. */
char *lb_read_file(const char *path, size_t *len, int *cannot_open, char *msg, size_t msglen);
/* Copy a file, fsync'd before it is closed. */
int lb_copy_file(const char *from, const char *to, char *msg, size_t msglen);
/* Remove a folder that holds only plain files (a checkpoint, an export); best effort. */
void lb_remove_flat_dir(const char *dir);
/* Put the finished folder tmp in place of dir: an existing dir moves aside first and is
 * removed only after the rename succeeded, so a crash leaves the old or the new folder
 * whole, never half of one. what names the folder in messages ("checkpoint"). */
int lb_replace_dir(const char *tmp, const char *dir, const char *what, char *msg, size_t msglen);

/* Create a directory and its parents (mkdir -p). Returns 0 or -1 with error. */
int lb_mkdirs(const char *path);

#endif
