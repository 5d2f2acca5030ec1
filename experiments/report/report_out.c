/* Building blocks of REPORT.md: verdict lines, figure links relative to the report,
 * Spearman's rho for the layer trend, and the machine/build metadata table. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lb_meta.h"
#include "lb_report.h"
#include "report_int.h"
#include "lb_util.h"

const char *lb_verdict_word(lb_verdict_kind k) {
    switch (k) {
    case LB_HOLDS: return "holds";
    case LB_WEAKER: return "holds more weakly";
    case LB_NOT_HOLD: return "does not hold here";
    case LB_OUTSIDE: return "outside the model's trained length";
    default: return "undecided";
    }
}

/* Band of x: 0 passes `hold`, 1 passes only `weak`, 2 neither; higher = 0 flips the
 * direction (smaller is better). NaN has no band. */
static int band(double x, double hold, double weak, int higher) {
    if (isnan(x)) return -1;
    if (!higher) x = -x, hold = -hold, weak = -weak;
    return x >= hold ? 0 : x >= weak ? 1 : 2;
}

lb_verdict_kind lb_verdict_interval(double lo, double hi, double hold, double weak, int higher) {
    static const lb_verdict_kind k[3] = {LB_HOLDS, LB_WEAKER, LB_NOT_HOLD};
    int a = band(lo, hold, weak, higher), b = band(hi, hold, weak, higher);
    return a >= 0 && a == b ? k[a] : LB_UNDECIDED;
}

void lb_md_cell(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

int lb_report_verdict(lb_report *r, const char *claim, lb_verdict_kind k, const char *rule,
                      const char *rests_on, const char *numbers) {
    fprintf(r->md, "\n**Claim:** %s  \n**Verdict: %s.** Rule: %s  \nNumbers: %s  \nRests on: %s\n", claim,
            lb_verdict_word(k), rule, numbers, rests_on);
    if (r->nv == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        lb_verdict *v = realloc(r->v, (size_t)cap * sizeof *v);
        if (!v) return EX_OSERR;
        r->v = v, r->cap = cap;
    }
    lb_verdict *v = &r->v[r->nv];
    v->claim = strdup(claim), v->rests_on = strdup(rests_on), v->kind = k;
    if (!v->claim || !v->rests_on) {
        free(v->claim), free(v->rests_on);
        return EX_OSERR;
    }
    r->nv++;
    return 0;
}

/* path relative to the folder `from` (both absolute, normalised by realpath). */
static void relpath(char *out, size_t cap, const char *from, const char *to) {
    size_t common = 0, i = 0;
    for (; from[i] && to[i] && from[i] == to[i]; i++)
        if (from[i] == '/') common = i;
    if (!from[i] && (to[i] == '/' || !to[i])) common = i; /* from is a prefix of to */
    out[0] = 0;
    size_t len = 0;
    for (const char *p = from + common; *p; p++)
        if (*p == '/') len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "../");
    const char *rest = to + common + (to[common] == '/');
    snprintf(out + (len < cap ? len : cap - 1), len < cap ? cap - len : 1, "%s", rest);
}

void lb_report_figure(lb_report *r, const char *alt, const char *path) {
    char abs[PATH_MAX], rel[2 * PATH_MAX];
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode) || !realpath(path, abs)) {
        fprintf(r->md, "\n*(%s: not drawn yet, expected `%s`)*\n", alt, path);
        return;
    }
    relpath(rel, sizeof rel, r->outdir, abs);
    fprintf(r->md, "\n![%s](%s)\n", alt, rel);
}

void lb_report_not_run(lb_report *r, const char *what, const char *how) {
    fprintf(r->md, "\n> %s: not run yet: `%s`\n", what, how);
}

static void ranks(double *rk, const double *x, int n) {
    for (int i = 0; i < n; i++) {
        int less = 0, equal = 0;
        for (int j = 0; j < n; j++) less += x[j] < x[i], equal += x[j] == x[i];
        rk[i] = less + (equal + 1) / 2.0; /* average rank of the tie group, 1-based */
    }
}

