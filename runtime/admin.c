#include "admin.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdint.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "schema/statedir.h"

struct conn;

struct qcc_admin_req {
  struct conn *conn; /* NULL once the client is gone */
  char method[16];
  char *path;        /* decoded-free raw path (no query) */
  char *query;       /* raw query, "" when none */
  char *params[QCC_ADMIN_MAX_PARAMS];
  size_t param_count;
  char *qvalue;      /* last decoded query value (owned) */
  char *body;
  size_t body_len;
  qcc_admin_reply_fn fn; /* an in-process call (qcc_admin_invoke), else NULL */
  void *fn_arg;
};

struct conn {
  struct qcc_admin *a;
  struct conn *prev, *next;
  int fd;
  ev_io rio, wio;
  ev_timer timer;
  http_parser parser;
  char url[QCC_ADMIN_MAX_HEAD];
  size_t url_len;
  size_t head_bytes;
  char *body;
  size_t body_len, body_cap;
  bool complete;      /* whole request read */
  bool lingering;     /* replied early: reading the rest of the request to drop it */
  size_t lingered;
  int fail_status;    /* a parse-time error to answer with, 0 = none */
  struct qcc_admin_req *req; /* dispatched, no reply yet */
  char *out;
  size_t out_len, out_off;
};

struct qcc_admin {
  struct ev_loop *loop;
  int fd;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  dev_t dev;
  ino_t ino;
  ev_io accept_io;
  ev_timer accept_pause; /* EMFILE: stop accepting for a moment */
  const struct qcc_admin_route *routes;
  size_t route_count;
  void *ctx;
  struct conn *conns;
  size_t conn_count;
  bool tcp;  /* the loopback metrics port: no file, no peer credentials */
  int port;
};

const char *qcc_admin_status_text(int status) {
  switch (status) {
  case 200: return "OK";
  case 202: return "Accepted";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return status < 400 ? "OK" : "Error";
  }
}

/* ---- connections --------------------------------------------------------- */

