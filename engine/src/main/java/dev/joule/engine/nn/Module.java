package dev.joule.engine.nn;

import dev.joule.engine.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A component with named parameters and named sub-modules. Names join with dots
 * ({@code blocks.0.attn.qkv.weight}), which is also the key layout of the saved state dictionary.
 */
public abstract class Module {
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a parameter under a local name and returns its tensor. */
    protected Tensor param(String name, Tensor value, boolean decay) {
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("duplicate parameter name: " + name);
        }
        parameters.put(name, new Parameter(name, value, decay));
        return value;
    }

    /** Registers a sub-module under a local name and returns it. */
    protected <M extends Module> M child(String name, M module) {
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("duplicate sub-module name: " + name);
        }
        children.put(name, module);
        return module;
    }

    /** Returns every parameter of this module and its sub-modules, with fully qualified names. */
    public List<Parameter> parameters() {
        List<Parameter> out = new ArrayList<>();
        collect("", out);
        return Collections.unmodifiableList(out);
    }

    private void collect(String prefix, List<Parameter> out) {
        for (Parameter p : parameters.values()) {
            out.add(new Parameter(prefix + p.name(), p.value(), p.decay()));
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().collect(prefix + e.getKey() + ".", out);
        }
    }

    /** Returns the parameters by qualified name, in registration order. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Parameter p : parameters()) {
            out.put(p.name(), p.value());
        }
        return out;
    }

    /**
     * Copies values into the parameters by qualified name.
     *
     * @throws IllegalArgumentException if a parameter is missing from {@code state}, has another shape,
     *     or {@code state} contains a tensor that this module has no parameter for (the weights then belong
     *     to another architecture, and silently dropping them would change the model)
     */
    public void loadStateDict(Map<String, Tensor> state) {
        java.util.Set<String> expected = new java.util.HashSet<>();
        for (Parameter p : parameters()) {
            expected.add(p.name());
        }
        for (String name : state.keySet()) {
            if (!expected.contains(name)) {
                throw new IllegalArgumentException("the saved state has a tensor '" + name + "' that the model"
                        + " has no parameter for; the weights were saved by a different architecture");
            }
        }
        for (Parameter p : parameters()) {
            Tensor src = state.get(p.name());
            if (src == null) {
                throw new IllegalArgumentException("missing parameter '" + p.name() + "' in the saved state");
            }
            if (!java.util.Arrays.equals(src.shape(), p.value().shape())) {
                throw new IllegalArgumentException("parameter '" + p.name() + "' has shape "
                        + java.util.Arrays.toString(src.shape()) + " in the saved state but the model expects "
                        + java.util.Arrays.toString(p.value().shape()));
            }
            p.value().copyFrom(src);
        }
    }

    /** Returns the total number of scalar parameters. */
    public long parameterCount() {
        long n = 0;
        for (Parameter p : parameters()) {
            n += p.value().numel();
        }
        return n;
    }

    /** Clears the gradients of all parameters. */
    public void zeroGrad() {
        for (Parameter p : parameters()) {
            p.value().zeroGrad();
        }
    }

    /** Switches training behaviour (dropout) on or off, recursively. */
    public void train(boolean on) {
        training = on;
        for (Module m : children.values()) {
            m.train(on);
        }
    }

    public boolean isTraining() {
        return training;
    }
}
