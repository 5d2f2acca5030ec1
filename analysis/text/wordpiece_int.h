/* Internal to analysis/text/wordpiece*.c: the generated character tables
 * (wordpiece_tables.c, from gen_wordpiece_tables.py) the BERT basic tokenizer reads. */
#ifndef LB_WORDPIECE_INT_H
#define LB_WORDPIECE_INT_H

#include <stddef.h>
#include <stdint.h>

enum { WP_OTHER = 0, WP_CTRL, WP_WS, WP_SEP, WP_PUNCT, WP_MN };
enum { WP_SIGMA_NONE = 0, WP_SIGMA_IGNORABLE, WP_SIGMA_CASED };

typedef struct {
    uint32_t lo, hi;
    uint8_t v;
} wp_range; /* sorted, disjoint; code points outside every range have v = 0 */

typedef struct {
    uint32_t cp, off, len; /* cp maps to pool[off .. off + len) */
} wp_map;                  /* sorted by cp */

typedef struct {
    const wp_range *classes;
    size_t n_classes;
    const wp_range *sigma;
    size_t n_sigma;
    const wp_range *ccc;
    size_t n_ccc;
    const wp_map *lower;
    size_t n_lower;
    const uint32_t *lower_pool;
    const wp_map *decomp;
    size_t n_decomp;
    const uint32_t *decomp_pool;
} wp_tables;

extern const wp_tables lb_wp_tables;

#endif
