/* Tests for the attention backward (attention/attn_backward*.c):
 *  (a) the double references against central finite differences of
 *      loss = Σ dout ∘ out, the forward written here again in double (independent of
 *      attention/), on tiny shapes: n = 1, 3, 5; d = 1, 2, 3; B, H = 1..2;
 *      k = 1, 2, n; masks with padding (and an all-padding batch element); every
 *      sharing mode, E == F aliased for kv/layerwise;
 *  (b) the float kernels (after lb_attn_forward's probs) against the references;
 *  (c) threads 1 vs 2, bit-for-bit repeatability, dE == dF aliasing, accumulation,
 *      and the refusals (stream, train = 0, bad cfg).
 *
 * Tolerances (|x − ref| <= atol + rtol·|ref|):
 *   FD      atol 1e-8, rtol 1e-6: step h = 1e-5 in double gives truncation error
 *           ~h²·|f'''| ~ 1e-10 and rounding ~1e-16·|loss|/h ~ 1e-10; the reference
 *           is double inside and only rounded to float at the end (6e-8 relative).
 *   float   atol 2e-4, rtol 2e-3: the kernel chains four float32 GEMMs after float
 *           probabilities (each ~1e-6 relative); dS = P ∘ (dP − rowsum) cancels, so
 *           its absolute error is ~1e-6·|dP| (|dP| ~ √d·|dO|·|V| ~ 6 here) and dq, dk
 *           sum up to n such terms times |K|, |Q| ~ 3: ~1e-5 typical, 2e-4 leaves
 *           margin for √n growth at n = 130 and for large logits.
 *   threads 1 vs 2: dq, dk, dv come from the same single-head GEMMs (BLAS may block
 *           differently when threaded); dE/dF are sums over B·H = 8 head terms (x2
 *           when E == F) of size ~1–5 that cancel down to ~0.01–0.1, grouped
 *           differently per thread count: float rounding of the terms (~3e-7 each)
 *           adds up to a few 1e-6 absolute, hence atol 1e-5, rtol 1e-5. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lb_attn.h"
#include "lb_test.h"
#include "lb_util.h"

#define FD_H 1e-5
#define FD_ATOL 1e-8
#define FD_RTOL 1e-6
#define F_ATOL 2e-4
#define F_RTOL 2e-3
#define T_ATOL 1e-5
#define T_RTOL 1e-5

typedef struct {
    int B, H, n, d, kp; /* kp used for linformer only */
    int lin;
    lb_share share;
    int mask; /* 0 none, 1 tail padding (last b all padding when B > 1), 2 holes */
} shape;

typedef struct {
    float *q, *k, *v, *dout, *mask, *E, *F; /* F == E for kv/layerwise */
    size_t sz, pe;
} inputs;

static int aliased(const shape *s) {
    return s->lin && (s->share == LB_SHARE_KV || s->share == LB_SHARE_LAYERWISE);
}

static void make(inputs *in, const shape *s, lb_rng *r, float qk_scale) {
    in->sz = (size_t)s->B * s->H * s->n * s->d;
    in->pe = s->lin ? (size_t)s->kp * s->n * (s->share == LB_SHARE_NONE ? (size_t)s->H : 1) : 0;
    in->q = lb_alloc(in->sz * 4), in->k = lb_alloc(in->sz * 4);
    in->v = lb_alloc(in->sz * 4), in->dout = lb_alloc(in->sz * 4);
    lb_rng_fill_normal(r, in->q, in->sz, qk_scale);
    lb_rng_fill_normal(r, in->k, in->sz, qk_scale);
    lb_rng_fill_normal(r, in->v, in->sz, 1);
    lb_rng_fill_normal(r, in->dout, in->sz, 1);
    in->E = in->F = NULL;
    if (s->lin) {
        in->E = lb_alloc(in->pe * 4);
        lb_rng_fill_normal(r, in->E, in->pe, (float)(1 / sqrt((double)s->kp)));
        in->F = in->E;
        if (!aliased(s)) {
            in->F = lb_alloc(in->pe * 4);
            lb_rng_fill_normal(r, in->F, in->pe, (float)(1 / sqrt((double)s->kp)));
        }
    }
    in->mask = NULL;
    if (!s->mask) return;
    in->mask = lb_alloc((size_t)s->B * s->n * 4);
    for (int b = 0; b < s->B; b++)
        for (int j = 0; j < s->n; j++) {
            float m = s->mask == 1 ? (s->B > 1 && b == s->B - 1 ? 0 : j < s->n - (b + 1) / 2)
                                   : (j == 0 || lb_rng_uniform(r) < 0.6);
            if (s->n == 1 && s->mask == 1 && !(s->B > 1 && b == s->B - 1)) m = 1;
            in->mask[(size_t)b * s->n + j] = m;
        }
}

