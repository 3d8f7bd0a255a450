package dev.joule.models.train;

import dev.joule.engine.Tensor;
import dev.joule.engine.device.Device;
import dev.joule.engine.device.DeviceException;
import dev.joule.engine.device.DeviceInfo;
import dev.joule.engine.device.DeviceProvider;
import dev.joule.engine.device.DeviceUnavailableException;
import dev.joule.engine.device.Devices;
import dev.joule.engine.device.GptShape;
import dev.joule.engine.device.GptStepper;
import dev.joule.engine.nn.Parameter;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.BatchSource;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.gpt.GptConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training loop of {@link Trainer} on a device backend ({@code --device opencl[:N]}): the same
 * batches, schedule, clipping and AdamW, and the same run-directory files, but every step runs as one
 * fused forward, backward and update on the device (see {@link GptStepper}). Weights and moments come
 * back to the host only at checkpoints and at the end, where they are written with {@link RunDirectory}
 * exactly as the CPU trainer writes them, so {@code joule sample}, {@code joule eval} and a CPU
 * {@code --resume} read them unchanged.
 *
 * <p>Supported recipes: every valid pair of energy and optimizer (softmax with gd, momentum, nesterov,
 * newton, newton-diag or newton-neumann; linear or gated-linear with gd, momentum or nesterov; mu learned
 * per block), and no dropout. Softmax with gd is the standard Transformer. Dropout is rejected with an
 * {@link InvalidInputException} naming what is supported.
 */
public final class DeviceTrainer implements AutoCloseable {
    /** A resolved {@code --device}: the CPU (provider null) or a backend and one of its devices. */
    public record Selection(String spec, DeviceProvider provider, DeviceInfo info) {
        public boolean isCpu() {
            return provider == null;
        }

        /** Returns "cpu" or "opencl:N (device name)", for tables and logs. */
        public String describe() {
            return isCpu() ? "cpu" : provider.name() + ":" + info.index() + " (" + info.name() + ")";
        }
    }

    /** The measurements of a timed run of device steps, for {@code joule bench step --device}. */
    public record StepBenchmark(String device, double tokensPerS, double msPerStep, long deviceBytes,
                                long parameters) {}

    /**
     * Resolves a {@code --device} value: {@code cpu}, or a backend name with an optional device index
     * ({@code opencl}, {@code opencl:1}).
     *
     * @throws InvalidInputException if the backend is unknown or missing from the class path, its driver
     *     is missing (the message names what to install), or the index is out of range
     */
    public static Selection select(String device) {
        if (device == null || device.equals("cpu")) {
            return new Selection("cpu", null, null);
        }
        Devices.Spec spec;
        try {
            spec = Devices.Spec.parse(device);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("--device " + device + ": " + e.getMessage(), e);
        }
        DeviceProvider provider = Devices.provider(spec.backend());
        if (provider == null) {
            List<String> names = new ArrayList<>(List.of("cpu"));
            for (DeviceProvider p : Devices.providers()) {
                names.add(p.name() + "[:N]");
            }
            throw new InvalidInputException("unknown --device '" + device + "'; this build has "
                    + String.join(", ", names) + " (see joule devices)");
        }
        List<DeviceInfo> devices;
        try {
            devices = provider.devices();
        } catch (DeviceUnavailableException e) {
            throw new InvalidInputException("--device " + device + " is not usable on this machine: " + e.getMessage(),
                    e);
        }
        if (spec.index() >= devices.size()) {
            throw new InvalidInputException("--device " + device + ": there is no " + spec.backend() + " device "
                    + spec.index() + "; this machine has " + devices.size() + " (indexes 0 to " + (devices.size() - 1)
                    + "), see joule devices");
        }
        return new Selection(device, provider, devices.get(spec.index()));
    }

    /** The optimizers the device step implements, and the step each one runs. */
    private static final Map<String, GptShape.AttentionStep> DEVICE_OPTIMIZERS = Map.of(
            "gd", GptShape.AttentionStep.GD,
            "momentum", GptShape.AttentionStep.MOMENTUM,
            "nesterov", GptShape.AttentionStep.NESTEROV,
            "newton-diag", GptShape.AttentionStep.NEWTON_DIAG,
            "newton-neumann", GptShape.AttentionStep.NEWTON_NEUMANN,
            "newton", GptShape.AttentionStep.NEWTON);

    /** The supported optimizers in the order the messages list them. */
    private static final List<String> DEVICE_OPTIMIZER_NAMES = List.of("gd", "momentum", "nesterov", "newton",
            "newton-diag", "newton-neumann");

    /** The energies the device step implements, and the kernels each one runs. */
    private static final Map<String, GptShape.Energy> DEVICE_ENERGIES = Map.of(
            "softmax", GptShape.Energy.SOFTMAX,
            "linear", GptShape.Energy.LINEAR,
            "gated-linear", GptShape.Energy.GATED_LINEAR);

