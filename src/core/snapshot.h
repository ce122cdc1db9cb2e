/*
 * snapshot.h — the model's simulation state as a file, so that a later run can go on from it
 * instead of replaying the whole history (see snapshot.c, docs/adr/0008).
 *
 * A snapshot holds everything the engine reads and writes while it advances: the memories with
 * their concepts, presentations, both graphs, episodes, journeys, creative associations, the
 * simulation's communities and the event loop's state. It does not hold what eg_engine_finish
 * computes at a run's now (long-term records, the communities at now, the closing journey
 * lines): a snapshot is taken after eg_engine_advance and before eg_engine_finish.
 *
 * The caller's key (which run wrote it, at which now, over which configuration and inputs) is
 * written in the header and handed back on reading: deciding whether the snapshot still fits
 * the store is the caller's business. A file that is truncated, damaged, from another format
 * version or from a build with another memory layout is refused (EG_EBADINPUT), never half
 * used.
 */
#ifndef EG_CORE_SNAPSHOT_H
#define EG_CORE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

/* A store has two snapshot files, written in turn (run.c): slot 0 is "STORE-snapshot" (like
 * SQLite's "-wal"), slot 1 "STORE-snapshot-2". A run maps the one it goes on from and writes
 * the other, so that it never writes over the pages it is reading, and the last good snapshot
 * stays until a run that wrote a newer one commits. -1 when the path does not fit in buf (then
 * there is no snapshot, never one under a cut name). */
int eg_snapshot_path(const char *store_path, int slot, char *buf, size_t n);

typedef struct eg_snapshot_key {
    int64_t generation; /* the run that wrote it */
    int64_t now;        /* the time the simulation was advanced to */
    uint64_t config;    /* eg_config_digest of the settings it ran with */
    int64_t inputs;     /* the store's count of input changes then */
    int64_t last_rowid; /* the store's last memory rowid then (eg_store_inputs) */
    int64_t recalls;    /* recall presentations up to now, as the store counted them */
    uint64_t tag;       /* the inputs the simulation took (eg_snapshot_inputs_tag), recorded
                           in the store beside the generation: run ids repeat from store to
                           store (and in copies of one store that went their own ways), the
                           inputs of two stores differ */
} eg_snapshot_key;

/* Writes md's simulation state and key to path, over the file that is there (its pages are in
 * the page cache: at 1M ten times as fast as a new file). Until the write is complete the header's
 * magic is cleared, so a reader refuses the file whole (and replays the history): the file is the
 * whole new snapshot or none; a write that fails leaves none, and gives back the space it took.
 * Only a regular file of its own is written over: the file md was read from (its pages mapped), a
 * symbolic link (whatever it points at), a file with other names (hard links) or a pipe is replaced
 * by a new file once complete. */
int eg_snapshot_write(const eg_model *md, const eg_snapshot_key *key, const char *path);

/* For a model read from a snapshot (mapped): which of its first n memories differ from the
 * snapshot's bytes (moved[i] 1 or 0) and each one's status in the snapshot (status[i]). Only the
 * memories on pages of md->m the process has written since are compared with the file: the
 * others are the file's pages (at 1M memories a day writes a few thousand of md->m's 47k pages;
 * a digest of every memory took 30 ms when read and 14 when saved). EG_EBADINPUT when md was
 * not read mapped from a snapshot; an error reading the file is EG_EIO. */
int eg_snapshot_mems_moved(const eg_model *md, size_t n, uint8_t *moved, uint8_t *status);
/* Whether eg_snapshot_mems_moved can tell md's memories by their pages: md was just read mapped
 * from a snapshot, and the process's page map is readable (else it would read every memory
 * from the file again). */
bool eg_snapshot_mems_comparable(const eg_model *md);

/* Makes twin, when there is no such file, a copy of the snapshot at path that no reader takes
 * (its header cleared). The next snapshot written to twin then goes in place, over pages in the
 * page cache: at 1M memories a new file took 390-430 ms to write instead of 185-225 (new
 * pages, blocks allocated). For a run that wrote the first of a store's two snapshot files.
 * Best effort: on any failure twin is removed, or never made. */
void eg_snapshot_prepare_twin(const char *path, const char *twin);

/* Removes what writes to path left when they were killed before renaming their new file over
 * path ("PATH.tmp-" and six characters, as big as a snapshot: eg_snapshot_write writes one when
 * it does not write in place). A file a live writer still writes is locked, and stays. */
void eg_snapshot_remove_leftovers(const char *path);

/* Waits, up to timeout_ms, while another process writes a snapshot to path (in place, or aside
 * to rename it over path): a run commits the store before its snapshot is written, so the next
 * run may start while it is. Returns at once when none does. */
void eg_snapshot_wait_written(const char *path, int timeout_ms);

/* The tag of a snapshot of md: base plus a digest of each memory from index from_mem on (its
 * id, rowid, time, features and concept names) and each recall presentation from index
 * from_pres on. A sum, so it depends on the set of inputs only, not on the order or the runs
 * they came in: a run resumed from a snapshot with tag T gives T plus the digests of what it
 * added, as a replay of the same inputs gives from 0 (and two identical runs the same tag,
 * so the store stays byte for byte the same). */
uint64_t eg_snapshot_inputs_tag(const eg_model *md, uint64_t base, size_t from_mem,
                                size_t from_pres);

/* Reads only the key of the snapshot at path (checking its format, not yet its checksum). */
int eg_snapshot_read_key(eg_snapshot_key *key, const char *path);

/* Reads the snapshot at path into md, which must be newly initialized (eg_model_init), and its
 * key into *key. On failure md is left initialized and empty. A missing file is EG_ENOTFOUND.
 * The big arrays are not copied: the file's pages are mapped copy-on-write, each array with
 * room to grow after it (eg_span in model.h); eg_model_free unmaps them. */
int eg_snapshot_read(eg_model *md, eg_snapshot_key *key, const char *path);
/* The same; map false copies the arrays into an allocation instead of mapping the file's pages
 * (what a system whose pages are not 4 KiB gets; for tests). */
int eg__snapshot_read(eg_model *md, eg_snapshot_key *key, const char *path, bool map);

#endif
