#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum qcc_log_level min_level = QCC_LOG_INFO;
static FILE *log_file; /* NULL = stderr */
static char *log_path;

static const char *const level_tag[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void qcc_log_set_level(enum qcc_log_level lvl) { min_level = lvl; }

int qcc_log_open(const char *path) {
  if (path == NULL) {
    if (log_file != NULL) fclose(log_file);
    log_file = NULL;
    free(log_path);
    log_path = NULL;
    return 0;
  }
  char *copy = strdup(path);
  if (copy == NULL) return -1;
  free(log_path);
  log_path = copy;
  return qcc_log_reopen();
}

/* SIGUSR1 after logrotate moved the file: open the path anew. */
int qcc_log_reopen(void) {
  if (log_path == NULL) return 0;
  /* 0600: fopen() would create it 0666 less the umask, readable by others. */
  int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  FILE *f = fdopen(fd, "a");
  if (f == NULL) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  setvbuf(f, NULL, _IOLBF, 0);
  if (log_file != NULL) fclose(log_file);
  log_file = f;
  return 0;
}

void qcc_log(enum qcc_log_level lvl, const char *fmt, ...) {
  if (lvl < min_level || (unsigned)lvl >= QCC_LOG_COUNT) return;
  int saved = errno;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  FILE *out = log_file != NULL ? log_file : stderr;
  fprintf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n", tm.tm_year + 1900, tm.tm_mon + 1,
          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
          level_tag[lvl], msg);
  errno = saved;
}
