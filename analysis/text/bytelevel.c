/* Byte-level pieces shared by the tokenizers: UTF-8 decoding that never fails,
 * GPT-2's bytes_to_unicode alphabet, and the growable id array. */
#include <stdlib.h>
#include <string.h>

#include "lb_tokenizer.h"

int lb_ids_push(lb_ids *a, const int32_t *ids, size_t count) {
    if (count > SIZE_MAX / sizeof(int32_t) - a->n) return -1;
    if (a->n + count > a->cap) {
        size_t cap = a->cap ? a->cap : 64;
        while (cap < a->n + count) {
            if (cap > SIZE_MAX / 2 / sizeof(int32_t)) return -1;
            cap *= 2;
        }
        int32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    if (count) memcpy(a->v + a->n, ids, count * sizeof *ids);
    a->n += count;
    return 0;
}

void lb_ids_free(lb_ids *a) {
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

int lb_utf8_next(const unsigned char *s, size_t len, uint32_t *cp) {
    unsigned b = s[0];
    int need;
    uint32_t c, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1, c = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2, c = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3, c = b & 0x07, min = 0x10000;
    } else {
        goto bad; /* continuation byte, overlong lead C0/C1, or F5..FF */
    }
    if ((size_t)need >= len) goto bad;
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80) goto bad;
        c = (c << 6) | (s[i] & 0x3F);
    }
    /* Shortest form only, no surrogates, nothing past U+10FFFF: Python's decoder
     * refuses exactly these, so valid text means the same thing on both sides. */
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) goto bad;
    *cp = c;
    return need + 1;
bad:
    *cp = 0x110000u + b;
    return 1;
}

static int self_byte(unsigned b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t lb_gpt2_byte_to_cp(unsigned char b) {
    if (self_byte(b)) return b;
    unsigned k = 0; /* rank of b among the bytes that are not their own character */
    for (unsigned x = 0; x < b; x++) k += !self_byte(x);
    return 256 + k;
}

int lb_gpt2_cp_to_byte(uint32_t cp) {
    if (cp < 256) return self_byte(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    unsigned k = cp - 256;
    for (unsigned x = 0; x < 256; x++)
        if (!self_byte(x) && k-- == 0) return (int)x;
    return -1;
}
