/* compiler/confirm.c: the one question destructive commands ask. */
#include <criterion/criterion.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/confirm.h"

struct io {
  char *out, *err;
  size_t ol, el;
  FILE *o, *e;
};

static void io_open(struct io *io) {
  memset(io, 0, sizeof *io);
  io->o = open_memstream(&io->out, &io->ol);
  io->e = open_memstream(&io->err, &io->el);
}

static void io_close(struct io *io) {
  fclose(io->o);
  fclose(io->e);
}

/* Ask with ANSWER typed on a pseudo-terminal. */
static enum qccc_confirm on_tty(const char *answer, struct io *io) {
  int m, s;
  cr_assert_eq(openpty(&m, &s, NULL, NULL, NULL), 0);
  cr_assert_eq(write(m, answer, strlen(answer)), (ssize_t)strlen(answer));
  FILE *in = fdopen(s, "r");
  cr_assert_not_null(in);
  enum qccc_confirm r = qccc_confirm(false, true, "drop 3 dead letters", in, io->o, io->e);
  fclose(in);
  close(m);
  return r;
}

Test(confirm, terminal_asks_default_no) {
  struct io io;
  io_open(&io);
  cr_expect_eq(on_tty("\n", &io), QCCC_CONFIRM_CANCELLED);
  cr_expect_eq(on_tty("y\n", &io), QCCC_CONFIRM_GO);
  cr_expect_eq(on_tty("no\n", &io), QCCC_CONFIRM_CANCELLED);
  io_close(&io);
  cr_expect_not_null(strstr(io.out, "Drop 3 dead letters? [y/N] "), "%s", io.out);
  cr_expect_not_null(strstr(io.out, "cancelled; nothing changed"), "%s", io.out);
  free(io.out);
  free(io.err);
}

Test(confirm, not_a_terminal) {
  struct io io;
  io_open(&io);
  FILE *in = fopen("/dev/null", "r");
  cr_assert_not_null(in);
  cr_expect_eq(qccc_confirm(false, true, "drop 3 dead letters", in, io.o, io.e), QCCC_CONFIRM_REFUSED);
  cr_expect_eq(qccc_confirm(false, false, "make generation 2 current", in, io.o, io.e), QCCC_CONFIRM_GO,
               "reversible: goes on without a terminal");
  cr_expect_eq(qccc_confirm(true, true, "drop 3 dead letters", in, io.o, io.e), QCCC_CONFIRM_GO, "-y");
  fclose(in);
  io_close(&io);
  cr_expect_not_null(strstr(io.err, "pass -y to confirm"), "%s", io.err);
  cr_expect_eq(io.ol, 0, "nothing asked: %s", io.out);
  free(io.out);
  free(io.err);
}
