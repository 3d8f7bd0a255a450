package dev.joule.models.data;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Byte-level tokenizer: each token is one byte of the UTF-8 encoding of the text, so the vocabulary
 * has 256 entries and every input can be encoded without an unknown token.
 *
 * <p>Any {@link String} of well-formed UTF-16 (no unpaired surrogates) survives {@code
 * decode(encode(text))} unchanged. Decoding accepts every sequence of byte values, including ones
 * that are not valid UTF-8, and replaces each malformed sequence with U+FFFD.
 */
public final class ByteTokenizer {
    /** Number of distinct tokens: one per byte value. */
    public static final int VOCAB_SIZE = 256;

    /** Returns {@value #VOCAB_SIZE}. */
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    /**
     * Encodes text as its UTF-8 bytes, each in {@code 0..255}. An unpaired surrogate in {@code text}
     * is encoded as {@code '?'}, as {@link String#getBytes} does.
     */
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] tokens = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            tokens[i] = Byte.toUnsignedInt(bytes[i]);
        }
        return tokens;
    }

    /** Decodes all of {@code tokens}, as {@link #decode(int[], int, int)} does. */
    public String decode(int[] tokens) {
        return decode(tokens, 0, tokens.length);
    }

    /**
     * Decodes {@code tokens[from..to)} as UTF-8, replacing each malformed byte sequence with U+FFFD.
     *
     * @throws IllegalArgumentException if a token is outside {@code 0..255}
     * @throws IndexOutOfBoundsException if the range is not inside the array
     */
    public String decode(int[] tokens, int from, int to) {
        Objects.checkFromToIndex(from, to, tokens.length);
        byte[] bytes = new byte[to - from];
        for (int i = from; i < to; i++) {
            bytes[i - from] = toByte(tokens[i], i);
        }
        // String(byte[], Charset) always replaces malformed input with U+FFFD, as its Javadoc states.
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Returns a new decoder for text produced one token at a time. */
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder();
    }

    static byte toByte(int token, long index) {
        if (token < 0 || token >= VOCAB_SIZE) {
            throw new IllegalArgumentException(
                    "token " + token + " at index " + index + " is outside the byte vocabulary 0.." + (VOCAB_SIZE - 1));
        }
        return (byte) token;
    }
}
