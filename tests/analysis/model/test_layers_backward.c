/* Backward of the row-wise layers (analysis/model/layers_backward.c, mlm_head.c).
 *
 * For each op: a plain double-precision reference forward and backward (here, loops),
 * (a) the reference backward against central finite differences of the reference
 * forward, on tiny shapes: loss = Σ r∘y with random r, step 1e-6; truncation error
 * ~1e-12·|f'''|, rounding ~1e-16/1e-6 = 1e-10, so 1e-6 relative (+1e-8 absolute for
 * entries that are 0 by cancellation) holds with a wide margin; (b) the float kernels
 * against the double reference: float32 inputs and outputs with double accumulators
 * inside, so 1e-5 relative of the largest entry (a few ulps of sums of up to 17
 * products) plus 1e-5 relative per entry. The MLM head + cross-entropy (a composite of
 * the same ops) is checked float-against-double-FD with the float tolerance.
 * Shapes include size 1, odd sizes, a LayerNorm whose mean is far from its spread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_test.h"
#include "lb_util.h"
/* Internal on purpose: each layer kernel and its _ref is checked on its own. */
#include "model_int.h"

#define FD 1e-6
static lb_rng R;

static double un(void) { return 2.0 * lb_rng_uniform(&R) - 1.0; }
static double *dvec(size_t n, double s) {
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = s * un();
    return v;
}
static float *tof(const double *d, size_t n) {
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
    return f;
}
/* after float rounding, so reference and kernel see the same inputs */
static void roundf_(double *d, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = (float)d[i];
}

/* |a − b| <= atol + rtol·|b| over arrays, one check. */
static void close_d(const char *what, const double *a, const double *b, size_t n, double atol,
                    double rtol) {
    size_t bad = n;
    for (size_t i = 0; i < n; i++)
        if (!lb_close(a[i], b[i], atol, rtol)) {
            bad = i;
            break;
        }
    LB_CHECK(bad == n, "%s: element %zu: %.12g vs %.12g", what, bad, bad < n ? a[bad] : 0,
             bad < n ? b[bad] : 0);
}
static void close_fd(const char *what, const float *a, const double *b, size_t n) {
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(b[i]));
    double *ad = malloc(n * sizeof *ad);
    for (size_t i = 0; i < n; i++) ad[i] = a[i];
    close_d(what, ad, b, n, 1e-5 * mx + 1e-7, 1e-5);
    free(ad);
}

/* The losses the finite differences take: Σ r_i y_i over the len outputs y of a
 * reference forward, whose gradient with respect to y is r (the backward's dy). Frees
 * y, the forward's fresh buffer. */
static double r_loss(double *y, const double *r, size_t len) {
    double s = 0;
    for (size_t i = 0; i < len; i++) s += r[i] * y[i];
    free(y);
    return s;
}

/* ---- linear ---- */
static void lin_ref(double *y, const double *x, const double *W, const double *b, int rows, int in,
                    int out) {
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0;
            for (int i = 0; i < in; i++) s += x[r * in + i] * W[o * in + i];
            y[r * out + o] = s;
        }
}
static double lin_loss(const double *x, const double *W, const double *b, const double *rr, int rows,
                       int in, int out) {
    double *y = malloc(sizeof(double) * (size_t)rows * out);
    lin_ref(y, x, W, b, rows, in, out);
    return r_loss(y, rr, (size_t)rows * out);
}
/* FD of loss(p) over every element of p (p modified in place and restored) */
#define FD_ALL(out, p, n, expr)                                \
    for (size_t i_ = 0; i_ < (size_t)(n); i_++) {             \
        double o_ = (p)[i_];                                  \
        (p)[i_] = o_ + FD;                                     \
        double lp_ = (expr);                                   \
        (p)[i_] = o_ - FD;                                     \
        double lm_ = (expr);                                   \
        (p)[i_] = o_;                                          \
        (out)[i_] = (lp_ - lm_) / (2 * FD);                    \
    }

