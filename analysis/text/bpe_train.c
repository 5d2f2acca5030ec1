/* Byte-level BPE training (lb_bpe_train.h); the output side is bpe_train_out.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe_train_int.h"
#include "lb_tokenizer.h"
#include "lb_util.h"


int lb_bpe_grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Both hash tables (spellings and pairs) keep their entries in an array and find them
 * through slots: open addressing with linear probing, -1 empty, else an entry's index.
 * Rebuild *slot at cap slots (a power of two) for entries 0 .. n-1, whose hashes
 * hash(ctx, i) gives, and set *slot_cap. -1 when out of memory (the old table kept). */
static int slots_rebuild(int32_t **slot, size_t *slot_cap, size_t cap, size_t n,
                         uint64_t (*hash)(const void *ctx, size_t i), const void *ctx) {
    int32_t *s = malloc(cap * sizeof *s);
    if (!s) return -1;
    memset(s, 0xff, cap * sizeof *s);
    for (size_t i = 0; i < n; i++) {
        size_t j = hash(ctx, i) & (cap - 1);
        while (s[j] >= 0) j = (j + 1) & (cap - 1);
        s[j] = (int32_t)i;
    }
    free(*slot);
    *slot = s;
    *slot_cap = cap;
    return 0;
}

static uint64_t str_hash(const void *m, size_t i) { return ((const bpe_str_map *)m)->e[i].hash; }

/* Index of the entry spelled s[0..n), created with value v if absent; -1 on OOM. */
static long map_get(bpe_str_map *m, const char *s, size_t n, int64_t v, int *created) {
    if (m->n + 1 > m->cap / 2 &&
        slots_rebuild(&m->slot, &m->cap, m->cap ? m->cap * 2 : 1024, m->n, str_hash, m))
        return -1;
    uint64_t h = lb_hash_bytes(s, n);
    size_t j = h & (m->cap - 1);
    for (int32_t i; (i = m->slot[j]) >= 0; j = (j + 1) & (m->cap - 1)) {
        bpe_str_entry *e = &m->e[i];
        if (e->hash == h && e->len == n && !memcmp(m->arena + e->off, s, n)) {
            *created = 0;
            return i;
        }
    }
    if (n > UINT32_MAX || m->n >= INT32_MAX ||
        lb_bpe_grow((void **)&m->e, &m->cap_e, m->n + 1, sizeof *m->e) ||
        lb_bpe_grow((void **)&m->arena, &m->cap_arena, m->used + n + 1, 1))
        return -1;
    memcpy(m->arena + m->used, s, n);
    m->e[m->n] = (bpe_str_entry){h, m->used, (uint32_t)n, v};
    m->used += n;
    m->slot[j] = (int32_t)m->n;
    *created = 1;
    return (long)m->n++;
}

static void map_free(bpe_str_map *m) {
    free(m->e);
    free(m->slot);
    free(m->arena);
}

void lb_bpe_train_opts_default(lb_bpe_train_opts *o) {
    o->vocab_size = 8192;
    o->min_frequency = 2;
}

static int put_cp(char *out, uint32_t cp) { /* UTF-8 of a code point < 0x800 */
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

static int add_token(lb_bpe_trainer *t, const char *s, size_t n, int32_t *sym) {
    int created;
    long i = map_get(&t->toks, s, n, (int64_t)t->n_tok, &created);
    if (i < 0) return -1;
    if (created) {
        if (lb_bpe_grow((void **)&t->tok, &t->cap_tok, t->n_tok + 1, sizeof *t->tok)) return -1;
        t->tok[t->n_tok++] = (bpe_span){(uint32_t)t->toks.e[i].off, (uint32_t)n};
    }
    *sym = (int32_t)t->toks.e[i].value;
    return 0;
}

int lb_bpe_trainer_init(lb_bpe_trainer **out, char *msg, size_t msglen) {
    lb_bpe_trainer *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t) return lb_fail(msg, msglen, "out of memory");
    for (int b = 0; b < 256; b++) {
        char s[4];
        int32_t sym;
        if (add_token(t, s, put_cp(s, lb_gpt2_byte_to_cp((unsigned char)b)), &sym)) {
            lb_bpe_trainer_free(t);
            return lb_fail(msg, msglen, "out of memory");
        }
    }
    *out = t;
    return 0;
}

