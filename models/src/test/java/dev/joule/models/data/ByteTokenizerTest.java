package dev.joule.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ByteTokenizerTest {
    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @Test
    void vocabSizeIs256() {
        assertEquals(256, tokenizer.vocabSize());
    }

    @Test
    void asciiRoundTrips() {
        String text = EnglishText.sample();
        int[] tokens = tokenizer.encode(text);
        assertEquals(text.getBytes(StandardCharsets.UTF_8).length, tokens.length);
        assertEquals(text, tokenizer.decode(tokens));
    }

    @Test
    void multiByteRoundTrips() {
        String text = "naïve café — 日本語 🎉";
        int[] tokens = tokenizer.encode(text);
        // 11 ASCII bytes, ï and é at 2 bytes, the em dash and 3 CJK characters at 3 bytes, the emoji at 4.
        assertEquals(31, tokens.length);
        for (int token : tokens) {
            assertTrue(token >= 0, "negative token " + token);
            assertTrue(token < 256, "token " + token + " above 255");
        }
        assertEquals(text, tokenizer.decode(tokens));
    }

    @Test
    void emptyTextRoundTrips() {
        assertArrayEquals(new int[0], tokenizer.encode(""));
        assertEquals("", tokenizer.decode(new int[0]));
    }

    @Test
    void decodeRangeSelectsTokens() {
        int[] tokens = tokenizer.encode("hello world");
        assertEquals("world", tokenizer.decode(tokens, 6, 11));
        assertEquals("", tokenizer.decode(tokens, 3, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> tokenizer.decode(tokens, 5, 12));
    }

    @Test
    void invalidUtf8DecodesToReplacement() {
        assertEquals("a\uFFFDb", tokenizer.decode(new int[] {'a', 0xFF, 'b'}));
        // A truncated three-byte sequence at the end.
        assertEquals("x\uFFFD", tokenizer.decode(new int[] {'x', 0xE6, 0x97}));
        // A lone continuation byte.
        assertEquals("\uFFFD", tokenizer.decode(new int[] {0x80}));
    }

    @Test
    void randomBytesNeverThrow() {
        Random random = new Random(7);
        for (int trial = 0; trial < 2000; trial++) {
            int[] tokens = new int[random.nextInt(40)];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = random.nextInt(256);
            }
            String text = tokenizer.decode(tokens);
            assertEquals(new String(toBytes(tokens), StandardCharsets.UTF_8), text);
        }
    }

    @Test
    void outOfRangeTokenNamesTokenAndIndex() {
        IllegalArgumentException high =
                assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {65, 66, 256}));
        assertTrue(high.getMessage().contains("token 256"), high.getMessage());
        assertTrue(high.getMessage().contains("index 2"), high.getMessage());

        IllegalArgumentException negative =
                assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {-1}));
        assertTrue(negative.getMessage().contains("token -1"), negative.getMessage());
        assertTrue(negative.getMessage().contains("index 0"), negative.getMessage());
    }

    @Test
    void streamingReassemblesSplitCharacters() {
        String text = "naïve café — 日本語 🎉";
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        StringBuilder out = new StringBuilder();
        for (int token : tokenizer.encode(text)) {
            String piece = decoder.push(token);
            // A piece never ends in half a surrogate pair or a replacement character.
            assertTrue(piece.indexOf('\uFFFD') < 0, "unexpected replacement in " + piece);
            if (!piece.isEmpty()) {
                assertTrue(!Character.isHighSurrogate(piece.charAt(piece.length() - 1)), "split surrogate pair");
            }
            out.append(piece);
        }
        out.append(decoder.flush());
        assertEquals(text, out.toString());
    }

    @Test
    void streamingHoldsBackIncompleteCharacter() {
        StreamingDecoder decoder = new StreamingDecoder();
        int[] euro = tokenizer.encode("€");
        assertEquals(3, euro.length);
        assertEquals("", decoder.push(euro[0]));
        assertEquals("", decoder.push(euro[1]));
        assertEquals("€", decoder.push(euro[2]));
        assertEquals("", decoder.flush());
    }

    @Test
    void streamingFlushReplacesIncompleteTail() {
        StreamingDecoder decoder = new StreamingDecoder();
        assertEquals("a", decoder.push('a'));
        assertEquals("", decoder.push(0xF0));
        assertEquals("", decoder.push(0x9F));
        assertEquals("\uFFFD", decoder.flush());
        // After a flush the decoder starts fresh.
        assertEquals("b", decoder.push('b'));
    }

    @Test
    void streamingMatchesDecodeOnRandomBytes() {
        Random random = new Random(11);
        StreamingDecoder decoder = new StreamingDecoder();
        for (int trial = 0; trial < 2000; trial++) {
            int[] tokens = new int[random.nextInt(40)];
            for (int i = 0; i < tokens.length; i++) {
                // Bias towards bytes that start or continue multi-byte sequences.
                tokens[i] = random.nextBoolean() ? 0x80 + random.nextInt(128) : random.nextInt(256);
            }
            StringBuilder out = new StringBuilder();
            for (int token : tokens) {
                out.append(decoder.push(token));
            }
            out.append(decoder.flush());
            assertEquals(tokenizer.decode(tokens), out.toString(), "trial " + trial);
        }
    }

    @Test
    void streamingRejectsOutOfRangeToken() {
        StreamingDecoder decoder = new StreamingDecoder();
        decoder.push('a');
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> decoder.push(300));
        assertTrue(error.getMessage().contains("token 300"), error.getMessage());
        assertTrue(error.getMessage().contains("index 1"), error.getMessage());
        assertEquals("b", decoder.push('b'));
    }

    private static byte[] toBytes(int[] tokens) {
        byte[] bytes = new byte[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            bytes[i] = (byte) tokens[i];
        }
        return bytes;
    }
}
