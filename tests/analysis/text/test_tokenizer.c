/* Unit tests for the tokenizer pieces: UTF-8 decoding, the Unicode classes, GPT-2's
 * byte alphabet, the pre-tokenizer, BPE merging on a hand-made vocabulary (expected
 * ids worked out by hand in the comments), the byte tokenizer, decode, loading
 * errors and random corruptions of the files (no crash, a message). The full
 * comparison with an independent implementation is tests/analysis/text/test_tokenizer.py. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_test.h"
#include "lb_tokenizer.h"
#include "lb_util.h"

static char dir[] = "/tmp/lbtokXXXXXX";

static void put(const char *name, const char *text, size_t len) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    fwrite(text, 1, len, f);
    fclose(f);
}

static lb_tokenizer *load(const char *vocab, const char *merges, char *msg, size_t msglen) {
    char v[256], m[256];
    lb_tokenizer *t = NULL;
    put("vocab.json", vocab, strlen(vocab));
    put("merges.txt", merges, strlen(merges));
    snprintf(v, sizeof v, "%s/vocab.json", dir);
    snprintf(m, sizeof m, "%s/merges.txt", dir);
    if (lb_tokenizer_load_bpe(&t, v, m, msg, msglen)) return NULL;
    return t;
}

/* ids of text, or {-99} on error; returns the count. */
static size_t enc(lb_tokenizer *t, const char *text, int32_t *out, size_t max) {
    lb_ids ids = {0};
    char msg[256];
    size_t n = 1;
    out[0] = -99;
    if (lb_tokenizer_encode(t, &ids, text, strlen(text), msg, sizeof msg) == 0) {
        n = ids.n;
        if (n) memcpy(out, ids.v, (n < max ? n : max) * sizeof *out);
    }
    lb_ids_free(&ids);
    return n;
}

static int ids_are(lb_tokenizer *t, const char *text, const int32_t *want, size_t n) {
    int32_t got[64];
    size_t k = enc(t, text, got, 64);
    int ok = k == n && memcmp(got, want, n * sizeof *want) == 0;
    if (!ok) {
        printf("  \"%s\" gave", text);
        for (size_t i = 0; i < k && i < 64; i++) printf(" %d", got[i]);
        printf("\n");
    }
    return ok;
}

static size_t pieces(const char *s, size_t *len, size_t max) {
    size_t n = 0, total = strlen(s);
    for (size_t p = 0; p < total && n < max; n++) p += len[n] = lb_pretok_next(s + p, total - p);
    return n;
}

