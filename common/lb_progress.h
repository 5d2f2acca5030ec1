/* lb_progress: a one-line progress bar with elapsed time and time left on stderr,
 * drawn only when stderr is a terminal (logs and CI stay clean). */
#ifndef LB_PROGRESS_H
#define LB_PROGRESS_H

typedef struct {
    const char *label;
    double total;     /* units of work (any scale: points, flops, sequences) */
    double done;
    double t0, last;  /* lb_now() at start and at last draw */
    int enabled;      /* isatty(2) and not disabled by the caller */
} lb_progress;

void lb_progress_init(lb_progress *p, const char *label, double total, int enabled);
/* Add `work` units done; redraws at most ~10 times a second. */
void lb_progress_add(lb_progress *p, double work);
/* Clear the line. */
void lb_progress_done(lb_progress *p);

#endif
