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
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The files of a run directory and their atomic writes.
 *
 * <p>Layout: {@code config.json} (architecture and settings), {@code model.safetensors},
 * {@code optimizer.safetensors}, {@code trainer.json} (step and losses), {@code metrics.jsonl} and
 * {@code loss.svg}. Every file is written under a temporary name in the same directory and renamed
 * over the old one, so a crash leaves either the old or the new file, never half of one. The step is
 * stored in the metadata of both safetensors files and in trainer.json. A resume checks that the three
 * agree, which detects a crash between the renames.
 *
 * <p>A new run is staged: {@link #begin} reserves the directory (creating it when it does not exist) and
 * makes a hidden staging folder {@code .NAME.new-*} next to it, and every file goes there until the first
 * checkpoint. {@link #commit} then renames the staging folder into place. Over an existing run it first
 * renames the old directory aside, then moves the files that are not run files back in, then deletes the
 * rest of the old run. A run that fails before its first checkpoint therefore changes nothing, and
 * {@link #abandon} removes its staging folder and the directory it reserved. A crash leaves the old run or
 * the new one, each whole, never a mix of the two.
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

    /** The files that make up a run; anything else in the directory belongs to the user. */
    private static final List<String> RUN_FILES = List.of(CONFIG, MODEL, OPTIMIZER, TRAINER, METRICS, PLOT);

    private Path dir;
    /** True when {@link #begin} picks a new name next to {@code dir} if it exists. */
    private final boolean unique;
    /** True when a new run may replace the run files already in {@code dir}. */
    private final boolean replace;
    /** The staging folder of a new run until its first checkpoint; null once committed, and for existing runs. */
    private Path staging;
    /** True when {@link #begin} created {@code dir}, so that {@link #abandon} removes it again. */
    private boolean created;

    /** A run directory; a new run started in it replaces the run files already there. */
    public RunDirectory(Path dir) {
        this(dir, false, true);
    }

    private RunDirectory(Path dir, boolean unique, boolean replace) {
        this.dir = dir;
        this.unique = unique;
        this.replace = replace;
    }

    /**
     * Returns a directory for a new run that rejects a run written there by another process meanwhile,
     * unless {@code overwrite} is true.
     */
    public static RunDirectory forNewRun(Path dir, boolean overwrite) {
        return new RunDirectory(dir, false, overwrite);
    }

    /**
     * Returns a directory for a new run at {@code base}, or at {@code base-2}, {@code base-3} and so on
     * when that exists. The name is reserved with an atomic create, so two runs never share one.
     */
    public static RunDirectory unique(Path base) {
        return new RunDirectory(base, true, false);
    }

    /** Returns the run's directory: the final place, also while a new run is still staged. */
    public Path path() {
        return dir;
    }

    /** Returns the path of a run file where it is now: in the staging folder until the first checkpoint. */
    public Path file(String name) {
        return (staging != null ? staging : dir).resolve(name);
    }

    /**
     * Reserves the directory of a new run and creates its staging folder. Call it after every check of
     * the input, since it is the first write.
     */
    void begin() {
        try {
            Path parent = dir.toAbsolutePath().normalize().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            if (unique) {
                Path base = dir;
                for (int n = 1; ; n++) {
                    Path candidate = n == 1 ? base : base.resolveSibling(base.getFileName() + "-" + n);
                    try {
                        Files.createDirectory(candidate);
                        dir = candidate;
                        created = true;
                        break;
                    } catch (FileAlreadyExistsException taken) {
                        // Another run has this name; try the next.
                    }
                }
            } else if (!Files.exists(dir)) {
                try {
                    Files.createDirectory(dir);
                    created = true;
                } catch (FileAlreadyExistsException raced) {
                    // Another process made it just now; commit checks what it holds.
                }
            }
            if (!Files.isDirectory(dir)) {
                throw new InvalidInputException("--out " + dir + " is a file, not a directory; choose a directory"
                        + " path for the run");
            }
            staging = createStaging(dir.toAbsolutePath().normalize());
        } catch (IOException e) {
            abandon();
            throw new InvalidInputException("cannot write the output directory " + dir + ": " + e.getMessage()
                    + "; pass a writable path with --out", e);
        } catch (RuntimeException e) {
            abandon();
            throw e;
        }
    }

    private static Path createStaging(Path target) throws IOException {
        while (true) {
            Path p = target.resolveSibling("." + target.getFileName() + ".new-"
                    + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16));
            try {
                return Files.createDirectory(p);
            } catch (FileAlreadyExistsException taken) {
                // Draw another name.
            }
        }
    }

    /** Returns true while a new run writes into its staging folder. */
    boolean isStaged() {
        return staging != null;
    }

    /**
     * Moves a staged run into its directory; see the class comment. Call it once the first checkpoint is
     * complete in the staging folder.
     */
    void commit() {
        Path target = dir.toAbsolutePath().normalize();
        Path from = staging;
        try {
            if (isEmptyDirectory(target)) {
                try {
                    // rename(2) replaces an empty directory in one step, and fails if it is no longer empty.
                    Files.move(from, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException notEmptyOrNotSupported) {
                    Files.delete(target);
                    Files.move(from, target, StandardCopyOption.ATOMIC_MOVE);
                }
            } else {
                if (!replace && new RunDirectory(target).looksLikeRun()) {
                    staging = null;
                    throw new InvalidInputException("another run was written to " + dir + " while this one"
                            + " trained, so this run was left in " + from + "; move it where you want it");
                }
                Path old = target.resolveSibling("." + target.getFileName() + ".old-"
                        + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16));
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(from, target, StandardCopyOption.ATOMIC_MOVE);
                try (var entries = Files.list(old)) {
                    for (Path p : entries.toList()) {
                        if (!isRunFile(p.getFileName().toString())) {
                            Files.move(p, target.resolve(p.getFileName()), StandardCopyOption.ATOMIC_MOVE);
                        }
                    }
                }
                deleteRecursively(old);
            }
            staging = null;
        } catch (IOException e) {
            throw new UncheckedIOException("failed to move the new run from " + from + " to " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Undoes {@link #begin} for a run that stops before its first checkpoint: deletes the staging folder
     * and the directory that begin created, if it is still empty. Errors are ignored, as the run has
     * already failed for another reason.
     */
    void abandon() {
        if (staging != null) {
            deleteRecursively(staging);
            staging = null;
        }
        if (created) {
            try {
                Files.deleteIfExists(dir);
            } catch (IOException notEmpty) {
                // Something else was put there; leave it.
            }
            created = false;
        }
    }

    private static boolean isRunFile(String name) {
        for (String f : RUN_FILES) {
            if (name.equals(f) || name.startsWith(f + ".tmp")) {
                return true;
            }
        }
        return false;
    }

    private static boolean isEmptyDirectory(Path dir) throws IOException {
        try (var entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    /** Returns whether {@code d} is a readable, empty directory; false for anything else. */
    private static boolean isEmptyFolder(Path d) {
        try {
            return Files.isDirectory(d) && isEmptyDirectory(d);
        } catch (IOException e) {
            return false;
        }
    }

    private static void deleteRecursively(Path root) {
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // A leftover hidden folder does not block another run.
        }
    }

    /** Returns true when the directory contains any file of a run. */
    public boolean looksLikeRun() {
        return Files.exists(file(CONFIG)) || Files.exists(file(MODEL)) || Files.exists(file(TRAINER));
    }

    /** Writes text to {@code name} through a temporary file and an atomic rename. */
    public void writeAtomically(String name, String text) {
        writeAtomically(file(name), text);
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
            if (isEmptyFolder(dir)) {
                // The name is reserved at the start of a run, which can then stop before its first checkpoint.
                throw new InvalidInputException("run directory " + dir + " is empty: its run stopped before its"
                        + " first checkpoint, so there is nothing to load; start a new run with --out " + dir);
            }
            throw new InvalidInputException("run directory " + dir + " has no " + name
                    + "; pass the directory that joule train wrote with --out");
        }
        return p;
    }
}
