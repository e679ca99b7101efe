/* param.c - parameters: trainable tensors that live outside tapes and outlast them. */
#include <string.h>
#include "internal.h"

ad_status ad_param_new(ad_shape shape, const double *data, const ad_allocator *alloc,
                       ad_param **out)
{
    if (!out)
        return AD_EINVAL;
    *out = NULL;
    size_t count, bytes;
    ad_status st = ad_shape_count(&shape, &count);
    if (st != AD_OK)
        return st;
    if (!ad__mul_size(count, 2 * sizeof(double), &bytes))
        return AD_EOVERFLOW;
    ad_allocator a = alloc ? *alloc : (ad_allocator){NULL, NULL};
    ad_param *p = ad__alloc(&a, sizeof *p);
    if (!p)
        return AD_ENOMEM;
    p->data = ad__alloc(&a, bytes ? bytes : 2 * sizeof(double));
    if (!p->data) {
        ad__free(&a, p, sizeof *p);
        return AD_ENOMEM;
    }
    p->alloc = a;
    p->refs = 1;
    p->shape = shape;
    p->count = count;
    p->grad = p->data + count;
    if (data)
        memcpy(p->data, data, count * sizeof(double));
    else
        memset(p->data, 0, count * sizeof(double));
    memset(p->grad, 0, count * sizeof(double));
    *out = p;
    return AD_OK;
}

void ad__param_retain(ad_param *p)
{
    p->refs++;
}

void ad__param_release(ad_param *p)
{
    if (--p->refs > 0)
        return;
    ad_allocator a = p->alloc;
    size_t bytes = p->count * 2 * sizeof(double);
    ad__free(&a, p->data, bytes ? bytes : 2 * sizeof(double));
    ad__free(&a, p, sizeof *p);
}

void ad_param_free(ad_param *p)
{
    if (p)
        ad__param_release(p);
}

double *ad_param_data(ad_param *p)
{
    return p ? p->data : NULL;
}

double *ad_param_grad(ad_param *p)
{
    return p ? p->grad : NULL;
}

ad_shape ad_param_shape(const ad_param *p)
{
    return p ? p->shape : AD_SCALAR;
}

size_t ad_param_count(const ad_param *p)
{
    return p ? p->count : 0;
}

void ad_param_zero_grad(ad_param *p)
{
    if (p)
        memset(p->grad, 0, p->count * sizeof(double));
}