static void conn_close(struct conn *c) {
  struct qcc_admin *a = c->a;
  ev_io_stop(a->loop, &c->rio);
  ev_io_stop(a->loop, &c->wio);
  ev_timer_stop(a->loop, &c->timer);
  if (c->req != NULL) c->req->conn = NULL; /* the handler still owes a reply */
  close(c->fd);
  if (c->prev != NULL) c->prev->next = c->next;
  else a->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  a->conn_count--;
  free(c->body);
  free(c->out);
  free(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop;
  (void)revents;
  struct conn *c = w->data;
  while (c->out_off < c->out_len) {
    ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (k <= 0) {
      conn_close(c);
      return;
    }
    c->out_off += (size_t)k;
  }
  if (!c->complete && !c->lingering) {
    /* We answered before the request ended (413, 431, 400). Closing now with
     * unread input would reset the connection and the client could lose
     * the reply: stop writing, drop what still comes, then close. */
    c->lingering = true;
    shutdown(c->fd, SHUT_WR);
    ev_io_stop(c->a->loop, &c->wio);
    ev_timer_stop(c->a->loop, &c->timer);
    ev_timer_set(&c->timer, 2.0, 0);
    ev_timer_start(c->a->loop, &c->timer);
    ev_io_start(c->a->loop, &c->rio);
    return;
  }
  conn_close(c); /* one request per connection */
}

/* Queue the whole reply and start writing. */
static void conn_send(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                      const char *extra_head) {
  char head[512];
  int hn = snprintf(head, sizeof head,
                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                    "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
                    status, qcc_admin_status_text(status), ctype, len,
                    extra_head != NULL ? extra_head : "");
  if (hn < 0 || (size_t)hn >= sizeof head) {
    conn_close(c);
    return;
  }
  c->out = malloc((size_t)hn + len);
  if (c->out == NULL) {
    conn_close(c);
    return;
  }
  memcpy(c->out, head, (size_t)hn);
  if (len > 0) memcpy(c->out + hn, body, len);
  c->out_len = (size_t)hn + len;
  c->out_off = 0;
  ev_io_stop(c->a->loop, &c->rio);
  ev_timer_stop(c->a->loop, &c->timer);
  ev_timer_set(&c->timer, QCC_ADMIN_IO_TIMEOUT, 0);
  ev_timer_start(c->a->loop, &c->timer);
  ev_io_start(c->a->loop, &c->wio);
}

static void conn_send_error(struct conn *c, int status, const char *msg, const char *extra) {
  json_t *o = json_pack("{s:s}", "error", msg);
  char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (s == NULL) {
    conn_send(c, 500, "application/json", "{\"error\":\"out of memory\"}", 25, NULL);
    return;
  }
  size_t n = strlen(s);
  char *body = realloc(s, n + 2);
  if (body != NULL) {
    body[n++] = '\n';
    s = body;
  }
  conn_send(c, status, "application/json", s, n, extra);
  free(s);
}

/* ---- request parsing ----------------------------------------------------- */

static int on_url(http_parser *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (len > sizeof c->url - 1 - c->url_len) {
    c->fail_status = 431;
    return 1;
  }
  memcpy(c->url + c->url_len, at, len);
  c->url_len += len;
  c->url[c->url_len] = '\0';
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (len > QCC_ADMIN_MAX_BODY - c->body_len) {
    c->fail_status = 413;
    return 1;
  }
  if (c->body_len + len + 1 > c->body_cap) {
    size_t cap = c->body_cap == 0 ? 1024 : c->body_cap;
    while (cap < c->body_len + len + 1) cap *= 2;
    char *nb = realloc(c->body, cap);
    if (nb == NULL) {
      c->fail_status = 500;
      return 1;
    }
    c->body = nb;
    c->body_cap = cap;
  }
  memcpy(c->body + c->body_len, at, len);
  c->body_len += len;
  c->body[c->body_len] = '\0';
  return 0;
}

static int on_headers_complete(http_parser *p) {
  struct conn *c = p->data;
  if (p->content_length != UINT64_MAX && p->content_length > QCC_ADMIN_MAX_BODY) {
    c->fail_status = 413;
    return -1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  struct conn *c = p->data;
  c->complete = true;
  http_parser_pause(p, 1); /* one request per connection: ignore the rest */
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_body = on_body,
    .on_headers_complete = on_headers_complete,
    .on_message_complete = on_message_complete,
};

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Percent-decode [s, s+n) into a new string; PLUS: '+' means space (query).
 * NULL when out of memory or when it would hold a NUL byte. */
static char *decode(const char *s, size_t n, bool plus) {
  char *d = malloc(n + 1);
  if (d == NULL) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    int hi = s[i] == '%' && n - i > 2 ? hexval(s[i + 1]) : -1;
    int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
    if (lo >= 0) {
      d[k++] = (char)(hi * 16 + lo);
      i += 2;
    } else if (plus && s[i] == '+') {
      d[k++] = ' ';
    } else {
      d[k++] = s[i];
    }
  }
  d[k] = '\0';
  if (strlen(d) != k) {
    free(d);
    return NULL;
  }
  return d;
}

static void req_free(struct qcc_admin_req *r) {
  if (r == NULL) return;
  free(r->path);
  free(r->query);
  for (size_t i = 0; i < r->param_count; i++) free(r->params[i]);
  free(r->qvalue);
  free(r->body);
  free(r);
}

/* Match PATH against PATTERN segment by segment, capturing asterisks.
 * 1 match, 0 no match, -1 out of memory / bad encoding. */
static int match(const char *pattern, const char *path, struct qcc_admin_req *r) {
  const char *p = pattern, *s = path;
  size_t caps = 0;
  char *tmp[QCC_ADMIN_MAX_PARAMS] = {NULL};
  int rc = 0;
  while (*p == '/' && *s == '/') {
    p++;
    s++;
    size_t pl = strcspn(p, "/"), sl = strcspn(s, "/");
    if (pl == 1 && *p == '*') {
      if (sl == 0 || caps == QCC_ADMIN_MAX_PARAMS) goto out;
      tmp[caps] = decode(s, sl, false);
      if (tmp[caps] == NULL) {
        rc = -1;
        goto out;
      }
      caps++;
    } else if (pl != sl || strncmp(p, s, pl) != 0) {
      goto out;
    }
    p += pl;
    s += sl;
  }
  if (*p != '\0' || *s != '\0') goto out;
  if (r != NULL) {
    for (size_t i = 0; i < caps; i++) {
      r->params[i] = tmp[i];
      tmp[i] = NULL;
    }
    r->param_count = caps;
  }
  rc = 1;
out:
  for (size_t i = 0; i < caps; i++) free(tmp[i]);
  return rc;
}

static void dispatch(struct conn *c) {
  struct qcc_admin *a = c->a;
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH))) {
    conn_send_error(c, 400, "bad request target", NULL);
    return;
  }
  struct qcc_admin_req *r = calloc(1, sizeof *r);
  if (r == NULL) {
    conn_send_error(c, 500, "out of memory", NULL);
    return;
  }
  snprintf(r->method, sizeof r->method, "%s", http_method_str((enum http_method)c->parser.method));
  r->path = strndup(c->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  r->query = (u.field_set & (1 << UF_QUERY))
                 ? strndup(c->url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len)
                 : strdup("");
  r->body = c->body != NULL ? c->body : strdup("");
  r->body_len = c->body_len;
  c->body = NULL;
  c->body_len = c->body_cap = 0;
  if (r->path == NULL || r->query == NULL || r->body == NULL) {
    req_free(r);
    conn_send_error(c, 500, "out of memory", NULL);
    return;
  }
  /* A trailing slash names the same resource: "/status/" is "/status". */
  size_t pl = strlen(r->path);
  if (pl > 1 && r->path[pl - 1] == '/') r->path[pl - 1] = '\0';
  char allow[64] = "";
  for (size_t i = 0; i < a->route_count; i++) {
    const struct qcc_admin_route *rt = &a->routes[i];
    bool same_method = strcmp(rt->method, r->method) == 0;
    int m = match(rt->pattern, r->path, same_method ? r : NULL);
    if (m < 0) {
      req_free(r);
      conn_send_error(c, 400, "bad percent-encoding in the path", NULL);
      return;
    }
    if (m == 0) continue;
    if (!same_method) {
      size_t al = strlen(allow);
      snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", rt->method);
      continue;
    }
    c->req = r;
    r->conn = c;
    rt->fn(r, a->ctx); /* may reply now or later */
    return;
  }
  char msg[160];
  if (allow[0] != '\0') {
    char extra[96];
    snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
    snprintf(msg, sizeof msg, "%s is not allowed on %.64s (allowed: %s)", r->method, r->path, allow);
    req_free(r);
    conn_send_error(c, 405, msg, extra);
    return;
  }
  snprintf(msg, sizeof msg, "no such route: %s %.100s (see docs/admin-api.md)", r->method, r->path);
  req_free(r);
  conn_send_error(c, 404, msg, NULL);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop;
  (void)revents;
  struct conn *c = w->data;
  char buf[4096];
  for (;;) {
    ssize_t k = recv(c->fd, buf, sizeof buf, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (k <= 0) {
      conn_close(c); /* hang-up; a pending request becomes an orphan */
      return;
    }
    if (c->lingering) {
      c->lingered += (size_t)k;
      if (c->lingered > 4 * (QCC_ADMIN_MAX_HEAD + QCC_ADMIN_MAX_BODY)) {
        conn_close(c);
        return;
      }
      continue;
    }
    if (c->complete) continue; /* waiting for the handler: drain and ignore */
    size_t used = http_parser_execute(&c->parser, &parser_settings, buf, (size_t)k);
    if (!c->complete) {
      c->head_bytes += used;
      enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
      if (c->fail_status != 0 || (e != HPE_OK && e != HPE_PAUSED)) {
        int st = c->fail_status != 0 ? c->fail_status : 400;
        conn_send_error(c, st,
                        st == 413   ? "request body too large"
                        : st == 431 ? "request head too large"
                        : st == 500 ? "out of memory"
                                    : "malformed HTTP request",
                        NULL);
        return;
      }
      if (c->head_bytes > QCC_ADMIN_MAX_HEAD + QCC_ADMIN_MAX_BODY) {
        conn_send_error(c, 431, "request too large", NULL);
        return;
      }
      continue;
    }
    /* The handler may wait for a probe: no read timeout while it does. */
    ev_timer_stop(c->a->loop, &c->timer);
    dispatch(c);
    return; /* C may be gone */
  }
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  conn_close(w->data);
}

/* Only this user (or root) may steer qcc-run, even if the mode is loosened. */
static bool peer_allowed(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == geteuid() || cred.uid == 0;
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  struct qcc_admin *a = w->data;
  for (int i = 0; i < 16; i++) {
    int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        ev_io_stop(loop, &a->accept_io);
        ev_timer_start(loop, &a->accept_pause);
      }
      return;
    }
    if (a->conn_count >= QCC_ADMIN_MAX_CONNECTIONS || (!a->tcp && !peer_allowed(fd))) {
      close(fd);
      continue;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    c->a = a;
    c->fd = fd;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    ev_io_init(&c->rio, read_cb, fd, EV_READ);
    ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
    ev_timer_init(&c->timer, timeout_cb, QCC_ADMIN_IO_TIMEOUT, 0);
    c->rio.data = c->wio.data = c->timer.data = c;
    c->next = a->conns;
    if (a->conns != NULL) a->conns->prev = c;
    a->conns = c;
    a->conn_count++;
    ev_io_start(loop, &c->rio);
    ev_timer_start(loop, &c->timer);
  }
}

