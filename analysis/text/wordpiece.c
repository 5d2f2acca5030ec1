/* BERT WordPiece: vocab.txt, tokenizer_config.json, the basic tokenizer (cleaning,
 * CJK spacing, whitespace split, lower-casing, accent stripping, punctuation split)
 * and greedy longest-match-first pieces. The steps and their exact rules are in
 * lb_tokenizer.h (lb_tokenizer_load_wordpiece); the character data is generated
 * (wordpiece_tables.c). Words are handled as arrays of code points; only the vocab
 * lookup works on UTF-8 bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bpe_int.h"
#include "lb_util.h"
#include "wordpiece_int.h"

#define WP_MAX_FILE ((size_t)1 << 28)
#define WP_MAX_CHARS 1024 /* the largest max_input_chars_per_word accepted */

static uint8_t range_of(const wp_range *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first range with hi >= cp */
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].hi < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && r[lo].lo <= cp ? r[lo].v : 0;
}

static const wp_map *map_of(const wp_map *m, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && m[lo].cp == cp ? &m[lo] : NULL;
}

static int wp_class(uint32_t cp) {
    return range_of(lb_wp_tables.classes, lb_wp_tables.n_classes, cp);
}

/* BERT's "Chinese character" blocks (CJK ideographs; not Hangul, kana). */
static int is_cjk(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* A growable code point array. */
typedef struct {
    uint32_t *v;
    size_t n, cap;
} cps;

static int cps_push(cps *a, uint32_t c) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        uint32_t *nv = realloc(a->v, cap * sizeof *nv);
        if (!nv) return -1;
        a->v = nv, a->cap = cap;
    }
    a->v[a->n++] = c;
    return 0;
}

/* Steps 1-2: clean and space out CJK. Invalid bytes count as U+FFFD: dropped. */
static int clean_text(cps *out, const char *text, size_t len, int chinese) {
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += (size_t)lb_utf8_next((const unsigned char *)text + i, len - i, &cp);
        int k = cp < 0x110000 ? wp_class(cp) : WP_CTRL;
        if (cp == 0 || cp == 0xFFFD || k == WP_CTRL) continue;
        if (k == WP_WS) cp = ' ';
        int sp = chinese && is_cjk(cp);
        if ((sp && cps_push(out, ' ')) || cps_push(out, cp) || (sp && cps_push(out, ' ')))
            return -1;
    }
    return 0;
}

static int sigma_of(uint32_t cp) { return range_of(lb_wp_tables.sigma, lb_wp_tables.n_sigma, cp); }

/* Python's str.lower() on word w: full mappings, and capital sigma becomes final
 * sigma after a cased letter not followed by one (case-ignorables skipped). */
static int lower_word(cps *out, const uint32_t *w, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t c = w[i];
        if (c == 0x3A3) {
            size_t j = i;
            while (j > 0 && sigma_of(w[j - 1]) == WP_SIGMA_IGNORABLE) j--;
            int fin = j > 0 && sigma_of(w[j - 1]) == WP_SIGMA_CASED;
            for (j = i + 1; fin && j < n && sigma_of(w[j]) == WP_SIGMA_IGNORABLE;) j++;
            if (fin && j < n && sigma_of(w[j]) == WP_SIGMA_CASED) fin = 0;
            if (cps_push(out, fin ? 0x3C2 : 0x3C3)) return -1;
            continue;
        }
        const wp_map *m = c < 0x80 ? NULL : map_of(lb_wp_tables.lower, lb_wp_tables.n_lower, c);
        if (c >= 'A' && c <= 'Z') c += 32;
        if (!m) {
            if (cps_push(out, c)) return -1;
            continue;
        }
        for (uint32_t k = 0; k < m->len; k++)
            if (cps_push(out, lb_wp_tables.lower_pool[m->off + k])) return -1;
    }
    return 0;
}

