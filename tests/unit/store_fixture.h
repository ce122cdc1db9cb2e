/*
 * store_fixture.h — a new store in a temporary directory, for the unit tests that need one
 * (test_store, test_tablesync): eg_test_store_setup makes it, eg_test_store_teardown closes it
 * and removes the directory. Sourced after cmocka.h.
 */
#ifndef EG_TESTS_STORE_FIXTURE_H
#define EG_TESTS_STORE_FIXTURE_H

#include "store/store.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct fixture {
    char dir[256];
    char path[300];
    eg_store *st;
} fixture;

/* A fixture with a new store, its directory named after name; NULL on failure. */
static inline fixture *eg_test_store_setup(const char *name)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || eg_test_mkdtemp(f->dir, sizeof f->dir, name)) {
        free(f);
        return NULL;
    }
    snprintf(f->path, sizeof f->path, "%s/engram.db", f->dir);
    if (eg_store_open(&f->st, f->path, EG_STORE_CREATE)) {
        eg_test_rmtree(f->dir);
        free(f);
        return NULL;
    }
    return f;
}

static inline int eg_test_store_teardown(void **state)
{
    fixture *f = *state;
    eg_store_close(f->st);
    eg_test_rmtree(f->dir);
    free(f);
    return 0;
}

#endif