static void accept_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  struct qcc_admin *a = w->data;
  ev_io_start(loop, &a->accept_io);
}

/* ---- the listening socket ------------------------------------------------ */

/* An existing file at PATH: a live server -> refuse; a dead socket -> remove. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, struct qcc_err *err) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return 0;
    return qcc_err_set(err, errno, "cannot check %s: %s", path, strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    return qcc_err_set(err, EEXIST, "%s exists and is not a socket: move it away", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return qcc_err_set(err, errno, "socket: %s", strerror(errno));
  int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
  int e = errno;
  close(fd);
  if (rc == 0)
    return qcc_err_set(err, EADDRINUSE,
                       "another qcc-run is already running with state directory %.*s (its admin "
                       "socket %s answers): stop it, or give this one its own --state-dir",
                       (int)(strrchr(path, '/') - path), path, path);
  if (e != ECONNREFUSED)
    return qcc_err_set(err, e, "cannot check the admin socket %s: %s", path, strerror(e));
  if (unlink(path) != 0 && errno != ENOENT)
    return qcc_err_set(err, errno, "cannot remove the stale admin socket %s: %s", path,
                       strerror(errno));
  return 0;
}

int qcc_admin_open(struct ev_loop *loop, const char *state_dir,
                   const struct qcc_admin_route *routes, size_t route_count, void *ctx,
                   struct qcc_admin **out, struct qcc_err *err) {
  *out = NULL;
  if (qcc_statedir_ensure(state_dir, err) != 0) return -1;
  struct qcc_admin *a = calloc(1, sizeof *a);
  if (a == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  a->loop = loop;
  a->fd = -1;
  a->routes = routes;
  a->route_count = route_count;
  a->ctx = ctx;
  if (qcc_statedir_path(state_dir, QCC_ADMIN_SOCKET_NAME, a->path, sizeof a->path, err) != 0) {
    free(a);
    return qcc_err_wrap(err, "admin socket path too long (a Unix socket path holds %zu bytes)",
                        sizeof a->path - 1);
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, a->path, strlen(a->path) + 1);
  if (clear_stale(a->path, &sa, err) != 0) {
    free(a);
    return -1;
  }
  a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (a->fd < 0) {
    free(a);
    return qcc_err_set(err, errno, "socket: %s", strerror(errno));
  }
  /* umask while binding: the socket is never, even briefly, open to others. */
  mode_t old = umask(0077);
  int rc = bind(a->fd, (struct sockaddr *)&sa, sizeof sa);
  int e = errno;
  umask(old);
  struct stat st;
  if (rc != 0 || chmod(a->path, 0600) != 0 || stat(a->path, &st) != 0 ||
      listen(a->fd, 16) != 0) {
    if (rc == 0) {
      e = errno;
      unlink(a->path);
    }
    close(a->fd);
    free(a);
    return qcc_err_set(err, e, "cannot listen on the admin socket %s: %s", sa.sun_path,
                       strerror(e));
  }
  a->dev = st.st_dev;
  a->ino = st.st_ino;
  ev_io_init(&a->accept_io, accept_cb, a->fd, EV_READ);
  a->accept_io.data = a;
  ev_timer_init(&a->accept_pause, accept_resume, 0.1, 0);
  a->accept_pause.data = a;
  ev_io_start(loop, &a->accept_io);
  *out = a;
  return 0;
}

