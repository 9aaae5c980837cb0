#include "breaker.h"

void qcc_breaker_init(struct qcc_breaker *b, uint32_t max_failures, uint32_t base_ms,
                      uint32_t max_ms) {
  *b = (struct qcc_breaker){0};
  b->state = QCC_BREAKER_CLOSED;
  b->max_failures = max_failures ? max_failures : 1;
  b->base_ms = base_ms ? base_ms : 1;
  b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
  b->cooldown_ms = b->base_ms;
}

bool qcc_breaker_allows(const struct qcc_breaker *b, uint64_t now) {
  switch (b->state) {
  case QCC_BREAKER_CLOSED: return true;
  case QCC_BREAKER_OPEN: return now >= b->open_until;
  case QCC_BREAKER_HALF_OPEN: return !b->probe_in_flight;
  default: return false;
  }
}

bool qcc_breaker_is_probe(const struct qcc_breaker *b, uint64_t now) {
  return b->state != QCC_BREAKER_CLOSED && qcc_breaker_allows(b, now);
}

uint64_t qcc_breaker_ready_at(const struct qcc_breaker *b, uint64_t now) {
  if (qcc_breaker_allows(b, now)) return now;
  if (b->state == QCC_BREAKER_OPEN) return b->open_until;
  return 0;
}

static void trip(struct qcc_breaker *b, uint64_t now, uint32_t cooldown) {
  b->state = QCC_BREAKER_OPEN;
  b->cooldown_ms = cooldown;
  b->open_until = now + cooldown;
  b->probe_in_flight = false;
  b->changed_at = now;
  b->trips++;
}

enum qcc_breaker_state qcc_breaker_begin(struct qcc_breaker *b, uint64_t now) {
  enum qcc_breaker_state before = b->state;
  if (b->state == QCC_BREAKER_OPEN && now >= b->open_until) {
    b->state = QCC_BREAKER_HALF_OPEN;
    b->changed_at = now;
  }
  if (b->state == QCC_BREAKER_HALF_OPEN) b->probe_in_flight = true;
  return before;
}

enum qcc_breaker_state qcc_breaker_success(struct qcc_breaker *b, uint64_t now) {
  enum qcc_breaker_state before = b->state;
  b->failures = 0;
  if (b->state == QCC_BREAKER_OPEN) {
    /* A late success from a request sent before the breaker opened proves
     * nothing about now; wait for the probe. */
    return before;
  }
  if (b->state == QCC_BREAKER_HALF_OPEN) {
    b->state = QCC_BREAKER_CLOSED;
    b->probe_in_flight = false;
    b->cooldown_ms = b->base_ms;
    b->changed_at = now;
  }
  return before;
}

enum qcc_breaker_state qcc_breaker_failure(struct qcc_breaker *b, uint64_t now) {
  enum qcc_breaker_state before = b->state;
  if (b->failures < UINT32_MAX) b->failures++;
  if (b->state == QCC_BREAKER_HALF_OPEN) {
    uint64_t next = (uint64_t)b->cooldown_ms * 2;
    trip(b, now, next > b->max_ms ? b->max_ms : (uint32_t)next);
  } else if (b->state == QCC_BREAKER_CLOSED && b->failures >= b->max_failures) {
    trip(b, now, b->base_ms);
  }
  return before;
}

void qcc_breaker_abandon(struct qcc_breaker *b) {
  b->probe_in_flight = false;
}

enum qcc_breaker_state qcc_breaker_trip(struct qcc_breaker *b, uint64_t now) {
  enum qcc_breaker_state before = b->state;
  if (b->state == QCC_BREAKER_CLOSED) {
    if (b->failures < b->max_failures) b->failures = b->max_failures;
    trip(b, now, b->base_ms);
  } else if (b->state == QCC_BREAKER_HALF_OPEN) {
    uint64_t next = (uint64_t)b->cooldown_ms * 2;
    trip(b, now, next > b->max_ms ? b->max_ms : (uint32_t)next);
  }
  return before;
}

enum qcc_breaker_state qcc_breaker_reset(struct qcc_breaker *b, uint64_t now) {
  enum qcc_breaker_state before = b->state;
  b->failures = 0;
  b->probe_in_flight = false;
  b->cooldown_ms = b->base_ms;
  if (b->state != QCC_BREAKER_CLOSED) {
    b->state = QCC_BREAKER_CLOSED;
    b->changed_at = now;
  }
  return before;
}

const char *qcc_breaker_state_name(enum qcc_breaker_state s) {
#define QCC_BREAKER_NAME_(c, n) [c] = n,
  static const char *const names[] = {QCC_BREAKER_STATE_LIST(QCC_BREAKER_NAME_)};
#undef QCC_BREAKER_NAME_
  return (unsigned)s < QCC_BREAKER_STATE_COUNT ? names[s] : "?";
}
