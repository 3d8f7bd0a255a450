package dev.joule.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Float buffers for op outputs and gradients, reused across training steps.
 *
 * <p>Ops take their arrays from {@link #floats(int)}. Outside a reuse scope that is a plain
 * {@code new float[n]}. Inside {@link Arena#open()}, the arena hands out the arrays of the previous
 * scope in allocation order: a training step allocates the same sizes in the same order every time,
 * so from the second step on every request is served from the pool and the step leaves no large
 * garbage. A request whose size differs from the pooled array at that position gets a new array,
 * which replaces the pooled one. Reused arrays are zero-filled, exactly like new ones.
 *
 * <p>Contract: no array handed out inside a scope may be used after the scope closes, because the
 * next scope overwrites it. Read scalars (the loss) before closing, and clear parameter gradients.
 * The arena is bound to the thread that opened it; other threads keep allocating normally.
 */
public final class Buffers {
    private static final ThreadLocal<Arena> CURRENT = new ThreadLocal<>();

    private Buffers() {}

    /** Returns a zero-filled array of length {@code n}, from the current thread's arena if one is open. */
    public static float[] floats(int n) {
        Arena arena = CURRENT.get();
        return arena == null ? new float[n] : arena.take(n);
    }

    /** A pool of arrays replayed in allocation order, one scope at a time. */
    public static final class Arena {
        private final List<float[]> pool = new ArrayList<>();
        private int cursor;
        private int reused;
        private int allocated;
        private boolean open;

        /**
         * Starts a scope on the current thread; close it with try-with-resources.
         *
         * @throws IllegalStateException if this arena or another is already open on this thread
         */
        public Scope open() {
            if (open || CURRENT.get() != null) {
                throw new IllegalStateException("a buffer arena is already open on this thread");
            }
            open = true;
            cursor = 0;
            reused = 0;
            allocated = 0;
            CURRENT.set(this);
            return new Scope(this);
        }

        float[] take(int n) {
            if (cursor < pool.size()) {
                float[] pooled = pool.get(cursor);
                if (pooled.length == n) {
                    cursor++;
                    reused++;
                    Arrays.fill(pooled, 0f);
                    return pooled;
                }
                float[] fresh = new float[n];
                pool.set(cursor++, fresh);
                allocated++;
                return fresh;
            }
            float[] fresh = new float[n];
            pool.add(fresh);
            cursor++;
            allocated++;
            return fresh;
        }

        /** Returns the number of arrays the last scope took from the pool. */
        public int reusedCount() {
            return reused;
        }

        /** Returns the number of arrays the last scope had to allocate. */
        public int allocatedCount() {
            return allocated;
        }

        /** Returns the bytes held by the pool. */
        public long pooledBytes() {
            long bytes = 0;
            for (float[] a : pool) {
                bytes += 4L * a.length;
            }
            return bytes;
        }
    }

    /** An open arena scope; closing it detaches the arena from the thread. */
    public static final class Scope implements AutoCloseable {
        private final Arena arena;

        private Scope(Arena arena) {
            this.arena = arena;
        }

        @Override
        public void close() {
            if (arena.open) {
                arena.open = false;
                CURRENT.remove();
            }
        }
    }
}
