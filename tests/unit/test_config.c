/*
 * test_config.c — unit tests of core/config.c. Every test runs in a fresh temporary tree: HOME and
 * XDG_CONFIG_HOME point at empty folders, ENGRAM_CONFIG and ENGRAM_PROFILE are unset and the
 * working directory is an empty folder, so no real configuration is ever read. Covered: the
 * defaults with no file; the defaults section and [profile NAME] overrides; unknown profiles (the
 * message names the profile and the file, the detail lists the profiles); ENGRAM_PROFILE; the
 * search order (--config, ENGRAM_CONFIG, ./engram.conf, $XDG_CONFIG_HOME, ~/.config); relative
 * `store` and `source = sqlite:` paths, and the relative file names of a PostgreSQL `source`
 * (sslrootcert=ca.crt, ?passfile=pgpass), resolved against the file's folder; unknown keys,
 * sections and bad values reported as "file:LINE: ..." naming the key; staging.max_age forms; the
 * password rule (a file holding a password must be mode 0600; --source may not hold one); and
 * eg_config_visit (stable order, masked secrets, origins default / file / profile NAME /
 * command line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "engram/config.h"
#include "engram/error.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define US 1000000LL

typedef struct fixture {
    char root[512]; /* realpath of the temporary tree */
    char home[600]; /* $HOME, also $XDG_CONFIG_HOME unless a test changes it */
    char cwd[600];  /* the working directory of the test */
    char old_cwd[PATH_MAX];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char tmpl[64], real[PATH_MAX];
    if (!f || eg_test_mkdtemp(tmpl, sizeof tmpl, "config") || !realpath(tmpl, real) ||
        strlen(real) >= sizeof f->root || !getcwd(f->old_cwd, sizeof f->old_cwd))
        return -1;
    memcpy(f->root, real, strlen(real) + 1);
    snprintf(f->home, sizeof f->home, "%s/home", f->root);
    snprintf(f->cwd, sizeof f->cwd, "%s/cwd", f->root);
    if (mkdir(f->home, 0700) || mkdir(f->cwd, 0700) || chdir(f->cwd))
        return -1;
    setenv("HOME", f->home, 1);
    setenv("XDG_CONFIG_HOME", f->home, 1);
    unsetenv("ENGRAM_CONFIG");
    unsetenv("ENGRAM_PROFILE");
    eg_error_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (chdir(f->old_cwd))
        return -1;
    eg_test_rmtree(f->root);
    unsetenv("ENGRAM_CONFIG");
    unsetenv("ENGRAM_PROFILE");
    free(f);
    return 0;
}

/* Writes text to root/rel (creating parent folders one level deep) with the given mode; returns
 * the absolute path in a static buffer. */
static const char *write_file(const fixture *f, const char *rel, const char *text, mode_t mode)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", f->root, rel);
    char dir[PATH_MAX];
    memcpy(dir, path, strlen(path) + 1);
    for (char *p = dir + strlen(f->root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(dir, 0700);
        *p = '/';
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    assert_int_equal(chmod(path, mode), 0); /* the umask does not decide the mode */
    return path;
}

static void expect_error(int rc, int want_rc)
{
    if (rc != want_rc)
        fail_msg("rc %d (%s), want %d; message: %s", rc, eg_strerror(rc), want_rc,
                 eg_error_last()->message);
    assert_int_equal(eg_error_last()->code, want_rc);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)", needle);
}

/* ---- visiting ---- */

typedef struct visit_log {
    int n;
    char *key[64], *value[64], *origin[64];
} visit_log;

static void on_visit(const char *key, const char *value, const char *origin, void *ud)
{
    visit_log *l = ud;
    assert_true(l->n < 64);
    l->key[l->n] = strdup(key);
    l->value[l->n] = value ? strdup(value) : NULL; /* (NULL: no value) */
    l->origin[l->n] = strdup(origin);
    l->n++;
}

static void visit_free(visit_log *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->key[i]);
        free(l->value[i]);
        free(l->origin[i]);
    }
    l->n = 0;
}

static int visit_find(const visit_log *l, const char *key)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->key[i], key))
            return i;
    fail_msg("eg_config_visit did not report %s", key);
    return -1;
}

static void expect_visit(const visit_log *l, const char *key, const char *value, const char *origin)
{
    int i = visit_find(l, key);
    const char *got = l->value[i] ? l->value[i] : "(NULL)", *want = value ? value : "(NULL)";
    if ((!l->value[i] != !value) || strcmp(got, want) || strcmp(l->origin[i], origin))
        fail_msg("%s: got \"%s\" from \"%s\", want \"%s\" from \"%s\"", key, got, l->origin[i],
                 want, origin);
}

/* ---- tests ---- */

static void test_defaults_without_file(void **state)
{
    (void)state;
    eg_config c;
    assert_int_equal(eg_config_load(&c, NULL), 0);
    assert_null(c.file);
    assert_null(c.profile);
    assert_string_equal(c.store, "engram.db");
    assert_null(c.source);
    assert_string_equal(c.source_schema, "public");
    assert_string_equal(c.source_table, "memories");
    assert_string_equal(c.col_id, "id");
    assert_string_equal(c.col_content, "content");
    assert_string_equal(c.col_created_at, "created_at");
    assert_string_equal(c.col_updated_at, "updated_at");
    assert_string_equal(c.col_metadata, "metadata");
    assert_null(c.source_system);
    assert_int_equal(c.source_lookback, 300 * US);
    assert_int_equal(c.source_connect_timeout, 5 * US);
    assert_int_equal(c.source_statement_timeout, 600 * US);
    assert_int_equal(c.source_retries, 4);
    assert_int_equal(c.source_retry_delay, 500000);
    assert_int_equal(c.staging_max_age_months, 12);
    assert_int_equal(c.staging_max_age_days, 0);
    assert_string_equal(c.staging_max_age_text, "1 year");
    assert_string_equal(c.staging_language, "english");
    assert_int_equal(c.staging_max_concepts, 32);
    assert_int_equal(c.ingest_batch_rows, 10000);
    eg_config_free(&c);
    assert_null(c.store);
    eg_config_free(&c); /* twice is fine */
    eg_config_free(NULL);

    /* an args struct with nothing set is the same as NULL */
    eg_config_args a = {0};
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_null(c.file);
    assert_string_equal(c.store, "engram.db");
    eg_config_free(&c);
}

