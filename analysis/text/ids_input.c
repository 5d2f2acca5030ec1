/* Corpus inputs → lb_docs: ids from .npy or integer text, or UTF-8 text through a
 * tokenizer (see lb_corpus.h for the document rules). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_corpus.h"
#include "lb_npy.h"
#include "lb_util.h"

#define MAX_TEXT ((size_t)4 << 30) /* refuse text inputs past 4 GiB */


void lb_docs_init(lb_docs *d) { memset(d, 0, sizeof *d); }

void lb_docs_free(lb_docs *d) {
    free(d->tokens);
    free(d->doc_off);
    lb_docs_init(d);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) return -1;
        c *= 2;
    }
    void *np = realloc(*p, c * elem);
    if (!np) return -1;
    *p = np;
    *cap = c;
    return 0;
}

int lb_docs_add(lb_docs *d, const int32_t *ids, size_t count) {
    if (count == 0) return 0;
    if (count > SIZE_MAX / 2 - d->n_tokens ||
        grow((void **)&d->tokens, &d->cap_tokens, d->n_tokens + count, sizeof *d->tokens) ||
        grow((void **)&d->doc_off, &d->cap_docs, d->n_docs + 2, sizeof *d->doc_off))
        return -1;
    memcpy(d->tokens + d->n_tokens, ids, count * sizeof *ids);
    d->doc_off[0] = 0;
    d->n_tokens += count;
    d->doc_off[++d->n_docs] = d->n_tokens;
    return 0;
}

static int check_id(int64_t v, long vocab_size, const char *path, const char *where, char *msg,
                    size_t msglen) {
    if (v < 0) return lb_fail(msg, msglen, "%s: %s: token id %lld is negative", path, where, (long long)v);
    if (vocab_size > 0 && v >= vocab_size)
        return lb_fail(msg, msglen, "%s: %s: token id %lld is past the vocabulary (size %ld)", path,
                    where, (long long)v, vocab_size);
    if (v > INT32_MAX)
        return lb_fail(msg, msglen, "%s: %s: token id %lld does not fit int32", path, where, (long long)v);
    return 0;
}

static int read_npy_ids(lb_docs *d, const char *path, long vocab_size, char *msg, size_t msglen) {
    lb_npy a;
    if (lb_npy_read(&a, path, msg, msglen)) return -1;
    int rc = -1;
    int32_t *row = NULL;
    if (a.dtype != LB_NPY_I32 && a.dtype != LB_NPY_I64) {
        lb_fail(msg, msglen, "%s: descr: token ids must be int32 or int64", path);
        goto out;
    }
    if (a.ndim != 1 && a.ndim != 2) {
        lb_fail(msg, msglen, "%s: shape: expected 1-D (one stream) or 2-D (sequences, n), got %d-D",
             path, a.ndim);
        goto out;
    }
    size_t cols = a.ndim == 2 ? (size_t)a.shape[1] : a.count, rows = cols ? a.count / cols : 0;
    if (a.ndim == 2 && (a.shape[1] < 1 || a.shape[1] > (1 << 24))) {
        lb_fail(msg, msglen, "%s: shape: sequence length %lld outside 1..%d", path,
             (long long)a.shape[1], 1 << 24);
        goto out;
    }
    if (!(row = malloc((cols ? cols : 1) * sizeof *row))) {
        lb_fail(msg, msglen, "%s: out of memory", path);
        goto out;
    }
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            size_t i = r * cols + c;
            int64_t v = a.dtype == LB_NPY_I32 ? ((int32_t *)a.data)[i] : ((int64_t *)a.data)[i];
            char where[64];
            if (a.ndim == 2) snprintf(where, sizeof where, "element [%zu, %zu]", r, c);
            else snprintf(where, sizeof where, "element [%zu]", c);
            if (check_id(v, vocab_size, path, where, msg, msglen)) goto out;
            row[c] = (int32_t)v;
        }
        if (lb_docs_add(d, row, cols)) {
            lb_fail(msg, msglen, "%s: out of memory", path);
            goto out;
        }
    }
    if (a.ndim == 2) d->ready_n = (int)cols;
    rc = 0;
out:
    free(row);
    lb_npy_free(&a);
    return rc;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* One whitespace-separated token of an integer ids file, checked and appended. The
 * message quotes the token as written (a saturated or cut number would hide the cause);
 * only a token past 256 bytes is shortened, and then its length is said. */
