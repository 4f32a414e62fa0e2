/*  =========================================================================
    zcq_logger - the log lines of a node program (see zcq_logger.h)
    =========================================================================
*/

#include "zcq_logger.h"

#include <stdarg.h>
#include <time.h>

static const char *s_words [] = {"error", "warning", "notice", "info", "debug"};

//  Set once by zcq_logger_start, before any thread logs
static FILE *s_out = NULL;                      //  where the lines go
static zcq_log_level_t s_level = ZCQ_LOG_DEBUG; //  the least severe level printed

//  What CZMQ wrote of a line so far. Only the cookie stream's write touches
//  it, and stdio holds that stream's lock around each write.
static char s_pending [2048];
static size_t s_pending_size = 0;

int
zcq_logger_level (const char *word)
{
    for (int level = ZCQ_LOG_ERROR; word && level <= ZCQ_LOG_DEBUG; level++) {
        if (streq (word, s_words [level])) {
            return level;
        }
    }
    return -1;
}

char *
zcq_logger_time (char *buffer, size_t size)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm utc;
    gmtime_r (&now.tv_sec, &utc);
    char date [24];
    strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf (buffer, size, "%s.%03dZ", date, (int) (now.tv_nsec / 1000000));
    return buffer;
}

//  Print one line of text (size bytes, no newline) at level to out.
static void
s_print_line (FILE *out, zcq_log_level_t level, const char *text, size_t size)
{
    char time [32];
    zcq_logger_time (time, sizeof time);
    fprintf (out, "%s %s %.*s\n", time, s_words [level], (int) size, text);
    fflush (out);
}

//  One line as CZMQ wrote it, "L: (ident) yy-mm-dd hh:mm:ss text" (the
//  ident only when one is set): printed with our time and level word.
static void
s_czmq_line (const char *line, size_t size)
{
    static const char letters [] = "EWNID";
    const char *letter =
        size >= 3 && line [1] == ':' && line [2] == ' ' ? strchr (letters, line [0]) : NULL;
    if (!letter || !*letter) {
        s_print_line (s_out, ZCQ_LOG_INFO, line, size); //  not CZMQ's shape: as it is
        return;
    }
    const char *text = line + 3;
    const char *end = line + size;
    if (text < end && *text == '(') {
        const char *close = memchr (text, ')', (size_t) (end - text));
        text = close && close + 2 <= end ? close + 2 : text;
    }
    //  "26-12-02 07:14:53 " is 18 characters
    if (end - text >= 18 && text [2] == '-' && text [8] == ' ' && text [11] == ':') {
        text += 18;
    }
    zcq_log_level_t level = (zcq_log_level_t) (letter - letters);
    if (level <= s_level) {
        s_print_line (s_out, level, text, (size_t) (end - text));
    }
}

//  The write function of the stream CZMQ logs to: whole lines are printed,
//  a part of one waits for its end.
static ssize_t
s_write (void *cookie, const char *data, size_t size)
{
    (void) cookie;
    for (size_t index = 0; index < size; index++) {
        if (data [index] == '\n' || s_pending_size == sizeof (s_pending)) {
            s_czmq_line (s_pending, s_pending_size);
            s_pending_size = 0;
            if (data [index] == '\n') {
                continue;
            }
        }
        s_pending [s_pending_size++] = data [index];
    }
    return (ssize_t) size;
}

int
zcq_logger_start (FILE *out, zcq_log_level_t level)
{
    assert (out);
    s_out = out;
    s_level = level;
    cookie_io_functions_t functions = {.write = s_write};
    FILE *stream = fopencookie (NULL, "w", functions);
    if (!stream) {
        return -1;
    }
    setvbuf (stream, NULL, _IOLBF, 2048);
    zsys_set_logstream (stream);
    return 0;
}

void
zcq_logger_print (FILE *out, zcq_log_level_t level, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    if (text) {
        s_print_line (out ? out : s_out ? s_out : stderr, level, text, strlen (text));
        free (text);
    }
}