    /** The supported energies in the order the messages list them. */
    private static final List<String> DEVICE_ENERGY_NAMES = List.of("softmax", "linear", "gated-linear");

    /**
     * Checks that the device step implements this architecture: an energy and optimizer pair that the
     * device has kernels for, and no dropout. Invalid pairs (Newton on a linear energy) are rejected
     * earlier, by {@link GptConfig#validate()}.
     *
     * @throws InvalidInputException naming what is supported
     */
    public static void checkSupported(GptConfig config) {
        if (!DEVICE_ENERGIES.containsKey(config.energy()) || !DEVICE_OPTIMIZERS.containsKey(config.optimizer())) {
            throw new InvalidInputException("--device opencl trains --energy " + String.join(", ", DEVICE_ENERGY_NAMES)
                    + " with --optimizer " + String.join(", ", DEVICE_OPTIMIZER_NAMES) + " (softmax with gd is the"
                    + " standard Transformer), got --energy " + config.energy() + " --optimizer " + config.optimizer()
                    + "; use one of those or --device cpu");
        }
        if (config.dropout() != 0f) {
            throw new InvalidInputException("--device opencl has no dropout kernel, got dropout " + config.dropout()
                    + "; set it to 0 or use --device cpu");
        }
    }

    private final GptConfig config;
    private final TrainSettings settings;
    private final BatchSource data;
    private final RunDirectory run;
    private final Selection selection;
    private final Gpt model;
    private final GptShape shape;
    private Device device;
    private GptStepper stepper;
    private long deviceBytes;

    /** Builds the model on the host (for its initialization and names) and checks the recipe. */
    public DeviceTrainer(GptConfig config, TrainSettings settings, BatchSource data, RunDirectory run,
                         Selection selection) {
        if (selection.isCpu()) {
            throw new IllegalArgumentException("DeviceTrainer needs a device backend; use Trainer for the CPU");
        }
        this.config = config.validate();
        checkSupported(config);
        this.settings = settings.validate();
        this.data = data;
        this.run = run;
        this.selection = selection;
        this.model = new Gpt(config, settings.seed());
        this.shape = shapeOf(config, settings.batch());
        checkLayout(model, shape);
    }

    static GptShape shapeOf(GptConfig c, int batch) {
        // checkSupported has run, so the device supports the energy and the optimizer.
        return new GptShape(c.vocab(), c.context(), c.layers(), c.heads(), c.dim(), batch,
                DEVICE_OPTIMIZERS.get(c.optimizer()), DEVICE_ENERGIES.get(c.energy()));
    }

    /**
     * Checks that the GPT's parameters and decay flags are the ones the device step hard-codes, because a
     * change to the CPU model would otherwise train a different network on the device.
     */
    static void checkLayout(Gpt model, GptShape shape) {
        Map<String, int[]> expected = shape.parameterShapes();
        List<Parameter> params = model.parameters();
        if (params.size() != expected.size()) {
            throw new IllegalStateException("the GPT has " + params.size() + " parameters but the device step knows "
                    + expected.size() + ": " + expected.keySet());
        }
        for (Parameter p : params) {
            int[] s = expected.get(p.name());
            if (s == null || !Arrays.equals(s, p.value().shape())) {
                throw new IllegalStateException("the device step does not know GPT parameter '" + p.name() + "' "
                        + Arrays.toString(p.value().shape()));
            }
            if (p.decay() != GptShape.decays(p.name())) {
                throw new IllegalStateException("weight decay of '" + p.name() + "' differs between the GPT ("
                        + p.decay() + ") and the device step");
            }
        }
    }

    /** Returns the host copy of the model, which has the device's weights after {@link #train} or {@link #resume}. */
    public Gpt model() {
        return model;
    }

    /** Returns the device memory of the step's buffers, or 0 before training starts. */
    public long deviceBytes() {
        return deviceBytes;
    }

    private void open() {
        try {
            device = selection.provider().open(selection.info().index());
            stepper = device.gptStepper(shape, hostWeights(model));
            deviceBytes = stepper.deviceBytes();
        } catch (DeviceUnavailableException | IllegalArgumentException e) {
            close();
            throw new InvalidInputException("--device " + selection.spec() + ": " + e.getMessage(), e);
        } catch (DeviceException e) {
            close();
            throw e;
        }
    }

