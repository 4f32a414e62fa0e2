/*  =========================================================================
    zcq_node - starting a node: run a node actor (zcq_write_node_actor,
    zcq_query_node_actor, or one of your own) and know whether it came up,
    and the main () of the node programs zcqrs-write and zcqrs-query
    =========================================================================
*/

#ifndef ZCQ_NODE_H_INCLUDED
#define ZCQ_NODE_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  What values a setting takes.
typedef enum {
    ZCQ_SETTING_TEXT = 0,   //  any text: an endpoint, a path, a name
    ZCQ_SETTING_NUMBER,     //  a decimal integer from min to max
    ZCQ_SETTING_CHOICE      //  one of the words in choices
} zcq_setting_type_t;

//  Whether a setting names a file or folder. A relative path in a config
//  file is taken from that file's folder (one on the command line, or a
//  default, from the folder the node starts in).
typedef enum {
    ZCQ_SETTING_NO_FILE = 0,    //  not a path
    ZCQ_SETTING_FILE,           //  always a path (a folder, a certificate)
    ZCQ_SETTING_FILE_OR_NAME    //  a name, or a path when it holds a '/' (a domain .so,
                                //  a key in Z85 or its certificate file)
} zcq_setting_file_t;

//  One setting of a node: a row of the node's settings table, the one place
//  that says where the setting lives, which flag sets it, its default and
//  what it means. The node reads its settings through the table, its
//  program's --help and README's configuration reference are made from it.
//  A table ends with a row whose path is NULL.
typedef struct {
    const char *path;           //  config path, e.g. "write/heartbeat"; a last part
                                //  "*" stands for any name (write/security/roles/*)
    const char *flag;           //  command-line flag, e.g. "--heartbeat" (NULL: only
                                //  in a config file or with --set)
    const char *fallback;       //  default, as text (NULL: none, the setting is off)
    zcq_setting_type_t type;    //  what values it takes
    int64_t min, max;           //  ZCQ_SETTING_NUMBER: the range accepted
    const char *choices;        //  ZCQ_SETTING_CHOICE: the words, e.g. "sync|async"
    const char *arg;            //  name of the flag's value in --help, e.g. "EP"
    const char *bare;           //  what the flag means given without a value
                                //  (NULL: it needs one)
    const char *help;           //  one line: what it is, its unit
    zcq_setting_file_t file;    //  whether its value is a path
} zcq_setting_t;

//  The row every node's table has for its log level, in section ("write"):
//  zcq_node_main reads it, whatever the section, by its name log_level.
#define ZCQ_SETTING_LOG_LEVEL(section)                                                      \
    {.path = section "/log_level",                                                          \
     .flag = "--log-level",                                                                 \
     .fallback = "info",                                                                    \
     .type = ZCQ_SETTING_CHOICE,                                                            \
     .choices = "error|warning|notice|info|debug",                                          \
     .help = "least severe log lines printed; every line starts with its ISO 8601 UTC time " \
             "(milliseconds) and level"}

//  Start a node actor with these settings (borrowed). Returns the actor once
//  it serves, with its endpoint summary in *message; or NULL with the reason
//  in *message. The caller frees *message.
zactor_t *
    zcq_node_start (zactor_fn *actor, zconfig_t *config, char **message);

//  Tell the pipe's owner the node serves, with a summary of its endpoints,
//  or why it could not start. Node actors call these once.
void
    zcq_node_ready (zsock_t *pipe, const char *summary);
void
    zcq_node_failed (zsock_t *pipe, const char *reason);

//  The main () of a node program: settings from flags (--config FILE
//  first, then flags and --set PATH=VALUE override it; --help prints the
//  table's flags), checked against the table (a name the table does not
//  know is refused with where it was and the nearest known name; a value a
//  setting does not take is refused, naming the setting; a relative path
//  in a file is taken from the file's folder), start the actor, print its
//  READY line on stdout, run until SIGINT/SIGTERM or until the actor dies.
//  Returns the exit code.
int
    zcq_node_main (const char *program, zactor_fn *actor, const zcq_setting_t *settings,
                   int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
