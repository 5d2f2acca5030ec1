/* GPT-2 byte-level BPE and the byte tokenizer (see lb_tokenizer.h).
 *
 * Data: id → token string; an open-addressing map token string → id; an
 * open-addressing map (left id, right id) → (rank, merged id). Working on ids is
 * the same as working on strings because vocab.json maps strings to ids one-to-one.
 * Each pre-tokenized piece is merged with a min-heap of candidate pairs ordered by
 * (rank, position) over a linked list of symbols, so equal-rank pairs merge left to
 * right as in HuggingFace's and GPT-2's implementations; stale heap entries are
 * skipped when popped. Results for short pieces are cached. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lb_tokenizer.h"
#include "lb_util.h"

#define MAX_ID (1 << 24)           /* ids past this are refused as absurd */
#define MAX_FILE ((size_t)1 << 30) /* vocab.json / merges.txt size limit */
#define CACHE_MAX_PIECE 64         /* bytes; longer pieces are not cached */
#define CACHE_MAX_ENTRIES (1 << 17)

typedef struct cache_entry {
    uint64_t h;
    uint32_t klen, nids;
    int32_t *ids; /* points into the same allocation, followed by the key bytes */
} cache_entry;

typedef struct {
    uint64_t key; /* left id << 32 | right id; UINT64_MAX = empty */
    int32_t rank, id;
} pair_slot;

struct lb_tokenizer {
    lb_tok_kind kind;
    int offset;             /* bytes kind: id = byte + offset */
    int vocab_size;         /* 1 + largest id */
    char **tok;             /* (vocab_size) token string or NULL */
    uint32_t *tok_len;      /* (vocab_size) */
    int32_t *vmap;          /* (vcap) ids, -1 = empty */
    size_t vcap;
    pair_slot *pairs;       /* (pcap) */
    size_t pcap, n_merges;
    int32_t byte_id[256];   /* vocab id of each byte's alphabet character, -1 if none */
    int unk;
    cache_entry **cache;    /* (CACHE_SLOTS) */
    size_t cache_n;
    char desc[96];
};
#define CACHE_SLOTS (2 * CACHE_MAX_ENTRIES)


static uint64_t hash_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t x) { /* splitmix64 finaliser */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
}

/* Slot of token s in vmap: holds its id, or -1 where it would go. */
static size_t vocab_slot(const lb_tokenizer *t, const char *s, size_t n) {
    size_t i = hash_bytes(s, n) & (t->vcap - 1);
    for (;; i = (i + 1) & (t->vcap - 1)) {
        int32_t id = t->vmap[i];
        if (id < 0 || (t->tok_len[id] == n && memcmp(t->tok[id], s, n) == 0)) return i;
    }
}

static int vocab_find(const lb_tokenizer *t, const char *s, size_t n) {
    return t->vcap ? t->vmap[vocab_slot(t, s, n)] : -1;
}

static pair_slot *pair_find(const lb_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = hash_u64(key) & (t->pcap - 1);
    for (;; i = (i + 1) & (t->pcap - 1))
        if (t->pairs[i].key == key || t->pairs[i].key == UINT64_MAX) return &t->pairs[i];
}

/* Allocate the id → string arrays and the string map for vocab_size ids, n tokens. */
static int alloc_vocab(lb_tokenizer *t, int vocab_size, size_t n) {
    t->vocab_size = vocab_size;
    t->tok = calloc((size_t)vocab_size + 1, sizeof *t->tok);
    t->tok_len = calloc((size_t)vocab_size + 1, sizeof *t->tok_len);
    t->vcap = pow2_at_least(2 * n + 1);
    t->vmap = malloc(t->vcap * sizeof *t->vmap);
    if (!t->tok || !t->tok_len || !t->vmap) return -1;
    memset(t->vmap, 0xff, t->vcap * sizeof *t->vmap);
    return 0;
}

