/* Helper for tests/analysis/text/test_wordpiece.py: the WordPiece tokenizer of a model
 * folder (vocab.txt + tokenizer_config.json) on records, each a 4-byte little-endian
 * length and that many bytes.
 *   tool_wordpiece DIR RECORDS   "ok <describe>", then one line of ids per record; a
 *                                folder that does not load prints the error (exit 65) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lb_tokenizer.h"

int main(int argc, char **argv) {
    char msg[1024];
    lb_tokenizer *t;
    if (argc != 3) return fprintf(stderr, "usage: tool_wordpiece DIR RECORDS\n"), EX_USAGE;
    if (lb_tokenizer_for_model(&t, argv[1], msg, sizeof msg) != 0) {
        printf("error %s\n", msg);
        return EX_DATAERR;
    }
    printf("ok %s\n", lb_tokenizer_describe(t));
    FILE *f = fopen(argv[2], "rb");
    unsigned char len4[4];
    lb_ids ids = {0};
    int rc = f ? 0 : EX_NOINPUT;
    while (f && fread(len4, 1, 4, f) == 4) {
        size_t n = len4[0] | len4[1] << 8 | len4[2] << 16 | (size_t)len4[3] << 24;
        char *buf = malloc(n ? n : 1);
        if (!buf || fread(buf, 1, n, f) != n) rc = EX_DATAERR;
        ids.n = 0;
        if (!rc && lb_tokenizer_encode(t, &ids, buf, n, msg, sizeof msg)) rc = EX_SOFTWARE;
        for (size_t i = 0; !rc && i < ids.n; i++) printf("%s%d", i ? " " : "", ids.v[i]);
        printf("\n");
        free(buf);
        if (rc) break;
    }
    if (f) fclose(f);
    lb_ids_free(&ids);
    lb_tokenizer_free(t);
    return rc;
}
