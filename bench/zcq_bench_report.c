/*  =========================================================================
    zcq_bench_report - the figures of a benchmark run (see the header)
    =========================================================================
*/

#include "zcq_bench_report.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FIGURES 256 //  figures in one report
#define MAX_CONTEXT 32  //  context lines in one report

struct _zcq_bench_figure_t {
    char scenario [64];                 //  "closed loop, sync"
    char name [64];                     //  "32 clients"
    char metric [32];                   //  "commands/s", "ack p99"
    char unit [16];                     //  "/s", "ms", "MiB", "x", "s", "commands"
    double values [ZCQ_BENCH_MAX_RUNS]; //  one per repetition
    int runs;                           //  values recorded
    bool has_target;                    //  a target applies
    bool at_least;                      //  met when median >= target (else <=)
    double target;                      //  in the figure's unit
    char source [64];                   //  whose target: "issue 3"
    char note [200];                    //  printed after the figure
};

struct _zcq_bench_report_t {
    char title [128];                          //  first line of the table
    char keys [MAX_CONTEXT][32];               //  context keys
    char texts [MAX_CONTEXT][256];             //  context values
    int contexts;                              //  context lines
    zcq_bench_figure_t *figures [MAX_FIGURES]; //  in order of first use
    int count;                                 //  figures
};

zcq_bench_report_t *
zcq_bench_report_new (const char *title)
{
    zcq_bench_report_t *self = (zcq_bench_report_t *) calloc (1, sizeof (*self));
    assert (self);
    snprintf (self->title, sizeof (self->title), "%s", title);
    return self;
}

void
zcq_bench_report_destroy (zcq_bench_report_t **self_p)
{
    if (*self_p) {
        zcq_bench_report_t *self = *self_p;
        for (int index = 0; index < self->count; index++) {
            free (self->figures [index]);
        }
        free (self);
        *self_p = NULL;
    }
}

void
zcq_bench_report_context (zcq_bench_report_t *self, const char *key, const char *format, ...)
{
    if (self->contexts == MAX_CONTEXT) {
        return;
    }
    snprintf (self->keys [self->contexts], sizeof (self->keys [0]), "%s", key);
    va_list args;
    va_start (args, format);
    vsnprintf (self->texts [self->contexts], sizeof (self->texts [0]), format, args);
    va_end (args);
    self->contexts++;
}

zcq_bench_figure_t *
zcq_bench_report_find (zcq_bench_report_t *self, const char *scenario, const char *name,
                       const char *metric)
{
    for (int index = 0; index < self->count; index++) {
        zcq_bench_figure_t *figure = self->figures [index];
        if (strcmp (figure->scenario, scenario) == 0 && strcmp (figure->name, name) == 0
            && strcmp (figure->metric, metric) == 0) {
            return figure;
        }
    }
    return NULL;
}

zcq_bench_figure_t *
zcq_bench_report_figure (zcq_bench_report_t *self, const char *scenario, const char *name,
                         const char *metric, const char *unit)
{
    zcq_bench_figure_t *figure = zcq_bench_report_find (self, scenario, name, metric);
    if (!figure) {
        assert (self->count < MAX_FIGURES);
        figure = (zcq_bench_figure_t *) calloc (1, sizeof (*figure));
        assert (figure);
        snprintf (figure->scenario, sizeof (figure->scenario), "%s", scenario);
        snprintf (figure->name, sizeof (figure->name), "%s", name);
        snprintf (figure->metric, sizeof (figure->metric), "%s", metric);
        snprintf (figure->unit, sizeof (figure->unit), "%s", unit);
        self->figures [self->count++] = figure;
    }
    return figure;
}

void
zcq_bench_figure_add (zcq_bench_figure_t *self, double value)
{
    if (self->runs < ZCQ_BENCH_MAX_RUNS && isfinite (value) && value >= 0) {
        self->values [self->runs++] = value;
    }
}

