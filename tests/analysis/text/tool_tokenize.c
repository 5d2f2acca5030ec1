/* Helper for tests/analysis/text/test_tokenizer.py: exposes the tokenizer pieces to the Python
 * oracle. RECORDS is a file of records, each a 4-byte little-endian length and that
 * many bytes; each mode prints one line per record.
 *   tool_tokenize load VOCAB MERGES              "ok <describe>" or the error (exit 65)
 *   tool_tokenize encode VOCAB MERGES RECORDS    ids separated by spaces
 *   tool_tokenize decode VOCAB MERGES RECORDS    hex of decode(encode(record))
 *   tool_tokenize bytes OFFSET RECORDS           ids of the byte tokenizer
 *   tool_tokenize pretok RECORDS                 byte lengths of the pre-tokens
 *   tool_tokenize classes                        0x110000 bytes: lb_unicode_class of
 *                                                each code point, as '0'..'3'
 *   tool_tokenize special VOCAB MERGES NAME...   ids of the named tokens (-1 absent)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lb_tokenizer.h"

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    unsigned char *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    *len = n;
    return b;
}

static int usage(void) {
    fprintf(stderr, "usage: tool_tokenize load|encode|decode|bytes|pretok|classes|special ...\n");
    return EX_USAGE;
}

static int load(lb_tokenizer **t, const char *v, const char *m) {
    char msg[512];
    if (lb_tokenizer_load_bpe(t, v, m, msg, sizeof msg)) {
        printf("error: %s\n", msg);
        return EX_DATAERR;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *mode = argv[1];
    lb_tokenizer *t = NULL;
    char msg[512];
    int rc;
    if (strcmp(mode, "classes") == 0) {
        for (uint32_t cp = 0; cp < 0x110000; cp++) putchar('0' + lb_unicode_class(cp));
        return 0;
    }
    if (strcmp(mode, "load") == 0 || strcmp(mode, "special") == 0) {
        if (argc < 4) return usage();
        if ((rc = load(&t, argv[2], argv[3])) != 0) return rc;
        if (mode[0] == 'l') printf("ok %s\n", lb_tokenizer_describe(t));
        for (int i = 4; i < argc; i++) printf("%d\n", lb_tokenizer_token_id(t, argv[i]));
        lb_tokenizer_free(t);
        return 0;
    }
    const char *records;
    if (strcmp(mode, "encode") == 0 || strcmp(mode, "decode") == 0) {
        if (argc != 5) return usage();
        if ((rc = load(&t, argv[2], argv[3])) != 0) return rc;
        records = argv[4];
    } else if (strcmp(mode, "bytes") == 0) {
        if (argc != 4) return usage();
        if (lb_tokenizer_bytes(&t, atoi(argv[2]), msg, sizeof msg)) {
            printf("error: %s\n", msg);
            return EX_DATAERR;
        }
        records = argv[3];
    } else if (strcmp(mode, "pretok") == 0) {
        if (argc != 3) return usage();
        records = argv[2];
    } else {
        return usage();
    }
    size_t len, pos = 0;
    unsigned char *buf = read_file(records, &len);
    if (!buf) {
        fprintf(stderr, "tool_tokenize: cannot read %s\n", records);
        lb_tokenizer_free(t);
        return EX_NOINPUT;
    }
    lb_ids ids = {0};
    rc = 0;
    while (pos + 4 <= len && rc == 0) {
        size_t n = buf[pos] | (size_t)buf[pos + 1] << 8 | (size_t)buf[pos + 2] << 16 |
                   (size_t)buf[pos + 3] << 24;
        pos += 4;
        if (n > len - pos) {
            fprintf(stderr, "tool_tokenize: truncated record\n");
            rc = EX_DATAERR;
            break;
        }
        const char *s = (const char *)buf + pos;
        pos += n;
        if (strcmp(mode, "pretok") == 0) {
            for (size_t p = 0; p < n;) {
                size_t k = lb_pretok_next(s + p, n - p);
                printf(p ? " %zu" : "%zu", k);
                p += k;
            }
            printf("\n");
            continue;
        }
        ids.n = 0;
        if (lb_tokenizer_encode(t, &ids, s, n, msg, sizeof msg)) {
            printf("error: %s\n", msg);
            continue;
        }
        if (mode[0] == 'd') {
            size_t dl;
            char *d = lb_tokenizer_decode(t, ids.v, ids.n, &dl);
            if (!d) rc = EX_SOFTWARE;
            for (size_t i = 0; d && i < dl; i++) printf("%02x", (unsigned char)d[i]);
            printf("\n");
            free(d);
            continue;
        }
        for (size_t i = 0; i < ids.n; i++) printf(i ? " %d" : "%d", (int)ids.v[i]);
        printf("\n");
    }
    lb_ids_free(&ids);
    free(buf);
    lb_tokenizer_free(t);
    return rc;
}
