#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

/* ---- value enums ---- */
#define NAME_(c, s, v) [v] = s,
static const char *const jhealth_names[] = {QCC_JHEALTH_LIST(NAME_)};
static const char *const jbreaker_names[] = {QCC_JBREAKER_LIST(NAME_)};
static const char *const joverride_names[] = {QCC_JOVERRIDE_LIST(NAME_)};
#undef NAME_
const struct qcc_enum_desc qcc_jhealth_desc = {"health status", jhealth_names, QCC_JHEALTH_COUNT};
const struct qcc_enum_desc qcc_jbreaker_desc = {"breaker state", jbreaker_names, QCC_JBREAKER_COUNT};
const struct qcc_enum_desc qcc_joverride_desc = {"override kind", joverride_names,
                                                 QCC_JOVERRIDE_COUNT};

/* ---- descriptors ---- */
#define FIELD_DESC_(k, f, vals, doc) {#f, QCC_JK_##k, offsetof(struct CUR_TYPE_, f), vals, doc},

/* One field array per type; CUR_TYPE_ is redefined around each expansion. */
#define CUR_TYPE_ qcc_jrec_startup
static const struct qcc_jfield f_startup[] = {QCC_JF_startup(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_shutdown
static const struct qcc_jfield f_shutdown[] = {QCC_JF_shutdown(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_health_check
static const struct qcc_jfield f_health_check[] = {QCC_JF_health_check(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_health_status
static const struct qcc_jfield f_health_status[] = {QCC_JF_health_status(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_breaker
static const struct qcc_jfield f_breaker[] = {QCC_JF_breaker(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_group_switch
static const struct qcc_jfield f_group_switch[] = {QCC_JF_group_switch(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_override
static const struct qcc_jfield f_override[] = {QCC_JF_override(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_table_swap
static const struct qcc_jfield f_table_swap[] = {QCC_JF_table_swap(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_queue_enqueued
static const struct qcc_jfield f_queue_enqueued[] = {QCC_JF_queue_enqueued(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_queue_retried
static const struct qcc_jfield f_queue_retried[] = {QCC_JF_queue_retried(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_queue_succeeded
static const struct qcc_jfield f_queue_succeeded[] = {QCC_JF_queue_succeeded(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_queue_dead_letter
static const struct qcc_jfield f_queue_dead_letter[] = {QCC_JF_queue_dead_letter(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_queue_cleared
static const struct qcc_jfield f_queue_cleared[] = {QCC_JF_queue_cleared(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_state_snapshot
static const struct qcc_jfield f_state_snapshot[] = {QCC_JF_state_snapshot(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_key_rejected
static const struct qcc_jfield f_key_rejected[] = {QCC_JF_key_rejected(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_endpoint_rest
static const struct qcc_jfield f_endpoint_rest[] = {QCC_JF_endpoint_rest(FIELD_DESC_)};
#undef CUR_TYPE_
#define CUR_TYPE_ qcc_jrec_endpoint_reset
static const struct qcc_jfield f_endpoint_reset[] = {QCC_JF_endpoint_reset(FIELD_DESC_)};
#undef CUR_TYPE_

/* A type added to QCC_JOURNAL_TYPES without its f_ array above fails here. */
#define TYPE_INFO_(C, n, id, doc) {id, #n, doc, f_##n, sizeof f_##n / sizeof f_##n[0]},
const struct qcc_jtype_info qcc_jtypes[] = {QCC_JOURNAL_TYPES(TYPE_INFO_)};
#undef TYPE_INFO_
const size_t qcc_jtype_count = sizeof qcc_jtypes / sizeof qcc_jtypes[0];

const struct qcc_jtype_info *qcc_journal_type(uint16_t id) {
  for (size_t i = 0; i < qcc_jtype_count; i++)
    if (qcc_jtypes[i].id == id) return &qcc_jtypes[i];
  return NULL;
}

const struct qcc_jtype_info *qcc_journal_type_by_name(const char *name) {
  for (size_t i = 0; i < qcc_jtype_count; i++)
    if (strcmp(qcc_jtypes[i].name, name) == 0) return &qcc_jtypes[i];
  return NULL;
}

#define KIND_NAME_(k, ct, nm, enc) [QCC_JK_##k] = nm,
static const char *const kind_names[] = {QCC_JKIND_LIST(KIND_NAME_)};
#undef KIND_NAME_

const char *qcc_journal_kind_name(enum qcc_jkind k) {
  return (unsigned)k < QCC_JK_COUNT ? kind_names[k] : "?";
}

void qcc_journal_type_layout(const struct qcc_jtype_info *t, char *buf, size_t cap) {
  size_t used = 0;
  if (cap == 0) return;
  buf[0] = '\0';
  for (size_t i = 0; i < t->field_count && used < cap; i++) {
    int n = snprintf(buf + used, cap - used, "%s%s %s", i ? ", " : "", t->fields[i].name,
                     qcc_journal_kind_name(t->fields[i].kind));
    if (n < 0) return;
    used += (size_t)n;
  }
}

const void *qcc_journal_field_ptr(const struct qcc_jrec *r, const struct qcc_jfield *f) {
  return (const char *)&r->u + f->offset;
}

/* ---- little-endian helpers ---- */
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

void qcc_journal_header_encode(uint8_t out[QCC_JOURNAL_HEADER_SIZE], int64_t created_ms) {
  memset(out, 0, QCC_JOURNAL_HEADER_SIZE);
  memcpy(out + QCC_JOURNAL_HDR_MAGIC, QCC_JOURNAL_MAGIC, QCC_JOURNAL_MAGIC_LEN);
  put32(out + QCC_JOURNAL_HDR_BYTE_ORDER, QCC_JOURNAL_BYTE_ORDER);
  put16(out + QCC_JOURNAL_HDR_MAJOR, QCC_JOURNAL_MAJOR);
  put16(out + QCC_JOURNAL_HDR_MINOR, QCC_JOURNAL_MINOR);
  put64(out + QCC_JOURNAL_HDR_CREATED, (uint64_t)created_ms);
  put64(out + QCC_JOURNAL_HDR_CHECKSUM, XXH3_64bits(out, QCC_JOURNAL_HDR_CHECKSUM));
}

/* ---- encoding ---- */
struct wbuf {
  uint8_t *p;
  size_t cap, len;
  bool overflow;
};

static void w_bytes(struct wbuf *w, const void *src, size_t n) {
  if (w->overflow || w->cap - w->len < n) {
    w->overflow = true;
    return;
  }
  memcpy(w->p + w->len, src, n);
  w->len += n;
}
static void w_u8(struct wbuf *w, uint8_t v) { w_bytes(w, &v, 1); }
static void w_u16(struct wbuf *w, uint16_t v) {
  uint8_t b[2];
  put16(b, v);
  w_bytes(w, b, 2);
}
static void w_u32(struct wbuf *w, uint32_t v) {
  uint8_t b[4];
  put32(b, v);
  w_bytes(w, b, 4);
}
static void w_u64(struct wbuf *w, uint64_t v) {
  uint8_t b[8];
  put64(b, v);
  w_bytes(w, b, 8);
}

/* Cut text to the cap without splitting a UTF-8 sequence; stop at a NUL. */
static void w_str(struct wbuf *w, const char *s) {
  size_t n = 0;
  if (s != NULL) {
    while (n < QCC_JOURNAL_MAX_TEXT && s[n] != '\0') n++;
    if (n == QCC_JOURNAL_MAX_TEXT && s[n] != '\0')
      while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  }
  w_u16(w, (uint16_t)n);
  w_bytes(w, s != NULL ? s : "", n);
  w_u8(w, 0);
}

static void w_ep(struct wbuf *w, const struct qcc_jep *e) {
  w_u64(w, e->sid);
  w_u64(w, e->identity);
  w_str(w, e->id);
}

static int encode_field(struct wbuf *w, const struct qcc_jfield *f, const void *v,
                        struct qcc_err *err) {
  switch (f->kind) {
  case QCC_JK_BOOL:
    w_u8(w, *(const uint8_t *)v ? 1 : 0);
    break;
  case QCC_JK_U8:
  case QCC_JK_ENUM:
    w_u8(w, *(const uint8_t *)v);
    break;
  case QCC_JK_U16:
    w_u16(w, *(const uint16_t *)v);
    break;
  case QCC_JK_U32:
    w_u32(w, *(const uint32_t *)v);
    break;
  case QCC_JK_U64:
  case QCC_JK_HASH:
    w_u64(w, *(const uint64_t *)v);
    break;
  case QCC_JK_TIME:
    w_u64(w, (uint64_t) * (const int64_t *)v);
    break;
  case QCC_JK_STR:
    w_str(w, *(const char *const *)v);
    break;
  case QCC_JK_EP:
    w_ep(w, v);
    break;
  case QCC_JK_ATTEMPTS: {
    const struct qcc_jattempts *a = v;
    if (a->count > QCC_JOURNAL_MAX_ATTEMPTS)
      return qcc_err_set(err, EINVAL, "journal: %u attempts in field %s (at most %d)",
                         (unsigned)a->count, f->name, QCC_JOURNAL_MAX_ATTEMPTS);
    w_u16(w, a->count);
    for (unsigned i = 0; i < a->count; i++) {
      w_ep(w, &a->item[i].endpoint);
      w_u16(w, a->item[i].http_status);
      w_str(w, a->item[i].reason);
    }
    break;
  }
  case QCC_JK_COUNT:
    break;
  }
  return 0;
}

int qcc_journal_encode(const struct qcc_jrec *r, uint8_t *buf, size_t cap, size_t *len,
                       struct qcc_err *err) {
  const struct qcc_jtype_info *t = qcc_journal_type(r->type);
  if (t == NULL) return qcc_err_set(err, EINVAL, "journal: unknown record type %u", r->type);
  if (cap < QCC_JOURNAL_REC_PAYLOAD + QCC_JOURNAL_REC_TRAILER)
    return qcc_err_set(err, ENOSPC, "journal: no room for a %s record", t->name);
  struct wbuf w = {buf + QCC_JOURNAL_REC_PAYLOAD, cap - QCC_JOURNAL_REC_PAYLOAD - QCC_JOURNAL_REC_TRAILER,
                   0, false};
  for (size_t i = 0; i < t->field_count; i++)
    if (encode_field(&w, &t->fields[i], qcc_journal_field_ptr(r, &t->fields[i]), err) != 0)
      return -1;
  size_t padded = (w.len + 7u) & ~(size_t)7u;
  if (w.overflow || padded > w.cap || w.len > QCC_JOURNAL_MAX_PAYLOAD)
    return qcc_err_set(err, ENOSPC, "journal: no room for a %s record", t->name);
  memset(buf + QCC_JOURNAL_REC_PAYLOAD + w.len, 0, padded - w.len);
  put32(buf + QCC_JOURNAL_REC_LEN, (uint32_t)w.len);
  put16(buf + QCC_JOURNAL_REC_TYPE, r->type);
  put16(buf + QCC_JOURNAL_REC_FLAGS, r->flags);
  put64(buf + QCC_JOURNAL_REC_TIME, (uint64_t)r->time_ms);
  size_t body = QCC_JOURNAL_REC_PAYLOAD + padded;
  put64(buf + body, XXH3_64bits(buf, body));
  *len = body + QCC_JOURNAL_REC_TRAILER;
  return 0;
}

/* ---- scanning ---- */
const char *qcc_jscan_status_name(enum qcc_jscan_status s) {
  switch (s) {
  case QCC_JSCAN_OK: return "clean";
  case QCC_JSCAN_EMPTY: return "empty";
  case QCC_JSCAN_TORN_TAIL: return "torn_tail";
  case QCC_JSCAN_CORRUPT: return "corrupt";
  case QCC_JSCAN_NOT_JOURNAL: return "not_a_journal";
  case QCC_JSCAN_BAD_VERSION: return "unsupported_version";
  case QCC_JSCAN_BAD_HEADER: return "bad_header";
  }
  return "?";
}

/* Frame check of the record at off: 0 = good (raw filled), 1 = runs past the
 * end, -1 = bad (impossible header or checksum mismatch). */
static int frame_at(const uint8_t *buf, size_t len, size_t off, struct qcc_jraw *raw,
                    const char **why) {
  if (off > len || len - off < QCC_JOURNAL_REC_PAYLOAD) {
    *why = "incomplete record header";
    return 1;
  }
  const uint8_t *p = buf + off;
  uint32_t plen = get32(p + QCC_JOURNAL_REC_LEN);
  uint16_t type = get16(p + QCC_JOURNAL_REC_TYPE);
  if (plen > QCC_JOURNAL_MAX_PAYLOAD) {
    *why = "record length out of range";
    return -1;
  }
  if (type == 0) {
    *why = "record type 0";
    return -1;
  }
  size_t size = qcc_journal_record_size(plen);
  if (len - off < size) {
    *why = "incomplete record";
    return 1;
  }
  size_t body = size - QCC_JOURNAL_REC_TRAILER;
  if (XXH3_64bits(p, body) != get64(p + body)) {
    *why = "record checksum mismatch";
    return -1;
  }
  raw->offset = off;
  raw->type = type;
  raw->flags = get16(p + QCC_JOURNAL_REC_FLAGS);
  raw->time_ms = (int64_t)get64(p + QCC_JOURNAL_REC_TIME);
  raw->payload = p + QCC_JOURNAL_REC_PAYLOAD;
  raw->payload_len = plen;
  raw->size = (uint32_t)size;
  return 0;
}

/* Is there any good record at an aligned offset after off? That decides torn
 * tail (nothing good follows: the last write was cut) from corruption in the
 * middle (good data follows, so truncating would lose it). */
static bool resync(const uint8_t *buf, size_t len, size_t off, size_t *found) {
  struct qcc_jraw raw;
  const char *why;
  for (size_t q = off + QCC_JOURNAL_ALIGN; q < len && len - q >= QCC_JOURNAL_REC_PAYLOAD +
                                                                     QCC_JOURNAL_REC_TRAILER;
       q += QCC_JOURNAL_ALIGN) {
    if (frame_at(buf, len, q, &raw, &why) == 0) {
      *found = q;
      return true;
    }
  }
  return false;
}

static int scan_fail(struct qcc_jscan_result *res, enum qcc_jscan_status st, const char *fmt,
                     const char *what) {
  res->status = st;
  snprintf(res->why, sizeof res->why, fmt, what);
  return -1;
}

int qcc_journal_scan(const uint8_t *buf, size_t len, qcc_jscan_fn cb, void *ud,
                     struct qcc_jscan_result *res) {
  return qcc_journal_scan_framed(buf, len, QCC_JOURNAL_MAGIC, QCC_JOURNAL_MAJOR, cb, ud, res);
}

int qcc_journal_scan_framed(const uint8_t *buf, size_t len, const char *magic, uint16_t major,
                            qcc_jscan_fn cb, void *ud, struct qcc_jscan_result *res) {
  memset(res, 0, sizeof *res);
  res->size = len;
  if (len == 0) {
    res->status = QCC_JSCAN_EMPTY;
    return 0;
  }
  /* A header cut short by a crash while creating: treat as torn at 0 if what
   * is there is a prefix of our magic, else it is somebody else's file. */
  size_t cmp = len < QCC_JOURNAL_MAGIC_LEN ? len : QCC_JOURNAL_MAGIC_LEN;
  if (memcmp(buf, magic, cmp) != 0)
    return scan_fail(res, QCC_JSCAN_NOT_JOURNAL, "%s", "not a qcc journal (bad magic)");
  if (len < QCC_JOURNAL_HEADER_SIZE) {
    res->bad_offset = 0;
    return scan_fail(res, QCC_JSCAN_TORN_TAIL, "%s", "incomplete file header");
  }
  uint32_t bo = get32(buf + QCC_JOURNAL_HDR_BYTE_ORDER);
  if (bo != QCC_JOURNAL_BYTE_ORDER)
    return scan_fail(res, QCC_JSCAN_NOT_JOURNAL, "%s", "not a qcc journal (byte order mark)");
  if (XXH3_64bits(buf, QCC_JOURNAL_HDR_CHECKSUM) != get64(buf + QCC_JOURNAL_HDR_CHECKSUM))
    return scan_fail(res, QCC_JSCAN_BAD_HEADER, "%s", "file header checksum mismatch");
  res->major = get16(buf + QCC_JOURNAL_HDR_MAJOR);
  res->minor = get16(buf + QCC_JOURNAL_HDR_MINOR);
  res->created_ms = (int64_t)get64(buf + QCC_JOURNAL_HDR_CREATED);
  if (res->major != major) {
    res->status = QCC_JSCAN_BAD_VERSION;
    snprintf(res->why, sizeof res->why, "format %u.%u, this build reads %u.x", res->major,
             res->minor, major);
    return -1;
  }
  size_t off = QCC_JOURNAL_HEADER_SIZE;
  res->ok_up_to = off;
  while (off < len) {
    struct qcc_jraw raw;
    const char *why = "";
    int fr = frame_at(buf, len, off, &raw, &why);
    if (fr != 0) {
      size_t next;
      res->bad_offset = off;
      if (resync(buf, len, off, &next)) {
        res->resync_offset = next;
        res->status = QCC_JSCAN_CORRUPT;
        snprintf(res->why, sizeof res->why, "%s at offset %zu, good records resume at %zu", why,
                 off, next);
      } else {
        res->status = QCC_JSCAN_TORN_TAIL;
        snprintf(res->why, sizeof res->why, "%s at offset %zu (torn tail, %zu bytes)", why, off,
                 len - off);
      }
      return -1;
    }
    if (cb != NULL && cb(&raw, ud) != 0) {
      res->stopped = true;
      res->records++;
      res->ok_up_to = off + raw.size;
      return 0;
    }
    off += raw.size;
    res->records++;
    res->ok_up_to = off;
  }
  res->status = QCC_JSCAN_OK;
  return 0;
}

int qcc_journal_scan_file(const char *path, qcc_jscan_fn cb, void *ud,
                          struct qcc_jscan_result *res, struct qcc_err *err) {
  memset(res, 0, sizeof *res);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      res->status = QCC_JSCAN_EMPTY;
      return 0;
    }
    return qcc_err_set(err, errno, "cannot open %s: %s", path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return qcc_err_set(err, e, "cannot stat %s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return qcc_err_set(err, EINVAL, "%s is not a regular file", path);
  }
  size_t len = (size_t)st.st_size;
  if (len == 0) {
    close(fd);
    return qcc_journal_scan(NULL, 0, cb, ud, res), 0;
  }
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED) return qcc_err_set(err, e, "cannot map %s: %s", path, strerror(e));
  qcc_journal_scan(map, len, cb, ud, res);
  munmap(map, len);
  return 0;
}

/* ---- decoding ---- */
struct rbuf {
  const uint8_t *p;
  size_t len, off;
  bool bad;
};

static const uint8_t *r_take(struct rbuf *r, size_t n) {
  if (r->bad || r->off > r->len || r->len - r->off < n) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p + r->off;
  r->off += n;
  return p;
}
static uint8_t r_u8(struct rbuf *r) {
  const uint8_t *p = r_take(r, 1);
  return p ? p[0] : 0;
}
static uint16_t r_u16(struct rbuf *r) {
  const uint8_t *p = r_take(r, 2);
  return p ? get16(p) : 0;
}
static uint32_t r_u32(struct rbuf *r) {
  const uint8_t *p = r_take(r, 4);
  return p ? get32(p) : 0;
}
static uint64_t r_u64(struct rbuf *r) {
  const uint8_t *p = r_take(r, 8);
  return p ? get64(p) : 0;
}
static const char *r_str(struct rbuf *r) {
  uint16_t n = r_u16(r);
  const uint8_t *p = r_take(r, (size_t)n + 1);
  if (p == NULL || n > QCC_JOURNAL_MAX_TEXT || p[n] != 0 || memchr(p, 0, n) != NULL) {
    r->bad = true;
    return "";
  }
  return (const char *)p;
}
static void r_ep(struct rbuf *r, struct qcc_jep *e) {
  e->sid = r_u64(r);
  e->identity = r_u64(r);
  e->id = r_str(r);
}

int qcc_journal_decode(const struct qcc_jraw *raw, struct qcc_jrec *out, struct qcc_err *err) {
  memset(out, 0, sizeof *out);
  const struct qcc_jtype_info *t = qcc_journal_type(raw->type);
  if (t == NULL)
    return qcc_err_set(err, ENOENT, "record at offset %" PRIu64 ": unknown type %u", raw->offset,
                       raw->type);
  out->type = raw->type;
  out->flags = raw->flags;
  out->time_ms = raw->time_ms;
  struct rbuf r = {raw->payload, raw->payload_len, 0, false};
  for (size_t i = 0; i < t->field_count && !r.bad; i++) {
    const struct qcc_jfield *f = &t->fields[i];
    void *v = (char *)&out->u + f->offset;
    switch (f->kind) {
    case QCC_JK_BOOL:
    case QCC_JK_U8:
    case QCC_JK_ENUM:
      *(uint8_t *)v = r_u8(&r);
      break;
    case QCC_JK_U16:
      *(uint16_t *)v = r_u16(&r);
      break;
    case QCC_JK_U32:
      *(uint32_t *)v = r_u32(&r);
      break;
    case QCC_JK_U64:
    case QCC_JK_HASH:
      *(uint64_t *)v = r_u64(&r);
      break;
    case QCC_JK_TIME:
      *(int64_t *)v = (int64_t)r_u64(&r);
      break;
    case QCC_JK_STR:
      *(const char **)v = r_str(&r);
      break;
    case QCC_JK_EP:
      r_ep(&r, v);
      break;
    case QCC_JK_ATTEMPTS: {
      struct qcc_jattempts *a = v;
      a->count = r_u16(&r);
      if (a->count > QCC_JOURNAL_MAX_ATTEMPTS) {
        r.bad = true;
        a->count = 0;
        break;
      }
      for (unsigned k = 0; k < a->count; k++) {
        r_ep(&r, &a->item[k].endpoint);
        a->item[k].http_status = r_u16(&r);
        a->item[k].reason = r_str(&r);
      }
      break;
    }
    case QCC_JK_COUNT:
      break;
    }
  }
  if (r.bad) {
    /* Leave no dangling half-filled strings behind for a careless caller. */
    memset(&out->u, 0, sizeof out->u);
    return qcc_err_set(err, EINVAL, "record at offset %" PRIu64 ": malformed %s payload",
                       raw->offset, t->name);
  }
  return 0;
}

/* ---- formatting ---- */
int64_t qcc_journal_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qcc_journal_iso_time(int64_t ms, char *buf, size_t cap) {
  time_t s = (time_t)(ms / 1000);
  int frac = (int)(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    s -= 1;
  }
  struct tm tm;
  if (gmtime_r(&s, &tm) == NULL) {
    snprintf(buf, cap, "@%" PRId64, ms);
    return;
  }
  char d[32];
  strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, cap, "%s.%03dZ", d, frac);
}

void qcc_journal_printable(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  if (cap == 0) return;
  for (; src != NULL && src[n] != '\0' && n + 1 < cap; n++) {
    unsigned char c = (unsigned char)src[n];
    /* Journal text can come from upstream error messages: never let it
     * drive the operator's terminal. */
    dst[n] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
  }
  dst[n] = '\0';
}

void qcc_journal_format_field(const struct qcc_jrec *r, const struct qcc_jfield *f, char *buf,
                              size_t cap) {
  const void *v = qcc_journal_field_ptr(r, f);
  switch (f->kind) {
  case QCC_JK_BOOL:
    snprintf(buf, cap, "%s", *(const uint8_t *)v ? "true" : "false");
    break;
  case QCC_JK_U8:
    snprintf(buf, cap, "%u", *(const uint8_t *)v);
    break;
  case QCC_JK_ENUM:
    snprintf(buf, cap, "%s", qcc_enum_name(f->values, *(const uint8_t *)v));
    break;
  case QCC_JK_U16:
    snprintf(buf, cap, "%u", *(const uint16_t *)v);
    break;
  case QCC_JK_U32:
    snprintf(buf, cap, "%" PRIu32, *(const uint32_t *)v);
    break;
  case QCC_JK_U64:
    snprintf(buf, cap, "%" PRIu64, *(const uint64_t *)v);
    break;
  case QCC_JK_HASH:
    snprintf(buf, cap, "%016" PRIx64, *(const uint64_t *)v);
    break;
  case QCC_JK_TIME:
    if (*(const int64_t *)v == 0)
      snprintf(buf, cap, "-");
    else
      qcc_journal_iso_time(*(const int64_t *)v, buf, cap);
    break;
  case QCC_JK_STR:
    qcc_journal_printable(buf, cap, *(const char *const *)v);
    break;
  case QCC_JK_EP:
    qcc_journal_printable(buf, cap, ((const struct qcc_jep *)v)->id);
    break;
  case QCC_JK_ATTEMPTS: {
    const struct qcc_jattempts *a = v;
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < a->count && i < QCC_JOURNAL_MAX_ATTEMPTS && used < cap; i++) {
      const struct qcc_jattempt *t = &a->item[i];
      char id[QCC_JOURNAL_MAX_TEXT + 1], why[QCC_JOURNAL_MAX_TEXT + 1];
      qcc_journal_printable(id, sizeof id, t->endpoint.id);
      qcc_journal_printable(why, sizeof why, t->reason);
      int n = snprintf(buf + used, cap - used, "%s%s:%u:%s", i ? "," : "", id, t->http_status, why);
      if (n < 0) break;
      used += (size_t)n;
    }
    break;
  }
  case QCC_JK_COUNT:
    buf[0] = '\0';
    break;
  }
}

/* Quote values that would not survive `key=value` splitting. */
static bool needs_quotes(const char *s) {
  if (*s == '\0') return true;
  for (; *s; s++)
    if ((unsigned char)*s <= ' ' || *s == '"' || *s == '\\' || *s == '=') return true;
  return false;
}

void qcc_journal_format_fields(const struct qcc_jrec *r, char *buf, size_t cap) {
  const struct qcc_jtype_info *t = qcc_journal_type(r->type);
  size_t used = 0;
  if (cap == 0) return;
  buf[0] = '\0';
  if (t == NULL) return;
  for (size_t i = 0; i < t->field_count && used + 1 < cap; i++) {
    char v[QCC_JOURNAL_MAX_TEXT * 4 + 64];
    qcc_journal_format_field(r, &t->fields[i], v, sizeof v);
    int n;
    if (needs_quotes(v)) {
      char q[sizeof v * 2 + 3];
      size_t k = 0;
      q[k++] = '"';
      for (const char *s = v; *s && k + 3 < sizeof q; s++) {
        if (*s == '"' || *s == '\\') q[k++] = '\\';
        q[k++] = (unsigned char)*s < ' ' ? '?' : *s;
      }
      q[k++] = '"';
      q[k] = '\0';
      n = snprintf(buf + used, cap - used, "%s%s=%s", i ? " " : "", t->fields[i].name, q);
    } else {
      n = snprintf(buf + used, cap - used, "%s%s=%s", i ? " " : "", t->fields[i].name, v);
    }
    if (n < 0) return;
    used += (size_t)n;
  }
}
