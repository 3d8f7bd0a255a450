package dev.joule.models.sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.models.InvalidInputException;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.gpt.GptConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static final GptConfig CONFIG = new GptConfig(256, 24, 2, 2, 32, 0f, "softmax", "gd");

    @Test
    void sameSeedSameTextAcrossThreads() throws Exception {
        Generator g = new Generator(new Gpt(CONFIG, 5));
        Generator.Options options = new Generator.Options(30, 1.0f, 0, 1.0f, 11);
        String expected = g.generate("abc", options);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> g.generate("abc", options)));
            }
            for (Future<String> f : results) {
                assertEquals(expected, f.get());
            }
        } finally {
            pool.shutdown();
        }
        assertNotEquals(expected, g.generate("abc", new Generator.Options(30, 1.0f, 0, 1.0f, 12)));
    }

    @Test
    void promptLongerThanContextIsCropped() {
        Generator g = new Generator(new Gpt(CONFIG, 5));
        String text = g.generate("x".repeat(100), new Generator.Options(5, 0f, 0, 1f, 0));
        assertTrue(text.length() > 0);
    }

    @Test
    void topKOneAndTinyTopPAreGreedy() {
        float[] logits = {0.1f, 2.5f, -1f, 2.4f};
        for (long position = 0; position < 20; position++) {
            assertEquals(1, Generator.pick(logits, new Generator.Options(1, 1f, 1, 1f, 3), position));
            assertEquals(1, Generator.pick(logits, new Generator.Options(1, 1f, 0, 1e-6f, 3), position));
            assertEquals(1, Generator.pick(logits, new Generator.Options(1, 0f, 0, 1f, 3), position));
        }
    }

    @Test
    void topKTwoNeverPicksOthers() {
        float[] logits = {0.1f, 2.5f, -1f, 2.4f};
        boolean sawThree = false;
        for (long position = 0; position < 200; position++) {
            int token = Generator.pick(logits, new Generator.Options(1, 1f, 2, 1f, 3), position);
            assertTrue(token == 1 || token == 3, "picked " + token);
            sawThree |= token == 3;
        }
        assertTrue(sawThree, "the second most likely token should be drawn sometimes");
    }

    @Test
    void invalidOptionsAreRejected() {
        assertThrows(InvalidInputException.class, () -> new Generator.Options(-1, 1f, 0, 1f, 0));
        assertThrows(InvalidInputException.class, () -> new Generator.Options(1, -0.5f, 0, 1f, 0));
        assertThrows(InvalidInputException.class, () -> new Generator.Options(1, Float.NaN, 0, 1f, 0));
        assertThrows(InvalidInputException.class, () -> new Generator.Options(1, 1f, -2, 1f, 0));
        assertThrows(InvalidInputException.class, () -> new Generator.Options(1, 1f, 0, 0f, 0));
        assertThrows(InvalidInputException.class, () -> new Generator.Options(1, 1f, 0, 1.5f, 0));
    }
}