static void test_linear(int rows, int in, int out) {
    char w[96];
    size_t nx = (size_t)rows * in, nw = (size_t)out * in, ny = (size_t)rows * out;
    double *x = dvec(nx, 1), *W = dvec(nw, 1), *b = dvec(out, 1), *r = dvec(ny, 1);
    roundf_(x, nx), roundf_(W, nw), roundf_(b, out), roundf_(r, ny);
    double *dx = calloc(nx, 8), *dW = calloc(nw, 8), *db = calloc(out, 8);
    for (int rr = 0; rr < rows; rr++) /* reference backward */
        for (int o = 0; o < out; o++) {
            double g = r[rr * out + o];
            db[o] += g;
            for (int i = 0; i < in; i++) {
                dx[rr * in + i] += g * W[o * in + i];
                dW[o * in + i] += g * x[rr * in + i];
            }
        }
    double *fx = malloc(nx * 8), *fW = malloc(nw * 8), *fb = malloc(out * 8);
    FD_ALL(fx, x, nx, lin_loss(x, W, b, r, rows, in, out));
    FD_ALL(fW, W, nw, lin_loss(x, W, b, r, rows, in, out));
    FD_ALL(fb, b, out, lin_loss(x, W, b, r, rows, in, out));
    snprintf(w, sizeof w, "linear %dx%d->%d ref dx vs FD", rows, in, out);
    close_d(w, dx, fx, nx, 1e-8, 1e-6);
    close_d("linear ref dW vs FD", dW, fW, nw, 1e-8, 1e-6);
    close_d("linear ref db vs FD", db, fb, out, 1e-8, 1e-6);
    /* float: dx accumulated onto 1.0, dW and db onto 0.5 */
    float *X = tof(x, nx), *WW = tof(W, nw), *DY = tof(r, ny);
    float *DX = malloc(nx * 4), *DW = malloc(nw * 4), *DB = malloc(out * 4);
    for (size_t i = 0; i < nx; i++) DX[i] = 1.0f;
    for (size_t i = 0; i < nw; i++) DW[i] = 0.5f;
    for (int i = 0; i < out; i++) DB[i] = 0.5f;
    lb_linear_backward(DX, 1, DW, DB, DY, X, WW, rows, in, out, 2);
    for (size_t i = 0; i < nx; i++) DX[i] -= 1.0f, dx[i] = dx[i];
    for (size_t i = 0; i < nw; i++) DW[i] -= 0.5f;
    for (int i = 0; i < out; i++) DB[i] -= 0.5f;
    snprintf(w, sizeof w, "linear %dx%d->%d float dx", rows, in, out);
    close_fd(w, DX, dx, nx);
    close_fd("linear float dW", DW, dW, nw);
    close_fd("linear float db", DB, db, out);
    /* overwrite form */
    lb_linear_backward(DX, 0, DW, NULL, DY, X, WW, rows, in, out, 1);
    close_fd("linear float dx (overwrite)", DX, dx, nx);
    free(x), free(W), free(b), free(r), free(dx), free(dW), free(db), free(fx), free(fW), free(fb);
    free(X), free(WW), free(DY), free(DX), free(DW), free(DB);
}

