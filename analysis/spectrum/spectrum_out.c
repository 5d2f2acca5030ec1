/* The result files of `linbench spectrum` (the list is in lb_spectrum.h): one output
 * set (lb_outset.h), so they appear together or not at all, and a failed or
 * interrupted run leaves the previous results under the prefix as they were. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb_meta.h"
#include "lb_outset.h"
#include "lb_spectrum.h"
#include "lb_util.h"

enum { F_CURVES, F_LAYERS, F_SUMMARY, F_VS_N, F_PE, F_PE_ALL, F_WINDOWS, F_CONTROLS, F_JSON, F_COUNT };
static const char *const suffix[F_COUNT] = {".csv",    "_layers.csv",      "_summary.csv",
                                            "_vs_n.csv", "_projerr.csv", "_projerr_all.csv",
                                            "_windows.csv", "_controls.csv", ".json"};

struct lb_spec_out {
    lb_outset *set;
    FILE *f[F_COUNT];
};

void lb_spec_out_abort(lb_spec_out *o) {
    if (!o) return;
    lb_outset_abort(o->set);
    free(o);
}

int lb_spec_out_open(lb_spec_out **out, const char *prefix) {
    lb_spec_out *o = calloc(1, sizeof *o);
    char msg[1200];
    *out = NULL;
    if (!o || !(o->set = lb_outset_new(msg, sizeof msg))) {
        free(o);
        lb_err("spectrum: out of memory");
        return -1;
    }
    for (int i = 0; i < F_COUNT; i++) {
        size_t len = strlen(prefix) + strlen(suffix[i]) + 1;
        char *path = malloc(len);
        if (path) snprintf(path, len, "%s%s", prefix, suffix[i]);
        o->f[i] = path ? lb_outset_add(o->set, path, msg, sizeof msg) : NULL;
        free(path);
        if (!o->f[i]) {
            lb_err("spectrum: %s", path ? msg : "out of memory");
            lb_spec_out_abort(o);
            return -1;
        }
    }
    *out = o;
    return 0;
}

lb_outset *lb_spec_out_set(lb_spec_out *o) { return o->set; }

int lb_spec_out_commit(lb_spec_out *o) {
    char msg[1200];
    int rc = lb_outset_commit(o->set, msg, sizeof msg);
    free(o);
    if (rc) lb_err("spectrum: %s; earlier results under that prefix are untouched", msg);
    return rc;
}

/* Pool the accumulators of the selected heads of one layer (all layers: layer < 0). */
static void pool_stats(lb_welford *st, const lb_spec_run *r, int li) {
    memset(st, 0, sizeof(lb_welford) * LB_SPEC_NSTATS);
    for (int l = 0; l < r->nl; l++) {
        if (li >= 0 && l != li) continue;
        for (int h = 0; h < r->nh; h++)
            for (int s = 0; s < LB_SPEC_NSTATS; s++)
                lb_welford_merge(&st[s], &r->acc[l * r->nh + h].stat[s]);
    }
}

static void stat_cols(FILE *f, const lb_welford *st) {
    for (int s = 0; s < LB_SPEC_NSTATS; s++)
        fprintf(f, ",%.9g,%.9g", st[s].mean, lb_welford_std(&st[s]));
}

