/*  =========================================================================
    zcq_bench_run - what the benchmark programs share (see the header)
    =========================================================================
*/

#include "zcq_bench_run.h"
#include "zcq_bench_raw.h"

#include <czmq.h>
#include <sys/stat.h>

//  True if text is a number above zero (nothing after it), into *rate
static bool
s_rate (const char *text, double *rate)
{
    char *end;
    *rate = strtod (text, &end);
    return end != text && *end == '\0' && *rate > 0;
}

int
zcq_bench_run_parse (zcq_bench_run_t *self, const char *program, bool with_only, bool with_pace,
                     int argc, char **argv)
{
    memset (self, 0, sizeof (*self));
    self->build = "build";
    self->command = program;
    const char *out = NULL;
    for (int index = 1; index < argc; index++) {
        bool value = index + 1 < argc;
        if (streq (argv [index], "--quick")) {
            self->quick = true;
        }
        else if (streq (argv [index], "--build") && value) {
            self->build = argv [++index];
        }
        else if (streq (argv [index], "--out") && value) {
            out = argv [++index];
        }
        else if (streq (argv [index], "--command") && value) {
            self->command = argv [++index];
        }
        else if (streq (argv [index], "--only") && value && with_only) {
            self->only = argv [++index];
        }
        else if (streq (argv [index], "--pace") && value && with_pace
                 && s_rate (argv [index + 1], &self->pace)) {
            index++;
        }
        else {
            fprintf (stderr,
                     "usage: %s [--quick] [--build DIR] [--out DIR] [--command TEXT]%s%s\n",
                     program, with_only ? " [--only NAME]" : "",
                     with_pace ? " [--pace COMMANDS_PER_S]" : "");
            return -1;
        }
    }
    if (out) {
        snprintf (self->out, sizeof (self->out), "%s", out);
    }
    else {
        snprintf (self->out, sizeof (self->out), "%s/bench", self->build);
    }
    zcq_bench_machine (self->machine, sizeof (self->machine));
    zsys_init ();
    zsys_set_logstream (stderr);
    printf ("%s: %s%s\n", program, self->machine, self->quick ? " (quick)" : "");
    return 0;
}

void
zcq_bench_run_context (zcq_bench_run_t *self, zcq_bench_report_t *report)
{
    char date [32];
    time_t now = time (NULL);
    strftime (date, sizeof (date), "%Y-%m-%d %H:%M UTC", gmtime (&now));
    zcq_bench_report_context (report, "machine", "%s", self->machine);
    zcq_bench_report_context (report, "command", "%s", self->command);
    zcq_bench_report_context (report, "date", "%s", date);
}

void
zcq_bench_run_finish (zcq_bench_run_t *self, zcq_bench_report_t *report, const char *json,
                      const char *svg)
{
    zcq_bench_report_print (report, stdout);
    mkdir (self->out, 0755);
    char path [600];
    snprintf (path, sizeof (path), "%s/%s", self->out, json);
    if (zcq_bench_report_write_json (report, path) == 0) {
        printf ("\nwrote %s", path);
    }
    snprintf (path, sizeof (path), "%s/%s", self->out, svg);
    if (zcq_bench_report_write_svg (report, path) == 0) {
        printf (" and %s", path);
    }
    printf ("\n");
}
