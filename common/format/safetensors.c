/* Strict safetensors reader; see lb_safetensors.h for what is refused and why. */
#include "lb_safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_util.h"

struct lb_safetensors {
    char *fname;
    const unsigned char *data; /* the data buffer (after the header) */
    size_t datalen;
    lb_st_tensor *t;           /* header order */
    int nt;
    int *byname;               /* indices sorted by name */
    void *map;                 /* mmap of the whole file, or NULL */
    size_t maplen;
};

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [LB_ST_BOOL] = {"BOOL", 1},   [LB_ST_U8] = {"U8", 1},
    [LB_ST_I8] = {"I8", 1},       [LB_ST_F8_E5M2] = {"F8_E5M2", 1},
    [LB_ST_F8_E4M3] = {"F8_E4M3", 1}, [LB_ST_I16] = {"I16", 2},
    [LB_ST_U16] = {"U16", 2},     [LB_ST_F16] = {"F16", 2},
    [LB_ST_BF16] = {"BF16", 2},   [LB_ST_I32] = {"I32", 4},
    [LB_ST_U32] = {"U32", 4},     [LB_ST_F32] = {"F32", 4},
    [LB_ST_F64] = {"F64", 8},     [LB_ST_I64] = {"I64", 8},
    [LB_ST_U64] = {"U64", 8},
};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

const char *lb_st_dtype_name(lb_st_dtype t) {
    return (int)t >= 0 && (int)t < NDTYPES ? dtypes[t].name : "?";
}
size_t lb_st_dtype_size(lb_st_dtype t) {
    return (int)t >= 0 && (int)t < NDTYPES ? dtypes[t].size : 0;
}


/* Strict UTF-8 (no overlong forms, no surrogates, <= U+10FFFF) and no NUL byte: the
 * header goes through C strings, where a NUL would silently cut a name. Returns the
 * offset of the first bad byte, or len when all is well. */
static size_t utf8_bad(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c == 0) return i;
        if (c < 0x80) { i++; continue; }
        int extra;
        unsigned cp, min;
        if ((c & 0xE0) == 0xC0) { extra = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { extra = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { extra = 3; cp = c & 0x07; min = 0x10000; }
        else return i;
        if (len - i <= (size_t)extra) return i;
        for (int k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += (size_t)extra + 1;
    }
    return len;
}

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* A JSON number that is an exact non-negative integer below 2^53. */
static int get_index(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return -1;
    double v = j->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != floor(v)) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_dtype(const char *s, lb_st_dtype *out) {
    for (int i = 0; i < NDTYPES; i++)
        if (strcmp(s, dtypes[i].name) == 0) {
            *out = (lb_st_dtype)i;
            return 0;
        }
    return -1;
}

static int parse_tensor(lb_st_tensor *t, const cJSON *j, const char *fname, char *msg,
                        size_t msglen) {
    const char *nm = t->name;
    if (!cJSON_IsObject(j)) return lb_fail(msg, msglen, "%s: tensor '%s': entry is not an object", fname, nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
    if (!cJSON_IsString(dt))
        return lb_fail(msg, msglen, "%s: tensor '%s': missing or non-string \"dtype\"", fname, nm);
    if (parse_dtype(dt->valuestring, &t->dtype))
        return lb_fail(msg, msglen, "%s: tensor '%s': unknown dtype \"%.40s\"", fname, nm, dt->valuestring);
    if (!cJSON_IsArray(sh))
        return lb_fail(msg, msglen, "%s: tensor '%s': missing or non-array \"shape\"", fname, nm);
    int nd = cJSON_GetArraySize(sh);
    if (nd > LB_ST_MAX_DIMS)
        return lb_fail(msg, msglen, "%s: tensor '%s': %d dimensions, at most %d supported", fname, nm,
                    nd, LB_ST_MAX_DIMS);
    t->ndim = nd;
    size_t count = 1;
    int i = 0;
    for (const cJSON *e = sh->child; e; e = e->next, i++) {
        uint64_t v;
        if (get_index(e, &v))
            return lb_fail(msg, msglen, "%s: tensor '%s': shape[%d] is not a non-negative integer",
                        fname, nm, i);
        t->shape[i] = (int64_t)v;
        if (lb_mul_size(&count, count, (size_t)v))
            return lb_fail(msg, msglen, "%s: tensor '%s': shape product overflows", fname, nm);
    }
    t->count = count;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return lb_fail(msg, msglen, "%s: tensor '%s': \"data_offsets\" must be [begin, end]", fname, nm);
    uint64_t b, en;
    if (get_index(off->child, &b) || get_index(off->child->next, &en))
        return lb_fail(msg, msglen, "%s: tensor '%s': data_offsets are not non-negative integers",
                    fname, nm);
    if (en < b)
        return lb_fail(msg, msglen, "%s: tensor '%s': data_offsets end %llu < begin %llu", fname, nm,
                    (unsigned long long)en, (unsigned long long)b);
    t->begin = (size_t)b;
    t->end = (size_t)en;
    size_t bytes;
    if (lb_mul_size(&bytes, count, dtypes[t->dtype].size))
        return lb_fail(msg, msglen, "%s: tensor '%s': byte size overflows", fname, nm);
    if (bytes != t->end - t->begin)
        return lb_fail(msg, msglen,
                    "%s: tensor '%s': shape × %s size is %zu bytes but data_offsets span %zu",
                    fname, nm, dtypes[t->dtype].name, bytes, t->end - t->begin);
    return 0;
}

static int check_metadata(const cJSON *j, const char *fname, char *msg, size_t msglen) {
    if (!cJSON_IsObject(j))
        return lb_fail(msg, msglen, "%s: \"__metadata__\" is not an object", fname);
    for (const cJSON *e = j->child; e; e = e->next)
        if (!cJSON_IsString(e))
            return lb_fail(msg, msglen, "%s: \"__metadata__\" value of '%s' is not a string", fname,
                        e->string ? e->string : "?");
    return 0;
}

/* qsort comparators need context; pass the tensor array through a pair. */
typedef struct {
    const lb_st_tensor *t;
    int i;
} tref;

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const tref *)a)->t->name, ((const tref *)b)->t->name);
}
static int cmp_off(const void *a, const void *b) {
    const lb_st_tensor *x = ((const tref *)a)->t, *y = ((const tref *)b)->t;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int index_and_check(lb_safetensors *st, char *msg, size_t msglen) {
    int n = st->nt;
    tref *r = malloc(sizeof *r * (size_t)(n ? n : 1));
    st->byname = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!r || !st->byname) {
        free(r);
        return lb_fail(msg, msglen, "%s: out of memory for %d tensors", st->fname, n);
    }
    for (int i = 0; i < n; i++) r[i] = (tref){&st->t[i], i};
    qsort(r, (size_t)n, sizeof *r, cmp_name);
    for (int i = 0; i < n; i++) {
        st->byname[i] = r[i].i;
        if (i && strcmp(r[i].t->name, r[i - 1].t->name) == 0) {
            lb_fail(msg, msglen, "%s: duplicate tensor name '%s'", st->fname, r[i].t->name);
            free(r);
            return -1;
        }
    }
    qsort(r, (size_t)n, sizeof *r, cmp_off);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        const lb_st_tensor *t = r[i].t;
        if (t->begin != at) {
            lb_fail(msg, msglen, "%s: tensor '%s' begins at byte %zu of the data but the previous "
                 "tensor ends at %zu (%s)", st->fname, t->name, t->begin, at,
                 t->begin > at ? "hole" : "overlap");
            free(r);
            return -1;
        }
        at = t->end;
    }
    free(r);
    if (at != st->datalen)
        return lb_fail(msg, msglen, "%s: tensors end at byte %zu of the data but the data buffer is "
                    "%zu bytes (%s)", st->fname, at, st->datalen,
                    at > st->datalen ? "truncated file" : "trailing bytes");
    return 0;
}

