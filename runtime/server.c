#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "tableset.h"

#define ACCEPT_BATCH 64
#define EMFILE_PAUSE 0.1 /* seconds the listener rests after running out of fds */
#define REFUSE_LOG_PERIOD 1.0 /* seconds: at most one "refused" line per period */
/* The sizing rule (docs/inbound.md, "Connection limits and sizing"): a client connection
 * holds its socket and, while forwarded, one upstream connection; the rest
 * (listener, admin socket, logs, journal, epoll, curl's resolver) is fixed. */
#define FDS_PER_CONNECTION 2u
#define FDS_FIXED 64u

struct conn_node {
  struct qcc_client *c;
  struct conn_node *prev, *next;
};

struct qcc_server {
  struct ev_loop *loop;
  struct qcc_client_env env;
  int fd;
  int reserve_fd; /* spent to accept-and-close a connection when fds run out */
  bool loopback;
  char address[80];
  ev_io accept_w;
  ev_timer resume_w; /* restarts accepting after EMFILE */
  ev_timer drain_w;
  struct conn_node *conns;
  size_t nconns;
  bool draining;
  double drain_deadline;
  void (*drain_done)(void *ctx);
  void *drain_ctx;
  uint64_t accepted, refused;
  uint64_t refused_unlogged; /* since the last "refused" line */
  ev_timer refuse_log_w;
  rlim_t nofile;             /* soft RLIMIT_NOFILE after raising it */
  size_t fd_checked_for;     /* max_connections the fd budget was checked for */
};

int qcc_parse_hostport(const char *s, char *host, size_t cap, uint16_t *port, struct qcc_err *err) {
  const char *colon;
  const char *h = s;
  size_t hlen;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return qcc_err_set(err, EINVAL, "bad listen address '%s': expected [IPV6]:PORT", s);
    h = s + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL || strchr(s, ':') != colon)
      return qcc_err_set(err, EINVAL,
                         "bad listen address '%s': expected HOST:PORT (IPv6 as [::1]:PORT)", s);
    hlen = (size_t)(colon - s);
  }
  if (hlen == 0 || hlen >= cap)
    return qcc_err_set(err, EINVAL, "bad listen address '%s': empty or too long host", s);
  char *end = NULL;
  errno = 0;
  unsigned long p = strtoul(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || errno != 0 || p > 65535)
    return qcc_err_set(err, EINVAL, "bad listen address '%s': port must be 0-65535", s);
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  *port = (uint16_t)p;
  return 0;
}

/* Every open connection costs descriptors: take all the hard limit allows. */
static rlim_t raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return RLIM_INFINITY;
  rlim_t was = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      /* an unlimited hard limit is capped by fs.nr_open: keep what we have */
      rl.rlim_cur = was;
    } else {
      qcc_log_debug("open files: soft limit raised from %llu to %llu", (unsigned long long)was,
                    (unsigned long long)rl.rlim_cur);
    }
  }
  return rl.rlim_cur;
}

static void check_fd_budget(struct qcc_server *s, size_t maxc) {
  if (maxc == s->fd_checked_for) return;
  s->fd_checked_for = maxc;
  unsigned long long need = (unsigned long long)maxc * FDS_PER_CONNECTION + FDS_FIXED;
  if (s->nofile == RLIM_INFINITY || need <= (unsigned long long)s->nofile) return;
  qcc_log_warn("proxy.max_connections %zu needs about %llu open files (%u per connection + %u) "
               "but the limit is %llu: raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) "
               "or lower max_connections; past the limit new connections are dropped",
               maxc, need, FDS_PER_CONNECTION, FDS_FIXED, (unsigned long long)s->nofile);
}

static size_t max_connections_now(const struct qcc_server *s) {
  const struct qcc_tbl_settings *st =
      qcc_table_settings(qcc_tableset_current(s->env.tables)->table);
  return st->max_connections; /* at least 1: the table is verified */
}

/* Refusals are logged at most once per REFUSE_LOG_PERIOD, with a count:
 * a flood must not turn into a flood of log lines. */
