/* GPT-2 byte-level BPE encoding and decoding (see lb_tokenizer.h; the tables are
 * loaded by bpe_load.c). Working on ids is the same as working on strings because
 * vocab.json maps strings to ids one-to-one. Each pre-tokenized piece is merged with
 * a min-heap of candidate pairs ordered by (rank, position) over a linked list of
 * symbols, so equal-rank pairs merge left to right as in HuggingFace's and GPT-2's
 * implementations; stale heap entries are skipped when popped. Results for short
 * pieces are cached. */
#include <stdlib.h>
#include <string.h>

#include "bpe_int.h"
#include "lb_util.h"

void lb_bpe_cache_clear(lb_tokenizer *t) {
    if (!t->cache) return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) free(t->cache[i]), t->cache[i] = NULL;
    t->cache_n = 0;
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
    const pair_slot *s = lb_bpe_pair_find(t, id[l], id[r]);
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
        id[c.pos] = lb_bpe_pair_find(t, c.a, c.b)->id;
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
    if (t->cache_n >= CACHE_MAX_ENTRIES) lb_bpe_cache_clear(t); /* bounded memory; simple reset */
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
    if (t->kind == LB_TOK_WORDPIECE) return lb_wordpiece_encode(t, out, text, len, msg, msglen);
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
        uint64_t h = lb_hash_bytes(s, n);
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