static const char *const two_profiles = "# engram configuration\n"
                                        "store = base.db\n"
                                        "source.table = notes\n"
                                        "staging.max_concepts = 10\n"
                                        "\n"
                                        "[profile dev]\n"
                                        "store = /abs/dev.db\n"
                                        "source.table = dev_notes\n"
                                        "source.lookback = 2h\n"
                                        "\n"
                                        "[profile prod]\n"
                                        "source.retries = 9\n";

static void test_file_defaults_section(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf", two_profiles, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.file, path);
    assert_null(c.profile);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof want, "%s/etc/base.db", f->root);
    assert_string_equal(c.store, want);
    assert_string_equal(c.source_table, "notes");
    assert_int_equal(c.staging_max_concepts, 10);
    /* the profiles' values are not applied without a profile */
    assert_int_equal(c.source_lookback, 300 * US);
    assert_int_equal(c.source_retries, 4);
    eg_config_free(&c);
}

static void test_profile_overrides(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf", two_profiles, 0644);
    eg_config_args a = {.config_file = path, .profile = "dev"};
    eg_config c;
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.profile, "dev");
    assert_string_equal(c.store, "/abs/dev.db");
    assert_string_equal(c.source_table, "dev_notes");
    assert_int_equal(c.source_lookback, 2 * 3600 * US);
    assert_int_equal(c.staging_max_concepts, 10); /* from the defaults section */
    assert_int_equal(c.source_retries, 4);        /* prod's value is not applied */

    visit_log l = {0};
    eg_config_visit(&c, on_visit, &l);
    expect_visit(&l, "store", "/abs/dev.db", "profile dev");
    expect_visit(&l, "source.table", "dev_notes", "profile dev");
    expect_visit(&l, "source.lookback", "7200s", "profile dev");
    expect_visit(&l, "staging.max_concepts", "10", "file");
    expect_visit(&l, "source.retries", "4", "default");
    expect_visit(&l, "source.schema", "public", "default");
    visit_free(&l);
    eg_config_free(&c);

    a.profile = "prod";
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.profile, "prod");
    assert_int_equal(c.source_retries, 9);
    assert_string_equal(c.source_table, "notes");
    eg_config_free(&c);
}

static void test_unknown_profile(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf", two_profiles, 0644);
    eg_config_args a = {.config_file = path, .profile = "staging"};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "unknown profile \"staging\" in %s", path);
    assert_string_equal(eg_error_last()->message, want);
    snprintf(want, sizeof want, "profiles in %s: dev, prod", path);
    assert_string_equal(eg_error_last()->detail, want);
    assert_null(c.store); /* cfg is freed on error */

    /* a file without profiles says so */
    path = write_file(f, "etc/plain.conf", "store = x.db\n", 0644);
    a.config_file = path;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    assert_contains(eg_error_last()->message, "\"staging\"");
    assert_contains(eg_error_last()->message, path);
    assert_contains(eg_error_last()->detail, "(none)");

    /* a profile and no config file at all */
    a.config_file = NULL;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    assert_contains(eg_error_last()->message, "\"staging\"");
}

/* A profile that exists but overrides nothing ([profile plain] with no keys) is still a profile. */
static void test_empty_profile_section(void **state)
{
    fixture *f = *state;
    const char *path = write_file(
        f, "etc/engram.conf", "store = x.db\n[profile plain]\n[profile dev]\nstore = y.db\n", 0644);
    eg_config_args a = {.config_file = path, .profile = "plain"};
    eg_config c;
    int rc = eg_config_load(&c, &a);
    if (rc)
        fail_msg("empty profile rejected: %s / %s", eg_error_last()->message,
                 eg_error_last()->detail);
    assert_string_equal(c.profile, "plain");
    eg_config_free(&c);
}

static void test_engram_profile_env(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf", two_profiles, 0644);
    eg_config c;
    setenv("ENGRAM_PROFILE", "prod", 1);
    eg_config_args a = {.config_file = path};
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.profile, "prod");
    assert_int_equal(c.source_retries, 9);
    eg_config_free(&c);
    /* --profile wins over the environment */
    a.profile = "dev";
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.profile, "dev");
    assert_int_equal(c.source_retries, 4);
    eg_config_free(&c);
    /* an empty ENGRAM_PROFILE selects no profile */
    setenv("ENGRAM_PROFILE", "", 1);
    a.profile = NULL;
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_null(c.profile);
    eg_config_free(&c);
    /* an unknown one is an error like --profile */
    setenv("ENGRAM_PROFILE", "nope", 1);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    assert_contains(eg_error_last()->message, "\"nope\"");
}

