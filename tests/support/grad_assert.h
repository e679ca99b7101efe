/* grad_assert.h - assertions on arrays of doubles with a relative tolerance. */
#ifndef AD_TEST_GRAD_ASSERT_H
#define AD_TEST_GRAD_ASSERT_H

#include <math.h>
#include <stdio.h>

/* |got - want| <= tol * max(1, |want|), with a message naming the element. */
#define assert_close(got, want, tol)                                                       \
    do {                                                                                   \
        double g_ = (got), w_ = (want);                                                    \
        if (!(fabs(g_ - w_) <= (tol) * fmax(1.0, fabs(w_))))                               \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #got, g_, w_, (double)(tol));  \
    } while (0)

#define assert_all_close(got, want, n, tol)                                                \
    do {                                                                                   \
        for (size_t k_ = 0; k_ < (size_t)(n); k_++)                                        \
            if (!(fabs((got)[k_] - (want)[k_]) <= (tol) * fmax(1.0, fabs((want)[k_]))))    \
                fail_msg("%s[%zu] = %.17g, expected %.17g", #got, k_, (got)[k_], (want)[k_]); \
    } while (0)

#endif
