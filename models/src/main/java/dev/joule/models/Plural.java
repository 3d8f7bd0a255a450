package dev.joule.models;

/** Counts in messages: "1 file", "2 files". */
public final class Plural {
    private Plural() {}

    /** Returns {@code n} followed by {@code noun}, with an "s" appended unless {@code n} is 1. */
    public static String of(long n, String noun) {
        return n + " " + (n == 1 ? noun : noun + "s");
    }
}
