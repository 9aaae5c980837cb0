#include "curlloop.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct sock {
  ev_io io;
  struct qcc_curlloop *cl;
  struct sock *prev, *next;
  /* curl has let go of the socket (CURL_POLL_REMOVE: its connection waits
   * in the pool) but the watcher stays, so the next transfer on it costs
   * no epoll_ctl; a read event while parked stops the watcher */
  bool parked;
};

/* Sockets curl opened through open_socket, by descriptor: only these are
 * parked, because only their close is reported (close_socket), before the
 * descriptor can be reused. A socket curl closes itself (the resolver's
 * socketpair) is never parked: its watcher must stop before the close. */
struct fdmap {
  struct sock **by_fd; /* the sock of an open socket, or NULL */
  unsigned char *ours; /* 1 when open_socket made it */
  size_t cap;
};

struct qcc_curlloop {
  struct ev_loop *loop;
  CURLM *multi;
  ev_timer timer;
  struct sock *socks;
  struct fdmap fds;
  size_t unparked; /* parked watchers taken back into use */
  unsigned depth; /* > 0 inside curl_multi_socket_action */
  void (*after)(void *ctx);
  void *ctx;
};

/* Hand finished transfers to their jobs, outside curl. */
static void check_info(struct qcc_curlloop *cl) {
  int left = 0;
  for (;;) {
    CURLMsg *msg = curl_multi_info_read(cl->multi, &left);
    if (msg == NULL) break;
    if (msg->msg != CURLMSG_DONE) continue;
    char *priv = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    struct qcc_curl_job *job = (struct qcc_curl_job *)(void *)priv;
    if (job == NULL || job->done == NULL) continue;
    /* copy out of msg first: done() may remove the handle, which frees it */
    CURL *easy = msg->easy_handle;
    CURLcode rc = msg->data.result;
    job->done(job, easy, rc);
  }
}

static void socket_action(struct qcc_curlloop *cl, curl_socket_t fd, int mask) {
  int running = 0;
  cl->depth++;
  curl_multi_socket_action(cl->multi, fd, mask, &running);
  cl->depth--;
  check_info(cl);
  if (cl->after != NULL) cl->after(cl->ctx);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct sock *s = w->data;
  if (s->parked) {
    /* the pooled connection's peer wrote or closed: curl sees that when it
     * next looks at the connection; until then, no busy level-triggered
     * wake-ups */
    ev_io_stop(loop, w);
    return;
  }
  int action = 0;
  if (revents & EV_READ) action |= CURL_CSELECT_IN;
  if (revents & EV_WRITE) action |= CURL_CSELECT_OUT;
  if (revents & EV_ERROR) action |= CURL_CSELECT_ERR;
  socket_action(s->cl, w->fd, action);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  socket_action(w->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: timeout_ms is milliseconds; -1 stops the timer and
 * 0 means "as soon as possible", which we leave to the loop (a 0 s timer
 * fires on the next iteration) rather than calling curl back recursively. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  struct qcc_curlloop *cl = userp;
  ev_timer_stop(cl->loop, &cl->timer);
  if (timeout_ms >= 0) {
    ev_timer_set(&cl->timer, (double)timeout_ms / 1000.0, 0.);
    ev_timer_start(cl->loop, &cl->timer);
  }
  return 0;
}

static bool fd_grow(struct fdmap *m, curl_socket_t fd) {
  if (fd < 0) return false;
  if ((size_t)fd < m->cap) return true;
  size_t ncap = m->cap ? m->cap : 64;
  while (ncap <= (size_t)fd) ncap *= 2;
  struct sock **b = realloc(m->by_fd, ncap * sizeof *b);
  if (b == NULL) return false;
  m->by_fd = b;
  unsigned char *o = realloc(m->ours, ncap);
  if (o == NULL) return false;
  m->ours = o;
  for (size_t i = m->cap; i < ncap; i++) {
    b[i] = NULL;
    o[i] = 0;
  }
  m->cap = ncap;
  return true;
}

static struct sock *fd_sock(const struct fdmap *m, curl_socket_t fd) {
  return fd >= 0 && (size_t)fd < m->cap ? m->by_fd[fd] : NULL;
}

static void sock_free(struct qcc_curlloop *cl, struct sock *s) {
  ev_io_stop(cl->loop, &s->io);
  if (s->io.fd >= 0 && (size_t)s->io.fd < cl->fds.cap && cl->fds.by_fd[s->io.fd] == s)
    cl->fds.by_fd[s->io.fd] = NULL;
  if (s->prev != NULL) s->prev->next = s->next;
  else cl->socks = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  free(s);
}

/* CURLMOPT_SOCKETFUNCTION: one ev_io per socket, its state attached to the
 * socket with curl_multi_assign so curl hands it back as SOCKP. */
static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp) {
  (void)easy;
  struct qcc_curlloop *cl = userp;
  struct sock *s = sockp;
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL) {
      curl_multi_assign(cl->multi, fd, NULL);
      if (fd >= 0 && (size_t)fd < cl->fds.cap && cl->fds.ours[fd] && s->io.events == EV_READ)
        s->parked = true; /* watcher kept: see struct sock */
      else
        sock_free(cl, s);
    }
    return 0;
  }
  if (s == NULL && (s = fd_sock(&cl->fds, fd)) != NULL) {
    /* a parked socket back in use: same descriptor, same socket (a close
     * would have freed it), so an unchanged watcher needs no epoll_ctl */
    s->parked = false;
    cl->unparked++;
    curl_multi_assign(cl->multi, fd, s);
  }
  if (s == NULL) {
    s = calloc(1, sizeof *s);
    /* -1 makes curl fail the transfers on this socket: one request lost,
     * not the process */
    if (s == NULL) return -1;
    s->cl = cl;
    s->next = cl->socks;
    if (cl->socks != NULL) cl->socks->prev = s;
    cl->socks = s;
    ev_init(&s->io, io_cb);
    s->io.fd = -1;
    s->io.data = s;
    curl_multi_assign(cl->multi, fd, s);
    if (fd_grow(&cl->fds, fd)) cl->fds.by_fd[fd] = s;
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= EV_READ;
  if (what & CURL_POLL_OUT) events |= EV_WRITE;
  if (ev_is_active(&s->io) && s->io.fd == fd && (s->io.events & (EV_READ | EV_WRITE)) == events)
    return 0;
  ev_io_stop(cl->loop, &s->io);
  ev_io_set(&s->io, fd, events);
  if (events != 0) ev_io_start(cl->loop, &s->io);
  return 0;
}

