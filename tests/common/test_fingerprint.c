/* Tests for the machine fingerprint (common/fingerprint.c): parsing fixture files in the
 * layout of /proc/cpuinfo, /proc/meminfo and sysfs, the identity diff and id, the JSON
 * round trip and its errors, and the FMA microbenchmark's plausibility (no timing
 * thresholds beyond a physical bound). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb_meta.h"
#include "lb_test.h"
#include "lb_util.h"

static char dir[] = "/tmp/lbfpXXXXXX";

static void put(const char *rel, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

/* Two packages of one core with two threads each, then a stray third package. */
static const char CPUINFO[] =
    "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
    "model name\t: Intel(R) Xeon(R) Platinum 8480\nstepping\t: 8\nmicrocode\t: 0x2b000590\n"
    "physical id\t: 0\ncore id\t\t: 0\n"
    "flags\t\t: fpu sse4_2 avx fma avx2 avx512f avx512bw avx512vl avx512_fp16 amx_tile avx512fx\n\n"
    "processor\t: 1\nvendor_id\t: OtherVendor\nmodel\t\t: 1\nphysical id\t: 0\ncore id\t\t: 0\n\n"
    "processor\t: 2\nphysical id\t: 1\ncore id\t\t: 0\n\n"
    "processor\t: 3\nphysical id\t: 1\ncore id\t\t: 0\n";

static void test_parse(void) {
    put("cpuinfo", CPUINFO);
    put("meminfo", "MemFree:  100 kB\nMemTotal:       24684092 kB\n");
    char p[256];
    snprintf(p, sizeof p, "%s/cache", dir);
    mkdir(p, 0700);
    const char *idx[][3] = {{"1", "Data", "48K"}, {"1", "Instruction", "32K"},
                            {"2", "Unified", "2048K"}, {"3", "Unified", "105M"}};
    for (int i = 0; i < 4; i++) {
        char sub[64];
        snprintf(sub, sizeof sub, "cache/index%d", i);
        snprintf(p, sizeof p, "%s/%s", dir, sub);
        mkdir(p, 0700);
        char rel[96];
        snprintf(rel, sizeof rel, "%s/level", sub), put(rel, idx[i][0]);
        snprintf(rel, sizeof rel, "%s/type", sub), put(rel, idx[i][1]);
        snprintf(rel, sizeof rel, "%s/size", sub), put(rel, idx[i][2]);
    }
    char ci[256], mi[256], cd[256];
    snprintf(ci, sizeof ci, "%s/cpuinfo", dir);
    snprintf(mi, sizeof mi, "%s/meminfo", dir);
    snprintf(cd, sizeof cd, "%s/cache", dir);
    lb_fingerprint fp;
    lb_fingerprint_collect_from(&fp, ci, mi, cd);
    /* the first CPU's facts, not the later ones' */
    LB_CHECK(!strcmp(fp.vendor, "GenuineIntel"), "vendor '%s'", fp.vendor);
    LB_CHECK(fp.family == 6 && fp.model == 143 && fp.stepping == 8, "f/m/s %d %d %d", fp.family,
             fp.model, fp.stepping);
    LB_CHECK(!strcmp(fp.model_name, "Intel(R) Xeon(R) Platinum 8480"), "model name '%s'", fp.model_name);
    LB_CHECK(!strcmp(fp.microcode, "0x2b000590"), "microcode '%s'", fp.microcode);
    /* whole words only: avx512fx is not avx512f's neighbour, fpu is not listed */
    LB_CHECK(!strcmp(fp.flags, "sse4_2 avx fma avx2 avx512f avx512bw avx512vl avx512_fp16 amx_tile"),
             "flags '%s'", fp.flags);
    LB_CHECK(fp.threads == 4 && fp.cores == 2, "threads %d cores %d", fp.threads, fp.cores);
    LB_CHECK(fp.mem_mib == 24684092 / 1024, "mem %ld", fp.mem_mib);
    LB_CHECK(fp.l1d_kib == 48 && fp.l1i_kib == 32 && fp.l2_kib == 2048 && fp.l3_kib == 105 * 1024,
             "caches %ld %ld %ld %ld", fp.l1d_kib, fp.l1i_kib, fp.l2_kib, fp.l3_kib);

    lb_fingerprint none;
    lb_fingerprint_collect_from(&none, "/nonexistent/cpuinfo", NULL, "/nonexistent");
    LB_CHECK(!strcmp(none.vendor, "unknown") && none.family == -1 && none.cores == -1 &&
                 none.l3_kib == -1 && none.mem_mib == -1,
             "unreadable sources give unknown fields");
}

