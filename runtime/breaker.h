/* Per-endpoint circuit breaker, driven by a monotonic clock passed in (no I/O).
 *
 *   closed --max_failures consecutive failures--> open (cooldown)
 *   open --cooldown over, a request begins--> half_open (exactly one probe)
 *   half_open --probe ok--> closed (cooldown back to base)
 *   half_open --probe fails--> open, cooldown doubled (capped)
 *
 * The struct is public only so the router can embed one per endpoint in an
 * array (no allocation per endpoint); use the functions, not the fields. */
#ifndef QCC_RUNTIME_BREAKER_H
#define QCC_RUNTIME_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define QCC_BREAKER_STATE_LIST(X) \
  X(QCC_BREAKER_CLOSED, "closed") \
  X(QCC_BREAKER_OPEN, "open") \
  X(QCC_BREAKER_HALF_OPEN, "half_open")

#define QCC_BREAKER_MEMBER_(c, s) c,
enum qcc_breaker_state { QCC_BREAKER_STATE_LIST(QCC_BREAKER_MEMBER_) QCC_BREAKER_STATE_COUNT };
#undef QCC_BREAKER_MEMBER_

struct qcc_breaker {
  enum qcc_breaker_state state;
  uint32_t max_failures;  /* consecutive failures that open it (>= 1) */
  uint32_t failures;      /* consecutive failures so far */
  uint32_t base_ms;       /* first cooldown */
  uint32_t max_ms;        /* cap of the doubling */
  uint32_t cooldown_ms;   /* cooldown of the current/last open period */
  uint64_t open_until;    /* open: when a probe may go */
  uint64_t changed_at;    /* last state change */
  bool probe_in_flight;   /* half_open: the one probe is out */
  uint32_t trips;         /* times it opened, for status */
};

/* max_failures 0 is treated as 1. */
void qcc_breaker_init(struct qcc_breaker *b, uint32_t max_failures, uint32_t base_ms,
                      uint32_t max_ms);

/* May a request go now? Closed: yes. Open: only once the cooldown is over
 * (that request becomes the probe). Half-open: only if no probe is out. */
bool qcc_breaker_allows(const struct qcc_breaker *b, uint64_t now);
/* True when a request sent now would be the half-open probe. */
bool qcc_breaker_is_probe(const struct qcc_breaker *b, uint64_t now);
/* Earliest time a request may go (now if it may go now, 0 = unknown: a
 * probe is out). */
uint64_t qcc_breaker_ready_at(const struct qcc_breaker *b, uint64_t now);

/* A request starts: an open breaker past its cooldown turns half-open with
 * the probe out. Returns the state before (== after when nothing changed). */
enum qcc_breaker_state qcc_breaker_begin(struct qcc_breaker *b, uint64_t now);
/* Outcomes; each returns the state before. */
enum qcc_breaker_state qcc_breaker_success(struct qcc_breaker *b, uint64_t now);
enum qcc_breaker_state qcc_breaker_failure(struct qcc_breaker *b, uint64_t now);
/* The request ended without telling anything (client gone): frees the probe. */
void qcc_breaker_abandon(struct qcc_breaker *b);
/* Open at once, whatever the count (a timeout: a hung endpoint must not cost
 * max_failures requests a timeout each). A closed breaker trips with the base
 * cooldown, a half-open one as on a failed probe; an open one stays as it
 * is. Returns the state before. */
enum qcc_breaker_state qcc_breaker_trip(struct qcc_breaker *b, uint64_t now);
/* Closed now, cooldown back to base (an active check passed, an operator
 * enabled the endpoint). Returns the state before. */
enum qcc_breaker_state qcc_breaker_reset(struct qcc_breaker *b, uint64_t now);

const char *qcc_breaker_state_name(enum qcc_breaker_state s);

#endif
