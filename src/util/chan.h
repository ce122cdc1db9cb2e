/*
 * chan.h — a bounded, blocking channel of pointers between two threads (one producer, one
 * consumer, or more of each). It moves ownership of the pointed-to items; it owns nothing itself.
 * Closing wakes every waiter: pop then drains what is left and returns NULL at the end.
 */
#ifndef EG_UTIL_CHAN_H
#define EG_UTIL_CHAN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

enum { EG_CHAN_MAX = 16 };

typedef struct eg_chan {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void *items[EG_CHAN_MAX];
    size_t head, n, cap;
    bool closed;
} eg_chan;

/* cap is at most EG_CHAN_MAX. */
void eg_chan_init(eg_chan *c, size_t cap);
void eg_chan_destroy(eg_chan *c);
/* Blocks while full; returns false (item not taken) once the channel is closed. */
bool eg_chan_push(eg_chan *c, void *item);
/* Blocks while empty and open; returns NULL when closed and drained. */
void *eg_chan_pop(eg_chan *c);
void eg_chan_close(eg_chan *c);

#endif
