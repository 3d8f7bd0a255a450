package dev.joule.models.train;

/** Training produced a NaN or infinite loss or gradient. The command line maps it to exit code 3. */
public class DivergedException extends RuntimeException {
    private final int step;

    public DivergedException(int step, String what, double value, String lastCheckpoint) {
        super("training diverged at step " + step + ": " + what + " is " + value + "; the last good checkpoint"
                + " (" + lastCheckpoint + ") was kept. Lower --lr or raise --warmup and resume or retrain");
        this.step = step;
    }

    public int step() {
        return step;
    }
}
