package dev.tessera.autodiff;

import dev.tessera.graph.Graph;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.optim.AdamWUpdate;
import dev.tessera.optim.BackedUpUpdate;
import dev.tessera.optim.ClipByNorm;
import dev.tessera.optim.GlobalNorm;
import dev.tessera.optim.Optimizer;
import dev.tessera.optim.OptimizerUpdate;
import dev.tessera.optim.SgdUpdate;
import dev.tessera.optim.SquaredNorm;
import dev.tessera.optim.StepValidation;
import dev.tessera.optim.ValidateUpdate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The ops of an iteration's update phase: the global gradient norm (a squared norm per
 * accumulator, then their global norm), then per parameter either clipping and the optimizer step
 * ({@link StepValidation#BEFORE_STEP}), or a step with rollback copies and its validation against
 * the norm ({@link StepValidation#POST_VALIDATION}).
 */
final class UpdatePhase {
    /** What the phase adds besides ops. */
    record Result(Tensor gradNorm, List<Tensor> optimizerState, List<Tensor> rollbackCopies) {
    }

    private final Graph store;
    private final Tensor learningRate;
    private final Tensor optimizerStep;
    private final List<Tensor> state = new ArrayList<>();
    private final List<Tensor> rollbackCopies = new ArrayList<>();

    private UpdatePhase(Graph store, Tensor learningRate, Tensor optimizerStep) {
        this.store = store;
        this.learningRate = learningRate;
        this.optimizerStep = optimizerStep;
    }

    /**
     * @param accumulators each parameter's gradient accumulator
     * @param owners       the forward op each parameter's update ops belong to
     */
    static Result build(Graph store, Map<Tensor, Tensor> accumulators, Map<Tensor, Op> owners, Tensor learningRate,
                        Tensor optimizerStep, TrainingOptions options) {
        UpdatePhase phase = new UpdatePhase(store, learningRate, optimizerStep);
        Tensor norm = phase.norm(accumulators, owners);
        boolean postValidation = options.stepValidation() == StepValidation.POST_VALIDATION;
        if (!postValidation && options.clipNorm() > 0) {
            for (Map.Entry<Tensor, Tensor> e : accumulators.entrySet()) {
                store.addOp(e.getKey().name() + ".clip_grad", new ClipByNorm(options.clipNorm()),
                        List.of(e.getValue(), norm), Phase.UPDATE, owners.get(e.getKey()));
            }
        }
        for (Map.Entry<Tensor, Tensor> e : accumulators.entrySet()) {
            Tensor p = e.getKey();
            Step step = phase.step(options.optimizer(), p, e.getValue());
            if (postValidation) {
                phase.validatedStep(p, step, norm, options.clipNorm(), owners.get(p));
            } else {
                store.addOp(p.name() + ".update", step.update(), step.inputs(), Phase.UPDATE, owners.get(p));
            }
        }
        return new Result(norm, phase.state, phase.rollbackCopies);
    }

    /**
     * Global-norm measurement as ops that work on any layout of the accumulators: a squared norm
     * per accumulator (a partial sum where the accumulator is split) and their global norm.
     */
    private Tensor norm(Map<Tensor, Tensor> accumulators, Map<Tensor, Op> owners) {
        List<Tensor> squares = new ArrayList<>(accumulators.size());
        for (Map.Entry<Tensor, Tensor> e : accumulators.entrySet()) {
            squares.add(store.addOp(e.getKey().name() + ".grad_squared_norm", new SquaredNorm(),
                    List.of(e.getValue()), Phase.UPDATE, owners.get(e.getKey())).output(0));
        }
        return store.addOp("grad_norm", new GlobalNorm(squares.size()), squares, Phase.UPDATE).output(0);
    }

    /** One parameter's optimizer step: its op type and inputs. */
    private record Step(OptimizerUpdate update, List<Tensor> inputs) {
    }

    private Step step(Optimizer optimizer, Tensor p, Tensor grad) {
        boolean decays = p.shape().rank() >= 2;
        if (optimizer instanceof Optimizer.Sgd sgd) {
            Tensor velocity = newState(p, "momentum");
            return new Step(new SgdUpdate(sgd.momentum(), decays ? sgd.weightDecay() : 0.0),
                    List.of(p, grad, velocity, learningRate));
        }
        Optimizer.AdamW adam = (Optimizer.AdamW) optimizer;
        Tensor m = newState(p, "adam_m");
        Tensor v = newState(p, "adam_v");
        return new Step(new AdamWUpdate(adam.beta1(), adam.beta2(), adam.epsilon(), decays ? adam.weightDecay() : 0.0),
                List.of(p, grad, m, v, learningRate, optimizerStep));
    }

    /** The step with a rollback copy of each tensor it overwrites, then its validation against the norm. */
    private void validatedStep(Tensor p, Step step, Tensor norm, double clipNorm, Op owner) {
        List<Tensor> inputs = new ArrayList<>(step.inputs());
        for (int k : step.update().mutatedInputs()) {
            Tensor kept = step.inputs().get(k);
            Tensor copy = store.newTensor(kept.name() + ".rollback", kept.shape(), kept.dtype(), TensorKind.STATE,
                    Initializer.zeros());
            rollbackCopies.add(copy);
            inputs.add(copy);
        }
        store.addOp(p.name() + ".update", new BackedUpUpdate(step.update()), inputs, Phase.UPDATE, owner);
        List<Tensor> validation = new ArrayList<>(inputs);
        validation.add(norm);
        store.addOp(p.name() + ".validate_update", new ValidateUpdate(step.update(), clipNorm), validation,
                Phase.UPDATE, owner);
    }

    private Tensor newState(Tensor p, String what) {
        Tensor s = store.newTensor(p.name() + "." + what, p.shape(), p.dtype(), TensorKind.STATE, Initializer.zeros());
        state.add(s);
        return s;
    }
}