static void drop(inputs *in) {
    lb_free(in->q), lb_free(in->k), lb_free(in->v), lb_free(in->dout), lb_free(in->mask);
    if (in->F != in->E) lb_free(in->F);
    lb_free(in->E);
}

/* loss = Σ dout ∘ attention(q, k, v), all in double; the definition of lb_attn.h. */
static double loss_d(const shape *s, const double *q, const double *k, const double *v,
                     const float *dout, const float *mask, const double *E, const double *F) {
    const int n = s->n, d = s->d, c = s->lin ? s->kp : n;
    double *kc = calloc((size_t)c * d, sizeof *kc), *vc = calloc((size_t)c * d, sizeof *vc);
    double *p = calloc((size_t)c, sizeof *p), loss = 0;
    int *real = calloc((size_t)c, sizeof *real);
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < s->H; h++) {
            const size_t o = ((size_t)b * s->H + h) * n * d;
            const float *mb = mask ? mask + (size_t)b * n : NULL;
            int any = 0;
            for (int j = 0; j < n; j++) any |= !mb || mb[j] != 0;
            if (!s->lin) {
                for (int j = 0; j < n; j++) real[j] = !mb || mb[j] != 0;
                memcpy(kc, k + o, (size_t)n * d * sizeof *kc);
                memcpy(vc, v + o, (size_t)n * d * sizeof *vc);
            } else {
                const size_t eo = s->share == LB_SHARE_NONE ? (size_t)h * c * n : 0;
                for (int r = 0; r < c; r++) {
                    real[r] = any;
                    for (int x = 0; x < d; x++) {
                        double a = 0, f = 0;
                        for (int j = 0; j < n; j++)
                            if (!mb || mb[j] != 0) {
                                a += E[eo + (size_t)r * n + j] * k[o + (size_t)j * d + x];
                                f += F[eo + (size_t)r * n + j] * v[o + (size_t)j * d + x];
                            }
                        kc[(size_t)r * d + x] = a, vc[(size_t)r * d + x] = f;
                    }
                }
            }
            for (int i = 0; i < n; i++) {
                double m = -INFINITY, sum = 0;
                for (int j = 0; j < c; j++) {
                    double sc = 0;
                    for (int x = 0; x < d; x++) sc += q[o + (size_t)i * d + x] * kc[(size_t)j * d + x];
                    p[j] = sc / sqrt((double)d);
                    if (real[j] && p[j] > m) m = p[j];
                }
                for (int j = 0; j < c; j++) sum += p[j] = real[j] ? exp(p[j] - m) : 0;
                for (int x = 0; x < d; x++) {
                    double out = 0;
                    for (int j = 0; j < c; j++) out += (sum > 0 ? p[j] / sum : 0) * vc[(size_t)j * d + x];
                    loss += dout[o + (size_t)i * d + x] * out;
                }
            }
        }
    free(kc), free(vc), free(p), free(real);
    return loss;
}

static double *to_d(const float *x, size_t len) {
    double *y = malloc(len * sizeof *y);
    for (size_t i = 0; i < len; i++) y[i] = x[i];
    return y;
}

/* Central differences of loss_d in each element of arrays[which] against g. */
static void fd_check(const char *name, const shape *s, double **arr, int which, size_t len,
                     const float *g, const inputs *in) {
    long bad = -1;
    double got = 0, want = 0;
    for (size_t i = 0; i < len && bad < 0; i++) {
        double *x = arr[which], x0 = x[i];
        x[i] = x0 + FD_H;
        double lp = loss_d(s, arr[0], arr[1], arr[2], in->dout, in->mask, arr[3], arr[4]);
        x[i] = x0 - FD_H;
        double lm = loss_d(s, arr[0], arr[1], arr[2], in->dout, in->mask, arr[3], arr[4]);
        x[i] = x0;
        double fd = (lp - lm) / (2 * FD_H);
        if (!lb_close(g[i], fd, FD_ATOL, FD_RTOL)) bad = (long)i, got = g[i], want = fd;
    }
    LB_CHECK(bad < 0, "%s B%d H%d n%d d%d k%d share %s mask %d: d/d%s[%ld] = %.10g, FD %.10g",
             s->lin ? "linformer" : "full", s->B, s->H, s->n, s->d, s->kp,
             lb_share_name(s->share), s->mask, name, bad, got, want);
}

