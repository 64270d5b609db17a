/*
 * log.c -- one line per event, to stderr or syslog.
 */
#include "server/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dns/error.h"

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARNING] = "warning",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void log_init(struct logger *lg, enum log_level level)
{
	lg->level = level;
	lg->use_syslog = false;
}

void log_open_syslog(struct logger *lg, const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	lg->use_syslog = true;
}

void log_close(struct logger *lg)
{
	if (lg->use_syslog)
		closelog();
	lg->use_syslog = false;
}

int log_level_from_str(const char *str, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcasecmp(str, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return ERR_SYNTAX;
}

void log_vmsg(const struct logger *lg, enum log_level level, const char *fmt,
	      va_list ap)
{
	if (level > lg->level)
		return;
	if (lg->use_syslog) {
		static const int prio[] = {
		    [LOG_LEVEL_ERROR] = LOG_ERR,
		    [LOG_LEVEL_WARNING] = LOG_WARNING,
		    [LOG_LEVEL_INFO] = LOG_INFO,
		    [LOG_LEVEL_DEBUG] = LOG_DEBUG,
		};
		vsyslog(prio[level], fmt, ap);
		return;
	}

	char line[1024];
	size_t pos = 0;
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	pos = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S%z ", &tm);
	int n = snprintf(line + pos, sizeof(line) - pos,
			 "%s: ", level_names[level]);
	if (n > 0)
		pos += (size_t)n;
	n = vsnprintf(line + pos, sizeof(line) - pos, fmt, ap);
	if (n > 0)
		pos += (size_t)n;
	if (pos > sizeof(line) - 2)
		pos = sizeof(line) - 2; /* cut an over-long line */
	line[pos++] = '\n';
	/* One write per line keeps lines from several threads whole. */
	ssize_t w = write(STDERR_FILENO, line, pos);
	(void)w;
}

void log_msg(const struct logger *lg, enum log_level level, const char *fmt,
	     ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lg, level, fmt, ap);
	va_end(ap);
}
