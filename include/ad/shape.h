/* shape.h - tensor shapes: row-major, rank 0 to 4, sizes checked for overflow. */
#ifndef AD_SHAPE_H
#define AD_SHAPE_H

#include <stddef.h>
#include <stdbool.h>
#include "export.h"
#include "status.h"

#define AD_MAX_RANK 4

typedef struct ad_shape {
    unsigned rank;             /* 0 is a scalar           */
    size_t dim[AD_MAX_RANK];   /* dim[0] is the outermost */
} ad_shape;

/* Shape literals: AD_SCALAR, AD_VEC(n), AD_MAT(r, c). */
#define AD_SCALAR ((ad_shape){0, {0, 0, 0, 0}})
#define AD_VEC(n) ((ad_shape){1, {(n), 0, 0, 0}})
#define AD_MAT(r, c) ((ad_shape){2, {(r), (c), 0, 0}})

/**
 * Number of elements of a shape, with overflow checking.
 * @param s     the shape (rank must be <= AD_MAX_RANK)
 * @param count receives the product of the dimensions (1 for a scalar)
 * @return AD_OK, AD_ELIMIT for rank > AD_MAX_RANK, AD_EOVERFLOW when the
 *         product (or its size in bytes as doubles) does not fit in size_t.
 */
AD_API ad_status ad_shape_count(const ad_shape *s, size_t *count);

/** @return true when both shapes have the same rank and dimensions. */
AD_API bool ad_shape_equal(const ad_shape *a, const ad_shape *b);

/**
 * Formats a shape as "[2, 3]" ("[]" for a scalar) into buf.
 * @return buf, always NUL-terminated when len > 0.
 */
AD_API char *ad_shape_format(const ad_shape *s, char *buf, size_t len);

#endif
