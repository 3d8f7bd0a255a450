package dev.joule.bench;

/** The JVM options every benchmark fork runs with; the same ones the {@code joule} launcher passes. */
final class JvmFlags {
    static final String VECTOR_MODULE = "--add-modules=jdk.incubator.vector";
    /** JOCL and the OpenBLAS peer load JNI libraries. */
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    /** Keeps the next option from printing a line to standard output. */
    static final String QUIET = "-XX:CompileCommand=quiet";
    /**
     * Inline the vector math functions (exp, log, tanh, gelu and its derivative) into every kernel. When C2 leaves one out of
     * line, each call boxes its vector argument and result, which costs megabytes of garbage per training
     * step, depending on the order in which methods get compiled.
     */
    static final String INLINE_EXP = "-XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::exp";
    static final String INLINE_LOG = "-XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::log";
    static final String INLINE_TANH = "-XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::tanh";
    static final String INLINE_GELU = "-XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::gelu";
    static final String INLINE_GELU_DERIVATIVE =
            "-XX:CompileCommand=inline,dev.joule.engine.kernels.ElementwiseVector::geluDerivative";

    private JvmFlags() {}
}
