package dev.tessera.optim;

/** How parameters are updated from their accumulated gradients, once per iteration. */
public sealed interface Optimizer {

    /**
     * SGD with heavy-ball momentum and L2 weight decay, as PyTorch's {@code torch.optim.SGD} (no
     * dampening, no Nesterov): {@code v = momentum * v + g + weightDecay * p; p -= lr * v}.
     * Weight decay applies to matrices only (rank >= 2), never to biases or norm scales.
     */
    record Sgd(double momentum, double weightDecay) implements Optimizer {
        public Sgd {
            if (momentum < 0 || momentum >= 1) {
                throw new IllegalArgumentException("optimizer.momentum must be in [0, 1), got " + momentum);
            }
            if (weightDecay < 0) {
                throw new IllegalArgumentException("optimizer.weight_decay must be >= 0, got " + weightDecay);
            }
        }
    }

    /**
     * Adam with decoupled weight decay (Loshchilov and Hutter): bias-corrected moments, then
     * {@code p -= lr * (mHat / (sqrt(vHat) + epsilon) + weightDecay * p)}, the decay applying to
     * matrices only (rank >= 2).
     */
    record AdamW(double beta1, double beta2, double epsilon, double weightDecay) implements Optimizer {
        public AdamW {
            if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) {
                throw new IllegalArgumentException("optimizer.beta1 and beta2 must be in [0, 1), got "
                        + beta1 + " and " + beta2);
            }
            if (epsilon <= 0) {
                throw new IllegalArgumentException("optimizer.epsilon must be > 0, got " + epsilon);
            }
            if (weightDecay < 0) {
                throw new IllegalArgumentException("optimizer.weight_decay must be >= 0, got " + weightDecay);
            }
        }
    }
}