static int decompose(cps *out, uint32_t c) {
    if (c >= 0xAC00 && c <= 0xD7A3) { /* Hangul syllable: L V (T), arithmetically */
        uint32_t s = c - 0xAC00, t = s % 28;
        if (cps_push(out, 0x1100 + s / 588) || cps_push(out, 0x1161 + (s % 588) / 28)) return -1;
        return t ? cps_push(out, 0x11A7 + t) : 0;
    }
    const wp_map *m = c < 0xC0 ? NULL : map_of(lb_wp_tables.decomp, lb_wp_tables.n_decomp, c);
    if (!m) return cps_push(out, c);
    for (uint32_t k = 0; k < m->len; k++)
        if (cps_push(out, lb_wp_tables.decomp_pool[m->off + k])) return -1;
    return 0;
}

static uint8_t ccc_of(uint32_t cp) { return range_of(lb_wp_tables.ccc, lb_wp_tables.n_ccc, cp); }

/* NFD (decomposition, then marks ordered by combining class, stably), then every
 * nonspacing mark dropped. */
static int strip_accents(cps *out, const uint32_t *w, size_t n) {
    size_t start = out->n;
    for (size_t i = 0; i < n; i++)
        if (decompose(out, w[i])) return -1;
    uint32_t *d = out->v + start;
    size_t m = out->n - start, k = 0;
    for (size_t i = 1; i < m; i++) { /* insertion sort inside runs of ccc != 0 */
        uint32_t c = d[i];
        uint8_t cc = ccc_of(c);
        size_t j = i;
        while (cc && j > 0 && ccc_of(d[j - 1]) > cc) d[j] = d[j - 1], j--;
        d[j] = c;
    }
    for (size_t i = 0; i < m; i++)
        if (wp_class(d[i]) != WP_MN) d[k++] = d[i];
    out->n = start + k;
    return 0;
}

