/* Output sets (lb_outset.h): temporaries beside their final names, renamed together,
 * previous files kept as hard links until every rename succeeded; and the one signal
 * handler that removes the temporaries of every open set.
 *
 * The handler may run in any thread (OpenMP workers included) and can only use
 * async-signal-safe calls, so it never touches a set: it reads a fixed table of
 * registered temporary names. A slot is written while BUSY (ignored by the handler)
 * and published LIVE only when its name is complete.
 *
 * Two moments cannot be cut short: between mkstemp and the slot going LIVE (the file
 * exists but the handler does not know it) and a commit's renames. The signal is
 * recorded first and the handler returns while either runs; the code leaving such a
 * section then exits for it. Recording before looking at the counter means a signal
 * is never lost, whichever thread (an OpenMP worker, say) takes it. */
#include "lb_outset.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_util.h"

#define SLOTS 256
enum { SLOT_FREE, SLOT_BUSY, SLOT_LIVE };
static struct {
    atomic_int state;
    char *tmp; /* kept after the slot is freed, replaced on reuse: never freed under the handler */
} reg[SLOTS];
void (*lb_outset_hook)(lb_outset_moment at, int i);

static atomic_int in_critical; /* > 0 while a temporary is created or a commit renames */
static atomic_int pending_sig; /* the last SIGINT/SIGTERM, 0 = none */
static atomic_int committed;   /* 1 once a commit has put a whole set in place */

typedef struct {
    char *path, *tmp, *old; /* final name, temporary, the previous file's link ("<tmp>.old") */
    FILE *f;
    int slot, had_old, renamed;
} member;

struct lb_outset {
    member *m;
    int n, cap;
};

static int reg_add(const char *tmp) {
    for (int i = 0; i < SLOTS; i++) {
        int expect = SLOT_FREE;
        if (!atomic_compare_exchange_strong(&reg[i].state, &expect, SLOT_BUSY)) continue;
        free(reg[i].tmp);
        if (!(reg[i].tmp = strdup(tmp))) {
            atomic_store(&reg[i].state, SLOT_FREE);
            return -1;
        }
        atomic_store(&reg[i].state, SLOT_LIVE);
        return i;
    }
    return -1;
}

static void reg_drop(int slot) {
    if (slot >= 0) atomic_store(&reg[slot].state, SLOT_FREE);
}

/* Async-signal-safe: unlink every registered temporary, say so, exit. A signal that
 * comes after a commit succeeded, with no set open, finds the new results complete and
 * says that instead (exit status still 128 + signal: the run was stopped). */
static void die_interrupted(int sig) {
    static const char m[] = ": interrupted; temporary files removed, earlier results untouched\n",
                      done[] = ": interrupted after its results were written (they are complete)\n";
    int live = 0;
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&reg[i].state) == SLOT_LIVE) unlink(reg[i].tmp), live++;
    const char *say = !live && atomic_load(&committed) ? done : m;
    if (write(2, lb_prog_name, strlen(lb_prog_name)) < 0 || write(2, say, strlen(say)) < 0) {
        /* nothing more can be done about a closed stderr */
    }
    _exit(LB_EX_INTERRUPTED + sig);
}

static void on_signal(int sig) {
    atomic_store(&pending_sig, sig);
    if (atomic_load(&in_critical) > 0) return; /* the section's end exits for it */
    die_interrupted(sig);
}

static void enter_critical(void) { atomic_fetch_add(&in_critical, 1); }

/* Leave; a signal that came meanwhile ends the process now (temporaries removed). */
static void leave_critical(void) {
    atomic_fetch_sub(&in_critical, 1);
    int sig = atomic_load(&pending_sig);
    if (sig && atomic_load(&in_critical) == 0) die_interrupted(sig);
}

void lb_outset_catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN);
}

lb_outset *lb_outset_new(char *msg, size_t msglen) {
    lb_outset *s = calloc(1, sizeof *s);
    if (!s) lb_fail(msg, msglen, "out of memory");
    return s;
}

int lb_outset_count(const lb_outset *s) { return s ? s->n : 0; }

const char *lb_outset_path(const lb_outset *s, int i) {
    return s && i >= 0 && i < s->n ? s->m[i].path : NULL;
}

const char *lb_outset_tmp(const lb_outset *s, int i) {
    return s && i >= 0 && i < s->n ? s->m[i].tmp : NULL;
}

FILE *lb_outset_stream(const lb_outset *s, int i) {
    return s && i >= 0 && i < s->n ? s->m[i].f : NULL;
}

static void member_free(member *m) {
    reg_drop(m->slot);
    free(m->path), free(m->tmp), free(m->old);
    memset(m, 0, sizeof *m);
    m->slot = -1;
}

/* Checks that fail before any work: a duplicate, a folder in the way. */
static int check_new(const lb_outset *s, const char *path, char *msg, size_t msglen) {
    struct stat st;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->m[i].path, path))
            return lb_fail(msg, msglen, "%s: named twice among the outputs of one run", path);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return lb_fail(msg, msglen, "%s: cannot write the result there: a folder has that name",
                       path);
    return 0;
}