void
zcq_bench_figure_target (zcq_bench_figure_t *self, bool at_least, double target,
                         const char *source)
{
    self->has_target = true;
    self->at_least = at_least;
    self->target = target;
    snprintf (self->source, sizeof (self->source), "%s", source);
}

void
zcq_bench_figure_note (zcq_bench_figure_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (self->note, sizeof (self->note), format, args);
    va_end (args);
}

static int
s_compare (const void *left, const void *right)
{
    double a = *(const double *) left, b = *(const double *) right;
    return (a > b) - (a < b);
}

//  Sorted copy of the values into sorted; returns how many.
static int
s_sorted (zcq_bench_figure_t *self, double *sorted)
{
    memcpy (sorted, self->values, sizeof (double) * (size_t) self->runs);
    qsort (sorted, (size_t) self->runs, sizeof (double), s_compare);
    return self->runs;
}

double
zcq_bench_figure_median (zcq_bench_figure_t *self)
{
    double sorted [ZCQ_BENCH_MAX_RUNS];
    int runs = s_sorted (self, sorted);
    if (runs == 0) {
        return -1;
    }
    return runs % 2 ? sorted [runs / 2] : (sorted [runs / 2 - 1] + sorted [runs / 2]) / 2;
}

int
zcq_bench_figure_runs (zcq_bench_figure_t *self)
{
    return self->runs;
}

zcq_bench_figure_t *
zcq_bench_report_ratio (zcq_bench_report_t *self, const char *scenario, const char *name,
                        const char *metric, zcq_bench_figure_t *a, zcq_bench_figure_t *b)
{
    if (!a || !b || a->runs == 0 || b->runs == 0) {
        return NULL;
    }
    zcq_bench_figure_t *ratio = zcq_bench_report_figure (self, scenario, name, metric, "x");
    int runs = a->runs < b->runs ? a->runs : b->runs;
    for (int index = 0; index < runs; index++) {
        if (b->values [index] > 0) {
            zcq_bench_figure_add (ratio, a->values [index] / b->values [index]);
        }
    }
    return ratio;
}

//  Format a value for people: thousands separated, small ones with
//  three significant digits.
static void
s_format (char *text, size_t size, double value)
{
    if (value < 0) {
        snprintf (text, size, "n/a");
    }
    else if (value >= 10000) {
        long long whole = llround (value);
        char digits [32];
        snprintf (digits, sizeof (digits), "%lld", whole);
        size_t length = strlen (digits), at = 0;
        for (size_t index = 0; index < length && at + 2 < size; index++) {
            if (index > 0 && (length - index) % 3 == 0) {
                text [at++] = ',';
            }
            text [at++] = digits [index];
        }
        text [at] = 0;
    }
    else if (value >= 100) {
        snprintf (text, size, "%.0f", value);
    }
    else if (value >= 10) {
        snprintf (text, size, "%.1f", value);
    }
    else if (value >= 1) {
        snprintf (text, size, "%.2f", value);
    }
    else {
        snprintf (text, size, "%.3f", value);
    }
}

//  "met", "NOT met" or "" for a figure.
static const char *
s_verdict (zcq_bench_figure_t *figure)
{
    if (!figure->has_target) {
        return "";
    }
    double median = zcq_bench_figure_median (figure);
    if (median < 0) {
        return "no figure";
    }
    bool met = figure->at_least ? median >= figure->target : median <= figure->target;
    return met ? "met" : "NOT met";
}

