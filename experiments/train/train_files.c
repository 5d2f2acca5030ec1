/* The BF16 export of the shipped model and the lock of a training folder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_train.h"
#include "lb_train_model.h"
#include "lb_util.h"

static const char *const tokfiles[] = {"vocab.json", "merges.txt"};


int lb_export_model(const char *dir, const lb_model *m, const char *tokdir, lb_weight_dtype dtype, char *msg,
                    size_t msglen) {
    size_t dl = strlen(dir);
    char *tmp = malloc(dl + 32), from[4096], to[4096];
    int rc = -1;
    if (!tmp) {
        lb_fail(msg, msglen, "out of memory");
        goto out;
    }
    snprintf(tmp, dl + 32, "%s.tmp.XXXXXX", dir);
    if (!mkdtemp(tmp)) {
        lb_fail(msg, msglen, "%s: cannot create a temporary folder beside it: %s", dir, strerror(errno));
        free(tmp), tmp = NULL;
        goto out;
    }
    chmod(tmp, 0755); /* mkdtemp makes it 0700; a shipped model is for everyone to read */
    const char *meta[] = {"producer", "linbench train", NULL};
    if (lb_model_save(tmp, m, dtype, meta, msg, msglen)) goto out;
    for (int i = 3; i < 5; i++) {
        snprintf(from, sizeof from, "%s/%s", tokdir, tokfiles[i - 3]);
        snprintf(to, sizeof to, "%s/%s", tmp, tokfiles[i - 3]);
        if (lb_copy_file(from, to, msg, msglen)) goto out;
    }
    if (lb_replace_dir(tmp, dir, "export", msg, msglen)) goto out;
    free(tmp), tmp = NULL;
    rc = 0;
out:
    if (tmp) lb_remove_flat_dir(tmp);
    free(tmp);
    return rc;
}

int lb_train_lock(const char *out, char *msg, size_t msglen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/.train.lock", out);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno)), -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return lb_fail(msg, msglen, "%s: another linbench train is writing to this folder (wait for it, "
                           "or give a different --out)", out), -1;
        return lb_fail(msg, msglen, "%s: cannot lock: %s", path, strerror(e)), -1;
    }
    return fd;
}