/* Add token s (n bytes) as id; 1 = token already present, 2 = id taken, -1 = OOM. */
static int vocab_add(lb_tokenizer *t, const char *s, size_t n, int id) {
    size_t slot = vocab_slot(t, s, n);
    if (t->vmap[slot] >= 0) return 1;
    if (t->tok[id]) return 2;
    if (!(t->tok[id] = malloc(n + 1))) return -1;
    memcpy(t->tok[id], s, n);
    t->tok[id][n] = 0;
    t->tok_len[id] = (uint32_t)n;
    t->vmap[slot] = id;
    return 0;
}

static lb_tokenizer *new_tokenizer(lb_tok_kind kind) {
    lb_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->kind = kind;
    t->unk = -1;
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    return t;
}

static void cache_clear(lb_tokenizer *t) {
    if (!t->cache) return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) free(t->cache[i]), t->cache[i] = NULL;
    t->cache_n = 0;
}

void lb_tokenizer_free(lb_tokenizer *t) {
    if (!t) return;
    for (int i = 0; t->tok && i < t->vocab_size; i++) free(t->tok[i]);
    free(t->tok);
    free(t->tok_len);
    free(t->vmap);
    free(t->pairs);
    cache_clear(t);
    free(t->cache);
    free(t);
}

/* Whole file into a NUL-terminated buffer. */
static char *read_all(const char *path, size_t *len, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f) return lb_fail(msg, msglen, "%s: cannot open: %s", path, strerror(errno)), NULL;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? 2 * cap : 65536 * 2;
            char *nb = cap > MAX_FILE + 65536 * 2 ? NULL : realloc(buf, cap);
            if (!nb) {
                lb_fail(msg, msglen, "%s: too large (limit %zu bytes) or out of memory", path, MAX_FILE);
                goto err;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (got < 65536) break;
    }
    if (ferror(f)) {
        lb_fail(msg, msglen, "%s: read error: %s", path, strerror(errno));
        goto err;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
err:
    fclose(f);
    free(buf);
    return NULL;
}

static int line_of(const char *buf, const char *at) {
    int line = 1;
    for (const char *p = buf; p < at && *p; p++) line += *p == '\n';
    return line;
}

