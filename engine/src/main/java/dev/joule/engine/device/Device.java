package dev.joule.engine.device;

import java.util.Map;

/**
 * An opened device. Closing it releases every buffer and program it allocated, including those of the
 * steppers it created.
 */
public interface Device extends AutoCloseable {
    /** Returns the description this device was opened from. */
    DeviceInfo info();

    /**
     * Uploads a GPT and allocates every buffer its training step needs, once.
     *
     * @param shape the architecture and the largest batch that {@link GptStepper#step} will see
     * @param weights every parameter by its state-dictionary name (see {@link GptShape#parameterShapes()}),
     *     row-major
     * @throws IllegalArgumentException if a weight is missing or has the wrong length
     * @throws DeviceException if the device runs out of memory or a kernel fails to build
     */
    GptStepper gptStepper(GptShape shape, Map<String, float[]> weights);

    @Override
    void close();
}
