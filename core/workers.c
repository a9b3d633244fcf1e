/* workers.c — fork-join over a scorer's own threads: a frame is cut into parts (bands of the
 * grid, chunks of patches) and every part runs at once, one per thread, the calling thread
 * taking part 0. The threads are the scorer's own and few, so several scorers in one process
 * (one per pipeline) never share a queue. */
#include "funad-private.h"

/* The fork and the join also go through atomics (a job counter, the parts pending): GLib's
 * thread pool and locks are futexes that ThreadSanitizer cannot see, and the atomics let it
 * check that the parts' memory is handed over in order (tools/tsan-check.sh). */
struct _FunadWorkers {
  int n_threads;
  GThreadPool *pool;       /* n_threads - 1 dedicated threads */
  GMutex lock;
  GCond done;
  int pending;             /* atomic */
  int jobs;                /* atomic: funad_workers_run() calls so far */
  FunadPartFunc func;      /* the job of the current funad_workers_run() */
  gpointer data;
};

static void
run_part (gpointer part_plus_one, gpointer user_data)
{
  FunadWorkers *w = user_data;
  (void) g_atomic_int_get (&w->jobs);   /* after the job was set up */
  w->func (w->data, GPOINTER_TO_INT (part_plus_one) - 1, w->n_threads);
  if (g_atomic_int_dec_and_test (&w->pending)) {
    g_mutex_lock (&w->lock);
    g_cond_signal (&w->done);
    g_mutex_unlock (&w->lock);
  }
}

FunadWorkers *
funad_workers_new (int n_threads)
{
  FunadWorkers *w = g_new0 (FunadWorkers, 1);
  w->n_threads = MAX (n_threads, 1);
  g_mutex_init (&w->lock);
  g_cond_init (&w->done);
  if (w->n_threads > 1)
    w->pool = g_thread_pool_new (run_part, w, w->n_threads - 1, TRUE, NULL);
  if (w->n_threads > 1 && !w->pool)
    w->n_threads = 1;   /* no threads to be had: run every part in the caller */
  return w;
}

int
funad_workers_n_threads (const FunadWorkers *w)
{
  return w->n_threads;
}

void
funad_workers_free (FunadWorkers *w)
{
  if (!w)
    return;
  if (w->pool)
    g_thread_pool_free (w->pool, FALSE, TRUE);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->done);
  g_free (w);
}

void
funad_workers_run (FunadWorkers *w, FunadPartFunc func, gpointer data)
{
  if (!w) {
    func (data, 0, 1);
    return;
  }
  w->func = func;
  w->data = data;
  g_atomic_int_set (&w->pending, w->n_threads - 1);
  g_atomic_int_inc (&w->jobs);
  for (int part = 1; part < w->n_threads; part++)
    g_thread_pool_push (w->pool, GINT_TO_POINTER (part + 1), NULL);
  func (data, 0, w->n_threads);
  /* The last part to finish signals under the lock, so the wait cannot miss it. */
  g_mutex_lock (&w->lock);
  while (g_atomic_int_get (&w->pending) > 0)
    g_cond_wait (&w->done, &w->lock);
  g_mutex_unlock (&w->lock);
}
