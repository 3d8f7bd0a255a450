package dev.joule.models.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.joule.models.InvalidInputException;
import java.io.EOFException;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Reader for JSON Lines files in which every non-blank line is an object with a string field {@code text}. */
final class JsonLines {
    static final String TEXT_FIELD = "text";

    private JsonLines() {}

    /**
     * Adds the {@code text} of every line of {@code bytes} as one document and returns the number of
     * malformed UTF-8 sequences in the file. Blank lines and empty {@code text} values are skipped.
     *
     * @throws InvalidInputException if a line is not a JSON object with a string {@code text}, or if
     *     the file contains no non-empty text
     */
    static long addDocuments(Path file, byte[] bytes, Corpus.TokenSink sink) {
        int start = Corpus.hasByteOrderMark(bytes) ? 3 : 0;
        long invalid = Corpus.countMalformedUtf8(bytes, start);
        String content = new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);

        int documentsBefore = sink.documentCount();
        int lineNumber = 0;
        int lineStart = 0;
        while (lineStart < content.length()) {
            int lineEnd = content.indexOf('\n', lineStart);
            if (lineEnd < 0) {
                lineEnd = content.length();
            }
            lineNumber++;
            String line = content.substring(lineStart, lineEnd);
            lineStart = lineEnd + 1;
            if (line.isBlank()) {
                continue;
            }
            byte[] text = parseText(file, lineNumber, line).getBytes(StandardCharsets.UTF_8);
            sink.addDocument(file, text, 0, text.length);
        }

        if (sink.documentCount() == documentsBefore) {
            throw new InvalidInputException(file + " contains no non-empty \"" + TEXT_FIELD
                    + "\" values; write one JSON object per line, such as {\"text\": \"Once upon a time\"}");
        }
        return invalid;
    }

    private static String parseText(Path file, int lineNumber, String line) {
        JsonElement element;
        try {
            JsonReader reader = new JsonReader(new StringReader(line));
            reader.setStrictness(Strictness.STRICT);
            element = JsonParser.parseReader(reader);
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new JsonParseException("unexpected data after the JSON value");
            }
        } catch (JsonParseException | IOException e) {
            throw new InvalidInputException(file + ":" + lineNumber + ": invalid JSON (" + describeSyntaxError(e)
                    + "); write one JSON object per line, such as {\"text\": \"Once upon a time\"}", e);
        }

        JsonElement text = element.isJsonObject() ? ((JsonObject) element).get(TEXT_FIELD) : null;
        if (text == null || !text.isJsonPrimitive() || !text.getAsJsonPrimitive().isString()) {
            throw new InvalidInputException(file + ":" + lineNumber + ": expected a JSON object with a string field \""
                    + TEXT_FIELD + "\"; add one, such as {\"text\": \"Once upon a time\"}");
        }
        return text.getAsString();
    }

    /**
     * Returns Gson's description of a syntax error without the parts that only make sense to a Gson
     * user: the advice to switch to lenient parsing, the troubleshooting link and the JSON path.
     */
    static String describeSyntaxError(Exception e) {
        Throwable cause = e;
        while (cause instanceof JsonParseException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof EOFException) {
            return "unexpected end of line";
        }
        String message = cause.getMessage();
        if (message == null) {
            return cause.getClass().getSimpleName();
        }
        int link = message.indexOf("\nSee ");
        if (link >= 0) {
            message = message.substring(0, link);
        }
        // Each line is parsed on its own, so Gson's line number is always 1 and only the column helps.
        return message
                .replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON", "malformed JSON")
                .replace(" at line 1 column ", " at column ")
                .replaceFirst(" path \\S*$", "");
    }
}
