/* The problems' texts in Chinese: a title for every kind and a whole
 * sentence for every detail, chosen when the caller asks for Chinese
 * (Accept-Language). The English detail written by a handler is the key;
 * a detail formatted with printf conversions has a template entry whose
 * Chinese side names the values as %1, %2, ... (any order). The type and
 * the field pointer stay as they are: they are for machines. */
#ifndef YIJIAN_HTTP_PROBLEM_TEXT_H
#define YIJIAN_HTTP_PROBLEM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "http/reply.h"

/* True when the Accept-Language header (may be NULL) prefers Chinese to
 * English: the highest q among zh* ranges beats that of en* and "*"; a tie
 * goes to the range named first. Absent or unreadable: English. */
bool problem_text_wants_chinese(const char *accept_language);

/* The Chinese title of kind (static), or NULL when the catalogue lacks it. */
const char *problem_text_title_zh(enum problem kind);

/*
 * Writes the Chinese sentence for the English detail en into out (size
 * bytes, NUL-terminated). A value a template captured is itself put in
 * Chinese when it is a known word (a status, an action). A detail written
 * in Chinese already (the roster import's line errors) is copied as it is.
 * False, with out untouched, when no entry fits.
 */
bool problem_text_detail_zh(const char *en, char *out, size_t size);

/* True when en is a key of the catalogue as written (a template with its
 * conversions, or a plain sentence): what the source check asks. */
bool problem_text_has_key(const char *en);

#endif