static void test_diff_id_json(void) {
    lb_fingerprint a, b;
    lb_fingerprint_collect(&a);
    b = a;
    char why[2048];
    LB_CHECK(lb_fingerprint_diff(&a, &b, why, sizeof why) == 0 && !why[0], "same: '%s'", why);
    LB_CHECK(lb_fingerprint_id(&a) == lb_fingerprint_id(&b), "same id");
    b.cpus_allowed = a.cpus_allowed + 3; /* a taskset is not another machine */
    b.npeak = 1, b.peak[0] = (lb_peak){2, 233, NAN};
    b.mem_mib = a.mem_mib + 7; /* kernel reservations move MemTotal by MiBs */
    LB_CHECK(lb_fingerprint_diff(&a, &b, why, sizeof why) == 0, "non-identity fields: '%s'", why);
    b.model = a.model + 16;
    size_t fl = strlen(b.flags);
    snprintf(b.flags + fl, sizeof b.flags - fl, " avx512f");
    int nd = lb_fingerprint_diff(&a, &b, why, sizeof why);
    LB_CHECK(nd == 2 && strstr(why, "model (") && strstr(why, "flags ("), "%d: '%s'", nd, why);
    LB_CHECK(lb_fingerprint_id(&a) != lb_fingerprint_id(&b), "id changes with the model");

    b.peak[1] = (lb_peak){1, 120, 240};
    b.npeak = 2;
    cJSON *j = lb_fingerprint_to_json(&b);
    char *s = cJSON_PrintUnformatted(j);
    cJSON *back = cJSON_Parse(s);
    lb_fingerprint c;
    char msg[256] = "";
    LB_CHECK(lb_fingerprint_from_json(&c, back, msg, sizeof msg) == 0, "from_json: %s", msg);
    LB_CHECK(lb_fingerprint_diff(&b, &c, why, sizeof why) == 0, "round trip: '%s'", why);
    LB_CHECK(c.npeak == 2 && c.peak[0].threads == 2 && c.peak[0].fma256_gflops == 233 &&
                 isnan(c.peak[0].fma512_gflops) && c.peak[1].fma512_gflops == 240,
             "peaks round trip (NaN as null)");
    LB_CHECK(lb_fingerprint_peak(&c, 1) == 240 && lb_fingerprint_peak(&c, 2) == 233 &&
                 isnan(lb_fingerprint_peak(&c, 4)),
             "peak: the larger width at that thread count, NaN when not measured");
    cJSON_DeleteItemFromObject(back, "stepping");
    LB_CHECK(lb_fingerprint_from_json(&c, back, msg, sizeof msg) == -1 && strstr(msg, "stepping"),
             "missing field named: '%s'", msg);
    cJSON_free(s);
    cJSON_Delete(back);

    /* files: with a fingerprint, meta without one (older results), not JSON */
    char path[256];
    snprintf(path, sizeof path, "%s/r.json", dir);
    FILE *f = fopen(path, "w");
    s = cJSON_PrintUnformatted(j);
    fprintf(f, "{\"meta\": {\"git_commit\": \"x\", \"fingerprint\": %s}}", s);
    fclose(f);
    cJSON_free(s);
    cJSON_Delete(j);
    LB_CHECK(lb_fingerprint_load(&c, path, msg, sizeof msg) == 0 && c.model == b.model, "load: %s", msg);
    put("old.json", "{\"meta\": {\"git_commit\": \"x\"}}");
    snprintf(path, sizeof path, "%s/old.json", dir);
    LB_CHECK(lb_fingerprint_load(&c, path, msg, sizeof msg) == 1, "no fingerprint: 1");
    put("bad.json", "{\"meta\": ");
    snprintf(path, sizeof path, "%s/bad.json", dir);
    LB_CHECK(lb_fingerprint_load(&c, path, msg, sizeof msg) == -1 && strstr(msg, "bad.json"),
             "not JSON: '%s'", msg);
    snprintf(path, sizeof path, "%s/none.json", dir);
    LB_CHECK(lb_fingerprint_load(&c, path, msg, sizeof msg) == -1 && strstr(msg, "none.json"),
             "missing file: '%s'", msg);
}