static void write_csvs(lb_spec_out *o, const lb_spec_run *runs, int nruns) {
    FILE *fc = o->f[F_CURVES], *fl = o->f[F_LAYERS], *fs = o->f[F_SUMMARY], *fv = o->f[F_VS_N],
         *fp = o->f[F_PE], *fa = o->f[F_PE_ALL];
    fputs("n,layer,head,index,sigma_mean,sigma_std,energy_mean,energy_std,count\n", fc);
    fputs("n,layer,index,sigma_mean,sigma_std,energy_mean,energy_std,count\n", fl);
    fputs("n,layer,head,count,index", fs);
    fputs("n,layer,count,index", fv);
    for (int s = 0; s < LB_SPEC_NSTATS; s++) {
        fprintf(fs, ",%s_mean,%s_std", lb_spec_stat_name(s), lb_spec_stat_name(s));
        fprintf(fv, ",%s_mean,%s_std", lb_spec_stat_name(s), lb_spec_stat_name(s));
    }
    fputs("\n", fs);
    fputs("\n", fv);
    fputs("n,layer,head,k,method,mean,std,count\n", fp);
    fputs("n,k", fa);
    for (int m = 0; m < LB_PE_COUNT; m++) fprintf(fa, ",%s_mean,%s_std", lb_pe_name(m), lb_pe_name(m));
    fputs(",count\n", fa);
    for (int ri = 0; ri < nruns; ri++) {
        const lb_spec_run *r = &runs[ri];
        double *sd = malloc(sizeof(double) * 2 * (size_t)r->n);
        for (int l = 0; l < r->nl; l++) {
            for (int h = 0; h < r->nh; h++) {
                const lb_spec_acc *a = &r->acc[l * r->nh + h];
                if (sd) {
                    lb_spec_acc_curve_std(a, sd, 0);
                    lb_spec_acc_curve_std(a, sd + r->n, 1);
                    for (int i = 0; i < r->n; i++)
                        fprintf(fc, "%d,%d,%d,%d,%.9g,%.9g,%.9g,%.9g,%.0f\n", r->n, r->layers[l],
                                r->heads[h], i + 1, a->c_mean[i], sd[i], a->e_mean[i],
                                sd[r->n + i], a->count);
                }
                fprintf(fs, "%d,%d,%d,%.0f,%d", r->n, r->layers[l], r->heads[h], a->count,
                        r->index);
                stat_cols(fs, a->stat);
                fputs("\n", fs);
            }
            /* Layer curves pooled over heads, index by index. */
            for (int i = 0; i < r->n; i++) {
                lb_welford c = {0}, e = {0};
                for (int h = 0; h < r->nh; h++) {
                    const lb_spec_acc *a = &r->acc[l * r->nh + h];
                    lb_welford wc = {a->count, a->c_mean[i], a->c_m2[i]};
                    lb_welford we = {a->count, a->e_mean[i], a->e_m2[i]};
                    lb_welford_merge(&c, &wc);
                    lb_welford_merge(&e, &we);
                }
                fprintf(fl, "%d,%d,%d,%.9g,%.9g,%.9g,%.9g,%.0f\n", r->n, r->layers[l], i + 1,
                        c.mean, lb_welford_std(&c), e.mean, lb_welford_std(&e), c.n);
            }
        }
        free(sd);
        for (int l = -1; l < r->nl; l++) {
            lb_welford st[LB_SPEC_NSTATS];
            pool_stats(st, r, l);
            fprintf(fv, "%d,%d,%.0f,%d", r->n, l < 0 ? -1 : r->layers[l], st[0].n, r->index);
            stat_cols(fv, st);
            fputs("\n", fv);
        }
        for (int j = 0; j < r->nks; j++) {
            lb_welford all[LB_PE_COUNT];
            memset(all, 0, sizeof all);
            for (int l = 0; l < r->nl; l++)
                for (int h = 0; h < r->nh; h++)
                    for (int m = 0; m < LB_PE_COUNT; m++) {
                        const lb_welford *w =
                            &r->pe[(((size_t)l * r->nh + h) * r->nks + j) * LB_PE_COUNT + m];
                        lb_welford_merge(&all[m], w);
                        fprintf(fp, "%d,%d,%d,%d,%s,%.9g,%.9g,%.0f\n", r->n, r->layers[l],
                                r->heads[h], r->ks[j], lb_pe_name(m), w->n ? w->mean : NAN,
                                lb_welford_std(w), w->n);
                    }
            fprintf(fa, "%d,%d", r->n, r->ks[j]);
            for (int m = 0; m < LB_PE_COUNT; m++)
                fprintf(fa, ",%.9g,%.9g", all[m].n ? all[m].mean : NAN, lb_welford_std(&all[m]));
            fprintf(fa, ",%.0f\n", all[0].n);
        }
    }
}

