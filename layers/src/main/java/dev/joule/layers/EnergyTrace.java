package dev.joule.layers;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An opt-in record of the global energy around each layer's step. For every forward call of an
 * {@link EnergyAttention} that has a trace set, one entry per head holds the mean over batch and
 * positions of F_i(0) (before the step) and of F_i(delta_i) (after it), both in that layer's value
 * space. Energies are in the units of the scores (dimensionless). Entries are appended in call order.
 */
public final class EnergyTrace {
    /**
     * One layer and head of one forward call.
     *
     * @param layer the layer index
     * @param head the head index
     * @param before mean of F_i(0)
     * @param after mean of F_i(delta_i)
     */
    public record Entry(int layer, int head, double before, double after) {
        /** after - before: negative when the step lowered the energy. */
        public double change() {
            return after - before;
        }
    }

    private final List<Entry> entries = new ArrayList<>();

    synchronized void add(Entry e) {
        entries.add(e);
    }

    /** Returns a snapshot of the entries in call order. */
    public synchronized List<Entry> entries() {
        return Collections.unmodifiableList(new ArrayList<>(entries));
    }

    /** Removes every entry. */
    public synchronized void clear() {
        entries.clear();
    }
}
