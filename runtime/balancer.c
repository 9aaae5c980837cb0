#include "balancer.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
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

/* ln(U) for U in (0, 1), without libm: qcc-run needs no other libm function,
 * and loading libm costs ~330 KiB of RSS (its IFUNC resolvers fault in most
 * of its text). U = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln(m) = 2 atanh(s),
 * s = (m - 1) / (m + 1), |s| < 0.172, whose odd series to s^25 is below one
 * ulp; ln 2 is split (fdlibm's hi/lo) so e * ln 2 stays exact. Within 1 ulp
 * of glibc's log over (0, 1) (checked on 10^8 samples). */
static double ln_unit(double u) {
  uint64_t bits;
  memcpy(&bits, &u, sizeof bits);
  int e = (int)((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* m in [1, 2) */
  double m;
  memcpy(&m, &bits, sizeof m);
  if (m > 1.41421356237309504880) {
    m *= 0.5;
    e++;
  }
  double s = (m - 1.0) / (m + 1.0), z = s * s, poly = 0.0;
  for (int k = 25; k >= 3; k -= 2) poly = (poly + 1.0 / k) * z;
  return e * 6.93147180369123816490e-01 + (2.0 * s + 2.0 * s * poly + e * 1.90821492927058770002e-10);
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
    double score = -(double)s[i].weight / ln_unit(u);
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return (int)best;
}
