/* Balancing strategies over a candidate set: pure functions, no clock, no
 * I/O. The caller (the router) builds the slots of the endpoints that may
 * take a request now; a strategy returns which slot gets it. State that a
 * strategy keeps between picks lives in the caller's memory and is passed by
 * pointer (the smooth-WRR current weight of each endpoint, a round-robin
 * cursor), so it survives table swaps with the rest of the live state. */
#ifndef QCC_RUNTIME_BALANCER_H
#define QCC_RUNTIME_BALANCER_H

#include <stddef.h>
#include <stdint.h>

struct qcc_lb_slot {
  uint32_t pos;       /* position in its profile (round-robin order) */
  uint32_t weight;    /* effective weight, >= 1 (health may have reduced it) */
  uint32_t priority;  /* lower first (failover) */
  uint32_t inflight;  /* requests out now (least_connections) */
  uint64_t stable_id; /* rendezvous hashing (sticky) */
  int64_t *current;   /* smooth-WRR state of this endpoint */
};

/* Each returns an index into S, or -1 when N is 0. */

/* Smooth weighted round-robin (nginx): every pick adds each weight to its
 * current, takes the largest current and subtracts the total from it.
 * Deterministic; the heavy endpoint's picks are spread out, not clumped. */
int qcc_lb_weighted(struct qcc_lb_slot *s, size_t n);
/* Plain round-robin by profile position after *CURSOR (updated). */
int qcc_lb_round_robin(const struct qcc_lb_slot *s, size_t n, uint32_t *cursor);
/* Fewest in-flight per unit of weight; ties share by smooth WRR. */
int qcc_lb_least_connections(struct qcc_lb_slot *s, size_t n);
/* Lowest priority; among equal priority the higher weight, then position. */
int qcc_lb_failover(const struct qcc_lb_slot *s, size_t n);
/* Weighted rendezvous hashing of KEY (XXH3 seeded by the stable id): the
 * same key keeps its slot while that slot is in the set, and when a slot
 * leaves only the keys that were on it move. */
int qcc_lb_sticky(const struct qcc_lb_slot *s, size_t n, const void *key, size_t key_len);

#endif
