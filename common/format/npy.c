/* NumPy .npy reader and writers (P matrices and spectra). The header dict is parsed with a
 * small hand-written scanner for exactly the Python literal forms numpy writes:
 * string keys in either quote, a descr string, True/False, and a tuple of ints. */
#include "lb_npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lb_util.h"


static size_t esize(lb_npy_dtype t) { return (t == LB_NPY_F32 || t == LB_NPY_I32) ? 4 : 8; }

static const char *descr_of(lb_npy_dtype t) {
    switch (t) {
    case LB_NPY_F32: return "<f4";
    case LB_NPY_F64: return "<f8";
    case LB_NPY_I32: return "<i4";
    default: return "<i8";
    }
}

typedef struct {
    const char *s, *end;
} scan;

static void ws(scan *c) {
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
        c->s++;
}
static int eat(scan *c, char ch) {
    ws(c);
    if (c->s < c->end && *c->s == ch) {
        c->s++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes into buf; 0 or -1. */
static int str(scan *c, char *buf, size_t len) {
    ws(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) return -1;
    char q = *c->s++;
    size_t n = 0;
    while (c->s < c->end && *c->s != q) {
        if (*c->s == '\\' || n + 1 >= len) return -1;
        buf[n++] = *c->s++;
    }
    if (c->s >= c->end) return -1;
    c->s++;
    buf[n] = 0;
    return 0;
}

static int word(scan *c, const char *w) {
    size_t n = strlen(w);
    ws(c);
    if ((size_t)(c->end - c->s) >= n && memcmp(c->s, w, n) == 0) {
        c->s += n;
        return 1;
    }
    return 0;
}

static int shape_tuple(scan *c, lb_npy *o) {
    if (!eat(c, '(')) return -1;
    o->ndim = 0;
    int need_comma = 0; /* "(5)" is an int in Python, not a tuple */
    for (;;) {
        ws(c);
        if (eat(c, ')')) break;
        if (c->s >= c->end || *c->s < '0' || *c->s > '9') return -1;
        int64_t v = 0;
        while (c->s < c->end && *c->s >= '0' && *c->s <= '9') {
            if (v > (INT64_C(1) << 58)) return -1;
            v = v * 10 + (*c->s++ - '0');
        }
        if (c->s < c->end && *c->s == 'L') c->s++; /* Python 2 long */
        if (o->ndim == LB_NPY_MAX_DIMS) return -1;
        o->shape[o->ndim++] = v;
        need_comma = o->ndim == 1;
        if (eat(c, ',')) {
            need_comma = 0;
            continue;
        }
        if (!eat(c, ')')) return -1;
        break;
    }
    return need_comma ? -1 : 0;
}

static int parse_descr(const char *d, lb_npy_dtype *t) {
    /* '<' little-endian; '=' native (little-endian here) and '|' are unambiguous for
     * a little-endian reader; '>' would need swapping and is refused. */
    if (d[0] != '<' && d[0] != '=' && d[0] != '|') return -1;
    if (strcmp(d + 1, "f4") == 0) *t = LB_NPY_F32;
    else if (strcmp(d + 1, "f8") == 0) *t = LB_NPY_F64;
    else if (strcmp(d + 1, "i4") == 0) *t = LB_NPY_I32;
    else if (strcmp(d + 1, "i8") == 0) *t = LB_NPY_I64;
    else return -1;
    return 0;
}

/* Parse the preamble and dict of buf[0..len). On success *data_off is where the data
 * begins and o's dtype/ndim/shape/count are set. */
static int parse_header(lb_npy *o, const unsigned char *buf, size_t len, const char *name,
                        size_t *data_off, char *msg, size_t msglen) {
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return lb_fail(msg, msglen, "%s: magic: not a .npy file", name);
    int major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return lb_fail(msg, msglen, "%s: version: %d.%d not supported (1.0, 2.0, 3.0)", name, major, minor);
    size_t pre = major == 1 ? 10 : 12, hl;
    if (len < pre) return lb_fail(msg, msglen, "%s: header: truncated", name);
    if (major == 1) hl = (size_t)buf[8] | ((size_t)buf[9] << 8);
    else hl = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
    if (hl > len - pre)
        return lb_fail(msg, msglen, "%s: header: length %zu runs past the end of the file", name, hl);
    *data_off = pre + hl;
    scan c = {(const char *)buf + pre, (const char *)buf + pre + hl};
    int seen_d = 0, seen_f = 0, seen_s = 0;
    char key[32], val[32];
    if (!eat(&c, '{')) return lb_fail(msg, msglen, "%s: header: not a dict", name);
    for (;;) {
        if (eat(&c, '}')) break;
        if (str(&c, key, sizeof key) || !eat(&c, ':'))
            return lb_fail(msg, msglen, "%s: header: malformed dict", name);
        if (strcmp(key, "descr") == 0) {
            if (seen_d++) return lb_fail(msg, msglen, "%s: header: descr given twice", name);
            if (str(&c, val, sizeof val) || parse_descr(val, &o->dtype))
                return lb_fail(msg, msglen, "%s: descr: want '<f4', '<f8', '<i4' or '<i8'", name);
        } else if (strcmp(key, "fortran_order") == 0) {
            if (seen_f++) return lb_fail(msg, msglen, "%s: header: fortran_order given twice", name);
            if (word(&c, "True"))
                return lb_fail(msg, msglen, "%s: fortran_order: True not supported (C order only)", name);
            if (!word(&c, "False")) return lb_fail(msg, msglen, "%s: fortran_order: want False", name);
        } else if (strcmp(key, "shape") == 0) {
            if (seen_s++) return lb_fail(msg, msglen, "%s: header: shape given twice", name);
            if (shape_tuple(&c, o))
                return lb_fail(msg, msglen, "%s: shape: want a tuple of at most %d non-negative ints",
                            name, LB_NPY_MAX_DIMS);
        } else {
            return lb_fail(msg, msglen, "%s: header: unexpected key '%s'", name, key);
        }
        if (eat(&c, ',')) continue;
        if (eat(&c, '}')) break;
        return lb_fail(msg, msglen, "%s: header: malformed dict", name);
    }
    ws(&c);
    if (c.s != c.end) return lb_fail(msg, msglen, "%s: header: trailing bytes after the dict", name);
    if (!seen_d || !seen_f || !seen_s)
        return lb_fail(msg, msglen, "%s: header: missing %s", name,
                    !seen_d ? "descr" : !seen_f ? "fortran_order" : "shape");
    size_t count = 1;
    for (int i = 0; i < o->ndim; i++)
        if (lb_mul_size(&count, count, (size_t)o->shape[i]))
            return lb_fail(msg, msglen, "%s: shape: element count overflows", name);
    size_t bytes;
    if (lb_mul_size(&bytes, count, esize(o->dtype)))
        return lb_fail(msg, msglen, "%s: shape: byte size overflows", name);
    o->count = count;
    return 0;
}

static int check_size(size_t have, size_t want, const char *name, char *msg, size_t msglen) {
    if (have != want)
        return lb_fail(msg, msglen, "%s: data: %zu bytes, shape needs %zu (%s)", name, have, want,
                    have < want ? "truncated" : "trailing bytes");
    return 0;
}

int lb_npy_parse(lb_npy *out, const unsigned char *buf, size_t len, const char *name, char *msg,
                 size_t msglen) {
    lb_npy o;
    size_t off;
    memset(out, 0, sizeof *out);
    memset(&o, 0, sizeof o);
    if (!name) name = "(memory)";
    if (parse_header(&o, buf, len, name, &off, msg, msglen)) return -1;
    size_t bytes = o.count * esize(o.dtype);
    if (check_size(len - off, bytes, name, msg, msglen)) return -1;
    o.data = lb_alloc(bytes);
    if (!o.data) return lb_fail(msg, msglen, "%s: out of memory for %zu bytes", name, bytes);
    memcpy(o.data, buf + off, bytes);
    *out = o;
    return 0;
}

int lb_npy_read(lb_npy *out, const char *path, char *msg, size_t msglen) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return lb_fail(msg, msglen, "%s: not a regular file", path);
    }
    size_t flen = (size_t)sb.st_size;
    unsigned char pre[12];
    size_t got = fread(pre, 1, sizeof pre, f);
    int rc = -1;
    unsigned char *hdr = NULL;
    lb_npy o;
    memset(&o, 0, sizeof o);
    size_t off, hl = 0;
    if (got >= 10 && memcmp(pre, "\x93NUMPY", 6) == 0) {
        hl = pre[6] == 1 ? 10 + ((size_t)pre[8] | ((size_t)pre[9] << 8))
                         : 12 + ((size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) |
                                 ((size_t)pre[11] << 24));
    }
    if (hl > flen) hl = flen; /* parse_header reports the truncation */
    if (hl < got) hl = got;
    hdr = malloc(hl ? hl : 1);
    if (!hdr) {
        lb_fail(msg, msglen, "%s: out of memory", path);
        goto out;
    }
    memcpy(hdr, pre, got);
    if (hl > got && fread(hdr + got, 1, hl - got, f) != hl - got) {
        lb_fail(msg, msglen, "%s: header: read failed", path);
        goto out;
    }
    if (parse_header(&o, hdr, hl, path, &off, msg, msglen)) goto out;
    size_t bytes = o.count * esize(o.dtype);
    if (check_size(flen - off, bytes, path, msg, msglen)) goto out;
    o.data = lb_alloc(bytes);
    if (!o.data) {
        lb_fail(msg, msglen, "%s: out of memory for %zu bytes", path, bytes);
        goto out;
    }
    if (fseek(f, (long)off, SEEK_SET) || fread(o.data, 1, bytes, f) != bytes) {
        lb_fail(msg, msglen, "%s: data: read failed", path);
        lb_free(o.data);
        goto out;
    }
    *out = o;
    rc = 0;
out:
    free(hdr);
    fclose(f);
    return rc;
}