static int text_id(lb_ids *doc, const char *tok, size_t len, long vocab_size, const char *path,
                   size_t lineno, char *msg, size_t msglen) {
    int neg = tok[0] == '-', ok = len > (size_t)neg, big = 0;
    int64_t v = 0;
    for (size_t i = (size_t)neg; ok && i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9') ok = 0;
        else if (v > ((int64_t)1 << 40)) big = 1;
        else v = v * 10 + (tok[i] - '0');
    }
    char shown[300];
    if (len <= 256) snprintf(shown, sizeof shown, "\"%.*s\"", (int)len, tok);
    else snprintf(shown, sizeof shown, "\"%.64s...\" (%zu characters)", tok, len);
    if (!ok)
        return lb_fail(msg, msglen, "%s: line %zu: %s is not a token id (a non-negative integer)",
                       path, lineno, shown);
    if (neg && v > 0)
        return lb_fail(msg, msglen, "%s: line %zu: token id %s is negative", path, lineno, shown);
    if (vocab_size > 0 && (big || v >= vocab_size))
        return lb_fail(msg, msglen, "%s: line %zu: token id %s is past the vocabulary (size %ld)",
                       path, lineno, shown, vocab_size);
    if (big || v > INT32_MAX)
        return lb_fail(msg, msglen, "%s: line %zu: token id %s does not fit int32", path, lineno,
                       shown);
    int32_t x = (int32_t)v;
    return lb_ids_push(doc, &x, 1) ? lb_fail(msg, msglen, "%s: out of memory", path) : 0;
}

static int read_text_ids(lb_docs *d, FILE *f, const char *path, long vocab_size, char *msg,
                         size_t msglen) {
    lb_ids doc = {0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        doc.n = 0;
        char *p = line, *end = line + got;
        while (rc == 0) {
            while (p < end && is_space(*p)) p++;
            if (p == end) break;
            char *tok = p;
            while (p < end && !is_space(*p)) p++;
            rc = text_id(&doc, tok, (size_t)(p - tok), vocab_size, path, lineno, msg, msglen);
        }
        if (rc == 0 && lb_docs_add(d, doc.v, doc.n)) rc = lb_fail(msg, msglen, "%s: out of memory", path);
    }
    if (rc == 0 && ferror(f)) rc = lb_fail(msg, msglen, "%s: read error: %s", path, strerror(errno));
    free(line);
    lb_ids_free(&doc);
    return rc;
}

int lb_docs_read_ids(lb_docs *d, const char *path, long vocab_size, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[6] = {0};
    size_t m = fread(magic, 1, 6, f);
    int rc;
    if (m == 6 && memcmp(magic, "\x93NUMPY", 6) == 0) {
        fclose(f);
        rc = read_npy_ids(d, path, vocab_size, msg, msglen);
    } else {
        rewind(f);
        rc = read_text_ids(d, f, path, vocab_size, msg, msglen);
        fclose(f);
    }
    if (rc == 0 && d->n_docs == 0) rc = lb_fail(msg, msglen, "%s: no token ids (empty input)", path);
    return rc;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

static int add_text(lb_docs *d, lb_tokenizer *t, lb_ids *ids, const char *s, size_t n,
                    const char *name, char *msg, size_t msglen) {
    char why[256];
    if (n && s[n - 1] == '\r') n--; /* CRLF files */
    ids->n = 0;
    if (lb_tokenizer_encode(t, ids, s, n, why, sizeof why))
        return lb_fail(msg, msglen, "%s: %s", name, why);
    if (lb_docs_add(d, ids->v, ids->n)) return lb_fail(msg, msglen, "%s: out of memory", name);
    return 0;
}

int lb_docs_from_text(lb_docs *d, const char *text, size_t len, const char *name, lb_tokenizer *t,
                      int per_line, char *msg, size_t msglen) {
    lb_ids ids = {0};
    const char *doc = NULL; /* start of the paragraph being collected */
    size_t doc_end = 0;
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        int is_blank = blank(text + pos, end - pos);
        if (per_line) {
            if (!is_blank) rc = add_text(d, t, &ids, text + pos, end - pos, name, msg, msglen);
        } else if (is_blank) {
            if (doc) rc = add_text(d, t, &ids, doc, doc_end - (size_t)(doc - text), name, msg, msglen);
            doc = NULL;
        } else {
            if (!doc) doc = text + pos;
            doc_end = end;
        }
        pos = nl ? end + 1 : len;
    }
    if (rc == 0 && doc) rc = add_text(d, t, &ids, doc, doc_end - (size_t)(doc - text), name, msg, msglen);
    lb_ids_free(&ids);
    if (rc == 0 && d->n_docs == 0) rc = lb_fail(msg, msglen, "%s: no text (empty or only blank lines)", name);
    return rc;
}

int lb_docs_read_text(lb_docs *d, const char *path, lb_tokenizer *t, int per_line, char *msg,
                      size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    int rc = 0;
    do {
        if (n + 65536 > cap) {
            cap = cap ? 2 * cap : 1 << 20;
            char *nb = cap > MAX_TEXT ? NULL : realloc(buf, cap);
            if (!nb) {
                rc = lb_fail(msg, msglen, "%s: too large (limit %zu bytes) or out of memory", path,
                          MAX_TEXT);
                break;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (rc == 0 && ferror(f)) rc = lb_fail(msg, msglen, "%s: read error: %s", path, strerror(errno));
    fclose(f);
    if (rc == 0) rc = lb_docs_from_text(d, buf, n, path, t, per_line, msg, msglen);
    free(buf);
    return rc;
}
