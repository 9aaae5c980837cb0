#include "sample.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

static char text[8][8][64];
static unsigned slot_next;

static const char *txt(unsigned slot, unsigned k, const char *fmt, unsigned i) {
  snprintf(text[slot][k], sizeof text[slot][k], fmt, i);
  return text[slot][k];
}

void sample_record(uint16_t type, unsigned i, struct qcc_jrec *r) {
  unsigned s = slot_next++ % 8;
  memset(r, 0, sizeof *r);
  r->type = type;
  r->time_ms = 1764131585000 + (int64_t)i * 1000;
  struct qcc_jep ep = {0x1000 + i, txt(s, 0, "ep-%u", i % 7), 0x5eed0000ull + i};
  switch (type) {
  case QCC_JT_STARTUP:
    r->u.startup = (struct qcc_jrec_startup){4242 + i, txt(s, 1, "0.1.%u", i), 7 + i, i % 3, i * 3};
    break;
  case QCC_JT_SHUTDOWN:
    r->u.shutdown = (struct qcc_jrec_shutdown){(uint8_t)(i & 1), txt(s, 1, "SIGTERM %u", i)};
    break;
  case QCC_JT_HEALTH_CHECK:
    r->u.health_check = (struct qcc_jrec_health_check){ep, (uint8_t)(i & 1), (uint16_t)(200 + i % 400),
                                                       1000 * i + 17, txt(s, 1, "timeout #%u", i)};
    break;
  case QCC_JT_HEALTH_STATUS:
    r->u.health_status = (struct qcc_jrec_health_status){ep, i % 4, (i + 1) % 4, (uint8_t)(i % 101),
                                                         txt(s, 1, "3 failures (%u)", i)};
    break;
  case QCC_JT_BREAKER:
    r->u.breaker = (struct qcc_jrec_breaker){ep, i % 3, (i + 1) % 3, i % 9, r->time_ms + 30000};
    break;
  case QCC_JT_GROUP_SWITCH:
    r->u.group_switch = (struct qcc_jrec_group_switch){txt(s, 1, "prof-%u", i), i % 3,
                                                       txt(s, 2, "prof-%u", i + 1), (i + 1) % 3,
                                                       txt(s, 3, "failover %u", i)};
    break;
  case QCC_JT_OVERRIDE:
    r->u.override = (struct qcc_jrec_override){i % 4, ep, txt(s, 1, "maintenance %u", i)};
    break;
  case QCC_JT_TABLE_SWAP:
    r->u.table_swap = (struct qcc_jrec_table_swap){i, i + 1, (uint8_t)(i & 1), txt(s, 1, "bad checksum %u", i)};
    break;
  case QCC_JT_QUEUE_ENQUEUED:
    r->u.queue_enqueued = (struct qcc_jrec_queue_enqueued){90000 + i, i % 5, 0xfeedface00000000ull | i,
                                                           txt(s, 1, "claude-%u", i)};
    break;
  case QCC_JT_QUEUE_RETRIED:
    r->u.queue_retried = (struct qcc_jrec_queue_retried){90000 + i, i % 6, ep, txt(s, 1, "HTTP 529 #%u", i)};
    break;
  case QCC_JT_QUEUE_SUCCEEDED:
    r->u.queue_succeeded = (struct qcc_jrec_queue_succeeded){90000 + i, 1 + i % 4, ep};
    break;
  case QCC_JT_QUEUE_DEAD_LETTER: {
    struct qcc_jrec_queue_dead_letter *d = &r->u.queue_dead_letter;
    d->request_id = 90000 + i;
    d->body_hash = 0xabcdef0123456789ull ^ i;
    d->tried.count = (uint16_t)(i % 4);
    for (unsigned k = 0; k < d->tried.count; k++) {
      d->tried.item[k].endpoint = (struct qcc_jep){0x2000 + k, txt(s, 2 + k, "ep-%u", k), 0x77 + k};
      d->tried.item[k].http_status = (uint16_t)(500 + k);
      d->tried.item[k].reason = k % 2 ? "timeout" : "HTTP 503";
    }
    d->reason = txt(s, 1, "max retries %u", i);
    break;
  }
  case QCC_JT_QUEUE_CLEARED:
    r->u.queue_cleared = (struct qcc_jrec_queue_cleared){i, txt(s, 1, "clear %u", i)};
    break;
  case QCC_JT_STATE_SNAPSHOT:
    r->u.state_snapshot = (struct qcc_jrec_state_snapshot){i, i * 2, i * 100};
    break;
  case QCC_JT_KEY_REJECTED:
    r->u.key_rejected = (struct qcc_jrec_key_rejected){ep, (uint16_t)(401 + (i & 1) * 2),
                                                       txt(s, 1, "HTTP 401 #%u", i)};
    break;
  case QCC_JT_ENDPOINT_REST:
    r->u.endpoint_rest = (struct qcc_jrec_endpoint_rest){ep, r->time_ms + 1000 * (i + 1),
                                                         (uint8_t)(i & 1), txt(s, 1, "resting %u s", i)};
    break;
  case QCC_JT_ENDPOINT_RESET:
    r->u.endpoint_reset = (struct qcc_jrec_endpoint_reset){ep, txt(s, 1, "key changed %u", i)};
    break;
  }
}