static void fd_case(const shape *s, lb_rng *r) {
    inputs in;
    make(&in, s, r, 1.0f);
    float *dq = lb_alloc(in.sz * 4), *dk = lb_alloc(in.sz * 4), *dv = lb_alloc(in.sz * 4);
    float *dE = NULL, *dF = NULL;
    if (s->lin) {
        dE = lb_alloc(in.pe * 4);
        dF = aliased(s) ? dE : lb_alloc(in.pe * 4);
        memset(dE, 0, in.pe * 4), memset(dF, 0, in.pe * 4);
        lb_attn_linformer_backward_ref(dq, dk, dv, dE, dF, in.dout, in.q, in.k, in.v, in.mask,
                                       in.E, in.F, s->B, s->H, s->n, s->d, s->kp, s->share);
    } else {
        lb_attn_full_backward_ref(dq, dk, dv, in.dout, in.q, in.k, in.v, in.mask, s->B, s->H,
                                  s->n, s->d);
    }
    double *arr[5] = {to_d(in.q, in.sz), to_d(in.k, in.sz), to_d(in.v, in.sz), NULL, NULL};
    if (s->lin) {
        arr[3] = to_d(in.E, in.pe);
        arr[4] = aliased(s) ? arr[3] : to_d(in.F, in.pe); /* one array: d/dE = dE + dF */
    }
    fd_check("q", s, arr, 0, in.sz, dq, &in);
    fd_check("k", s, arr, 1, in.sz, dk, &in);
    fd_check("v", s, arr, 2, in.sz, dv, &in);
    if (s->lin) {
        fd_check("E", s, arr, 3, in.pe, dE, &in);
        if (!aliased(s)) fd_check("F", s, arr, 4, in.pe, dF, &in);
        if (arr[4] != arr[3]) free(arr[4]);
        free(arr[3]);
        if (dF != dE) lb_free(dF);
        lb_free(dE);
    }
    free(arr[0]), free(arr[1]), free(arr[2]);
    lb_free(dq), lb_free(dk), lb_free(dv);
    drop(&in);
}

static void test_fd(void) {
    lb_rng r;
    lb_rng_seed(&r, 11);
    const int ns[] = {1, 3, 5}, ds[] = {1, 2, 3};
    int cases = 0;
    for (int a = 0; a < 3; a++)
        for (int m = 0; m < 3; m++) {
            int n = ns[a], d = ds[(a + m) % 3], B = 1 + (a + m) % 2, H = 1 + m % 2;
            shape s = {B, H, n, d, 0, 0, LB_SHARE_NONE, m};
            fd_case(&s, &r), cases++;
            const int ks[] = {1, 2, n};
            for (int ki = 0; ki < 3; ki++) {
                if (ks[ki] > n || (ki == 2 && n <= 2)) continue;
                for (int sh = 0; sh <= LB_SHARE_LAYERWISE; sh++) {
                    shape l = {B, H, n, d, ks[ki], 1, (lb_share)sh, m};
                    fd_case(&l, &r), cases++;
                }
            }
        }
    /* two heads, two batch elements, holes: every sharing mode at once */
    for (int sh = 0; sh <= LB_SHARE_LAYERWISE; sh++) {
        shape l = {2, 2, 5, 3, 2, 1, (lb_share)sh, 2};
        fd_case(&l, &r), cases++;
    }
    printf("finite differences: %d cases\n", cases);
}

/* Fast kernel after its own forward; dE/dF start from `init` to test accumulation.
 * Results go to g[0..4] (dq, dk, dv, dE, dF; dF == dE when aliased). */
