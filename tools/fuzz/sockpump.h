/* Driving a server on a private libev loop through one socket, for the fuzz
 * drivers of inbound HTTP (fuzz_http) and the admin socket (fuzz_admin):
 * send the input, run the loop without blocking until no byte moves either
 * way, and keep the reply's first bytes for the checks. */
#ifndef QCC_FUZZ_SOCKPUMP_H
#define QCC_FUZZ_SOCKPUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

struct qcc_fuzz_pump {
  struct ev_loop *loop;
  int max_rounds;  /* loop turns per qcc_fuzz_pump_run: bounds the run */
  int idle_rounds; /* turns without I/O before a run is over (0-delay timers chain) */
  size_t out_total; /* reply bytes seen for this input */
  char first[96];   /* their first bytes */
};

/* FNV-1a of the input: the drivers derive split points and options from it. */
uint64_t qcc_fuzz_hash(const uint8_t *p, size_t n);

/* Forget the previous input's reply. */
void qcc_fuzz_pump_reset(struct qcc_fuzz_pump *pp);

/* Send P[0..LEN) on FD and run the loop until nothing moves. False when the
 * round bound was hit (a server that never settles). */
bool qcc_fuzz_pump_run(struct qcc_fuzz_pump *pp, int fd, const uint8_t *p, size_t len);

/* Trap unless whatever came back starts as an HTTP/1.1 message; with VERBOSE
 * print the input's first line and the reply's status line to stderr. */
void qcc_fuzz_pump_check_reply(const struct qcc_fuzz_pump *pp, const uint8_t *data, size_t size,
                               bool verbose);

#endif
