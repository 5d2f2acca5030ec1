/* Unit tests of the byte-level BPE trainer (analysis/text/lb_bpe_train.h) on tiny texts
 * whose merges are worked out by hand in the comments. Merges are discrete, so every
 * comparison is exact. The Python oracle (tests/analysis/text/test_bpe_train.py) covers larger
 * random texts. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_bpe_train.h"
#include "lb_test.h"
#include "lb_tokenizer.h"

/* Train on texts (one lb_bpe_trainer_add each) and return merges.txt without its
 * "#version" line, NULL on error (msg printed). */
static char *train(const char *const *texts, int n, long vocab, long minf, lb_bpe_stats *st) {
    lb_bpe_trainer *t;
    char msg[256];
    if (lb_bpe_trainer_init(&t, msg, sizeof msg)) return NULL;
    for (int i = 0; i < n; i++)
        if (lb_bpe_trainer_add(t, texts[i], strlen(texts[i]), msg, sizeof msg)) printf("%s\n", msg);
    lb_bpe_train_opts o = {vocab, minf};
    char *m = NULL;
    if (lb_bpe_trainer_run(t, &o, msg, sizeof msg)) {
        printf("run: %s\n", msg);
    } else {
        m = lb_bpe_trainer_merges_txt(t, NULL);
        if (st) lb_bpe_trainer_stats(t, st);
    }
    lb_bpe_trainer_free(t);
    if (m && strncmp(m, "#version: 0.2\n", 14) == 0) memmove(m, m + 14, strlen(m + 14) + 1);
    return m;
}

static void expect(const char *name, const char *const *texts, int n, long vocab, long minf,
                   const char *want) {
    char *got = train(texts, n, vocab, minf, NULL);
    LB_CHECK(got && strcmp(got, want) == 0, "%s: got\n%s\nwant\n%s", name, got ? got : "(error)",
             want);
    free(got);
}