double lb_spearman(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double *rx = malloc(2 * (size_t)n * sizeof *rx);
    if (!rx) return NAN;
    double *ry = rx + n;
    ranks(rx, x, n), ranks(ry, y, n);
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) mx += rx[i] / n, my += ry[i] / n;
    for (int i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx), syy += (ry[i] - my) * (ry[i] - my);
    }
    free(rx);
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

static const char *const META_KEYS[] = {
    "date",        "git_commit",      "git_dirty",     "compiler",          "cflags",
    "cpu_model",   "openblas_config", "openblas_core", "OPENBLAS_CORETYPE", "openblas_threads",
    "omp_threads", "lapack_version",  "kernel",        "hostname",          "command",
};
#define N_META (int)(sizeof META_KEYS / sizeof META_KEYS[0])

static void json_value(FILE *f, const cJSON *v) {
    if (!v) {
        fputs("–", f);
    } else if (cJSON_IsString(v)) {
        lb_md_cell(f, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        fputs(cJSON_IsTrue(v) ? "yes" : "no", f);
    } else if (cJSON_IsNumber(v)) {
        fprintf(f, "%g", v->valuedouble);
    } else if (cJSON_IsArray(v)) {
        const cJSON *e;
        int first = 1;
        fputc('`', f);
        cJSON_ArrayForEach(e, v) {
            if (!first) fputc(' ', f);
            if (cJSON_IsString(e)) lb_md_cell(f, e->valuestring);
            first = 0;
        }
        fputc('`', f);
    }
}

cJSON *rb_json_key(const char *path, const char *key, int required, int *rc) {
    char msg[4200];
    int missing;
    char *b = lb_read_file(path, NULL, &missing, msg, sizeof msg);
    *rc = 0;
    if (!b) {
        lb_err("%s", msg);
        *rc = missing ? EX_NOINPUT : EX_IOERR;
        return NULL;
    }
    cJSON *j = cJSON_Parse(b);
    free(b);
    int parsed = j != NULL;
    cJSON *v = j ? cJSON_DetachItemFromObjectCaseSensitive(j, key) : NULL;
    cJSON_Delete(j);
    if (parsed && !v && !required) return NULL;
    if (!v || !(cJSON_IsObject(v) || cJSON_IsArray(v))) {
        if (parsed) lb_err("%s: no \"%s\" object or array", path, key);
        else lb_err("%s: not valid JSON", path);
        cJSON_Delete(v);
        *rc = EX_DATAERR;
        return NULL;
    }
    return v;
}

int lb_report_meta(lb_report *r, const char *const *labels, const char *const *paths, int n) {
    cJSON **m = calloc((size_t)n + 1, sizeof *m);
    if (!m) return EX_OSERR;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) m[i] = rb_json_key(paths[i], "meta", 1, &rc);
    if (!rc) {
        /* the machine running this report, in the same shape */
        lb_meta here;
        lb_meta_collect(&here);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f) {
            fputc('{', f);
            lb_meta_write_json(f, &here, 1, (char *[]){"report", NULL}, 0);
            fputc('}', f);
            fclose(f);
            cJSON *j = cJSON_Parse(buf);
            m[n] = j ? cJSON_DetachItemFromObjectCaseSensitive(j, "meta") : NULL;
            cJSON_Delete(j);
        }
        free(buf);
        FILE *o = r->md;
        fprintf(o, "\n## Machine and build\n\nFrom the `meta` object of each result file; "
                   "the last column is the machine that wrote this report.\n\n| field |");
        for (int i = 0; i < n; i++) fputc(' ', o), lb_md_cell(o, labels[i]), fputs(" |", o);
        fprintf(o, " this report |\n|---|");
        for (int i = 0; i <= n; i++) fputs("---|", o);
        fputc('\n', o);
        for (int k = 0; k < N_META; k++) {
            fprintf(o, "| %s |", META_KEYS[k]);
            for (int i = 0; i <= n; i++) {
                fputc(' ', o);
                json_value(o, m[i] ? cJSON_GetObjectItemCaseSensitive(m[i], META_KEYS[k]) : NULL);
                fputs(" |", o);
            }
            fputc('\n', o);
        }
    }
    for (int i = 0; i <= n; i++) cJSON_Delete(m[i]);
    free(m);
    return rc;
}
