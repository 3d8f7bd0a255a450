package dev.joule.models;

/**
 * Invalid input from the user: a bad option value, a missing or malformed file. The command line maps
 * it to exit code 2 and prints its message, which names the value and what to do about it.
 */
public class InvalidInputException extends RuntimeException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
