/* init.h - filling parameters: constants, uniform, normal, Xavier/Glorot, He/Kaiming, orthogonal. */
#ifndef AD_INIT_H
#define AD_INIT_H

#include "export.h"
#include "status.h"
#include "tape.h"
#include "rng.h"

/*
 * Weight layout: a weight is a rank-2 parameter W of shape [fan_in, fan_out],
 * used as x @ W (x is [batch, fan_in]); this is the transpose of PyTorch's
 * nn.Linear weight, and the fans below follow from it. The fan-based
 * initializers reject other ranks with AD_ESHAPE.
 *
 * Every function here returns AD_OK, or AD_EINVAL for a NULL parameter or
 * generator or an argument outside its documented range (the parameter is
 * then untouched).
 */

/* The nonlinearity a layer feeds, for the recommended gain. */
typedef enum ad_gain_kind {
    AD_GAIN_LINEAR,     /* 1                                    */
    AD_GAIN_SIGMOID,    /* 1                                    */
    AD_GAIN_TANH,       /* 5/3                                  */
    AD_GAIN_RELU,       /* sqrt(2)                              */
    AD_GAIN_LEAKY_RELU, /* sqrt(2 / (1 + slope^2))              */
    AD_GAIN_COUNT       /* never use: a sentinel                */
} ad_gain_kind;

/* Which fan a He/Kaiming initializer keeps the variance of. */
typedef enum ad_fan_mode {
    AD_FAN_IN,  /* forward activations keep their variance   */
    AD_FAN_OUT  /* backward gradients keep their variance    */
} ad_fan_mode;

/**
 * The recommended gain for a nonlinearity (the values PyTorch's
 * calculate_gain documents).
 * @param slope the negative slope, used by AD_GAIN_LEAKY_RELU only
 * @return the gain; NAN for an unknown kind or a non-finite slope.
 */
AD_API double ad_init_gain(ad_gain_kind kind, double slope);

/**
 * The fans of a weight of shape [fan_in, fan_out].
 * @return AD_OK; AD_EINVAL (p NULL); AD_ESHAPE when p is not rank 2 or a
 *         fan is 0. Either output may be NULL.
 */
AD_API ad_status ad_init_fans(const ad_param *p, size_t *fan_in, size_t *fan_out);

/** Sets every element to 0. @return AD_OK or AD_EINVAL (p NULL). */
AD_API ad_status ad_init_zeros(ad_param *p);

/** Sets every element to c. @return AD_OK, or AD_EINVAL (p NULL, c not finite). */
AD_API ad_status ad_init_constant(ad_param *p, double c);

/**
 * Draws every element uniformly from [a, b).
 * @return AD_OK, or AD_EINVAL (NULL, a or b not finite, a > b).
 */
AD_API ad_status ad_init_uniform(ad_param *p, ad_rng *r, double a, double b);

/**
 * Draws every element from N(mean, std^2).
 * @return AD_OK, or AD_EINVAL (NULL, non-finite, std < 0).
 */
AD_API ad_status ad_init_normal(ad_param *p, ad_rng *r, double mean, double std);

/**
 * Xavier/Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)),
 * so that Var = gain^2 * 2 / (fan_in + fan_out).
 * @return AD_OK; AD_EINVAL (NULL, gain not finite or < 0); AD_ESHAPE (fans).
 */
AD_API ad_status ad_init_xavier_uniform(ad_param *p, ad_rng *r, double gain);

/** Xavier/Glorot normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). Returns as above. */
AD_API ad_status ad_init_xavier_normal(ad_param *p, ad_rng *r, double gain);

/**
 * He/Kaiming uniform: U(-a, a), a = gain * sqrt(3 / fan), fan chosen by mode,
 * so that Var = gain^2 / fan. Pass ad_init_gain(AD_GAIN_RELU, 0) for relu.
 * @return AD_OK; AD_EINVAL (NULL, bad mode, gain not finite or < 0); AD_ESHAPE.
 */
AD_API ad_status ad_init_kaiming_uniform(ad_param *p, ad_rng *r, ad_fan_mode mode, double gain);

/** He/Kaiming normal: N(0, std^2), std = gain / sqrt(fan). Returns as above. */
AD_API ad_status ad_init_kaiming_normal(ad_param *p, ad_rng *r, ad_fan_mode mode, double gain);

/**
 * Orthogonal (Saxe et al.): a Gaussian matrix made orthonormal, times gain.
 * For [m, n] with m >= n the columns are orthonormal (W^T W = gain^2 I), else
 * the rows are (W W^T = gain^2 I). The vectors are orthonormalized by modified
 * Gram-Schmidt run twice ("twice is enough"), in place, which is the QR
 * factorization's Q with a positive diagonal of R, the sign convention that
 * makes Q Haar-distributed.
 * @return AD_OK; AD_EINVAL (NULL, gain not finite); AD_ESHAPE (not rank 2,
 *         or an empty dimension); AD_EDOMAIN if a draw is numerically
 *         rank-deficient (probability zero; the parameter then holds junk).
 */
AD_API ad_status ad_init_orthogonal(ad_param *p, ad_rng *r, double gain);

#endif
