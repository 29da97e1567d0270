/* A session store written in C for the custom-provider tests: a mutex-protected table with
 * TTLs and compare-and-set, as a C host would write around its own database. */
#ifndef POTO_TEST_MEMORY_STORE_H
#define POTO_TEST_MEMORY_STORE_H

#include "poto_sessions.h"

enum store_mode { STORE_OK, STORE_FAILING, STORE_MALFORMED };

/* Fills `callbacks` for a new store; `versioned` adds get_versioned/compare_and_set.
 * `*freed` is set to 1 by the finalizer. */
void memory_store_callbacks(poto_provider_callbacks *callbacks, int versioned, enum store_mode mode, int *freed);

#endif
