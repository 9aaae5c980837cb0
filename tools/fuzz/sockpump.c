#include "sockpump.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

uint64_t qcc_fuzz_hash(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

void qcc_fuzz_pump_reset(struct qcc_fuzz_pump *pp) { pp->out_total = 0; }

/* Read and discard what the server answered; true when anything came. */
static bool drain_output(struct qcc_fuzz_pump *pp, int fd) {
  bool got = false;
  char buf[16384];
  for (int i = 0; i < 64; i++) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    if (pp->out_total < sizeof pp->first) {
      size_t k = sizeof pp->first - pp->out_total;
      memcpy(pp->first + pp->out_total, buf, (size_t)n < k ? (size_t)n : k);
    }
    pp->out_total += (size_t)n;
    got = true;
  }
  return got;
}

bool qcc_fuzz_pump_run(struct qcc_fuzz_pump *pp, int fd, const uint8_t *p, size_t len) {
  size_t off = 0;
  int idle = 0;
  for (int round = 0; round < pp->max_rounds; round++) {
    bool moved = false;
    if (off < len) {
      ssize_t n = send(fd, p + off, len - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += (size_t)n;
        moved = true;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        off = len; /* the server closed: the rest cannot be delivered */
      }
    }
    ev_run(pp->loop, EVRUN_NOWAIT);
    if (drain_output(pp, fd)) moved = true;
    idle = moved ? 0 : idle + 1;
    if (idle >= pp->idle_rounds && off == len) return true;
  }
  return false;
}

void qcc_fuzz_pump_check_reply(const struct qcc_fuzz_pump *pp, const uint8_t *data, size_t size,
                               bool verbose) {
  /* Whatever it answered is HTTP/1.1 (a 100 Continue or a response). */
  if (pp->out_total >= 9 && memcmp(pp->first, "HTTP/1.1 ", 9) != 0) __builtin_trap();
  if (!verbose) return;
  size_t k = pp->out_total < sizeof pp->first ? pp->out_total : sizeof pp->first;
  size_t eol = 0;
  while (eol < k && pp->first[eol] != '\r') eol++;
  size_t in_eol = 0;
  while (in_eol < size && in_eol < 60 && data[in_eol] != '\r' && data[in_eol] != '\n') in_eol++;
  fprintf(stderr, "[%.*s] %zu in -> %zu out: %.*s\n", (int)in_eol, (const char *)data, size,
          pp->out_total, (int)eol, pp->first);
}
