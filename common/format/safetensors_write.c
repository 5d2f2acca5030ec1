/* A safetensors writer (the layout of HuggingFace's reference): u64 little-endian
 * header length, the JSON header padded with spaces to a multiple of 8, then the
 * tensors back to back in the order given. Written to a temporary name and renamed. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_safetensors.h"
#include "lb_util.h"


uint16_t lb_f32_to_bf16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    if ((b & 0x7F800000u) == 0x7F800000u && (b & 0x7FFFFFu)) return (uint16_t)((b >> 16) | 0x40); /* quiet NaN */
    b += 0x7FFFu + ((b >> 16) & 1); /* round to nearest, ties to even */
    return (uint16_t)(b >> 16);
}

uint16_t lb_f32_to_f16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000u, ex = (b >> 23) & 0xFF, man = b & 0x7FFFFFu;
    if (ex == 0xFF) return (uint16_t)(sign | 0x7C00u | (man ? 0x200u | (man >> 13) : 0));
    int e = (int)ex - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00u); /* overflow: infinity */
    if (e <= 0) {                                 /* f16 subnormal (or zero) */
        if (e < -10) return (uint16_t)sign;
        uint32_t mm = man | 0x800000u, shift = (uint32_t)(14 - e);
        uint32_t half = mm >> shift, rem = mm & ((1u << shift) - 1), hw = 1u << (shift - 1);
        if (rem > hw || (rem == hw && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) half++; /* carry may reach inf: right */
    return (uint16_t)(sign | half);
}

/* Append s to the growing buffer (JSON string escaping when quote). */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}
static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }
static void putq(sbuf *b, const char *s) {
    puts_(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char e[8];
        if (ch == '"' || ch == '\\') {
            e[0] = '\\';
            e[1] = (char)ch;
            put(b, e, 2);
        } else if (ch < 0x20) {
            snprintf(e, sizeof e, "\\u%04x", ch);
            puts_(b, e);
        } else
            put(b, (const char *)&ch, 1);
    }
    puts_(b, "\"");
}

static size_t elems(const lb_st_out *x) {
    size_t cnt = 1;
    for (int j = 0; j < x->ndim; j++) cnt *= (size_t)x->shape[j];
    return cnt;
}

/* "__metadata__":{key:value,...} from the NULL-terminated key, value list. */
static int header_metadata(sbuf *h, const char *const *metadata, const char *path, char *msg,
                           size_t msglen) {
    puts_(h, "\"__metadata__\":{");
    for (int i = 0; metadata[i]; i += 2) {
        if (!metadata[i + 1])
            return lb_fail(msg, msglen, "%s: metadata key '%s' has no value", path, metadata[i]);
        if (i) puts_(h, ",");
        putq(h, metadata[i]);
        puts_(h, ":");
        putq(h, metadata[i + 1]);
    }
    puts_(h, "}");
    return 0;
}

/* name:{"dtype","shape","data_offsets"} of tensor x, its data at *off (advanced past
 * it); refused when the dtype is not written or a value does not fit it. */
static int header_tensor(sbuf *h, const lb_st_out *x, size_t *off, const char *path, char *msg,
                         size_t msglen) {
    char num[64];
    if (x->dtype != LB_ST_F32 && x->dtype != LB_ST_F16 && x->dtype != LB_ST_BF16)
        return lb_fail(msg, msglen, "%s: tensor '%s': only F32, F16 and BF16 are written", path,
                       x->name);
    size_t cnt = elems(x), bytes = cnt * lb_st_dtype_size(x->dtype);
    putq(h, x->name);
    snprintf(num, sizeof num, ":{\"dtype\":\"%s\",\"shape\":[", lb_st_dtype_name(x->dtype));
    puts_(h, num);
    for (int j = 0; j < x->ndim; j++) {
        snprintf(num, sizeof num, "%s%lld", j ? "," : "", (long long)x->shape[j]);
        puts_(h, num);
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", *off, *off + bytes);
    puts_(h, num);
    *off += bytes;
    /* a value F16/BF16 cannot hold (or a NaN) would be refused by every reader */
    for (size_t k = 0; k < cnt; k++) {
        float v = x->data[k];
        int bad = !isfinite(v) || (x->dtype == LB_ST_F16 && fabsf(v) >= 65520.0f) ||
                  (x->dtype == LB_ST_BF16 && fabsf(v) >= 3.3961514e38f);
        if (bad)
            return lb_fail(msg, msglen, "%s: tensor '%s' element %zu = %g does not fit %s", path,
                           x->name, k, (double)v, lb_st_dtype_name(x->dtype));
    }
    return 0;
}

/* The JSON header, padded with spaces to a multiple of 8. */
static int header(sbuf *h, const lb_st_out *t, int count, const char *const *metadata,
                  const char *path, char *msg, size_t msglen) {
    size_t off = 0;
    int meta = metadata && metadata[0];
    puts_(h, "{");
    if (meta && header_metadata(h, metadata, path, msg, msglen)) return -1;
    for (int i = 0; i < count; i++) {
        if (i || meta) puts_(h, ",");
        if (header_tensor(h, &t[i], &off, path, msg, msglen)) return -1;
    }
    puts_(h, "}");
    while (h->len % 8) puts_(h, " ");
    if (h->oom) return lb_fail(msg, msglen, "%s: out of memory", path);
    return 0;
}

/* The values of x in its dtype, little-endian whatever the host; 0 when written. */
static int write_data(FILE *f, const lb_st_out *x) {
    enum { CH = 16384 };
    unsigned char buf[CH * 4];
    size_t cnt = elems(x);
    for (size_t k0 = 0; k0 < cnt; k0 += CH) {
        size_t nn = cnt - k0 < CH ? cnt - k0 : CH, nb = 0;
        for (size_t k = 0; k < nn; k++) {
            float v = x->data[k0 + k];
            uint32_t u;
            memcpy(&u, &v, 4);
            if (x->dtype == LB_ST_F32) {
                for (int s = 0; s < 4; s++) buf[nb++] = (unsigned char)(u >> (8 * s));
            } else {
                uint16_t hh = x->dtype == LB_ST_F16 ? lb_f32_to_f16(v) : lb_f32_to_bf16(v);
                buf[nb++] = (unsigned char)hh;
                buf[nb++] = (unsigned char)(hh >> 8);
            }
        }
        if (fwrite(buf, 1, nb, f) != nb) return -1;
    }
    return 0;
}

int lb_st_write(const char *path, const lb_st_out *t, int count, const char *const *metadata,
                char *msg, size_t msglen) {
    sbuf h = {0};
    if (header(&h, t, count, metadata, path, msg, msglen)) {
        free(h.p);
        return -1;
    }
    lb_atomic a;
    FILE *f = lb_atomic_open(&a, path);
    if (!f) {
        free(h.p);
        return lb_fail(msg, msglen, "%s: cannot create", path);
    }
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    int ok = fwrite(le, 1, 8, f) == 8 && fwrite(h.p, 1, h.len, f) == h.len;
    free(h.p);
    for (int i = 0; i < count && ok; i++) ok = !write_data(f, &t[i]);
    if (!ok) {
        lb_atomic_abort(&a);
        return lb_fail(msg, msglen, "%s: write failed", path);
    }
    if (lb_atomic_commit(&a)) return lb_fail(msg, msglen, "%s: write failed (commit)", path);
    return 0;
}
