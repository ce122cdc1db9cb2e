/*
 * test_conninfo.c — unit tests of core/conninfo.c that need no server (PQconninfoParse is
 * local). Covered: eg_conninfo_resolve_paths, which prefixes a config file's folder to the
 * relative file names of a libpq string (passfile, sslcert, sslkey, sslrootcert, sslcrl,
 * sslcrldir) in keyword=value form and in URI query parameters, and keeps everything else as
 * written: absolute and empty values, sslrootcert=system, sslkey=engine:key, other keywords, the
 * keyword order, quoting, the password. Values and folders with spaces or quotes are quoted
 * (keyword form) or percent-encoded (URI); every result is checked again through libpq's parse.
 * Also: eg_conninfo_mask keeps a keyword string as written (order, spacing, quoting), only the
 * password and sslpassword masked. More masking cases are in tests/integration/test_pg_source.c
 * (test_conninfo_mask, which needs no server).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/conninfo.h"
#include "engram/error.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value libpq reads for keyword in conninfo (NULL when unset), malloc'ed. */
static char *parsed(const char *conninfo, const char *keyword)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (!opts)
        fail_msg("libpq rejects \"%s\": %s", conninfo, err ? err : "?");
    char *v = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, keyword) && o->val)
            v = strdup(o->val);
    PQconninfoFree(opts);
    return v;
}

static void expect_parsed(const char *conninfo, const char *keyword, const char *want)
{
    char *v = parsed(conninfo, keyword);
    if (want ? !v || strcmp(v, want) : v != NULL)
        fail_msg("%s in \"%s\": libpq reads \"%s\", want \"%s\"", keyword, conninfo,
                 v ? v : "(unset)", want ? want : "(unset)");
    free(v);
}

/* Resolves in against dir and expects the text want exactly. */
static void expect_resolved(const char *in, const char *dir, const char *want)
{
    char *out = (char *)1;
    assert_int_equal(eg_conninfo_resolve_paths(in, dir, &out), 0);
    assert_non_null(out);
    if (strcmp(out, want))
        fail_msg("resolving \"%s\" against \"%s\":\n got  \"%s\"\n want \"%s\"", in,
                 dir ? dir : "(null)", out, want);
    free(out);
}

static void test_keyword_form(void **state)
{
    (void)state;
    /* the order and spacing as written; only the relative file name changes */
    expect_resolved("sslmode=verify-full  sslrootcert=ca.crt host=db dbname=notes", "/etc/engram",
                    "sslmode=verify-full  sslrootcert=/etc/engram/ca.crt host=db dbname=notes");
    /* every file keyword of libpq 15, with spaces around '=' as libpq allows */
    expect_resolved("host=h passfile = pgpass sslcert=c.crt sslkey=k/c.key sslrootcert=../ca.crt "
                    "sslcrl=r.crl sslcrldir=crl.d",
                    "/srv/conf",
                    "host=h passfile = /srv/conf/pgpass sslcert=/srv/conf/c.crt "
                    "sslkey=/srv/conf/k/c.key sslrootcert=/srv/conf/../ca.crt "
                    "sslcrl=/srv/conf/r.crl sslcrldir=/srv/conf/crl.d");
    /* a file keyword written last, and a folder with a trailing slash */
    expect_resolved("host=h sslrootcert=ca.crt", "/", "host=h sslrootcert=/ca.crt");
}

static void test_kept_values(void **state)
{
    (void)state;
    /* absolute, empty, system, an engine key, and keywords that do not name files */
    const char *kept =
        "host=/var/run/postgresql sslrootcert=system sslcert=/etc/c.crt sslkey=eng:k "
        "sslcrl='' sslcrldir='' passfile=/home/u/.pgpass service=prod dbname=rel.db "
        "user=u";
    expect_resolved(kept, "/etc/engram", kept);
    /* no folder (the command line, the environment): nothing changes */
    expect_resolved("sslrootcert=ca.crt", NULL, "sslrootcert=ca.crt");
    expect_resolved("postgresql://h/db?sslrootcert=ca.crt", NULL,
                    "postgresql://h/db?sslrootcert=ca.crt");
    /* no file name at all, or an empty or NULL string */
    expect_resolved("postgresql://u@h:5433/db?sslmode=require", "/etc",
                    "postgresql://u@h:5433/db?sslmode=require");
    expect_resolved("", "/etc", "");
    expect_resolved(NULL, "/etc", "");
    /* a string libpq rejects is kept for the error config check and the source give it */
    expect_resolved("sslrootcert='ca.crt", "/etc", "sslrootcert='ca.crt");
    expect_resolved("nosuchkey=1 sslrootcert=ca.crt", "/etc", "nosuchkey=1 sslrootcert=ca.crt");
}

