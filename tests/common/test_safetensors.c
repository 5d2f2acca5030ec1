/* Tests of the strict safetensors reader: a valid file with every convertible dtype
 * (unaligned data), exact half-precision conversions, and one bad file per rule the
 * reference reader enforces, each refused with a message naming the problem. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_safetensors.h"
#include "lb_test.h"
#include "lb_util.h"

/* u64 header length + header + data, in a fresh buffer of *len bytes. */
static unsigned char *build(const char *hdr, const void *data, size_t dlen, size_t *len) {
    size_t hl = strlen(hdr);
    *len = 8 + hl + dlen;
    unsigned char *b = malloc(*len);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, hdr, hl);
    if (dlen) memcpy(b + 8 + hl, data, dlen);
    return b;
}

/* Parse hdr+data and expect failure with `want` in the message. */
static void expect_fail(const char *what, const char *hdr, const void *data, size_t dlen,
                        const char *want) {
    size_t len;
    unsigned char *b = build(hdr, data, dlen, &len);
    lb_safetensors *st = (lb_safetensors *)1;
    char msg[512] = "";
    int rc = lb_st_parse(&st, b, len, "bad.safetensors", msg, sizeof msg);
    LB_CHECK(rc == -1 && st == NULL, "%s: rc %d", what, rc);
    LB_CHECK(strstr(msg, want) && strstr(msg, "bad.safetensors"), "%s: message '%s' lacks '%s'",
             what, msg, want);
    lb_st_close(st);
    free(b);
}

static void test_valid(void) {
    /* header length 159 (odd): every tensor's data is misaligned for its type */
    float f32[6] = {1.5f, -2.25f, 3e-30f, 0.0f, 65504.0f, -1e20f};
    uint16_t f16[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
    uint16_t bf16[1] = {0xC040};
    double f64[2] = {0.1, -7.0};
    unsigned char data[24 + 8 + 2 + 16];
    memcpy(data, f32, 24);
    memcpy(data + 24, f16, 8);
    memcpy(data + 32, bf16, 2);
    memcpy(data + 34, f64, 16);
    const char *hdr =
        "  {\"__metadata__\":{\"format\":\"pt\"},"
        "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"empty\":{\"dtype\":\"I64\",\"shape\":[0,5],\"data_offsets\":[32,32]},"
        "\"s\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[32,34]},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[34,50]}}   ";
    size_t len;
    unsigned char *b = build(hdr, data, sizeof data, &len);
    lb_safetensors *st = NULL;
    char msg[512] = "";
    int rc = lb_st_parse(&st, b, len, "ok", msg, sizeof msg);
    LB_CHECK(rc == 0, "valid file refused: %s", msg);
    if (rc) {
        free(b);
        return;
    }
    LB_CHECK(lb_st_count(st) == 5, "count %d", lb_st_count(st));
    LB_CHECK(lb_st_find(st, "nope") == NULL, "found a missing tensor");
    LB_CHECK(lb_st_find(st, "__metadata__") == NULL, "metadata is not a tensor");
    const lb_st_tensor *ta = lb_st_find(st, "a"), *tb = lb_st_find(st, "b"), *ts = lb_st_find(st, "s");
    const lb_st_tensor *td = lb_st_find(st, "d"), *te = lb_st_find(st, "empty");
    LB_CHECK(ta && tb && ts && td && te, "find");
    if (!(ta && tb && ts && td && te)) goto done;
    LB_CHECK(ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 3 && ta->count == 6, "a shape");
    LB_CHECK(ts->ndim == 0 && ts->count == 1, "scalar shape");
    LB_CHECK(te->count == 0 && te->begin == 32 && te->end == 32, "empty tensor");
    LB_CHECK(lb_st_at(st, 0) == tb && lb_st_at(st, 5) == NULL, "header order");
    float out[8];
    int64_t sa[2] = {2, 3};
    LB_CHECK(lb_st_read_f32(st, out, ta, 2, sa, msg, sizeof msg) == 0, "read a: %s", msg);
    lb_check_array("F32 values (exact copy)", out, f32, 6, 0, 0);
    LB_CHECK(lb_st_read_f32(st, out, tb, 0, NULL, msg, sizeof msg) == 0, "read b: %s", msg);
    const float want16[4] = {1.0f, -2.0f, 5.9604644775390625e-08f, 65504.0f};
    lb_check_array("F16 values (exact: subnormal, max)", out, want16, 4, 0, 0);
    LB_CHECK(lb_st_read_f32(st, out, ts, 0, NULL, msg, sizeof msg) == 0 && out[0] == -3.0f,
             "BF16 scalar %g: %s", out[0], msg);
    LB_CHECK(lb_st_read_f32(st, out, td, 0, NULL, msg, sizeof msg) == 0 && out[0] == 0.1f &&
                 out[1] == -7.0f, "F64 values");
    int64_t wrong[2] = {3, 2};
    LB_CHECK(lb_st_read_f32(st, out, ta, 2, wrong, msg, sizeof msg) == -1 &&
                 strstr(msg, "'a' has shape (2, 3), expected (3, 2)"), "shape message '%s'", msg);
    int64_t one[1] = {6};
    LB_CHECK(lb_st_read_f32(st, out, ta, 1, one, msg, sizeof msg) == -1 && strstr(msg, "(6,)"),
             "rank message '%s'", msg);
    LB_CHECK(lb_st_read_f32(st, out, te, 0, NULL, msg, sizeof msg) == -1 && strstr(msg, "I64"),
             "I64 not convertible: '%s'", msg);
done:
    lb_st_close(st);
    free(b);
}

static void test_half(void) {
    /* every finite F16 round-trips through float exactly: compare with ldexp */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        int ex = (h >> 10) & 0x1F, man = h & 0x3FF;
        if (ex == 0x1F) continue;
        double v = ex ? ldexp(1024 + man, ex - 25) : ldexp(man, -24);
        if (h & 0x8000) v = -v;
        float f = lb_f16_to_f32((uint16_t)h);
        if ((double)f != v || !!signbit(f) != !!(h & 0x8000)) bad++;
    }
    LB_CHECK(bad == 0, "%d F16 values wrong", bad);
    LB_CHECK(isinf(lb_f16_to_f32(0x7C00)) && isnan(lb_f16_to_f32(0x7E00)), "F16 inf/nan");
    LB_CHECK(lb_bf16_to_f32(0x3F80) == 1.0f && lb_bf16_to_f32(0x4049) == 3.140625f, "BF16");
}