/* buf[0..len) is the vocab.json text; path names it in messages. */
static int load_vocab(lb_tokenizer *t, const char *buf, size_t len, const char *path, char *msg,
                      size_t msglen) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    int rc = -1, max_id = -1, n = 0;
    if (!root) {
        lb_fail(msg, msglen, "%s: line %d: not valid JSON", path, line_of(buf, end ? end : buf + len));
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        lb_fail(msg, msglen, "%s: expected a JSON object mapping token → id", path);
        goto out;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || !(v >= 0 && v < MAX_ID) || v != (double)(int)v) {
            lb_fail(msg, msglen, "%s: token \"%s\": id must be an integer in [0, %d)", path, it->string,
                 MAX_ID);
            goto out;
        }
        if ((int)v > max_id) max_id = (int)v;
        n++;
    }
    if (n == 0) {
        lb_fail(msg, msglen, "%s: empty vocabulary", path);
        goto out;
    }
    if (alloc_vocab(t, max_id + 1, (size_t)n)) {
        lb_fail(msg, msglen, "%s: out of memory", path);
        goto out;
    }
    cJSON_ArrayForEach(it, root) {
        int id = (int)it->valuedouble, r = vocab_add(t, it->string, strlen(it->string), id);
        if (r == 1) lb_fail(msg, msglen, "%s: token \"%s\" appears twice", path, it->string);
        if (r == 2)
            lb_fail(msg, msglen, "%s: duplicate id %d: tokens \"%s\" and \"%s\"", path, id, t->tok[id],
                 it->string);
        if (r == -1) lb_fail(msg, msglen, "%s: out of memory", path);
        if (r) goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

/* buf[0..len) is the merges.txt text (modified in place, restored line by line). */
static int load_merges(lb_tokenizer *t, char *buf, size_t len, const char *path, char *msg,
                       size_t msglen) {
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    t->pcap = pow2_at_least(2 * lines + 1);
    if (!(t->pairs = malloc(t->pcap * sizeof *t->pairs))) return lb_fail(msg, msglen, "%s: out of memory", path);
    for (size_t i = 0; i < t->pcap; i++) t->pairs[i].key = UINT64_MAX;
    char *p = buf, *bufend = buf + len;
    for (size_t line = 1; p < bufend; line++) {
        char *nl = memchr(p, '\n', (size_t)(bufend - p)), *e = nl ? nl : bufend;
        char *next = nl ? nl + 1 : bufend;
        if (e > p && e[-1] == '\r') e--;
        if (e == p || (line == 1 && e - p >= 8 && memcmp(p, "#version", 8) == 0)) {
            p = next;
            continue;
        }
        char *sp = memchr(p, ' ', (size_t)(e - p));
        if (!sp || sp == p || sp + 1 == e || memchr(sp + 1, ' ', (size_t)(e - sp - 1))) {
            return lb_fail(msg, msglen, "%s: line %zu: expected two tokens separated by one space",
                        path, line);
        }
        size_t nleft = (size_t)(sp - p), nr = (size_t)(e - sp - 1);
        int a = vocab_find(t, p, nleft), b = vocab_find(t, sp + 1, nr), m = -1;
        const char *which = a < 0 ? "left token" : b < 0 ? "right token" : NULL;
        if (!which) { /* join the halves in place to look up the merged token */
            memmove(sp, sp + 1, nr);
            m = vocab_find(t, p, nleft + nr);
            memmove(sp + 1, sp, nr);
            *sp = ' ';
            if (m < 0) which = "merged token";
        }
        if (which) {
            lb_fail(msg, msglen, "%s: line %zu: the %s of merge \"%.*s\" is not in the vocabulary",
                 path, line, which, (int)(e - p), p);
            return -1;
        }
        /* A repeated pair takes its later rank, as GPT-2's dict(zip(merges, ranks))
         * and HuggingFace's map construction both do. */
        pair_slot *s = pair_find(t, a, b);
        s->key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
        s->rank = (int32_t)t->n_merges++;
        s->id = m;
        p = next;
    }
    return 0;
}

static void finish(lb_tokenizer *t) {
    for (int b = 0; b < 256; b++) {
        uint32_t cp = lb_gpt2_byte_to_cp((unsigned char)b);
        char u[2] = {(char)cp, 0};
        size_t n = 1;
        if (cp >= 0x80) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
        t->byte_id[b] = t->kind == LB_TOK_BPE ? vocab_find(t, u, n) : b + t->offset;
    }
    t->unk = lb_tokenizer_token_id(t, "<unk>");
    if (t->unk < 0) t->unk = lb_tokenizer_token_id(t, "[UNK]");
    if (t->kind == LB_TOK_BPE)
        snprintf(t->desc, sizeof t->desc, "gpt2-bpe vocab=%d merges=%zu", t->vocab_size, t->n_merges);
    else
        snprintf(t->desc, sizeof t->desc, "bytes offset=%d", t->offset);
}

int lb_tokenizer_parse_bpe(lb_tokenizer **out, const char *vocab, size_t vocab_len,
                           const char *merges, size_t merges_len, const char *vocab_name,
                           const char *merges_name, char *msg, size_t msglen) {
    lb_tokenizer *t = new_tokenizer(LB_TOK_BPE);
    char *m = malloc(merges_len + 1);
    *out = NULL;
    if (!t || !m) {
        lb_tokenizer_free(t);
        free(m);
        return lb_fail(msg, msglen, "out of memory");
    }
    if (merges_len) memcpy(m, merges, merges_len);
    if (load_vocab(t, vocab, vocab_len, vocab_name, msg, msglen) ||
        load_merges(t, m, merges_len, merges_name, msg, msglen)) {
        lb_tokenizer_free(t);
        free(m);
        return -1;
    }
    free(m);
    finish(t);
    *out = t;
    return 0;
}

int lb_tokenizer_load_bpe(lb_tokenizer **out, const char *vocab_path, const char *merges_path,
                          char *msg, size_t msglen) {
    size_t vl, ml;
    *out = NULL;
    char *v = read_all(vocab_path, &vl, msg, msglen), *m = v ? read_all(merges_path, &ml, msg, msglen) : NULL;
    int rc = v && m ? lb_tokenizer_parse_bpe(out, v, vl, m, ml, vocab_path, merges_path, msg, msglen) : -1;
    free(v);
    free(m);
    return rc;
}

int lb_tokenizer_bytes(lb_tokenizer **out, int offset, char *msg, size_t msglen) {
    static const char *names[4] = {"<s>", "<pad>", "</s>", "<unk>"};
    *out = NULL;
    if (offset < 0 || offset > (1 << 20))
        return lb_fail(msg, msglen, "byte tokenizer: offset %d outside [0, %d]", offset, 1 << 20);
    lb_tokenizer *t = new_tokenizer(LB_TOK_BYTES);
    if (!t || alloc_vocab(t, offset + 256, 4)) {
        lb_tokenizer_free(t);
        return lb_fail(msg, msglen, "out of memory");
    }
    t->offset = offset;
    for (int i = 0; offset >= 4 && i < 4; i++)
        if (vocab_add(t, names[i], strlen(names[i]), i)) {
            lb_tokenizer_free(t);
            return lb_fail(msg, msglen, "out of memory");
        }
    finish(t);
    *out = t;
    return 0;
}

int lb_tokenizer_for_model(lb_tokenizer **out, const char *dir, char *msg, size_t msglen) {
    char v[4096], m[4096];
    *out = NULL;
    if (snprintf(v, sizeof v, "%s/vocab.json", dir) >= (int)sizeof v ||
        snprintf(m, sizeof m, "%s/merges.txt", dir) >= (int)sizeof m)
        return lb_fail(msg, msglen, "%s: path too long", dir);
    int hv = access(v, F_OK) == 0, hm = access(m, F_OK) == 0;
    if (!hv && !hm) {
        lb_fail(msg, msglen,
             "%s: no vocab.json + merges.txt (only GPT-2 byte-level BPE is read; "
             "a BERT WordPiece vocab.txt is not supported): give token ids instead",
             dir);
        return 1;
    }
    if (!hv || !hm) return lb_fail(msg, msglen, "%s: missing (it has %s but not this file)",
                                hv ? m : v, hv ? "vocab.json" : "merges.txt");
    return lb_tokenizer_load_bpe(out, v, m, msg, msglen);
}

lb_tok_kind lb_tokenizer_kind(const lb_tokenizer *t) { return t->kind; }
int lb_tokenizer_vocab_size(const lb_tokenizer *t) { return t->vocab_size; }
const char *lb_tokenizer_describe(const lb_tokenizer *t) { return t->desc; }

int lb_tokenizer_token_id(const lb_tokenizer *t, const char *name) {
    return vocab_find(t, name, strlen(name));
}

void lb_tokenizer_specials(const lb_tokenizer *t, int *bos, int *eos, int *pad) {
    static const char *names[3][2] = {{"<s>", "[CLS]"}, {"</s>", "[SEP]"}, {"<pad>", "[PAD]"}};
    int *dst[3] = {bos, eos, pad};
    for (int i = 0; i < 3; i++) {
        if (!dst[i]) continue;
        *dst[i] = lb_tokenizer_token_id(t, names[i][0]);
        if (*dst[i] < 0) *dst[i] = lb_tokenizer_token_id(t, names[i][1]);
    }
}

/* ---- encoding ---- */

typedef struct {
    int32_t rank, pos, a, b;
} cand;

static int cand_less(const cand *x, const cand *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}

static void heap_push(cand *h, int *n, cand c) {
    int i = (*n)++;
    while (i > 0 && cand_less(&c, &h[(i - 1) / 2])) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
    h[i] = c;
}

static cand heap_pop(cand *h, int *n) {
    cand top = h[0], last = h[--*n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && cand_less(&h[c + 1], &h[c])) c++;
        if (!cand_less(&h[c], &last)) break;
        h[i] = h[c], i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static void push_pair(const lb_tokenizer *t, cand *h, int *nh, const int32_t *id, int l, int r) {
    if (l < 0 || r < 0 || id[l] < 0 || id[r] < 0) return;
    const pair_slot *s = pair_find(t, id[l], id[r]);
    if (s->key != UINT64_MAX) heap_push(h, nh, (cand){s->rank, l, id[l], id[r]});
}

/* BPE of one piece s[0..n) into res (a symbol whose byte has no vocab character is
 * -1 - byte). id/next/prev are (n); heap holds 3n: n − 1 initial pairs plus at most
 * two new ones per merge. res->v has room for n. */
static void bpe_piece(const lb_tokenizer *t, lb_ids *res, const unsigned char *s, int n, int32_t *id,
                      int32_t *next, int32_t *prev, cand *heap) {
    int nh = 0;
    for (int i = 0; i < n; i++) {
        id[i] = t->byte_id[s[i]] >= 0 ? t->byte_id[s[i]] : -1 - s[i];
        next[i] = i + 1 < n ? i + 1 : -1;
        prev[i] = i - 1;
    }
    for (int i = 0; i + 1 < n; i++) push_pair(t, heap, &nh, id, i, i + 1);
    while (nh > 0) {
        cand c = heap_pop(heap, &nh);
        int r = next[c.pos];
        /* Skip entries made stale by an earlier merge at or next to this position. */
        if (id[c.pos] != c.a || r < 0 || id[r] != c.b) continue;
        id[c.pos] = pair_find(t, c.a, c.b)->id;
        next[c.pos] = next[r];
        if (next[r] >= 0) prev[next[r]] = c.pos;
        id[r] = INT32_MIN; /* dead */
        push_pair(t, heap, &nh, id, prev[c.pos], c.pos);
        push_pair(t, heap, &nh, id, c.pos, next[c.pos]);
    }
    res->n = 0;
    for (int i = 0; i >= 0; i = next[i]) res->v[res->n++] = id[i];
}

static cache_entry *cache_get(const lb_tokenizer *t, const char *s, size_t n, uint64_t h) {
    for (size_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        cache_entry *e = t->cache[i];
        if (!e || (e->h == h && e->klen == n && memcmp(e->ids + e->nids, s, n) == 0)) return e;
    }
}

static void cache_put(lb_tokenizer *t, const char *s, size_t n, uint64_t h, const lb_ids *r) {
    if (t->cache_n >= CACHE_MAX_ENTRIES) cache_clear(t); /* bounded memory; simple reset */
    cache_entry *e = malloc(sizeof *e + r->n * sizeof(int32_t) + n);
    if (!e) return; /* the cache is optional */
    e->h = h, e->klen = (uint32_t)n, e->nids = (uint32_t)r->n;
    e->ids = (int32_t *)(e + 1);
    memcpy(e->ids, r->v, r->n * sizeof(int32_t));
    memcpy(e->ids + r->n, s, n);
    size_t i = h & (CACHE_SLOTS - 1);
    while (t->cache[i]) i = (i + 1) & (CACHE_SLOTS - 1);
    t->cache[i] = e;
    t->cache_n++;
}

/* Append ids, resolving bytes without a vocab character to <unk> or an error. */
static int emit(const lb_tokenizer *t, lb_ids *out, const int32_t *ids, size_t n, char *msg,
                size_t msglen) {
    for (size_t i = 0; i < n; i++) {
        int32_t v = ids[i] >= 0 ? ids[i] : t->unk;
        if (v < 0)
            return lb_fail(msg, msglen, "byte 0x%02x has no token in the vocabulary and there is no <unk>",
                        (unsigned)(-1 - ids[i]));
        if (lb_ids_push(out, &v, 1)) return lb_fail(msg, msglen, "out of memory");
    }
    return 0;
}

int lb_tokenizer_encode(lb_tokenizer *t, lb_ids *out, const char *text, size_t len, char *msg,
                        size_t msglen) {
    if (t->kind == LB_TOK_BYTES) {
        for (size_t i = 0; i < len; i++) {
            int32_t v = (unsigned char)text[i] + t->offset;
            if (lb_ids_push(out, &v, 1)) return lb_fail(msg, msglen, "out of memory");
        }
        return 0;
    }
    if (!t->cache && !(t->cache = calloc(CACHE_SLOTS, sizeof *t->cache)))
        return lb_fail(msg, msglen, "out of memory");
    size_t wcap = 0;
    int32_t *work = NULL;
    lb_ids res = {0};
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        size_t n = lb_pretok_next(text + pos, len - pos);
        const char *s = text + pos;
        pos += n;
        uint64_t h = hash_bytes(s, n);
        cache_entry *e = n <= CACHE_MAX_PIECE ? cache_get(t, s, n, h) : NULL;
        if (e) {
            rc = emit(t, out, e->ids, e->nids, msg, msglen);
            continue;
        }
        if (n > (size_t)INT32_MAX / 8) {
            rc = lb_fail(msg, msglen, "a single pre-token of %zu bytes is too long", n);
            break;
        }
        if (n > wcap) { /* id, next, prev, result, then 3n cands (4 int32 each) */
            wcap = n > 2 * wcap ? n : 2 * wcap; /* 60 bytes of work per byte */
            free(work);
            free(res.v);
            work = malloc(wcap * 15 * sizeof(int32_t));
            res.v = malloc(wcap * sizeof(int32_t));
            res.cap = wcap;
            if (!work || !res.v) {
                rc = lb_fail(msg, msglen, "out of memory");
                break;
            }
        }
        bpe_piece(t, &res, (const unsigned char *)s, (int)n, work, work + wcap, work + 2 * wcap,
                  (cand *)(work + 3 * wcap));
        if (n <= CACHE_MAX_PIECE) cache_put(t, s, n, h, &res);
        rc = emit(t, out, res.v, res.n, msg, msglen);
    }
    free(work);
    free(res.v);
    return rc;
}

char *lb_tokenizer_decode(const lb_tokenizer *t, const int32_t *ids, size_t n, size_t *out_len) {
    size_t len = 0, cap = 64;
    char *s = malloc(cap);
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) {
        char tmp[32];
        const char *p = tmp;
        size_t pn;
        int32_t id = ids[i];
        int byte = -1;
        if (t->kind == LB_TOK_BYTES && id >= t->offset && id < t->vocab_size) {
            byte = id - t->offset;
            tmp[0] = (char)byte, pn = 1;
        } else if (id >= 0 && id < t->vocab_size && t->tok[id]) {
            p = t->tok[id], pn = t->tok_len[id];
        } else {
            pn = (size_t)snprintf(tmp, sizeof tmp, "<?%d>", (int)id);
        }
        if (len + pn + 1 > cap) {
            while (len + pn + 1 > cap) cap *= 2;
            char *ns = realloc(s, cap);
            if (!ns) return free(s), NULL;
            s = ns;
        }
        /* Map the token's alphabet characters back to bytes; a token with any other
         * character (a special written outside the alphabet) is copied as spelled. */
        size_t start = len;
        int mapped = t->kind == LB_TOK_BPE && p != tmp;
        for (size_t k = 0; mapped && k < pn;) {
            uint32_t cp;
            k += (size_t)lb_utf8_next((const unsigned char *)p + k, pn - k, &cp);
            int b = lb_gpt2_cp_to_byte(cp);
            if (b < 0) mapped = 0, len = start;
            else s[len++] = (char)b;
        }
        if (!mapped) memcpy(s + len, p, pn), len += pn;
    }
    s[len] = 0;
    if (out_len) *out_len = len;
    return s;
}
