#include "sse.h"

#include <string.h>

enum {
  ST_LINE = 0, /* at the start of a line */
  ST_FIELD,    /* reading a field name */
  ST_VSTART,   /* just after the colon: one space may be dropped */
  ST_EVENT,    /* reading the value of `event:` */
  ST_DATA,     /* reading the value of `data:` */
  ST_SKIP,     /* a comment or an ignored field: up to the line end */
};

void qcc_sse_init(struct qcc_sse *s) { memset(s, 0, sizeof *s); }

static void event_clear(struct qcc_sse *s) {
  s->has_field = false;
  s->name_len = 0;
  s->name[0] = '\0';
  s->name_cut = false;
  s->data_len = 0;
  s->data[0] = '\0';
  s->data_cut = false;
  s->data_line = false;
}

static bool field_is(const struct qcc_sse *s, const char *name, unsigned len) {
  return s->field_len == len && memcmp(s->field, name, len) == 0;
}

static void data_put(struct qcc_sse *s, char c) {
  if (s->data_len < QCC_SSE_DATA_MAX) {
    s->data[s->data_len++] = c;
    s->data[s->data_len] = '\0';
  } else {
    s->data_cut = true;
  }
}

/* The field name is complete (a colon, or the line ended without one):
 * start its value. */
static int value_begin(struct qcc_sse *s) {
  if (field_is(s, "event", 5)) {
    s->has_field = true;
    s->name_len = 0;
    s->name[0] = '\0';
    s->name_cut = false;
    return ST_EVENT;
  }
  if (field_is(s, "data", 4)) {
    s->has_field = true;
    if (s->data_line) data_put(s, '\n');
    s->data_line = true;
    return ST_DATA;
  }
  return ST_SKIP;
}

/* A line ended. True when it was the blank line that ends an event. */
static bool line_end(struct qcc_sse *s) {
  int st = s->state;
  s->state = ST_LINE;
  /* "data" or "data:" alone: an empty data line */
  if (st == ST_FIELD || st == ST_VSTART) (void)value_begin(s);
  return st == ST_LINE && s->has_field;
}

/* The first CR or LF in P[0..N), or N: the rest of a value is copied (or
 * skipped) in one step, not byte by byte. */
static size_t value_run(const char *p, size_t n) {
  const char *lf = memchr(p, '\n', n);
  size_t end = lf != NULL ? (size_t)(lf - p) : n;
  const char *cr = memchr(p, '\r', end);
  return cr != NULL ? (size_t)(cr - p) : end;
}

static void name_put_n(struct qcc_sse *s, const char *p, size_t n) {
  size_t room = QCC_SSE_NAME_MAX - s->name_len;
  if (n > room) {
    s->name_cut = true;
    n = room;
  }
  memcpy(s->name + s->name_len, p, n);
  s->name_len += n;
  s->name[s->name_len] = '\0';
}

static void data_put_n(struct qcc_sse *s, const char *p, size_t n) {
  size_t room = QCC_SSE_DATA_MAX - s->data_len;
  if (n > room) {
    s->data_cut = true;
    n = room;
  }
  memcpy(s->data + s->data_len, p, n);
  s->data_len += n;
  s->data[s->data_len] = '\0';
}

enum qcc_sse_status qcc_sse_feed(struct qcc_sse *s, const char *in, size_t len, size_t *used) {
  size_t i = 0;
  while (i < len) {
    char c = in[i];
    if (s->dispatched) {
      /* the caller has read the last event: the next one starts empty */
      s->dispatched = false;
      event_clear(s);
    }
    if (s->after_cr) {
      s->after_cr = false;
      if (c == '\n') { /* the LF of a CRLF */
        i++;
        continue;
      }
    }
    if (c == '\r' || c == '\n') {
      s->after_cr = c == '\r';
      i++;
      if (line_end(s)) {
        s->events++;
        s->dispatched = true;
        *used = i;
        return QCC_SSE_EVENT;
      }
      continue;
    }
    switch (s->state) {
    case ST_LINE:
      if (c == ':') {
        s->state = ST_SKIP;
        i++;
        break;
      }
      s->field_len = 0;
      s->state = ST_FIELD;
      break; /* the same byte, as a field name's first */
    case ST_FIELD:
      if (c == ':') {
        s->state = ST_VSTART;
      } else if (s->field_len < QCC_SSE_FIELD_MAX) {
        s->field[s->field_len++] = c;
      } else {
        s->field_len = QCC_SSE_FIELD_MAX + 1; /* no field we know is this long */
        s->state = ST_SKIP;
      }
      i++;
      break;
    case ST_VSTART:
      s->state = value_begin(s);
      if (c == ' ') i++;
      break;
    default: {
      size_t n = value_run(in + i, len - i);
      if (s->state == ST_EVENT) name_put_n(s, in + i, n);
      else if (s->state == ST_DATA) data_put_n(s, in + i, n);
      i += n;
      break;
    }
    }
  }
  *used = len;
  return QCC_SSE_MORE;
}

bool qcc_sse_is(const struct qcc_sse *s, const char *name) {
  size_t n = strlen(name);
  return !s->name_cut && s->name_len == n && memcmp(s->name, name, n) == 0;
}
