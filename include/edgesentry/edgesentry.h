/*
 * edgesentry/edgesentry.h - umbrella header for libedgesentry.
 *
 * Call eds_init() once before any other function.
 */
#ifndef EDGESENTRY_EDGESENTRY_H
#define EDGESENTRY_EDGESENTRY_H

#include "edgesentry/agent.h"
#include "edgesentry/blake3.h"
#include "edgesentry/chain.h"
#include "edgesentry/ed25519.h"
#include "edgesentry/encoding.h"
#include "edgesentry/error.h"
#include "edgesentry/key.h"
#include "edgesentry/legacy.h"
#include "edgesentry/payload.h"
#include "edgesentry/record.h"
#include "edgesentry/record_file.h"
#include "edgesentry/registry.h"
#include "edgesentry/update.h"
#include "edgesentry/version.h"

#endif
