#include "error.h"

#include <string.h>

const char *error_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "success";
    case ERROR_FRAME_EMPTY:
        return "frame has length zero";
    case ERROR_FRAME_TOO_LARGE:
        return "frame is larger than the maximum frame size";
    case ERROR_BUDGET:
        return "decoding the frame needs more memory than its budget";
    case ERROR_STORE_FAILED:
        return "the store failed and refuses writes";
    case ERROR_NO_PEER_CERT:
        return "no verified client certificate";
    case ERROR_CONFIG:
        return "invalid configuration";
    case ERROR_REFUSED:
        return "refused by the organisation's rules";
    default:
        break;
    }
    if (rc < 0 && rc > ERROR_BASE) {
        /* strerror() is not required to be thread-safe, but glibc's returns
         * static strings for every known errno value. */
        return strerror(-rc);
    }
    return "unknown error";
}