static void run_fast(float *g[5], const shape *s, const inputs *in, int threads, float init) {
    lb_attn_cfg c = {.method = s->lin ? LB_ATTN_LINFORMER : LB_ATTN_FULL, .B = s->B, .H = s->H, .n = s->n,
                     .d = s->d, .k = s->lin ? s->kp : 0, .share = s->share, .threads = threads, .train = 1};
    char msg[256];
    lb_attn *a;
    if (lb_attn_init(&a, &c, msg, sizeof msg)) {
        LB_CHECK(0, "init: %s", msg);
        return;
    }
    size_t cols = s->lin ? (size_t)s->kp : (size_t)s->n;
    float *out = lb_alloc(in->sz * 4), *P = lb_alloc((size_t)s->B * s->H * s->n * cols * 4);
    lb_attn_forward(a, out, P, in->q, in->k, in->v, in->mask, in->E, in->F);
    for (size_t i = 0; s->lin && i < in->pe; i++) g[3][i] = g[4][i] = init;
    lb_attn_backward(a, g[0], g[1], g[2], g[3], g[4], in->dout, in->q, in->k, in->v, in->mask,
                     in->E, in->F, P);
    lb_free(out), lb_free(P);
    lb_attn_free(a);
}

static void alloc_g(float *g[5], const shape *s, const inputs *in, int alias) {
    for (int i = 0; i < 3; i++) g[i] = lb_alloc(in->sz * 4);
    g[3] = g[4] = NULL;
    if (s->lin) {
        g[3] = lb_alloc(in->pe * 4);
        g[4] = alias ? g[3] : lb_alloc(in->pe * 4);
    }
}

static void free_g(float *g[5]) {
    if (g[4] != g[3]) lb_free(g[4]);
    for (int i = 0; i < 4; i++) lb_free(g[i]);
}

static void fast_case(const shape *s, lb_rng *r, float qk_scale) {
    inputs in;
    make(&in, s, r, qk_scale);
    float *g[5], *ref[5];
    alloc_g(g, s, &in, aliased(s));
    alloc_g(ref, s, &in, aliased(s));
    run_fast(g, s, &in, 2, 0.25f);
    if (s->lin) {
        for (size_t i = 0; i < in.pe; i++) ref[3][i] = ref[4][i] = 0.25f;
        lb_attn_linformer_backward_ref(ref[0], ref[1], ref[2], ref[3], ref[4], in.dout, in.q,
                                       in.k, in.v, in.mask, in.E, in.F, s->B, s->H, s->n,
                                       s->d, s->kp, s->share);
    } else {
        lb_attn_full_backward_ref(ref[0], ref[1], ref[2], in.dout, in.q, in.k, in.v, in.mask,
                                  s->B, s->H, s->n, s->d);
    }
    const char *names[] = {"dq", "dk", "dv", "dE", "dF"};
    for (int i = 0; i < (s->lin ? 5 : 3); i++) {
        char nm[160];
        snprintf(nm, sizeof nm, "%s %s B%d H%d n%d d%d k%d %s mask %d scale %g",
                 names[i], s->lin ? "linformer" : "full", s->B, s->H, s->n, s->d, s->kp,
                 lb_share_name(s->share), s->mask, qk_scale);
        lb_check_array(nm, g[i], ref[i], (long)(i < 3 ? in.sz : in.pe), F_ATOL, F_RTOL);
    }
    free_g(g), free_g(ref);
    drop(&in);
}

static void test_fast(void) {
    lb_rng r;
    lb_rng_seed(&r, 12);
    /* {1, 1, 200, 48} is one head above the 1-MFLOP threshold: heads one at a time
     * with threaded BLAS; n = 512 is the default model's length (several key tiles) */
    const int sh[][4] = {{1, 1, 1, 1},   {2, 3, 7, 5}, {2, 2, 33, 16},
                         {1, 4, 130, 32}, {3, 2, 64, 8}, {1, 1, 200, 48}, {1, 2, 512, 32}};
    for (int i = 0; i < 7; i++)
        for (int m = 0; m < 3; m++) {
            int B = sh[i][0], H = sh[i][1], n = sh[i][2], d = sh[i][3];
            shape s = {B, H, n, d, 0, 0, LB_SHARE_NONE, m};
            fast_case(&s, &r, 1.0f);
            const int ks[] = {1, n / 3 + 1, n};
            for (int ki = 0; ki < 3; ki++)
                for (int sm = 0; sm <= LB_SHARE_LAYERWISE; sm++) {
                    if (ki == 0 && sm != (m + i) % 4) continue; /* k = 1: one mode each */
                    shape l = {B, H, n, d, ks[ki], 1, (lb_share)sm, m};
                    fast_case(&l, &r, 1.0f);
                }
        }
    /* large logits: near one-hot probabilities */
    shape f = {2, 2, 40, 16, 0, 0, LB_SHARE_NONE, 1}, l = {2, 2, 40, 16, 8, 1, LB_SHARE_HEADWISE, 1};
    fast_case(&f, &r, 4.0f);
    fast_case(&l, &r, 4.0f);
}

