/* Loading GPT-2 byte-level BPE (vocab.json + merges.txt) and the byte tokenizer into
 * the tables of bpe_int.h: id → token string, an open-addressing map token string →
 * id, and an open-addressing map (left id, right id) → (rank, merged id). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bpe_int.h"
#include "lb_util.h"

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
}

/* Slot of token s in vmap: holds its id, or -1 where it would go. */
static size_t vocab_slot(const lb_tokenizer *t, const char *s, size_t n) {
    size_t i = lb_hash_bytes(s, n) & (t->vcap - 1);
    for (;; i = (i + 1) & (t->vcap - 1)) {
        int32_t id = t->vmap[i];
        if (id < 0 || (t->tok_len[id] == n && memcmp(t->tok[id], s, n) == 0)) return i;
    }
}

static int vocab_find(const lb_tokenizer *t, const char *s, size_t n) {
    return t->vcap ? t->vmap[vocab_slot(t, s, n)] : -1;
}

pair_slot *lb_bpe_pair_find(const lb_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = lb_mix64(key) & (t->pcap - 1);
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

void lb_tokenizer_free(lb_tokenizer *t) {
    if (!t) return;
    for (int i = 0; t->tok && i < t->vocab_size; i++) free(t->tok[i]);
    free(t->tok);
    free(t->tok_len);
    free(t->vmap);
    free(t->pairs);
    lb_bpe_cache_clear(t);
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
        pair_slot *s = lb_bpe_pair_find(t, a, b);
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
        int wp = lb_wordpiece_for_model(out, dir, msg, msglen); /* BERT: vocab.txt */
        if (wp <= 0) return wp;
        lb_fail(msg, msglen,
             "%s: no vocab.json + merges.txt (GPT-2 byte-level BPE) and no vocab.txt "
             "(BERT WordPiece): give token ids instead",
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

lb_tokenizer *lb_bpe_new(lb_tok_kind kind) { return new_tokenizer(kind); }
int lb_bpe_vocab_alloc(lb_tokenizer *t, int vocab_size, size_t n) {
    return alloc_vocab(t, vocab_size, n);
}
int lb_bpe_vocab_add(lb_tokenizer *t, const char *s, size_t n, int id) {
    return vocab_add(t, s, n, id);
}
int lb_bpe_vocab_find(const lb_tokenizer *t, const char *s, size_t n) {
    return vocab_find(t, s, n);
}
