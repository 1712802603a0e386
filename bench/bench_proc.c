/*
 * What bench_dash reads about its own process and store: CPU time, bytes
 * written, anonymous memory and the data file's size. Any thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "bench_dash.h"

/* This process's CPU time (all threads, the store's writer included), in
 * microseconds. */
double bench_cpu_us(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* From /proc/self/io: the bytes this process handed to write calls
 * (wchar: what LMDB wrote, page by page, about what reaches the disk) and
 * the kernel's write_bytes, which counts a whole large page-cache folio for
 * a page written into it and so overstates the disk's share several times
 * (docs/benchmarks.md, "MDB_WRITEMAP, and what write_bytes counts"); 0
 * where the kernel does not say. */
void bench_written_bytes(uint64_t *wchar, uint64_t *folios)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];

    *wchar = 0;
    *folios = 0;
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "wchar: ", 7) == 0) {
            *wchar = strtoull(line + 7, NULL, 10);
        } else if (strncmp(line, "write_bytes: ", 13) == 0) {
            *folios = strtoull(line + 13, NULL, 10);
        }
    }
    fclose(f);
}

/* This process's anonymous memory (/proc/self/status RssAnon), in KiB, or
 * 0 where the kernel does not say. */
long bench_rss_anon_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kib = 0;

    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "RssAnon:", 8) == 0) {
            kib = strtol(line + 8, NULL, 10);
        }
    }
    fclose(f);
    return kib;
}

/* The bytes of disk data.mdb in dir takes (its blocks), or -1. */
long long bench_file_bytes(const char *dir)
{
    char path[600];
    struct stat st;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &st) != 0) {
        return -1;
    }
    return (long long)st.st_blocks * 512;
}
