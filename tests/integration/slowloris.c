/* slowloris: N connections to 127.0.0.1:PORT that send a request head one
 * byte at a time and never finish it, for t15-slowloris.sh.
 *
 *   slowloris --port P [--conns N] [--interval-ms MS] [--max-seconds S]
 *             [--ready-file F]
 *
 * Every connection sends one more byte of "POST /v1/messages HTTP/1.1 ..."
 * (then of an endless header value) every MS milliseconds, and reads what the
 * server says. --ready-file is written once every connection is established
 * (or failed). The run ends when the server has closed every connection or
 * after S seconds; one JSON line on stdout tells what happened:
 *   {"conns", "connected", "connect_failed", "closed", "still_open",
 *    "got_408", "got_503", "got_other", "close_ms_min", "close_ms_max",
 *    "bytes_sent_max"}
 * close_ms is from the connect() call to the server's close.
 * One poll() loop, no threads; every loop is bounded by --max-seconds. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum cstate { C_CONNECTING, C_OPEN, C_CLOSED, C_FAILED };

struct conn {
  int fd;
  enum cstate st;
  double t_open, t_close; /* ms */
  size_t sent;
  char reply[16];
  size_t reply_len;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char head[] = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: ";

static char byte_at(size_t i) { return i < sizeof head - 1 ? head[i] : 'a'; }

static void close_conn(struct conn *c, double t) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->st = C_CLOSED;
  c->t_close = t;
}

int main(int argc, char **argv) {
  int port = 0, nconns = 1000, interval = 200;
  double max_s = 30;
  const char *ready = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--conns") == 0) nconns = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--interval-ms") == 0) interval = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--max-seconds") == 0) max_s = atof(argv[i + 1]);
    else if (strcmp(argv[i], "--ready-file") == 0) ready = argv[i + 1];
    else {
      fprintf(stderr, "slowloris: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (port <= 0 || port > 65535 || nconns <= 0 || nconns > 100000 || interval <= 0) {
    fprintf(stderr, "usage: slowloris --port P [--conns N] [--interval-ms MS] "
                    "[--max-seconds S] [--ready-file F]\n");
    return 2;
  }
  struct conn *cs = calloc((size_t)nconns, sizeof *cs);
  struct pollfd *pf = calloc((size_t)nconns, sizeof *pf);
  if (cs == NULL || pf == NULL) return 1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  double start = now_ms(), deadline = start + max_s * 1e3;
  for (int i = 0; i < nconns; i++) {
    struct conn *c = &cs[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
      c->st = C_FAILED;
      continue;
    }
    /* from connect(): the server's accept, and its header timer, come later */
    c->t_open = now_ms();
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      c->st = C_OPEN;
    } else if (errno == EINPROGRESS) {
      c->st = C_CONNECTING;
    } else {
      close(c->fd);
      c->fd = -1;
      c->st = C_FAILED;
    }
  }
  bool ready_written = false;
  double next_tick = now_ms();
  for (;;) {
    double t = now_ms();
    int connecting = 0, open = 0;
    for (int i = 0; i < nconns; i++) {
      connecting += cs[i].st == C_CONNECTING;
      open += cs[i].st == C_OPEN;
    }
    if (!ready_written && connecting == 0 && ready != NULL) {
      FILE *f = fopen(ready, "w");
      if (f != NULL) {
        fprintf(f, "%d\n", open);
        fclose(f);
      }
      ready_written = true;
    }
    if ((connecting == 0 && open == 0) || t >= deadline) break;
    if (t >= next_tick) {
      /* one more byte on every open connection */
      for (int i = 0; i < nconns; i++) {
        struct conn *c = &cs[i];
        if (c->st != C_OPEN) continue;
        char b = byte_at(c->sent);
        ssize_t n = send(c->fd, &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == 1) c->sent++;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          close_conn(c, t); /* reset by the server */
      }
      next_tick += interval;
      if (next_tick < t) next_tick = t + interval;
    }
    int n = 0;
    for (int i = 0; i < nconns; i++) {
      struct conn *c = &cs[i];
      if (c->st != C_OPEN && c->st != C_CONNECTING) continue;
      pf[n].fd = c->fd;
      pf[n].events = c->st == C_CONNECTING ? POLLOUT : POLLIN;
      pf[n].revents = 0;
      n++;
    }
    double wait = next_tick - now_ms();
    if (wait > deadline - now_ms()) wait = deadline - now_ms();
    if (wait < 0) wait = 0;
    int rc = poll(pf, (nfds_t)n, (int)wait + 1);
    if (rc < 0 && errno != EINTR) break;
    t = now_ms();
    int k = 0;
    for (int i = 0; i < nconns && rc > 0; i++) {
      struct conn *c = &cs[i];
      if (c->st != C_OPEN && c->st != C_CONNECTING) continue;
      short re = pf[k++].revents;
      if (re == 0) continue;
      if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
          close(c->fd);
          c->fd = -1;
          c->st = C_FAILED;
        } else {
          c->st = C_OPEN;
        }
        continue;
      }
      char buf[4096];
      ssize_t got = recv(c->fd, buf, sizeof buf, 0);
      if (got > 0) {
        size_t take = (size_t)got;
        if (take > sizeof c->reply - 1 - c->reply_len) take = sizeof c->reply - 1 - c->reply_len;
        memcpy(c->reply + c->reply_len, buf, take);
        c->reply_len += take;
        continue;
      }
      if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        close_conn(c, t);
    }
  }
  int connected = 0, failed = 0, closed = 0, still = 0, g408 = 0, g503 = 0, gother = 0;
  double cmin = -1, cmax = -1;
  size_t sent_max = 0;
  for (int i = 0; i < nconns; i++) {
    struct conn *c = &cs[i];
    if (c->st == C_FAILED) {
      failed++;
      continue;
    }
    if (c->st == C_CONNECTING) {
      still++;
      continue;
    }
    connected++;
    if (c->sent > sent_max) sent_max = c->sent;
    if (strncmp(c->reply, "HTTP/1.1 408", 12) == 0) g408++;
    else if (strncmp(c->reply, "HTTP/1.1 503", 12) == 0) g503++;
    else if (c->reply_len > 0) gother++;
    if (c->st == C_CLOSED) {
      closed++;
      double d = c->t_close - c->t_open;
      if (cmin < 0 || d < cmin) cmin = d;
      if (d > cmax) cmax = d;
    } else {
      still++;
      close(c->fd);
    }
  }
  printf("{\"conns\":%d,\"connected\":%d,\"connect_failed\":%d,\"closed\":%d,\"still_open\":%d,"
         "\"got_408\":%d,\"got_503\":%d,\"got_other\":%d,\"close_ms_min\":%.0f,"
         "\"close_ms_max\":%.0f,\"bytes_sent_max\":%zu}\n",
         nconns, connected, failed, closed, still, g408, g503, gother, cmin, cmax, sent_max);
  free(cs);
  free(pf);
  return 0;
}