static void test_search_order(void **state)
{
    fixture *f = *state;
    const char *given =
        strdup(write_file(f, "given/engram.conf", "source.table = t_given\n", 0644));
    const char *env = strdup(write_file(f, "env/engram.conf", "source.table = t_env\n", 0644));
    char xdg[600], home2[600];
    snprintf(xdg, sizeof xdg, "%s/xdg", f->root);
    snprintf(home2, sizeof home2, "%s/home2", f->root);
    write_file(f, "xdg/engram/engram.conf", "source.table = t_xdg\n", 0644);
    write_file(f, "home2/.config/engram/engram.conf", "source.table = t_home\n", 0644);
    write_file(f, "cwd/engram.conf", "source.table = t_cwd\n", 0644);
    eg_config c;
    eg_config_args a = {.config_file = given};

    setenv("ENGRAM_CONFIG", env, 1);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    setenv("HOME", home2, 1);
    /* 1. --config */
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.source_table, "t_given");
    assert_string_equal(c.file, given);
    eg_config_free(&c);
    /* 2. ENGRAM_CONFIG */
    assert_int_equal(eg_config_load(&c, NULL), 0);
    assert_string_equal(c.source_table, "t_env");
    assert_string_equal(c.file, env);
    eg_config_free(&c);
    /* 3. ./engram.conf */
    unsetenv("ENGRAM_CONFIG");
    assert_int_equal(eg_config_load(&c, NULL), 0);
    assert_string_equal(c.source_table, "t_cwd");
    eg_config_free(&c);
    /* 4. $XDG_CONFIG_HOME/engram/engram.conf */
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/engram.conf", f->cwd);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(eg_config_load(&c, NULL), 0);
    assert_string_equal(c.source_table, "t_xdg");
    snprintf(p, sizeof p, "%s/engram/engram.conf", xdg);
    assert_string_equal(c.file, p);
    eg_config_free(&c);
    /* 5. ~/.config/engram/engram.conf when XDG_CONFIG_HOME is not set */
    unsetenv("XDG_CONFIG_HOME");
    assert_int_equal(eg_config_load(&c, NULL), 0);
    assert_string_equal(c.source_table, "t_home");
    eg_config_free(&c);
    /* nothing found: defaults */
    setenv("HOME", f->home, 1);
    assert_int_equal(eg_config_load(&c, NULL), 0);
    assert_null(c.file);
    assert_string_equal(c.source_table, "memories");
    eg_config_free(&c);
    /* an ENGRAM_CONFIG naming a missing file is an error, not a silent fallback */
    snprintf(p, sizeof p, "%s/missing.conf", f->root);
    setenv("ENGRAM_CONFIG", p, 1);
    expect_error(eg_config_load(&c, NULL), EG_EIO);
    assert_contains(eg_error_last()->message, p);
    free((void *)given);
    free((void *)env);
}

static void test_relative_paths(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "conf/sub/engram.conf",
                                  "store = x.db\n"
                                  "source = sqlite:data/rel.db\n"
                                  "[profile abs]\n"
                                  "store = /var/lib/engram/x.db\n"
                                  "source = sqlite:/srv/src.db\n"
                                  "[profile up]\n"
                                  "store = ../up.db\n",
                                  0644);
    char want[PATH_MAX + 64];
    eg_config c;
    eg_config_args a = {.config_file = path};
    assert_int_equal(eg_config_load(&c, &a), 0);
    snprintf(want, sizeof want, "%s/conf/sub/x.db", f->root);
    assert_string_equal(c.store, want);
    snprintf(want, sizeof want, "sqlite:%s/conf/sub/data/rel.db", f->root);
    assert_string_equal(c.source, want);
    eg_config_free(&c);

    a.profile = "abs";
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.store, "/var/lib/engram/x.db");
    assert_string_equal(c.source, "sqlite:/srv/src.db");
    eg_config_free(&c);

    a.profile = "up";
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_true(c.store[0] == '/');
    snprintf(want, sizeof want, "%s/conf/sub/../up.db", f->root);
    assert_string_equal(c.store, want);
    eg_config_free(&c);

    /* a relative --config path: the folder is still made absolute */
    assert_int_equal(chdir(f->root), 0);
    a.config_file = "conf/sub/engram.conf";
    a.profile = NULL;
    assert_int_equal(eg_config_load(&c, &a), 0);
    snprintf(want, sizeof want, "%s/conf/sub/x.db", f->root);
    assert_string_equal(c.store, want);
    eg_config_free(&c);

    /* ./engram.conf found in the working directory: paths resolve against it, absolutely */
    assert_int_equal(chdir(f->cwd), 0);
    write_file(f, "cwd/engram.conf", "store = here.db\n", 0644);
    assert_int_equal(eg_config_load(&c, NULL), 0);
    snprintf(want, sizeof want, "%s/here.db", f->cwd);
    assert_string_equal(c.store, want);
    eg_config_free(&c);

    /* command-line paths are the user's, relative to the working directory: left as given */
    eg_config_args cli = {.store = "cli.db", .source = "sqlite:cli-src.db"};
    assert_int_equal(eg_config_load(&c, &cli), 0);
    assert_string_equal(c.store, "cli.db");
    assert_string_equal(c.source, "sqlite:cli-src.db");
    eg_config_free(&c);
}

/* A PostgreSQL source in a config file: its relative file names (sslrootcert=ca.crt) resolve
 * against the file's folder like store and sqlite: paths, in both forms; the rest stays as
 * written. --source is the user's, relative to the working directory, and is left alone. */
static void test_relative_conninfo_paths(void **state)
{
    fixture *f = *state;
    const char *path =
        write_file(f, "conf/my sub/engram.conf",
                   "source = sslmode=verify-full host=db sslrootcert=ca.crt sslcert=/abs/c.crt\n"
                   "[profile uri]\n"
                   "source = postgresql://r@db/notes?sslrootcert=certs/ca.crt&sslkey=&"
                   "passfile=pgpass\n"
                   "[profile sys]\n"
                   "source = host=db sslrootcert=system sslkey='my key.pem'\n"
                   "[profile pw]\n"
                   "source = host=db password=secret sslcrl=r.crl\n",
                   0600);
    char want[PATH_MAX + 256];
    eg_config c;
    eg_config_args a = {.config_file = path};
    assert_int_equal(eg_config_load(&c, &a), 0);
    snprintf(want, sizeof want,
             "sslmode=verify-full host=db sslrootcert='%s/conf/my sub/ca.crt' sslcert=/abs/c.crt",
             f->root);
    assert_string_equal(c.source, want);
    eg_config_free(&c);

    a.profile = "uri";
    assert_int_equal(eg_config_load(&c, &a), 0);
    snprintf(want, sizeof want,
             "postgresql://r@db/notes?sslrootcert=%s/conf/my%%20sub/certs/ca.crt&sslkey=&"
             "passfile=%s/conf/my%%20sub/pgpass",
             f->root, f->root);
    assert_string_equal(c.source, want);
    eg_config_free(&c);

    a.profile = "sys";
    assert_int_equal(eg_config_load(&c, &a), 0);
    snprintf(want, sizeof want, "host=db sslrootcert=system sslkey='%s/conf/my sub/my key.pem'",
             f->root);
    assert_string_equal(c.source, want);
    eg_config_free(&c);

    /* a password stays in the string (the source needs it) but never shows */
    a.profile = "pw";
    assert_int_equal(eg_config_load(&c, &a), 0);
    snprintf(want, sizeof want, "host=db password=secret sslcrl='%s/conf/my sub/r.crl'", f->root);
    assert_string_equal(c.source, want);
    visit_log l = {0};
    eg_config_visit(&c, on_visit, &l);
    int i = visit_find(&l, "source");
    assert_null(strstr(l.value[i], "secret"));
    assert_contains(l.value[i], "password=****");
    snprintf(want, sizeof want, "sslcrl='%s/conf/my sub/r.crl'", f->root);
    assert_contains(l.value[i], want);
    visit_free(&l);
    eg_config_free(&c);

    /* the command line is not resolved, even with a config file */
    eg_config_args cli = {.config_file = path, .source = "host=db sslrootcert=ca.crt"};
    assert_int_equal(eg_config_load(&c, &cli), 0);
    assert_string_equal(c.source, "host=db sslrootcert=ca.crt");
    eg_config_free(&c);
}

