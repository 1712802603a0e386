/*
 * fuzz_import: `coachqd import people FILE --dry-run` and `coachqd import
 * programme FILE`, end to end through admin_main() as an operator runs
 * them: the CSV reader, the column mapping, every field check and the
 * merge with what the store holds. The store is made once per process in a
 * temporary directory, opened once (admin_main_store()), and holds the
 * people of tests/fixtures/org.csv, so
 * that manager and person references can resolve. FUZZ_IMPORT names the
 * import ("people" or "programme"); the people import runs as a dry run,
 * so every input meets the same store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char csv_path[96];
static struct store *store;

static int run(const char *const *args, int n)
{
    char *argv[16];
    char copy[16][128];
    int i;

    for (i = 0; i < n; i++) {
        snprintf(copy[i], sizeof(copy[i]), "%s", args[i]);
        argv[i] = copy[i];
    }
    argv[n] = NULL;
    return store != NULL ? admin_main_store(store, n, argv) : admin_main(n, argv);
}

static void cleanup(void)
{
    char p[128];

    store_close(store);
    store = NULL;
    unlink(csv_path);
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *init[] = {"coachqd", "init", "--data", dir};
    const char *people[] = {"coachqd", "import", "people", COACHQ_FUZZ_ORG_CSV, "--data", dir};
    FILE *devnull = fopen("/dev/null", "w");
    struct store_policy policy;
    struct store_opts so;

    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "/tmp/coachq-fuzz-import-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    snprintf(csv_path, sizeof(csv_path), "%s/in.csv", dir);
    atexit(cleanup);
    if (run(init, 4) != 0 || run(people, 6) != 0) {
        abort();
    }
    store_policy_default(&policy);
    memset(&so, 0, sizeof(so));
    so.policy = &policy;
    if (store_open(dir, &so, &store) != 0) {
        abort();
    }
    /* The verbs' own messages would drown libFuzzer's; the sanitizers
     * write to file descriptor 2, which stays open. */
    if (devnull != NULL) {
        stdout = devnull;
        stderr = devnull;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *people[] = {"coachqd", "import", "people", csv_path, "--data", dir, "--dry-run"};
    const char *programme[] = {"coachqd", "import", "programme", csv_path, "--data", dir};
    FILE *f = fopen(csv_path, "wb");

    if (f == NULL) {
        abort();
    }
    if (size > 0 && fwrite(data, 1, size, f) != size) {
        abort();
    }
    fclose(f);
    if (strcmp(FUZZ_IMPORT, "people") == 0) {
        run(people, 7);
    } else {
        run(programme, 6);
    }
    return 0;
}