static void json_list(FILE *f, const int *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%d", i ? ", " : "", v[i]);
    fputc(']', f);
}

static void json_opt(FILE *f, long v) { /* -1: not used by the run */
    if (v < 0) fputs("null", f);
    else fprintf(f, "%ld", v);
}

static void json_stats(FILE *f, const lb_welford *st) {
    fputc('{', f);
    for (int s = 0; s < LB_SPEC_NSTATS; s++)
        fprintf(f, "%s\"%s\": [%.9g, %.9g]", s ? ", " : "", lb_spec_stat_name(s), st[s].mean,
                lb_welford_std(&st[s]));
    fputc('}', f);
}

/* "params": what the run read and how, then the definitions of its numbers. */
static void json_params(FILE *f, const lb_spec_params *p) {
    const lb_spec_input_opts *io = p->io;
    fputs(",\n  \"params\": {\n    \"model\": ", f);
    lb_json_str(f, io->model_dir);
    fputs(",\n    \"input\": ", f);
    lb_json_str(f, io->ids_path ? io->ids_path : io->text_path);
    fprintf(f, ",\n    \"input_kind\": \"%s\",\n    \"tokenizer\": ", io->ids_path ? "ids" : "text");
    lb_json_str(f, p->tokenizer);
    /* what the run used: ready sequences have no policy, stride, bos or eos */
    const char *policy = p->ready ? "ready" : io->win.policy == LB_WIN_PAD ? "pad" : "pack";
    fprintf(f, ",\n    \"policy\": \"%s\",\n    \"stride\": ", policy);
    if (!p->ready && io->win.policy == LB_WIN_PACK && io->win.stride == 0)
        fputs("\"n - 2\"", f);
    else
        json_opt(f, p->ready || io->win.policy == LB_WIN_PAD ? -1 : io->win.stride);
    fprintf(f, ",\n    \"seed\": %llu,\n    \"bos\": ", (unsigned long long)io->win.seed);
    json_opt(f, p->bos);
    fputs(",\n    \"eos\": ", f);
    json_opt(f, p->eos);
    fputs(",\n    \"pad\": ", f);
    json_opt(f, p->pad);
    fputs(",\n", f);
    if (p->trained) fputs("    \"trained\": ", f), lb_trained_json(f, p->trained), fputs(",\n", f);
    if (io->random_init >= 0) fprintf(f, "    \"random_init\": %ld,\n", io->random_init);
    fprintf(f, "    \"sequences\": %ld,\n    \"proj_sequences\": %ld,\n", p->sequences,
            p->proj_sequences);
    if (p->index_opt)
        fprintf(f, "    \"index\": %d,\n", p->index_opt);
    else
        fputs("    \"index\": \"n/4 (128 at n = 512)\",\n", f);
    fprintf(f, "    \"proj_k_rule\": \"%s\",\n    \"threads\": %d,\n    \"forward_threads\": %d,\n",
            p->proj_k_given ? "as given" : "16,32,64,128,256 capped at n", p->threads,
            p->forward_threads);
    fputs("    \"curves\": \"sigma: cumsum(s)/sum(s); energy: cumsum(s^2)/sum(s^2); index "
          "1-based; past the rank both are 1\",\n"
          "    \"padding\": \"each P is restricted to real queries x real keys (mask 1) "
          "before the SVD, so padding cannot fake low rank; its curve is 1 past its size\",\n"
          "    \"row_entropy_ratio\": \"mean over real rows of -sum p log p / log(real keys)\",\n"
          "    \"eff_rank\": \"exp(-sum p_i log p_i), p_i = s_i / sum s (Roy & Vetterli 2007)\",\n"
          "    \"projerr\": \"|PV - Y|_F / |PV|_F over real tokens; gauss: Y = P R^T R V, R "
          "N(0,1/k) seeded per (layer, head, k); pool: mean pooling of k blocks; "
          "linformer_*: softmax(Q (E K)^T / sqrt(d)) (E V) with E = R or pooling; svd_pv: best "
          "rank-k P_k; svd_p: |P - P_k|_F / |P|_F\"\n  },\n",
          f);
}