static void test_empty_source_is_null(void **state)
{
    fixture *f = *state;
    const char *path =
        write_file(f, "etc/engram.conf", "source = sqlite:a.db\n[profile own]\nsource =\n", 0644);
    eg_config_args a = {.config_file = path, .profile = "own"};
    eg_config c;
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_null(c.source);
    eg_config_free(&c);
}

static void test_unknown_key(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf",
                                  "store = x.db\n"
                                  "; a comment\n"
                                  "source.tabel = notes\n",
                                  0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "%s:3: unknown key \"source.tabel\"", path);
    assert_string_equal(eg_error_last()->message, want);
    /* the hint names the key that was probably meant (no hint existed before) */
    assert_string_equal(eg_error_last()->hint,
                        "did you mean source.table? `engram config check` lists every key");
    assert_null(c.store);

    /* in a profile (even one not selected) */
    path = write_file(f, "etc/engram.conf",
                      "store = x.db\n"
                      "[profile dev]\n"
                      "store = y.db\n"
                      "colour = blue\n",
                      0644);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:4: unknown key \"colour\" in [profile dev]", path);
    assert_string_equal(eg_error_last()->message, want);
    assert_string_equal(eg_error_last()->hint, "`engram config check` lists every key");
    path = write_file(f, "etc/engram.conf", "WM.Capacity = 5\n", 0644);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    assert_string_equal(eg_error_last()->hint,
                        "did you mean wm.capacity? `engram config check` lists every key");
}

static void test_unknown_section_and_syntax(void **state)
{
    fixture *f = *state;
    const char *path =
        write_file(f, "etc/engram.conf", "store = x.db\n\n[database]\nhost = h\n", 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "%s:4: unknown section [database]", path);
    assert_string_equal(eg_error_last()->message, want);

    path = write_file(f, "etc/engram.conf", "store = x.db\nthis line has no equals sign\n", 0644);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: syntax error", path);
    assert_string_equal(eg_error_last()->message, want);

    /* regression: a section with no keys was silently ignored, a misspelt [profil dev] or a
     * nameless [profile] too (inih calls back only for keys) */
    path = write_file(f, "etc/engram.conf", "store = x.db\n[profil dev]\n", 0644);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: unknown section [profil dev]", path);
    assert_string_equal(eg_error_last()->message, want);
    path = write_file(f, "etc/engram.conf", "[profile a]\n[profile]\n[x]\n", 0644);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: unknown section [profile]", path);
    assert_string_equal(eg_error_last()->message, want);

    /* regression: with --profile A, a file whose only section is "[ profile A]" said 'unknown
     * profile "A"', profiles "(none)", and never named the section that was meant */
    path = write_file(f, "etc/engram.conf", "store = x.db\n[ profile A]\nstore = y.db\n", 0644);
    eg_config_args ap = {.config_file = path, .profile = "A"};
    expect_error(eg_config_load(&c, &ap), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: unknown section [ profile A]", path);
    assert_string_equal(eg_error_last()->message, want);
    /* likewise a misspelt [profil b] when the profile wanted is not in the file */
    path = write_file(f, "etc/engram.conf", "[profile a]\nstore = y.db\n[profil b]\n", 0644);
    eg_config_args aq = {.config_file = path, .profile = "c"};
    expect_error(eg_config_load(&c, &aq), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:3: unknown section [profil b]", path);
    assert_string_equal(eg_error_last()->message, want);
}

/* Regression: inih took an indented line as the continuation of the previous value, so in a
 * profile indented git-style the second key's whole line became the first key's value (store =
 * "/etc/wm.tick = 30s", silently) or a baffling "wm.tick = \"store = y.db\" is not a duration".
 * Indentation means nothing: every line stands on its own, with the line numbers of the file. */
static void test_indented_lines(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf",
                                  "  store = x.db\n"
                                  "\twm.tick = 30s\n"
                                  "[profile p]\n"
                                  "\tstore = y.db\n"
                                  "\twm.tau = 60s\n"
                                  "    wm.capacity = 5\n",
                                  0644);
    eg_config_args a = {.config_file = path, .profile = "p"};
    eg_config c;
    assert_int_equal(eg_config_load(&c, &a), 0);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "%s/etc/y.db", f->root);
    assert_string_equal(c.store, want);
    assert_int_equal(c.wm_tick, 30 * US);
    assert_int_equal(c.wm_tau, 60 * US);
    assert_int_equal(c.wm_capacity, 5);
    eg_config_free(&c);

    path = write_file(f, "etc/engram.conf", "store = x.db\n  wm.tick = soon\n", 0644);
    a.profile = NULL;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: wm.tick = \"soon\" is not a duration", path);
    assert_string_equal(eg_error_last()->message, want);
}

/* Regression: inih knew only `;` as an inline comment and no quotes, so `source.table = notes  #
 * the main one` silently named the table "notes  # the main one" and `store = "my notes.db"` was
 * a file whose name held the quotes. A `;` or `#` after white space starts a comment outside
 * quotes; quotes around the whole value are removed; an unclosed one is an error. */