static void refuse_log_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct qcc_server *s = w->data;
  if (s->refused_unlogged == 0) {
    ev_timer_stop(loop, w);
    return;
  }
  qcc_log_warn("refused %llu more connections in the last %.0f s: proxy.max_connections (%zu) "
               "open (%llu refused in all)",
               (unsigned long long)s->refused_unlogged, REFUSE_LOG_PERIOD, s->nconns,
               (unsigned long long)s->refused);
  s->refused_unlogged = 0;
}

static void count_refusal(struct qcc_server *s, size_t maxc) {
  s->refused++;
  qcc_metrics_connection_refused(qcc_proxy_metrics(s->env.proxy));
  if (ev_is_active(&s->refuse_log_w)) {
    s->refused_unlogged++;
    return;
  }
  qcc_log_warn("refused a connection: proxy.max_connections (%zu) open", maxc);
  ev_timer_again(s->loop, &s->refuse_log_w);
}

static void client_closed(void *ctx, struct qcc_client *c) {
  struct qcc_server *s = ctx;
  struct conn_node *n = qcc_client_tag(c);
  if (n->prev != NULL) n->prev->next = n->next;
  else s->conns = n->next;
  if (n->next != NULL) n->next->prev = n->prev;
  s->nconns--;
  qcc_client_free(&n->c);
  free(n);
}

int qcc_server_new(struct ev_loop *loop, const struct qcc_server_opts *o, struct qcc_server **out,
                   struct qcc_err *err) {
  *out = NULL;
  struct qcc_server *s = calloc(1, sizeof *s);
  if (s == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  s->loop = loop;
  s->fd = -1;
  s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  s->env = (struct qcc_client_env){
      .loop = loop, .tables = o->tables, .proxy = o->proxy, .alog = o->alog,
      .budget = o->budget, .closed = client_closed, .ctx = s,
  };
  s->nofile = raise_nofile();
  ev_init(&s->refuse_log_w, refuse_log_cb);
  s->refuse_log_w.repeat = REFUSE_LOG_PERIOD;
  s->refuse_log_w.data = s;
  *out = s;
  return 0;
}

static bool addr_is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a)) return true;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
  }
  return false;
}

static void refuse(const struct qcc_server *s, int fd) {
  if (s->env.tls != NULL) { /* no handshake for a connection we will not serve */
    close(fd);
    return;
  }
  /* Best effort: the socket is fresh, so a short reply fits its buffer. */
  static const char msg[] =
      "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
      "content-length: 87\r\n\r\n"
      "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
      "\"message\":\"too many connections\"}}";
  ssize_t n = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)n;
  close(fd);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents);

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct qcc_server *s = w->data;
  ev_timer_stop(loop, w);
  if (s->reserve_fd < 0) s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!s->draining && s->fd >= 0) ev_io_start(loop, &s->accept_w);
}

static void out_of_fds(struct qcc_server *s) {
  /* The pending connection would keep the listener readable forever: spend
   * the reserve fd to accept and drop it, then rest briefly. */
  if (s->reserve_fd >= 0) {
    close(s->reserve_fd);
    s->reserve_fd = -1;
    int fd = accept(s->fd, NULL, NULL);
    if (fd >= 0) close(fd);
    s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  qcc_log_warn("accept: out of file descriptors (%zu connections open); pausing the listener",
               s->nconns);
  ev_io_stop(s->loop, &s->accept_w);
  ev_timer_set(&s->resume_w, EMFILE_PAUSE, 0.);
  ev_timer_start(s->loop, &s->resume_w);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_server *s = w->data;
  size_t maxc = max_connections_now(s);
  check_fd_budget(s, maxc); /* again after a swap changed it */
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) out_of_fds(s);
      else if (errno != EAGAIN && errno != EWOULDBLOCK) qcc_log_warn("accept: %s", strerror(errno));
      return;
    }
    if (s->nconns >= maxc) {
      count_refusal(s, maxc);
      refuse(s, fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* SSE events go out at once */
    struct conn_node *n = calloc(1, sizeof *n);
    if (n == NULL || qcc_client_new(&s->env, fd, &n->c) != 0) {
      free(n);
      close(fd);
      continue;
    }
    qcc_client_set_tag(n->c, n);
    n->next = s->conns;
    if (s->conns != NULL) s->conns->prev = n;
    s->conns = n;
    s->nconns++;
    s->accepted++;
  }
}

