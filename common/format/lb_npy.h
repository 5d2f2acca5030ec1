/* lb_npy: NumPy .npy files (numpy's format spec). The reader accepts v1.0, v2.0 and v3.0
 * headers, C order only, and checks that the data size matches the shape exactly;
 * it never assumes the writer's padding. The writer emits v1.0 with the header
 * padded so the data starts at a multiple of 64, through lb_atomic (no partial file). */
#ifndef LB_NPY_H
#define LB_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LB_NPY_MAX_DIMS 8

typedef enum { LB_NPY_F32, LB_NPY_F64, LB_NPY_I32, LB_NPY_I64 } lb_npy_dtype;

typedef struct {
    lb_npy_dtype dtype;
    int ndim;
    int64_t shape[LB_NPY_MAX_DIMS];
    size_t count;   /* product of shape */
    void *data;     /* count elements, native little-endian, owned (lb_free) */
} lb_npy;

/* Read path. Returns 0, or -1 with msg naming the file and the field that is wrong
 * (magic, version, header, descr, fortran_order, shape, truncated data). */
int lb_npy_read(lb_npy *out, const char *path, char *msg, size_t msglen);
/* Parse from memory (for fuzzing); data is copied. */
int lb_npy_parse(lb_npy *out, const unsigned char *buf, size_t len, const char *name, char *msg,
                 size_t msglen);
void lb_npy_free(lb_npy *a);

/* Write data (shape[0..ndim), C order) to path atomically. 0 or -1 (error printed). */
int lb_npy_write(const char *path, lb_npy_dtype dtype, int ndim, const int64_t *shape,
                 const void *data);

/* The same into a stream the caller owns (a member of an lb_outset, lb_outset.h):
 * the header for shape (its element count in *count), or header and data. 0, or -1
 * on bad arguments or a failed write (ferror/errno say why). */
int lb_npy_fwrite_header(FILE *f, lb_npy_dtype dtype, int ndim, const int64_t *shape,
                         size_t *count);
int lb_npy_fwrite(FILE *f, lb_npy_dtype dtype, int ndim, const int64_t *shape, const void *data);

/* Streaming writer for arrays too big to hold: the header is written for the final
 * shape up front, rows are appended, and close renames only if exactly `count`
 * elements arrived. */
typedef struct lb_npy_writer lb_npy_writer;
lb_npy_writer *lb_npy_writer_open(const char *path, lb_npy_dtype dtype, int ndim,
                                  const int64_t *shape);
int lb_npy_writer_append(lb_npy_writer *w, const void *data, size_t count);
int lb_npy_writer_close(lb_npy_writer *w);  /* 0 ok; -1 (error printed, no file left) */
void lb_npy_writer_abort(lb_npy_writer *w);

#endif
