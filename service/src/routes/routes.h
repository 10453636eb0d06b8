/* Every endpoint's handler, and the one route table that maps to them. */
#ifndef YIJIAN_ROUTES_H
#define YIJIAN_ROUTES_H

#include <stddef.h>

#include "http/router.h"

extern const struct route routes[];
extern const size_t routes_count;

/* routes/health.c */
enum handler_result health_live(struct request *r);
enum handler_result health_ready(struct request *r);

/* routes/meta.c */
enum handler_result meta_openapi(struct request *r);
enum handler_result meta_metrics(struct request *r);
/* Loads OPENAPI_PATH when set; 0 or -1 (logged). */
int meta_init(const char *openapi_path);
void meta_cleanup(void);

/* routes/auth.c */
enum handler_result auth_activate(struct request *r);
enum handler_result auth_login(struct request *r);
enum handler_result auth_logout(struct request *r);
enum handler_result auth_me(struct request *r);

#endif
