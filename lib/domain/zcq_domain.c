/*  =========================================================================
    zcq_domain - the domain registry and the shared-object loader
    (see zcq_domain.h)

    The registry is a small fixed table behind a mutex: in-process tests run
    several node actors, and each may load its domain at the same time.
    =========================================================================
*/

#include "zcq_domain.h"

#include <dlfcn.h>
#include <pthread.h>

#define REGISTRY_SIZE 32 //  most domains one process can register

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static const zcq_domain_t *s_registry [REGISTRY_SIZE];
static size_t s_registered;  //  entries used in s_registry
static bool s_builtins_done; //  bank and store are registered

//  An ABI-1 domain's struct ends before the snapshot functions: never read
//  them unless abi >= 2.
static bool
s_abi_known (int abi)
{
    return abi >= ZCQ_DOMAIN_ABI_MIN && abi <= ZCQ_DOMAIN_ABI;
}

bool
zcq_domain_has_snapshots (const zcq_domain_t *domain)
{
    return domain->abi >= 2 && domain->state_save && domain->state_load;
}

uint32_t
zcq_domain_event_schema (const zcq_domain_t *domain, const char *type)
{
    assert (domain);
    assert (type);
    if (domain->abi >= 3 && domain->event_schemas) {
        for (const zcq_event_schema_t *entry = domain->event_schemas; entry->type; entry++) {
            if (streq (entry->type, type)) {
                return entry->schema;
            }
        }
    }
    return 1;
}

const zcq_upcaster_t *
zcq_domain_upcaster (const zcq_domain_t *domain, const char *type, uint32_t from)
{
    assert (domain);
    assert (type);
    if (domain->abi >= 3 && domain->upcasters) {
        for (const zcq_upcaster_t *entry = domain->upcasters; entry->type; entry++) {
            if (entry->from == from && streq (entry->type, type)) {
                return entry;
            }
        }
    }
    return NULL;
}

uint32_t
zcq_domain_projection_version (const zcq_domain_t *domain)
{
    assert (domain);
    return domain->abi >= 3 && domain->projection_version ? domain->projection_version : 1;
}

//  What is wrong with a domain's schemas and upcasters, or NULL: every
//  version below a type's current one has exactly one upcaster, and every
//  upcaster raises a version below its type's current one. The answer is
//  in a static buffer: call with the registry's lock held.
static const char *
s_bad_schemas (const zcq_domain_t *domain)
{
    static char reason [ZCQ_MAX_NAME + 128];
    if (domain->abi < 3) {
        return NULL;
    }
    for (const zcq_event_schema_t *entry = domain->event_schemas; entry && entry->type;
         entry++) {
        if (entry->schema < 1) {
            snprintf (reason, sizeof reason,
                      "event type '%.128s' is at schema 0 (the first is 1)", entry->type);
            return reason;
        }
        for (uint32_t from = 1; from < entry->schema; from++) {
            if (!zcq_domain_upcaster (domain, entry->type, from)) {
                snprintf (reason, sizeof reason,
                          "event type '%.128s' is at schema %u but has no upcaster from %u",
                          entry->type, entry->schema, from);
                return reason;
            }
        }
    }
    for (const zcq_upcaster_t *entry = domain->upcasters; entry && entry->type; entry++) {
        if (!entry->upcast) {
            snprintf (reason, sizeof reason, "the upcaster of '%.128s' from %u has no function",
                      entry->type, entry->from);
            return reason;
        }
        if (entry->from < 1 || entry->from >= zcq_domain_event_schema (domain, entry->type)) {
            snprintf (reason, sizeof reason,
                      "the upcaster of '%.128s' from %u raises no version below its current "
                      "one (%u)",
                      entry->type, entry->from, zcq_domain_event_schema (domain, entry->type));
            return reason;
        }
        if (zcq_domain_upcaster (domain, entry->type, entry->from) != entry) {
            snprintf (reason, sizeof reason, "event type '%.128s' has two upcasters from %u",
                      entry->type, entry->from);
            return reason;
        }
    }
    return NULL;
}

//  Return what a domain lacks ("no decide function"), or NULL if complete.
static const char *
s_incomplete (const zcq_domain_t *domain)
{
    if (!domain->name || !*domain->name) {
        return "no name";
    }
    if (!domain->command_types) {
        return "no command_types";
    }
    if (!domain->query_names) {
        return "no query_names";
    }
    if (!domain->decide) {
        return "no decide function";
    }
    if (!domain->project) {
        return "no project function";
    }
    if (!domain->query) {
        return "no query function";
    }
    if (domain->abi >= 2 && !domain->state_save != !domain->state_load) {
        return "state_save without state_load, or the other way round";
    }
    return s_bad_schemas (domain);
}

