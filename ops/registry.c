/* registry.c - the one registry of ops: built-ins from ops.def, then custom ops. */
#include <stdio.h>
#include <string.h>
#include "../ad/internal.h"

#define AD_OP(name) &ad_op_##name,
static const ad_op *const builtin[] = {
#include "ops.def"
};
#undef AD_OP

#define N_BUILTIN (sizeof builtin / sizeof builtin[0])
#define MAX_CUSTOM 256

static const ad_op *custom[MAX_CUSTOM];
static size_t n_custom;

size_t ad_op_count(void)
{
    return N_BUILTIN + n_custom;
}

const ad_op *ad_op_at(size_t i)
{
    if (i < N_BUILTIN)
        return builtin[i];
    i -= N_BUILTIN;
    return i < n_custom ? custom[i] : NULL;
}

const ad_op *ad_op_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ad_op_count(); i++) {
        const ad_op *op = ad_op_at(i);
        if (strcmp(op->name, name) == 0)
            return op;
    }
    return NULL;
}

unsigned ad_op_kinks(const ad_op *op, const double *attr, ad_kink *out, unsigned cap)
{
    ad_kink tmp[16];
    double def[AD_MAX_ATTR] = {0};
    if (!op || !op->kinks)
        return 0;
    unsigned n = op->n_kinks;
    if (!attr) {
        for (unsigned i = 0; op->attr_default && i < op->n_attr && i < AD_MAX_ATTR; i++)
            def[i] = op->attr_default[i];
        attr = def;
    }
    if (n <= 16 && op->kinks_at) {
        memcpy(tmp, op->kinks, n * sizeof *tmp);
        op->kinks_at(attr, tmp);
    }
    const ad_kink *src = n <= 16 && op->kinks_at ? tmp : op->kinks;
    for (unsigned i = 0; out && i < n && i < cap; i++)
        out[i] = src[i];
    return n;
}

bool ad__op_is_builtin(const ad_op *op)
{
    for (size_t i = 0; i < N_BUILTIN; i++)
        if (builtin[i] == op)
            return true;
    return false;
}

static ad_status reject(char *why, size_t len, ad_status st, const char *fmt, const char *name)
{
    if (why && len)
        snprintf(why, len, fmt, name ? name : "(null)");
    return st;
}

ad_status ad_op_register(const ad_op *op, char *why, size_t len)
{
    if (!op)
        return reject(why, len, AD_EINVAL, "ad_op_register: the op is NULL%s", "");
    if (!op->name || !op->name[0])
        return reject(why, len, AD_EINVAL, "ad_op_register: the op has no name%s", "");
    for (const char *c = op->name; *c; c++)
        if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (c != op->name && *c >= '0' && *c <= '9')))
            return reject(why, len, AD_EINVAL,
                          "ad_op_register: op name '%s' must be an identifier ([A-Za-z_][A-Za-z0-9_]*)",
                          op->name);
    if (!op->forward)
        return reject(why, len, AD_EINVAL, "ad_op_register: op '%s' has no forward", op->name);
    if (!op->backward)
        return reject(why, len, AD_EINVAL, "ad_op_register: op '%s' has no backward", op->name);
    if (op->arity < 1 || op->arity > AD_MAX_ARITY)
        return reject(why, len, AD_EINVAL, "ad_op_register: op '%s' must take 1 to 3 inputs", op->name);
    if (op->n_attr > AD_MAX_ATTR)
        return reject(why, len, AD_EINVAL, "ad_op_register: op '%s' has more than 4 attributes", op->name);
    if (op->n_attr && (!op->attr_name || !op->attr_default))
        return reject(why, len, AD_EINVAL,
                      "ad_op_register: op '%s' has attributes but no names or defaults", op->name);
    if (op->n_kinks && !op->kinks)
        return reject(why, len, AD_EINVAL, "ad_op_register: op '%s' declares kinks but gives none",
                      op->name);
    if (ad_op_find(op->name))
        return reject(why, len, AD_EEXIST, "ad_op_register: an op named '%s' is already registered",
                      op->name);
    if (n_custom == MAX_CUSTOM)
        return reject(why, len, AD_ELIMIT, "ad_op_register: no room for '%s' (256 custom ops at most)",
                      op->name);
    custom[n_custom++] = op;
    if (why && len)
        why[0] = '\0';
    return AD_OK;
}

void ad_op_unregister_all(void)
{
    n_custom = 0;
}