static void test_comments_and_quotes(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf",
                                  "store = \"my notes.db\"  # on the laptop\n"
                                  "source.table = notes # the main one\n"
                                  "source.schema = 'app' ; quoted\n"
                                  "source.system = Maya's #1 = \"best\"\n"
                                  "source.id_column = \"a #b = c ;d\"\n"
                                  "source.content_column = body#text\n"
                                  "wm.tick = 30s # half a minute\n"
                                  "source = host=db password='x #y' dbname=n # c\n",
                                  0600);
    eg_config_args a = {.config_file = path};
    eg_config c;
    assert_int_equal(eg_config_load(&c, &a), 0);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "%s/etc/my notes.db", f->root);
    assert_string_equal(c.store, want);
    assert_string_equal(c.source_table, "notes");
    assert_string_equal(c.source_schema, "app");
    assert_string_equal(c.source_system, "Maya's");
    assert_string_equal(c.col_id, "a #b = c ;d");
    assert_string_equal(c.col_content, "body#text");
    assert_int_equal(c.wm_tick, 30 * US);
    assert_string_equal(c.source, "host=db password='x #y' dbname=n");
    eg_config_free(&c);

    path = write_file(f, "etc/engram.conf", "# one\nstore = \"my notes.db # x\n", 0644);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: store: the quote that opens the value is not closed", path);
    assert_string_equal(eg_error_last()->message, want);
}

/* Regression: `store = ~/notes.db` resolved against the file's folder (DIR/~/notes.db), a
 * folder named "~" nobody meant. ~/ is the user's home ($HOME), in `store` and `sqlite:`; ~user
 * is an error rather than another relative path. */
static void test_tilde_paths(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf",
                                  "store = ~/notes.db\n"
                                  "source = sqlite:~/src/n.db\n",
                                  0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    assert_int_equal(eg_config_load(&c, &a), 0);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "%s/notes.db", f->home);
    assert_string_equal(c.store, want);
    snprintf(want, sizeof want, "sqlite:%s/src/n.db", f->home);
    assert_string_equal(c.source, want);
    eg_config_free(&c);

    path = write_file(f, "etc/engram.conf", "store = ./~notes.db\n", 0644);
    assert_int_equal(eg_config_load(&c, &a), 0);
    snprintf(want, sizeof want, "%s/etc/./~notes.db", f->root);
    assert_string_equal(c.store, want);
    eg_config_free(&c);

    path = write_file(f, "etc/engram.conf", "store = ~bob/notes.db\n", 0644);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want,
             "%s:1: store = \"~bob/notes.db\": only ~/ (your own home folder) is expanded", path);
    assert_string_equal(eg_error_last()->message, want);
}

/* Regression: an empty table, schema or column name was taken; the PostgreSQL source then read
 * the default name instead (an empty source.table read "memories"), the SQLite source looked for
 * a table "". It is an error naming the key; source.system (a label) may be empty. */
static void test_empty_identifier(void **state)
{
    fixture *f = *state;
    static const char *const keys[] = {"source.schema",
                                       "source.table",
                                       "source.id_column",
                                       "source.content_column",
                                       "source.created_at_column",
                                       "source.updated_at_column",
                                       "source.metadata_column"};
    eg_config_args a = {0};
    eg_config c;
    char text[128], want[PATH_MAX + 128];
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        snprintf(text, sizeof text, "# x\n%s =  \n", keys[i]);
        a.config_file = write_file(f, "etc/engram.conf", text, 0644);
        expect_error(eg_config_load(&c, &a), EG_ECONFIG);
        snprintf(want, sizeof want, "%s:2: %s is empty", a.config_file, keys[i]);
        assert_string_equal(eg_error_last()->message, want);
    }
    a.config_file = write_file(f, "etc/engram.conf", "source.system =\n", 0644);
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.source_system, "");
    eg_config_free(&c);
}

/* An empty store path would make SQLite open a temporary database that is gone at exit: refused
 * from a file (named with its line) and from --store. */
static void test_empty_store(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf", "# line 1\nstore =\n", 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "%s:2: store is empty", path);
    assert_string_equal(eg_error_last()->message, want);

    path = write_file(f, "etc/engram.conf", "[profile p]\nstore = \n", 0644);
    a.profile = "p";
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: [profile p] store is empty", path);
    assert_string_equal(eg_error_last()->message, want);

    eg_config_args b = {.store = ""};
    expect_error(eg_config_load(&c, &b), EG_EUSAGE);
    assert_string_equal(eg_error_last()->message, "--store is empty");
}

/* A folder given as the config file (or found as ./engram.conf) is refused, not read as empty. */
static void test_directory_as_file(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/confdir", f->root);
    assert_int_equal(mkdir(dir, 0700), 0);
    eg_config_args a = {.config_file = dir};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_EIO);
    assert_contains(eg_error_last()->message, "is a directory");
    assert_contains(eg_error_last()->message, dir);

    assert_int_equal(mkdir("engram.conf", 0700), 0);
    expect_error(eg_config_load(&c, NULL), EG_EIO);
    assert_contains(eg_error_last()->message, "\"engram.conf\" is a directory");
}

/* Loads a one-key file whose key is on line 2 and checks the exact error message. */
static void expect_bad_value(fixture *f, const char *key, const char *value, const char *what)
{
    char text[512], want[PATH_MAX + 512];
    snprintf(text, sizeof text, "# line 1\n%s = %s\n", key, value);
    const char *path = write_file(f, "etc/bad.conf", text, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: %s = \"%s\" is not %s", path, key, value, what);
    assert_string_equal(eg_error_last()->message, want);
}

