package dev.joule.models.train;

import java.nio.file.Path;

/** Training produced a NaN or infinite loss or gradient. The command line maps it to exit code 3. */
public class DivergedException extends RuntimeException {
    private final int step;
    private final String reason;

    /**
     * @param step the step whose loss or gradient was not finite, counting from 1
     * @param lastCheckpoint the step of the run's last checkpoint, or 0 when it has none yet
     * @param dir the run directory
     */
    public DivergedException(int step, String what, double value, int lastCheckpoint, Path dir) {
        this(step, "training diverged at step " + step + ": " + what + " is " + value, lastCheckpoint, dir);
    }

    private DivergedException(int step, String reason, int lastCheckpoint, Path dir) {
        super(reason + ". " + advice(lastCheckpoint, dir));
        this.step = step;
        this.reason = reason;
    }

    /**
     * Returns what works next. Batches are a function of the seed and the step, so a resume with the same
     * settings would diverge again, and --resume does not take a new --lr or --warmup.
     */
    private static String advice(int lastCheckpoint, Path dir) {
        if (lastCheckpoint == 0) {
            return "This was before the run's first checkpoint, so it saved nothing and left " + dir
                    + " unchanged. Start it again with a lower --lr or a longer --warmup";
        }
        return "The checkpoint of step " + lastCheckpoint + " in " + dir + " was kept, but resuming it would"
                + " repeat the same steps. Start a new run with a lower --lr or a longer --warmup, with another"
                + " --out or with --overwrite to replace this one";
    }

    public int step() {
        return step;
    }

    /** Returns the step and the value that was not finite, without the advice. */
    public String reason() {
        return reason;
    }
}