/* ---- LayerNorm ---- */
static void ln_ref(double *y, const double *s, const double *g, const double *b, int rows, int h,
                   double eps) {
    for (int r = 0; r < rows; r++) {
        double mu = 0, var = 0;
        for (int j = 0; j < h; j++) mu += s[r * h + j];
        mu /= h;
        for (int j = 0; j < h; j++) var += (s[r * h + j] - mu) * (s[r * h + j] - mu);
        double inv = 1.0 / sqrt(var / h + eps);
        for (int j = 0; j < h; j++) y[r * h + j] = (s[r * h + j] - mu) * inv * g[j] + b[j];
    }
}
static double ln_loss(const double *s, const double *g, const double *b, const double *rr, int rows,
                      int h, double eps) {
    double *y = malloc(sizeof(double) * (size_t)rows * h);
    ln_ref(y, s, g, b, rows, h, eps);
    return r_loss(y, rr, (size_t)rows * h);
}
static void test_ln(int rows, int h, double offset) {
    const double eps = 1e-5;
    size_t n = (size_t)rows * h;
    double *s = dvec(n, 1), *g = dvec(h, 1), *b = dvec(h, 1), *r = dvec(n, 1);
    for (size_t i = 0; i < n; i++) s[i] += offset;
    roundf_(s, n), roundf_(g, h), roundf_(b, h), roundf_(r, n);
    double *ds = calloc(n, 8), *dg = calloc(h, 8), *db = calloc(h, 8);
    for (int rr = 0; rr < rows; rr++) { /* reference backward */
        double mu = 0, var = 0, m1 = 0, m2 = 0;
        const double *sr = s + rr * h, *yr = r + rr * h;
        for (int j = 0; j < h; j++) mu += sr[j];
        mu /= h;
        for (int j = 0; j < h; j++) var += (sr[j] - mu) * (sr[j] - mu);
        double inv = 1.0 / sqrt(var / h + eps);
        for (int j = 0; j < h; j++) {
            double xh = (sr[j] - mu) * inv;
            m1 += yr[j] * g[j];
            m2 += yr[j] * g[j] * xh;
            dg[j] += yr[j] * xh;
            db[j] += yr[j];
        }
        m1 /= h, m2 /= h;
        for (int j = 0; j < h; j++)
            ds[rr * h + j] = inv * (yr[j] * g[j] - m1 - (sr[j] - mu) * inv * m2);
    }
    double *fs = calloc(n, 8), *fg = calloc(h, 8), *fb = calloc(h, 8);
    FD_ALL(fs, s, n, ln_loss(s, g, b, r, rows, h, eps));
    FD_ALL(fg, g, h, ln_loss(s, g, b, r, rows, h, eps));
    FD_ALL(fb, b, h, ln_loss(s, g, b, r, rows, h, eps));
    char w[96];
    /* a large offset costs digits in the FD (s ± 1e-6 at |s| ~ 100): looser atol */
    double at = offset ? 1e-5 : 1e-8;
    snprintf(w, sizeof w, "layernorm %dx%d offset %g ref ds vs FD", rows, h, offset);
    close_d(w, ds, fs, n, at, 1e-6);
    close_d("layernorm ref dg vs FD", dg, fg, h, at, 1e-6);
    close_d("layernorm ref db vs FD", db, fb, h, 1e-8, 1e-6);
    float *S = tof(s, n), *G = tof(g, h), *Bb = tof(b, h), *DY = tof(r, n);
    float *Y = malloc(n * 4), *mean = malloc(rows * 4), *rstd = malloc(rows * 4), *SS = malloc(n * 4);
    lb_layer_norm_forward(Y, SS, mean, rstd, S, NULL, G, Bb, rows, h, (float)eps, 2);
    LB_CHECK(memcmp(SS, S, n * 4) == 0, "layernorm sum copy");
    float *DS = malloc(n * 4), *DG = calloc(h, 4), *DB = calloc(h, 4);
    lb_layer_norm_backward(DS, 0, DG, DB, DY, S, mean, rstd, G, rows, h, 2);
    snprintf(w, sizeof w, "layernorm %dx%d offset %g float ds", rows, h, offset);
    /* ds is a difference of O(1) terms scaled by rstd; at offset 100 the saved
     * float mean carries ~1e-5 absolute error into x̂: looser there */
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(ds[i]));
    double *DSd = malloc(n * 8);
    for (size_t i = 0; i < n; i++) DSd[i] = DS[i];
    close_d(w, DSd, ds, n, (offset ? 1e-3 : 1e-5) * mx + 1e-7, 1e-5);
    close_fd("layernorm float dg", DG, dg, h);
    close_fd("layernorm float db", DB, db, h);
    free(s), free(g), free(b), free(r), free(ds), free(dg), free(db), free(fs), free(fg), free(fb);
    free(S), free(G), free(Bb), free(DY), free(Y), free(mean), free(rstd), free(SS), free(DS);
    free(DG), free(DB), free(DSd);
}

/* ---- GELU ---- */
static double gelu_d(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static void test_gelu(void) {
    enum { N = 41 };
    double x[N], ref[N], fd[N];
    float X[N], DY[N], DX[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)(-6.0 + 12.0 * i / (N - 1)); /* includes 0 and ±6 */
        ref[i] = 0.5 * (1 + erf(x[i] / sqrt(2.0))) + x[i] * exp(-0.5 * x[i] * x[i]) / sqrt(2 * M_PI);
        fd[i] = (gelu_d(x[i] + FD) - gelu_d(x[i] - FD)) / (2 * FD);
        X[i] = (float)x[i];
        DY[i] = 1.0f;
    }
    close_d("gelu ref derivative vs FD", ref, fd, N, 1e-8, 1e-6);
    lb_gelu_backward(DX, DY, X, N, 2);
    close_fd("gelu float derivative", DX, ref, N);
    for (int i = 0; i < N; i++) DY[i] = 2.0f;
    lb_gelu_backward(DY, DY, X, N, 1); /* in place */
    for (int i = 0; i < N; i++) ref[i] *= 2;
    close_fd("gelu float in place", DY, ref, N);
    float Y[N];
    lb_gelu_forward(Y, X, N, 1);
    double gd[N];
    for (int i = 0; i < N; i++) gd[i] = gelu_d(x[i]);
    close_fd("gelu forward", Y, gd, N);
}

