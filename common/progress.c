#include "lb_progress.h"
#include "lb_util.h"

#include <stdio.h>
#include <unistd.h>

void lb_progress_init(lb_progress *p, const char *label, double total, int enabled) {
    p->label = label;
    p->total = total > 0 ? total : 1;
    p->done = 0;
    p->t0 = p->last = lb_now();
    p->enabled = enabled && isatty(2);
}

static void fmt_time(char *buf, size_t len, double s) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else
        snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
}

void lb_progress_add(lb_progress *p, double work) {
    p->done += work;
    if (!p->enabled) return;
    double now = lb_now();
    if (now - p->last < 0.1 && p->done < p->total) return;
    p->last = now;
    double frac = p->done / p->total;
    if (frac > 1) frac = 1;
    double el = now - p->t0;
    char e[32], l[32];
    fmt_time(e, sizeof e, el);
    if (frac > 0)
        fmt_time(l, sizeof l, el * (1 - frac) / frac);
    else
        snprintf(l, sizeof l, "?");
    int w = 30, filled = (int)(frac * w);
    char bar[31];
    for (int i = 0; i < w; i++) bar[i] = i < filled ? '#' : '.';
    bar[w] = 0;
    fprintf(stderr, "\r%s [%s] %5.1f%%  elapsed %s  left %s ", p->label, bar, 100 * frac, e, l);
    fflush(stderr);
}

void lb_progress_done(lb_progress *p) {
    if (!p->enabled) return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
}
