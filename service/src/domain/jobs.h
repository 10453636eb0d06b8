/* Periodic work inside `serve`: today the escalation of overdue answers.
 * Every instance runs the loop; an advisory lock lets one do each pass. */
#ifndef YIJIAN_DOMAIN_JOBS_H
#define YIJIAN_DOMAIN_JOBS_H

#include "config.h"

/* Starts the background thread; 0 or -1. */
int jobs_start(const struct config *cfg);

/* Stops it and waits for a pass in progress; safe if never started. */
void jobs_stop(void);

#endif