/* threads 1 vs 2, repeatability, and dE == dF against separate buffers. */
static void test_threads(void) {
    lb_rng r;
    lb_rng_seed(&r, 13);
    for (int sm = 0; sm <= LB_SHARE_LAYERWISE + 1; sm++) {
        int lin = sm <= LB_SHARE_LAYERWISE;
        shape s = {2, 4, 64, 32, lin ? 24 : 0, lin, lin ? (lb_share)sm : LB_SHARE_NONE, 2};
        inputs in;
        make(&in, &s, &r, 1.0f);
        float *g1[5], *g2[5], *g3[5];
        alloc_g(g1, &s, &in, aliased(&s));
        alloc_g(g2, &s, &in, aliased(&s));
        alloc_g(g3, &s, &in, aliased(&s));
        run_fast(g1, &s, &in, 1, 0.0f);
        run_fast(g2, &s, &in, 2, 0.0f);
        run_fast(g3, &s, &in, 2, 0.0f);
        int same = 1;
        for (int i = 0; i < (lin ? 5 : 3); i++) {
            size_t len = i < 3 ? in.sz : in.pe;
            lb_check_array(lb_share_name(s.share), g2[i], g1[i], (long)len, T_ATOL, T_RTOL);
            same &= memcmp(g2[i], g3[i], len * 4) == 0;
        }
        LB_CHECK(same, "%s share %s: two runs with 2 threads differ", lin ? "linformer" : "full",
                 lb_share_name(s.share));
        if (aliased(&s)) { /* dE == dF must equal dE + dF computed apart */
            float *sep[5];
            alloc_g(sep, &s, &in, 0);
            run_fast(sep, &s, &in, 2, 0.0f);
            for (size_t i = 0; i < in.pe; i++) sep[3][i] += sep[4][i];
            lb_check_array("aliased dE == dF", g2[3], sep[3], (long)in.pe, T_ATOL, T_RTOL);
            free_g(sep);
        }
        free_g(g1), free_g(g2), free_g(g3);
        drop(&in);
    }
}

static int aborts(lb_attn *a, float *x) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        lb_attn_backward(a, x, x, x, x, x, x, x, x, x, NULL, x, x, x);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_errors(void) {
    char msg[256];
    lb_attn *a;
    lb_attn_cfg st = {.method = LB_ATTN_STREAM, .B = 1, .H = 1, .n = 4, .d = 2, .threads = 1, .train = 1};
    LB_CHECK(lb_attn_init(&a, &st, msg, sizeof msg) == -1 && strstr(msg, "stream has no backward"),
             "stream with train = 1 rejected: %s", msg);
    st.train = 2;
    LB_CHECK(lb_attn_check(&st, msg, sizeof msg) == -1 && strstr(msg, "train = 2"),
             "train = 2 rejected: %s", msg);
    lb_attn_cfg lin = {.method = LB_ATTN_LINFORMER, .B = 2, .H = 4, .n = 256, .d = 16, .k = 64,
                       .share = LB_SHARE_NONE, .threads = 2};
    size_t w0 = lb_attn_workspace_bytes(&lin);
    lin.train = 1;
    LB_CHECK(lb_attn_workspace_bytes(&lin) > w0, "train workspace counted (%zu > %zu)",
             lb_attn_workspace_bytes(&lin), w0);
    lb_attn_cfg full = {.method = LB_ATTN_FULL, .B = 1, .H = 1, .n = 4, .d = 2, .threads = 1};
    float x[64] = {0};
    LB_CHECK(lb_attn_init(&a, &full, msg, sizeof msg) == 0, "init full: %s", msg);
    LB_CHECK(aborts(a, x), "backward on a train = 0 handle aborts");
    lb_attn_free(a);
    st.train = 0;
    LB_CHECK(lb_attn_init(&a, &st, msg, sizeof msg) == 0, "init stream: %s", msg);
    LB_CHECK(aborts(a, x), "backward on a stream handle aborts");
    lb_attn_free(a);
}

int main(void) {
    LB_SECTION(test_fd());
    LB_SECTION(test_fast());
    LB_SECTION(test_threads());
    LB_SECTION(test_errors());
    return lb_test_summary("test_attention_backward");
}
