/* The machine fingerprint: cpuid facts from /proc/cpuinfo, caches from sysfs, memory,
 * kernel, BLAS and build, and the FP32 FMA peak measured by a small microbenchmark
 * that picks its vector width at run time, so that one binary measures 512-bit FMA on
 * a CPU that has AVX-512 and skips it on one that has only AVX2. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <immintrin.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "lb_meta.h"
#include "lb_util.h"

extern char *openblas_get_corename(void);
extern int openblas_get_num_threads(void);

/* The flags that change what the kernels and the BLAS can do, in the order printed. */
static const char *const SIMD_FLAGS[] = {
    "sse4_2",      "avx",          "f16c",        "fma",         "avx2",        "avx512f",
    "avx512dq",    "avx512cd",     "avx512bw",    "avx512vl",    "avx512ifma",  "avx512vbmi",
    "avx512_vbmi2", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni",    "amx_tile",
    "amx_bf16",    "amx_int8"};

static void setstr(char *dst, size_t len, const char *src) {
    snprintf(dst, len, "%s", src && *src ? src : "unknown");
}

/* "key\t: value\n" -> value (trimmed) when line starts with key, else NULL. */
static char *field(char *line, const char *key) {
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) || (line[kl] != ' ' && line[kl] != '\t' && line[kl] != ':')) return NULL;
    char *c = strchr(line + kl, ':');
    if (!c) return NULL;
    for (c++; *c == ' ' || *c == '\t'; c++) {}
    c[strcspn(c, "\r\n")] = 0;
    return c;
}

static int has_word(const char *list, const char *w) {
    size_t wl = strlen(w);
    for (const char *p = list; (p = strstr(p, w)); p += wl)
        if ((p == list || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == 0)) return 1;
    return 0;
}

static void read_cpuinfo(lb_fingerprint *fp, const char *path) {
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return;
    char line[8192], *v;
    int first = 1, phys = 0, ncore = 0;
    int seen[1024][2];
    fp->threads = 0;
    while (fgets(line, sizeof line, f)) {
        if (field(line, "processor")) fp->threads++, first = fp->threads == 1;
        if ((v = field(line, "physical id"))) phys = atoi(v);
        if ((v = field(line, "core id"))) { /* one physical core per (package, core) pair */
            int c = atoi(v), dup = 0;
            for (int i = 0; i < ncore; i++) dup |= seen[i][0] == phys && seen[i][1] == c;
            if (!dup && ncore < 1024) seen[ncore][0] = phys, seen[ncore++][1] = c;
        }
        if (!first) continue; /* the identity facts of the first CPU */
        if ((v = field(line, "vendor_id"))) setstr(fp->vendor, sizeof fp->vendor, v);
        else if ((v = field(line, "cpu family"))) fp->family = atoi(v);
        else if ((v = field(line, "model name"))) setstr(fp->model_name, sizeof fp->model_name, v);
        else if ((v = field(line, "model"))) fp->model = atoi(v);
        else if ((v = field(line, "stepping"))) fp->stepping = atoi(v);
        else if ((v = field(line, "microcode"))) setstr(fp->microcode, sizeof fp->microcode, v);
        else if ((v = field(line, "flags"))) {
            size_t len = 0;
            fp->flags[0] = 0;
            for (size_t i = 0; i < sizeof SIMD_FLAGS / sizeof *SIMD_FLAGS; i++)
                if (has_word(v, SIMD_FLAGS[i]))
                    len += (size_t)snprintf(fp->flags + len, sizeof fp->flags - len, "%s%s",
                                            len ? " " : "", SIMD_FLAGS[i]);
        }
    }
    fclose(f);
    fp->cores = ncore ? ncore : fp->threads; /* no core ids (some VMs): one per CPU */
    if (fp->threads == 0) fp->threads = fp->cores = -1;
}

static void read_meminfo(lb_fingerprint *fp, const char *path) {
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return;
    char line[256];
    long kb;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %ld kB", &kb) == 1) {
            fp->mem_mib = kb / 1024;
            break;
        }
    fclose(f);
}

