/* Tests of the .npy reader and writers: round trips for every dtype and edge shape,
 * hand-written headers in the forms numpy and other writers produce (v1/v2/v3, either
 * quote, any key order, no trailing comma), and one malformed file per rule. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_npy.h"
#include "lb_test.h"
#include "lb_util.h"

static char dir[] = "/tmp/lb_npy_XXXXXX";

/* preamble (version major) + dict + data into a fresh buffer */
static unsigned char *make(int major, const char *dict, const void *data, size_t dlen, size_t *len) {
    size_t dl = strlen(dict), pre = major == 1 ? 10 : 12;
    *len = pre + dl + dlen;
    unsigned char *b = malloc(*len);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(dl >> (8 * i));
    memcpy(b + pre, dict, dl);
    if (dlen) memcpy(b + pre + dl, data, dlen);
    return b;
}

static int parse(int major, const char *dict, const void *data, size_t dlen, lb_npy *a, char *msg) {
    size_t len;
    unsigned char *b = make(major, dict, data, dlen, &len);
    int rc = lb_npy_parse(a, b, len, "t.npy", msg, 256);
    free(b);
    return rc;
}

static void good(const char *what, int major, const char *dict, size_t dlen, lb_npy_dtype t,
                 int ndim, const int64_t *shape) {
    unsigned char data[64];
    for (int i = 0; i < 64; i++) data[i] = (unsigned char)i;
    lb_npy a;
    char msg[256] = "";
    int rc = parse(major, dict, data, dlen, &a, msg);
    LB_CHECK(rc == 0, "%s: refused: %s", what, msg);
    if (rc) return;
    int same = a.dtype == t && a.ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = a.shape[i] == shape[i];
    LB_CHECK(same, "%s: dtype/shape", what);
    LB_CHECK(memcmp(a.data, data, dlen) == 0, "%s: data", what);
    lb_npy_free(&a);
}

static void bad(const char *what, int major, const char *dict, size_t dlen, const char *want) {
    unsigned char data[64] = {0};
    lb_npy a;
    char msg[256] = "";
    LB_CHECK(parse(major, dict, data, dlen, &a, msg) == -1 && a.data == NULL, "%s: accepted", what);
    LB_CHECK(strstr(msg, want) && strstr(msg, "t.npy"), "%s: message '%s' lacks '%s'", what, msg, want);
}

static void test_headers(void) {
    int64_t s23[2] = {2, 3}, s5[1] = {5}, s0[1] = {0};
    good("numpy v1", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }         \n", 24,
         LB_NPY_F32, 2, s23);
    good("v2 double quotes, reordered, no comma", 2,
         "{\"shape\": (5,), \"fortran_order\": False, \"descr\": \"<i8\"}\n", 40, LB_NPY_I64, 1, s5);
    good("v3", 3, "{'descr':'<f8','fortran_order':False,'shape':(2,3,)}", 48, LB_NPY_F64, 2, s23);
    good("scalar", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }\n", 4, LB_NPY_I32, 0, NULL);
    good("zero size", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }\n", 0,
         LB_NPY_F32, 1, s0);
    good("'=' order", 1, "{'descr': '=f4', 'fortran_order': False, 'shape': (5,), }\n", 20,
         LB_NPY_F32, 1, s5);
    good("'|' order", 1, "{'descr': '|i4', 'fortran_order': False, 'shape': (5,), }\n", 20,
         LB_NPY_I32, 1, s5);
    good("python 2 longs", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n", 24,
         LB_NPY_F32, 2, s23);
    const char *ok5 = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }\n";
    bad("big-endian", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (5,), }\n", 20, "descr");
    bad("float16", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }\n", 10, "descr");
    bad("fortran", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (5,), }\n", 20,
        "fortran_order: True");
    bad("(5) is no tuple", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5), }\n", 20, "shape");
    bad("negative dim", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-5,), }\n", 20, "shape");
    bad("9 dims", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n", 4,
        "shape");
    bad("overflow", 1,
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", 8,
        "overflows");
    bad("missing shape", 1, "{'descr': '<f4', 'fortran_order': False, }\n", 20, "missing shape");
    bad("extra key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'x': 1}\n", 20,
        "unexpected key 'x'");
    bad("twice", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (5,)}\n", 20,
        "twice");
    bad("not a dict", 1, "['descr']\n", 20, "not a dict");
    bad("trailing", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), } x\n", 20, "trailing");
    bad("unterminated", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,)", 20, "malformed");
    bad("truncated data", 1, ok5, 19, "truncated");
    bad("trailing data", 1, ok5, 21, "trailing bytes");
    bad("version 4", 4, ok5, 20, "version");
    lb_npy a;
    char msg[256] = "";
    unsigned char b[16] = "\x93NUMPX\x01\x00\x00\x00";
    LB_CHECK(lb_npy_parse(&a, b, 10, "t.npy", msg, sizeof msg) == -1 && strstr(msg, "magic"),
             "magic: '%s'", msg);
    memcpy(b, "\x93NUMPY\x01\x00\xff\x00", 10);
    LB_CHECK(lb_npy_parse(&a, b, 10, "t.npy", msg, sizeof msg) == -1 && strstr(msg, "runs past"),
             "header past end: '%s'", msg);
    LB_CHECK(lb_npy_parse(&a, b, 4, "t.npy", msg, sizeof msg) == -1, "4 bytes");
}

