package dev.joule.models.cli;

import dev.joule.models.InvalidInputException;
import dev.joule.models.train.DivergedException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code joule} command line. Exit codes: 0 success, 2 invalid input or usage (message on standard
 * error), 3 training diverged, 1 any other failure.
 */
@Command(name = "joule", mixinStandardHelpOptions = true, version = "joule 0.1.0",
        description = "Train, sample and evaluate small GPT models with Joule's own engine, on the CPU or an OpenCL"
                + " device.",
        subcommands = {TrainCommand.class, SampleCommand.class, EvalCommand.class, BenchCommand.class,
                       EnergyCommand.class, CompareCommand.class, DevicesCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_DIVERGED = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command; try joule train");
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    static Float parseFloat(String text) {
        String t = text.strip().toLowerCase(java.util.Locale.ROOT);
        return switch (t) {
            case "nan" -> Float.NaN;
            case "inf", "+inf", "infinity", "+infinity" -> Float.POSITIVE_INFINITY;
            case "-inf", "-infinity" -> Float.NEGATIVE_INFINITY;
            default -> Float.parseFloat(t);
        };
    }

    /** The model that the running command builds and its estimated bytes, for the out-of-memory message. */
    private record Workload(String description, long bytes) {}

    private static final ThreadLocal<Workload> WORKLOAD = new ThreadLocal<>();

    /** Records what the command is about to build, so that the out-of-memory message can name it. */
    static void describeWorkload(String description, long bytes) {
        WORKLOAD.set(new Workload(description, bytes));
    }

    /** Returns true when the first word after joule is neither an option nor a command. */
    private static boolean isUnknownCommand(CommandLine.ParameterException ex) {
        if (!(ex instanceof CommandLine.UnmatchedArgumentException u) || ex.getCommandLine().getParent() != null) {
            return false;
        }
        // joule itself takes no positional arguments, so an unmatched word that is not an option is an unknown command.
        java.util.List<String> unmatched = u.getUnmatched();
        return !unmatched.isEmpty() && !unmatched.get(0).startsWith("-");
    }

    /** Runs the command line with the given streams and returns the exit code; tests call it directly. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        WORKLOAD.remove();
        try {
            return execute(args, out, err);
        } catch (OutOfMemoryError e) {
            err.println("joule: " + outOfMemoryMessage(e, WORKLOAD.get()));
            err.flush();
            return EXIT_FAILURE;
        } finally {
            WORKLOAD.remove();
        }
    }

    private static String outOfMemoryMessage(OutOfMemoryError e, Workload workload) {
        double gib = 1L << 30;
        double heap = Runtime.getRuntime().maxMemory() / gib;
        String heapText = heap >= 1 ? String.format(java.util.Locale.ROOT, "%.1f GiB", heap)
                : String.format(java.util.Locale.ROOT, "%d MiB", Runtime.getRuntime().maxMemory() >> 20);
        String message = String.format(java.util.Locale.ROOT, "out of memory (%s)%s; the Java heap is limited"
                + " to %s. ", e.getMessage() == null ? "no detail" : e.getMessage(),
                workload == null ? "" : " while training " + workload.description(), heapText);
        String smaller = workload == null ? "Use a smaller model or batch"
                : "Use a smaller model (--layers, --dim, --context) or a smaller --batch";
        double machine = physicalMemory() / gib;
        double wanted = workload == null ? 2 * heap : Math.max(2 * heap, 1.5 * workload.bytes() / gib);
        if (machine > 0 && wanted > 0.9 * machine) {
            return message + String.format(java.util.Locale.ROOT, "%s: it needs more than this machine's %.1f GiB"
                    + " of memory, so a larger heap (JOULE_JAVA_OPTS=-Xmx<size>) would not help", smaller, machine);
        }
        return message + String.format(java.util.Locale.ROOT, "%s, or give Java a larger heap through"
                + " JOULE_JAVA_OPTS, for example JOULE_JAVA_OPTS=-Xmx%dg ./joule ...", smaller,
                (long) Math.ceil(wanted));
    }

    /** Returns the machine's memory in bytes, or 0 when the JVM does not report it. */
    private static long physicalMemory() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }

    private static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        // Each subcommand lists -V, --version in its help, so each one prints the version too.
        String[] version = cli.getCommandSpec().version();
        for (CommandLine sub : cli.getSubcommands().values()) {
            sub.getCommandSpec().version(version);
        }
        // The last occurrence of a repeated option wins, so scripts can append overrides.
        cli.setOverwrittenOptionsAllowed(true);
        // Accept nan and inf in any case, so that the range checks, not the parser, name the problem.
        cli.registerConverter(Float.class, Main::parseFloat);
        cli.registerConverter(float.class, Main::parseFloat);
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, ignored) -> {
            if (isUnknownCommand(ex)) {
                String name = ((CommandLine.UnmatchedArgumentException) ex).getUnmatched().get(0);
                err.println("joule: unknown command '" + name + "'; the commands are "
                        + String.join(", ", ex.getCommandLine().getSubcommands().keySet()));
                err.println("Run 'joule --help' for what each one does.");
                return EXIT_USAGE;
            }
            err.println("joule: " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
            err.println("Run 'joule " + (ex.getCommandLine().getCommandName().equals("joule") ? ""
                    : ex.getCommandLine().getCommandName() + " ") + "--help' for the options.");
            return EXIT_USAGE;
        });
        cli.setExecutionExceptionHandler((ex, ignored, parsed) -> {
            if (ex instanceof InvalidInputException) {
                err.println("joule: " + ex.getMessage());
                return EXIT_USAGE;
            }
            if (ex instanceof DivergedException) {
                err.println("joule: " + ex.getMessage());
                return EXIT_DIVERGED;
            }
            err.println("joule: failed: " + ex);
            ex.printStackTrace(err);
            return EXIT_FAILURE;
        });
        return cli.execute(args);
    }
}