int qcc_admin_open_tcp(struct ev_loop *loop, const char *host, int port,
                       const struct qcc_admin_route *routes, size_t route_count, void *ctx,
                       struct qcc_admin **out, struct qcc_err *err) {
  *out = NULL;
  struct sockaddr_storage ss = {0};
  socklen_t sl;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (port < 0 || port > 65535) return qcc_err_set(err, EINVAL, "port %d out of range", port);
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    sl = sizeof *s4;
    if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
      return qcc_err_set(err, EACCES, "%s is not a loopback address: the metrics port only "
                         "listens on 127.0.0.1 (or ::1)", host);
  } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    sl = sizeof *s6;
    if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
      return qcc_err_set(err, EACCES, "%s is not a loopback address: the metrics port only "
                         "listens on 127.0.0.1 (or ::1)", host);
  } else {
    return qcc_err_set(err, EINVAL, "'%s' is not a numeric IP address (use 127.0.0.1)", host);
  }
  struct qcc_admin *a = calloc(1, sizeof *a);
  if (a == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  a->loop = loop;
  a->routes = routes;
  a->route_count = route_count;
  a->ctx = ctx;
  a->tcp = true;
  a->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (a->fd < 0) {
    free(a);
    return qcc_err_set(err, errno, "socket: %s", strerror(errno));
  }
  int one = 1;
  setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(a->fd, (struct sockaddr *)&ss, sl) != 0 || listen(a->fd, 16) != 0 ||
      getsockname(a->fd, (struct sockaddr *)&ss, &sl) != 0) {
    int e = errno;
    close(a->fd);
    free(a);
    return qcc_err_set(err, e, "cannot listen on %s port %d: %s", host, port, strerror(e));
  }
  a->port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
  snprintf(a->path, sizeof a->path, "%s%s%s:%d", ss.ss_family == AF_INET6 ? "[" : "", host,
           ss.ss_family == AF_INET6 ? "]" : "", a->port);
  ev_io_init(&a->accept_io, accept_cb, a->fd, EV_READ);
  a->accept_io.data = a;
  ev_timer_init(&a->accept_pause, accept_resume, 0.1, 0);
  a->accept_pause.data = a;
  ev_io_start(loop, &a->accept_io);
  *out = a;
  return 0;
}