/* The vectorised GELU against its double-erfc references (gelu.c), on a grid over
 * [−30, 30] of odd length (not a multiple of the 16-lane blocks) and special values.
 * Forward: rtol 1e-6 (the erfc fit's 1.2e-7, two float exps within 1 ulp each and a
 * few roundings: 4.7e-7 measured), atol 1e-40 for results in the subnormals, whose
 * spacing is 1.4e-45. Backward: Φ(x) + x·φ(x) cancels near x = −0.75 (terms of 0.23
 * with a few ulp each), so atol 1e-7 beside the same rtol. */
static void test_gelu_sweep(void) {
    enum { N = 120001 };
    float *x = malloc(N * 4), *y = malloc(N * 4), *r = malloc(N * 4), *dy = malloc(N * 4);
    float *y2 = malloc(N * 4);
    for (int i = 0; i < N; i++) {
        x[i] = (float)(-30.0 + 60.0 * i / (N - 1));
        dy[i] = 1.0f - 2.0f * (i % 3 == 0); /* ±1: the sign must reach dx */
    }
    lb_gelu_forward(y, x, N, 2);
    lb_gelu_forward_ref(r, x, N);
    int bad = -1;
    for (int i = 0; i < N && bad < 0; i++)
        if (!lb_close(y[i], r[i], 1e-40, 1e-6)) bad = i;
    LB_CHECK(bad < 0, "gelu forward vs double erfc: x = %.9g gives %.9g, ref %.9g", bad < 0 ? 0 : x[bad],
             bad < 0 ? 0 : y[bad], bad < 0 ? 0 : r[bad]);
    lb_gelu_forward(y2, x, N, 1);
    LB_CHECK(memcmp(y, y2, N * 4) == 0, "gelu forward: 1 and 2 threads give the same bits");
    for (int len = 1; len <= 33; len += 8) { /* short arrays: only the masked tail */
        lb_gelu_forward(y2, x + 1000, (size_t)len, 1);
        LB_CHECK(memcmp(y2, y + 1000, (size_t)len * 4) == 0, "gelu forward of %d elements", len);
    }
    lb_gelu_backward(y, dy, x, N, 2);
    lb_gelu_backward_ref(r, dy, x, N);
    bad = -1;
    for (int i = 0; i < N && bad < 0; i++)
        if (!lb_close(y[i], r[i], 1e-7, 1e-6)) bad = i;
    LB_CHECK(bad < 0, "gelu backward vs double erfc: x = %.9g gives %.9g, ref %.9g", bad < 0 ? 0 : x[bad],
             bad < 0 ? 0 : y[bad], bad < 0 ? 0 : r[bad]);
    /* special values, each checked against what the formula must give */
    float sx[] = {0.0f, -0.0f, INFINITY, NAN, 1e30f, -1e30f, 28.5f, -28.5f, 1e-30f, -1e-30f};
    enum { S = sizeof sx / sizeof sx[0] };
    float sy[S], sd[S], one[S];
    for (int i = 0; i < S; i++) one[i] = 1.0f;
    lb_gelu_forward(sy, sx, S, 1);
    lb_gelu_backward(sd, one, sx, S, 1);
    LB_CHECK(sy[0] == 0 && sy[1] == 0, "gelu(±0) = 0");
    LB_CHECK(isinf(sy[2]) && sy[2] > 0, "gelu(+inf) = +inf (got %g)", sy[2]);
    LB_CHECK(isnan(sy[3]) && isnan(sd[3]), "gelu(NaN) and its derivative are NaN");
    LB_CHECK(sy[4] == 1e30f && sy[5] == 0, "gelu(±1e30) = 1e30, 0 (got %g, %g)", sy[4], sy[5]);
    LB_CHECK(sy[6] == 28.5f && sy[7] == 0 && sd[6] == 1 && sd[7] == 0,
             "past the clamp: gelu(±28.5) = 28.5, 0 and slopes 1, 0 (got %g %g %g %g)", sy[6], sy[7], sd[6], sd[7]);
    LB_CHECK(lb_close(sy[8], 5e-31, 0, 1e-6) && lb_close(sd[8], 0.5, 0, 1e-6) && lb_close(sd[9], 0.5, 0, 1e-6),
             "near 0: gelu(x) = x/2 and slope 1/2 (got %g, %g, %g)", sy[8], sd[8], sd[9]);
    free(x), free(y), free(r), free(dy), free(y2);
}