void
zcq_bench_report_print (zcq_bench_report_t *self, FILE *file)
{
    fprintf (file, "\n%s\n", self->title);
    for (int index = 0; index < self->contexts; index++) {
        fprintf (file, "  %-10s %s\n", self->keys [index], self->texts [index]);
    }
    fprintf (file, "\n%-44s %-22s %12s  %-25s %s\n", "scenario", "metric", "median",
             "min - max (runs)", "target");
    const char *scenario = "";
    for (int index = 0; index < self->count; index++) {
        zcq_bench_figure_t *figure = self->figures [index];
        if (strcmp (scenario, figure->scenario) != 0) {
            fprintf (file, "%s\n", figure->scenario);
            scenario = figure->scenario;
        }
        double sorted [ZCQ_BENCH_MAX_RUNS];
        int runs = s_sorted (figure, sorted);
        char median [32], low [32], high [32], range [96] = "", target [160] = "";
        s_format (median, sizeof (median), zcq_bench_figure_median (figure));
        if (runs > 1) {
            s_format (low, sizeof (low), sorted [0]);
            s_format (high, sizeof (high), sorted [runs - 1]);
            snprintf (range, sizeof (range), "%s - %s (%d)", low, high, runs);
        }
        if (figure->has_target) {
            char value [32];
            s_format (value, sizeof (value), figure->target);
            snprintf (target, sizeof (target), "%s %s %s (%s): %s",
                      figure->at_least ? ">=" : "<=", value, figure->unit, figure->source,
                      s_verdict (figure));
        }
        char metric [48];
        snprintf (metric, sizeof (metric), "%s%s%s", figure->metric,
                  strcmp (figure->unit, "/s") == 0 ? "" : " ",
                  strcmp (figure->unit, "/s") == 0 ? "" : figure->unit);
        fprintf (file, "  %-42s %-22s %12s  %-25s %s\n", figure->name, metric, median, range,
                 target);
        if (figure->note [0]) {
            fprintf (file, "  %-42s   (%s)\n", "", figure->note);
        }
    }
    fflush (file);
}

//  Write text as a JSON string (our own names: only quotes and
//  backslashes and control characters need escaping).
static void
s_json_string (FILE *file, const char *text)
{
    fputc ('"', file);
    for (const char *at = text; *at; at++) {
        if (*at == '"' || *at == '\\') {
            fprintf (file, "\\%c", *at);
        }
        else if ((unsigned char) *at < 0x20) {
            fprintf (file, "\\u%04x", (unsigned char) *at);
        }
        else {
            fputc (*at, file);
        }
    }
    fputc ('"', file);
}

//  Write a figure's scenario, name and metric, each after its prefix,
//  through escape (JSON or SVG text)
static void
s_names (FILE *file, zcq_bench_figure_t *figure, const char *const prefixes [3],
         void (*escape) (FILE *, const char *))
{
    const char *names [3] = {figure->scenario, figure->name, figure->metric};
    for (int index = 0; index < 3; index++) {
        fputs (prefixes [index], file);
        escape (file, names [index]);
    }
}

int
zcq_bench_report_write_json (zcq_bench_report_t *self, const char *path)
{
    FILE *file = fopen (path, "w");
    if (!file) {
        return -1;
    }
    fprintf (file, "{\n  \"title\": ");
    s_json_string (file, self->title);
    fprintf (file, ",\n  \"context\": {");
    for (int index = 0; index < self->contexts; index++) {
        fprintf (file, "%s\n    ", index ? "," : "");
        s_json_string (file, self->keys [index]);
        fprintf (file, ": ");
        s_json_string (file, self->texts [index]);
    }
    fprintf (file, "\n  },\n  \"figures\": [");
    for (int index = 0; index < self->count; index++) {
        zcq_bench_figure_t *figure = self->figures [index];
        double sorted [ZCQ_BENCH_MAX_RUNS];
        int runs = s_sorted (figure, sorted);
        const char *const prefixes [3] = {
            "\n    {\"scenario\": ", ", \"name\": ", ", \"metric\": "};
        fputs (index ? "," : "", file);
        s_names (file, figure, prefixes, s_json_string);
        fprintf (file, ", \"unit\": ");
        s_json_string (file, figure->unit);
        fprintf (file, ",\n     \"runs\": [");
        for (int run = 0; run < figure->runs; run++) {
            fprintf (file, "%s%.6g", run ? ", " : "", figure->values [run]);
        }
        fprintf (file, "]");
        if (runs > 0) {
            fprintf (file, ", \"median\": %.6g, \"min\": %.6g, \"max\": %.6g",
                     zcq_bench_figure_median (figure), sorted [0], sorted [runs - 1]);
        }
        if (figure->has_target) {
            fprintf (file, ",\n     \"target\": {\"%s\": %.6g, \"source\": ",
                     figure->at_least ? "at_least" : "at_most", figure->target);
            s_json_string (file, figure->source);
            fprintf (file, ", \"met\": %s}",
                     strcmp (s_verdict (figure), "met") == 0 ? "true" : "false");
        }
        if (figure->note [0]) {
            fprintf (file, ", \"note\": ");
            s_json_string (file, figure->note);
        }
        fprintf (file, "}");
    }
    fprintf (file, "\n  ]\n}\n");
    return fclose (file) == 0 ? 0 : -1;
}

