/* Days as the API writes them in query strings: YYYY-MM-DD. */
#ifndef YIJIAN_UTIL_DAY_H
#define YIJIAN_UTIL_DAY_H

#include <stdbool.h>

/* True when s (may be NULL) is a day that exists, YYYY-MM-DD, in the
 * years 2000 to 9999. */
bool day_valid(const char *s);

#endif
