/* Tests for analysis/text/corpus.c and analysis/text/ids_input.c: window policies against a
 * plain reference that builds the packed stream explicitly, seeds, batches, and the
 * input readers with their error messages. Exact comparisons: all integers. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_corpus.h"
#include "lb_npy.h"
#include "lb_test.h"
#include "lb_util.h"

/* Reference windows in start order: (count, n) ids and mask, from an explicit stream. */
static size_t ref_windows(const lb_docs *d, const lb_win_opts *o, int32_t **ids_out, float **mask_out) {
    size_t n = (size_t)o->n, c = n - 2, s = o->stride ? (size_t)o->stride : c, cnt = 0;
    int32_t *stream = malloc((d->n_tokens + d->n_docs + 1) * sizeof *stream);
    size_t L = 0;
    for (size_t j = 0; j < d->n_docs; j++) {
        if (j) stream[L++] = o->eos;
        for (size_t i = d->doc_off[j]; i < d->doc_off[j + 1]; i++) stream[L++] = d->tokens[i];
    }
    size_t maxw = d->n_docs + L + 1;
    int32_t *ids = malloc(maxw * n * sizeof *ids);
    float *mask = malloc(maxw * n * sizeof *mask);
    for (size_t w = 0;; w++) {
        const int32_t *src;
        size_t len;
        if (o->policy == LB_WIN_PAD) {
            if (w == d->n_docs) break;
            src = d->tokens + d->doc_off[w];
            len = d->doc_off[w + 1] - d->doc_off[w];
        } else {
            size_t st = w * s;
            if (w > 0 && (w - 1) * s + c >= L) break; /* previous window reached the end */
            if (o->drop_partial && st + c > L) break;
            src = stream + st;
            len = L - st;
        }
        if (len > c) len = c;
        int32_t *row = ids + cnt * n;
        float *mrow = mask + cnt * n;
        for (size_t i = 0; i < n; i++) {
            row[i] = i == 0 ? o->bos : i <= len ? src[i - 1] : i == len + 1 ? o->eos : o->pad;
            mrow[i] = i <= len + 1 ? 1.f : 0.f;
        }
        cnt++;
    }
    free(stream);
    *ids_out = ids;
    *mask_out = mask;
    return cnt;
}

/* Every window of w equals a distinct reference window; returns 1 if so. */
static int same_as_ref(const lb_windows *w, const lb_docs *d, const lb_win_opts *o, size_t *ref_count) {
    int32_t *rids;
    float *rmask;
    size_t rc = ref_windows(d, o, &rids, &rmask), n = (size_t)o->n, cnt = lb_windows_count(w);
    char *used = calloc(rc + 1, 1);
    lb_batch b;
    int ok = lb_batch_init(&b, 3, o->n, NULL, 0) == 0;
    *ref_count = rc;
    for (size_t first = 0; ok && first < cnt; first += (size_t)b.count) {
        if (lb_windows_fill(&b, w, first) <= 0) ok = 0;
        for (int r = 0; ok && r < b.count; r++) {
            size_t k = 0;
            while (k < rc && (used[k] || memcmp(rids + k * n, b.ids + (size_t)r * n, n * 4) ||
                              memcmp(rmask + k * n, b.mask + (size_t)r * n, n * 4)))
                k++;
            if (k == rc) ok = 0;
            else used[k] = 1;
            for (size_t i = 0; i < n; i++) ok &= b.token_types[(size_t)r * n + i] == 0;
        }
    }
    lb_batch_free(&b);
    free(used);
    free(rids);
    free(rmask);
    return ok;
}

