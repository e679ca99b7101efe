/* expr_error.c - how expression errors are shown: column, caret, and the nearest known name. */
#include <string.h>
#include "expr.h"

/* Edit distance with adjacent transpositions (optimal string alignment), so
 * "tahn" is one edit from "tanh"; names beyond the cap are never suggested. */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
    enum { CAP = 64 };
    if (la > CAP || lb > CAP)
        return SIZE_MAX;
    size_t d[3][CAP + 1]; /* rows i-2, i-1, i, used cyclically */
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *row = d[i % 3], *prev = d[(i - 1) % 3], *prev2 = d[(i + 1) % 3];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            row[j] = best;
        }
    }
    return d[la % 3][lb];
}

const char *expr_suggest(const char *s, size_t len, const char *const *extra, size_t n_extra)
{
    const char *best = NULL;
    /* Close enough to be a typo: 1 edit for short names, 2 from 4 characters, 3 from 9. */
    size_t best_d = (len < 4 ? 1 : len < 9 ? 2 : 3) + 1;
    if (best_d > len) /* a one-letter name is one edit from every other: no guess */
        best_d = len;
    size_t n_ops = ad_op_count();
    for (size_t k = 0; k < n_ops + n_extra; k++) {
        const char *name = k < n_ops ? ad_op_at(k)->name : extra[k - n_ops];
        size_t d = distance(s, len, name, strlen(name));
        if (d < best_d)
            best = name, best_d = d;
    }
    return best;
}

/* Line and column (1-based, in bytes) of a byte offset. */
static void line_col(const char *src, size_t pos, size_t *line, size_t *col, size_t *line_start)
{
    *line = 1, *line_start = 0;
    for (size_t i = 0; i < pos; i++)
        if (src[i] == '\n')
            (*line)++, *line_start = i + 1;
    *col = pos - *line_start + 1;
}

void expr_error_print(const char *src, size_t len, const expr_error *err, FILE *f)
{
    if (!err->has_pos || !src) {
        fprintf(f, "adcheck: error: %s\n", err->msg);
        if (err->hint[0])
            fprintf(f, "  %s\n", err->hint);
        return;
    }
    size_t pos = err->pos > len ? len : err->pos, line, col, start;
    line_col(src, pos, &line, &col, &start);
    if (line > 1)
        fprintf(f, "adcheck: error: %s at line %zu, column %zu\n", err->msg, line, col);
    else
        fprintf(f, "adcheck: error: %s at column %zu\n", err->msg, col);
    /* Show at most 70 bytes of the line around the column; bytes that are not
     * printable ASCII are shown as '?' so the caret stays aligned. */
    size_t end = start;
    while (end < len && src[end] != '\n')
        end++;
    size_t from = pos > start + 40 ? pos - 40 : start, to = from + 70 < end ? from + 70 : end;
    fputs("  ", f);
    if (from > start)
        fputs("...", f);
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)src[i];
        fputc(c >= 0x20 && c < 0x7f ? c : (c == '\t' ? ' ' : '?'), f);
    }
    if (to < end)
        fputs("...", f);
    fprintf(f, "\n  %*s^\n", (int)(pos - from + (from > start ? 3 : 0)), "");
    if (err->hint[0])
        fprintf(f, "  %s\n", err->hint);
}