static void roundtrip(lb_npy_dtype t, int ndim, const int64_t *shape, size_t count) {
    char path[64];
    snprintf(path, sizeof path, "%s/r.npy", dir);
    size_t es = (t == LB_NPY_F32 || t == LB_NPY_I32) ? 4 : 8;
    unsigned char *data = malloc(count * es + 1);
    for (size_t i = 0; i < count * es; i++) data[i] = (unsigned char)(i * 7 + 3);
    LB_CHECK(lb_npy_write(path, t, ndim, shape, data) == 0, "write ndim %d", ndim);
    struct stat sb;
    stat(path, &sb);
    LB_CHECK(((size_t)sb.st_size - count * es) % 64 == 0, "data offset %zu not a multiple of 64",
             (size_t)sb.st_size - count * es);
    lb_npy a;
    char msg[256];
    int rc = lb_npy_read(&a, path, msg, sizeof msg);
    LB_CHECK(rc == 0, "read back: %s", msg);
    if (rc == 0) {
        int same = a.dtype == t && a.ndim == ndim && a.count == count;
        for (int i = 0; same && i < ndim; i++) same = a.shape[i] == shape[i];
        LB_CHECK(same && memcmp(a.data, data, count * es) == 0, "round trip ndim %d", ndim);
        lb_npy_free(&a);
    }
    free(data);
    unlink(path);
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void test_files(void) {
    int64_t s1[1] = {5}, s3[3] = {3, 1, 7}, s0[2] = {0, 4}, big[8] = {1, 2, 1, 2, 1, 2, 1, 3};
    roundtrip(LB_NPY_F32, 0, NULL, 1);
    roundtrip(LB_NPY_F64, 1, s1, 5);
    roundtrip(LB_NPY_I32, 3, s3, 21);
    roundtrip(LB_NPY_I64, 2, s0, 0);
    roundtrip(LB_NPY_F32, 8, big, 24);

    char path[64], msg[256];
    snprintf(path, sizeof path, "%s/s.npy", dir);
    int64_t shp[2] = {4, 3};
    float row[3] = {1, 2, 3};
    lb_npy_writer *w = lb_npy_writer_open(path, LB_NPY_F32, 2, shp);
    LB_CHECK(w != NULL, "writer open");
    for (int i = 0; w && i < 4; i++) LB_CHECK(lb_npy_writer_append(w, row, 3) == 0, "append");
    LB_CHECK(!exists(path), "file visible before close");
    LB_CHECK(lb_npy_writer_close(w) == 0 && exists(path), "close");
    lb_npy a;
    LB_CHECK(lb_npy_read(&a, path, msg, sizeof msg) == 0 && a.count == 12 &&
                 ((float *)a.data)[11] == 3.0f, "streamed read: %s", msg);
    lb_npy_free(&a);
    unlink(path);

    fprintf(stderr, "(two expected error messages follow)\n");
    w = lb_npy_writer_open(path, LB_NPY_F32, 2, shp);
    LB_CHECK(lb_npy_writer_append(w, row, 3) == 0, "append");
    LB_CHECK(lb_npy_writer_close(w) == -1 && !exists(path), "short stream must leave no file");
    w = lb_npy_writer_open(path, LB_NPY_F32, 2, shp);
    float many[13] = {0};
    LB_CHECK(lb_npy_writer_append(w, many, 13) == -1, "overlong append refused");
    lb_npy_writer_abort(w);
    LB_CHECK(!exists(path), "abort leaves no file");

    LB_CHECK(lb_npy_read(&a, path, msg, sizeof msg) == -1 && strstr(msg, "cannot open"),
             "missing: '%s'", msg);
    LB_CHECK(lb_npy_read(&a, dir, msg, sizeof msg) == -1 && strstr(msg, "not a regular"),
             "dir: '%s'", msg);
    /* a file cut inside its header and one cut inside its data */
    int64_t s2[1] = {2};
    double dv[2] = {1, 2};
    LB_CHECK(lb_npy_write(path, LB_NPY_F64, 1, s2, dv) == 0, "write");
    LB_CHECK(truncate(path, 136) == 0, "truncate");
    LB_CHECK(lb_npy_read(&a, path, msg, sizeof msg) == -1 && strstr(msg, "truncated"),
             "cut in data: '%s'", msg);
    LB_CHECK(truncate(path, 30) == 0, "truncate");
    LB_CHECK(lb_npy_read(&a, path, msg, sizeof msg) == -1 && strstr(msg, "header"),
             "cut in header: '%s'", msg);
    LB_CHECK(truncate(path, 0) == 0, "truncate");
    LB_CHECK(lb_npy_read(&a, path, msg, sizeof msg) == -1 && strstr(msg, "magic"),
             "empty: '%s'", msg);
    unlink(path);
}

int main(void) {
    if (lb_test_tmpdir(dir)) return 1;
    test_headers();
    test_files();
    rmdir(dir);
    return lb_test_summary("test_npy");
}
