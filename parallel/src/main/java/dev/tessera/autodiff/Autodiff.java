package dev.tessera.autodiff;

import dev.tessera.graph.Graph;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.ops.Add;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode differentiation of a forward graph into a {@link TrainingGraph}.
 *
 * <p>Each op's gradient rule emits ordinary ops. Afterwards every emitted op is classified: an
 * op that some activation gradient depends on is B (the stage before waits for it); every
 * other one feeds only weight gradients and is W, free to run later. No rule has to know
 * about the split.
 *
 * <p>Every backward and update op records the forward op it belongs to ({@link Op#forwardOp()}),
 * so a stage partition puts it with that op without reading names.
 */
public final class Autodiff {
    private Autodiff() {
    }

    /**
     * @throws IllegalArgumentException if {@code loss} is not a scalar of the graph, or a gradient
     *     rule returns a gradient whose type differs from its input's
     */
    public static TrainingGraph build(LogicalGraph forward, Tensor loss, TrainingOptions options) {
        if (loss.shape().rank() != 0) {
            throw new IllegalArgumentException("loss '" + loss.name() + "' must be a scalar, has shape " + loss.shape());
        }
        if (forward.store().tensor(loss.name()) != loss) {
            throw new IllegalArgumentException("loss '" + loss.name() + "' is not a tensor of this graph");
        }
        Graph store = forward.store();
        Set<Tensor> needsGrad = tensorsNeedingGradient(forward, loss);
        int firstBackwardOp = store.ops().size();

        Map<Tensor, List<Tensor>> contributions = new LinkedHashMap<>();
        Tensor seed = store.addOp("loss_grad", new GradientSeed(1.0 / options.microBatches(), loss.dtype()),
                List.of(), Phase.BACKWARD_INPUT, loss.producer()).output(0);
        contributions.computeIfAbsent(loss, t -> new ArrayList<>()).add(seed);
        List<Tensor> activationGradients = new ArrayList<>();

        List<Op> forwardOps = forward.ops();
        for (int i = forwardOps.size() - 1; i >= 0; i--) {
            Op op = forwardOps.get(i);
            boolean anyInput = false;
            for (int k = 0; k < op.inputs().size(); k++) {
                anyInput |= op.def().differentiable(k) && needsGrad.contains(op.input(k));
            }
            boolean anyOutputGrad = op.outputs().stream().anyMatch(contributions::containsKey);
            if (!anyInput || !anyOutputGrad) {
                continue;
            }
            List<Tensor> outputGrads = new ArrayList<>();
            for (Tensor out : op.outputs()) {
                outputGrads.add(sum(store, out, contributions.get(out)));
            }
            GradientContext ctx = new GradientContext(store, op, outputGrads, needsGrad);
            op.def().gradient(ctx);
            for (Map.Entry<Integer, Tensor> e : ctx.inputGrads().entrySet()) {
                Tensor input = op.input(e.getKey());
                contributions.computeIfAbsent(input, t -> new ArrayList<>()).add(e.getValue());
                if (input.kind() != TensorKind.PARAMETER) {
                    activationGradients.add(e.getValue());
                }
            }
        }

        Map<Tensor, Tensor> gradients = new LinkedHashMap<>();
        for (Tensor p : forward.parameters()) {
            List<Tensor> parts = contributions.get(p);
            if (parts != null) {
                gradients.put(p, sum(store, p, parts));
            }
        }
        classifyBackward(store, firstBackwardOp, activationGradients);

        Map<Tensor, Op> firstReaders = firstReaders(forward);
        Map<Tensor, Tensor> accumulators = new LinkedHashMap<>();
        for (Map.Entry<Tensor, Tensor> e : gradients.entrySet()) {
            Tensor p = e.getKey();
            Tensor acc = store.newTensor(p.name() + ".grad", p.shape(), p.dtype(), TensorKind.STATE, Initializer.zeros());
            store.addOp(p.name() + ".accumulate", new AccumulateGrad(), List.of(acc, e.getValue()), Phase.BACKWARD_WEIGHT,
                    firstReaders.get(p));
            accumulators.put(p, acc);
        }
        List<Op> backwardOps = new ArrayList<>(store.ops().subList(firstBackwardOp, store.ops().size()));

        int firstUpdateOp = store.ops().size();
        Tensor lr = store.newTensor(store.uniqueName("learning_rate"), Shape.scalar(), loss.dtype(), TensorKind.INPUT, null);
        Tensor step = store.newTensor(store.uniqueName("optimizer_step"), Shape.scalar(), loss.dtype(), TensorKind.INPUT, null);
        if (accumulators.isEmpty()) {
            throw new IllegalArgumentException("the loss '" + loss.name() + "' depends on no parameter; nothing to train");
        }
        UpdatePhase.Result update = UpdatePhase.build(store, accumulators, firstReaders, lr, step, options);
        List<Op> updateOps = new ArrayList<>(store.ops().subList(firstUpdateOp, store.ops().size()));
        return new TrainingGraph(forward, loss, backwardOps, updateOps, gradients, accumulators,
                update.optimizerState(), update.rollbackCopies(), lr, step, update.gradNorm(), options);
    }

    /** The first forward op reading each parameter: the op a parameter's accumulation and update belong to. */
    private static Map<Tensor, Op> firstReaders(LogicalGraph forward) {
        Map<Tensor, Op> readers = new LinkedHashMap<>();
        for (Op op : forward.ops()) {
            for (Tensor input : op.inputs()) {
                if (input.kind() == TensorKind.PARAMETER) {
                    readers.putIfAbsent(input, op);
                }
            }
        }
        return readers;
    }

    /** Tensors on a path from a parameter to the loss: exactly those whose gradient is needed. */
    private static Set<Tensor> tensorsNeedingGradient(LogicalGraph forward, Tensor loss) {
        Set<Tensor> fromParameters = new HashSet<>(forward.parameters());
        for (Op op : forward.ops()) {
            for (int k = 0; k < op.inputs().size(); k++) {
                if (op.def().differentiable(k) && fromParameters.contains(op.input(k))) {
                    fromParameters.addAll(op.outputs());
                    break;
                }
            }
        }
        Set<Tensor> toLoss = new HashSet<>();
        toLoss.add(loss);
        List<Op> ops = forward.ops();
        for (int i = ops.size() - 1; i >= 0; i--) {
            Op op = ops.get(i);
            if (op.outputs().stream().anyMatch(toLoss::contains)) {
                toLoss.addAll(op.inputs());
            }
        }
        toLoss.retainAll(fromParameters);
        return toLoss;
    }

    private static Tensor sum(Graph store, Tensor of, List<Tensor> parts) {
        if (parts == null || parts.isEmpty()) {
            return null;
        }
        Tensor total = parts.get(0);
        for (int i = 1; i < parts.size(); i++) {
            // the sum runs where its last part was computed, with that part's forward op
            Op lastPart = parts.get(i).producer();
            total = store.addOp(of.name() + ".grad_sum", new Add(), List.of(total, parts.get(i)),
                    Phase.BACKWARD_INPUT, lastPart == null ? null : lastPart.forwardOp().orElse(null)).output(0);
        }
        return total;
    }

    /** Marks every backward op that no activation gradient depends on as W. */
    private static void classifyBackward(Graph store, int firstBackwardOp, List<Tensor> activationGradients) {
        BitSet neededByB = new BitSet();
        Deque<Tensor> work = new ArrayDeque<>(activationGradients);
        while (!work.isEmpty()) {
            Op producer = work.pop().producer();
            if (producer == null || producer.id() < firstBackwardOp || neededByB.get(producer.id())) {
                continue;
            }
            neededByB.set(producer.id());
            work.addAll(producer.inputs());
        }
        int end = store.ops().size();
        for (int id = firstBackwardOp; id < end; id++) {
            if (!neededByB.get(id)) {
                store.replacePhase(store.op(id), Phase.BACKWARD_WEIGHT);
            }
        }
    }
}
