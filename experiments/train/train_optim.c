/* Curriculum, learning-rate schedule, AdamW and gradient-norm clipping. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_train.h"
#include "lb_util.h"


int lb_curriculum_parse(lb_curriculum *c, const char *s, const char *what, char *msg,
                        size_t msglen) {
    memset(c, 0, sizeof *c);
    if (!s || !*s) return lb_fail(msg, msglen, "%s: empty (expected N or N:STEPS,N:STEPS,...)", what);
    const char *p = s;
    while (*p) {
        if (c->count == LB_CURR_MAX)
            return lb_fail(msg, msglen, "%s '%s': more than %d phases", what, s, LB_CURR_MAX);
        char *end;
        errno = 0;
        long n = strtol(p, &end, 10);
        if (end == p || errno || n < 3 || n > 65536)
            return lb_fail(msg, msglen, "%s '%s': sequence length at '%s' must be an integer in 3..65536",
                        what, s, p);
        long steps = 0, batch = 0;
        p = end;
        if (*p == ':') {
            p++;
            errno = 0;
            steps = strtol(p, &end, 10);
            if (end == p || errno || steps < 1 || steps > 1000000000L)
                return lb_fail(msg, msglen, "%s '%s': step count at '%s' must be an integer >= 1", what,
                            s, p);
            p = end;
        }
        if (*p == ':') {
            p++;
            errno = 0;
            batch = strtol(p, &end, 10);
            if (end == p || errno || batch < 1 || batch > 65536)
                return lb_fail(msg, msglen, "%s '%s': batch at '%s' must be an integer in 1..65536", what,
                            s, p);
            p = end;
        }
        if (*p != ',' && *p)
            return lb_fail(msg, msglen,
                           "%s '%s': unexpected '%c' (expected N, N:STEPS or N:STEPS:BATCH, comma separated)",
                           what, s, *p);
        c->n[c->count] = (int)n;
        c->steps[c->count] = steps;
        c->batch[c->count] = (int)batch;
        c->count++;
        if (*p == ',') {
            p++;
            if (!*p) return lb_fail(msg, msglen, "%s '%s': trailing comma", what, s);
        }
    }
    for (int i = 0; i + 1 < c->count; i++)
        if (c->steps[i] == 0)
            return lb_fail(msg, msglen, "%s '%s': phase %d (n = %d) needs ':STEPS' (only the last may omit it)",
                        what, s, i + 1, c->n[i]);
    return 0;
}

int lb_curriculum_batch(const lb_curriculum *c, long step, int dflt) {
    int ph;
    lb_curriculum_n(c, step, &ph);
    return c->batch[ph] ? c->batch[ph] : dflt;
}

int lb_curriculum_min_batch(const lb_curriculum *c, int dflt) {
    int m = c->count ? 65536 : dflt;
    for (int i = 0; i < c->count; i++) {
        int b = c->batch[i] ? c->batch[i] : dflt;
        if (b < m) m = b;
    }
    return m;
}

/* The phase's (n, batch) as one number, so that a change of either is a disagreement. */
static long phase_key(const lb_curriculum *c, long step) {
    int ph, n = lb_curriculum_n(c, step, &ph);
    return (long)n * 65537 + c->batch[ph];
}

int lb_curriculum_n(const lb_curriculum *c, long step, int *phase) {
    long start = 0;
    int i = 0;
    for (; i + 1 < c->count; i++) {
        if (step < start + c->steps[i]) break;
        start += c->steps[i];
    }
    if (phase) *phase = i;
    return c->n[i];
}

long lb_curriculum_disagree(const lb_curriculum *a, const lb_curriculum *b, long steps) {
    /* n is constant between phase starts, so comparing at step 0 and at every phase
     * start of either curriculum below `steps` covers every step. */
    long s = 0;
    if (steps > 0 && phase_key(a, 0) != phase_key(b, 0)) return 0;
    for (int pass = 0; pass < 2; pass++) {
        const lb_curriculum *c = pass ? b : a;
        s = 0;
        for (int i = 0; i + 1 < c->count; i++) {
            s += c->steps[i];
            if (s >= steps) break;
            if (phase_key(a, s) != phase_key(b, s)) return s;
        }
    }
    return -1;
}