void lb_npy_free(lb_npy *a) {
    if (!a) return;
    lb_free(a->data);
    a->data = NULL;
}

/* v1.0 header for (dtype, shape), padded with spaces and '\n' so the data starts at a
 * multiple of 64. Returns its length, or 0 when the arguments are bad. */
static size_t make_header(char *buf, size_t len, lb_npy_dtype t, int ndim, const int64_t *shape,
                          size_t *count) {
    if (ndim < 0 || ndim > LB_NPY_MAX_DIMS || (ndim && !shape)) return 0;
    char sh[LB_NPY_MAX_DIMS * 24 + 8] = "";
    size_t at = 0;
    *count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || lb_mul_size(count, *count, (size_t)shape[i])) return 0;
        at += (size_t)snprintf(sh + at, sizeof sh - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    if (ndim == 1) at += (size_t)snprintf(sh + at, sizeof sh - at, ",");
    size_t bytes;
    if (lb_mul_size(&bytes, *count, esize(t))) return 0;
    int n = snprintf(buf + 10, len - 10, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     descr_of(t), sh);
    size_t total = 10 + (size_t)n + 1;
    total = (total + 63) / 64 * 64;
    if (total > len || total - 10 > 65535) return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xFF);
    buf[9] = (char)((total - 10) >> 8);
    memset(buf + 10 + n, ' ', total - 10 - (size_t)n - 1);
    buf[total - 1] = '\n';
    return total;
}

