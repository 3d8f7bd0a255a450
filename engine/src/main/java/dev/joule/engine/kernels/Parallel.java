package dev.joule.engine.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;

/**
 * The fixed worker pool that every kernel splits its work over.
 *
 * <p>Determinism contract: callers split work into tasks whose boundaries depend only on the problem
 * size, never on {@link #threads()}, and each task writes a disjoint part of the output. A reduction is
 * never split across tasks, so every output value is computed by one task in one fixed order and the
 * result is bitwise identical at any thread count.
 *
 * <p>The pool size is set once per process by {@link #setThreads(int)} (the {@code --threads} option),
 * defaulting to {@link Runtime#availableProcessors()}. Nested calls from inside a task run inline, which
 * keeps the pool free of deadlocks when a parallel op calls another.
 */
public final class Parallel {
    private static volatile int threads = Runtime.getRuntime().availableProcessors();
    private static volatile ExecutorService pool;
    private static final ThreadLocal<Boolean> IN_TASK = ThreadLocal.withInitial(() -> false);

    private Parallel() {}

    /** Returns the number of worker threads that parallel loops use. */
    public static int threads() {
        return threads;
    }

    /**
     * Sets the number of worker threads. Results do not depend on it; only speed does.
     *
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public static synchronized void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("thread count must be at least 1, got " + n);
        }
        if (n != threads && pool != null) {
            pool.shutdown();
            pool = null;
        }
        threads = n;
    }

    private static synchronized ExecutorService pool() {
        if (pool == null) {
            pool = Executors.newFixedThreadPool(threads, runnable -> {
                Thread t = new Thread(runnable, "joule-worker");
                t.setDaemon(true);
                return t;
            });
        }
        return pool;
    }

    /**
     * Runs {@code body.accept(task)} for every task in {@code [0, tasks)} and waits for all of them.
     * Tasks are handed out in contiguous blocks, one block per thread.
     */
    public static void forRange(int tasks, IntConsumer body) {
        int n = threads;
        if (tasks <= 0) {
            return;
        }
        if (n == 1 || tasks == 1 || IN_TASK.get()) {
            for (int t = 0; t < tasks; t++) {
                body.accept(t);
            }
            return;
        }
        int workers = Math.min(n, tasks);
        ExecutorService executor = pool();
        List<Future<?>> futures = new ArrayList<>(workers - 1);
        for (int w = 1; w < workers; w++) {
            int from = (int) ((long) tasks * w / workers);
            int to = (int) ((long) tasks * (w + 1) / workers);
            futures.add(executor.submit(() -> runBlock(body, from, to)));
        }
        runBlock(body, 0, tasks / workers);
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a parallel task", e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException re) {
                    throw re;
                }
                if (cause instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(cause);
            }
        }
    }

    private static void runBlock(IntConsumer body, int from, int to) {
        boolean outer = IN_TASK.get();
        IN_TASK.set(true);
        try {
            for (int t = from; t < to; t++) {
                body.accept(t);
            }
        } finally {
            IN_TASK.set(outer);
        }
    }
}