//  Find a registered domain by name; call with the lock held.
static const zcq_domain_t *
s_lookup (const char *name)
{
    for (size_t index = 0; index < s_registered; index++) {
        if (streq (s_registry [index]->name, name)) {
            return s_registry [index];
        }
    }
    return NULL;
}

//  Register a domain; call with the lock held. Same rules as the public call.
static int
s_register (const zcq_domain_t *domain)
{
    if (!s_abi_known (domain->abi) || s_incomplete (domain)) {
        return -1;
    }
    const zcq_domain_t *known = s_lookup (domain->name);
    if (known) {
        return known == domain ? 0 : -1;
    }
    if (s_registered == REGISTRY_SIZE) {
        return -1;
    }
    s_registry [s_registered++] = domain;
    return 0;
}

//  Register the built-in domains the first time the registry is used, so
//  that their names are always taken. Call with the lock held.
static void
s_register_builtins (void)
{
    if (!s_builtins_done) {
        s_builtins_done = true;
        int rc = s_register (zcq_bank_domain ());
        rc |= s_register (zcq_store_domain ());
        assert (rc == 0);
        (void) rc;
    }
}

int
zcq_domain_register (const zcq_domain_t *domain)
{
    assert (domain);
    pthread_mutex_lock (&s_lock);
    s_register_builtins ();
    int rc = s_register (domain);
    pthread_mutex_unlock (&s_lock);
    return rc;
}

//  Load a domain shared object and register what it exports. Call with the
//  lock held. Returns NULL with *error set on failure.
static const zcq_domain_t *
s_load_object (const char *path, char **error)
{
    void *handle = dlopen (path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        *error = zsys_sprintf ("cannot load domain '%s': %s", path, dlerror ());
        return NULL;
    }
    dlerror ();
    zcq_domain_entry_fn *entry = (zcq_domain_entry_fn *) dlsym (handle, "zcq_domain_entry");
    const char *failure = dlerror ();
    if (failure || !entry) {
        *error = zsys_sprintf ("cannot load domain '%s': %s", path,
                               failure ? failure : "zcq_domain_entry is NULL");
        dlclose (handle);
        return NULL;
    }
    const zcq_domain_t *domain = entry ();
    if (!domain) {
        *error = zsys_sprintf ("cannot load domain '%s': zcq_domain_entry returned NULL", path);
    }
    else if (!s_abi_known (domain->abi)) {
        *error = zsys_sprintf ("cannot load domain '%s': built for domain ABI %d, this loads "
                               "%d to %d",
                               path, domain->abi, ZCQ_DOMAIN_ABI_MIN, ZCQ_DOMAIN_ABI);
    }
    else if (s_incomplete (domain)) {
        *error = zsys_sprintf ("cannot load domain '%s': incomplete domain, %s", path,
                               s_incomplete (domain));
    }
    else if (s_register (domain)) {
        *error = zsys_sprintf ("cannot load domain '%s': name '%s' is already taken", path,
                               domain->name);
    }
    else {
        //  The handle stays open: the domain must live as long as the process
        return domain;
    }
    dlclose (handle);
    return NULL;
}

const zcq_domain_t *
zcq_domain_load (const char *name_or_path, char **error)
{
    assert (name_or_path);
    char *reason = NULL;
    const zcq_domain_t *domain = NULL;
    size_t length = strlen (name_or_path);

    pthread_mutex_lock (&s_lock);
    s_register_builtins ();
    if (strchr (name_or_path, '/')
        || (length >= 3 && streq (name_or_path + length - 3, ".so"))) {
        domain = s_load_object (name_or_path, &reason);
    }
    else {
        domain = s_lookup (name_or_path);
        if (!domain) {
            reason = zsys_sprintf ("unknown domain '%s' (built in: bank, store)", name_or_path);
        }
    }
    pthread_mutex_unlock (&s_lock);

    if (error) {
        *error = reason;
    }
    else {
        free (reason);
    }
    return domain;
}

//  True if word is in a NULL-terminated list of names.
static bool
s_listed (const char *const *names, const char *word)
{
    for (size_t index = 0; names && names [index]; index++) {
        if (streq (names [index], word)) {
            return true;
        }
    }
    return false;
}

bool
zcq_domain_has_command (const zcq_domain_t *domain, const char *type)
{
    assert (domain);
    return type && s_listed (domain->command_types, type);
}

bool
zcq_domain_has_query (const zcq_domain_t *domain, const char *name)
{
    assert (domain);
    return name && s_listed (domain->query_names, name);
}