static void test_bad_values(void **state)
{
    fixture *f = *state;
    expect_bad_value(f, "source.lookback", "soon", "a duration");
    expect_bad_value(f, "source.connect_timeout", "5 fortnights", "a duration");
    expect_bad_value(f, "source.retry_delay", "-5s", "a duration");
    expect_bad_value(f, "source.retries", "many", "a non-negative integer");
    expect_bad_value(f, "source.retries", "-1", "a non-negative integer");
    expect_bad_value(f, "staging.max_concepts", "12abc", "a non-negative integer");
    expect_bad_value(f, "ingest.batch_rows", "99999999999", "a non-negative integer");
    expect_bad_value(f, "staging.max_age", "forever", "an age");
    expect_bad_value(f, "staging.max_age", "-1 year", "an age");
    expect_bad_value(f, "staging.max_age", "1 fortnight", "an age");
    expect_bad_value(f, "staging.max_age", "year", "an age");
    /* strtod reads hexadecimal too: neither a number nor a duration here */
    expect_bad_value(f, "hebbian.rate", "0x1p-3", "a number");
    expect_bad_value(f, "consolidation.threshold", "0x0.8", "a number");
    expect_bad_value(f, "wm.tick", "0x1e", "a duration");
}

/* The same errors inside a profile keep the profile's name readable: "[profile dev]". */
/* a value of the right type outside its range: the key and the range are named */
static void expect_out_of_range(fixture *f, const char *key, const char *value, const char *why)
{
    char text[512];
    snprintf(text, sizeof text, "%s = %s\n", key, value);
    const char *path = write_file(f, "etc/range.conf", text, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    const char *last = strrchr(key, '\n'); /* key may follow other lines: the last one is named */
    assert_contains(eg_error_last()->message, last ? last + 1 : key);
    assert_contains(eg_error_last()->message, why);
}

static void test_concept_caps(void **state)
{
    fixture *f = *state;
    expect_out_of_range(f, "hebbian.max_concepts", "33", "between 0 and 32");
    expect_out_of_range(f, "consolidation.max_concepts", "64", "between 0 and 32");
    /* the defaults: learning looks at 4 concepts of a memory, replay searches 8 */
    char text[64];
    snprintf(text, sizeof text, "wm.capacity = 7\n");
    const char *path = write_file(f, "etc/ok.conf", text, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_int_equal(c.hebbian_max_concepts, 4);
    assert_int_equal(c.consolidation_max_concepts, 8);
    eg_config_free(&c);
}

/* The digest of the settings that shape the pipeline (a changed one recomputes the run) is of
 * the values, not of how they were written: 2:00-4:00 is 02:00-04:00, 60m is 1h; another value
 * is another digest; the staging window is not in it. */
static uint64_t digest_of(fixture *f, const char *text)
{
    const char *path = write_file(f, "etc/digest.conf", text, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    if (eg_config_load(&c, &a))
        fail_msg("\"%s\" was refused: %s", text, eg_error_last()->message);
    uint64_t d = eg_config_digest(&c);
    eg_config_free(&c);
    return d;
}

static void test_digest_of_values(void **state)
{
    fixture *f = *state;
    uint64_t d = digest_of(f, "sleep.deep = 02:00-04:00\n");
    assert_true(digest_of(f, "sleep.deep = 2:00-4:00\n") == d);
    assert_true(digest_of(f, "") == d); /* (the default) */
    assert_true(digest_of(f, "sleep.deep = 01:00-04:00\n") != d);
    /* the staging window shapes staging, not the pipeline (docs/adr/0010) */
    assert_true(digest_of(f, "staging.max_age = 30 days\n") == d);
    assert_true(digest_of(f, "staging.max_concepts = 8\n") != d);
    assert_true(digest_of(f, "consolidation.interval = 60m\n") ==
                digest_of(f, "consolidation.interval = 1h\n"));
}

/* Loads text as a whole file and expects it to be accepted. */
static void expect_ok(fixture *f, const char *text)
{
    const char *path = write_file(f, "etc/ok.conf", text, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    if (eg_config_load(&c, &a))
        fail_msg("\"%s\" was refused: %s", text, eg_error_last()->message);
    eg_config_free(&c);
}

/* Values that would make a run never finish (a billion REM draws a night, a tick of 1 ms) or that
 * the stages would misuse or reject later without a file and line are refused at load. */
static void test_ranges(void **state)
{
    fixture *f = *state;
    expect_out_of_range(f, "rem.batch", "1000000000", "at most 100000");
    expect_ok(f, "rem.batch = 100000\n");
    expect_out_of_range(f, "wm.tick", "1ms", "between 1s and 1d");
    expect_ok(f, "wm.tick = 1s\n");
    expect_out_of_range(f, "consolidation.interval", "1ms", "between 1m and 30d");
    expect_ok(f, "consolidation.interval = 1m\n");
    expect_out_of_range(f, "health.volume_sigma", "-1", "between 0 and 1000");
    expect_out_of_range(f, "health.volume_sigma", "0", "greater than 0");
    expect_out_of_range(f, "health.quality_ok", "150", "between 0 and 100");
    expect_out_of_range(f, "validate.threshold", "-5", "between 0 and 100");
    expect_out_of_range(f, "validate.threshold", "200", "between 0 and 100");
    expect_out_of_range(f, "validate.examples", "101", "at most 100");
    expect_ok(f, "validate.examples = 100\n");
    expect_out_of_range(f, "ingest.batch_rows", "0", "between 1 and 1000000");
    expect_out_of_range(f, "source.connect_timeout", "0", "between 1s and 1h");
    expect_out_of_range(f, "source.retries", "2147483647", "at most 100");
    expect_ok(f, "source.retries = 100\n");
    expect_out_of_range(f, "recall.alpha", "-5", "between 0 and 1000");
    expect_out_of_range(f, "recall.S", "-1", "between 0 and 1000");
    expect_out_of_range(f, "staging.max_concepts", "0", "between 1 and 1000");
    /* the pairs: fresh after stale, warn above ok */
    expect_out_of_range(f, "health.fresh = 48h\nhealth.stale", "1h", "at least health.fresh");
    expect_ok(f, "health.fresh = 1h\nhealth.stale = 1h\n");
    expect_out_of_range(f, "health.quality_ok = 90\nhealth.quality_warn", "95",
                        "at most health.quality_ok");
}

/* An unknown stemming language is found at load with the file named, not by the first stage. */
static void test_language(void **state)
{
    fixture *f = *state;
    expect_out_of_range(f, "staging.language", "klingon", "is not a stemming language");
    assert_contains(eg_error_last()->hint, "english");
    expect_ok(f, "staging.language = german\n");
    expect_ok(f, "staging.language = en\n"); /* a libstemmer alias */
}

/* A range error names the line that set the key (of two keys, the one set last) and the profile. */
static void test_range_error_line(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf", "# one\n\nrem.batch = 999999\n", 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    char want[PATH_MAX + 200];
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:3: rem.batch must be at most 100000", path);
    assert_string_equal(eg_error_last()->message, want);

    path = write_file(f, "etc/engram.conf", "wm.tick = 1s\n[profile q]\nwm.tick = 10m\n", 0644);
    a.profile = "q";
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:3: [profile q] wm.window must be at least wm.tick", path);
    assert_contains(eg_error_last()->message, want);
}

/* config check (all_profiles) loads every profile: a bad value in one that is not selected is
 * reported with file, line and profile; other commands only load the profile they use. */
static void test_all_profiles(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf",
                                  "wm.tick = 30s\n[profile p]\nwm.tick = bad\n[profile r]\n"
                                  "wm.capacity = 0\n",
                                  0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    char want[PATH_MAX + 200];
    assert_int_equal(eg_config_load(&c, &a), 0);
    eg_config_free(&c);
    a.all_profiles = true;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:3: [profile p] wm.tick = \"bad\" is not a duration", path);
    assert_string_equal(eg_error_last()->message, want);
    a.profile = "p"; /* the selected one fails by itself */
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    assert_string_equal(eg_error_last()->message, want);

    path = write_file(f, "etc/engram.conf",
                      "[profile p]\nwm.tick = 2m\n[profile r]\nwm.capacity = 0\n", 0644);
    a.profile = "p";
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:4: [profile r] wm.capacity must be between 1 and 1000", path);
    assert_string_equal(eg_error_last()->message, want);
    a.all_profiles = false;
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_int_equal(c.wm_tick, 120 * US);
    eg_config_free(&c);
}

/* Profiles are listed by inih itself: a BOM before the first section, a name with a space before
 * the bracket, and a line too long for inih's buffer are treated as the parser treats them. */
static void test_profile_listing_like_inih(void **state)
{
    fixture *f = *state;
    const char *path =
        write_file(f, "etc/engram.conf", "\xef\xbb\xbf[profile p]\nwm.tick = 30s\n", 0644);
    eg_config_args a = {.config_file = path, .profile = "p"};
    eg_config c;
    char want[PATH_MAX + 200];
    if (eg_config_load(&c, &a))
        fail_msg("BOM: %s", eg_error_last()->message);
    assert_int_equal(c.wm_tick, 30 * US);
    eg_config_free(&c);

    path = write_file(f, "etc/engram.conf", "store = a.db\n[profile x ]\nwm.tick = 30s\n", 0644);
    a.profile = NULL;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:2: [profile x ]: a profile name must not", path);
    assert_contains(eg_error_last()->message, want);

    size_t n = (1u << 20) + 10;
    char *text = malloc(n + 32);
    assert_non_null(text);
    memcpy(text, "store = ", 8);
    memset(text + 8, 'x', n);
    memcpy(text + 8 + n, "\nwm.tick = 30s\n", 16);
    text[n + 24] = '\0';
    path = write_file(f, "etc/engram.conf", text, 0644);
    free(text);
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    snprintf(want, sizeof want, "%s:1: line longer than", path);
    assert_contains(eg_error_last()->message, want);
}

static void test_bad_value_in_profile(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf",
                                  "store = x.db\n"
                                  "[profile dev]\n"
                                  "source.lookback = soon\n",
                                  0644);
    eg_config_args a = {.config_file = path, .profile = "dev"};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    const char *m = eg_error_last()->message;
    char prefix[PATH_MAX + 16];
    snprintf(prefix, sizeof prefix, "%s:3: ", path);
    if (strncmp(m, prefix, strlen(prefix)))
        fail_msg("\"%s\" does not start with \"%s\"", m, prefix);
    assert_contains(m, "source.lookback = \"soon\" is not a duration");
    assert_contains(m, "[profile dev]");
}

/* Two errors in one file: the message and the line are both the first error's. */
static void test_first_error_wins(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "etc/engram.conf",
                                  "store = x.db\n"
                                  "bogus = 1\n"
                                  "source.retries = many\n",
                                  0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_ECONFIG);
    char want[PATH_MAX + 128];
    snprintf(want, sizeof want, "%s:2: unknown key \"bogus\"", path);
    assert_string_equal(eg_error_last()->message, want);
}

/* A value longer than inih's default 200-byte line buffer (a long path or conninfo). */
static void test_long_value(void **state)
{
    fixture *f = *state;
    char longpath[400], text[512];
    memset(longpath, 'p', sizeof longpath);
    memcpy(longpath, "/srv/", 5);
    longpath[300] = '\0';
    strcat(longpath, ".db");
    snprintf(text, sizeof text, "store = %s\nsource.table = after\n", longpath);
    const char *path = write_file(f, "etc/engram.conf", text, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    int rc = eg_config_load(&c, &a);
    if (rc)
        fail_msg("a %zu-byte value was refused: %s", strlen(longpath), eg_error_last()->message);
    assert_string_equal(c.store, longpath);
    assert_string_equal(c.source_table, "after");
    eg_config_free(&c);
}

static void expect_age(fixture *f, const char *text, int months, int days)
{
    char conf[128];
    snprintf(conf, sizeof conf, "staging.max_age = %s\n", text);
    const char *path = write_file(f, "etc/age.conf", conf, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    int rc = eg_config_load(&c, &a);
    if (rc)
        fail_msg("max_age \"%s\" refused: %s", text, eg_error_last()->message);
    if (c.staging_max_age_months != months || c.staging_max_age_days != days)
        fail_msg("max_age \"%s\": %d months %d days, want %d months %d days", text,
                 c.staging_max_age_months, c.staging_max_age_days, months, days);
    assert_string_equal(c.staging_max_age_text, text);
    eg_config_free(&c);
}

static void test_max_age(void **state)
{
    fixture *f = *state;
    expect_age(f, "1 year", 12, 0);
    expect_age(f, "2 years", 24, 0);
    expect_age(f, "1y", 12, 0);
    expect_age(f, "6 months", 6, 0);
    expect_age(f, "1 month", 1, 0);
    expect_age(f, "30 days", 0, 30);
    expect_age(f, "1 day", 0, 1);
    expect_age(f, "0", 0, 0);
}

static const char *const uri = "postgresql://u:secret@h/db";

static void test_password_needs_0600(void **state)
{
    fixture *f = *state;
    char text[256];
    snprintf(text, sizeof text, "source = %s\n", uri);
    const char *path = write_file(f, "etc/engram.conf", text, 0644);
    eg_config_args a = {.config_file = path};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_EPERM);
    const eg_error *e = eg_error_last();
    assert_contains(e->message, path);
    assert_contains(e->message, "0644");
    assert_contains(e->hint, "chmod 600");
    assert_contains(e->hint, path);
    assert_null(strstr(e->message, "secret"));
    assert_null(strstr(e->detail, "secret"));
    assert_null(strstr(e->hint, "secret"));
    assert_null(c.source);

    /* group-readable is not enough either */
    assert_int_equal(chmod(path, 0640), 0);
    expect_error(eg_config_load(&c, &a), EG_EPERM);

    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.source, uri);
    eg_config_free(&c);

    /* the keyword form, inside a profile */
    path = write_file(f, "etc/engram.conf",
                      "[profile prod]\nsource = host=h dbname=d password=secret\n", 0604);
    a.profile = "prod";
    expect_error(eg_config_load(&c, &a), EG_EPERM);
    assert_contains(eg_error_last()->hint, "chmod 600");

    /* no password: any mode is fine */
    path = write_file(f, "etc/engram.conf", "source = postgresql://u@h/db\n", 0644);
    a.profile = NULL;
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.source, "postgresql://u@h/db");
    eg_config_free(&c);
}

