/* thread.h - starting the library's helper threads. */
#ifndef SEGSCOPE_THREAD_H
#define SEGSCOPE_THREAD_H

#include <pthread.h>
#include <signal.h>

/*
 * pthread_create with every signal blocked in the new thread, so that
 * signals (Ctrl-C, SIGPIPE) go to the caller's threads, whose handlers and
 * loops expect them. Returns what pthread_create returns.
 */
static inline int ss_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

#endif
