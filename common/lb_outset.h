/* lb_outset: the files of one run as a set that appears whole or not at all.
 *
 * Every member is written to a temporary "<path>.tmp.XXXXXX" in its destination
 * folder (so the final rename never crosses a file system). lb_outset_commit first
 * completes every member (flush, fsync, close: a full disk or a file-size limit is
 * found here, before any final name changes), then keeps each previous file under
 * a hard link "<tmp>.old", renames the members into place and fsyncs the folders;
 * when a rename fails it puts the previous files back and removes the new ones, so
 * either every member has its new content or every final name is as it was.
 * lb_outset_abort removes the temporaries and leaves the final names untouched.
 *
 * Interrupts: lb_outset_catch_signals installs one handler for SIGINT and SIGTERM
 * that removes the temporaries of every open set of the process and exits with
 * LB_EX_INTERRUPTED + the signal number (130 for SIGINT, 143 for SIGTERM; the
 * sysexits codes stop at 78, so the code says "interrupted" and nothing else). A
 * signal that arrives during a commit's renames is held until they are done; the
 * commit then puts the previous files back before exiting, so an interrupted run
 * never leaves new results. It also ignores SIGXFSZ, so a file-size limit (ulimit -f)
 * is an ordinary write error (EFBIG) instead of a crash that leaves temporaries.
 * kill -9 cannot be caught: then temporaries may remain, final names never hold a
 * partial file.
 *
 * Errors follow the library convention: 0 or -1 with the reason (file name and the
 * system's message) in msg.
 */
#ifndef LB_OUTSET_H
#define LB_OUTSET_H

#include <stddef.h>
#include <stdio.h>

#define LB_EX_INTERRUPTED 128 /* exit code base: 128 + signal number */

typedef struct lb_outset lb_outset;

/* An empty set; NULL (and msg) only when out of memory. */
lb_outset *lb_outset_new(char *msg, size_t msglen);
/* Add the file `path`: creates its temporary and returns the stream to write to (owned
 * by the set: do not fclose it). Refuses a path listed twice, a destination that is a
 * folder, and a folder that cannot take files, before any work is done. NULL with
 * msg on failure (the set stays usable; abort it to clean up). */
FILE *lb_outset_add(lb_outset *s, const char *path, char *msg, size_t msglen);
/* The final path of member i (in the order added), or NULL. */
const char *lb_outset_path(const lb_outset *s, int i);
int lb_outset_count(const lb_outset *s);
/* The temporary of member i, or NULL: for writers outside this process (MPI ranks on
 * a shared file system, lb_mpi.h) that open it by name and write at offsets. */
const char *lb_outset_tmp(const lb_outset *s, int i);
/* The stream of member i, or NULL. */
FILE *lb_outset_stream(const lb_outset *s, int i);
/* Complete and rename every member (see above). Frees the set, success or not. */
int lb_outset_commit(lb_outset *s, char *msg, size_t msglen);
/* Remove every temporary; the final names are untouched. Frees the set; NULL is a no-op. */
void lb_outset_abort(lb_outset *s);

/* SIGINT/SIGTERM remove the temporaries of every open set and exit 128 + signal;
 * SIGXFSZ is ignored. Safe to call more than once. */
void lb_outset_catch_signals(void);

/* For tests only: called at two moments that must not be cut short, to raise a signal
 * or put a folder in the way there. NULL in normal use.
 *   LB_OUTSET_CREATED  member i's temporary exists, the signal handler not yet told
 *   LB_OUTSET_RENAME   during a commit, before member i is renamed into place */
typedef enum { LB_OUTSET_CREATED, LB_OUTSET_RENAME } lb_outset_moment;
extern void (*lb_outset_hook)(lb_outset_moment at, int i);

/* The path a result named by --out takes: when `out` names an existing folder or ends
 * in '/', "<out>/<name>" (one '/' between), else a copy of `out`. Returns a malloc'd
 * string, NULL when out of memory. */
char *lb_out_path(const char *out, const char *name);

#endif
