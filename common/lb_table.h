/* lb_table: the one CSV reader of linbench (results, logs, the paper's tables). */
#ifndef LB_TABLE_H
#define LB_TABLE_H

#include <stddef.h>

/* A CSV result file: '#' comment lines skipped, the first other line is the header,
 * every data row must have exactly as many fields as the header. */
typedef struct {
    char *path;
    int ncol;
    size_t nrow;
    char **head; /* (ncol) */
    char **cell; /* (nrow, ncol), row-major; point into text */
    char *text;  /* the file's bytes, split in place */
} lb_table;

/* 0, or EX_NOINPUT (cannot open) / EX_DATAERR (malformed) with a message. */
int lb_table_read(lb_table *t, const char *path);
void lb_table_free(lb_table *t);
/* Column index of name, or -1 with an error naming the file and the field. */
int lb_table_col(const lb_table *t, const char *name);
/* The indices of names[0..count) into out; 0, or EX_DATAERR naming the first missing one. */
int lb_table_cols(const lb_table *t, int *out, const char *const *names, int count);
const char *lb_table_str(const lb_table *t, size_t row, int col);
/* The cell as a number; NaN when empty or not numeric. */
double lb_table_num(const lb_table *t, size_t row, int col);

#endif
