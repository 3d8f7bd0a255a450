package dev.joule.models.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Incremental UTF-8 decoder for byte tokens that arrive one at a time, as during sampling. It holds
 * back the bytes of an incomplete multi-byte character until the character is complete or proven
 * malformed, so printed text never shows half a character.
 *
 * <p>The text returned by all {@link #push} calls followed by {@link #flush} equals {@link
 * ByteTokenizer#decode(int[])} of the same tokens. Not thread-safe.
 */
public final class StreamingDecoder {
    // A UTF-8 character is at most 4 bytes, so at most 3 are ever held back before a push adds one.
    private final ByteBuffer pending = ByteBuffer.allocate(4);
    // One push emits at most two chars: a surrogate pair, or a U+FFFD for the held-back bytes and one for the new byte.
    private final CharBuffer output = CharBuffer.allocate(8);
    private final CharsetDecoder decoder = StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private long position;

    /**
     * Adds one token and returns the characters it completes, which may be empty.
     *
     * @throws IllegalArgumentException if {@code token} is outside {@code 0..255}, in which case the
     *     decoder state is unchanged
     */
    public String push(int token) {
        byte value = ByteTokenizer.toByte(token, position);
        position++;
        pending.put(value);
        return decode(false);
    }

    /**
     * Returns U+FFFD if an incomplete character is held back, else the empty string, and resets the
     * decoder so it can start a new text.
     */
    public String flush() {
        String text = decode(true);
        output.clear();
        decoder.flush(output);
        output.flip();
        text += output;
        decoder.reset();
        pending.clear();
        position = 0;
        return text;
    }

    private String decode(boolean endOfInput) {
        pending.flip();
        output.clear();
        decoder.decode(pending, output, endOfInput);
        pending.compact();
        output.flip();
        return output.toString();
    }
}
