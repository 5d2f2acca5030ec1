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
    int cannot_open; /* after a failed lb_table_read: 1 when the file could not be opened
                      * (a caller's "no input"), 0 when it was read but malformed */
} lb_table;

/* 0, or -1 with msg naming the file and the line (t->cannot_open tells a missing file from
 * a malformed one; t is then empty and lb_table_free is harmless). */
int lb_table_read(lb_table *t, const char *path, char *msg, size_t msglen);
void lb_table_free(lb_table *t);
/* Column index of name, or -1 with msg naming the file and the field. */
int lb_table_col(const lb_table *t, const char *name, char *msg, size_t msglen);
/* The indices of names[0..count) into out; 0, or -1 with msg naming the first missing one. */
int lb_table_cols(const lb_table *t, int *out, const char *const *names, int count, char *msg, size_t msglen);
const char *lb_table_str(const lb_table *t, size_t row, int col);
/* The cell as a number; NaN when empty or not numeric. */
double lb_table_num(const lb_table *t, size_t row, int col);

/* The same with the message printed (lb_err) and a sysexits code returned (0,
 * EX_NOINPUT when the file cannot be opened, EX_DATAERR when malformed; _col_ex: the
 * index or -1): for the report's and the bench's readers, whose contract is a sysexits
 * code (lb_util.h names them among the printing exceptions). */
int lb_table_read_ex(lb_table *t, const char *path);
int lb_table_cols_ex(const lb_table *t, int *out, const char *const *names, int count);
int lb_table_col_ex(const lb_table *t, const char *name);
#endif