/* The level, type and size files of each cache index of one CPU. */
static void read_caches(lb_fingerprint *fp, const char *dir) {
    for (int i = 0; dir && i < 16; i++) {
        char path[4096], type[32] = "", size[32] = "";
        int level = 0;
        FILE *f;
        snprintf(path, sizeof path, "%s/index%d/level", dir, i);
        if (!(f = fopen(path, "r"))) break;
        if (fscanf(f, "%d", &level) != 1) level = 0;
        fclose(f);
        snprintf(path, sizeof path, "%s/index%d/type", dir, i);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%31s", type) != 1) type[0] = 0;
            fclose(f);
        }
        snprintf(path, sizeof path, "%s/index%d/size", dir, i);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%31s", size) != 1) size[0] = 0;
            fclose(f);
        }
        char *end;
        long kib = strtol(size, &end, 10);
        if (*end == 'M') kib *= 1024;
        if (end == size) continue;
        if (level == 1 && !strcmp(type, "Data")) fp->l1d_kib = kib;
        else if (level == 1 && !strcmp(type, "Instruction")) fp->l1i_kib = kib;
        else if (level == 2) fp->l2_kib = kib;
        else if (level == 3) fp->l3_kib = kib;
    }
}

void lb_fingerprint_collect_from(lb_fingerprint *fp, const char *cpuinfo, const char *meminfo,
                                 const char *cachedir) {
    memset(fp, 0, sizeof *fp);
    setstr(fp->vendor, sizeof fp->vendor, NULL);
    setstr(fp->model_name, sizeof fp->model_name, NULL);
    setstr(fp->flags, sizeof fp->flags, NULL);
    setstr(fp->microcode, sizeof fp->microcode, NULL);
    fp->family = fp->model = fp->stepping = fp->cores = fp->threads = -1;
    fp->l1d_kib = fp->l1i_kib = fp->l2_kib = fp->l3_kib = fp->mem_mib = -1;
    read_cpuinfo(fp, cpuinfo);
    read_meminfo(fp, meminfo);
    read_caches(fp, cachedir);
    cpu_set_t set;
    fp->cpus_allowed = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
    struct utsname u;
    if (uname(&u) == 0) snprintf(fp->kernel, sizeof fp->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    else setstr(fp->kernel, sizeof fp->kernel, NULL);
    setstr(fp->blas_core, sizeof fp->blas_core, openblas_get_corename());
    const char *ct = getenv("OPENBLAS_CORETYPE");
    snprintf(fp->blas_coretype, sizeof fp->blas_coretype, "%s", ct ? ct : "");
    fp->blas_threads = openblas_get_num_threads();
    setstr(fp->compiler, sizeof fp->compiler, lb_meta_compiler());
    setstr(fp->cflags, sizeof fp->cflags, lb_meta_cflags());
}

void lb_fingerprint_collect(lb_fingerprint *fp) {
    lb_fingerprint_collect_from(fp, "/proc/cpuinfo", "/proc/meminfo",
                                "/sys/devices/system/cpu/cpu0/cache");
}

int lb_cpu_has_fma256(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
int lb_cpu_has_fma512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* Independent FMA chains, x = x·a + b each: enough of them to cover the FMA latency
 * times the number of FMA pipes (4-5 cycles × 2 on current x86), so the loop runs at
 * the FMA throughput. Named registers, not an array: an array may live in memory
 * when the compiler does not unroll (-O1 builds), which measures the loads instead. */
#define CH8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define CH12(X) CH8(X) X(8) X(9) X(10) X(11)
#define CH16(X) CH12(X) X(12) X(13) X(14) X(15)

__attribute__((target("avx2,fma"))) static float fma256_chains(long iters) {
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
#define DECL(i) __m256 x##i = _mm256_set1_ps(1.0f + 0.01f * (i));
#define STEP(i) x##i = _mm256_fmadd_ps(x##i, a, b);
#define SUM(i) s = _mm256_add_ps(s, x##i);
    CH12(DECL)
    for (long it = 0; it < iters; it++) { CH12(STEP) }
    __m256 s = _mm256_setzero_ps();
    CH12(SUM)
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
#undef DECL
#undef STEP
#undef SUM
}

__attribute__((target("avx512f"))) static float fma512_chains(long iters) {
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
#define DECL(i) __m512 x##i = _mm512_set1_ps(1.0f + 0.01f * (i));
#define STEP(i) x##i = _mm512_fmadd_ps(x##i, a, b);
#define SUM(i) s = _mm512_add_ps(s, x##i);
    CH16(DECL)
    for (long it = 0; it < iters; it++) { CH16(STEP) }
    __m512 s = _mm512_setzero_ps();
    CH16(SUM)
    return _mm512_reduce_add_ps(s);
#undef DECL
#undef STEP
#undef SUM
}

/* flops of one iteration of the chains: chains × lanes × 2 (multiply and add) */
static double iter_flops(int bits) { return bits == 512 ? 16.0 * 16 * 2 : 12.0 * 8 * 2; }

static float run_chains(int bits, long iters) {
    return bits == 512 ? fma512_chains(iters) : fma256_chains(iters);
}

static double thread_cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One trial: every thread runs iters iterations, all started together (so that the
 * all-core clock applies). Each thread's rate is taken over its own CPU time, not the
 * wall clock: on a shared machine a preempted thread would otherwise measure the
 * scheduler, and a peak should say what the hardware does while it runs. Returns the
 * sum of the threads' rates (GFLOP/s) and the slowest thread's CPU seconds in *tmax. */
static double trial(int bits, int threads, long iters, volatile float *sink, double *tmax) {
    double sum = 0, worst = 0;
    double flops = iter_flops(bits) * (double)iters;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : sum) reduction(max : worst)
#endif
    {
#ifdef _OPENMP
#pragma omp barrier
#endif
        double t0 = thread_cpu_seconds();
        float x = run_chains(bits, iters);
        double t = thread_cpu_seconds() - t0;
        sum += t > 0 ? flops / t / 1e9 : 0;
        worst = t;
#ifdef _OPENMP
#pragma omp atomic
#endif
        *sink += x;
    }
#ifndef _OPENMP
    sum *= threads; /* one thread stands for all: no OpenMP, no parallel measurement */
#endif
    *tmax = worst;
    return sum;
}

double lb_fma_peak(int bits, int threads, double seconds) {
    if (threads < 1 || (bits != 256 && bits != 512)) return NAN;
    if (bits == 256 ? !lb_cpu_has_fma256() : !lb_cpu_has_fma512()) return NAN;
    volatile float sink = 0;
    long iters = 1 << 14;
    double t = 0;
    /* grow until one trial takes a few milliseconds of CPU time per thread */
    while (trial(bits, threads, iters, &sink, &t), t < 2e-3 && iters < (1L << 40)) iters *= 4;
    double per = fmax(seconds / 5, 2e-3);
    if (t > 0 && per > t) iters = (long)((double)iters * per / t);
    double best = 0;
    for (int i = 0; i < 5; i++) /* the best trial: the one least disturbed */
        best = fmax(best, trial(bits, threads, iters, &sink, &t));
    return best > 0 ? best : NAN;
}

/* A second call for the same count measures again and keeps the larger reading: one short
 * measurement has been seen to read about half the peak (two vCPUs sharing one core for a
 * moment) while the timings around it ran at the usual rate. */
int lb_fingerprint_add_peak(lb_fingerprint *fp, int threads, double seconds) {
    lb_peak *p = NULL;
    for (int i = 0; i < fp->npeak && !p; i++)
        if (fp->peak[i].threads == threads) p = &fp->peak[i];
    if (!p) {
        if (fp->npeak == LB_FP_MAXPEAK) return -1;
        p = &fp->peak[fp->npeak++];
        p->threads = threads;
        p->fma256_gflops = p->fma512_gflops = NAN;
    }
    /* fmax takes a NaN (not measured, or a width the CPU lacks) as missing */
    p->fma256_gflops = fmax(p->fma256_gflops, lb_fma_peak(256, threads, seconds));
    p->fma512_gflops = fmax(p->fma512_gflops, lb_fma_peak(512, threads, seconds));
    return 0;
}

double lb_fingerprint_peak(const lb_fingerprint *fp, int threads) {
    for (int i = 0; i < fp->npeak; i++) {
        const lb_peak *p = &fp->peak[i];
        if (p->threads == threads) return fmax(p->fma256_gflops, p->fma512_gflops); /* NaN: missing */
    }
    return NAN;
}

/* The identity fields, table-driven so that diff, id and JSON agree on them. */
typedef struct {
    const char *name;
    size_t off, size;
    char kind; /* 's' string, 'i' int, 'l' long */
} fp_field;
#define F_S(f) {#f, offsetof(lb_fingerprint, f), sizeof(((lb_fingerprint *)0)->f), 's'}
#define F_I(f) {#f, offsetof(lb_fingerprint, f), sizeof(int), 'i'}
#define F_L(f) {#f, offsetof(lb_fingerprint, f), sizeof(long), 'l'}
static const fp_field IDENT[] = {
    F_S(vendor), F_I(family), F_I(model), F_I(stepping), F_S(model_name), F_S(flags),
    F_S(microcode), F_L(l1d_kib), F_L(l1i_kib), F_L(l2_kib), F_L(l3_kib), F_I(cores),
    F_I(threads), F_L(mem_mib), F_S(kernel), F_S(blas_core), F_I(blas_threads), F_S(compiler),
    F_S(cflags)};
#define N_IDENT ((int)(sizeof IDENT / sizeof *IDENT))

static long num_of(const lb_fingerprint *fp, const fp_field *f) {
    const char *p = (const char *)fp + f->off;
    long v = f->kind == 'i' ? *(const int *)p : *(const long *)p;
    /* MemTotal moves by a few MiB with the kernel's reservations: whole GiB identify */
    if (!strcmp(f->name, "mem_mib") && v > 0) v = (v + 512) / 1024 * 1024;
    return v;
}

int lb_fingerprint_diff(const lb_fingerprint *a, const lb_fingerprint *b, char *out, size_t outlen) {
    int count = 0;
    size_t len = 0;
    if (out && outlen) out[0] = 0;
    for (int i = 0; i < N_IDENT; i++) {
        const fp_field *f = &IDENT[i];
        char va[600], vb[600];
        if (f->kind == 's') {
            snprintf(va, sizeof va, "%s", (const char *)a + f->off);
            snprintf(vb, sizeof vb, "%s", (const char *)b + f->off);
        } else {
            snprintf(va, sizeof va, "%ld", num_of(a, f));
            snprintf(vb, sizeof vb, "%ld", num_of(b, f));
        }
        if (!strcmp(va, vb)) continue;
        count++;
        if (out && len < outlen) {
            int w = snprintf(out + len, outlen - len, "%s%s ('%s' vs '%s')", count > 1 ? "; " : "",
                             f->name, va, vb);
            if (w > 0) len += (size_t)w;
        }
    }
    return count;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t len) {
    for (size_t i = 0; i < len; i++) h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t lb_fingerprint_id(const lb_fingerprint *fp) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < N_IDENT; i++) {
        const fp_field *f = &IDENT[i];
        char v[600];
        if (f->kind == 's') snprintf(v, sizeof v, "%s", (const char *)fp + f->off);
        else snprintf(v, sizeof v, "%ld", num_of(fp, f));
        h = fnv1a(h, v, strlen(v) + 1); /* with the NUL: "ab","c" differs from "a","bc" */
    }
    return h;
}

