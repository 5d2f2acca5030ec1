/* lb_table: CSV files read whole and split in place. Our writers never quote fields,
 * so a quote is treated as malformed rather than half-parsed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_table.h"
#include "lb_util.h"

#define MAX_BYTES ((size_t)1 << 31)

static int slurp(const char *path, char **out, size_t *len, int *cannot_open, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *cannot_open = 1;
        return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        if (cap >= MAX_BYTES) {
            free(b), fclose(f);
            return lb_fail(msg, msglen, "%s: larger than %zu bytes; not a result file", path, MAX_BYTES);
        }
        char *nb = realloc(b, cap *= 2);
        if (!nb) free(b);
        b = nb;
    }
    int rerr = ferror(f);
    fclose(f);
    if (!b) return lb_fail(msg, msglen, "%s: out of memory", path);
    if (rerr) {
        free(b);
        return lb_fail(msg, msglen, "%s: read error", path);
    }
    b[n] = 0;
    if (memchr(b, 0, n)) {
        free(b);
        return lb_fail(msg, msglen, "%s: contains a NUL byte; not a CSV file", path);
    }
    *out = b, *len = n;
    return 0;
}

/* Split line (NUL-terminated, modified) on commas into fields; returns the count. */
static int split(char *line, char **fields, int max) {
    int n = 0;
    for (char *p = line;;) {
        if (n < max) fields[n] = p;
        n++;
        char *c = strchr(p, ',');
        if (!c) break;
        *c = 0, p = c + 1;
    }
    return n;
}

int lb_table_read(lb_table *t, const char *path, char *msg, size_t msglen) {
    memset(t, 0, sizeof *t);
    size_t len = 0;
    int cannot_open = 0;
    if (slurp(path, &t->text, &len, &cannot_open, msg, msglen)) {
        t->cannot_open = cannot_open;
        return -1;
    }
    if (!(t->path = strdup(path))) goto oom;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += t->text[i] == '\n';
    size_t lineno = 0, cap_cells = 0;
    for (char *line = t->text, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        next = nl ? nl + 1 : NULL;
        lineno++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = 0;
        if (line[0] == '#' || l == 0) continue;
        if (strchr(line, '"')) {
            lb_fail(msg, msglen, "%s: quoted field near line %zu; linbench result files have none", path,
                    lineno);
            goto fail;
        }
        int nf = 1;
        for (const char *p = line; *p; p++) nf += *p == ',';
        if (!t->head) {
            t->ncol = nf;
            if (!(t->head = calloc((size_t)nf, sizeof *t->head))) goto oom;
            split(line, t->head, nf);
            cap_cells = lines * (size_t)nf;
            if (!(t->cell = calloc(cap_cells ? cap_cells : 1, sizeof *t->cell))) goto oom;
            continue;
        }
        if (nf != t->ncol) {
            lb_fail(msg, msglen, "%s: line %zu has %d fields, the header has %d", path, lineno, nf, t->ncol);
            goto fail;
        }
        split(line, t->cell + t->nrow * (size_t)t->ncol, nf);
        t->nrow++;
    }
    if (!t->head) {
        lb_fail(msg, msglen, "%s: no header line (empty or only comments)", path);
        goto fail;
    }
    return 0;
oom:
    lb_fail(msg, msglen, "%s: out of memory", path);
fail:
    lb_table_free(t);
    return -1;
}

void lb_table_free(lb_table *t) {
    free(t->path), free(t->head), free(t->cell), free(t->text);
    memset(t, 0, sizeof *t);
}

int lb_table_col(const lb_table *t, const char *name, char *msg, size_t msglen) {
    for (int i = 0; i < t->ncol; i++)
        if (!strcmp(t->head[i], name)) return i;
    return lb_fail(msg, msglen, "%s: no column '%s' in the header", t->path, name);
}

int lb_table_cols(const lb_table *t, int *out, const char *const *names, int count, char *msg, size_t msglen) {
    for (int i = 0; i < count; i++)
        if ((out[i] = lb_table_col(t, names[i], msg, msglen)) < 0) return -1;
    return 0;
}

const char *lb_table_str(const lb_table *t, size_t row, int col) {
    if (row >= t->nrow || col < 0 || col >= t->ncol) return "";
    return t->cell[row * (size_t)t->ncol + (size_t)col];
}

double lb_table_num(const lb_table *t, size_t row, int col) {
    const char *s = lb_table_str(t, row, col);
    char *end;
    if (!*s) return NAN;
    double v = strtod(s, &end);
    return *end ? NAN : v;
}

/* The sysexits-returning forms for the report's and bench's readers, whose own
 * contract is a sysexits code with the error printed (lb_table.h). */
int lb_table_read_ex(lb_table *t, const char *path) {
    char msg[1024];
    if (!lb_table_read(t, path, msg, sizeof msg)) return 0;
    lb_err("%s", msg);
    return t->cannot_open ? EX_NOINPUT : EX_DATAERR;
}

int lb_table_cols_ex(const lb_table *t, int *out, const char *const *names, int count) {
    char msg[1024];
    if (!lb_table_cols(t, out, names, count, msg, sizeof msg)) return 0;
    lb_err("%s", msg);
    return EX_DATAERR;
}

int lb_table_col_ex(const lb_table *t, const char *name) {
    char msg[1024];
    int c = lb_table_col(t, name, msg, sizeof msg);
    if (c < 0) lb_err("%s", msg);
    return c;
}