//  --- SVG chart --------------------------------------------------------------

#define SVG_WIDTH  1180 //  pixels
#define SVG_LABEL  600  //  pixels of the label column
#define SVG_ROW    16   //  pixels per bar
#define SVG_MARGIN 20   //  pixels around everything

//  x of value on a log scale from 10^low to 10^high across the plot
static double
s_log_x (double value, int low, int high)
{
    double plot = SVG_WIDTH - SVG_LABEL - 2 * SVG_MARGIN;
    double at = value > 0 ? log10 (value) : low;
    at = at < low ? low : at > high ? high : at;
    return SVG_LABEL + SVG_MARGIN + plot * (at - low) / (high - low);
}

static void
s_svg_text (FILE *file, const char *text)
{
    for (const char *at = text; *at; at++) {
        if (*at == '<') {
            fputs ("&lt;", file);
        }
        else if (*at == '>') {
            fputs ("&gt;", file);
        }
        else if (*at == '&') {
            fputs ("&amp;", file);
        }
        else {
            fputc (*at, file);
        }
    }
}

//  True if figure is a CPU time per 1,000 commands or events (unit "ms" like
//  a latency, but drawn in a panel of its own).
static bool
s_is_cpu (zcq_bench_figure_t *figure)
{
    return strcmp (figure->unit, "ms") == 0 && strstr (figure->metric, "CPU") != NULL;
}

//  True if figure belongs to the panel of unit, CPU figures or not.
static bool
s_in_panel (zcq_bench_figure_t *figure, const char *unit, bool cpu)
{
    return figure->runs > 0 && strcmp (figure->unit, unit) == 0 && s_is_cpu (figure) == cpu;
}

//  Colour of a bar: latency by percentile, CPU and throughput one each.
static const char *
s_colour (zcq_bench_figure_t *figure)
{
    if (s_is_cpu (figure)) {
        return "#7570b3";
    }
    if (strcmp (figure->unit, "ms") == 0) {
        if (strstr (figure->metric, "p99.9")) {
            return "#d95f02";
        }
        if (strstr (figure->metric, "p99")) {
            return "#e6ab02";
        }
        return "#1b9e77";
    }
    return "#4c72b0";
}