int main(void) {
    char msg[512];
    uint32_t cp;
    LB_CHECK(mkdtemp(dir) != NULL, "mkdtemp");

    /* UTF-8: valid sequences of each length; invalid ones are one byte each. */
    LB_CHECK(lb_utf8_next((const unsigned char *)"A", 1, &cp) == 1 && cp == 'A', "ascii");
    LB_CHECK(lb_utf8_next((const unsigned char *)"\xc3\xa9", 2, &cp) == 2 && cp == 0xE9, "2-byte");
    LB_CHECK(lb_utf8_next((const unsigned char *)"\xe6\x97\xa5", 3, &cp) == 3 && cp == 0x65E5, "3-byte");
    LB_CHECK(lb_utf8_next((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp) == 4 && cp == 0x1F600, "4-byte");
    const char *bad[] = {"\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                         "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe6\x97", "\xc3(", "\xf0\x9f\x98"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n = strlen(bad[i]);
        int k = lb_utf8_next((const unsigned char *)bad[i], n, &cp);
        LB_CHECK(k == 1 && cp == 0x110000u + (unsigned char)bad[i][0] && lb_unicode_class(cp) == LB_UNI_OTHER,
                 "invalid sequence %zu: length %d cp %x", i, k, cp);
    }

    /* Classes, including ranges given as First/Last pairs in UnicodeData.txt. */
    const struct { uint32_t cp; int cls; } cl[] = {
        {'a', LB_UNI_LETTER}, {'Z', LB_UNI_LETTER}, {'0', LB_UNI_NUMBER}, {' ', LB_UNI_SPACE},
        {'\n', LB_UNI_SPACE}, {'\v', LB_UNI_SPACE}, {0x1C, LB_UNI_OTHER}, {'!', LB_UNI_OTHER},
        {'_', LB_UNI_OTHER}, {0x85, LB_UNI_SPACE}, {0xA0, LB_UNI_SPACE}, {0xAA, LB_UNI_LETTER},
        {0xB2, LB_UNI_NUMBER}, {0xBD, LB_UNI_NUMBER}, {0x301, LB_UNI_OTHER}, {0x1C5, LB_UNI_LETTER},
        {0x2167, LB_UNI_NUMBER}, {0x200B, LB_UNI_OTHER}, {0x2028, LB_UNI_SPACE}, {0x3000, LB_UNI_SPACE},
        {0x4E00, LB_UNI_LETTER}, {0x9FA5, LB_UNI_LETTER}, {0xAC00, LB_UNI_LETTER}, {0xD7A3, LB_UNI_LETTER},
        {0x20000, LB_UNI_LETTER}, {0x0663, LB_UNI_NUMBER}, {0x1F600, LB_UNI_OTHER}, {0xD800, LB_UNI_OTHER},
        {0x10FFFF, LB_UNI_OTHER}, {0x110041, LB_UNI_OTHER}, {0xFFFFFFFF, LB_UNI_OTHER}};
    for (size_t i = 0; i < sizeof cl / sizeof *cl; i++)
        LB_CHECK(lb_unicode_class(cl[i].cp) == cl[i].cls, "U+%04X class %d want %d", cl[i].cp,
                 lb_unicode_class(cl[i].cp), cl[i].cls);

    /* GPT-2 alphabet: a bijection of bytes onto 256 code points. */
    int inverse_ok = 1;
    for (int b = 0; b < 256; b++) inverse_ok &= lb_gpt2_cp_to_byte(lb_gpt2_byte_to_cp((unsigned char)b)) == b;
    LB_CHECK(inverse_ok, "byte → char → byte");
    LB_CHECK(lb_gpt2_byte_to_cp(' ') == 0x120 && lb_gpt2_byte_to_cp('\n') == 0x10A && lb_gpt2_byte_to_cp(0) == 0x100 &&
                 lb_gpt2_byte_to_cp(0xAD) == 0x143 && lb_gpt2_byte_to_cp('A') == 'A' && lb_gpt2_byte_to_cp(0xE9) == 0xE9,
             "known alphabet characters");
    LB_CHECK(lb_gpt2_cp_to_byte(0x144) == -1 && lb_gpt2_cp_to_byte(' ') == -1 && lb_gpt2_cp_to_byte(0xAD) == -1,
             "characters outside the alphabet");

    /* Pre-tokenizer spot checks (the regex comparison is in the Python test). */
    size_t len[32];
    LB_CHECK(pieces("Hello  world's", len, 32) == 4 && len[0] == 5 && len[1] == 1 && len[2] == 6 && len[3] == 2,
             "Hello|' '|' world'|'s");
    LB_CHECK(pieces("It'S", len, 32) == 3 && len[1] == 1 && len[2] == 1, "'S is no contraction");
    LB_CHECK(pieces("a  \n", len, 32) == 2 && len[1] == 3, "trailing whitespace run kept whole");
    LB_CHECK(pieces("a \n b", len, 32) == 3 && len[1] == 2 && len[2] == 2, "run gives back one space");
    LB_CHECK(pieces("\nb", len, 32) == 2 && len[0] == 1, "single newline before a letter");
    LB_CHECK(pieces(" 42!?", len, 32) == 2 && len[0] == 3 && len[1] == 2, "' 42' then '!?'");

    /* BPE by hand. Merges (rank): a b (0), ab c (1), Ġ a (2), b c (3), a a (4).
     * "abc": a b c → (a,b) r0 → ab c → (ab,c) r1 → abc = 8.
     * " abc": Ġ a b c → (a,b) r0 beats (Ġ,a) r2 → Ġ ab c → abc → [Ġ=9, abc=8]. */
    const char *vocab = "{\"<s>\":0,\"<pad>\":1,\"</s>\":2,\"<unk>\":3,\"a\":4,\"b\":5,\"c\":6,\"ab\":7,"
                        "\"abc\":8,\"\\u0120\":9,\"\\u0120a\":10,\"bc\":11,\"aa\":12,\"<mask>\":13}";
    const char *merges = "#version: 0.2\na b\nab c\n\xc4\xa0 a\nb c\na a\n";
    lb_tokenizer *t = load(vocab, merges, msg, sizeof msg);
    LB_CHECK(t != NULL, "load: %s", t ? "" : msg);
    if (!t) return lb_test_summary("test_tokenizer");
    LB_CHECK(ids_are(t, "abc abc", (int32_t[]){8, 9, 8}, 3), "abc abc");
    LB_CHECK(ids_are(t, " a", (int32_t[]){10}, 1), "' a' merges Ġ a");
    LB_CHECK(ids_are(t, "bcd", (int32_t[]){11, 3}, 2), "'d' missing from the vocabulary → <unk>");
    LB_CHECK(ids_are(t, "aaaa", (int32_t[]){12, 12}, 2), "equal ranks merge left to right");
    LB_CHECK(ids_are(t, "aaa", (int32_t[]){12, 4}, 2), "aaa → aa a");
    LB_CHECK(ids_are(t, "", (int32_t[]){0}, 0), "empty text gives no ids");
    char longa[1001];
    memset(longa, 'a', 1000);
    longa[1000] = 0;
    int32_t *want = malloc(500 * sizeof *want), *got = malloc(600 * sizeof *got);
    for (int i = 0; i < 500; i++) want[i] = 12;
    size_t k1 = enc(t, longa, got, 600);
    LB_CHECK(k1 == 500 && !memcmp(got, want, 500 * 4), "1000-byte piece (uncached path): %zu ids", k1);
    k1 = enc(t, longa, got, 600);
    LB_CHECK(k1 == 500 && !memcmp(got, want, 500 * 4), "same piece again");
    LB_CHECK(ids_are(t, "abc abc", (int32_t[]){8, 9, 8}, 3), "cached words give the same ids");
    free(want);
    free(got);
    int bos, eos, pad;
    lb_tokenizer_specials(t, &bos, &eos, &pad);
    LB_CHECK(bos == 0 && eos == 2 && pad == 1 && lb_tokenizer_token_id(t, "<mask>") == 13 &&
                 lb_tokenizer_token_id(t, "[CLS]") == -1,
             "specials %d %d %d", bos, eos, pad);
    LB_CHECK(lb_tokenizer_vocab_size(t) == 14 && lb_tokenizer_kind(t) == LB_TOK_BPE &&
                 strcmp(lb_tokenizer_describe(t), "gpt2-bpe vocab=14 merges=5") == 0,
             "describe: %s", lb_tokenizer_describe(t));
    size_t dl;
    char *dec = lb_tokenizer_decode(t, (int32_t[]){0, 8, 9, 8, 13, 999, -4}, 7, &dl);
    LB_CHECK(dec && strcmp(dec, "<s>abc abc<mask><?999><?-4>") == 0 && dl == strlen(dec), "decode: %s", dec);
    free(dec);
    lb_tokenizer_free(t);

    /* Without <unk>, a byte with no token is an error naming the byte. */
    t = load("{\"a\":0}", "", msg, sizeof msg);
    lb_ids ids = {0};
    LB_CHECK(t && lb_tokenizer_encode(t, &ids, "ax", 2, msg, sizeof msg) == -1 && strstr(msg, "0x78"), "%s", msg);
    lb_ids_free(&ids);
    lb_tokenizer_free(t);

    /* BERT-style names. */
    t = load("{\"[CLS]\":101,\"[SEP]\":102,\"[PAD]\":0}", "", msg, sizeof msg);
    lb_tokenizer_specials(t, &bos, &eos, &pad);
    LB_CHECK(t && bos == 101 && eos == 102 && pad == 0 && lb_tokenizer_vocab_size(t) == 103, "BERT names");
    lb_tokenizer_free(t);

    /* lb_tokenizer_for_model: both files, none (1), only one (-1). */
    char sub[300];
    lb_tokenizer *tm = NULL;
    LB_CHECK(lb_tokenizer_for_model(&tm, dir, msg, sizeof msg) == 0 && tm, "for_model: %s", msg);
    lb_tokenizer_free(tm);
    snprintf(sub, sizeof sub, "%s/empty", dir);
    lb_mkdirs(sub);
    LB_CHECK(lb_tokenizer_for_model(&tm, sub, msg, sizeof msg) == 1 && !tm && strstr(msg, "vocab.json"), "%s", msg);
    snprintf(sub, sizeof sub, "%s/merges.txt", dir);
    unlink(sub);
    LB_CHECK(lb_tokenizer_for_model(&tm, dir, msg, sizeof msg) == -1 && strstr(msg, "merges.txt"), "%s", msg);

    /* Byte tokenizer. */
    lb_tokenizer *bt;
    LB_CHECK(lb_tokenizer_bytes(&bt, 4, msg, sizeof msg) == 0 && lb_tokenizer_vocab_size(bt) == 260 &&
                 lb_tokenizer_token_id(bt, "</s>") == 2 && ids_are(bt, "A\xff", (int32_t[]){69, 259}, 2),
             "bytes offset 4");
    dec = lb_tokenizer_decode(bt, (int32_t[]){0, 69, 259, 300}, 4, &dl);
    LB_CHECK(dec && dl == 11 && memcmp(dec, "<s>A\xff<?300>", 11) == 0, "byte decode");
    free(dec);
    lb_tokenizer_free(bt);
    LB_CHECK(lb_tokenizer_bytes(&bt, 0, msg, sizeof msg) == 0 && lb_tokenizer_token_id(bt, "<s>") == -1 &&
                 strcmp(lb_tokenizer_describe(bt), "bytes offset=0") == 0,
             "bytes offset 0 has no specials");
    lb_tokenizer_free(bt);
    LB_CHECK(lb_tokenizer_bytes(&bt, -1, msg, sizeof msg) == -1 && strstr(msg, "offset"), "%s", msg);

    /* Random corruptions of a valid pair: each load either works or says why. */
    lb_rng r;
    lb_rng_seed(&r, 11);
    int clean = 1;
    for (int it = 0; it < 300; it++) {
        char v[512], m[256];
        strcpy(v, vocab);
        strcpy(m, merges);
        char *target = it % 2 ? m : v;
        size_t tl = strlen(target);
        for (int e = 0; e < 1 + it % 4; e++) {
            size_t at = lb_rng_u64(&r) % tl;
            int op = (int)(lb_rng_u64(&r) % 3);
            if (op == 0) target[at] = (char)(lb_rng_u64(&r) & 0xFF ? lb_rng_u64(&r) & 0xFF : 1);
            if (op == 1) target[at] = 0, tl = at ? at : 1;           /* truncate */
            if (op == 2) target[at] = "\"{}:, \n\\"[lb_rng_u64(&r) % 8]; /* structural */
        }
        msg[0] = 0;
        lb_tokenizer *x = load(v, m, msg, sizeof msg);
        if (x) {
            lb_ids o = {0};
            char emsg[256];
            if (lb_tokenizer_encode(x, &o, "abc aab\xff ca", 11, emsg, sizeof emsg) == 0) {
                char *d2 = lb_tokenizer_decode(x, o.v, o.n, NULL);
                clean &= d2 != NULL;
                free(d2);
            }
            lb_ids_free(&o);
            lb_tokenizer_free(x);
        } else {
            clean &= strstr(msg, dir) != NULL; /* the message names the file */
        }
    }
    LB_CHECK(clean, "corrupted files: loaded, or refused with a message naming the file");

    snprintf(sub, sizeof sub, "%s/vocab.json", dir);
    unlink(sub);
    snprintf(sub, sizeof sub, "%s/merges.txt", dir);
    unlink(sub);
    snprintf(sub, sizeof sub, "%s/empty", dir);
    rmdir(sub);
    rmdir(dir);
    return lb_test_summary("test_tokenizer");
}