static size_t utf8_put(char *s, uint32_t c) {
    if (c < 0x80) return s[0] = (char)c, 1;
    if (c < 0x800) return s[0] = (char)(0xC0 | c >> 6), s[1] = (char)(0x80 | (c & 0x3F)), 2;
    if (c < 0x10000) {
        s[0] = (char)(0xE0 | c >> 12), s[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        s[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    s[0] = (char)(0xF0 | c >> 18), s[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    s[2] = (char)(0x80 | ((c >> 6) & 0x3F)), s[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Step 5 on one piece of n code points: greedy longest match, "##" after the first. */
static int wordpiece(const lb_tokenizer *t, lb_ids *out, const uint32_t *w, size_t n) {
    int32_t unk = t->unk;
    if (n == 0) return 0;
    if (n > (size_t)t->wp_max_chars) return lb_ids_push(out, &unk, 1);
    char bytes[4 * WP_MAX_CHARS], key[2 + 4 * WP_MAX_CHARS];
    size_t off[WP_MAX_CHARS + 1], first = out->n;
    off[0] = 0;
    for (size_t i = 0; i < n; i++) off[i + 1] = off[i] + utf8_put(bytes + off[i], w[i]);
    for (size_t start = 0; start < n;) {
        int id = -1;
        size_t end = n, pre = start ? 2 : 0;
        memcpy(key, "##", 2);
        for (; end > start; end--) {
            memcpy(key + pre, bytes + off[start], off[end] - off[start]);
            if ((id = lb_bpe_vocab_find(t, key, pre + off[end] - off[start])) >= 0) break;
        }
        if (id < 0) { /* no piece fits here: the whole word is unknown */
            out->n = first;
            return lb_ids_push(out, &unk, 1);
        }
        int32_t v = id;
        if (lb_ids_push(out, &v, 1)) return -1;
        start = end;
    }
    return 0;
}

/* Steps 3-5 on one whitespace-separated word. */
static int encode_word(const lb_tokenizer *t, lb_ids *out, const uint32_t *w, size_t n,
                       cps *a, cps *b) {
    a->n = b->n = 0;
    if (t->wp_lower) {
        if (lower_word(a, w, n)) return -1;
        w = a->v, n = a->n;
    }
    if (t->wp_strip) {
        if (strip_accents(b, w, n)) return -1;
        w = b->v, n = b->n;
    }
    size_t piece = 0;
    for (size_t i = 0; i < n; i++) {
        if (wp_class(w[i]) != WP_PUNCT) continue;
        if (wordpiece(t, out, w + piece, i - piece) || wordpiece(t, out, w + i, 1)) return -1;
        piece = i + 1;
    }
    return wordpiece(t, out, w + piece, n - piece);
}

int lb_wordpiece_encode(const lb_tokenizer *t, lb_ids *out, const char *text, size_t len,
                        char *msg, size_t msglen) {
    cps all = {0}, a = {0}, b = {0};
    int rc = clean_text(&all, text, len, t->wp_chinese);
    for (size_t i = 0, start = 0; rc == 0 && i <= all.n; i++) {
        int split = i == all.n || all.v[i] == ' ' || wp_class(all.v[i]) == WP_SEP;
        if (!split) continue;
        if (i > start) rc = encode_word(t, out, all.v + start, i - start, &a, &b);
        start = i + 1;
    }
    free(all.v), free(a.v), free(b.v);
    return rc ? lb_fail(msg, msglen, "out of memory") : 0;
}

static char *read_file(const char *path, size_t *len, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    if (!f) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno)), NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n + 65536 + 1 > cap) {
            cap = cap ? 2 * cap : 1 << 20;
            char *nb = cap > WP_MAX_FILE ? NULL : realloc(buf, cap);
            if (!nb) {
                free(buf), fclose(f);
                return lb_fail(msg, msglen, "%s: too large (limit %zu bytes) or out of memory",
                               path, WP_MAX_FILE), NULL;
            }
            buf = nb;
        }
        n += got = fread(buf + n, 1, 65536, f);
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) return free(buf), lb_fail(msg, msglen, "%s: read error", path), NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Lines of vocab.txt (LF or CRLF; no empty token after a final newline). Added last
 * line first, so that a token listed twice maps to its last id, as in the reference
 * loader (a later line overwrites an earlier one). */
static int load_vocab_txt(lb_tokenizer *t, char *buf, size_t len, const char *path, char *msg,
                          size_t msglen) {
    size_t nl = 0, k = 0;
    for (size_t i = 0; i < len; i++) nl += buf[i] == '\n';
    size_t lines = nl + (len > 0 && buf[len - 1] != '\n');
    char **start = malloc((lines + 1) * sizeof *start);
    if (!start || lines == 0 || lines > (1u << 24) || lb_bpe_vocab_alloc(t, (int)lines, lines)) {
        free(start);
        return lb_fail(msg, msglen, "%s: %s", path, lines == 0 ? "empty: expected one token a line"
                       : lines > (1u << 24) ? "more than 16777216 tokens" : "out of memory");
    }
    for (size_t i = 0; i < len; i++)
        if (i == 0 || buf[i - 1] == '\n') start[k++] = buf + i;
    start[lines] = buf + len + (buf[len - 1] == '\n' ? 0 : 1); /* one past the last line's end */
    for (size_t l = lines; l-- > 0;) {
        size_t n = (size_t)(start[l + 1] - start[l]) - 1;
        if (n > 0 && start[l][n - 1] == '\r') n--;
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            i += (size_t)lb_utf8_next((const unsigned char *)start[l] + i, n - i, &cp);
            if (cp >= 0x110000) {
                free(start);
                return lb_fail(msg, msglen, "%s: line %zu: not valid UTF-8", path, l + 1);
            }
        }
        if (lb_bpe_vocab_add(t, start[l], n, (int)l) < 0) {
            free(start);
            return lb_fail(msg, msglen, "%s: out of memory", path);
        }
    }
    free(start);
    return 0;
}

int lb_tokenizer_load_wordpiece(lb_tokenizer **out, const char *vocab_path, int lower, int strip,
                                int chinese, int max_chars, char *msg, size_t msglen) {
    size_t len;
    *out = NULL;
    if (max_chars > WP_MAX_CHARS)
        return lb_fail(msg, msglen, "max_input_chars_per_word %d: at most %d", max_chars,
                       WP_MAX_CHARS);
    char *buf = read_file(vocab_path, &len, msg, msglen);
    if (!buf) return -1;
    lb_tokenizer *t = lb_bpe_new(LB_TOK_WORDPIECE);
    int rc = t ? load_vocab_txt(t, buf, len, vocab_path, msg, msglen)
               : lb_fail(msg, msglen, "out of memory");
    free(buf);
    if (rc == 0 && (t->unk = lb_tokenizer_token_id(t, "[UNK]")) < 0)
        rc = lb_fail(msg, msglen, "%s: no [UNK] token (WordPiece needs it for unknown words)",
                     vocab_path);
    if (rc) {
        lb_tokenizer_free(t);
        return -1;
    }
    t->wp_lower = lower != 0, t->wp_strip = strip != 0, t->wp_chinese = chinese != 0;
    t->wp_max_chars = max_chars > 0 ? max_chars : 100;
    snprintf(t->desc, sizeof t->desc, "wordpiece vocab=%d lower=%d strip_accents=%d chinese=%d",
             t->vocab_size, t->wp_lower, t->wp_strip, t->wp_chinese);
    *out = t;
    return 0;
}

/* A boolean (or, where null_ok, null = -1) field of tokenizer_config.json. */
static int config_bool(const cJSON *root, const char *key, int def, int null_ok, int *out,
                       const char *path, char *msg, size_t msglen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = def;
    if (!v) return 0;
    if (cJSON_IsBool(v)) return *out = cJSON_IsTrue(v), 0;
    if (null_ok && cJSON_IsNull(v)) return *out = -1, 0;
    return lb_fail(msg, msglen, "%s: \"%s\" must be true or false%s", path, key,
                   null_ok ? " or null" : "");
}

/* tokenizer_config.json (optional): do_lower_case, strip_accents, tokenize_chinese_chars,
 * max_input_chars_per_word. */
static int read_wp_config(const char *dir, int *lower, int *strip, int *chinese, int *max_chars,
                          char *msg, size_t msglen) {
    char path[4096];
    size_t len;
    *lower = 1, *strip = -1, *chinese = 1, *max_chars = 100;
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (access(path, F_OK) != 0) return 0;
    char *buf = read_file(path, &len, msg, msglen);
    if (!buf) return -1;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    int rc = 0;
    if (!cJSON_IsObject(root)) rc = lb_fail(msg, msglen, "%s: not a JSON object", path);
    if (!rc) rc = config_bool(root, "do_lower_case", 1, 0, lower, path, msg, msglen);
    if (!rc) rc = config_bool(root, "strip_accents", -1, 1, strip, path, msg, msglen);
    if (!rc) rc = config_bool(root, "tokenize_chinese_chars", 1, 0, chinese, path, msg, msglen);
    const cJSON *m = rc ? NULL : cJSON_GetObjectItemCaseSensitive(root, "max_input_chars_per_word");
    if (m && (!cJSON_IsNumber(m) || m->valuedouble < 1 || m->valuedouble > WP_MAX_CHARS ||
              m->valuedouble != (int)m->valuedouble))
        rc = lb_fail(msg, msglen, "%s: \"max_input_chars_per_word\" must be an integer in 1..%d",
                     path, WP_MAX_CHARS);
    else if (m)
        *max_chars = m->valueint;
    cJSON_Delete(root);
    return rc;
}

int lb_wordpiece_for_model(lb_tokenizer **out, const char *dir, char *msg, size_t msglen) {
    char path[4096];
    int lower, strip, chinese, max_chars;
    *out = NULL;
    if (snprintf(path, sizeof path, "%s/vocab.txt", dir) >= (int)sizeof path)
        return lb_fail(msg, msglen, "%s: path too long", dir);
    if (access(path, F_OK) != 0) return 1;
    if (read_wp_config(dir, &lower, &strip, &chinese, &max_chars, msg, msglen)) return -1;
    /* strip_accents null (or absent): strip exactly when lower-casing, as BERT does */
    return lb_tokenizer_load_wordpiece(out, path, lower, strip < 0 ? lower : strip, chinese,
                                       max_chars, msg, msglen);
}
