/* lb_safetensors: a strict reader of HuggingFace .safetensors files (the model weights).
 *
 * Layout: u64 little-endian N, N bytes of JSON header, then the data buffer. The
 * reader refuses what the reference reader refuses: N over 100 MB or past the end of
 * the file, a header that (after leading whitespace) does not start with '{', JSON
 * that does not parse or has anything but whitespace after it, bytes that are not
 * UTF-8, duplicate tensor names, unknown dtypes, shapes that are not non-negative
 * integers, product(shape)·dtype size ≠ end − begin (overflow checked), and data
 * offsets that, sorted by begin, do not tile the buffer exactly from 0 to its end.
 * An optional "__metadata__" must map strings to strings.
 *
 * Data is never assumed aligned: values are copied out with memcpy and converted.
 * Only F32, F16, BF16 and F64 convert to float; non-finite values are refused so a
 * corrupt checkpoint cannot silently poison a forward pass.
 */
#ifndef LB_SAFETENSORS_H
#define LB_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define LB_ST_MAX_DIMS 16
#define LB_ST_MAX_HEADER ((uint64_t)100000000) /* the reference reader's limit */

typedef enum {
    LB_ST_BOOL, LB_ST_U8, LB_ST_I8, LB_ST_F8_E5M2, LB_ST_F8_E4M3, LB_ST_I16, LB_ST_U16,
    LB_ST_F16, LB_ST_BF16, LB_ST_I32, LB_ST_U32, LB_ST_F32, LB_ST_F64, LB_ST_I64, LB_ST_U64
} lb_st_dtype;

typedef struct {
    const char *name;              /* owned by the lb_safetensors */
    lb_st_dtype dtype;
    int ndim;                      /* 0 for a scalar */
    int64_t shape[LB_ST_MAX_DIMS];
    size_t count;                  /* product of shape (1 for a scalar) */
    size_t begin, end;             /* byte offsets in the data buffer */
} lb_st_tensor;

typedef struct lb_safetensors lb_safetensors;

/* "F32", "BF16", ...; size in bytes of one element. */
const char *lb_st_dtype_name(lb_st_dtype t);
size_t lb_st_dtype_size(lb_st_dtype t);

/* Open and validate path (mapped read-only). Returns 0, or -1 with msg naming the
 * file and what is wrong. */
int lb_st_open(lb_safetensors **out, const char *path, char *msg, size_t msglen);
/* Validate an in-memory file of len bytes; buf is borrowed and must outlive the
 * handle. name is used in messages. Returns 0 or -1 with msg. */
int lb_st_parse(lb_safetensors **out, const unsigned char *buf, size_t len, const char *name,
                char *msg, size_t msglen);
void lb_st_close(lb_safetensors *st);

/* Tensors in header order; NULL past the end. */
int lb_st_count(const lb_safetensors *st);
const lb_st_tensor *lb_st_at(const lb_safetensors *st, int i);
/* Tensor by exact name, or NULL. */
const lb_st_tensor *lb_st_find(const lb_safetensors *st, const char *name);

/* out is (count of t) floats. When shape is not NULL the tensor must have exactly
 * ndim dims equal to shape[0..ndim) (message: file, tensor, expected vs found). The
 * dtype must be F32, F16, BF16 or F64 and every value finite. Returns 0 or -1. */
int lb_st_read_f32(const lb_safetensors *st, float *out, const lb_st_tensor *t, int ndim,
                   const int64_t *shape, char *msg, size_t msglen);

/* Half-precision conversions (exact, subnormals included). */
float lb_f16_to_f32(uint16_t h);
float lb_bf16_to_f32(uint16_t h);
/* float -> half: round to nearest, ties to even; overflow gives infinity, NaN stays a
 * (quiet) NaN. */
uint16_t lb_f32_to_f16(float f);
uint16_t lb_f32_to_bf16(float f);

/* ---- writer (safetensors_write.c) ---- */
typedef struct {
    const char *name;
    lb_st_dtype dtype;               /* F32, F16 or BF16 (converted from data) */
    int ndim;
    int64_t shape[LB_ST_MAX_DIMS];
    const float *data;               /* product(shape) floats */
} lb_st_out;
/* Write path: header JSON (tensors in the order given, "__metadata__" first when
 * metadata = {key, value, ..., NULL} is not NULL) padded with spaces to a multiple of
 * 8, then the data. Values must be finite and fit the dtype (else -1 naming tensor
 * and element, nothing written). Temp file + rename. Returns 0 or -1 with msg. */
int lb_st_write(const char *path, const lb_st_out *t, int count, const char *const *metadata,
                char *msg, size_t msglen);

#endif