int lb_curriculum_max_n(const lb_curriculum *c) {
    int m = 0;
    for (int i = 0; i < c->count; i++)
        if (c->n[i] > m) m = c->n[i];
    return m;
}

void lb_curriculum_format(const lb_curriculum *c, char *buf, size_t len) {
    size_t used = 0;
    if (len) buf[0] = 0;
    for (int i = 0; i < c->count && used < len; i++) {
        int w = c->batch[i] ? snprintf(buf + used, len - used, "%s%d:%ld:%d", i ? "," : "", c->n[i],
                                       c->steps[i], c->batch[i])
                : c->steps[i] ? snprintf(buf + used, len - used, "%s%d:%ld", i ? "," : "", c->n[i], c->steps[i])
                              : snprintf(buf + used, len - used, "%s%d", i ? "," : "", c->n[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

double lb_lr_at(long step, long total, long warmup, double lr, double min_lr, lb_decay d) {
    if (step < warmup) return lr * (double)(step + 1) / (double)warmup;
    if (d == LB_DECAY_CONSTANT) return lr;
    if (d == LB_DECAY_WSD) {
        long start = total - (long)(LB_WSD_FRACTION * (double)total);
        if (start < warmup) start = warmup;
        if (step < start) return lr;
        warmup = start; /* the linear decay below, from the stable phase's end */
    }
    long span = total - 1 - warmup;
    if (span <= 0) return lr;
    double f = (double)(step - warmup) / (double)span; /* 0 .. 1 */
    if (f > 1) f = 1;
    if (d == LB_DECAY_COSINE) return min_lr + (lr - min_lr) * 0.5 * (1 + cos(M_PI * f));
    return lr + (min_lr - lr) * f;
}

void lb_adamw_update(float *p, float *m, float *v, const float *g, size_t len,
                     const lb_adamw_hp *hp, long t, double lr, double wd, int threads) {
    /* The bias corrections and the decay factor are computed once in double so every
     * element sees the same constants. */
    const float b1 = (float)hp->beta1, b2 = (float)hp->beta2;
    const float c1 = (float)(1.0 / (1.0 - pow(hp->beta1, (double)t)));
    const float c2 = (float)(1.0 / (1.0 - pow(hp->beta2, (double)t)));
    const float eps = (float)hp->eps, step = (float)lr, decay = (float)(1.0 - lr * wd);
    long n = (long)len;
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1) if (n > 65536)
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step * (mi * c1) / (sqrtf(vi * c2) + eps);
    }
}

#define CHUNK 4096

double lb_sumsq(const float *g, size_t len, int threads) {
    long nchunks = (long)((len + CHUNK - 1) / CHUNK);
    if (nchunks == 0) return 0;
    double *part = malloc((size_t)nchunks * sizeof *part);
    if (!part) { /* fall back to one serial pass: same chunking, same order */
        double total = 0;
        for (long c = 0; c < nchunks; c++) {
            size_t a = (size_t)c * CHUNK, b = a + CHUNK < len ? a + CHUNK : len;
            double s = 0;
            for (size_t i = a; i < b; i++) s += (double)g[i] * g[i];
            total += s;
        }
        return total;
    }
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1) if (nchunks > 16)
    for (long c = 0; c < nchunks; c++) {
        size_t a = (size_t)c * CHUNK, b = a + CHUNK < len ? a + CHUNK : len;
        double s = 0;
        for (size_t i = a; i < b; i++) s += (double)g[i] * g[i];
        part[c] = s;
    }
    double total = 0;
    for (long c = 0; c < nchunks; c++) total += part[c];
    free(part);
    return total;
}

void lb_scale(float *g, size_t len, float s, int threads) {
    long n = (long)len;
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1) if (n > 65536)
    for (long i = 0; i < n; i++) g[i] *= s;
}

double lb_clip_grad(float *g, size_t len, double clip, int threads) {
    double norm = sqrt(lb_sumsq(g, len, threads));
    if (!isfinite(norm)) return norm;
    if (clip > 0 && norm > clip) lb_scale(g, len, (float)(clip / norm), threads);
    return norm;
}