static void test_peak(void) {
    /* Plausibility, not speed: a positive rate below what two FMA pipes could do at
     * 6 GHz (lanes × 2 flops × 2 pipes × 6e9 per thread) catches a miscounted flop
     * total; the machine may be busy, so there is no lower bound. */
    double r = lb_fma_peak(256, 1, 0.02);
    if (lb_cpu_has_fma256()) LB_CHECK(r > 0 && r < 8 * 2 * 2 * 6.0, "256-bit rate %g", r);
    else LB_CHECK(isnan(r), "no AVX2: NaN");
    r = lb_fma_peak(512, 1, 0.02);
    if (lb_cpu_has_fma512()) LB_CHECK(r > 0 && r < 16 * 2 * 2 * 6.0, "512-bit rate %g", r);
    else LB_CHECK(isnan(r), "no AVX-512: NaN, got %g", r);
    LB_CHECK(isnan(lb_fma_peak(128, 1, 0.01)) && isnan(lb_fma_peak(256, 0, 0.01)), "bad arguments");
    lb_fingerprint fp;
    lb_fingerprint_collect(&fp);
    LB_CHECK(lb_fingerprint_add_peak(&fp, 1, 0.02) == 0 && fp.npeak == 1, "add_peak");
    LB_CHECK(lb_fingerprint_add_peak(&fp, 1, 0.02) == 0 && fp.npeak == 1, "add_peak twice: once");
    /* a second reading keeps the larger: a planted huge value stays, a planted tiny one
     * is replaced by the measurement (which the rate checks above bound from above) */
    if (lb_cpu_has_fma256()) {
        fp.peak[0].fma256_gflops = 1e9;
        lb_fingerprint_add_peak(&fp, 1, 0.02);
        LB_CHECK(fp.peak[0].fma256_gflops == 1e9, "larger kept, got %g", fp.peak[0].fma256_gflops);
        fp.peak[0].fma256_gflops = 1e-3;
        lb_fingerprint_add_peak(&fp, 1, 0.02);
        double g = fp.peak[0].fma256_gflops;
        LB_CHECK(g > 1e-3 && g < 8 * 2 * 2 * 6.0, "tiny reading replaced, got %g", g);
    }
    if (!lb_cpu_has_fma512()) LB_CHECK(isnan(fp.peak[0].fma512_gflops), "absent width stays NaN");
    for (int t = 2; t <= LB_FP_MAXPEAK; t++) fp.peak[fp.npeak++] = (lb_peak){t + 100, 1, NAN};
    LB_CHECK(lb_fingerprint_add_peak(&fp, 3, 0.01) == -1, "full table refused");
}

int main(void) {
    if (lb_test_tmpdir(dir)) return 1;
    test_parse();
    test_diff_id_json();
    test_peak();
    lb_test_rmtree(dir);
    return lb_test_summary("test_fingerprint");
}
