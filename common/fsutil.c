#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int fsutil_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) < 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}
