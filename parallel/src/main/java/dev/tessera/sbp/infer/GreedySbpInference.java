package dev.tessera.sbp.infer;

import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.SignatureLifting;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One forward pass over a graph that gives each op, in topological order, the cheapest ND
 * signature given the layouts its producers already chose ({@link SignatureCost}). Tensors the
 * user fixed with a hint keep it; an unhinted input or parameter takes the layout its first
 * consumer wants (Broadcast where that consumer wants a partial sum, zero-filled on the way).
 * A tensor an op writes in place (an optimizer step's parameter and state) is never boxed: the op
 * must take it in the layout it is stored in, and one not laid out yet is stored like the op's
 * other input of its type (optimizer state like its parameter). Greedy and local: it never revisits a choice, which
 * is what the whole-graph search of the {@code auto} mode is for.
 */
public final class GreedySbpInference {
    private GreedySbpInference() {
    }

    /**
     * @param hints layouts fixed by the user (e.g. the batch input S(0)); checked against the
     *     placement and each tensor's type
     * @throws IllegalArgumentException naming the tensor when a hint does not fit, or naming the op
     *     and tensors when no signature of an op takes the tensors it writes in place as they are stored
     */
    public static SbpAssignment infer(LogicalGraph graph, Placement placement, Map<Tensor, NdSbp> hints, CostModel model) {
        return infer(graph.ops(), placement, hints, model);
    }

    /**
     * The same over any ops in topological order, e.g. all ops of a training graph (forward,
     * backward and update), where it gives weight gradients their all-reduce.
     */
    public static SbpAssignment infer(List<Op> ops, Placement placement, Map<Tensor, NdSbp> hints, CostModel model) {
        hints.forEach((tensor, sbp) -> sbp.requireFits(tensor.name(), tensor.type(), placement));
        BoxingCache boxing = new BoxingCache(placement);
        Map<Tensor, NdSbp> layouts = new HashMap<>(hints);
        Map<Op, NdSbpSignature> signatures = new HashMap<>();
        List<SbpAssignment.InsertedBoxing> boxings = new ArrayList<>();
        for (Op op : ops) {
            List<NdSbp> arriving = op.inputs().stream().map(layouts::get).toList();
            List<NdSbpSignature> lifted = SignatureLifting.lift(op.def(), op.inputTypes(), placement);
            List<NdSbp> followed = followWrittenInputs(op, arriving);
            NdSbpSignature best = cheapest(op, lifted, followed, arriving, hints, boxing, model);
            if (best == null && !followed.equals(arriving)) {
                best = cheapest(op, lifted, arriving, arriving, hints, boxing, model);
            }
            if (best == null) {
                throw noInPlaceSignature(op, lifted, arriving);
            }
            signatures.put(op, best);
            for (int i = 0; i < op.inputs().size(); i++) {
                Tensor input = op.input(i);
                NdSbp wanted = best.inputs().get(i);
                NdSbp from = layouts.get(input);
                if (from == null) {
                    // parameters and inputs are stored whole or split, never as partial values
                    from = wanted.withoutPartialSums();
                    layouts.put(input, from);
                }
                if (!from.equals(wanted)) {
                    boxings.add(new SbpAssignment.InsertedBoxing(op, i, boxing.plan(input.name(), input.type(), from, wanted)));
                }
            }
            for (int o = 0; o < op.outputs().size(); o++) {
                Tensor output = op.output(o);
                NdSbp produced = best.outputs().get(o);
                NdSbp hint = hints.get(output);
                if (hint != null && !hint.equals(produced)) {
                    boxings.add(new SbpAssignment.InsertedBoxing(op, -1, boxing.plan(output.name(), output.type(), produced, hint)));
                } else {
                    layouts.put(output, produced);
                }
            }
        }
        return new SbpAssignment(placement, layouts, signatures, boxings);
    }

    /**
     * The cheapest signature that takes every mutated input as {@code stored} says it is stored
     * (any layout but a partial sum where null), or null if none does.
     */
    private static NdSbpSignature cheapest(Op op, List<NdSbpSignature> lifted, List<NdSbp> stored,
            List<NdSbp> arriving, Map<Tensor, NdSbp> hints, BoxingCache boxing, CostModel model) {
        List<String> names = op.inputs().stream().map(Tensor::name).toList();
        NdSbpSignature best = null;
        double bestSeconds = Double.POSITIVE_INFINITY;
        for (NdSbpSignature sig : lifted) {
            if (!keepsMutatedInputsInPlace(op, sig, stored)) {
                continue;
            }
            double seconds = SignatureCost.of(op.def(), names, op.inputTypes(), op.outputTypes(), sig, arriving,
                    boxing, model).seconds();
            seconds += outputHintSeconds(op, sig, hints, boxing, model);
            if (seconds < bestSeconds) {
                best = sig;
                bestSeconds = seconds;
            }
        }
        return best;
    }

    /**
     * {@code arriving} with each written input that has no layout yet given the layout of the
     * first other input of its type that has one, partial sums made whole: a gradient accumulator
     * is stored as its gradient arrives (whole after the all-reduce of a data-parallel weight
     * gradient, split like a column-parallel weight's). Choosing by cost alone would shard it
     * wherever a reduce-scatter is cheaper than an all-reduce, which the greedy pass cannot weigh
     * against the all-gather its update then needs; a hint on the accumulator asks for that.
     */
    private static List<NdSbp> followWrittenInputs(Op op, List<NdSbp> arriving) {
        List<NdSbp> followed = new ArrayList<>(arriving);
        for (int i : op.def().mutatedInputs()) {
            if (arriving.get(i) != null) {
                continue;
            }
            for (int j = 0; j < arriving.size(); j++) {
                if (j != i && arriving.get(j) != null && op.input(j).type().equals(op.input(i).type())) {
                    followed.set(i, arriving.get(j).withoutPartialSums());
                    break;
                }
            }
        }
        return followed;
    }

    /**
     * An op writes its mutated inputs where they are stored, so a signature must take each one in
     * the layout it already has: boxing it would update a copy. A tensor not laid out yet takes the
     * signature's layout, which therefore must not be a partial sum (stored tensors never are).
     */
    private static boolean keepsMutatedInputsInPlace(Op op, NdSbpSignature sig, List<NdSbp> arriving) {
        for (int i : op.def().mutatedInputs()) {
            NdSbp stored = arriving.get(i);
            NdSbp wanted = sig.inputs().get(i);
            if (stored == null ? wanted.hasPartialSum() : !stored.equals(wanted)) {
                return false;
            }
        }
        return true;
    }

    private static IllegalArgumentException noInPlaceSignature(Op op, List<NdSbpSignature> lifted,
            List<NdSbp> arriving) {
        StringBuilder message = new StringBuilder("op '" + op.name() + "' (" + op.def().type()
                + ") writes its inputs in place, but none of its signatures takes them in the layout they are stored in:");
        for (int i : op.def().mutatedInputs()) {
            int input = i;
            message.append(" tensor '").append(op.input(i).name()).append("' is stored as ")
                    .append(arriving.get(i) == null ? "(not laid out yet)" : arriving.get(i))
                    .append(", the op's signatures allow ")
                    .append(lifted.stream().map(sig -> sig.inputs().get(input)).distinct().toList()).append(';');
        }
        message.append(" the tensors an op updates together must share one layout: hint the parameter's layout"
                + " (its optimizer state follows it) or hint them all alike");
        return new IllegalArgumentException(message.toString());
    }

    private static double outputHintSeconds(Op op, NdSbpSignature sig, Map<Tensor, NdSbp> hints, BoxingCache boxing,
            CostModel model) {
        double seconds = 0;
        for (int o = 0; o < op.outputs().size(); o++) {
            NdSbp hint = hints.get(op.output(o));
            if (hint != null && !hint.equals(sig.outputs().get(o))) {
                Tensor t = op.output(o);
                seconds += model.seconds(0, boxing.cost(t.name(), t.type(), sig.outputs().get(o), hint).maxBytesPerDevice());
            }
        }
        return seconds;
    }
}