static void add(lb_docs *d, int32_t first, int len) {
    int32_t t[64];
    for (int i = 0; i < len; i++) t[i] = first + i;
    lb_docs_add(d, t, (size_t)len);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static int ids_error(const char *path, const char *text, long vocab, const char *a, const char *b) {
    char msg[512] = "";
    lb_docs d;
    lb_docs_init(&d);
    if (text) write_file(path, text);
    int rc = lb_docs_read_ids(&d, path, vocab, msg, sizeof msg);
    lb_docs_free(&d);
    int ok = rc == -1 && strstr(msg, path) && strstr(msg, a) && (!b || strstr(msg, b));
    if (!ok) printf("  message was: %s\n", msg);
    return ok;
}

int main(void) {
    char msg[512];
    lb_docs d;
    lb_docs_init(&d);
    add(&d, 10, 5);
    add(&d, 20, 3);
    add(&d, 30, 1);
    lb_docs_add(&d, NULL, 0); /* empty documents are dropped */
    LB_CHECK(d.n_docs == 3 && d.n_tokens == 9, "docs %zu tokens %zu", d.n_docs, d.n_tokens);

    lb_win_opts o;
    lb_win_opts_default(&o);
    o.n = 6; /* content 4; stream 10..14 e 20..22 e 30 has 11 tokens */
    lb_windows *w = NULL;
    size_t rc;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == 0, "%s", msg);
    LB_CHECK(lb_windows_count(w) == 3 && lb_windows_total(w) == 3, "pack count %zu", lb_windows_count(w));
    LB_CHECK(same_as_ref(w, &d, &o, &rc) && rc == 3, "pack windows match the reference");
    LB_CHECK(strstr(lb_windows_describe(w), "pack n=6 stride=4 seed=1 bos=0 eos=2 pad=1 windows=3/3") != NULL,
             "describe: %s", lb_windows_describe(w));
    /* The last window: bos 22 eos 30 eos pad, mask 1 1 1 1 1 0 (explicit, not via ref). */
    lb_batch b;
    LB_CHECK(lb_batch_init(&b, 8, 6, msg, sizeof msg) == 0, "%s", msg);
    LB_CHECK(lb_windows_fill(&b, w, 0) == 3, "fill all");
    int found = 0;
    for (int r = 0; r < 3; r++) {
        const int32_t want[6] = {0, 22, 2, 30, 2, 1};
        const float wm[6] = {1, 1, 1, 1, 1, 0};
        found += !memcmp(b.ids + r * 6, want, sizeof want) && !memcmp(b.mask + r * 6, wm, sizeof wm);
    }
    LB_CHECK(found == 1, "tail window bos 22 eos 30 eos pad");
    LB_CHECK(lb_windows_fill(&b, w, 3) == 0, "fill past the end gives 0");
    lb_batch_free(&b);
    LB_CHECK(lb_batch_init(&b, 2, 5, msg, sizeof msg) == 0 && lb_windows_fill(&b, w, 0) == -1,
             "batch of another n refused");
    lb_batch_free(&b);
    LB_CHECK(lb_batch_init(&b, 2, 6, msg, sizeof msg) == 0 && lb_windows_fill(&b, w, 0) == 2 &&
                 lb_windows_fill(&b, w, 2) == 1,
             "batches of 2 over 3 windows: 2 then 1");
    lb_batch_free(&b);
    lb_windows_free(w);

    for (long s = 1; s <= 4; s++) { /* every stride, with and without drop_partial */
        for (int drop = 0; drop < 2; drop++) {
            o.stride = s, o.drop_partial = drop;
            size_t want = drop ? 1 + (11 - 4) / (size_t)s : 1 + (11 - 4 + (size_t)s - 1) / (size_t)s;
            int ok = lb_windows_init(&w, &d, &o, msg, sizeof msg) == 0;
            LB_CHECK(ok && lb_windows_count(w) == want && same_as_ref(w, &d, &o, &rc) && rc == want,
                     "stride %ld drop %d: %zu windows, want %zu", s, drop, ok ? lb_windows_count(w) : 0, want);
            lb_windows_free(w);
        }
    }
    o.stride = 0, o.drop_partial = 0;

    o.policy = LB_WIN_PAD; /* one window per document, truncated, padded */
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == 0 && lb_windows_count(w) == 3 &&
                 same_as_ref(w, &d, &o, &rc) && rc == 3,
             "pad windows match the reference");
    LB_CHECK(strncmp(lb_windows_describe(w), "pad n=6 seed=1", 14) == 0, "%s", lb_windows_describe(w));
    lb_windows_free(w);
    o.policy = LB_WIN_PACK;

    /* A window of n = 3 holds one content token; a corpus shorter than one window
     * gives one padded window. */
    o.n = 3;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == 0 && lb_windows_count(w) == 11 &&
                 same_as_ref(w, &d, &o, &rc),
             "n = 3: one token per window");
    lb_windows_free(w);
    o.n = 64;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == 0 && lb_windows_count(w) == 1 &&
                 same_as_ref(w, &d, &o, &rc),
             "short corpus: one padded window");
    lb_windows_free(w);
    o.drop_partial = 1;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == -1 && strstr(msg, "no full window"), "%s", msg);
    o.drop_partial = 0;

    /* Refusals, each with a message. */
    o.n = 2;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == -1 && strstr(msg, "n = 2") && !w, "%s", msg);
    o.n = 6, o.stride = 5;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == -1 && strstr(msg, "stride 5"), "%s", msg);
    o.stride = -1;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == -1 && strstr(msg, "stride -1"), "%s", msg);
    o.stride = 0, o.eos = -1;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == -1 && strstr(msg, "eos"), "%s", msg);
    o.eos = 2, o.max_count = -3;
    LB_CHECK(lb_windows_init(&w, &d, &o, msg, sizeof msg) == -1 && strstr(msg, "max count"), "%s", msg);
    o.max_count = 0;
    lb_docs empty;
    lb_docs_init(&empty);
    LB_CHECK(lb_windows_init(&w, &empty, &o, msg, sizeof msg) == -1 && strstr(msg, "empty corpus"), "%s", msg);

    /* Seeds: same seed same order, other seeds another order, max_count a prefix. */
    lb_docs big;
    lb_docs_init(&big);
    lb_rng r;
    lb_rng_seed(&r, 5);
    for (int j = 0; j < 40; j++) {
        int32_t t[64];
        int len = 1 + (int)(lb_rng_u64(&r) % 60);
        for (int i = 0; i < len; i++) t[i] = 3 + (int32_t)(lb_rng_u64(&r) % 1000);
        lb_docs_add(&big, t, (size_t)len);
    }
    o.n = 16, o.stride = 7;
    lb_windows *w1, *w2, *w3, *w4;
    lb_batch b1, b2;
    lb_batch_init(&b1, 1000, 16, NULL, 0);
    lb_batch_init(&b2, 1000, 16, NULL, 0);
    LB_CHECK(lb_windows_init(&w1, &big, &o, msg, sizeof msg) == 0 && same_as_ref(w1, &big, &o, &rc) &&
                 rc == lb_windows_count(w1) && rc > 100,
             "random corpus, stride 7: %zu windows match the reference", rc);
    lb_windows_init(&w2, &big, &o, msg, sizeof msg);
    lb_windows_fill(&b1, w1, 0);
    lb_windows_fill(&b2, w2, 0);
    LB_CHECK(b1.count == b2.count && !memcmp(b1.ids, b2.ids, (size_t)b1.count * 16 * 4), "same seed, same windows");
    o.seed = 2;
    lb_windows_init(&w3, &big, &o, msg, sizeof msg);
    lb_windows_fill(&b2, w3, 0);
    LB_CHECK(b1.count == b2.count && memcmp(b1.ids, b2.ids, (size_t)b1.count * 16 * 4), "other seed, other order");
    o.seed = 1, o.max_count = 10;
    lb_windows_init(&w4, &big, &o, msg, sizeof msg);
    lb_windows_fill(&b2, w4, 0);
    LB_CHECK(lb_windows_count(w4) == 10 && lb_windows_total(w4) == rc && b2.count == 10 &&
                 !memcmp(b1.ids, b2.ids, 10 * 16 * 4),
             "max_count keeps a prefix of the seeded order");
    /* Which windows come first depends on the seed: the first window is not always
     * the corpus start (a policy that only kept the order would pass the checks above). */
    int starts_differ = 0;
    for (uint64_t s = 1; s <= 8; s++) {
        lb_windows *ws;
        o.seed = s;
        lb_windows_init(&ws, &big, &o, msg, sizeof msg);
        lb_windows_fill(&b2, ws, 0);
        starts_differ += b2.ids[1] != big.tokens[0];
        lb_windows_free(ws);
    }
    LB_CHECK(starts_differ >= 6, "seeded first windows vary (%d of 8 differ from the start)", starts_differ);
    lb_batch_free(&b1);
    lb_batch_free(&b2);
    lb_windows_free(w1);
    lb_windows_free(w2);
    lb_windows_free(w3);
    lb_windows_free(w4);
    lb_docs_free(&big);

    /* Ids text files. */
    char dir[] = "/tmp/lbcorpusXXXXXX", path[256], npath[256];
    LB_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/ids.txt", dir);
    snprintf(npath, sizeof npath, "%s/ids.npy", dir);
    lb_docs t;
    lb_docs_init(&t);
    write_file(path, "5 6  7\n\n  \n8\t9\r\n");
    LB_CHECK(lb_docs_read_ids(&t, path, 10, msg, sizeof msg) == 0 && t.n_docs == 2 && t.n_tokens == 5 &&
                 t.tokens[3] == 8 && t.doc_off[1] == 3 && t.ready_n == 0,
             "ids text: %s", msg);
    lb_docs_free(&t);
    LB_CHECK(ids_error(path, "1 2\n3 x4 5\n", 0, "line 2", "x4"), "non-integer");
    LB_CHECK(ids_error(path, "1 -5\n", 0, "line 1", "negative"), "negative");
    LB_CHECK(ids_error(path, "1 2\n\n7\n", 5, "line 3", "past the vocabulary"), "past vocab");
    LB_CHECK(ids_error(path, "99999999999999999999999\n", 0, "line 1", "int32"), "huge");
    LB_CHECK(ids_error(path, "1.5\n", 0, "line 1", "1.5"), "fraction");
    LB_CHECK(ids_error(path, "\n \n", 0, "no token ids", NULL), "empty ids file");
    LB_CHECK(ids_error("/nonexistent/ids.txt", NULL, 0, "cannot open", NULL), "missing ids file");

    /* .npy ids: 1-D stream, 2-D ready sequences, wrong dtype/rank/values. */
    int32_t s1[5] = {4, 5, 6, 7, 8};
    int64_t sh1[1] = {5}, sh2[2] = {2, 4}, sh3[3] = {1, 2, 2};
    int64_t s2[8] = {0, 9, 2, 1, 0, 7, 7, 2};
    lb_npy_write(npath, LB_NPY_I32, 1, sh1, s1);
    LB_CHECK(lb_docs_read_ids(&t, npath, 0, msg, sizeof msg) == 0 && t.n_docs == 1 && t.n_tokens == 5 &&
                 t.tokens[4] == 8,
             "npy 1-D: %s", msg);
    lb_docs_free(&t);
    lb_npy_write(npath, LB_NPY_I64, 2, sh2, s2);
    LB_CHECK(lb_docs_read_ids(&t, npath, 10, msg, sizeof msg) == 0 && t.n_docs == 2 && t.ready_n == 4,
             "npy 2-D: %s", msg);
    o.n = 0, o.seed = 3, o.max_count = 0, o.pad = 1;
    LB_CHECK(lb_windows_init(&w, &t, &o, msg, sizeof msg) == 0 && lb_windows_n(w) == 4 &&
                 lb_windows_count(w) == 2 && strncmp(lb_windows_describe(w), "ready n=4", 9) == 0,
             "ready sequences: %s", msg);
    lb_batch_init(&b, 2, 4, NULL, 0);
    lb_windows_fill(&b, w, 0);
    int r0 = b.ids[1] == 9 ? 0 : 1; /* row holding sequence 0 */
    const float m0[4] = {1, 1, 1, 0};
    const int32_t q0[4] = {0, 9, 2, 1};
    LB_CHECK(!memcmp(b.ids + r0 * 4, q0, 16) && !memcmp(b.mask + r0 * 4, m0, 16),
             "ready sequence unchanged, mask 0 at pad");
    lb_batch_free(&b);
    lb_windows_free(w);
    o.n = 8;
    LB_CHECK(lb_windows_init(&w, &t, &o, msg, sizeof msg) == -1 && strstr(msg, "length 4"), "%s", msg);
    lb_docs_free(&t);
    LB_CHECK(ids_error(npath, NULL, 9, "element [0, 1]", "past the vocabulary"), "npy past vocab");
    s2[6] = -3;
    lb_npy_write(npath, LB_NPY_I64, 2, sh2, s2);
    LB_CHECK(ids_error(npath, NULL, 0, "element [1, 2]", "negative"), "npy negative");
    lb_npy_write(npath, LB_NPY_F32, 1, sh1, (float[]){1, 2, 3, 4, 5});
    LB_CHECK(ids_error(npath, NULL, 0, "int32 or int64", NULL), "npy float refused");
    lb_npy_write(npath, LB_NPY_I32, 3, sh3, s1);
    LB_CHECK(ids_error(npath, NULL, 0, "3-D", NULL), "npy 3-D refused");
    write_file(npath, "\x93NUMPY\x01");
    LB_CHECK(ids_error(npath, NULL, 0, "ids.npy", NULL), "truncated npy refused");

    /* Text through the byte tokenizer (offset 4): paragraphs and lines. */
    lb_tokenizer *bt;
    lb_tokenizer_bytes(&bt, 4, msg, sizeof msg);
    const char *text = "ab\n\ncd\r\nef\n \t\n\n g\n";
    LB_CHECK(lb_docs_from_text(&t, text, strlen(text), "mem", bt, 0, msg, sizeof msg) == 0 && t.n_docs == 3 &&
                 t.doc_off[1] == 2 && t.doc_off[2] == 2 + 6 && t.tokens[2] == 'c' + 4 && t.tokens[4] == '\r' + 4 &&
                 t.n_tokens == 10,
             "paragraphs: %zu docs %zu tokens: %s", t.n_docs, t.n_tokens, msg);
    lb_docs_free(&t);
    LB_CHECK(lb_docs_from_text(&t, text, strlen(text), "mem", bt, 1, msg, sizeof msg) == 0 && t.n_docs == 4 &&
                 t.doc_off[2] == 4 && t.n_tokens == 8,
             "lines: %zu docs %zu tokens", t.n_docs, t.n_tokens);
    lb_docs_free(&t);
    LB_CHECK(lb_docs_from_text(&t, "\n \n", 3, "blank.txt", bt, 0, msg, sizeof msg) == -1 &&
                 strstr(msg, "blank.txt") && strstr(msg, "no text"),
             "blank text refused: %s", msg);
    lb_docs_free(&t);
    snprintf(path, sizeof path, "%s/t.txt", dir);
    write_file(path, "x\n\ny");
    LB_CHECK(lb_docs_read_text(&t, path, bt, 0, msg, sizeof msg) == 0 && t.n_docs == 2, "text file: %s", msg);
    lb_docs_free(&t);
    LB_CHECK(lb_docs_read_text(&t, "/nonexistent.txt", bt, 0, msg, sizeof msg) == -1 &&
                 strstr(msg, "/nonexistent.txt"),
             "%s", msg);
    lb_docs_free(&t);
    lb_tokenizer_free(bt);
    unlink(path);
    snprintf(path, sizeof path, "%s/ids.txt", dir);
    unlink(path);
    unlink(npath);
    rmdir(dir);
    lb_docs_free(&d);
    return lb_test_summary("test_corpus");
}