static int parse_header(lb_safetensors *st, const unsigned char *buf, size_t len, char *msg,
                        size_t msglen) {
    const char *fn = st->fname;
    if (len < 8)
        return lb_fail(msg, msglen, "%s: %zu bytes, too short for the 8-byte header length", fn, len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | buf[i];
    if (hl > LB_ST_MAX_HEADER)
        return lb_fail(msg, msglen, "%s: header length %llu exceeds the 100 MB limit", fn,
                    (unsigned long long)hl);
    if (hl > len - 8)
        return lb_fail(msg, msglen, "%s: header length %llu runs past the end of the file (%zu bytes)",
                    fn, (unsigned long long)hl, len);
    const unsigned char *h = buf + 8;
    size_t bad = utf8_bad(h, (size_t)hl);
    if (bad != hl)
        return lb_fail(msg, msglen, "%s: header byte %zu is %s", fn, bad,
                    h[bad] ? "not valid UTF-8" : "a NUL");
    size_t s = 0;
    while (s < hl && is_ws(h[s])) s++;
    if (s == hl || h[s] != '{')
        return lb_fail(msg, msglen, "%s: header does not start with '{'", fn);
    st->data = buf + 8 + hl;
    st->datalen = len - 8 - (size_t)hl;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)h, (size_t)hl, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - (const char *)h) : 0;
        return lb_fail(msg, msglen, "%s: header is not valid JSON (near byte %zu)", fn, at);
    }
    for (size_t i = (size_t)(end - (const char *)h); i < hl; i++)
        if (!is_ws(h[i])) {
            cJSON_Delete(root);
            return lb_fail(msg, msglen, "%s: header has trailing bytes after the JSON (byte %zu)", fn, i);
        }
    int rc = -1, nmeta = 0, n = 0;
    if (!cJSON_IsObject(root)) {
        lb_fail(msg, msglen, "%s: header is not a JSON object", fn);
        goto out;
    }
    for (const cJSON *e = root->child; e; e = e->next) n++;
    st->t = calloc((size_t)(n ? n : 1), sizeof *st->t);
    if (!st->t) {
        lb_fail(msg, msglen, "%s: out of memory for %d tensors", fn, n);
        goto out;
    }
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (nmeta++) {
                lb_fail(msg, msglen, "%s: duplicate \"__metadata__\"", fn);
                goto out;
            }
            if (check_metadata(e, fn, msg, msglen)) goto out;
            continue;
        }
        lb_st_tensor *t = &st->t[st->nt];
        t->name = strdup(e->string);
        if (!t->name) {
            lb_fail(msg, msglen, "%s: out of memory", fn);
            goto out;
        }
        st->nt++;
        if (parse_tensor(t, e, fn, msg, msglen)) goto out;
    }
    rc = index_and_check(st, msg, msglen);
