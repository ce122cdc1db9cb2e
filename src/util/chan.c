/*
 * chan.c — bounded blocking channel (mutex + two condition variables).
 */
#include "util/chan.h"

void eg_chan_init(eg_chan *c, size_t cap)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    c->head = c->n = 0;
    c->cap = cap && cap <= EG_CHAN_MAX ? cap : EG_CHAN_MAX;
    c->closed = false;
}

void eg_chan_destroy(eg_chan *c)
{
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->not_empty);
    pthread_cond_destroy(&c->not_full);
}

bool eg_chan_push(eg_chan *c, void *item)
{
    pthread_mutex_lock(&c->mu);
    while (c->n == c->cap && !c->closed)
        pthread_cond_wait(&c->not_full, &c->mu);
    bool ok = !c->closed;
    if (ok) {
        c->items[(c->head + c->n) % c->cap] = item;
        c->n++;
        pthread_cond_signal(&c->not_empty);
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void *eg_chan_pop(eg_chan *c)
{
    void *item = NULL;
    pthread_mutex_lock(&c->mu);
    while (c->n == 0 && !c->closed)
        pthread_cond_wait(&c->not_empty, &c->mu);
    if (c->n) {
        item = c->items[c->head];
        c->head = (c->head + 1) % c->cap;
        c->n--;
        pthread_cond_signal(&c->not_full);
    }
    pthread_mutex_unlock(&c->mu);
    return item;
}

void eg_chan_close(eg_chan *c)
{
    pthread_mutex_lock(&c->mu);
    c->closed = true;
    pthread_cond_broadcast(&c->not_empty);
    pthread_cond_broadcast(&c->not_full);
    pthread_mutex_unlock(&c->mu);
}
