/*
 * error: coachq's error codes.
 *
 * Fallible functions return 0 or a negative code. Negative errno values
 * (-ENOMEM, -EPROTO, libuv's UV_E* which are the same numbers) pass through
 * unchanged; conditions errno cannot name have their own range below
 * ERROR_BASE. error_strerror() describes either kind.
 */
#ifndef COACHQ_ERROR_H
#define COACHQ_ERROR_H

#define ERROR_BASE (-20000)

enum {
    /* A frame's length prefix is zero. */
    ERROR_FRAME_EMPTY = ERROR_BASE - 1,
    /* A frame's length prefix is above the configured maximum. */
    ERROR_FRAME_TOO_LARGE = ERROR_BASE - 2,
    /* Decoding a frame needed more memory than its budget allows. */
    ERROR_BUDGET = ERROR_BASE - 3,
    /* The store failed in a way that forbids further writes (EIO, panic). */
    ERROR_STORE_FAILED = ERROR_BASE - 4,
    /* The peer presented no verified client certificate. */
    ERROR_NO_PEER_CERT = ERROR_BASE - 5,
    /* Anything a configuration or command line got wrong. */
    ERROR_CONFIG = ERROR_BASE - 6,
    /* The organisation's rules refused a request; a fault says why. */
    ERROR_REFUSED = ERROR_BASE - 7,
};

/*
 * Returns a static, human-readable description of rc (0, a negative errno or
 * an ERROR_* code). Thread-safe; the string is never freed.
 */
const char *error_strerror(int rc);

#endif
