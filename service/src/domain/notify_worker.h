/* The delivery worker: a thread of its own (webhook requests wait on the
 * network, and must not hold up the jobs thread) with a database
 * connection of its own, that sends the notification outbox. Every
 * instance runs one; rows are claimed with FOR UPDATE SKIP LOCKED and a
 * lease, so that each is sent by one instance at a time. */
#ifndef YIJIAN_DOMAIN_NOTIFY_WORKER_H
#define YIJIAN_DOMAIN_NOTIFY_WORKER_H

#include "config.h"

/* Starts the worker (not when NOTIFY_INTERVAL_MS is 0); 0 or -1. */
int notify_worker_start(const struct config *cfg);

/* Stops it, waiting for a delivery in progress (bounded by
 * NOTIFY_TIMEOUT); safe if never started. */
void notify_worker_stop(void);

#endif