    static Map<String, float[]> hostWeights(Gpt model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            out.put(e.getKey(), e.getValue().toArray());
        }
        return out;
    }

    /** Runs from step 0, writing a new run directory. */
    public Trainer.Result train(Trainer.Listener listener) {
        open();
        return finish(loop().start(listener));
    }

    /** Continues a run (written on any device) from its last checkpoint up to {@code settings.steps()}. */
    public Trainer.Result resume(Trainer.Listener listener) {
        TrainerState state = run.readTrainerState();
        TrainingLoop loop = loop();
        loop.checkResumable(state);
        RunDirectory.loadWeights(model, run, state.step());
        Map<String, Tensor> moments = run.readTensors(RunDirectory.OPTIMIZER, state.step());
        open();
        Map<String, float[]> host = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : moments.entrySet()) {
            host.put(e.getKey(), e.getValue().toArray());
        }
        try {
            stepper.loadOptimizerState(host);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(run.file(RunDirectory.OPTIMIZER) + " does not match the model: "
                    + e.getMessage() + "; start a new run", e);
        }
        return finish(loop.resume(state, listener));
    }

    /** Copies the device's final weights into the host model, for sampling after training. */
    private Trainer.Result finish(Trainer.Result result) {
        model.loadStateDict(tensors(stepper.readWeights(), ""));
        return result;
    }

    private TrainingLoop loop() {
        return new TrainingLoop(config, settings, data, run, new TrainingLoop.Backend() {
            @Override
            public double[] step(Dataset.Batch batch, int step, float lr) {
                // The device applies the update before the loss comes back. A non-finite loss or norm
                // therefore means the device weights are spoilt, and the loop stops before saving.
                double loss = stepper.step(batch.inputs(), batch.targets(), lr, settings.weightDecay(),
                        settings.gradClip(), step + 1);
                return new double[] {loss, stepper.lastGradNorm()};
            }

            @Override
            public double validationLoss() {
                return DeviceTrainer.this.validationLoss();
            }

            @Override
            public Map<String, Tensor> weights() {
                return tensors(stepper.readWeights(), "");
            }

            @Override
            public Map<String, Tensor> optimizerState() {
                return tensors(stepper.readOptimizerState(), ".m", ".v");
            }

            @Override
            public long parameterCount() {
                return model.parameterCount();
            }
        });
    }

    /** Returns the mean loss over {@code settings.evalBatches()} fixed validation batches, as the CPU trainer does. */
    public double validationLoss() {
        int b = settings.batch();
        int batches = Math.min(settings.evalBatches(), Math.max(1, data.valBatchCount(b)));
        double sum = 0;
        for (int i = 0; i < batches; i++) {
            Dataset.Batch batch = data.valBatch(i, b);
            sum += stepper.evalLoss(batch.inputs(), batch.targets(), batch.batch());
        }
        return sum / batches;
    }

    /** Wraps flat arrays in tensors of the model's shapes; {@code suffix} is "", ".m" or ".v". */
    private Map<String, Tensor> tensors(Map<String, float[]> flat, String... suffixes) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : shape.parameterShapes().entrySet()) {
            for (String suffix : suffixes) {
                String key = e.getKey() + suffix;
                out.put(key, Tensor.of(flat.get(key), e.getValue()));
            }
        }
        return out;
    }

    /**
     * Times {@code steps} training steps of a freshly initialized GPT on a device, after {@code warmup}
     * untimed ones, on random tokens. For {@code joule bench step --device}.
     *
     * @throws InvalidInputException as {@link #select(String)} and {@link #checkSupported(GptConfig)} do
     */
    public static StepBenchmark benchmark(GptConfig config, int batch, int warmup, int steps, String device,
                                          long seed) {
        Selection selection = select(device);
        if (selection.isCpu()) {
            throw new InvalidInputException("DeviceTrainer.benchmark times a device backend; --device cpu has its own"
                    + " bench path");
        }
        checkSupported(config.validate());
        Gpt model = new Gpt(config, seed);
        GptShape shape = shapeOf(config, batch);
        checkLayout(model, shape);
        int n = batch * config.context();
        int[] inputs = new int[n];
        int[] targets = new int[n];
        for (int i = 0; i < n; i++) {
            inputs[i] = dev.joule.engine.Rng.nextInt(seed, 7, i, config.vocab());
            targets[i] = dev.joule.engine.Rng.nextInt(seed, 8, i, config.vocab());
        }
        try (Device d = selection.provider().open(selection.info().index());
             GptStepper s = d.gptStepper(shape, hostWeights(model))) {
            for (int i = 0; i < warmup; i++) {
                s.step(inputs, targets, 1e-4f, 0.1f, 1f, i + 1);
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                s.step(inputs, targets, 1e-4f, 0.1f, 1f, warmup + i + 1);
            }
            double ms = (System.nanoTime() - t0) / 1e6 / Math.max(1, steps);
            return new StepBenchmark(selection.describe(), n / (ms / 1000.0), ms, s.deviceBytes(),
                    model.parameterCount());
        }
    }

    @Override
    public void close() {
        if (stepper != null) {
            stepper.close();
            stepper = null;
        }
        if (device != null) {
            device.close();
            device = null;
        }
    }
}
