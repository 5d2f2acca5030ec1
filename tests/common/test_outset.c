/* Tests of common/outset.c: a set appears whole or not at all. Each fault (a folder in
 * the way between two renames, a file-size limit, an unwritable folder, SIGINT before
 * and during the renames, SIGTERM) runs over a previous result and asserts that the
 * previous files are intact and that no temporary is left in the folder. Faults that
 * end the process run in a forked child. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lb_outset.h"
#include "lb_test.h"
#include "lb_util.h"

static char dir[] = "/tmp/lboutsetXXXXXX";
static const char *const names[3] = {"a.csv", "b.npy", "c.json"};

static void path_of(char *p, size_t len, int i) { snprintf(p, len, "%s/%s", dir, names[i]); }

static int read_is(const char *path, const char *want) {
    char buf[256] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return got == strlen(want) && !memcmp(buf, want, got);
}

/* Files in dir other than the three names (temporaries, .old links). */
static int litter(void) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int known = 0;
        for (int i = 0; i < 3; i++) known |= !strcmp(e->d_name, names[i]);
        if (!known) printf("  litter: %s\n", e->d_name), n++;
    }
    if (d) closedir(d);
    return n;
}

/* The set of run `tag`: every file holds "<tag> <i>". */
static FILE *streams[3];
static lb_outset *write_set(const char *tag, int count, char *msg, size_t msglen) {
    lb_outset *s = lb_outset_new(msg, msglen);
    char p[128];
    for (int i = 0; s && i < count; i++) {
        path_of(p, sizeof p, i);
        FILE *f = lb_outset_add(s, p, msg, msglen);
        if (!f) {
            lb_outset_abort(s);
            return NULL;
        }
        fprintf(f, "%s %d", tag, i);
        streams[i] = f;
    }
    return s;
}

static int previous_intact(const char *tag, int count) {
    char p[128], want[32];
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        path_of(p, sizeof p, i);
        snprintf(want, sizeof want, "%s %d", tag, i);
        ok &= i < count ? read_is(p, want) : access(p, F_OK) != 0;
    }
    return ok;
}

static void test_commit_and_abort(void) {
    char msg[512];
    lb_outset *s = write_set("first", 2, msg, sizeof msg);
    char p[128];
    path_of(p, sizeof p, 0);
    LB_CHECK(s && access(p, F_OK) != 0, "no final name before the commit");
    LB_CHECK(s && lb_outset_count(s) == 2 && !strcmp(lb_outset_path(s, 0), p), "members");
    const char *t = lb_outset_tmp(s, 0);
    LB_CHECK(t && !strncmp(t, p, strlen(p)) && strstr(t, ".tmp.") && access(t, W_OK) == 0 &&
                 lb_outset_tmp(s, 2) == NULL, "member 0's temporary exists beside it: %s", t ? t : "NULL");
    LB_CHECK(lb_outset_add(s, p, msg, sizeof msg) == NULL && strstr(msg, "twice"),
             "a path named twice is refused: %s", msg);
    LB_CHECK(lb_outset_commit(s, msg, sizeof msg) == 0, "commit: %s", msg);
    LB_CHECK(previous_intact("first", 2) && litter() == 0, "the first set, no litter");
    s = write_set("second", 3, msg, sizeof msg);
    lb_outset_abort(s);
    LB_CHECK(previous_intact("first", 2) && litter() == 0, "abort leaves the first set");
}

static void folder_after_first(lb_outset_moment at, int i) {
    char p[128];
    path_of(p, sizeof p, 2);
    if (at == LB_OUTSET_RENAME && i == 1) mkdir(p, 0755); /* after the first rename: the third one will fail */
}

static void test_rename_fails_midway(void) {
    char msg[512], p[128];
    lb_outset *s = write_set("third", 3, msg, sizeof msg);
    lb_outset_hook = folder_after_first;
    LB_CHECK(s && lb_outset_commit(s, msg, sizeof msg) == -1, "commit into a folder fails");
    lb_outset_hook = NULL;
    LB_CHECK(strstr(msg, names[2]) && strstr(msg, "directory"), "message names it: %s", msg);
    path_of(p, sizeof p, 2);
    rmdir(p);
    LB_CHECK(previous_intact("first", 2) && litter() == 0,
             "renames undone: the previous result is back, no litter");
    s = lb_outset_new(msg, sizeof msg);
    mkdir(p, 0755);
    LB_CHECK(lb_outset_add(s, p, msg, sizeof msg) == NULL && strstr(msg, "folder"),
             "a folder in the way is refused up front: %s", msg);
    rmdir(p);
    lb_outset_abort(s);
}

static void test_unwritable(void) {
    char msg[512];
    lb_outset *s = lb_outset_new(msg, sizeof msg);
    /* /proc takes no new files even for root (chmod would not stop root) */
    LB_CHECK(lb_outset_add(s, "/proc/lb_outset_test.csv", msg, sizeof msg) == NULL &&
                 strstr(msg, "/proc/lb_outset_test.csv") && strstr(msg, "temporary"),
             "unwritable folder: %s", msg);
    lb_outset_abort(s);
}