/* ---- embeddings: scatter-add, PyTorch padding_idx rows ---- */
static void test_embed(int roberta) {
    lb_config c = {.type = roberta ? LB_MODEL_ROBERTA : LB_MODEL_BERT, .vocab_size = 7, .hidden = 5,
                   .layers = 1, .heads = 1, .intermediate = 4, .max_pos = 12, .type_vocab = 2,
                   .pad_id = roberta ? 1 : 0, .ln_eps = 1e-5f};
    enum { B = 2, n = 5, T = B * n };
    int32_t ids[T] = {3, 4, 3, 6, 2, 5, 3, 2, 0, 0};
    if (roberta) ids[8] = ids[9] = 1;
    int32_t tt[T] = {0, 0, 1, 1, 1, 0, 0, 0, 1, 1}, pos[T];
    lb_positions(pos, &c, ids, B, n);
    double *dx = dvec((size_t)T * 5, 1);
    roundf_(dx, (size_t)T * 5);
    double rw[7 * 5] = {0}, rp[12 * 5] = {0}, rt[2 * 5] = {0};
    for (int t = 0; t < T; t++)
        for (int j = 0; j < 5; j++) {
            if (ids[t] != c.pad_id) rw[ids[t] * 5 + j] += dx[t * 5 + j];
            if (!(roberta && pos[t] == c.pad_id)) rp[pos[t] * 5 + j] += dx[t * 5 + j];
            rt[tt[t] * 5 + j] += dx[t * 5 + j];
        }
    float dw[7 * 5] = {0}, dp[12 * 5] = {0}, dt[2 * 5] = {0};
    float *DX = tof(dx, (size_t)T * 5);
    lb_embed_backward(dw, dp, dt, DX, &c, ids, tt, pos, T, 2);
    close_fd(roberta ? "embedding word (roberta)" : "embedding word (bert)", dw, rw, 35);
    close_fd("embedding position", dp, rp, 60);
    close_fd("embedding type", dt, rt, 10);
    LB_CHECK(dw[c.pad_id * 5] == 0 && dw[c.pad_id * 5 + 4] == 0, "pad word row gets no lookup gradient");
    free(dx), free(DX);
}

