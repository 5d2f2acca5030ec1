/* The parameter table's accessors, and checkpoints: DIR/config.json +
 * DIR/model.safetensors in HuggingFace layout, every parameter of the table, readable
 * by lb_model_load (and by HF for full attention). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_safetensors.h"
#include "lb_util.h"
#include "model_int.h"


int lb_model_param_count(const lb_model *m) { return m->nparams; }
const lb_param *lb_model_param(const lb_model *m, int i) {
    return i >= 0 && i < m->nparams ? &m->params[i] : NULL;
}
const lb_param *lb_model_param_find(const lb_model *m, const char *name) {
    for (int i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0) return &m->params[i];
    return NULL;
}
float *lb_model_params(lb_model *m) { return m->block; }
size_t lb_model_param_elems(const lb_model *m) { return m->elems; }
int lb_model_has_head(const lb_model *m) { return m->has_head; }

int lb_model_save(const char *dir, const lb_model *m, lb_weight_dtype dtype,
                       const char *const *metadata, char *msg, size_t msglen) {
    static const lb_st_dtype dt[3] = {LB_ST_F32, LB_ST_F16, LB_ST_BF16};
    if ((int)dtype < 0 || (int)dtype > 2) return lb_fail(msg, msglen, "checkpoint dtype %d unknown", (int)dtype);
    if (lb_mkdirs(dir)) return lb_fail(msg, msglen, "%s: cannot create the folder", dir);
    int n = m->nparams, nm = 0;
    while (metadata && metadata[nm]) nm++;
    lb_st_out *t = calloc((size_t)n, sizeof *t);
    const char **md = calloc((size_t)nm + 3, sizeof *md);
    size_t plen = strlen(dir) + 32;
    char *path = malloc(plen);
    int rc = -1;
    if (!t || !md || !path) {
        lb_fail(msg, msglen, "out of memory");
        goto out;
    }
    md[0] = "format";
    md[1] = "pt";
    for (int i = 0; i < nm; i++) md[2 + i] = metadata[i];
    for (int i = 0; i < n; i++) {
        const lb_param *p = &m->params[i];
        t[i].name = p->name;
        t[i].dtype = dt[dtype];
        t[i].ndim = p->ndim;
        for (int j = 0; j < p->ndim; j++) t[i].shape[j] = p->shape[j];
        t[i].data = m->block + p->offset;
    }
    snprintf(path, plen, "%s/model.safetensors", dir);
    if (lb_st_write(path, t, n, md, msg, msglen)) goto out;
    snprintf(path, plen, "%s/config.json", dir);
    if (lb_config_save(&m->c, path, msg, msglen)) goto out;
    rc = 0;
out:
    free(t);
    free(md);
    free(path);
    return rc;
}