void *lb_fingerprint_to_json(const lb_fingerprint *fp) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char id[24];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)lb_fingerprint_id(fp));
    cJSON_AddStringToObject(o, "id", id);
    for (int i = 0; i < N_IDENT; i++) {
        const fp_field *f = &IDENT[i];
        const char *p = (const char *)fp + f->off;
        if (f->kind == 's') cJSON_AddStringToObject(o, f->name, p);
        else cJSON_AddNumberToObject(o, f->name, (double)(f->kind == 'i' ? *(const int *)p : *(const long *)p));
    }
    cJSON_AddStringToObject(o, "blas_coretype", fp->blas_coretype);
    cJSON_AddNumberToObject(o, "cpus_allowed", fp->cpus_allowed);
    cJSON *pk = cJSON_AddArrayToObject(o, "fma_peak");
    for (int i = 0; pk && i < fp->npeak; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e) break;
        cJSON_AddNumberToObject(e, "threads", fp->peak[i].threads);
        /* cJSON writes NaN as null: "not measured / no such unit" */
        cJSON_AddNumberToObject(e, "fma256_gflops", fp->peak[i].fma256_gflops);
        cJSON_AddNumberToObject(e, "fma512_gflops", fp->peak[i].fma512_gflops);
        cJSON_AddItemToArray(pk, e);
    }
    return o;
}

