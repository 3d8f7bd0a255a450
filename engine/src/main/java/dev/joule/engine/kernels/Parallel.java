package dev.joule.engine.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
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
 * keeps the pool free of deadlocks when a parallel op calls another. One caller uses the pool at a time.
 * A second thread that calls while it is busy runs its tasks inline, which gives the same results.
 *
 * <p>A call allocates nothing, and a training step makes hundreds of calls. The workers are parked
 * threads that read the job from fields of the pool and count down one shared counter, in place of an
 * executor's futures and queue nodes.
 */
public final class Parallel {
    private static volatile int threads = Runtime.getRuntime().availableProcessors();
    private static Pool pool;
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

    private static synchronized Pool pool() {
        if (pool == null) {
            pool = new Pool(threads);
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
        Pool p = pool();
        if (!p.lock.tryLock()) {
            runBlock(body, 0, tasks);
            return;
        }
        try {
            if (p.stopped) {
                // setThreads replaced this pool after the caller fetched it: its workers have exited.
                runBlock(body, 0, tasks);
            } else {
                p.run(body, tasks);
            }
        } finally {
            p.lock.unlock();
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

    /** Returns the first task of block {@code block} when {@code tasks} are split into {@code blocks}. */
    private static int blockStart(int tasks, int block, int blocks) {
        return (int) ((long) tasks * block / blocks);
    }

    /**
     * The worker threads and the job they share. The caller writes the job fields, then increments the
     * volatile {@code generation} and unparks the workers it needs. A worker that reads a new generation
     * reads the job, runs its block when it takes part, and counts down {@code pending}. The caller runs
     * block 0 itself and parks until {@code pending} reaches 0, so the next job starts only after every
     * worker of this one has finished.
     */
    private static final class Pool {
        final ReentrantLock lock = new ReentrantLock();
        private final Thread[] workers;
        private final AtomicInteger pending = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private IntConsumer body;
        private int tasks;
        private int blocks;
        private Thread caller;
        private volatile long generation;
        volatile boolean stopped;

        Pool(int n) {
            workers = new Thread[n - 1];
            for (int w = 0; w < workers.length; w++) {
                int block = w + 1;
                Thread t = new Thread(() -> work(block), "joule-worker-" + block);
                t.setDaemon(true);
                workers[w] = t;
                t.start();
            }
        }

        /** Runs one job; the caller holds {@link #lock}. */
        void run(IntConsumer job, int taskCount) {
            int participants = Math.min(workers.length + 1, taskCount);
            body = job;
            tasks = taskCount;
            blocks = participants;
            caller = Thread.currentThread();
            failure.set(null);
            pending.set(participants - 1);

            // The volatile write publishes the job fields above to every worker that reads it.
            generation++;
            for (int w = 0; w < participants - 1; w++) {
                LockSupport.unpark(workers[w]);
            }

            Throwable own = null;
            try {
                runBlock(job, 0, blockStart(taskCount, 1, participants));
            } catch (Throwable e) {
                own = e;
            }
            // Workers still read body and write outputs until pending reaches 0: wait even after a failure.
            while (pending.get() != 0) {
                LockSupport.park(this);
            }
            body = null;
            caller = null;

            Throwable first = own != null ? own : failure.get();
            if (first instanceof RuntimeException re) {
                throw re;
            }
            if (first instanceof Error err) {
                throw err;
            }
            if (first != null) {
                throw new IllegalStateException(first);
            }
        }

        private void work(int block) {
            long seen = 0;
            while (!stopped) {
                long current = generation;
                if (current == seen) {
                    LockSupport.park(this);
                    continue;
                }
                seen = current;
                if (block >= blocks) {
                    // Not needed for this job; woken spuriously or by shutdown.
                    continue;
                }
                try {
                    runBlock(body, blockStart(tasks, block, blocks), blockStart(tasks, block + 1, blocks));
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
                Thread waiting = caller;
                if (pending.decrementAndGet() == 0) {
                    LockSupport.unpark(waiting);
                }
            }
        }

        void shutdown() {
            lock.lock();
            try {
                stopped = true;
                for (Thread t : workers) {
                    LockSupport.unpark(t);
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
