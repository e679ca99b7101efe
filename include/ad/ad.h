/* ad.h - the umbrella header of adcheck: include this one. */
#ifndef AD_AD_H
#define AD_AD_H

#include "export.h"
#include "status.h"
#include "alloc.h"
#include "shape.h"
#include "op.h"
#include "tape.h"
#include "ops.h"
#include "rng.h"
#include "init.h"
#include "layer.h"
#include "optim.h"
#include "anomaly.h"
#include "health.h"
#include "train.h"

#endif
