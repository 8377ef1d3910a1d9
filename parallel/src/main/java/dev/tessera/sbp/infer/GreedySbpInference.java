package dev.tessera.sbp.infer;

import dev.tessera.autodiff.AccumulateGrad;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SignatureLifting;
import dev.tessera.sbp.boxing.Boxing;
import dev.tessera.sbp.boxing.BoxingPlan;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One forward pass over a graph that gives each op, in topological order, the cheapest ND
 * signature given the layouts its producers already chose ({@link SignatureCost}). Tensors the
 * user fixed with a hint keep it; an unhinted parameter is replicated (Broadcast); an unhinted
 * input takes the layout its first consumer wants (Broadcast where that consumer wants a
 * partial sum, zero-filled on the way).
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
        return infer(ops, placement, Map.of(), hints, model);
    }

    /**
     * The same with stages: an op in {@code stages} runs on that placement (its stage), every
     * other op on {@code placement}. A tensor lives on its producer's placement (an input or
     * parameter on its first consumer's); a consumer on another placement receives it through a
     * send/recv (plus conversions on either side), priced by the boxing table like any boxing.
     *
     * @throws IllegalArgumentException when an op would write in place a tensor that lives on
     *     another placement (an optimizer step placed away from its parameter)
     */
    public static SbpAssignment infer(List<Op> ops, Placement placement, Map<Op, Placement> stages,
            Map<Tensor, NdSbp> hints, CostModel model) {
        return infer(ops, placement, stages, hints, 1, model);
    }

    /**
     * The same for a training iteration of {@code microBatches} micro-batches: a weight gradient
     * that arrives as a partial sum is then accumulated as one (each device sums its own parts)
     * and reduced once per iteration, where the update reads it, whenever that takes fewer
     * reductions than reducing it at every micro-batch.
     */
    public static SbpAssignment infer(List<Op> ops, Placement placement, Map<Op, Placement> stages,
            Map<Tensor, NdSbp> hints, int microBatches, CostModel model) {
        Map<Tensor, Integer> plainReaders = plainReaders(ops);
        Map<Placement, BoxingCache> caches = new HashMap<>();
        Map<Tensor, NdSbp> layouts = new HashMap<>();
        Map<Tensor, Placement> homes = new HashMap<>();
        Map<Op, NdSbpSignature> signatures = new HashMap<>();
        Map<Op, Placement> opPlacements = new HashMap<>();
        List<SbpAssignment.InsertedBoxing> boxings = new ArrayList<>();
        Map<Tensor, Set<Converted>> converted = new HashMap<>();
        for (Op op : ops) {
            Placement here = stages.getOrDefault(op, placement);
            BoxingCache boxing = caches.computeIfAbsent(here, BoxingCache::new);
            if (!here.equals(placement)) {
                opPlacements.put(op, here);
            }
            for (Tensor input : op.inputs()) {
                if (!homes.containsKey(input) && hints.containsKey(input)) {
                    // a hinted input or parameter lives where its first consumer runs
                    hints.get(input).requireFits(input.name(), input.type(), here);
                    homes.put(input, here);
                    layouts.put(input, hints.get(input));
                } else if (!homes.containsKey(input) && input.kind() == TensorKind.PARAMETER) {
                    // an unhinted parameter is replicated, read in parts by local slices where an op
                    // wants it split: storing it split for its first reader would make every later
                    // reader gather it (sharding parameters is for hints and the auto search)
                    homes.put(input, here);
                    layouts.put(input, NdSbp.uniform(here.axes(), Sbp.broadcast()));
                }
            }
            requireWrittenInputsHere(op, here, homes);
            List<NdSbp> arriving = new ArrayList<>();
            for (Tensor input : op.inputs()) {
                // layouts on another placement never match: their cost is the send/recv's
                arriving.add(homes.getOrDefault(input, here).equals(here) ? layouts.get(input) : null);
            }
            List<NdSbpSignature> lifted = SignatureLifting.lift(op.def(), op.inputTypes(), here);
            List<NdSbp> followed = followWrittenInputs(op, arriving, microBatches, plainReaders);
            Remote remote = new Remote(op, here, layouts, homes, converted);
            List<Set<NdSbp>> available = new ArrayList<>();
            for (Tensor input : op.inputs()) {
                Set<NdSbp> done = new HashSet<>();
                for (Converted c : converted.getOrDefault(input, Set.of())) {
                    if (c.placement().equals(here)) {
                        done.add(c.layout());
                    }
                }
                available.add(done);
            }
            NdSbpSignature best = cheapest(op, lifted, followed, arriving, available, hints, boxing, remote, model);
            if (best == null && !followed.equals(arriving)) {
                best = cheapest(op, lifted, arriving, arriving, available, hints, boxing, remote, model);
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
                    // parameters and inputs are stored whole or split, never as partial values;
                    // a tensor written in place is stored as its writer takes it (an accumulator
                    // kept partial, see followWrittenInputs)
                    from = op.def().mutatedInputs().contains(i) ? wanted : wanted.withoutPartialSums();
                    layouts.put(input, from);
                    homes.put(input, here);
                }
                Placement home = homes.get(input);
                if (!home.equals(here) || !from.equals(wanted)) {
                    BoxingPlan plan = home.equals(here) ? boxing.plan(input.name(), input.type(), from, wanted)
                            : Boxing.plan(input.name(), input.type(), home, from, here, wanted);
                    // an activation converted once serves every later consumer wanting the same layout there
                    boolean shared = input.kind() == TensorKind.ACTIVATION
                            && !converted.computeIfAbsent(input, t -> new HashSet<>()).add(new Converted(here, wanted));
                    boxings.add(new SbpAssignment.InsertedBoxing(op, i, plan, shared));
                }
            }
            for (int o = 0; o < op.outputs().size(); o++) {
                Tensor output = op.output(o);
                NdSbp produced = best.outputs().get(o);
                NdSbp hint = hints.get(output);
                homes.put(output, here);
                if (hint != null && !hint.equals(produced)) {
                    hint.requireFits(output.name(), output.type(), here);
                    boxings.add(new SbpAssignment.InsertedBoxing(op, -1, boxing.plan(output.name(), output.type(), produced, hint)));
                    layouts.put(output, hint);
                } else {
                    layouts.put(output, produced);
                }
            }
        }
        for (Map.Entry<Tensor, NdSbp> hint : hints.entrySet()) {
            if (!homes.containsKey(hint.getKey())) {
                hint.getValue().requireFits(hint.getKey().name(), hint.getKey().type(), placement);
            }
        }
        Map<Tensor, Placement> tensorPlacements = new HashMap<>();
        homes.forEach((tensor, home) -> {
            if (!home.equals(placement)) {
                tensorPlacements.put(tensor, home);
            }
        });
        return new SbpAssignment(placement, layouts, signatures, boxings, opPlacements, tensorPlacements);
    }

    /** A conversion of an activation already inserted: its target placement and layout. */
    private record Converted(Placement placement, NdSbp layout) {
    }

    /** What moving an op's inputs that live on other placements costs, per wanted layout. */
    private static final class Remote {
        private final Op op;
        private final Placement here;
        private final Map<Tensor, NdSbp> layouts;
        private final Map<Tensor, Placement> homes;
        private final Map<Tensor, Set<Converted>> converted;

        Remote(Op op, Placement here, Map<Tensor, NdSbp> layouts, Map<Tensor, Placement> homes,
                Map<Tensor, Set<Converted>> converted) {
            this.op = op;
            this.here = here;
            this.layouts = layouts;
            this.homes = homes;
            this.converted = converted;
        }

        boolean any() {
            return op.inputs().stream().anyMatch(t -> homes.containsKey(t) && !homes.get(t).equals(here));
        }

        double seconds(NdSbpSignature sig, CostModel model) {
            double bytes = 0;
            for (int i = 0; i < op.inputs().size(); i++) {
                Tensor input = op.input(i);
                Placement home = homes.get(input);
                boolean done = converted.getOrDefault(input, Set.of()).contains(new Converted(here, sig.inputs().get(i)));
                if (home != null && !home.equals(here) && !done) {
                    bytes += Boxing.cost(input.name(), input.type(), home, layouts.get(input), here, sig.inputs().get(i))
                            .maxBytesPerDevice();
                }
            }
            return model.communicationSeconds(bytes, bytes > 0 ? 1 : 0);
        }
    }

    /** An op that writes a tensor in place must run where the tensor lives. */
    private static void requireWrittenInputsHere(Op op, Placement here, Map<Tensor, Placement> homes) {
        for (int i : op.def().mutatedInputs()) {
            Placement home = homes.get(op.input(i));
            if (home != null && !home.equals(here)) {
                throw new IllegalArgumentException("op '" + op.name() + "' (" + op.def().type() + ") runs on " + here
                        + " but writes '" + op.input(i).name() + "', which lives on " + home + "; place a parameter's "
                        + "accumulation and optimizer step on its stage (e.g. stage rules by parameter name)");
            }
        }
    }

    /**
     * The cheapest signature that takes every mutated input as {@code stored} says it is stored
     * (any layout but a partial sum where null), or null if none does.
     */
    private static NdSbpSignature cheapest(Op op, List<NdSbpSignature> lifted, List<NdSbp> stored,
            List<NdSbp> arriving, List<Set<NdSbp>> available, Map<Tensor, NdSbp> hints, BoxingCache boxing,
            Remote remote, CostModel model) {
        boolean crossing = remote.any();
        List<String> names = op.inputs().stream().map(Tensor::name).toList();
        NdSbpSignature best = null;
        double bestSeconds = Double.POSITIVE_INFINITY;
        for (NdSbpSignature sig : lifted) {
            if (!keepsMutatedInputsInPlace(op, sig, stored)) {
                continue;
            }
            double seconds = SignatureCost.of(op.def(), names, op.inputTypes(), op.outputTypes(), sig,
                    withAvailable(sig, arriving, available), boxing, model).seconds();
            seconds += outputHintSeconds(op, sig, hints, boxing, model);
            if (crossing) {
                seconds += remote.seconds(sig, model);
            }
            seconds += newPartialSeconds(op, sig, arriving, model);
            if (seconds < bestSeconds) {
                best = sig;
                bestSeconds = seconds;
            }
        }
        return best;
    }

    /**
     * {@code arriving} with each input that an earlier consumer already converted to the layout
     * {@code sig} wants shown as arriving in that layout: the conversion is done and costs nothing more.
     */
    private static List<NdSbp> withAvailable(NdSbpSignature sig, List<NdSbp> arriving, List<Set<NdSbp>> available) {
        List<NdSbp> effective = null;
        for (int i = 0; i < arriving.size(); i++) {
            if (available.get(i).contains(sig.inputs().get(i))) {
                if (effective == null) {
                    effective = new ArrayList<>(arriving);
                }
                effective.set(i, sig.inputs().get(i));
            }
        }
        return effective == null ? arriving : effective;
    }

    /**
     * {@code arriving} with each written input that has no layout yet given the layout of the
     * first other input of its type that has one, partial sums made whole: a gradient accumulator
     * is stored as its gradient arrives (whole after the all-reduce of a data-parallel weight
     * gradient, split like a column-parallel weight's). Choosing by cost alone would shard it
     * wherever a reduce-scatter is cheaper than an all-reduce, which the greedy pass cannot weigh
     * against the all-gather its update then needs; a hint on the accumulator asks for that.
     */
    private static List<NdSbp> followWrittenInputs(Op op, List<NdSbp> arriving, int microBatches,
            Map<Tensor, Integer> plainReaders) {
        List<NdSbp> followed = new ArrayList<>(arriving);
        for (int i : op.def().mutatedInputs()) {
            if (arriving.get(i) != null) {
                continue;
            }
            for (int j = 0; j < arriving.size(); j++) {
                if (j != i && arriving.get(j) != null && op.input(j).type().equals(op.input(i).type())) {
                    NdSbp gradient = arriving.get(j);
                    // a partial accumulator costs one reduction per reader in the update phase,
                    // a whole one a reduction per micro-batch: keep the partial sum when cheaper
                    boolean keepPartial = op.def() instanceof AccumulateGrad && gradient.hasPartialSum()
                            && microBatches > plainReaders.getOrDefault(op.input(i), 0);
                    followed.set(i, keepPartial ? gradient : gradient.withoutPartialSums());
                    break;
                }
            }
        }
        return followed;
    }

    /** How many ops read each tensor without writing it (an accumulator's norm and optimizer step). */
    private static Map<Tensor, Integer> plainReaders(List<Op> ops) {
        Map<Tensor, Integer> readers = new HashMap<>();
        for (Op op : ops) {
            for (int k = 0; k < op.inputs().size(); k++) {
                if (!op.def().mutatedInputs().contains(k)) {
                    readers.merge(op.input(k), 1, Integer::sum);
                }
            }
        }
        return readers;
    }

    /**
     * An op writes its mutated inputs where they are stored, so a signature must take each one in
     * the layout it already has: boxing it would update a copy. A tensor not laid out yet takes the
     * signature's layout, which therefore must not be a partial sum (stored tensors never are, but
     * for an accumulator {@link #followWrittenInputs} chose to keep partial).
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

    /**
     * A signature that turns whole or split inputs into a partial output creates a sum someone
     * must reduce later. The bytes of that reduction are charged where it happens (the consumer's
     * boxing), but its fixed cost is charged here, to the op creating the sum: otherwise a tiny op
     * (a gradient's squared norm) would be split to save nanoseconds of compute, leaving its
     * consumer a collective per scalar. Only latency, and half of it: charging the bytes twice
     * would make a data-parallel weight gradient look dearer than moving the activations it is
     * made of, and a full latency would tie it with that move (which the greedy pass cannot see
     * also costs the gathers of a split gradient later); reductions of many partial sums are the
     * collectives a runtime can batch together.
     */
    private static double newPartialSeconds(Op op, NdSbpSignature sig, List<NdSbp> arriving, CostModel model) {
        // partial inputs zero-filled or zero-padded on the way in do not count: the sum is still new
        if (arriving.stream().anyMatch(sbp -> sbp != null && sbp.hasPartialSum())) {
            return 0;
        }
        long partial = sig.outputs().stream().filter(NdSbp::hasPartialSum).count();
        return partial * model.secondsPerCollective() / 2;
    }

    private static double outputHintSeconds(Op op, NdSbpSignature sig, Map<Tensor, NdSbp> hints, BoxingCache boxing,
            CostModel model) {
        double seconds = 0;
        for (int o = 0; o < op.outputs().size(); o++) {
            NdSbp hint = hints.get(op.output(o));
            if (hint != null && !hint.equals(sig.outputs().get(o))) {
                Tensor t = op.output(o);
                seconds += model.communicationSeconds(
                        boxing.cost(t.name(), t.type(), sig.outputs().get(o), hint).maxBytesPerDevice(), 1);
            }
        }
        return seconds;
    }
}
