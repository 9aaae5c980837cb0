/* kill -9 while writing: a child appends + flushes under `always` and
 * reports each acknowledged sequence number through a pipe; the parent
 * SIGKILLs it at a random moment, reopens the journal (recovery) and checks
 * that every acknowledged record is there. 30 rounds, bounded. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "runtime/journal_writer.h"
#include "sample.h"

#define ROUNDS 30
#define MAX_SEQ (ROUNDS * 100000u)

static char dir[256];

static void setup(void) { make_temp_dir(dir, sizeof dir); }
static void teardown(void) { remove_temp_dir(dir); }
TestSuite(journal_crash, .init = setup, .fini = teardown, .timeout = 240);

static int restate_nothing(struct qcc_journal *j, void *ud, struct qcc_err *err) {
  (void)ud;
  struct qcc_jrec r = {.type = QCC_JT_OVERRIDE};
  r.u.override = (struct qcc_jrec_override){QCC_JOVERRIDE_PIN, {0, "primary"}, "snapshot"};
  return qcc_journal_snapshot_add(j, &r, err);
}

/* The child: write until killed. Batches of 1-3 records per flush, acked
 * only after flush returned 0. */
static void child_main(int wfd, uint64_t first, bool compact) {
  struct qcc_journal *j = NULL;
  struct qcc_err err;
  for (int tries = 0; qcc_journal_open(dir, QCC_FSYNC_ALWAYS, &j, &err) != 0; tries++) {
    if (err.code != EBUSY || tries > 200) _exit(3);
    usleep(1000); /* the previous child's lock is released at its death */
  }
  if (compact) qcc_journal_set_compaction(j, 4 * 1024, 200000, restate_nothing, NULL);
  uint64_t seq = first;
  for (unsigned iter = 0; iter < 200000; iter++) {
    unsigned batch = 1 + iter % 3;
    for (unsigned b = 0; b < batch; b++) {
      struct qcc_jrec r = {.type = QCC_JT_QUEUE_ENQUEUED};
      r.u.queue_enqueued = (struct qcc_jrec_queue_enqueued){seq + b, b, seq * 31, "claude-kill-test"};
      if (qcc_journal_append(j, &r, &err) != 0) _exit(4);
    }
    if (qcc_journal_flush(j, &err) != 0) _exit(5);
    for (unsigned b = 0; b < batch; b++) {
      uint64_t s = seq + b;
      if (write(wfd, &s, sizeof s) != (ssize_t)sizeof s) _exit(6);
    }
    seq += batch;
  }
  _exit(0);
}

struct seen {
  uint8_t *present; /* by seq */
  uint64_t last, count, snapshots;
  bool in_order;
};

static int seen_cb(const struct qcc_jrec *r, uint64_t off, void *ud) {
  (void)off;
  struct seen *s = ud;
  if (r->type == QCC_JT_STATE_SNAPSHOT) s->snapshots++;
  if (r->type != QCC_JT_QUEUE_ENQUEUED) return 0;
  uint64_t id = r->u.queue_enqueued.request_id;
  if (id >= MAX_SEQ) return 0;
  if (s->present[id]) return 0; /* a copy kept by compaction's recent history */
  if (id < s->last) s->in_order = false;
  s->present[id] = 1;
  s->last = id;
  s->count++;
  return 0;
}

static void kill_rounds(bool compact, unsigned seed) {
  uint8_t *acked = calloc(MAX_SEQ, 1);
  uint64_t total_acked = 0, truncations = 0, compacted_rounds = 0;
  for (unsigned round = 0; round < ROUNDS; round++) {
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
      close(p[0]);
      child_main(p[1], (uint64_t)round * 100000u, compact);
    }
    close(p[1]);
    /* Wait (bounded) until the child is writing, so every round kills it
     * mid-stream rather than during startup; then a random moment 0-40 ms
     * later. */
    struct pollfd pfd = {p[0], POLLIN, 0};
    cr_assert_eq(poll(&pfd, 1, 10000), 1, "round %u: the child never acknowledged a record", round);
    struct timespec d = {0, (long)(rand_r(&seed) % 41) * 1000000L};
    nanosleep(&d, NULL);
    kill(pid, SIGKILL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "round %u: child exited by itself (status %d): it failed to write", round, status);
    uint64_t s;
    ssize_t n;
    while ((n = read(p[0], &s, sizeof s)) == (ssize_t)sizeof s) {
      cr_assert_lt(s, MAX_SEQ);
      acked[s] = 1;
      total_acked++;
    }
    close(p[0]);

    /* Restart: recovery, then every acknowledged record is there. */
    struct qcc_journal *j = NULL;
    struct qcc_err err = {0};
    cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_ALWAYS, &j, &err), 0, "round %u: %s", round, err.msg);
    if (qcc_journal_recovery(j)->truncated_bytes > 0) truncations++;
    struct seen sn = {calloc(MAX_SEQ, 1), 0, 0, 0, true};
    cr_assert_eq(qcc_journal_replay(j, seen_cb, &sn, &err), 0, "%s", err.msg);
    qcc_journal_close(&j);
    if (sn.snapshots > 0) compacted_rounds++;
    uint64_t missing = 0, first_missing = 0;
    for (uint64_t k = 0; k < MAX_SEQ; k++)
      if (acked[k] && !sn.present[k]) {
        if (missing++ == 0) first_missing = k;
      }
    cr_assert_eq(missing, 0, "round %u: %" PRIu64 " acknowledged records lost (first %" PRIu64 ")", round,
                 missing, first_missing);
    cr_assert(sn.in_order, "round %u: records out of order", round);
    free(sn.present);
  }
  cr_expect_geq(total_acked, ROUNDS, "every child acknowledged something (%" PRIu64 ")", total_acked);
  if (compact) cr_expect_gt(compacted_rounds, 0u, "compaction ran during the rounds");
  cr_log_info("kill -9: %" PRIu64 " acknowledged records over %d rounds, %" PRIu64
              " torn tails recovered, %" PRIu64 " rounds after a compaction",
              total_acked, ROUNDS, truncations, compacted_rounds);
  free(acked);
}

Test(journal_crash, kill9_always_keeps_every_acknowledged_record) {
  kill_rounds(false, 1234);
}

Test(journal_crash, kill9_during_compaction_keeps_every_acknowledged_record) {
  /* Compaction keeps all history here (keep > records), so the rule is the
   * same, and kills land inside compactions too. */
  kill_rounds(true, 99);
}