int main(void) {
    /* "abab ab": words abab, Ġab. (a,b) = 3 → ab. Then (ab,ab) = 1 and (Ġ,ab) = 1 tie:
     * "ab" < "Ġ" (0x61 < 0xC4) → "ab ab" first, then "Ġ ab". */
    const char *t1[] = {"abab ab"};
    expect("basic", t1, 1, 1000, 1, "a b\nab ab\nĠ ab\n");
    /* min_frequency 2 stops after the only pair seen twice or more */
    expect("min_frequency", t1, 1, 1000, 2, "a b\n");
    /* vocabulary full: 4 + 256 + 1 merge + <mask> = 262 */
    expect("vocab limit", t1, 1, 262, 1, "a b\n");
    expect("no merges", t1, 1, 261, 1, "");
    /* overlap: "aaa" holds (a,a) twice → merged left to right: aa a, then (aa,a). */
    const char *t2[] = {"aaa"};
    expect("overlap", t2, 1, 1000, 1, "a a\naa a\n");
    /* ties on count go to the smallest pair: (b,a) before (x,y); words "xy", "Ġba" */
    const char *t3[] = {"xy ba"};
    expect("tie", t3, 1, 1000, 1, "b a\nx y\nĠ ba\n");
    /* a pre-token never spans two texts: "ab" + "c" are words ab and c, so (b,c) never
     * occurs; as one text "abc" it does. */
    const char *t4[] = {"ab", "c"}, *t4j[] = {"abc"};
    expect("text boundary", t4, 2, 1000, 1, "a b\n");
    expect("joined", t4j, 1, 1000, 1, "a b\nab c\n");
    /* contractions and counts: "it's it's its" → words it ×1, 's ×2, Ġit ×1, Ġits ×1.
     * (', s) = 2, (i,t) = 2+... it, Ġit, Ġits: (i,t) = 3 → first "i t"; then (',s) = 2,
     * (Ġ,it) = 2 → tie: "'" (0x27) < "Ġ" → "' s", then "Ġ it", then (Ġit,s) = 1. */
    const char *t5[] = {"it's it's its"};
    expect("contractions", t5, 1, 1000, 1, "i t\n' s\nĠ it\nĠit s\n");
    /* JSON escapes in vocab.json for '"' and '\' tokens, and the layout */
    const char *t6[] = {"\"\"\\\\"};
    lb_bpe_trainer *t;
    char msg[256];
    lb_bpe_stats st;
    LB_CHECK(lb_bpe_trainer_init(&t, msg, sizeof msg) == 0, "%s", msg);
    LB_CHECK(lb_bpe_trainer_add(t, t6[0], strlen(t6[0]), msg, sizeof msg) == 0, "%s", msg);
    lb_bpe_train_opts o;
    lb_bpe_train_opts_default(&o);
    o.min_frequency = 1;
    LB_CHECK(lb_bpe_trainer_run(t, &o, msg, sizeof msg) == 0, "%s", msg);
    lb_bpe_trainer_stats(t, &st);
    /* one pre-token "\"\"\\\\": pairs (",") (",\) (\,\) once each: '"' < '\' → "\" \"" first */
    LB_CHECK(st.merges == 3 && st.vocab == 264 && st.words == 1 && st.pretokens == 1,
             "stats merges %ld vocab %ld words %llu", st.merges, st.vocab,
             (unsigned long long)st.words);
    size_t vl;
    char *v = lb_bpe_trainer_vocab_json(t, &vl);
    static const char head[] = "{\"<s>\":0,\"<pad>\":1,\"</s>\":2,\"<unk>\":3,\"!\":4,\"\\\"\":5,";
    LB_CHECK(v && strncmp(v, head, sizeof head - 1) == 0,
             "vocab head %.60s", v ? v : "(null)");
    LB_CHECK(v && strstr(v, ",\"\\\"\\\"\":260,") && strstr(v, ",\"<mask>\":263}\n") &&
                 v[vl - 1] == '\n',
             "vocab merged/mask entries: %s", v ? v + vl - 80 : "(null)");
    /* the first non-printable byte (0x00) is U+0100 'Ā' at id 4 + 188 */
    LB_CHECK(v && strstr(v, ",\"Ā\":192,") && strstr(v, ",\"Ġ\":224,"), "Ā/Ġ ids");
    free(v);
    /* write, then load with the tokenizer and round-trip */
    char dir[] = "/tmp/lb_bpe_test_XXXXXX";
    LB_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    LB_CHECK(lb_bpe_trainer_write(t, dir, msg, sizeof msg) == 0, "%s", msg);
    lb_bpe_trainer_free(t);
    char vp[64], mp[64];
    snprintf(vp, sizeof vp, "%s/vocab.json", dir);
    snprintf(mp, sizeof mp, "%s/merges.txt", dir);
    lb_tokenizer *tk;
    LB_CHECK(lb_tokenizer_load_bpe(&tk, vp, mp, msg, sizeof msg) == 0, "load: %s", msg);
    if (tk) {
        const char *s = "\"\"\\\\ x \xff\xfe caf\xc3\xa9";
        lb_ids ids = {0};
        LB_CHECK(lb_tokenizer_encode(tk, &ids, s, strlen(s), msg, sizeof msg) == 0, "%s", msg);
        LB_CHECK(ids.n > 0 && ids.v[0] == 262, "\"\"\\\\ should be one token 262, got %d",
                 ids.n ? ids.v[0] : -1);
        size_t dl;
        char *d = lb_tokenizer_decode(tk, ids.v, ids.n, &dl);
        LB_CHECK(d && dl == strlen(s) && memcmp(d, s, dl) == 0, "round trip");
        free(d);
        lb_ids_free(&ids);
        LB_CHECK(lb_tokenizer_vocab_size(tk) == 264 && lb_tokenizer_token_id(tk, "<mask>") == 263,
                 "vocab size %d", lb_tokenizer_vocab_size(tk));
        lb_tokenizer_free(tk);
    }
    unlink(vp);
    unlink(mp);
    rmdir(dir);

    /* refusals: vocab sizes out of range, min_frequency 0, no text, second run */
    LB_CHECK(lb_bpe_trainer_init(&t, msg, sizeof msg) == 0, "%s", msg);
    o.vocab_size = LB_BPE_MIN_VOCAB - 1;
    LB_CHECK(lb_bpe_trainer_run(t, &o, msg, sizeof msg) < 0 && strstr(msg, "--vocab-size"), "%s",
             msg);
    o.vocab_size = (long)LB_BPE_MAX_VOCAB + 1;
    LB_CHECK(lb_bpe_trainer_run(t, &o, msg, sizeof msg) < 0 && strstr(msg, "--vocab-size"), "%s",
             msg);
    o.vocab_size = 300;
    o.min_frequency = 0;
    LB_CHECK(lb_bpe_trainer_run(t, &o, msg, sizeof msg) < 0 && strstr(msg, "--min-frequency"),
             "%s", msg);
    o.min_frequency = 1;
    LB_CHECK(lb_bpe_trainer_run(t, &o, msg, sizeof msg) < 0 && strstr(msg, "empty"), "%s", msg);
    LB_CHECK(lb_bpe_trainer_write(t, "/tmp/lb_bpe_never", msg, sizeof msg) < 0 &&
                 access("/tmp/lb_bpe_never", F_OK) != 0,
             "write before run");
    LB_CHECK(lb_bpe_trainer_add(t, "x y", 3, msg, sizeof msg) == 0, "%s", msg);
    LB_CHECK(lb_bpe_trainer_run(t, &o, msg, sizeof msg) == 0, "%s", msg);
    LB_CHECK(lb_bpe_trainer_run(t, &o, msg, sizeof msg) < 0, "second run refused");
    LB_CHECK(lb_bpe_trainer_add(t, "x", 1, msg, sizeof msg) < 0, "add after run refused");
    lb_bpe_trainer_free(t);
    return lb_test_summary("test_bpe_train");
}
