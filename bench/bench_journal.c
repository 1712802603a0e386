/*
 * bench_journal: what journaling every keystroke costs the observer.
 *
 * `coachq observe` saves the whole session in progress to the local LMDB
 * store (localstore_session_save(), a durable commit) after every key. This
 * measures that save for a session that grows by one marker per key, and,
 * in the same run on the same disk, a baseline: writing the same bytes to a
 * plain file and fdatasync()ing it, the least any durable save can cost.
 * The figures are reported as latencies and as a ratio to the baseline,
 * because the machine's disk sets the absolute numbers.
 *
 * Usage: bench_journal [DIR] [KEYS]   (DIR: a scratch directory on the disk
 * to measure, default $TMPDIR or /tmp; KEYS: saves, default 500). It stops
 * by itself and removes what it wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coachq.pb-c.h"
#include "localstore.h"

#define MAX_KEYS 5000

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Mean and 99th percentile of n samples (sorted in place). */
static void summarise(double *v, size_t n, double *mean, double *p99)
{
    double sum = 0;

    qsort(v, n, sizeof(*v), cmp_double);
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
    }
    *mean = sum / (double)n;
    *p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    long keys = 500;
    char dir[512], file[600], err[512];
    static double t_store[MAX_KEYS], t_file[MAX_KEYS];
    static Coachq__V1__Marker marks[MAX_KEYS];
    static Coachq__V1__Marker *mp[MAX_KEYS];
    Coachq__V1__Observation draft = COACHQ__V1__OBSERVATION__INIT;
    Coachq__V1__LocalSession s = COACHQ__V1__LOCAL_SESSION__INIT;
    struct localstore *ls = NULL;
    uint8_t id[16] = {0x42};
    uint8_t *buf = NULL;
    double ms, sm, sp, fm, fp;
    int fd = -1, rc = 1;

    if (argc > 2) {
        char *end = NULL;

        keys = strtol(argv[2], &end, 10);
        if (end == argv[2] || *end != '\0' || keys < 10 || keys > MAX_KEYS) {
            fprintf(stderr, "usage: %s [DIR] [KEYS 10..%d]\n", argv[0], MAX_KEYS);
            return 2;
        }
    }
    snprintf(dir, sizeof(dir), "%s/bench-journal-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(file, sizeof(file), "%s/plain", dir);
    if (localstore_open(dir, &ls, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    buf = malloc(1 << 20);
    if (fd < 0 || buf == NULL) {
        fprintf(stderr, "cannot prepare %s\n", file);
        goto out;
    }
    draft.id.data = id;
    draft.id.len = sizeof(id);
    draft.rubric_id = (char *)"coaching-conversation";
    draft.rubric_version = 1;
    draft.coach_id = (char *)"flm.garcia";
    draft.coachee_id = (char *)"rep.0014";
    draft.markers = mp;
    s.draft = &draft;
    for (long k = 0; k < keys; k++) {
        size_t n;

        coachq__v1__marker__init(&marks[k]);
        marks[k].kind = (Coachq__V1__MarkerKind)(1 + k % 7);
        marks[k].offset_ms = (uint32_t)(k * 2500);
        mp[k] = &marks[k];
        draft.n_markers = (size_t)k + 1;
        s.elapsed_ms = (uint64_t)k * 2500;
        s.updated_at_ms = (int64_t)k;

        ms = now_ms();
        if (localstore_session_save(ls, &s) < 0) {
            fprintf(stderr, "localstore_session_save failed\n");
            goto out;
        }
        t_store[k] = now_ms() - ms;

        n = coachq__v1__local_session__get_packed_size(&s);
        coachq__v1__local_session__pack(&s, buf);
        ms = now_ms();
        if (pwrite(fd, buf, n, 0) != (ssize_t)n || fdatasync(fd) < 0) {
            fprintf(stderr, "write %s: %s\n", file, strerror(errno));
            goto out;
        }
        t_file[k] = now_ms() - ms;
    }
    summarise(t_store, (size_t)keys, &sm, &sp);
    summarise(t_file, (size_t)keys, &fm, &fp);
    printf("keys        %ld saves of a session growing to %ld markers (%zu bytes)\n", keys, keys,
           coachq__v1__local_session__get_packed_size(&s));
    printf("baseline    write + fdatasync of the same bytes: mean %.3f ms, p99 %.3f ms\n", fm, fp);
    printf("journal     localstore_session_save:             mean %.3f ms, p99 %.3f ms\n", sm, sp);
    printf("ratio       journal / baseline = %.2fx (mean), %.2fx (p99)\n", sm / fm, sp / fp);
    rc = 0;
out:
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    localstore_close(ls);
    unlink(file);
    snprintf(file, sizeof(file), "%s/data.mdb", dir);
    unlink(file);
    snprintf(file, sizeof(file), "%s/lock.mdb", dir);
    unlink(file);
    rmdir(dir);
    return rc;
}
