/*
 * tmpdir.h — a temporary directory for a unit test, and its removal with everything in it.
 * Shared by the unit tests that need files (test_config, test_file, test_store, test_tablesync).
 */
#ifndef EG_TESTS_TMPDIR_H
#define EG_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static inline int eg_test_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Makes a new directory /tmp/eg-test-NAME-XXXXXX, its path in dir (n bytes); 0 or -1. */
static inline int eg_test_mkdtemp(char *dir, size_t n, const char *name)
{
    int len = snprintf(dir, n, "/tmp/eg-test-%s-XXXXXX", name);
    return len > 0 && (size_t)len < n && mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and everything under it; 0 or -1. */
static inline int eg_test_rmtree(const char *dir)
{
    return nftw(dir, eg_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