//  One panel: every figure in unit (only the CPU ones if cpu, none of them
//  otherwise), as bars on a log axis. Returns the y below it.
static int
s_svg_panel (zcq_bench_report_t *self, FILE *file, int top, const char *title, const char *unit,
             bool cpu, int low, int high)
{
    int rows = 0;
    for (int index = 0; index < self->count; index++) {
        rows += s_in_panel (self->figures [index], unit, cpu);
    }
    if (rows == 0) {
        return top;
    }
    int plot_top = top + 24, plot_bottom = plot_top + rows * SVG_ROW;
    fprintf (file, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", SVG_MARGIN, top + 14);
    s_svg_text (file, title);
    fprintf (file, "</text>\n");
    //  Decades of the log axis: 0.01 ... 100, 1k, 10k, ... 1M, 10M
    for (int decade = low; decade <= high; decade++) {
        double x = s_log_x (pow (10, decade), low, high);
        double value = pow (10, decade);
        char tick [16];
        if (decade >= 6) {
            snprintf (tick, sizeof (tick), "%gM", value / 1e6);
        }
        else if (decade >= 3) {
            snprintf (tick, sizeof (tick), "%gk", value / 1e3);
        }
        else {
            snprintf (tick, sizeof (tick), "%g", value);
        }
        fprintf (file,
                 "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ccc\"/>\n"
                 "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n",
                 x, plot_top, x, plot_bottom, x, plot_bottom + 14, tick);
    }
    int row = 0;
    for (int index = 0; index < self->count; index++) {
        zcq_bench_figure_t *figure = self->figures [index];
        if (!s_in_panel (figure, unit, cpu)) {
            continue;
        }
        double sorted [ZCQ_BENCH_MAX_RUNS];
        int runs = s_sorted (figure, sorted);
        double median = zcq_bench_figure_median (figure);
        int y = plot_top + row * SVG_ROW;
        double x0 = s_log_x (pow (10, low), low, high), x = s_log_x (median, low, high);
        fprintf (file, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                 SVG_LABEL + SVG_MARGIN - 6, y + 12);
        const char *const prefixes [3] = {"", " · ", " · "};
        s_names (file, figure, prefixes, s_svg_text);
        fprintf (file, "</text>\n");
        fprintf (file, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n",
                 x0, y + 2, x - x0, SVG_ROW - 4, s_colour (figure));
        double xl = s_log_x (sorted [0], low, high),
               xh = s_log_x (sorted [runs - 1], low, high);
        fprintf (file, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>\n",
                 xl, y + SVG_ROW / 2, xh, y + SVG_ROW / 2);
        char value [32];
        s_format (value, sizeof (value), median);
        fprintf (file, "<text x=\"%.1f\" y=\"%d\" fill=\"#333\">%s</text>\n", xh + 4, y + 12,
                 value);
        row++;
    }
    return plot_bottom + 30;
}

int
zcq_bench_report_write_svg (zcq_bench_report_t *self, const char *path)
{
    //  Write to memory first: the height is known only at the end
    char *body = NULL;
    size_t size = 0;
    FILE *memory = open_memstream (&body, &size);
    if (!memory) {
        return -1;
    }
    int y = SVG_MARGIN;
    fprintf (memory, "<text x=\"%d\" y=\"%d\" font-size=\"15\" font-weight=\"bold\">",
             SVG_MARGIN, y + 12);
    s_svg_text (memory, self->title);
    fprintf (memory, "</text>\n");
    y += 22;
    for (int index = 0; index < self->contexts; index++) {
        fprintf (memory, "<text x=\"%d\" y=\"%d\" fill=\"#555\">", SVG_MARGIN, y + 12);
        s_svg_text (memory, self->keys [index]);
        fprintf (memory, ": ");
        s_svg_text (memory, self->texts [index]);
        fprintf (memory, "</text>\n");
        y += 16;
    }
    y += 10;
    y = s_svg_panel (
        self, memory, y,
        "Throughput per second (median, bar; min-max of the runs, line; log scale)", "/s",
        false, 2, 7);
    y = s_svg_panel (
        self, memory, y,
        "Latency in ms (p50 green, p99 yellow, p99.9 orange; min-max line; log scale)", "ms",
        false, -2, 4);
    y = s_svg_panel (self, memory, y,
                     "CPU ms per 1,000 commands or events, per process (median, bar; min-max "
                     "line; log scale)",
                     "ms", true, -1, 3);
    fclose (memory);
    FILE *file = fopen (path, "w");
    if (!file) {
        free (body);
        return -1;
    }
    fprintf (file,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "font-family=\"sans-serif\" font-size=\"11\">\n"
             "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
             SVG_WIDTH, y + SVG_MARGIN);
    fwrite (body, 1, size, file);
    fprintf (file, "</svg>\n");
    free (body);
    return fclose (file) == 0 ? 0 : -1;
}
