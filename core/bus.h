/* SPDX-License-Identifier: MIT */
/* bus: finished flows, from the worker threads to the subscribers (log line,
 * flow log; later the viewer and HAR writer), through one bounded ring.
 * bus_publish() takes a short lock, stores a reference and returns: it never
 * calls or waits for a subscriber. Each subscriber drains at its own pace on
 * its own thread; when the ring is full the oldest events are dropped for
 * the subscribers that have not read them yet, and each such subscriber is
 * told how many it lost. Traffic never waits for a subscriber. */
#ifndef LUCENT_CORE_BUS_H
#define LUCENT_CORE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/flow.h"

#define BUS_MAX_SUBSCRIBERS 8

struct bus;

struct bus *bus_new(size_t capacity) LC_WUR;
void bus_free(struct bus *b); /* drops the references still queued */
/* Registers a subscriber (before traffic starts); returns its index or -1. */
int bus_subscribe(struct bus *b) LC_NONNULL(1);
/* Queues a new reference to f. */
void bus_publish(struct bus *b, struct flow *f) LC_NONNULL(1, 2);
/* Moves up to max queued flows to out (the caller owns those references) and
 * adds to *lost the events dropped for this subscriber since its last call. */
size_t bus_drain(struct bus *b, int sub, struct flow **out, size_t max, uint64_t *lost)
    LC_NONNULL(1, 3, 5);
/* Waits until sub has something to read, the bus is closed, or timeout_ms
 * passes. Returns false once closed and drained. */
bool bus_wait(struct bus *b, int sub, int timeout_ms) LC_NONNULL(1);
void bus_close(struct bus *b) LC_NONNULL(1);

#endif