/* A number that may be null (NaN). */
static int get_num(const cJSON *o, const char *k, double *v, int nullable, char *msg, size_t msglen) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(x)) return *v = x->valuedouble, 0;
    if (nullable && cJSON_IsNull(x)) return *v = NAN, 0;
    return lb_fail(msg, msglen, "fingerprint field '%s': expected a number", k);
}

int lb_fingerprint_from_json(lb_fingerprint *fp, const void *obj, char *msg, size_t msglen) {
    const cJSON *o = obj;
    memset(fp, 0, sizeof *fp);
    if (!cJSON_IsObject(o)) return lb_fail(msg, msglen, "fingerprint: expected an object");
    for (int i = 0; i < N_IDENT; i++) {
        const fp_field *f = &IDENT[i];
        char *p = (char *)fp + f->off;
        if (f->kind == 's') {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, f->name);
            if (!cJSON_IsString(x)) return lb_fail(msg, msglen, "fingerprint field '%s': expected a string", f->name);
            snprintf(p, f->size, "%s", x->valuestring);
            continue;
        }
        double v = 0;
        if (get_num(o, f->name, &v, 0, msg, msglen)) return -1;
        if (f->kind == 'i') *(int *)p = (int)v;
        else *(long *)p = (long)v;
    }
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(o, "blas_coretype");
    snprintf(fp->blas_coretype, sizeof fp->blas_coretype, "%s", cJSON_IsString(ct) ? ct->valuestring : "");
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(o, "cpus_allowed");
    fp->cpus_allowed = cJSON_IsNumber(ca) ? ca->valueint : -1;
    const cJSON *pk = cJSON_GetObjectItemCaseSensitive(o, "fma_peak"), *e;
    if (pk && !cJSON_IsArray(pk)) return lb_fail(msg, msglen, "fingerprint field 'fma_peak': expected an array");
    cJSON_ArrayForEach(e, pk) {
        if (fp->npeak == LB_FP_MAXPEAK) break;
        lb_peak *p = &fp->peak[fp->npeak];
        double t = 0;
        if (get_num(e, "threads", &t, 0, msg, msglen) || !(t >= 1) ||
            get_num(e, "fma256_gflops", &p->fma256_gflops, 1, msg, msglen) ||
            get_num(e, "fma512_gflops", &p->fma512_gflops, 1, msg, msglen))
            return lb_fail(msg, msglen, "fingerprint field 'fma_peak' entry %d: expected threads >= 1, "
                           "fma256_gflops, fma512_gflops", fp->npeak + 1);
        p->threads = (int)t;
        fp->npeak++;
    }
    return 0;
}

int lb_fingerprint_load(lb_fingerprint *fp, const char *json_path, char *msg, size_t msglen) {
    char *buf = lb_read_file(json_path, NULL, NULL, msg, msglen);
    if (!buf) return -1;
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    if (!j) return lb_fail(msg, msglen, "%s: not valid JSON", json_path);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "meta");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(meta, "fingerprint");
    int rc = 0;
    if (!cJSON_IsObject(meta)) rc = lb_fail(msg, msglen, "%s: no \"meta\" object", json_path);
    else if (!o) rc = 1;
    else if (lb_fingerprint_from_json(fp, o, msg, msglen)) {
        char inner[256];
        snprintf(inner, sizeof inner, "%s", msg ? msg : "");
        rc = lb_fail(msg, msglen, "%s: meta.%s", json_path, inner);
    }
    cJSON_Delete(j);
    return rc;
}
