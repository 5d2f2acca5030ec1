/* Whole files and folders: checksums, copies, and putting a finished folder in place
 * of an old one so that a crash leaves one of the two whole. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_util.h"

int lb_file_fnv(const char *path, uint64_t *h, size_t *bytes, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
    unsigned char buf[1 << 16];
    size_t got, total = 0;
    uint64_t x = *h;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        x = lb_fnv1a(x, buf, got);
        total += got;
    }
    int err = ferror(f);
    fclose(f);
    if (err) return lb_fail(msg, msglen, "%s: read error", path);
    *h = x;
    if (bytes) *bytes = total;
    return 0;
}

char *lb_read_file(const char *path, size_t *len, int *cannot_open, char *msg, size_t msglen) {
    if (cannot_open) *cannot_open = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (cannot_open) *cannot_open = 1;
        return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno)), NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    int err = 0;
    do {
        if (n + 65536 > cap) {
            if (cap >= ((size_t)1 << 30)) {
                err = 2;
                break;
            }
            size_t nc = 2 * cap + 65536;
            char *nb = realloc(buf, nc);
            if (!nb) {
                err = 3;
                break;
            }
            buf = nb, cap = nc;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    if (!err && ferror(f)) err = 1;
    fclose(f);
    if (err) {
        free(buf);
        return lb_fail(msg, msglen, "%s: %s", path, err == 1 ? "read error" : err == 2 ? "larger than 1 GiB"
                                                                          : "out of memory"), NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int lb_copy_file(const char *from, const char *to, char *msg, size_t msglen) {
    FILE *a = fopen(from, "rb");
    if (!a) return lb_fail(msg, msglen, "%s: cannot open: %s", from, strerror(errno));
    FILE *b = fopen(to, "wb");
    if (!b) {
        fclose(a);
        return lb_fail(msg, msglen, "%s: cannot create: %s", to, strerror(errno));
    }
    char buf[1 << 16];
    size_t got;
    int bad = 0;
    while ((got = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, got, b) != got) bad = 1;
    bad |= ferror(a);
    fclose(a);
    if (fflush(b) || fsync(fileno(b))) bad = 1;
    if (fclose(b)) bad = 1;
    return bad ? lb_fail(msg, msglen, "%s: copy from %s failed", to, from) : 0;
}

void lb_remove_flat_dir(const char *dir) {
    /* first renamed out of its name, so a kill -9 while its files go never leaves a half
     * checkpoint under a checkpoint's name (tests/experiments/train/test_train_kill.sh) */
    char gone[4096];
    if (snprintf(gone, sizeof gone, "%s.removing.%ld", dir, (long)getpid()) < (int)sizeof gone &&
        rename(dir, gone) == 0)
        dir = gone;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4096 + 260];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

int lb_replace_dir(const char *tmp, const char *dir, const char *what, char *msg, size_t msglen) {
    char old[4096];
    struct stat sb;
    int had_old = stat(dir, &sb) == 0;
    if (snprintf(old, sizeof old, "%s.old.%ld", dir, (long)getpid()) >= (int)sizeof old)
        return lb_fail(msg, msglen, "%s: path too long", dir);
    if (had_old && rename(dir, old))
        return lb_fail(msg, msglen, "%s: cannot move the previous %s aside: %s", dir, what,
                       strerror(errno));
    if (rename(tmp, dir)) {
        lb_fail(msg, msglen, "%s: cannot rename %s into place: %s", dir, tmp, strerror(errno));
        if (had_old) rename(old, dir);
        return -1;
    }
    if (had_old) lb_remove_flat_dir(old);
    return 0;
}
