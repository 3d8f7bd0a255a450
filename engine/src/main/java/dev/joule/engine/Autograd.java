package dev.joule.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Reverse-mode automatic differentiation over the graph of recorded operations.
 *
 * <p>Every op that runs while gradients are enabled and has an input that requires a gradient records
 * a {@link Node} on its output: the inputs and a backward function. {@link #backward(Tensor)} orders
 * the graph with an iterative depth-first search (deep graphs cannot overflow the stack), then calls
 * the backward functions from the loss to the leaves. Gradients of leaves accumulate across calls until
 * they are cleared; gradients of intermediate tensors are dropped as soon as they have been propagated.
 */
public final class Autograd {
    private static final ThreadLocal<int[]> NO_GRAD_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private Autograd() {}

    /** The backward function of one op: given the gradient of its output, accumulates into its inputs. */
    @FunctionalInterface
    public interface BackwardFn {
        void backward(Tensor gradOutput);
    }

    /** A recorded operation: its name (for error messages), inputs and backward function. */
    record Node(String op, Tensor[] inputs, BackwardFn fn) {}

    /** A scope in which no op records a graph node. Close it to restore the previous mode. */
    public static final class NoGradScope implements AutoCloseable {
        private boolean closed;

        private NoGradScope() {
            NO_GRAD_DEPTH.get()[0]++;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                NO_GRAD_DEPTH.get()[0]--;
            }
        }
    }

    /** Opens a no-grad scope for the current thread; use with try-with-resources. */
    public static NoGradScope noGrad() {
        return new NoGradScope();
    }

    /** Returns true when ops on the current thread record graph nodes. */
    public static boolean isGradEnabled() {
        return NO_GRAD_DEPTH.get()[0] == 0;
    }

    /**
     * Attaches a graph node to {@code out} when gradients are enabled and any input requires one.
     * Returns {@code out} for chaining.
     */
    public static Tensor record(Tensor out, String op, BackwardFn fn, Tensor... inputs) {
        if (!isGradEnabled()) {
            return out;
        }
        for (Tensor in : inputs) {
            if (in != null && in.requiresGrad) {
                out.requiresGrad = true;
                out.node = new Node(op, inputs, fn);
                return out;
            }
        }
        return out;
    }

    /**
     * Adds {@code grad} into {@code target.grad}. Does nothing when {@code target} does not require a
     * gradient.
     *
     * @throws ShapeException if the shapes differ
     */
    public static void accumulate(Tensor target, Tensor grad) {
        if (target == null || !target.requiresGrad) {
            return;
        }
        if (!Arrays.equals(target.shape, grad.shape)) {
            throw new ShapeException("gradient accumulation", target.shape, grad.shape);
        }
        if (target.grad == null) {
            target.grad = Tensor.of(grad.toArray(), grad.shape);
            return;
        }
        float[] dst = target.grad.data;
        if (grad.isContiguous()) {
            dev.joule.engine.kernels.Elementwise.add(dst, 0, grad.data, grad.offset, dst, 0, dst.length);
        } else {
            float[] src = grad.toArray();
            dev.joule.engine.kernels.Elementwise.add(dst, 0, src, 0, dst, 0, dst.length);
        }
    }

    /**
     * Accumulates a freshly computed gradient array of {@code target}'s shape. The array is adopted
     * without copying when {@code target} has no gradient yet, so the caller must not reuse it.
     */
    public static void accumulateOwned(Tensor target, float[] grad) {
        if (target == null || !target.requiresGrad) {
            return;
        }
        if (target.grad == null) {
            target.grad = Tensor.of(grad, target.shape);
            return;
        }
        float[] dst = target.grad.data;
        dev.joule.engine.kernels.Elementwise.add(dst, 0, grad, 0, dst, 0, dst.length);
    }

    /**
     * Computes the gradient of the scalar {@code loss} with respect to every tensor in its graph that
     * requires one, accumulating into their {@link Tensor#grad()}.
     *
     * @throws IllegalArgumentException if {@code loss} is not a single element or has no graph
     */
    public static void backward(Tensor loss) {
        if (loss.numel() != 1) {
            throw new IllegalArgumentException("backward needs a scalar loss, got shape "
                    + Arrays.toString(loss.shape) + "; reduce it with sum() or mean() first");
        }
        if (!loss.requiresGrad) {
            throw new IllegalArgumentException("the loss does not depend on any tensor that requires a"
                    + " gradient; mark parameters with requiresGrad(true) and compute outside noGrad()");
        }
        List<Tensor> order = topologicalOrder(loss);
        float[] seed = Buffers.floats(1);
        seed[0] = 1f;
        accumulateOwned(loss, seed);
        try (NoGradScope ignored = noGrad()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Node node = t.node;
                if (node == null || t.grad == null) {
                    continue;
                }
                node.fn().backward(t.grad);
                // An intermediate's gradient is only needed to feed its inputs.
                t.grad = null;
            }
        }
    }

    /** Returns the tensors of the graph in an order where every input precedes its outputs. */
    static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        visited.add(root);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            Tensor[] inputs = t.node == null ? new Tensor[0] : t.node.inputs();
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.requiresGrad && visited.add(in)) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }
}
