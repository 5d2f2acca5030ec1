/* Internal to the BPE trainer: the trainer's state, shared by analysis/text/bpe_train.c
 * (training) and analysis/text/bpe_train_out.c (writing vocab.json and merges.txt).
 * Symbols: 0..255 are the bytes, 256.. the merged tokens in creation order; every
 * symbol has one distinct spelling (GPT-2 alphabet, UTF-8) in toks.arena. */
#ifndef LB_BPE_TRAIN_INT_H
#define LB_BPE_TRAIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lb_bpe_train.h"

typedef struct { uint32_t off, len; } bpe_span;
typedef struct {         /* a distinct string: word text or token spelling */
    uint64_t hash;
    size_t off;          /* into the owning arena */
    uint32_t len;
    int64_t value;       /* word count, or symbol id */
} bpe_str_entry;
typedef struct {         /* string → value, open addressing over entry indices */
    bpe_str_entry *e;
    size_t n, cap_e;
    int32_t *slot;       /* (cap) entry index or -1 */
    size_t cap;
    char *arena;
    size_t used, cap_arena;
} bpe_str_map;

typedef struct {
    int32_t a, b;
    int64_t count, top;  /* top: count of the newest heap entry (lazy deletion) */
    int32_t *w;          /* words that may hold the pair (duplicates and stale ok) */
    int32_t nw, capw;
} bpe_pair;
typedef struct { int64_t count; int32_t pair; } bpe_heap_item;

struct lb_bpe_trainer {
    bpe_str_map words;       /* word bytes → count */
    bpe_str_map toks;        /* token spelling → symbol */
    bpe_span *tok;           /* (n_tok) spelling of each symbol in toks.arena */
    size_t n_tok, cap_tok;
    int32_t (*merge)[2]; /* (n_merge) symbol pairs in order */
    long n_merge;
    size_t cap_merge;
    uint64_t pretokens, bytes;
    long last_count;
    int ran;
    /* training state */
    int32_t *sym, *wlen; /* words' symbols, packed at woff; current lengths */
    size_t *woff;
    int64_t *wfreq;
    size_t n_w;
    bpe_pair *pe;
    size_t n_pe, cap_pe;
    int32_t *pslot;
    size_t pcap;
    bpe_heap_item *heap;
    size_t n_heap, cap_heap;
};

/* Make room for need elements of elem bytes in *p (capacity *cap); 0 or -1 (OOM). */
int lb_bpe_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
