#include "balancer.h"

#include <math.h>
#include <xxhash.h>

int qcc_lb_weighted(struct qcc_lb_slot *s, size_t n) {
  if (n == 0) return -1;
  int64_t total = 0;
  size_t best = 0;
  for (size_t i = 0; i < n; i++) {
    *s[i].current += s[i].weight;
    total += s[i].weight;
    if (*s[i].current > *s[best].current) best = i;
  }
  *s[best].current -= total;
  return (int)best;
}

int qcc_lb_round_robin(const struct qcc_lb_slot *s, size_t n, uint32_t *cursor) {
  if (n == 0) return -1;
  /* The first slot after the cursor, else wrap to the lowest position. */
  size_t next = n, lowest = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i].pos < s[lowest].pos) lowest = i;
    if (s[i].pos > *cursor && (next == n || s[i].pos < s[next].pos)) next = i;
  }
  size_t pick = next < n ? next : lowest;
  *cursor = s[pick].pos;
  return (int)pick;
}

/* a.inflight / a.weight < b.inflight / b.weight without division */
static int cmp_load(const struct qcc_lb_slot *a, const struct qcc_lb_slot *b) {
  uint64_t l = (uint64_t)a->inflight * b->weight, r = (uint64_t)b->inflight * a->weight;
  return l < r ? -1 : l > r;
}

int qcc_lb_least_connections(struct qcc_lb_slot *s, size_t n) {
  if (n == 0) return -1;
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (cmp_load(&s[i], &s[best]) < 0) best = i;
  /* Smooth WRR among the tied ones, like nginx's least_conn, so that idle
   * endpoints still share by weight. Only the tied slots' state moves. */
  int64_t total = 0;
  size_t pick = n;
  for (size_t i = 0; i < n; i++) {
    if (cmp_load(&s[i], &s[best]) != 0) continue;
    *s[i].current += s[i].weight;
    total += s[i].weight;
    if (pick == n || *s[i].current > *s[pick].current) pick = i;
  }
  *s[pick].current -= total;
  return (int)pick;
}

int qcc_lb_failover(const struct qcc_lb_slot *s, size_t n) {
  if (n == 0) return -1;
  size_t best = 0;
  for (size_t i = 1; i < n; i++) {
    const struct qcc_lb_slot *a = &s[i], *b = &s[best];
    if (a->priority != b->priority) {
      if (a->priority < b->priority) best = i;
    } else if (a->weight != b->weight) {
      if (a->weight > b->weight) best = i;
    } else if (a->pos < b->pos) {
      best = i;
    }
  }
  return (int)best;
}

int qcc_lb_sticky(const struct qcc_lb_slot *s, size_t n, const void *key, size_t key_len) {
  if (n == 0) return -1;
  size_t best = 0;
  double best_score = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    uint64_t h = XXH3_64bits_withSeed(key, key_len, s[i].stable_id);
    /* u in (0, 1); score = -w / ln(u) picks slot i with probability
     * w_i / sum(w) over random keys (weighted rendezvous). */
    double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
    double score = -(double)s[i].weight / log(u);
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return (int)best;
}
