/*
 * sdnotify: tells the service manager how coachqd is doing, with systemd's
 * notification protocol (sd_notify(3), "the documented socket protocol")
 * and without linking libsystemd.
 *
 * The manager passes a socket in $NOTIFY_SOCKET: a path, or an abstract
 * socket name written with a leading '@'. A state is one datagram of
 * newline-separated KEY=VALUE lines ("READY=1", "STATUS=...",
 * "RELOADING=1", "STOPPING=1") sent over an AF_UNIX SOCK_DGRAM socket.
 * Without $NOTIFY_SOCKET (not run by systemd, or not Type=notify) every
 * call does nothing and succeeds.
 *
 * Keeps no state; safe from any thread (each call opens and closes its own
 * socket).
 */
#ifndef COACHQ_SDNOTIFY_H
#define COACHQ_SDNOTIFY_H

#include <stddef.h>

/* The longest state sent in one datagram. */
#define SDNOTIFY_MAX 1024

/*
 * Sends state (NUL-terminated, borrowed for the call) to the socket named
 * by addr ("/run/..." or "@abstract"; borrowed for the call). Returns 0,
 * -EINVAL (addr empty, relative or too long for sun_path; state empty or
 * longer than SDNOTIFY_MAX), or a negative errno from socket() or
 * sendmsg().
 */
int sdnotify_send_to(const char *addr, const char *state);

/*
 * Sends state to $NOTIFY_SOCKET. Returns 0 without sending when the
 * variable is unset or empty; otherwise as sdnotify_send_to().
 */
int sdnotify_send(const char *state);

/*
 * Formats the state "RELOADING=1\nMONOTONIC_USEC=<now>" (CLOCK_MONOTONIC,
 * microseconds, as systemd expects it around a reload) into buf (size
 * buflen). Returns 0 or -ENOSPC.
 */
int sdnotify_reloading_state(char *buf, size_t buflen);

#endif
