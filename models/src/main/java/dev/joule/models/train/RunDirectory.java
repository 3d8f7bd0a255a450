package dev.joule.models.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.joule.engine.Tensor;
import dev.joule.engine.io.SafeTensors;
import dev.joule.engine.io.SafeTensorsException;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.DataFingerprint;
import dev.joule.models.gpt.GptConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * The files of a run directory and their atomic writes.
 *
 * <p>Layout: {@code config.json} (architecture and settings), {@code model.safetensors},
 * {@code optimizer.safetensors}, {@code trainer.json} (step and losses), {@code metrics.jsonl} and
 * {@code loss.svg}. Every file is written under a temporary name in the same directory and renamed
 * over the old one, so a crash leaves either the old or the new file, never half of one. The step is
 * stored in the metadata of both safetensors files and in trainer.json. A resume checks that the three
 * agree, which detects a crash between the renames.
 */
public final class RunDirectory {
    public static final String CONFIG = "config.json";
    public static final String MODEL = "model.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String TRAINER = "trainer.json";
    public static final String METRICS = "metrics.jsonl";
    public static final String PLOT = "loss.svg";

    static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
            .create();

    /**
     * The contents of config.json. {@code dataFingerprint} is null for generated data and in runs
     * written before fingerprints were saved.
     */
    public record RunConfig(GptConfig model, TrainSettings train, DataFingerprint dataFingerprint) {
        public RunConfig(GptConfig model, TrainSettings train) {
            this(model, train, null);
        }
    }

    private final Path dir;

    public RunDirectory(Path dir) {
        this.dir = dir;
    }

    public Path path() {
        return dir;
    }

    public Path file(String name) {
        return dir.resolve(name);
    }

    /** Returns true when the directory contains any file of a run. */
    public boolean looksLikeRun() {
        return Files.exists(file(CONFIG)) || Files.exists(file(MODEL)) || Files.exists(file(TRAINER));
    }

    /** Writes text to {@code name} through a temporary file and an atomic rename. */
    public void writeAtomically(String name, String text) {
        writeAtomically(dir.resolve(name), text);
    }

    /** Writes text to {@code target} through a temporary file in the same directory and an atomic rename. */
    public static void writeAtomically(Path target, String text) {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("failed to write " + target + ": " + e.getMessage(), e);
        }
    }

    public void writeConfig(RunConfig config) {
        writeAtomically(CONFIG, GSON.toJson(config) + "\n");
    }

    /** Reads config.json, or throws an {@link InvalidInputException} that names the problem. */
    public RunConfig readConfig() {
        Path p = requireFile(CONFIG);
        try {
            RunConfig c = GSON.fromJson(Files.readString(p), RunConfig.class);
            if (c == null || c.model() == null) {
                throw new InvalidInputException(p + " has no \"model\" section; it is not a Joule run config");
            }
            c.model().validate();
            return c;
        } catch (IOException e) {
            throw new InvalidInputException("cannot read " + p + ": " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw new InvalidInputException(p + " is not valid JSON: " + jsonProblem(e) + ". Restore the "
                    + CONFIG + " saved with this run, or start a new run", e);
        }
    }

    public void writeTrainerState(TrainerState state) {
        writeAtomically(TRAINER, GSON.toJson(state) + "\n");
    }

    public TrainerState readTrainerState() {
        Path p = requireFile(TRAINER);
        try {
            TrainerState s = GSON.fromJson(Files.readString(p), TrainerState.class);
            if (s == null || s.step() < 0) {
                throw new InvalidInputException(p + " contains no valid step; it is damaged, so start a new run");
            }
            return s;
        } catch (IOException e) {
            throw new InvalidInputException("cannot read " + p + ": " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw new InvalidInputException(p + " is not valid JSON: " + jsonProblem(e) + ". Restore the "
                    + TRAINER + " saved with this run, or start a new run", e);
        }
    }

    /** Writes a safetensors file atomically with the step in its metadata. */
    public void writeTensors(String name, Map<String, Tensor> tensors, int step) {
        try {
            SafeTensors.write(file(name), tensors, Map.of("step", Integer.toString(step), "format", "pt"));
        } catch (IOException e) {
            throw new UncheckedIOException("failed to write " + file(name) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a safetensors file and checks that it was written at {@code expectedStep}, or at any step
     * when {@code expectedStep} is negative.
     */
    public Map<String, Tensor> readTensors(String name, int expectedStep) {
        Path p = requireFile(name);
        try (var file = SafeTensors.read(p)) {
            String step = file.metadata().get("step");
            if (expectedStep >= 0 && step != null && !step.equals(Integer.toString(expectedStep))) {
                throw new InvalidInputException(p + " was written at step " + step + " but " + TRAINER
                        + " says step " + expectedStep + "; the run was interrupted while saving,"
                        + " so start a new run or restore a consistent copy");
            }
            return file.readAll();
        } catch (SafeTensorsException e) {
            throw new InvalidInputException(e.getMessage() + "; the checkpoint is damaged, so restore it or"
                    + " start a new run", e);
        } catch (IOException e) {
            throw new InvalidInputException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads model.safetensors into {@code model}, turning a mismatch between config.json and the weights
     * into an {@link InvalidInputException} that names the run.
     */
    public static void loadWeights(dev.joule.engine.nn.Module model, RunDirectory run, int expectedStep) {
        Map<String, Tensor> tensors = run.readTensors(MODEL, expectedStep);
        try {
            model.loadStateDict(tensors);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(run.file(MODEL) + " does not match " + run.file(CONFIG) + ": "
                    + e.getMessage() + ". Restore the config.json that was saved with these weights", e);
        }
    }

    /** Returns Gson's description of a parse error without the name of the Java exception it wraps. */
    private static String jsonProblem(JsonParseException e) {
        Throwable cause = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause() : e;
        return cause.getMessage().replaceFirst("^[\\w.$]+(Exception|Error): ", "");
    }

    private Path requireFile(String name) {
        Path p = file(name);
        if (!Files.isRegularFile(p)) {
            throw new InvalidInputException("run directory " + dir + " has no " + name
                    + "; pass the directory that joule train wrote with --out");
        }
        return p;
    }
}
