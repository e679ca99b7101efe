/* status.h - status codes: one X-macro list gives the enum, the names and the messages. */
#ifndef AD_STATUS_H
#define AD_STATUS_H

#include "export.h"

/* Values are pinned: append new codes before AD_STATUS_COUNT, never renumber. */
#define AD_STATUS_LIST(X)                                                        \
    X(AD_OK,        0, "success")                                                \
    X(AD_EINVAL,    1, "invalid argument")                                       \
    X(AD_ESHAPE,    2, "shape mismatch")                                         \
    X(AD_ENOMEM,    3, "out of memory")                                          \
    X(AD_EHANDLE,   4, "stale or foreign variable handle")                       \
    X(AD_EOVERFLOW, 5, "size arithmetic overflows")                              \
    X(AD_ENOTSCALAR,6, "value is not a scalar")                                  \
    X(AD_ENOTFOUND, 7, "no such name")                                           \
    X(AD_EEXIST,    8, "name already registered")                                \
    X(AD_ELIMIT,    9, "a documented limit was exceeded")                        \
    X(AD_EDOMAIN,  10, "non-finite value (anomaly)")                             \
    X(AD_ECHECK,   11, "gradient check failed")                                  \
    X(AD_EUNSUPPORTED, 12, "operation not supported by this op")                 \
    X(AD_EIO,      13, "input/output error")                                     \
    X(AD_EPARSE,   14, "parse error")

typedef enum ad_status {
#define AD__STATUS_ENUM(name, value, msg) name = value,
    AD_STATUS_LIST(AD__STATUS_ENUM)
#undef AD__STATUS_ENUM
    AD_STATUS_COUNT /* never use: a sentinel for loops and tables */
} ad_status;

/**
 * The symbolic name of a status, e.g. "AD_ESHAPE".
 * @return a static string; "AD_UNKNOWN" for a value outside the list.
 */
AD_API const char *ad_status_name(ad_status s);

/**
 * A short human description of a status, e.g. "shape mismatch".
 * @return a static string; "unknown status" for a value outside the list.
 */
AD_API const char *ad_status_str(ad_status s);

#endif
