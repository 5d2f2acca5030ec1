/* The GPT-2 pre-tokenizer as a scanner. It reproduces the regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * under leftmost-first alternation with backtracking:
 *  - the contractions are literal and case-sensitive ('S is not one);
 *  - " ?" is only U+0020 and only taken when a class run follows it;
 *  - \s+(?!\S): a whitespace run that reaches the end of the text is taken whole;
 *    one followed by a non-space gives back its last character (which then leads
 *    the next piece, e.g. " word"), unless it is a single character, when the last
 *    alternative \s+ takes that one character.
 * Invalid UTF-8 bytes are characters of class OTHER (see lb_utf8_next). */
#include "lb_tokenizer.h"

typedef struct {
    const unsigned char *s;
    size_t len;
} scan;

static int class_at(const scan *x, size_t pos, size_t *clen) {
    uint32_t cp;
    *clen = (size_t)lb_utf8_next(x->s + pos, x->len - pos, &cp);
    return lb_unicode_class(cp);
}

/* End of the run of characters of class cls starting at pos. */
static size_t run_end(const scan *x, size_t pos, int cls) {
    size_t clen;
    while (pos < x->len && class_at(x, pos, &clen) == cls) pos += clen;
    return pos;
}

static size_t contraction(const scan *x) {
    const unsigned char *s = x->s;
    if (x->len < 2 || s[0] != '\'') return 0;
    if (s[1] == 's' || s[1] == 't' || s[1] == 'm' || s[1] == 'd') return 2;
    if (x->len >= 3 &&
        ((s[1] == 'r' && s[2] == 'e') || (s[1] == 'v' && s[2] == 'e') || (s[1] == 'l' && s[2] == 'l')))
        return 3;
    return 0;
}

size_t lb_pretok_next(const char *text, size_t len) {
    scan x = {(const unsigned char *)text, len};
    size_t clen, n;
    if ((n = contraction(&x)) != 0) return n;

    /* " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": the first character after an
     * optional space decides which (the classes are disjoint). */
    size_t start = (x.s[0] == ' ' && len > 1) ? 1 : 0;
    int cls = class_at(&x, start, &clen);
    if (cls != LB_UNI_SPACE) return run_end(&x, start, cls);
    /* Whitespace at position 0 (a space followed by whitespace, or any other). */
    size_t end = run_end(&x, 0, LB_UNI_SPACE);
    if (end == len) return end; /* \s+(?!\S) at the end of the text */
    /* The run is followed by a non-space: give back the last character if the run
     * has at least two; a single one is matched by the final \s+. */
    size_t last = 0, pos = 0;
    while (pos < end) {
        last = pos;
        pos += (size_t)lb_utf8_next(x.s + pos, len - pos, &(uint32_t){0});
    }
    return last > 0 ? last : end;
}