int qcc_curlloop_new(struct ev_loop *loop, void (*after)(void *ctx), void *ctx,
                     struct qcc_curlloop **out, struct qcc_err *err) {
  *out = NULL;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return qcc_err_set(err, EIO, "libcurl cannot be initialised");
  struct qcc_curlloop *cl = calloc(1, sizeof *cl);
  if (cl == NULL) {
    curl_global_cleanup();
    return qcc_err_set(err, ENOMEM, "out of memory creating a libcurl multi handle");
  }
  cl->multi = curl_multi_init();
  if (cl->multi == NULL) {
    free(cl);
    curl_global_cleanup();
    return qcc_err_set(err, ENOMEM, "libcurl multi handle cannot be created");
  }
  cl->loop = loop;
  cl->after = after;
  cl->ctx = ctx;
  ev_init(&cl->timer, timer_cb);
  cl->timer.data = cl;
  curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
  curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
  curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
  curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
  *out = cl;
  return 0;
}

void qcc_curlloop_free(struct qcc_curlloop **pcl) {
  if (pcl == NULL || *pcl == NULL) return;
  struct qcc_curlloop *cl = *pcl;
  ev_timer_stop(cl->loop, &cl->timer);
  curl_multi_cleanup(cl->multi);
  while (cl->socks != NULL) sock_free(cl, cl->socks);
  free(cl->fds.by_fd);
  free(cl->fds.ours);
  free(cl);
  curl_global_cleanup();
  *pcl = NULL;
}

CURLM *qcc_curlloop_multi(struct qcc_curlloop *cl) { return cl->multi; }

/* CURLOPT_OPENSOCKETFUNCTION: the socket curl would make, noted as ours. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *addr) {
  struct qcc_curlloop *cl = clientp;
  (void)purpose;
  curl_socket_t fd = socket(addr->family, addr->socktype, addr->protocol);
  if (fd == CURL_SOCKET_BAD) return fd;
  struct sock *stale = fd_sock(&cl->fds, fd);
  if (stale != NULL) sock_free(cl, stale); /* closed behind our back: never reuse its watcher */
  if (fd_grow(&cl->fds, fd)) cl->fds.ours[fd] = 1;
  return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the watcher goes before the descriptor does. */
static int close_socket(void *clientp, curl_socket_t fd) {
  struct qcc_curlloop *cl = clientp;
  struct sock *s = fd_sock(&cl->fds, fd);
  if (s != NULL) {
    if (s->parked) sock_free(cl, s);
    else ev_io_stop(cl->loop, &s->io); /* curl still removes it (CURL_POLL_REMOVE) */
  }
  if (fd >= 0 && (size_t)fd < cl->fds.cap) cl->fds.ours[fd] = 0;
  return close(fd);
}

int qcc_curlloop_add(struct qcc_curlloop *cl, CURL *easy, struct qcc_curl_job *job) {
  if (curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)job) != CURLE_OK) return -1;
  if (curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket) != CURLE_OK ||
      curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, (void *)cl) != CURLE_OK ||
      curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket) != CURLE_OK ||
      curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, (void *)cl) != CURLE_OK)
    return -1;
  return curl_multi_add_handle(cl->multi, easy) == CURLM_OK ? 0 : -1;
}

void qcc_curlloop_remove(struct qcc_curlloop *cl, CURL *easy) {
  if (easy != NULL) curl_multi_remove_handle(cl->multi, easy);
}

bool qcc_curlloop_busy(const struct qcc_curlloop *cl) { return cl->depth > 0; }

size_t qcc_curlloop_unparked(const struct qcc_curlloop *cl) { return cl->unparked; }

void qcc_curlloop_kick(struct qcc_curlloop *cl) { socket_action(cl, CURL_SOCKET_TIMEOUT, 0); }