static void test_password_on_command_line(void **state)
{
    (void)state;
    eg_config_args a = {.source = uri};
    eg_config c;
    expect_error(eg_config_load(&c, &a), EG_EUSAGE);
    assert_null(strstr(eg_error_last()->message, "secret"));
    assert_null(strstr(eg_error_last()->hint, "secret"));
    a.source = "host=h password=secret";
    expect_error(eg_config_load(&c, &a), EG_EUSAGE);
    /* without one it is taken as given */
    a.source = "postgresql://u@h:5433/db?sslmode=require";
    assert_int_equal(eg_config_load(&c, &a), 0);
    assert_string_equal(c.source, a.source);
    eg_config_free(&c);
}

static void test_visit(void **state)
{
    fixture *f = *state;
    char text[256];
    snprintf(text, sizeof text,
             "source = %s\nsource.retries = 7\n[profile dev]\nsource.table = dev_t\n", uri);
    const char *path = write_file(f, "etc/engram.conf", text, 0600);
    eg_config_args a = {.config_file = path, .profile = "dev", .store = "/tmp/cli.db"};
    eg_config c;
    assert_int_equal(eg_config_load(&c, &a), 0);
    visit_log l = {0};
    eg_config_visit(&c, on_visit, &l);
    /* every key once, in a stable order that starts with store and source */
    assert_true(l.n >= 19);
    assert_string_equal(l.key[0], "store");
    assert_string_equal(l.key[1], "source");
    for (int i = 0; i < l.n; i++) {
        assert_true(!l.value[i] || !strstr(l.value[i], "secret"));
        assert_null(strstr(l.origin[i], "secret"));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(l.key[i], l.key[j]);
    }
    expect_visit(&l, "store", "/tmp/cli.db", "command line");
    expect_visit(&l, "source", "postgresql://u:****@h/db", "file");
    expect_visit(&l, "source.retries", "7", "file");
    expect_visit(&l, "source.table", "dev_t", "profile dev");
    expect_visit(&l, "source.schema", "public", "default");
    expect_visit(&l, "source.lookback", "300s", "default");
    expect_visit(&l, "source.connect_timeout", "5s", "default");
    expect_visit(&l, "source.statement_timeout", "600s", "default");
    expect_visit(&l, "source.retry_delay", "500ms", "default");
    expect_visit(&l, "staging.max_age", "1 year", "default");
    expect_visit(&l, "staging.language", "english", "default");
    expect_visit(&l, "staging.max_concepts", "32", "default");
    expect_visit(&l, "ingest.batch_rows", "10000", "default");
    /* the same order on a second visit */
    visit_log l2 = {0};
    eg_config_visit(&c, on_visit, &l2);
    assert_int_equal(l2.n, l.n);
    for (int i = 0; i < l.n; i++)
        assert_string_equal(l2.key[i], l.key[i]);
    visit_free(&l2);
    visit_free(&l);
    eg_config_free(&c);

    /* the default source and a sqlite source are shown as they are */
    assert_int_equal(eg_config_load(&c, NULL), 0);
    eg_config_visit(&c, on_visit, &l);
    expect_visit(&l, "source", NULL, "default"); /* (no value: the store's own table) */
    expect_visit(&l, "store", "engram.db", "default");
    visit_free(&l);
    eg_config_free(&c);
    eg_config_args s = {.source = "sqlite:/data/m.db"};
    assert_int_equal(eg_config_load(&c, &s), 0);
    eg_config_visit(&c, on_visit, &l);
    expect_visit(&l, "source", "sqlite:/data/m.db", "command line");
    visit_free(&l);
    eg_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_without_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_defaults_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_profile_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engram_profile_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_conninfo_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_source_is_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_section_and_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indented_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments_and_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tilde_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_identifier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concept_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_of_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_as_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_error_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_listing_like_inih, setup, teardown),
        cmocka_unit_test_setup_teardown(test_language, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_value_in_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_error_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_needs_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_on_command_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_visit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, 0, NULL);
}
