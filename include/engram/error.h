/*
 * engram/error.h — the one error type of engram.
 *
 * Every fallible function returns an int: 0 (EG_OK) on success, a negative EG_E* code on failure.
 * Where the failure is found, the code sets the thread-local last error once with a short message,
 * and optionally a detail and a hint (PostgreSQL's message / detail / hint split). Callers read it
 * with eg_error_last(). Messages never contain secrets (passwords are masked before formatting).
 */
#ifndef ENGRAM_ERROR_H
#define ENGRAM_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    EG_OK = 0,
    EG_ENOMEM = -1,     /* out of memory, or a buffer's hard cap reached */
    EG_EUSAGE = -2,     /* bad command line or argument */
    EG_ECONFIG = -3,    /* bad configuration file, profile or setting */
    EG_EIO = -4,        /* a file could not be read or written */
    EG_ESTORE = -5,     /* the embedded store (SQLite) failed */
    EG_ESOURCE = -6,    /* the source answered with an error that a retry will not fix */
    EG_EUNAVAIL = -7,   /* the source stayed unreachable after every retry (temporary) */
    EG_EAUTH = -8,      /* the source refused our credentials */
    EG_ESCHEMA = -9,    /* the source table lacks a column or has a wrong type */
    EG_EBADINPUT = -10, /* input data is malformed (a file, a row) */
    EG_ENOTFOUND = -11, /* a named thing (memory, profile, file) does not exist */
    EG_EPERM = -12,     /* a file's permissions make it unsafe to use (secrets in 0644) */
    EG_EREADONLY = -13, /* the source session could not be made read-only */
    EG_EBUSY = -14, /* another connection held the store's lock past the busy timeout (temporary) */
};

typedef struct eg_error {
    int code;
    char message[512];
    char detail[1024];
    char hint[512];
} eg_error;

/* A static, human-readable name for a code ("source unreachable"). Never NULL. */
const char *eg_strerror(int code);

/* Sets the last error (message from fmt), clears detail and hint, and returns code. */
int eg_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a detail or a hint to the last error. */
void eg_error_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void eg_error_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The calling thread's last error; code is EG_OK when nothing failed. */
const eg_error *eg_error_last(void);
void eg_error_clear(void);

/* The process exit code for a result (SPEC §13): 0 ok, 2 usage/critical, 65 bad input,
 * 75 temporary failure. */
int eg_exit_code(int code);

#ifdef __cplusplus
}
#endif
#endif
