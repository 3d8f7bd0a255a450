package dev.joule.layers;

/**
 * The optimizer an attention layer runs on its energy. Two independent parts:
 *
 * <p><b>Within the layer</b>, in the head's value space, from z = 0 with g = grad F(0) and
 * H = Hess F(0), the step delta (D per query and head) is
 *
 * <pre>
 *   NONE      delta = -eta g                                  (gradient step)
 *   FULL      delta = -eta (H + lambda I)^-1 g                (damped Newton, exact D x D solve)
 *   DIAG      delta = -eta g / (diag(H) + lambda)             (diagonal Newton)
 *   NEUMANN   delta = -eta (1/A) (I + C / (T A)) g            (first Neumann term of H^-1)
 * </pre>
 *
 * where, writing H = A I - C / T (A = sum_j w_ij a_ij, C the covariance of the pair gradients under
 * the free energy's weights, zero for the sums), the damping is lambda = lambda0 + tr(C) / T when
 * {@link #boundedDamping} is set and lambda0 otherwise. Since C is positive semi-definite its largest
 * eigenvalue is at most tr(C), so H + lambda I &gt;= (A + lambda0) I: the bounded damping keeps the
 * solve positive definite for every strictly convex local energy, even where F itself is not convex.
 * The Neumann form is positive definite without damping.
 *
 * <p><b>Across layers</b>, with u_l = W_O delta_l (B, T, C) the layer's update in the residual stream:
 *
 * <pre>
 *   RESIDUAL    x_{l+1} = x_l + u_l(x_l)
 *   HEAVY_BALL  m_{l+1} = mu m_l + u_l(x_l),          x_{l+1} = x_l + m_{l+1}
 *   NESTEROV    m_{l+1} = mu m_l + u_l(x_l + mu m_l), x_{l+1} = x_l + m_{l+1}
 * </pre>
 *
 * with the velocity m carried from block to block next to x (m_0 = 0), and mu in [0, 1) fixed or
 * learned per layer as sigmoid(theta).
 *
 * @param name the optimizer's name on the command line
 * @param preconditioner the within-layer step
 * @param memory the across-layer combination
 * @param stepSize eta &gt; 0; 1 in every named optimizer, so that softmax + gd is standard attention
 * @param mu the momentum coefficient, or its initial value when learned; ignored without memory
 * @param learnedMu whether mu is a parameter of each layer
 * @param damping lambda0 &gt;= 0
 * @param boundedDamping whether to add tr(C) / T to the damping
 */
public record StepRule(String name, Preconditioner preconditioner, Memory memory, float stepSize, float mu,
                       boolean learnedMu, float damping, boolean boundedDamping) {

    /** The within-layer step. */
    public enum Preconditioner {
        NONE, FULL, DIAG, NEUMANN
    }

    /** The across-layer combination. */
    public enum Memory {
        RESIDUAL, HEAVY_BALL, NESTEROV
    }

    /** The initial momentum coefficient of the named optimizers, learned per layer from there. */
    public static final float DEFAULT_MU = 0.5f;

    public StepRule {
        if (!(stepSize > 0f) || Float.isInfinite(stepSize)) {
            throw new IllegalArgumentException("step size must be positive and finite, got " + stepSize);
        }
        if (!(mu >= 0f && mu < 1f)) {
            throw new IllegalArgumentException("momentum coefficient must be in [0, 1), got " + mu);
        }
        if (learnedMu && mu == 0f) {
            throw new IllegalArgumentException("a learned momentum coefficient is sigmoid(theta) and cannot start at 0;"
                    + " use a fixed coefficient of 0 or a positive initial value");
        }
        if (!(damping >= 0f) || Float.isInfinite(damping)) {
            throw new IllegalArgumentException("Newton damping must be non-negative and finite, got " + damping);
        }
    }

    /** Gradient descent with step size 1: the residual connection. */
    public static StepRule gd() {
        return new StepRule("gd", Preconditioner.NONE, Memory.RESIDUAL, 1f, 0f, false, 0f, false);
    }

    /** Heavy-ball momentum with coefficient mu, fixed or learned per layer. */
    public static StepRule momentum(float mu, boolean learned) {
        return new StepRule("momentum", Preconditioner.NONE, Memory.HEAVY_BALL, 1f, mu, learned, 0f, false);
    }

    /** Nesterov momentum: the step is evaluated at the look-ahead x + mu m. */
    public static StepRule nesterov(float mu, boolean learned) {
        return new StepRule("nesterov", Preconditioner.NONE, Memory.NESTEROV, 1f, mu, learned, 0f, false);
    }

    /** Damped Newton with an exact solve per query: lambda = lambda0 (+ tr(C) / T when bounded). */
    public static StepRule newton(float lambda0, boolean bounded) {
        return new StepRule("newton", Preconditioner.FULL, Memory.RESIDUAL, 1f, 0f, false, lambda0, bounded);
    }

    /** Newton with the diagonal of the Hessian, damped like {@link #newton}. */
    public static StepRule newtonDiag(float lambda0, boolean bounded) {
        return new StepRule("newton-diag", Preconditioner.DIAG, Memory.RESIDUAL, 1f, 0f, false, lambda0, bounded);
    }

    /** The first Neumann term of the inverse Hessian; needs no damping. */
    public static StepRule newtonNeumann() {
        return new StepRule("newton-neumann", Preconditioner.NEUMANN, Memory.RESIDUAL, 1f, 0f, false, 0f, false);
    }

    /** Returns this rule with another step size. */
    public StepRule withStepSize(float eta) {
        return new StepRule(name, preconditioner, memory, eta, mu, learnedMu, damping, boundedDamping);
    }

    /** True for the Newton family, which needs a strictly convex local energy. */
    public boolean usesCurvature() {
        return preconditioner != Preconditioner.NONE;
    }

    /** True when the rule carries a velocity from layer to layer. */
    public boolean hasVelocity() {
        return memory != Memory.RESIDUAL;
    }
}
