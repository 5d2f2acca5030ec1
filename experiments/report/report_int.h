/* Internal to experiments/report/: the per-window spectrum statistics and their
 * bootstrap (report_boot.c), used by the Figure 1 section (report_spectrum.c); the
 * comparison at a fixed cost (report_cost.c), used by report_approx.c; the JSON reader
 * of report_out.c, used by the meta and paper-scale Table 3 sections. */
#ifndef LB_REPORT_INT_H
#define LB_REPORT_INT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "lb_report.h"
#include "lb_spectrum.h"

/* Statistics of one spectrum result, per n: x is (W, nl, LB_SPEC_NSTATS), the mean over
 * the selected heads of each statistic for window w and layer l. Layers are the same
 * at every n (ascending model indices). */
typedef struct {
    int n, index, W;
    double *x;
} rb_len;

typedef struct {
    int nn, nl;       /* lengths (ascending), layers */
    int layers[256];
    rb_len *len;      /* (nn) */
} rb_data;

/* The object or array under key at the top of the JSON file path, detached (the caller
 * cJSON_Deletes it). NULL with *rc = 0 when the key is absent and not required; NULL
 * with a message naming the file (and key) and *rc a sysexits code otherwise. */
cJSON *rb_json_key(const char *path, const char *key, int required, int *rc);

/* Read PREFIX_windows.csv (lb_spec_write_windows). Returns 0 or a sysexits code with
 * the error printed (file, line or field named). */
int rb_read(rb_data *d, const char *prefix);
void rb_free(rb_data *d);

/* The numbers verdicts rest on, each with a bootstrap interval. L = nl + 1 rows per n
 * (layer rows, then all layers pooled). */
enum { RB_RHO_AT, RB_RHO_IDX90, RB_RHO_EFF, RB_NRHO }; /* the three readings of the layer claim */
enum { RB_GROW_SIGMA, RB_GROW_ENERGY, RB_NGROW };      /* idx90 of the σ and σ² curves */
enum { RB_SET_TRAINED, RB_SET_ALL, RB_NSET };          /* n within the trained length; every n */

typedef struct {
    int nq, B;
    double *est, *lo, *hi; /* (nq) */
} rb_result;

/* Offsets into est/lo/hi. */
int rb_q_mean(const rb_data *d, int ni, int l, int stat); /* l = nl: pooled */
int rb_q_rho(const rb_data *d, int ni, int reading);
int rb_q_grow(const rb_data *d, int set, int l, int which);

/* The percentile bootstrap over windows (each n resampled on its own), B resamples,
 * seed, level (0.95); trained_n marks the lengths of RB_SET_TRAINED (n <= trained_n).
 * Returns 0 or EX_OSERR. */
int rb_bootstrap(rb_result *res, const rb_data *d, int B, uint64_t seed, double level, int trained_n);
void rb_result_free(rb_result *res);

/* The efficient attentions at a fixed flop budget (a Linformer head's at the matched
 * size K) at n, from the per-head and pooled approximation tables (PREFIX_approx.csv,
 * PREFIX_approx_all.csv) of the result named name: a paragraph and four verdicts
 * (fitted projection vs local per head, the best other attention vs a random Linformer
 * head pooled, heads differ in their best method, window-best heads are the sharp
 * ones). Files without the flops column get a note instead. 0 or EX_OSERR. */
int lb_report_approx_cost(lb_report *r, const lb_table *per, const lb_table *all,
                          const char *name, double n, double K);

#endif
