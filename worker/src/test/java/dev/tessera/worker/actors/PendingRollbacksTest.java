package dev.tessera.worker.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.MiniatureModels;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.BackedUpUpdate;
import dev.tessera.optim.Optimizer;
import dev.tessera.optim.StepValidation;
import dev.tessera.optim.ValidateUpdate;
import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.ActorAction;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Device;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The executor's part of post-validation: a device stopped by another device's norm check before
 * its own validations ran still has its steps of the failing iteration applied; {@link
 * PendingRollbacks#undo} restores exactly those, from the copies the backed-up step made, and
 * leaves validated steps and steps of other iterations alone. The steps here run the real kernels
 * of a real graph's update ops on their real buffers.
 */
class PendingRollbacksTest {
    private final TrainingGraph graph = MiniatureModels.mlp(6, new TrainingOptions(1,
            new Optimizer.AdamW(0.9, 0.95, 1e-8, 0.1), 1.0, StepValidation.POST_VALIDATION));
    private final KernelRegistry kernels = KernelRegistry.standard();
    private final RunState run = new RunState();
    private final PendingRollbacks rollbacks = run.rollbacks;

    @BeforeEach
    void startRun() {
        run.start(4, 1, List.of(List.of(Map.of()), List.of(Map.of())), new double[] {0.01, 0.01});
    }

    /** One parameter's backed-up step and its validation, bound to fresh buffers. */
    private final class Parameter {
        final INDArray[] buffers;
        final ActorAction step;
        final ActorAction validation;

        Parameter(String name) {
            Op update = op(name + ".update");
            Op validate = op(name + ".validate_update");
            buffers = new INDArray[validate.inputs().size()];
            for (int k = 0; k < buffers.length; k++) {
                Tensor input = validate.input(k);
                buffers[k] = input.shape().rank() == 0 ? Nd4j.scalar(DataType.DOUBLE, 0.5)
                        : Nd4j.rand(DataType.DOUBLE, input.shape().toLongArray());
            }
            buffers[5].assign(1);
            buffers[buffers.length - 1].assign(0.5);
            step = rollbacks.record(update, Arrays.copyOf(buffers, update.inputs().size()), run,
                    kernelAction(update, Arrays.copyOf(buffers, update.inputs().size())));
            validation = rollbacks.record(validate, buffers, run, kernelAction(validate, buffers));
        }

        INDArray parameter() {
            return buffers[0];
        }
    }

    @Test
    void shouldRestoreTheUnvalidatedStepsOfTheFailedIterationOnly() throws Exception {
        Parameter validated = new Parameter("fc1.weight");
        Parameter pending = new Parameter("fc2.weight");
        Parameter earlier = new Parameter("head.weight");
        INDArray before = pending.parameter().dup();
        INDArray momentBefore = pending.buffers[2].dup();

        earlier.step.act(context(0));
        earlier.validation.act(context(0));
        INDArray afterEarlier = earlier.parameter().dup();
        validated.step.act(context(1));
        validated.validation.act(context(1));
        INDArray afterValidated = validated.parameter().dup();
        pending.step.act(context(1));
        assertNotEquals(before, pending.parameter(), "the step changed the parameter");

        assertEquals(1, rollbacks.undo(5), "the run's iteration 1 is global iteration 5");

        assertEquals(before, pending.parameter());
        assertEquals(momentBefore, pending.buffers[2]);
        assertEquals(afterValidated, validated.parameter());
        assertEquals(afterEarlier, earlier.parameter());
    }

    @Test
    void shouldRestoreNothingWhenTheFailedIterationTookNoStep() throws Exception {
        Parameter parameter = new Parameter("fc1.weight");
        parameter.step.act(context(0));
        INDArray stepped = parameter.parameter().dup();

        assertEquals(0, rollbacks.undo(5));

        assertEquals(stepped, parameter.parameter());
    }

    private Op op(String name) {
        return graph.updateOps().stream().filter(op -> op.name().equals(name)).findFirst().orElseThrow();
    }

    private ActorAction kernelAction(Op op, INDArray[] inputs) {
        assertTrue(op.def() instanceof BackedUpUpdate || op.def() instanceof ValidateUpdate, op.name());
        Kernel kernel = kernels.create(op);
        return context -> kernel.run(inputs, new INDArray[0], new KernelContext(context.iteration(), 0));
    }

    /** What an update action reads of its context: the iteration of the run, at its only micro-batch. */
    private static ActionContext context(long iteration) {
        return new ActionContext() {
            @Override
            public ActorSpec actor() {
                throw new UnsupportedOperationException();
            }

            @Override
            public Device device() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int microBatch() {
                return 0;
            }

            @Override
            public long iteration() {
                return iteration;
            }

            @Override
            public Object input(int index) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Object output(int index) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void replaceOutput(int index, Object payload) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Executor executor() {
                throw new UnsupportedOperationException();
            }
        };
    }
}
