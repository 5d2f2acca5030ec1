/* Internal to analysis/bpe*.c: the tokenizer's tables, shared by the loader
 * (bpe_load.c: vocab.json, merges.txt, the byte tokenizer) and the encoder (bpe.c). */
#ifndef LB_BPE_INT_H
#define LB_BPE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lb_tokenizer.h"

#define MAX_ID (1 << 24)           /* ids past this are refused as absurd */
#define MAX_FILE ((size_t)1 << 30) /* vocab.json / merges.txt size limit */
#define CACHE_MAX_PIECE 64         /* bytes; longer pieces are not cached */
#define CACHE_MAX_ENTRIES (1 << 17)

typedef struct cache_entry {
    uint64_t h;
    uint32_t klen, nids;
    int32_t *ids; /* points into the same allocation, followed by the key bytes */
} cache_entry;

typedef struct {
    uint64_t key; /* left id << 32 | right id; UINT64_MAX = empty */
    int32_t rank, id;
} pair_slot;

struct lb_tokenizer {
    lb_tok_kind kind;
    int offset;             /* bytes kind: id = byte + offset */
    int vocab_size;         /* 1 + largest id */
    char **tok;             /* (vocab_size) token string or NULL */
    uint32_t *tok_len;      /* (vocab_size) */
    int32_t *vmap;          /* (vcap) ids, -1 = empty */
    size_t vcap;
    pair_slot *pairs;       /* (pcap) */
    size_t pcap, n_merges;
    int32_t byte_id[256];   /* vocab id of each byte's alphabet character, -1 if none */
    int unk;
    int wp_lower, wp_strip, wp_chinese, wp_max_chars; /* WordPiece: tokenizer_config.json */
    cache_entry **cache;    /* (CACHE_SLOTS) */
    size_t cache_n;
    char desc[96];
};
#define CACHE_SLOTS (2 * CACHE_MAX_ENTRIES)

/* Slot of the merge (a, b): holds its rank and merged id, or key UINT64_MAX where it
 * would go. */
pair_slot *lb_bpe_pair_find(const lb_tokenizer *t, int32_t a, int32_t b);
/* The vocabulary tables for wordpiece.c (bpe_load.c): a new tokenizer of a kind;
 * room for ids 0..vocab_size-1 and n strings; add s as id (0, 1 = string already
 * present, 2 = id taken, -1 = out of memory); id of s or -1. */
lb_tokenizer *lb_bpe_new(lb_tok_kind kind);
int lb_bpe_vocab_alloc(lb_tokenizer *t, int vocab_size, size_t n);
int lb_bpe_vocab_add(lb_tokenizer *t, const char *s, size_t n, int id);
int lb_bpe_vocab_find(const lb_tokenizer *t, const char *s, size_t n);
/* WordPiece (wordpiece.c): encode, and the model folder's vocab.txt. */
int lb_wordpiece_encode(const lb_tokenizer *t, lb_ids *out, const char *text, size_t len,
                        char *msg, size_t msglen);
int lb_wordpiece_for_model(lb_tokenizer **out, const char *dir, char *msg, size_t msglen);

/* Drop every cached piece (the encoder's cache; the loader frees it). */
void lb_bpe_cache_clear(lb_tokenizer *t);

#endif