int qcc_admin_port(const struct qcc_admin *a) { return a->port; }

bool qcc_admin_is_loopback(const char *host) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

void qcc_admin_close(struct qcc_admin **ap) {
  if (ap == NULL || *ap == NULL) return;
  struct qcc_admin *a = *ap;
  ev_io_stop(a->loop, &a->accept_io);
  ev_timer_stop(a->loop, &a->accept_pause);
  while (a->conns != NULL) conn_close(a->conns);
  close(a->fd);
  /* Only our own socket: a successor may already have bound a new one. */
  struct stat st;
  if (!a->tcp && lstat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino) unlink(a->path);
  free(a);
  *ap = NULL;
}

const char *qcc_admin_path(const struct qcc_admin *a) { return a->path; }
size_t qcc_admin_connections(const struct qcc_admin *a) { return a->conn_count; }

/* ---- request accessors and replies --------------------------------------- */

const char *qcc_admin_req_method(const struct qcc_admin_req *r) { return r->method; }
const char *qcc_admin_req_path(const struct qcc_admin_req *r) { return r->path; }

const char *qcc_admin_req_param(const struct qcc_admin_req *r, size_t i) {
  return i < r->param_count ? r->params[i] : NULL;
}

const char *qcc_admin_req_query(const struct qcc_admin_req *r, const char *name) {
  struct qcc_admin_req *w = (struct qcc_admin_req *)r; /* caches the decoded value */
  size_t nl = strlen(name);
  const char *s = r->query;
  while (*s != '\0') {
    size_t seg = strcspn(s, "&");
    const char *eq = memchr(s, '=', seg);
    size_t kl = eq != NULL ? (size_t)(eq - s) : seg;
    if (kl == nl && strncmp(s, name, nl) == 0) {
      free(w->qvalue);
      w->qvalue = eq != NULL ? decode(eq + 1, seg - kl - 1, true) : strdup("");
      return w->qvalue;
    }
    s += seg;
    if (*s == '&') s++;
  }
  return NULL;
}

