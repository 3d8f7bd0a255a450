package dev.joule.models.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The corpus shipped inside the jar: Joule's own README, docs and Java sources, concatenated at build
 * time, so that a first {@code joule train} needs nothing but a JDK.
 */
public final class EmbeddedCorpus {
    static final String RESOURCE = "/dev/joule/models/corpus.txt";

    private EmbeddedCorpus() {}

    /** Returns the corpus text. */
    public static String text() {
        try (InputStream in = EmbeddedCorpus.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the built-in corpus " + RESOURCE + " is missing from the jar;"
                        + " rebuild with ./mvnw package or pass --data");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("failed to read the built-in corpus: " + e.getMessage(), e);
        }
    }
}