/* Runs fn in a child; returns its exit status (or -signal). */
static int in_child(void (*fn)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void child_fsize(void) {
    char msg[512], block[1024];
    lb_outset_catch_signals(); /* SIGXFSZ ignored: the limit is a write error */
    struct rlimit rl = {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &rl);
    lb_outset *s = write_set("big", 3, msg, sizeof msg);
    memset(block, 'x', sizeof block);
    for (int i = 0; s && i < 16; i++) fwrite(block, 1, sizeof block, streams[1]);
    int rc = lb_outset_commit(s, msg, sizeof msg);
    printf("  size limit: %s\n", msg);
    _exit(rc == -1 && strstr(msg, names[1]) && strstr(msg, "too large") ? 0 : 1);
}

static void child_sigint_while_writing(void) {
    char msg[512];
    lb_outset_catch_signals();
    lb_outset *s = write_set("int", 3, msg, sizeof msg);
    fflush(NULL); /* bytes on disk in the temporaries */
    if (s) raise(SIGINT);
    _exit(1); /* not reached: the handler exits */
}

static void child_sigterm_open(void) {
    char msg[512];
    lb_outset_catch_signals();
    lb_outset *s = write_set("term", 1, msg, sizeof msg);
    if (s) raise(SIGTERM);
    _exit(1);
}

static void raise_after_first(lb_outset_moment at, int i) {
    if (at == LB_OUTSET_RENAME && i == 1) raise(SIGINT); /* between the first and the second rename */
}

/* The second temporary exists but is not yet registered: the signal must wait for it. */
static void raise_on_second_create(lb_outset_moment at, int i) {
    if (at == LB_OUTSET_CREATED && i == 1) raise(SIGTERM);
}

static void child_sigterm_creating(void) {
    char msg[512];
    lb_outset_catch_signals();
    lb_outset_hook = raise_on_second_create;
    write_set("create", 3, msg, sizeof msg);
    _exit(1); /* not reached: the handler exits once the temporary is registered */
}

static void child_sigint_in_commit(void) {
    char msg[512];
    lb_outset_catch_signals();
    lb_outset *s = write_set("late", 3, msg, sizeof msg);
    lb_outset_hook = raise_after_first;
    if (s) lb_outset_commit(s, msg, sizeof msg);
    _exit(1);
}

static char err_path[] = "/tmp/lb_outset_err_XXXXXX";

/* The set is committed, then the signal comes: nothing to undo, and the message must say
 * the results are written rather than "earlier results untouched". */
static void child_sigint_after_commit(void) {
    char msg[512];
    int fd = open(err_path, O_WRONLY | O_TRUNC);
    if (fd < 0 || dup2(fd, 2) < 0) _exit(2);
    lb_outset_catch_signals();
    lb_outset *s = write_set("after", 2, msg, sizeof msg);
    if (s && lb_outset_commit(s, msg, sizeof msg) == 0) raise(SIGINT);
    _exit(1);
}

static void test_faults(void) {
    int st = in_child(child_fsize);
    LB_CHECK(st == 0, "a file-size limit fails the commit with its reason (child %d)", st);
    LB_CHECK(previous_intact("first", 2) && litter() == 0, "size limit: previous intact, no litter");
    st = in_child(child_sigint_while_writing);
    LB_CHECK(st == LB_EX_INTERRUPTED + SIGINT, "SIGINT while writing: exit %d", st);
    LB_CHECK(previous_intact("first", 2) && litter() == 0, "SIGINT: previous intact, no litter");
    st = in_child(child_sigterm_open);
    LB_CHECK(st == LB_EX_INTERRUPTED + SIGTERM, "SIGTERM: exit %d", st);
    LB_CHECK(previous_intact("first", 2) && litter() == 0, "SIGTERM: previous intact, no litter");
    st = in_child(child_sigterm_creating);
    LB_CHECK(st == LB_EX_INTERRUPTED + SIGTERM, "SIGTERM while a temporary is created: exit %d", st);
    LB_CHECK(previous_intact("first", 2) && litter() == 0,
             "SIGTERM while a temporary is created: previous intact, no litter");
    st = in_child(child_sigint_in_commit);
    LB_CHECK(st == LB_EX_INTERRUPTED + SIGINT, "SIGINT between renames: exit %d", st);
    LB_CHECK(previous_intact("first", 2) && litter() == 0,
             "SIGINT between renames: renames undone, no litter");
    int efd = mkstemp(err_path);
    if (efd >= 0) close(efd);
    st = in_child(child_sigint_after_commit);
    char said[256] = "";
    FILE *ef = fopen(err_path, "r");
    if (ef) said[fread(said, 1, sizeof said - 1, ef)] = 0, fclose(ef);
    unlink(err_path);
    LB_CHECK(st == LB_EX_INTERRUPTED + SIGINT, "SIGINT after the commit: exit %d", st);
    LB_CHECK(previous_intact("after", 2) && litter() == 0, "SIGINT after the commit: the new set in place");
    LB_CHECK(strstr(said, "after its results were written") != NULL, "SIGINT after the commit says so: %s", said);
}

static void test_out_path(void) {
    char *a = lb_out_path(dir, "P.npy"), *b = lb_out_path("x/", "P.npy"),
         *c = lb_out_path("/nonexistent/q.npy", "P.npy"), want[128];
    snprintf(want, sizeof want, "%s/P.npy", dir);
    LB_CHECK(a && !strcmp(a, want), "existing folder: %s", a);
    LB_CHECK(b && !strcmp(b, "x/P.npy"), "trailing slash: %s", b);
    LB_CHECK(c && !strcmp(c, "/nonexistent/q.npy"), "a file name is kept: %s", c);
    free(a), free(b), free(c);
}

int main(void) {
    if (lb_test_tmpdir(dir)) return 1;
    test_commit_and_abort();
    test_rename_fails_midway();
    test_unwritable();
    test_faults();
    test_out_path();
    char p[128];
    for (int i = 0; i < 3; i++) path_of(p, sizeof p, i), unlink(p);
    rmdir(dir);
    return lb_test_summary("test_outset");
}
