/* Two bench processes taking turns: bench-ab's paired mode (see lb_bench.h).
 *
 * Why: this project's machines change speed on a scale of about a second (a run's
 * samples scatter by ~10%, and methods timed at the same moment move together), so two
 * builds timed in separate runs differ by the moments they drew. Run both builds at
 * once, each doing every piece of work only while it holds a token that the two pass
 * back and forth over a pair of FIFOs, and their calls alternate: base call, new call,
 * base call, ... each pair seconds apart at most, never overlapping.
 *
 * Each token carries the turn's number and a hash of what the sender did in it; the
 * receiver checks both against its own turn, so two processes whose work diverged (other
 * grids, a point that fit on one side only) stop at the first difference instead of
 * timing unlike things side by side. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lb_bench.h"
#include "lb_util.h"

/* FNV-1a 64 of s: the turn's tag. */
static uint64_t tag_of(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The token that tells the other side this one has failed. */
#define STOP_TOKEN UINT64_MAX

/* Marks the turns failed with why (which ends in " at turn N") and tells the other side,
 * so that it stops at its next turn instead of waiting out its timeout. */
static int fail(lb_bench_turn *t, const char *why) {
    t->failed = 1;
    snprintf(t->why, sizeof t->why, "%s at turn %lld", why, t->count);
    uint64_t stop[2] = {STOP_TOKEN, 0};
    if (write(t->wfd, stop, sizeof stop) != (ssize_t)sizeof stop) { /* the other side times out */ }
    return -1;
}

int lb_bench_turn_open(lb_bench_turn *t, const char *spec, double timeout_s, char *msg, size_t msglen) {
    memset(t, 0, sizeof *t);
    t->rfd = t->wfd = -1;
    char role[16], in[1024], out[1024];
    if (sscanf(spec, "%15[^:]:%1023[^:]:%1023s", role, in, out) != 3 ||
        (strcmp(role, "first") && strcmp(role, "second")))
        return lb_fail(msg, msglen, "--turn: '%s' is not first|second:IN_FIFO:OUT_FIFO", spec), -1;
    /* O_RDWR: opening a FIFO this way never waits for the other side (Linux), and a
     * write cannot fail with EPIPE when the other side has already finished */
    if ((t->rfd = open(in, O_RDWR)) < 0 || (t->wfd = open(out, O_RDWR)) < 0) {
        lb_fail(msg, msglen, "--turn: cannot open %s: %s", t->rfd < 0 ? in : out, strerror(errno));
        lb_bench_turn_close(t);
        return -1;
    }
    t->first = t->hold = !strcmp(role, "first");
    t->timeout_s = timeout_s;
    t->on = 1;
    return 0;
}

void lb_bench_turn_close(lb_bench_turn *t) {
    if (t->rfd >= 0) close(t->rfd);
    if (t->wfd >= 0) close(t->wfd);
    t->rfd = t->wfd = -1;
    t->on = 0;
}

/* Blocks until the other side's token arrives and checks it against this side's turn. */
int lb_bench_turn_begin(lb_bench_turn *t, const char *what) {
    if (!t || !t->on) return 0;
    if (t->failed) return -1;
    uint64_t mine = tag_of(what);
    if (t->hold) { /* the first side's first turn: nothing to wait for */
        t->hold = 0;
    } else {
        uint64_t tok[2];
        size_t got = 0;
        while (got < sizeof tok) {
            struct pollfd p = {t->rfd, POLLIN, 0};
            int r = poll(&p, 1, (int)(t->timeout_s * 1000));
            if (r == 0) return fail(t, "the other side sent no token within the timeout");
            if (r < 0 && errno == EINTR) continue;
            ssize_t n = r < 0 ? -1 : read(t->rfd, (char *)tok + got, sizeof tok - got);
            if (n <= 0) return fail(t, "reading the token failed");
            got += (size_t)n;
        }
        if (tok[0] == STOP_TOKEN) return fail(t, "the other side failed");
        /* the first side receives the second's previous turn, the second the first's current one */
        uint64_t want_n = t->first ? t->count - 1 : t->count, want_tag = t->first ? t->last : mine;
        if (tok[0] != want_n || tok[1] != want_tag) {
            char why[200];
            snprintf(why, sizeof why, "the two sides' work diverged (this side: %s)", what);
            return fail(t, why);
        }
    }
    t->last = mine;
    return 0;
}

/* Passes the token (this turn's number and tag) to the other side. */
int lb_bench_turn_end(lb_bench_turn *t) {
    if (!t || !t->on) return 0;
    if (t->failed) return -1;
    uint64_t tok[2] = {t->count, t->last};
    if (write(t->wfd, tok, sizeof tok) != (ssize_t)sizeof tok)
        return fail(t, "writing the token failed");
    t->count++;
    return 0;
}
