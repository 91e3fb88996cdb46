/*
 * edgesentry/edgesentry.h - umbrella header for libedgesentry.
 *
 * Call eds_init() once before any other function.
 */
#ifndef EDGESENTRY_EDGESENTRY_H
#define EDGESENTRY_EDGESENTRY_H

#include "edgesentry/version.h"
#include "edgesentry/error.h"
#include "edgesentry/encoding.h"
#include "edgesentry/blake3.h"
#include "edgesentry/ed25519.h"
#include "edgesentry/key.h"
#include "edgesentry/registry.h"
#include "edgesentry/record.h"
#include "edgesentry/record_file.h"
#include "edgesentry/payload.h"
#include "edgesentry/chain.h"
#include "edgesentry/agent.h"

#endif