out:
    cJSON_Delete(root);
    return rc;
}

static lb_safetensors *st_new(const char *name) {
    lb_safetensors *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->fname = strdup(name ? name : "(memory)");
    if (!st->fname) {
        free(st);
        return NULL;
    }
    return st;
}

void lb_st_close(lb_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->nt; i++) free((char *)st->t[i].name);
    free(st->t);
    free(st->byname);
    if (st->map) munmap(st->map, st->maplen);
    free(st->fname);
    free(st);
}

int lb_st_parse(lb_safetensors **out, const unsigned char *buf, size_t len, const char *name,
                char *msg, size_t msglen) {
    *out = NULL;
    lb_safetensors *st = st_new(name);
    if (!st) return lb_fail(msg, msglen, "%s: out of memory", name ? name : "(memory)");
    if (parse_header(st, buf, len, msg, msglen)) {
        lb_st_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

int lb_st_open(lb_safetensors **out, const char *path, char *msg, size_t msglen) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        close(fd);
        return lb_fail(msg, msglen, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    if (len < 8) {
        close(fd);
        return lb_fail(msg, msglen, "%s: %zu bytes, too short for the 8-byte header length", path, len);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return lb_fail(msg, msglen, "%s: cannot map: %s", path, strerror(errno));
    lb_safetensors *st = st_new(path);
    if (!st) {
        munmap(map, len);
        return lb_fail(msg, msglen, "%s: out of memory", path);
    }
    st->map = map;
    st->maplen = len;
    if (parse_header(st, map, len, msg, msglen)) {
        lb_st_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

int lb_st_count(const lb_safetensors *st) { return st->nt; }

const lb_st_tensor *lb_st_at(const lb_safetensors *st, int i) {
    return i >= 0 && i < st->nt ? &st->t[i] : NULL;
}

const lb_st_tensor *lb_st_find(const lb_safetensors *st, const char *name) {
    int lo = 0, hi = st->nt - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const lb_st_tensor *t = &st->t[st->byname[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

float lb_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, ex = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (ex == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13);
    } else if (ex == 0) {
        /* zero or subnormal: man · 2^-24, exact in float */
        float v = ldexpf((float)man, -24);
        return sign ? -v : v;
    } else {
        bits = sign | ((ex + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float lb_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static void fmt_shape(char *buf, size_t len, int nd, const int64_t *s) {
    size_t at = 0;
    at += (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < nd && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (at < len) snprintf(buf + at, len - at, "%s)", nd == 1 ? "," : "");
}

int lb_st_read_f32(const lb_safetensors *st, float *out, const lb_st_tensor *t, int ndim,
                   const int64_t *shape, char *msg, size_t msglen) {
    if (shape) {
        int same = ndim == t->ndim;
        for (int i = 0; same && i < ndim; i++) same = shape[i] == t->shape[i];
        if (!same) {
            char want[160], got[160];
            fmt_shape(want, sizeof want, ndim, shape);
            fmt_shape(got, sizeof got, t->ndim, t->shape);
            return lb_fail(msg, msglen, "%s: tensor '%s' has shape %s, expected %s", st->fname,
                        t->name, got, want);
        }
    }
    const unsigned char *p = st->data + t->begin;
    size_t n = t->count;
    switch (t->dtype) {
    case LB_ST_F32:
        memcpy(out, p, n * 4);
        break;
    case LB_ST_F64:
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, p + 8 * i, 8);
            out[i] = (float)v;
        }
        break;
    case LB_ST_F16:
    case LB_ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | (p[2 * i + 1] << 8));
            out[i] = t->dtype == LB_ST_F16 ? lb_f16_to_f32(h) : lb_bf16_to_f32(h);
        }
        break;
    default:
        return lb_fail(msg, msglen, "%s: tensor '%s' has dtype %s; only F32, F16, BF16 and F64 "
                    "convert to float", st->fname, t->name, lb_st_dtype_name(t->dtype));
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i]))
            return lb_fail(msg, msglen, "%s: tensor '%s' element %zu is %s", st->fname, t->name, i,
                        isnan(out[i]) ? "NaN" : "infinite (or out of float range)");
    return 0;
}
