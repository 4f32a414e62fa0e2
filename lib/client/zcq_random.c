/*  =========================================================================
    zcq_random - random bytes for request ids (see zcq_random.h)
    =========================================================================
*/

#include "zcq_random.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

int
zcq_random_fill (void *buffer, size_t size, zcq_random_source_fn *source)
{
    if (!source) {
        source = getrandom;
    }
    uint8_t *bytes = (uint8_t *) buffer;
    size_t filled = 0;
    //  getrandom may return fewer bytes than asked (a signal during a large
    //  read) or fail with EINTR; anything else is a failure the caller hears
    while (filled < size) {
        ssize_t got = source (bytes + filled, size - filled, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0 || (size_t) got > size - filled) {
            if (got >= 0) {
                errno = EIO; //  no progress, or more than asked: not a source to trust
            }
            memset (buffer, 0, size);
            return -1;
        }
        filled += (size_t) got;
    }
    return 0;
}