/* ---- MLM head + cross-entropy: float against double FD ---- */
typedef struct {
    int h, V, P;
    double *x, *wd, *bd, *g, *b, *word, *bias;
    int32_t *lab;
} head_d;
static double head_loss(const head_d *H) {
    int h = H->h, V = H->V;
    double *z = malloc(sizeof(double) * h), *lg = malloc(sizeof(double) * V), loss = 0;
    for (int r = 0; r < H->P; r++) {
        lin_ref(z, H->x + r * h, H->wd, H->bd, 1, h, h);
        for (int j = 0; j < h; j++) z[j] = gelu_d(z[j]);
        ln_ref(z, z, H->g, H->b, 1, h, 1e-5);
        lin_ref(lg, z, H->word, H->bias, 1, h, V);
        double mx = lg[0], s = 0;
        for (int j = 1; j < V; j++) mx = fmax(mx, lg[j]);
        for (int j = 0; j < V; j++) s += exp(lg[j] - mx);
        loss += log(s) + mx - lg[H->lab[r]];
    }
    free(z), free(lg);
    return loss;
}
static void test_head(void) {
    lb_config c = {.type = LB_MODEL_ROBERTA, .vocab_size = 11, .hidden = 6, .layers = 1, .heads = 2,
                   .intermediate = 4, .max_pos = 10, .type_vocab = 1, .pad_id = 1, .ln_eps = 1e-5f};
    char msg[256];
    lb_model *m;
    if (lb_model_init_random(&m, &c, 3, msg, sizeof msg)) {
        LB_CHECK(0, "init: %s", msg);
        return;
    }
    float *p = lb_model_params(m);
    size_t ne = lb_model_param_elems(m);
    for (size_t i = 0; i < ne; i++) p[i] += (float)(0.3 * un());
    for (size_t i = 0; i < (size_t)c.vocab_size * c.hidden; i++) m->word[i] *= 20; /* logits O(1) */
    enum { T = 5, P = 3 };
    const int h = 6, V = 11;
    double *x = dvec(T * h, 1);
    roundf_(x, T * h);
    float *X = tof(x, T * h);
    lb_head_ws w = {.P = P, .chunk = 2}; /* two chunks: 2 rows + 1 */
    int32_t idx[P] = {4, 0, 2}, lab[P] = {3, 10, 0};
    float buf[8][T * 6], logits[2 * 11], dX[T * 6];
    double rowloss[4];
    w.idx = idx, w.lab = lab, w.xp = buf[0], w.z0 = buf[1], w.ha = buf[2], w.z = buf[3];
    w.mean = buf[4], w.rstd = buf[5], w.dz = buf[6], w.dxp = buf[7], w.logits = logits;
    w.rowloss = rowloss;
    float *grad = calloc(ne, sizeof *grad);
    long correct;
    double lf = lb_head_forward(&w, m, grad, 1.0f, X, &correct, 2);
    lb_head_backward(dX, &w, m, grad, T, 2);
    /* double copies of the float parameters */
    head_d H = {.h = h, .V = V, .P = P, .lab = lab};
    double *xp = malloc(sizeof(double) * P * h);
    for (int r = 0; r < P; r++)
        for (int j = 0; j < h; j++) xp[r * h + j] = x[idx[r] * h + j];
    H.x = xp;
#define DUP(dst, src, n)                                          \
    dst = malloc(sizeof(double) * (n));                           \
    for (int i_ = 0; i_ < (n); i_++) dst[i_] = (src)[i_]
    DUP(H.wd, m->hd_w, h * h);
    DUP(H.bd, m->hd_b, h);
    DUP(H.g, m->hln_g, h);
    DUP(H.b, m->hln_b, h);
    DUP(H.word, m->word, V * h);
    DUP(H.bias, m->hbias, V);
    double lref = head_loss(&H);
    LB_CHECK(lb_close(lf, lref, 0, 1e-5), "head loss %.9g vs %.9g", lf, lref);
    struct {
        const char *name;
        double *d;
        float *g;
        int n;
    } t[] = {{"head dense W", H.wd, grad + (m->hd_w - m->block), h * h},
             {"head dense b", H.bd, grad + (m->hd_b - m->block), h},
             {"head LN g", H.g, grad + (m->hln_g - m->block), h},
             {"head LN b", H.b, grad + (m->hln_b - m->block), h},
             {"head decoder (tied word)", H.word, grad + (m->word - m->block), V * h},
             {"head bias", H.bias, grad + (m->hbias - m->block), V}};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        double *fd = malloc(sizeof(double) * t[k].n);
        FD_ALL(fd, t[k].d, t[k].n, head_loss(&H));
        close_fd(t[k].name, t[k].g, fd, (size_t)t[k].n);
        free(fd);
    }
    double fdx[P * 6];
    FD_ALL(fdx, xp, P * h, head_loss(&H));
    float got[P * 6];
    for (int r = 0; r < P; r++) memcpy(got + r * h, dX + idx[r] * h, sizeof(float) * h);
    close_fd("head dX at predicted rows", got, fdx, P * h);
    LB_CHECK(dX[1 * h] == 0 && dX[3 * h + 5] == 0, "head dX is 0 at unpredicted rows");
    free(xp), free(H.wd), free(H.bd), free(H.g), free(H.b), free(H.word), free(H.bias);
    free(grad), free(x), free(X);
    lb_model_free(m);
}

int main(void) {
    lb_rng_seed(&R, 42);
    const int rows[] = {1, 3, 5}, ins[] = {1, 4, 7}, outs[] = {1, 3, 6};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) test_linear(rows[a], ins[b], outs[(a + b) % 3]);
    test_linear(2, 70, 65); /* past one 64-column block of the bias sums */
    const int hs[] = {1, 2, 5, 17};
    for (int i = 0; i < 4; i++) test_ln(3, hs[i], 0);
    test_ln(1, 7, 0);
    test_ln(2, 9, 100.0);
    test_ln(2, 70, 0);
    test_gelu();
    test_gelu_sweep();
    test_embed(1);
    test_embed(0);
    test_head();
    return lb_test_summary("test_layers_backward");
}