const char *qcc_admin_req_body(const struct qcc_admin_req *r, size_t *len) {
  if (len != NULL) *len = r->body_len;
  return r->body;
}

bool qcc_admin_req_orphaned(const struct qcc_admin_req *r) {
  return r->conn == NULL && r->fn == NULL;
}

void qcc_admin_reply(struct qcc_admin_req *r, int status, const char *content_type,
                     const char *body, size_t len) {
  if (r == NULL) return;
  if (r->fn != NULL) {
    qcc_admin_reply_fn fn = r->fn;
    void *arg = r->fn_arg;
    req_free(r);
    fn(arg, status, content_type, body, len);
    return;
  }
  struct conn *c = r->conn;
  req_free(r);
  if (c == NULL) return; /* the client left while we worked */
  c->req = NULL;
  if (len > QCC_ADMIN_MAX_REPLY) {
    conn_send_error(c, 500, "reply too large", NULL);
    return;
  }
  conn_send(c, status, content_type, body, len, NULL);
}

void qcc_admin_reply_json(struct qcc_admin_req *r, int status, json_t *body) {
  char *s = body != NULL ? json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(body);
  if (s == NULL) {
    static const char oom[] = "{\"error\": \"out of memory\"}\n";
    qcc_admin_reply(r, 500, "application/json", oom, sizeof oom - 1);
    return;
  }
  size_t n = strlen(s);
  char *t = realloc(s, n + 2);
  if (t != NULL) {
    s = t;
    s[n++] = '\n';
    s[n] = '\0';
  }
  qcc_admin_reply(r, status, "application/json", s, n);
  free(s);
}

void qcc_admin_reply_error(struct qcc_admin_req *r, int status, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  qcc_admin_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

int qcc_admin_invoke(const struct qcc_admin_route *routes, size_t route_count, void *ctx,
                   const char *method, const char *path, const char *body, size_t body_len,
                   qcc_admin_reply_fn fn, void *arg) {
  struct qcc_admin_req *r = calloc(1, sizeof *r);
  if (r == NULL) return -1;
  snprintf(r->method, sizeof r->method, "%s", method);
  r->path = strdup(path);
  r->query = strdup("");
  r->body = malloc(body_len + 1);
  if (r->path == NULL || r->query == NULL || r->body == NULL) {
    req_free(r);
    return -1;
  }
  if (body_len > 0) memcpy(r->body, body, body_len);
  r->body[body_len] = '\0';
  r->body_len = body_len;
  for (size_t i = 0; i < route_count; i++) {
    const struct qcc_admin_route *rt = &routes[i];
    if (strcmp(rt->method, r->method) != 0) continue;
    int m = match(rt->pattern, r->path, r);
    if (m < 0) break;
    if (m == 0) continue;
    r->fn = fn;
    r->fn_arg = arg;
    rt->fn(r, ctx); /* replies now or later, through FN */
    return 0;
  }
  req_free(r);
  return -1;
}
