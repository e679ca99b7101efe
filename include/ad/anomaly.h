/* anomaly.h - anomaly mode (stop at the first NaN or inf, forward or backward) and variable labels. */
#ifndef AD_ANOMALY_H
#define AD_ANOMALY_H

#include <stdbool.h>
#include "export.h"
#include "status.h"
#include "tape.h"

/**
 * Turns anomaly mode on or off (a tape setting; it survives ad_tape_reset).
 * When on, the first op whose forward result holds a NaN, +inf or -inf stops
 * recording, and the first backward step that makes a gradient non-finite
 * stops the sweep (parameters then receive nothing). Either way the tape
 * records AD_EDOMAIN with a message naming the op, the node, its label if
 * set, the element index and the input values there, e.g.
 *   "ad_log: anomaly: node 3 ('logits') forward gave -inf at element 0 of [2];
 *    inputs there: x0[0] = 0"
 * Unlike PyTorch's anomaly mode, infinities are caught as well as NaN.
 * Cost: one pass over each result (and, backward, over each input gradient).
 * @return AD_OK; AD_EINVAL for t NULL; the sticky status of a static tape.
 */
AD_API ad_status ad_tape_set_anomaly(ad_tape *t, bool on);

/** @return whether anomaly mode is on (false for NULL). */
AD_API bool ad_tape_anomaly(const ad_tape *t);

/**
 * Gives a variable a name that anomaly messages and health reports print.
 * The text is copied into the tape (at most 63 bytes kept) and lives until
 * the next ad_tape_reset.
 * @return v itself, so calls nest: ad_var_label(t, ad_relu(t, z), "h1");
 *         AD_NIL on a tape in error, or after recording AD_EINVAL (name NULL)
 *         or AD_EHANDLE (bad handle).
 */
AD_API ad_var ad_var_label(ad_tape *t, ad_var v, const char *name);

/** @return a variable's label, or "" (none, or a bad handle); never NULL. */
AD_API const char *ad_var_get_label(const ad_tape *t, ad_var v);

#endif
