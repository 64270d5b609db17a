/*
 * log.h -- one line per event, to stderr or syslog.
 *
 * A logger is a small value owned by main and passed down by pointer; it is
 * set up before any worker starts and only read afterwards, so any thread
 * may log through it. Each line is written with a single write(2), so lines
 * from several threads never interleave.
 */
#ifndef TANDEM_SERVER_LOG_H
#define TANDEM_SERVER_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

struct logger {
	enum log_level level; /* lines above this level are dropped */
	bool use_syslog;      /* else stderr, with a timestamp */
};

/* A logger to stderr at `level`. */
void log_init(struct logger *lg, enum log_level level);

/* Switches to syslog (LOG_DAEMON) under `ident`; for daemon mode. */
void log_open_syslog(struct logger *lg, const char *ident);

/* Closes syslog when open. */
void log_close(struct logger *lg);

/* Parses "error", "warning", "info" or "debug". Returns 0 or ERR_SYNTAX. */
int log_level_from_str(const char *str, enum log_level *out);

/* Logs one line (no trailing newline in fmt). */
void log_msg(const struct logger *lg, enum log_level level, const char *fmt,
	     ...) __attribute__((format(printf, 3, 4)));
void log_vmsg(const struct logger *lg, enum log_level level, const char *fmt,
	      va_list ap);

#define log_error(lg, ...)   log_msg((lg), LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(lg, ...) log_msg((lg), LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(lg, ...)    log_msg((lg), LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(lg, ...)   log_msg((lg), LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