static void test_quoting(void **state)
{
    (void)state;
    /* a folder with a space: the value is quoted */
    const char *in = "host=h sslrootcert=ca.crt user=u";
    expect_resolved(in, "/my conf", "host=h sslrootcert='/my conf/ca.crt' user=u");
    expect_parsed("host=h sslrootcert='/my conf/ca.crt' user=u", "sslrootcert", "/my conf/ca.crt");
    /* quoted and escaped values are read the libpq way, then quoted again as needed */
    expect_resolved(
        "sslcert='my cert.pem' sslkey=my\\ key.pem sslcrl='r.crl' host=h", "/etc",
        "sslcert='/etc/my cert.pem' sslkey='/etc/my key.pem' sslcrl='/etc/r.crl' host=h");
    expect_resolved("sslrootcert='it\\'s.crt'", "/o'k", "sslrootcert='/o\\'k/it\\'s.crt'");
    expect_parsed("sslrootcert='/o\\'k/it\\'s.crt'", "sslrootcert", "/o'k/it's.crt");
    /* a quoted value need not be followed by a space: it stays quoted */
    expect_resolved("sslrootcert='ca.crt'host=h", "/etc", "sslrootcert='/etc/ca.crt'host=h");
    expect_parsed("sslrootcert='/etc/ca.crt'host=h", "host", "h");
}

static void test_uri_form(void **state)
{
    (void)state;
    expect_resolved(
        "postgresql://reader@db.example:5432/notes?sslmode=verify-full&sslrootcert=ca.crt"
        "&application_name=x",
        "/etc/engram",
        "postgresql://reader@db.example:5432/notes?sslmode=verify-full&"
        "sslrootcert=/etc/engram/ca.crt&application_name=x");
    /* postgres:// too; absolute (also percent-encoded), empty and system values stay */
    const char *kept = "postgres://h/db?sslcert=/a/c.crt&sslkey=%2Fa%2Fc.key&sslcrl=&"
                       "sslrootcert=system";
    expect_resolved(kept, "/etc", kept);
    /* a folder with a space is percent-encoded; the value keeps its own encoding */
    const char *out =
        "postgresql://h/db?sslrootcert=/my%20conf/certs/ca%20x.crt&passfile=/my%20conf/pw";
    expect_resolved("postgresql://h/db?sslrootcert=certs/ca%20x.crt&passfile=pw", "/my conf", out);
    expect_parsed(out, "sslrootcert", "/my conf/certs/ca x.crt");
    expect_parsed(out, "passfile", "/my conf/pw");
    /* a percent-encoded keyword is still that keyword */
    expect_resolved("postgresql://h/db?ssl%72ootcert=ca.crt", "/etc",
                    "postgresql://h/db?ssl%72ootcert=/etc/ca.crt");
    /* a '?' in the user info (libpq ends the user info at '@') is not the query */
    expect_resolved("postgresql://u:pw?x@h/db?sslrootcert=ca.crt", "/etc",
                    "postgresql://u:pw?x@h/db?sslrootcert=/etc/ca.crt");
}

static void test_password_kept(void **state)
{
    (void)state;
    /* the password is the caller's to guard: it is kept, not masked, and nothing is printed */
    expect_resolved("host=h password='s3 cret' sslrootcert=ca.crt", "/etc",
                    "host=h password='s3 cret' sslrootcert=/etc/ca.crt");
    expect_resolved("postgresql://u:s3cret@h/db?sslkey=k.pem", "/etc",
                    "postgresql://u:s3cret@h/db?sslkey=/etc/k.pem");
    assert_true(eg_conninfo_has_password("postgresql://u:s3cret@h/db?sslkey=/etc/k.pem"));
}

/* Masks conninfo into a buffer and expects want exactly, with nothing of secret left. */
static void expect_masked(const char *conninfo, const char *secret, const char *want)
{
    char out[512];
    assert_int_equal(eg_conninfo_mask(conninfo, out, sizeof out), 0);
    if (strcmp(out, want))
        fail_msg("masking \"%s\":\n got  \"%s\"\n want \"%s\"", conninfo, out, want);
    assert_null(strstr(out, secret));
}

static void test_mask_keeps_order(void **state)
{
    (void)state;
    /* a keyword string is shown as written, keywords in the user's order, only secrets masked */
    expect_masked("sslmode=verify-full  host=db password='s3 cret' sslrootcert=/etc/ca.crt user=u",
                  "s3 cret",
                  "sslmode=verify-full  host=db password=**** sslrootcert=/etc/ca.crt user=u");
    expect_masked("user=u sslkey=/k.pem sslpassword=s3cret host=h", "s3cret",
                  "user=u sslkey=/k.pem sslpassword=**** host=h");
    expect_masked("dbname='my db' host=h", "\x01", "dbname='my db' host=h");
    /* a keyword right after a quoted password: the mask keeps the quotes */
    expect_masked("password='s3cret'host=h", "s3cret", "password='****'host=h");
    expect_parsed("password='****'host=h", "host", "h");
    /* a connection string nested in dbname is rebuilt, its password masked inside */
    char out[512];
    assert_int_equal(eg_conninfo_mask("user=u dbname='host=h password=s3cret'", out, sizeof out),
                     0);
    assert_null(strstr(out, "s3cret"));
    assert_non_null(strstr(out, "password=****"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyword_form),  cmocka_unit_test(test_kept_values),
        cmocka_unit_test(test_quoting),       cmocka_unit_test(test_uri_form),
        cmocka_unit_test(test_password_kept), cmocka_unit_test(test_mask_keeps_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