FILE *lb_outset_add(lb_outset *s, const char *path, char *msg, size_t msglen) {
    if (check_new(s, path, msg, msglen)) return NULL;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        member *nm = realloc(s->m, (size_t)cap * sizeof *nm);
        if (!nm) return lb_fail(msg, msglen, "%s: out of memory", path), NULL;
        s->m = nm, s->cap = cap;
    }
    member *m = &s->m[s->n];
    memset(m, 0, sizeof *m);
    m->slot = -1;
    size_t len = strlen(path);
    m->path = strdup(path);
    m->tmp = malloc(len + 16);
    m->old = malloc(len + 20);
    if (!m->path || !m->tmp || !m->old) {
        member_free(m);
        return lb_fail(msg, msglen, "%s: out of memory", path), NULL;
    }
    snprintf(m->tmp, len + 16, "%s.tmp.XXXXXX", path);
    enter_critical();
    int fd = mkstemp(m->tmp);
    int e = errno;
    if (fd >= 0) {
        if (lb_outset_hook) lb_outset_hook(LB_OUTSET_CREATED, s->n);
        m->slot = reg_add(m->tmp);
    }
    if (fd < 0 || m->slot < 0) {
        if (fd >= 0) close(fd), unlink(m->tmp);
        leave_critical();
        if (fd < 0)
            lb_fail(msg, msglen, "%s: cannot create a temporary file beside it: %s%s", path,
                    strerror(e), e == ENOENT ? " (the folder does not exist)" : "");
        else
            lb_fail(msg, msglen, "%s: more than 256 output files open at once", path);
        member_free(m);
        return NULL;
    }
    leave_critical();
    snprintf(m->old, len + 20, "%s.old", m->tmp);
    (void)fchmod(fd, 0644); /* mkstemp makes 0600; results are for everyone to read */
    if (!(m->f = fdopen(fd, "w"))) {
        lb_fail(msg, msglen, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(m->tmp);
        member_free(m);
        return NULL;
    }
    s->n++;
    return m->f;
}

void lb_outset_abort(lb_outset *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        member *m = &s->m[i];
        if (m->f) fclose(m->f);
        unlink(m->tmp);
        member_free(m);
    }
    free(s->m);
    free(s);
}

/* Flush, fsync and close every member: a full disk or a size limit shows here. */
static int finish_all(lb_outset *s, char *msg, size_t msglen) {
    int rc = 0;
    for (int i = 0; i < s->n; i++) {
        member *m = &s->m[i];
        errno = 0;
        int bad = fflush(m->f) != 0 || ferror(m->f) || fsync(fileno(m->f)) != 0;
        int e = errno;
        if (fclose(m->f) != 0 && !bad) bad = 1, e = errno;
        m->f = NULL;
        if (bad && rc == 0)
            rc = lb_fail(msg, msglen, "%s: write failed: %s", m->path,
                         e ? strerror(e) : "I/O error");
    }
    return rc;
}

/* Keep each previous file under <tmp>.old so a failed rename can put it back. */
static int keep_old(lb_outset *s, char *msg, size_t msglen) {
    struct stat st;
    for (int i = 0; i < s->n; i++) {
        member *m = &s->m[i];
        /* a folder that appeared since lb_outset_add: its rename fails and is undone */
        if (lstat(m->path, &st) != 0 || S_ISDIR(st.st_mode)) continue;
        if (link(m->path, m->old) != 0)
            return lb_fail(msg, msglen, "%s: cannot keep the previous file while replacing it: %s",
                           m->path, strerror(errno));
        m->had_old = 1;
    }
    return 0;
}

static int rename_all(lb_outset *s, char *msg, size_t msglen) {
    for (int i = 0; i < s->n; i++) {
        member *m = &s->m[i];
        if (lb_outset_hook) lb_outset_hook(LB_OUTSET_RENAME, i);
        if (rename(m->tmp, m->path) != 0)
            return lb_fail(msg, msglen, "%s: cannot rename %s into place: %s", m->path, m->tmp,
                           strerror(errno));
        m->renamed = 1;
    }
    return 0;
}

/* Undo the renames done so far: previous files back, new ones gone. */
static void restore(lb_outset *s) {
    for (int i = 0; i < s->n; i++) {
        member *m = &s->m[i];
        if (!m->renamed) continue;
        if (m->had_old ? rename(m->old, m->path) == 0 : unlink(m->path) == 0) m->had_old = 0;
        m->renamed = 0;
    }
}

/* The renames are durable once their folders are synced. */
static void sync_dirs(const lb_outset *s) {
    for (int i = 0; i < s->n; i++) {
        char *dir = strdup(s->m[i].path);
        if (!dir) continue;
        char *slash = strrchr(dir, '/');
        if (slash) *(slash == dir ? slash + 1 : slash) = 0;
        int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
        if (fd >= 0) fsync(fd), close(fd);
        free(dir);
    }
}

int lb_outset_commit(lb_outset *s, char *msg, size_t msglen) {
    if (!s) return lb_fail(msg, msglen, "no output set");
    enter_critical();
    int rc = finish_all(s, msg, msglen);
    if (rc == 0) rc = keep_old(s, msg, msglen);
    if (rc == 0) rc = rename_all(s, msg, msglen);
    if (rc == 0 && atomic_load(&pending_sig)) rc = lb_fail(msg, msglen, "interrupted");
    if (rc) restore(s);
    sync_dirs(s);
    if (rc == 0) atomic_store(&committed, 1);
    for (int i = 0; i < s->n; i++) {
        member *m = &s->m[i];
        if (!m->renamed) unlink(m->tmp);
        if (m->had_old) unlink(m->old);
        member_free(m);
    }
    free(s->m);
    free(s);
    leave_critical();
    return rc;
}

char *lb_out_path(const char *out, const char *name) {
    struct stat st;
    size_t ol = strlen(out);
    int dir = ol > 0 && (out[ol - 1] == '/' || (stat(out, &st) == 0 && S_ISDIR(st.st_mode)));
    if (!dir) return strdup(out);
    size_t len = ol + strlen(name) + 2;
    char *p = malloc(len);
    if (p) snprintf(p, len, "%s%s%s", out, out[ol - 1] == '/' ? "" : "/", name);
    return p;
}
