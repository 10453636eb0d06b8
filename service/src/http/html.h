/* Pages the service writes itself (the bulletin page, the ledger, the
 * statistics report, the activation slips): escaping, and a
 * Content-Security-Policy that lets in only the page's own style sheet. */
#ifndef YIJIAN_HTTP_HTML_H
#define YIJIAN_HTTP_HTML_H

#include <stdio.h>

#include "http/request.h"

/* Writes s (may be NULL, well-formed UTF-8) with &, <, >, " and '
 * escaped, and each character XML 1.0 does not allow (C0 controls but tab,
 * LF, CR; U+FFFE, U+FFFF) written as U+FFFD: the feed stays well-formed
 * XML whatever a name holds. */
void html_esc(FILE *f, const char *s);

/* Adds the page's CSP: nothing may load, only the inline style sheet
 * style (the exact text inside <style>) by its hash. */
void html_style_csp(struct request *r, const char *style);

#endif