int qcc_server_listen(struct qcc_server *s, const char *host, uint16_t port, struct qcc_err *err) {
  char portstr[8];
  snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(host, portstr, &hints, &res);
  if (gai != 0)
    return qcc_err_set(err, EINVAL, "listen %s:%u: %s", host, (unsigned)port, gai_strerror(gai));
  int fd = -1;
  int last_errno = 0;
  for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
      last_errno = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0)
    return qcc_err_set(err, last_errno, "listen %s:%u: %s", host, (unsigned)port,
                       strerror(last_errno));
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  s->loopback = addr_is_loopback((struct sockaddr *)&ss);
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned bound_port = 0;
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    bound_port = ntohs(a->sin6_port);
    snprintf(s->address, sizeof s->address, "[%s]:%u", ip, bound_port);
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    bound_port = ntohs(a->sin_port);
    snprintf(s->address, sizeof s->address, "%s:%u", ip, bound_port);
  }
  s->fd = fd;
  ev_io_init(&s->accept_w, accept_cb, fd, EV_READ);
  s->accept_w.data = s;
  ev_init(&s->resume_w, resume_cb);
  s->resume_w.data = s;
  ev_io_start(s->loop, &s->accept_w);
  check_fd_budget(s, max_connections_now(s));
  return 0;
}

bool qcc_server_is_loopback(const struct qcc_server *s) { return s->loopback; }
void qcc_server_set_tls(struct qcc_server *s, struct qcc_tlsserver *tls) { s->env.tls = tls; }

void qcc_server_set_page(struct qcc_server *s, void *page,
                         bool (*owns)(const char *target, size_t len),
                         struct qcc_page_call *(*start)(void *page, const struct qcc_request *req,
                                                        const struct qcc_sink_ops *ops, void *sink),
                         void (*cancel)(struct qcc_page_call *call)) {
  s->env.page_owns = owns;
  s->env.page_start = start;
  s->env.page_cancel = cancel;
  s->env.page = page;
}
const char *qcc_server_address(const struct qcc_server *s) { return s->address; }
size_t qcc_server_connections(const struct qcc_server *s) { return s->nconns; }

static void drain_finish(struct qcc_server *s) {
  ev_timer_stop(s->loop, &s->drain_w);
  /* Whatever is left past the grace period is cut (exchanges cancelled). */
  while (s->conns != NULL) {
    struct conn_node *n = s->conns;
    s->conns = n->next;
    qcc_client_free(&n->c);
    free(n);
  }
  s->nconns = 0;
  if (s->drain_done != NULL) {
    void (*done)(void *) = s->drain_done;
    s->drain_done = NULL;
    done(s->drain_ctx);
  }
}

static void drain_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct qcc_server *s = w->data;
  if (s->nconns == 0 || ev_now(loop) >= s->drain_deadline) drain_finish(s);
}

void qcc_server_drain(struct qcc_server *s, double timeout, void (*done)(void *ctx), void *ctx) {
  if (s->draining) return;
  s->draining = true;
  s->env.draining = true;
  if (s->fd >= 0) {
    ev_io_stop(s->loop, &s->accept_w);
    ev_timer_stop(s->loop, &s->resume_w);
    close(s->fd); /* new connections are refused by the kernel, not left hanging */
    s->fd = -1;
  }
  s->drain_done = done;
  s->drain_ctx = ctx;
  s->drain_deadline = ev_now(s->loop) + timeout;
  for (struct conn_node *n = s->conns; n != NULL; n = n->next) qcc_client_drain(n->c);
  ev_timer_init(&s->drain_w, drain_cb, 0.02, 0.02);
  s->drain_w.data = s;
  ev_timer_start(s->loop, &s->drain_w);
}

void qcc_server_free(struct qcc_server **ps) {
  if (ps == NULL || *ps == NULL) return;
  struct qcc_server *s = *ps;
  ev_timer_stop(s->loop, &s->drain_w);
  s->drain_done = NULL;
  drain_finish(s);
  if (s->fd >= 0) {
    ev_io_stop(s->loop, &s->accept_w);
    close(s->fd);
  }
  ev_timer_stop(s->loop, &s->resume_w);
  ev_timer_stop(s->loop, &s->refuse_log_w);
  if (s->reserve_fd >= 0) close(s->reserve_fd);
  free(s);
  *ps = NULL;
}