static void test_bad(void) {
    unsigned char z[64] = {0};
    const char *T = "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":";
    char h[512];
    expect_fail("not JSON", "{\"a\":", z, 0, "not valid JSON");
    expect_fail("no brace", "[1]     ", z, 0, "start with '{'");
    expect_fail("empty header", "", z, 0, "start with '{'");
    expect_fail("trailing", "{} x", z, 0, "trailing bytes after the JSON");
    snprintf(h, sizeof h, "{\"a\":{%s[0,8]},\"a\":{%s[8,16]}}", T, T);
    expect_fail("duplicate", h, z, 16, "duplicate tensor name 'a'");
    expect_fail("dtype", "{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", z, 8,
                "unknown dtype \"F17\"");
    expect_fail("dtype type", "{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", z, 8,
                "dtype");
    expect_fail("negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                z, 8, "shape[0] is not a non-negative integer");
    expect_fail("fractional dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}",
                z, 8, "shape[0]");
    expect_fail("shape not array", "{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}",
                z, 8, "shape");
    expect_fail("size", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", z, 8,
                "12 bytes but data_offsets span 8");
    expect_fail("overflow",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
                z, 8, "overflows");
    expect_fail("byte overflow",
                "{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}",
                z, 8, "");
    snprintf(h, sizeof h, "{\"a\":{%s[0,8]},\"b\":{%s[12,20]}}", T, T);
    expect_fail("hole", h, z, 20, "(hole)");
    snprintf(h, sizeof h, "{\"a\":{%s[0,8]},\"b\":{%s[4,12]}}", T, T);
    expect_fail("overlap", h, z, 12, "(overlap)");
    snprintf(h, sizeof h, "{\"a\":{%s[4,12]}}", T);
    expect_fail("not from 0", h, z, 12, "begins at byte 4");
    snprintf(h, sizeof h, "{\"a\":{%s[0,8]}}", T);
    expect_fail("trailing data", h, z, 9, "(trailing bytes)");
    expect_fail("truncated data", h, z, 7, "(truncated file)");
    snprintf(h, sizeof h, "{\"a\":{%s[8,0]}}", T);
    expect_fail("end < begin", h, z, 8, "end 0 < begin 8");
    snprintf(h, sizeof h, "{\"a\":{%s[0]}}", T);
    expect_fail("one offset", h, z, 8, "[begin, end]");
    snprintf(h, sizeof h, "{\"a\":{%s[0,\"8\"]}}", T);
    expect_fail("string offset", h, z, 8, "not non-negative integers");
    expect_fail("entry", "{\"a\":5}", z, 0, "not an object");
    expect_fail("metadata", "{\"__metadata__\":{\"k\":1}}", z, 0, "__metadata__");
    expect_fail("metadata twice", "{\"__metadata__\":{},\"__metadata__\":{}}", z, 0, "duplicate");
    expect_fail("utf8", "{\"\xff\":{}}", z, 0, "UTF-8");
    expect_fail("overlong utf8", "{\"\xc0\xaf\":{}}", z, 0, "UTF-8");
    expect_fail("surrogate", "{\"\xed\xa0\x80\":{}}", z, 0, "UTF-8");
    /* NUL inside the header */
    {
        unsigned char b[8 + 4] = {4, 0, 0, 0, 0, 0, 0, 0, '{', 0, '}', ' '};
        char msg[256] = "";
        lb_safetensors *st;
        LB_CHECK(lb_st_parse(&st, b, sizeof b, "nul", msg, sizeof msg) == -1 && strstr(msg, "NUL"),
                 "NUL: '%s'", msg);
    }
    /* header lengths: past the file, over 100 MB, file shorter than 8 bytes */
    {
        unsigned char b[16] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
        char msg[256] = "";
        lb_safetensors *st;
        LB_CHECK(lb_st_parse(&st, b, 10, "x", msg, sizeof msg) == -1 && strstr(msg, "runs past"),
                 "past: '%s'", msg);
        b[0] = 0;
        b[4] = 1; /* 2^32 */
        LB_CHECK(lb_st_parse(&st, b, 10, "x", msg, sizeof msg) == -1 && strstr(msg, "100 MB"),
                 "limit: '%s'", msg);
        LB_CHECK(lb_st_parse(&st, b, 5, "x", msg, sizeof msg) == -1 && strstr(msg, "too short"),
                 "short: '%s'", msg);
    }
    /* non-finite values are refused at read time */
    {
        float nanv[2] = {1.0f, NAN};
        snprintf(h, sizeof h, "{\"a\":{%s[0,8]}}", T);
        size_t len;
        unsigned char *b = build(h, nanv, 8, &len);
        lb_safetensors *st = NULL;
        char msg[256] = "";
        float out[2];
        LB_CHECK(lb_st_parse(&st, b, len, "nan", msg, sizeof msg) == 0, "nan file parses");
        if (st)
            LB_CHECK(lb_st_read_f32(st, out, lb_st_find(st, "a"), 0, NULL, msg, sizeof msg) == -1 &&
                         strstr(msg, "element 1 is NaN"), "nan: '%s'", msg);
        lb_st_close(st);
        free(b);
    }
    /* an empty header is a valid, empty file */
    {
        size_t len;
        unsigned char *b = build("{}      ", z, 0, &len);
        lb_safetensors *st = NULL;
        char msg[256] = "";
        LB_CHECK(lb_st_parse(&st, b, len, "e", msg, sizeof msg) == 0 && lb_st_count(st) == 0,
                 "empty: '%s'", msg);
        lb_st_close(st);
        free(b);
    }
}

static void test_files(void) {
    char dir[] = "/tmp/lb_st_XXXXXX", path[64], msg[512] = "";
    if (!mkdtemp(dir)) {
        LB_CHECK(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    float v[3] = {1, 2, 3};
    size_t len;
    unsigned char *b = build("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", v,
                             12, &len);
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    lb_safetensors *st = NULL;
    LB_CHECK(lb_st_open(&st, path, msg, sizeof msg) == 0, "open: %s", msg);
    if (st) {
        float out[3];
        LB_CHECK(lb_st_read_f32(st, out, lb_st_find(st, "x"), 0, NULL, msg, sizeof msg) == 0 &&
                     out[2] == 3.0f, "file read");
        lb_st_close(st);
    }
    LB_CHECK(truncate(path, (off_t)len - 1) == 0, "truncate");
    LB_CHECK(lb_st_open(&st, path, msg, sizeof msg) == -1 && strstr(msg, path) &&
                 strstr(msg, "truncated"), "truncated file: '%s'", msg);
    LB_CHECK(truncate(path, 3) == 0, "truncate");
    LB_CHECK(lb_st_open(&st, path, msg, sizeof msg) == -1 && strstr(msg, "too short"),
             "3-byte file: '%s'", msg);
    LB_CHECK(lb_st_open(&st, dir, msg, sizeof msg) == -1 && strstr(msg, "not a regular file"),
             "directory: '%s'", msg);
    unlink(path);
    LB_CHECK(lb_st_open(&st, path, msg, sizeof msg) == -1 && strstr(msg, "cannot open"),
             "missing: '%s'", msg);
    rmdir(dir);
    free(b);
}

int main(void) {
    test_valid();
    test_half();
    test_bad();
    test_files();
    return lb_test_summary("test_safetensors");
}
