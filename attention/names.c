#include <string.h>

#include "lb_attn.h"

static const char *const method_names[LB_ATTN_NMETHODS] = {
    "full", "stream", "linformer", "local", "nystrom", "performer", "scatterbrain", "materialise"};
static const char *const share_names[] = {"none", "headwise", "kv", "layerwise"};

const char *lb_attn_method_name(lb_attn_method m) {
    return (unsigned)m < LB_ATTN_NMETHODS ? method_names[m] : "?";
}

int lb_attn_method_parse(const char *s, lb_attn_method *out) {
    for (int i = 0; i < LB_ATTN_NMETHODS; i++)
        if (!strcmp(s, method_names[i])) {
            *out = (lb_attn_method)i;
            return 0;
        }
    return -1;
}

int lb_attn_sized_methods(void) {
    return 1 << LB_ATTN_LINFORMER | 1 << LB_ATTN_LOCAL | 1 << LB_ATTN_NYSTROM | 1 << LB_ATTN_PERFORMER |
           1 << LB_ATTN_SCATTERBRAIN;
}

const char *lb_share_name(lb_share s) { return (unsigned)s < 4 ? share_names[s] : "?"; }

int lb_share_parse(const char *s, lb_share *out) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, share_names[i])) {
            *out = (lb_share)i;
            return 0;
        }
    return -1;
}