void lb_bpe_trainer_free(lb_bpe_trainer *t) {
    if (!t) return;
    map_free(&t->words);
    map_free(&t->toks);
    for (size_t i = 0; i < t->n_pe; i++) free(t->pe[i].w);
    free(t->pe);
    free(t->pslot);
    free(t->heap);
    free(t->tok);
    free(t->merge);
    free(t->sym);
    free(t->wlen);
    free(t->woff);
    free(t->wfreq);
    free(t);
}

int lb_bpe_trainer_add(lb_bpe_trainer *t, const char *text, size_t len, char *msg, size_t msglen) {
    if (t->ran) return lb_fail(msg, msglen, "text added after training");
    for (size_t p = 0; p < len;) {
        size_t k = lb_pretok_next(text + p, len - p);
        int created;
        long i = map_get(&t->words, text + p, k, 0, &created);
        if (i < 0) return lb_fail(msg, msglen, "out of memory counting words");
        t->words.e[i].value++;
        t->pretokens++;
        p += k;
    }
    t->bytes += len;
    return 0;
}

/* ---- pairs and the heap ---- */

static int tok_cmp(const lb_bpe_trainer *t, int32_t x, int32_t y) {
    bpe_span a = t->tok[x], b = t->tok[y];
    int c = memcmp(t->toks.arena + a.off, t->toks.arena + b.off, a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* 1 when heap item x should come out before y. */
static int better(const lb_bpe_trainer *t, bpe_heap_item x, bpe_heap_item y) {
    if (x.count != y.count) return x.count > y.count;
    const bpe_pair *p = &t->pe[x.pair], *q = &t->pe[y.pair];
    int c = tok_cmp(t, p->a, q->a);
    return (c ? c : tok_cmp(t, p->b, q->b)) < 0;
}

static int heap_push(lb_bpe_trainer *t, int32_t pair) {
    if (lb_bpe_grow((void **)&t->heap, &t->cap_heap, t->n_heap + 1, sizeof *t->heap)) return -1;
    bpe_heap_item it = {t->pe[pair].count, pair};
    t->pe[pair].top = it.count;
    size_t i = t->n_heap++;
    while (i > 0 && better(t, it, t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = it;
    return 0;
}

static bpe_heap_item heap_pop(lb_bpe_trainer *t) {
    bpe_heap_item top = t->heap[0], last = t->heap[--t->n_heap];
    size_t i = 0, n = t->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && better(t, t->heap[c + 1], t->heap[c])) c++;
        if (!better(t, t->heap[c], last)) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n) t->heap[i] = last;
    return top;
}

static uint64_t pair_hash(int32_t a, int32_t b) { return lb_mix64((uint64_t)(uint32_t)a << 32 | (uint32_t)b); }

static uint64_t pe_hash(const void *t, size_t i) {
    const bpe_pair *p = &((const lb_bpe_trainer *)t)->pe[i];
    return pair_hash(p->a, p->b);
}

/* Add delta × (a,b); word w (>= 0) is listed with the pair. Returns the pair or -1. */
static long pair_add(lb_bpe_trainer *t, int32_t a, int32_t b, int64_t delta, int32_t w) {
    if (t->n_pe + 1 > t->pcap / 2 &&
        slots_rebuild(&t->pslot, &t->pcap, t->pcap ? t->pcap * 2 : 4096, t->n_pe, pe_hash, t))
        return -1;
    size_t j = pair_hash(a, b) & (t->pcap - 1);
    int32_t i;
    while ((i = t->pslot[j]) >= 0 && !(t->pe[i].a == a && t->pe[i].b == b))
        j = (j + 1) & (t->pcap - 1);
    if (i < 0) {
        if (t->n_pe >= INT32_MAX || lb_bpe_grow((void **)&t->pe, &t->cap_pe, t->n_pe + 1, sizeof *t->pe))
            return -1;
        i = (int32_t)t->n_pe++;
        t->pe[i] = (bpe_pair){.a = a, .b = b};
        t->pslot[j] = i;
    }
    bpe_pair *p = &t->pe[i];
    p->count += delta;
    if (w >= 0 && (p->nw == 0 || p->w[p->nw - 1] != w)) {
        size_t cap = (size_t)p->capw;
        if (lb_bpe_grow((void **)&p->w, &cap, (size_t)p->nw + 1, sizeof *p->w)) return -1;
        p->capw = (int32_t)cap;
        p->w[p->nw++] = w;
    }
    return i;
}

static int cmp_i32(const void *x, const void *y) {
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

/* Merge (a,b) → s in every word listed for pair pi; pairs that gain are re-pushed. */
static int apply_merge(lb_bpe_trainer *t, int32_t pi, int32_t s) {
    int32_t a = t->pe[pi].a, b = t->pe[pi].b, *ws = t->pe[pi].w, nw = t->pe[pi].nw;
    t->pe[pi].w = NULL; /* its count drops to 0; later occurrences start a new list */
    t->pe[pi].nw = t->pe[pi].capw = 0;
    qsort(ws, (size_t)nw, sizeof *ws, cmp_i32);
    int32_t *touched = NULL;
    size_t n_touched = 0, cap_touched = 0;
    int rc = 0;
    for (int32_t k = 0; k < nw && !rc; k++) {
        int32_t w = ws[k];
        if (k && ws[k - 1] == w) continue;
        int32_t *x = t->sym + t->woff[w], n = t->wlen[w], found = 0;
        int64_t f = t->wfreq[w];
        for (int32_t i = 0; i + 1 < n && !found; i++) found = x[i] == a && x[i + 1] == b;
        if (!found) continue;
        for (int32_t i = 0; i + 1 < n && !rc; i++) rc = pair_add(t, x[i], x[i + 1], -f, -1) < 0;
        int32_t m = 0;
        for (int32_t i = 0; i < n; m++) {
            if (i + 1 < n && x[i] == a && x[i + 1] == b) {
                x[m] = s;
                i += 2;
            } else {
                x[m] = x[i++];
            }
        }
        t->wlen[w] = n = m;
        for (int32_t i = 0; i + 1 < n && !rc; i++) {
            /* only pairs with the new symbol are new to this word; the others were
             * there before, already list it, and just get their count back */
            int fresh = x[i] == s || x[i + 1] == s;
            long q = pair_add(t, x[i], x[i + 1], f, fresh ? w : -1);
            if (q < 0 || (fresh && lb_bpe_grow((void **)&touched, &cap_touched, n_touched + 1,
                                        sizeof *touched)))
                rc = -1;
            else if (fresh)
                touched[n_touched++] = (int32_t)q;
        }
    }
    for (size_t i = 0; i < n_touched && !rc; i++)
        if (t->pe[touched[i]].count > t->pe[touched[i]].top) rc = heap_push(t, touched[i]);
    free(touched);
    free(ws);
    return rc;
}

static int setup_words(lb_bpe_trainer *t) {
    size_t n = t->words.n, total = 0;
    t->woff = malloc((n + 1) * sizeof *t->woff);
    t->wlen = malloc((n + 1) * sizeof *t->wlen);
    t->wfreq = malloc((n + 1) * sizeof *t->wfreq);
    t->sym = malloc((t->words.used + 1) * sizeof *t->sym);
    if (!t->woff || !t->wlen || !t->wfreq || !t->sym) return -1;
    for (size_t i = 0; i < n; i++) {
        const bpe_str_entry *e = &t->words.e[i];
        if (e->len < 2) continue; /* no pair inside */
        t->woff[t->n_w] = total;
        t->wlen[t->n_w] = (int32_t)e->len;
        t->wfreq[t->n_w] = e->value;
        for (uint32_t j = 0; j < e->len; j++)
            t->sym[total + j] = (unsigned char)t->words.arena[e->off + j];
        int32_t w = (int32_t)t->n_w++, *x = t->sym + total;
        for (uint32_t j = 0; j + 1 < e->len; j++)
            if (pair_add(t, x[j], x[j + 1], e->value, w) < 0) return -1;
        total += e->len;
    }
    for (size_t i = 0; i < t->n_pe; i++)
        if (heap_push(t, (int32_t)i)) return -1;
    return 0;
}

int lb_bpe_trainer_run(lb_bpe_trainer *t, const lb_bpe_train_opts *o, char *msg, size_t msglen) {
    if (t->ran) return lb_fail(msg, msglen, "the trainer has already run");
    if (o->vocab_size < LB_BPE_MIN_VOCAB || o->vocab_size > LB_BPE_MAX_VOCAB)
        return lb_fail(msg, msglen,
                    "--vocab-size %ld: expected %d..%d (4 specials + 256 bytes + <mask> + merges)",
                    o->vocab_size, LB_BPE_MIN_VOCAB, LB_BPE_MAX_VOCAB);
    if (o->min_frequency < 1)
        return lb_fail(msg, msglen, "--min-frequency %ld: expected >= 1", o->min_frequency);
    if (t->pretokens == 0) return lb_fail(msg, msglen, "no text to train on (empty input)");
    if (t->words.n >= INT32_MAX || t->words.used >= INT32_MAX)
        return lb_fail(msg, msglen, "input too large: %zu distinct words of %zu bytes (limit 2^31)",
                    t->words.n, t->words.used);
    t->ran = 1;
    if (setup_words(t)) return lb_fail(msg, msglen, "out of memory setting up %zu words", t->words.n);
    size_t want = (size_t)o->vocab_size - 5; /* symbols wanted: 256 bytes + merged ones */
    char buf[1024], *big = NULL;
    while (t->n_tok < want && t->n_heap > 0) {
        bpe_heap_item it = heap_pop(t);
        bpe_pair *p = &t->pe[it.pair];
        if (it.count != p->count) { /* stale: re-queue with its current count once */
            if (it.count == p->top) {
                p->top = 0;
                if (p->count > 0 && heap_push(t, it.pair)) return lb_fail(msg, msglen, "out of memory");
            }
            continue;
        }
        p->top = 0; /* no live entry is left; a later gain pushes again */
        if (p->count < o->min_frequency || p->count <= 0) break;
        bpe_span x = t->tok[p->a], y = t->tok[p->b];
        size_t n = (size_t)x.len + y.len;
        char *s = n <= sizeof buf ? buf : (big = realloc(big, n));
        int32_t sym;
        if (!s) return lb_fail(msg, msglen, "out of memory");
        memcpy(s, t->toks.arena + x.off, x.len);
        memcpy(s + x.len, t->toks.arena + y.off, y.len);
        int rc = add_token(t, s, n, &sym);
        if (!rc && lb_bpe_grow((void **)&t->merge, &t->cap_merge, (size_t)t->n_merge + 1,
                        sizeof *t->merge))
            rc = -1;
        if (!rc) {
            t->merge[t->n_merge][0] = p->a;
            t->merge[t->n_merge++][1] = p->b;
            t->last_count = (long)p->count;
            rc = apply_merge(t, it.pair, sym);
        }
        if (rc) {
            free(big);
            return lb_fail(msg, msglen, "out of memory after %ld merges", t->n_merge);
        }
    }
    free(big);
    return 0;
}

void lb_bpe_trainer_stats(const lb_bpe_trainer *t, lb_bpe_stats *s) {
    s->pretokens = t->pretokens;
    s->words = t->words.n;
    s->bytes = t->bytes;
    s->merges = t->n_merge;
    s->vocab = (long)t->n_tok + 5;
    s->last_count = t->last_count;
}

