/* Who may see the status page (docs/status-page.md): short-lived single-use
 * login links that `qccc dashboard` asks for over the admin socket, and the
 * server-side sessions they open (a random id in an HttpOnly cookie, with a
 * CSRF token bound to it). Pure bookkeeping over a clock the caller passes:
 * no I/O except getrandom. Bounded: the oldest link or session is evicted
 * when the table is full. Comparisons are constant-time. */
#ifndef QCC_RUNTIME_PAGESESSION_H
#define QCC_RUNTIME_PAGESESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/error.h"

#define QCC_PAGE_TOKEN_LEN 64          /* hex characters of a link token, session id, CSRF token */
#define QCC_PAGE_LINK_TTL_MS 60000u    /* a login link works for a minute, once */
#define QCC_PAGE_SESSION_TTL_MS (12u * 3600u * 1000u)
#define QCC_PAGE_MAX_LINKS 16
#define QCC_PAGE_MAX_SESSIONS 32

struct qcc_pagesession;

int qcc_pagesession_new(struct qcc_pagesession **out, struct qcc_err *err);
void qcc_pagesession_free(struct qcc_pagesession **s);

/* A new login token (OUT: QCC_PAGE_TOKEN_LEN hex chars + NUL), valid until
 * NOW_MS + TTL_MS (0 = QCC_PAGE_LINK_TTL_MS). -1 with err when getrandom fails. */
int qcc_pagesession_link(struct qcc_pagesession *s, uint64_t now_ms, uint64_t ttl_ms,
                         char out[QCC_PAGE_TOKEN_LEN + 1], struct qcc_err *err);
/* Redeem link token TOK (LEN bytes): true when it is known and not expired;
 * it is forgotten either way (single use) and a session is opened: its id
 * goes to SID. */
bool qcc_pagesession_redeem(struct qcc_pagesession *s, const char *tok, size_t len,
                            uint64_t now_ms, char sid[QCC_PAGE_TOKEN_LEN + 1]);
/* Is SID[0..LEN) a live session? When CSRF is not NULL its token is copied there. */
bool qcc_pagesession_check(struct qcc_pagesession *s, const char *sid, size_t len, uint64_t now_ms,
                           char csrf[QCC_PAGE_TOKEN_LEN + 1]);
/* Live links and sessions (tests, status). */
size_t qcc_pagesession_count(const struct qcc_pagesession *s, bool links);

#endif