/* One run (one n): its sizes and times, and the statistics pooled and per head. */
static void json_run(FILE *f, const lb_spec_run *r, int first) {
    lb_welford st[LB_SPEC_NSTATS];
    pool_stats(st, r, -1);
    fprintf(f, "%s\n    {\n      \"n\": %d,\n      \"index\": %d,\n      \"policy\": ",
            first ? "" : ",", r->n, r->index);
    lb_json_str(f, r->policy ? r->policy : "");
    fprintf(f, ",\n      \"windows_total\": %ld,\n      \"sequences\": %ld,\n"
               "      \"proj_sequences\": %ld,\n      \"tokens\": %.0f,\n"
               "      \"real_tokens\": %.0f,\n      \"forward_seconds\": %.6f,\n"
               "      \"forward_tokens_per_s\": %.3f,\n      \"analysis_seconds\": %.6f,\n",
            r->windows_total, r->sequences, r->proj_sequences, r->tokens, r->real_tokens,
            r->forward_s, r->forward_s > 0 ? r->tokens / r->forward_s : 0, r->analysis_s);
    fputs("      \"layers\": ", f);
    json_list(f, r->layers, r->nl);
    fputs(",\n      \"heads\": ", f);
    json_list(f, r->heads, r->nh);
    fputs(",\n      \"proj_k\": ", f);
    json_list(f, r->ks, r->nks);
    fputs(",\n      \"pooled\": ", f);
    json_stats(f, st);
    fputs(",\n      \"per_head\": [", f);
    for (int l = 0; l < r->nl; l++)
        for (int h = 0; h < r->nh; h++) {
            const lb_spec_acc *a = &r->acc[l * r->nh + h];
            fprintf(f, "%s\n        {\"layer\": %d, \"head\": %d, \"count\": %.0f, \"stats\": ",
                    l + h ? "," : "", r->layers[l], r->heads[h], a->count);
            json_stats(f, a->stat);
            fputc('}', f);
        }
    fputs("\n      ]\n    }", f);
}

/* PREFIX.json: the run's metadata, the params, one entry a run, the files written. */
static void write_json(lb_spec_out *o, const lb_spec_run *runs, int nruns, const lb_spec_params *p,
                       int argc, char **argv, const lb_meta *m) {
    FILE *f = o->f[F_JSON];
    fputs("{\n", f);
    lb_meta_write_json(f, m, argc, argv, 2);
    json_params(f, p);
    fputs("  \"runs\": [", f);
    for (int ri = 0; ri < nruns; ri++) json_run(f, &runs[ri], ri == 0);
    fputs("\n  ],\n  \"files\": [", f);
    for (int i = 0; i < F_COUNT; i++) {
        fputs(i ? ", " : "", f);
        lb_json_str(f, lb_outset_path(o->set, i));
    }
    fputs("]\n}\n", f);
}

int lb_spec_out_write(lb_spec_out *o, const lb_spec_run *runs, int nruns, const lb_spec_params *p,
                      int argc, char **argv) {
    lb_meta m;
    lb_meta_collect(&m);
    for (int i = 0; i < F_COUNT - 1; i++) lb_meta_write_comments(o->f[i], &m, argc, argv);
    write_csvs(o, runs, nruns);
    char msg[512];
    if (lb_spec_write_windows(o->f[F_WINDOWS], runs, nruns)) {
        lb_err("spectrum: out of memory for the per-window statistics (%s)", suffix[F_WINDOWS]);
        return -1;
    }
    if (lb_spec_write_controls(o->f[F_CONTROLS], runs, nruns, msg, sizeof msg)) {
        lb_err("spectrum: %s: %s", suffix[F_CONTROLS], msg);
        return -1;
    }
    write_json(o, runs, nruns, p, argc, argv, &m);
    return 0; /* a failed write (full disk, size limit) is reported, with its reason, by commit */
}