struct lb_npy_writer {
    lb_atomic a;
    size_t count, written, esz;
};

lb_npy_writer *lb_npy_writer_open(const char *path, lb_npy_dtype dtype, int ndim,
                                  const int64_t *shape) {
    char hdr[512];
    size_t count, hl = make_header(hdr, sizeof hdr, dtype, ndim, shape, &count);
    if (!hl) {
        lb_err("%s: bad shape for .npy output (ndim %d)", path, ndim);
        return NULL;
    }
    lb_npy_writer *w = calloc(1, sizeof *w);
    if (!w) {
        lb_err("%s: out of memory", path);
        return NULL;
    }
    if (!lb_atomic_open(&w->a, path)) {
        free(w);
        return NULL;
    }
    w->count = count;
    w->esz = esize(dtype);
    if (fwrite(hdr, 1, hl, w->a.f) != hl) {
        lb_err("%s: write failed: %s", path, strerror(errno));
        lb_npy_writer_abort(w);
        return NULL;
    }
    return w;
}

int lb_npy_writer_append(lb_npy_writer *w, const void *data, size_t count) {
    if (count > w->count - w->written) {
        lb_err("%s: %zu more elements than the declared shape holds", w->a.path,
               count - (w->count - w->written));
        return -1;
    }
    if (count && fwrite(data, w->esz, count, w->a.f) != count) {
        lb_err("%s: write failed: %s", w->a.path, strerror(errno));
        return -1;
    }
    w->written += count;
    return 0;
}

int lb_npy_writer_close(lb_npy_writer *w) {
    if (!w) return -1;
    if (w->written != w->count) {
        lb_err("%s: %zu of %zu elements written; file not created", w->a.path, w->written, w->count);
        lb_npy_writer_abort(w);
        return -1;
    }
    int rc = lb_atomic_commit(&w->a);
    free(w);
    return rc;
}

void lb_npy_writer_abort(lb_npy_writer *w) {
    if (!w) return;
    lb_atomic_abort(&w->a);
    free(w);
}

int lb_npy_write(const char *path, lb_npy_dtype dtype, int ndim, const int64_t *shape,
                 const void *data) {
    lb_npy_writer *w = lb_npy_writer_open(path, dtype, ndim, shape);
    if (!w) return -1;
    if (lb_npy_writer_append(w, data, w->count)) {
        lb_npy_writer_abort(w);
        return -1;
    }
    return lb_npy_writer_close(w);
}

int lb_npy_fwrite_header(FILE *f, lb_npy_dtype dtype, int ndim, const int64_t *shape,
                         size_t *count) {
    char hdr[512];
    size_t hl = make_header(hdr, sizeof hdr, dtype, ndim, shape, count);
    return hl && fwrite(hdr, 1, hl, f) == hl ? 0 : -1;
}

int lb_npy_fwrite(FILE *f, lb_npy_dtype dtype, int ndim, const int64_t *shape, const void *data) {
    size_t count;
    if (lb_npy_fwrite_header(f, dtype, ndim, shape, &count)) return -1;
    return count && fwrite(data, esize(dtype), count, f) != count ? -1 : 0;
}
