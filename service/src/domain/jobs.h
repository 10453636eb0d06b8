/* Periodic work inside `serve`: the escalation of overdue answers
 * (JOBS_INTERVAL), the audit sealer (SEAL_INTERVAL, 0: off) and the
 * bulletin scheduler (BULLETIN_INTERVAL, 0: off). Every
 * instance runs the loop; advisory locks let one do each pass. */
#ifndef YIJIAN_DOMAIN_JOBS_H
#define YIJIAN_DOMAIN_JOBS_H

#include "config.h"

/* Starts the background thread; 0 or -1. */
int jobs_start(const struct config *cfg);

/* Stops it and waits for a pass in progress; safe if never started. */
void jobs_stop(void);

#endif
