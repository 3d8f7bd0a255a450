package dev.joule.models.data;

/**
 * The identity of the tokens a run trains and validates on, saved in config.json so that a resume can
 * detect changed data.
 *
 * @param trainTokens number of training tokens
 * @param valTokens number of validation tokens
 * @param sha256 SHA-256, in lowercase hexadecimal, of the training tokens followed by the validation
 *     tokens, one byte per token
 */
public record DataFingerprint(long trainTokens, long valTokens, String sha256) {
    /** Returns a short description for messages: the token counts and the first 12 digits of the hash. */
    public String describe() {
        return String.format(java.util.Locale.ROOT, "%,d training and %,d validation tokens, SHA-256 %s",
                trainTokens, valTokens, sha256 == null ? "unknown" : sha256.substring(0, Math.min(12, sha256.length())));
    }
}