void sample_mixed(unsigned i, struct qcc_jrec *out) {
  /* Types 1..13: everything but state_snapshot. */
  sample_record((uint16_t)(1 + i % 13), i, out);
}

static bool str_eq(const char *a, const char *b) {
  return strcmp(a ? a : "", b ? b : "") == 0;
}

bool records_equal(const struct qcc_jrec *a, const struct qcc_jrec *b, char *why, size_t cap) {
  if (a->type != b->type || a->flags != b->flags || a->time_ms != b->time_ms) {
    snprintf(why, cap, "envelope differs (type %u/%u flags %u/%u time %lld/%lld)", a->type, b->type,
             a->flags, b->flags, (long long)a->time_ms, (long long)b->time_ms);
    return false;
  }
  const struct qcc_jtype_info *t = qcc_journal_type(a->type);
  for (size_t i = 0; t != NULL && i < t->field_count; i++) {
    const struct qcc_jfield *f = &t->fields[i];
    const void *x = qcc_journal_field_ptr(a, f), *y = qcc_journal_field_ptr(b, f);
    bool eq = true;
    switch (f->kind) {
    case QCC_JK_BOOL: eq = (!*(const uint8_t *)x) == (!*(const uint8_t *)y); break;
    case QCC_JK_U8:
    case QCC_JK_ENUM: eq = *(const uint8_t *)x == *(const uint8_t *)y; break;
    case QCC_JK_U16: eq = *(const uint16_t *)x == *(const uint16_t *)y; break;
    case QCC_JK_U32: eq = *(const uint32_t *)x == *(const uint32_t *)y; break;
    case QCC_JK_U64:
    case QCC_JK_HASH: eq = *(const uint64_t *)x == *(const uint64_t *)y; break;
    case QCC_JK_TIME: eq = *(const int64_t *)x == *(const int64_t *)y; break;
    case QCC_JK_STR: eq = str_eq(*(const char *const *)x, *(const char *const *)y); break;
    case QCC_JK_EP: {
      const struct qcc_jep *p = x, *q = y;
      eq = p->sid == q->sid && p->identity == q->identity && str_eq(p->id, q->id);
      break;
    }
    case QCC_JK_ATTEMPTS: {
      const struct qcc_jattempts *p = x, *q = y;
      eq = p->count == q->count;
      for (unsigned k = 0; eq && k < p->count; k++)
        eq = p->item[k].endpoint.sid == q->item[k].endpoint.sid &&
             str_eq(p->item[k].endpoint.id, q->item[k].endpoint.id) &&
             p->item[k].http_status == q->item[k].http_status &&
             str_eq(p->item[k].reason, q->item[k].reason);
      break;
    }
    case QCC_JK_COUNT: break;
    }
    if (!eq) {
      snprintf(why, cap, "%s.%s differs", t->name, f->name);
      return false;
    }
  }
  return true;
}

void make_temp_dir(char *out, size_t cap) {
  snprintf(out, cap, "/tmp/qcc-journal-test-XXXXXX");
  cr_assert_not_null(mkdtemp(out), "mkdtemp");
}

static void remove_tree(const char *dir, int depth) {
  DIR *d = opendir(dir);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 3)
      remove_tree(p, depth + 1);
    else
      unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

void remove_temp_dir(const char *dir) {
  if (strncmp(dir, "/tmp/qcc-journal-test-", 22) == 0) remove_tree(dir, 0);
}

uint8_t *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
  if (p != NULL && n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  fclose(f);
  *len = (size_t)(n > 0 ? n : 0);
  return p;
}

int write_whole(const char *path, const uint8_t *p, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  size_t w = fwrite(p, 1, len, f);
  return fclose(f) == 0 && w == len ? 0 : -1;
}

uint8_t *build_image(unsigned n, size_t *len, size_t *ends) {
  size_t cap = QCC_JOURNAL_HEADER_SIZE + (size_t)n * 1024;
  uint8_t *img = malloc(cap);
  cr_assert_not_null(img);
  qcc_journal_header_encode(img, 1764131585000);
  size_t off = QCC_JOURNAL_HEADER_SIZE;
  for (unsigned i = 0; i < n; i++) {
    struct qcc_jrec r;
    size_t rl;
    struct qcc_err err = {0};
    sample_mixed(i, &r);
    cr_assert_eq(qcc_journal_encode(&r, img + off, cap - off, &rl, &err), 0, "%s", err.msg);
    off += rl;
    if (ends != NULL) ends[i] = off;
  }
  *len = off;
  return img;
}
