package dev.joule.engine;

/**
 * A counter-based random number generator: every value is a pure function of a seed, a stream id and
 * a position, so results never depend on the order or the thread in which values are drawn.
 *
 * <p>The mixing function is the SplitMix64 finalizer (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014) applied to the combined key. It passes BigCrush when
 * used as a counter-based generator, which is ample for initialization, dropout and sampling.
 */
public final class Rng {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Rng() {}

    /** Returns 64 random bits for the given seed, stream and position. */
    public static long bits(long seed, long stream, long position) {
        long z = seed * GOLDEN + stream * 0xD1B54A32D192ED03L + position * GOLDEN + 0x632BE59BD9B4E019L;
        z = mix(z);
        return mix(z ^ seed);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Returns a uniform float in {@code [0, 1)} with 24 random bits. */
    public static float uniform(long seed, long stream, long position) {
        return (bits(seed, stream, position) >>> 40) * 0x1.0p-24f;
    }

    /** Returns a uniform double in {@code [0, 1)} with 53 random bits. */
    public static double uniformDouble(long seed, long stream, long position) {
        return (bits(seed, stream, position) >>> 11) * 0x1.0p-53;
    }

    /** Returns a standard normal sample (Box-Muller on two positions derived from {@code position}). */
    public static float normal(long seed, long stream, long position) {
        double u1 = uniformDouble(seed, stream, 2 * position);
        double u2 = uniformDouble(seed, stream, 2 * position + 1);
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u1));
        return (float) (r * Math.cos(2.0 * Math.PI * u2));
    }

    /** Returns a uniform integer in {@code [0, bound)}. */
    public static int nextInt(long seed, long stream, long position, int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        return (int) Math.floorMod(bits(seed, stream, position) >>> 1, (long) bound);
    }
}
