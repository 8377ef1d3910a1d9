package dev.tessera.sbp.infer;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.ops.BiasAdd;
import dev.tessera.ops.MatMul;
import dev.tessera.ops.Reshape;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensor-parallel group moves of {@link AutoParallelSearch}: a layer whose weight columns are
 * split (column-parallel, weight S(1), bias S(0)) followed by one whose rows are split
 * (row-parallel, weight S(0)). Each half alone only adds communication (a gather after the first,
 * a scatter before the second), so a search that changes one weight at a time never reaches the
 * pair; together they need one all-reduce forward and one backward.
 *
 * <p>A group is the run of consecutive weight matmuls that read the same activation (an MLP's
 * first layer, or an attention block's q, k and v projections); the layer after the group is
 * its row-parallel partner. Weights are parameter right operands of untransposed matmuls.
 */
final class MegatronGroups {
    private MegatronGroups() {
    }

    private record WeightMatmul(Op matmul, int weight, Tensor source) {
    }

    /**
     * For each group and its partner and each hierarchy axis with more than one device: the move
     * to column then row parallel on that axis, and the same with every data input replicated on
     * that axis (tensor parallelism reads the whole batch on its axis).
     */
    static List<AutoParallelSearch.AxisMove> moves(TrainingGraph graph, Placement placement, List<Tensor> variables) {
        Map<Tensor, Integer> index = new HashMap<>();
        for (int v = 0; v < variables.size(); v++) {
            index.put(variables.get(v), v);
        }
        Map<Tensor, List<Op>> consumers = new HashMap<>();
        for (Op op : graph.forwardOps()) {
            for (Tensor input : op.inputs()) {
                consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(op);
            }
        }
        List<WeightMatmul> weighted = new ArrayList<>();
        for (Op op : graph.forwardOps()) {
            if (op.def() instanceof MatMul m && !m.transposeA() && !m.transposeB() && op.input(1).shape().rank() == 2
                    && op.input(1).kind() == TensorKind.PARAMETER && index.containsKey(op.input(1))) {
                weighted.add(new WeightMatmul(op, index.get(op.input(1)), source(op.input(0))));
            }
        }
        List<List<WeightMatmul>> groups = new ArrayList<>();
        for (WeightMatmul w : weighted) {
            List<WeightMatmul> last = groups.isEmpty() ? null : groups.get(groups.size() - 1);
            if (last != null && last.get(0).source().equals(w.source())) {
                last.add(w);
            } else {
                groups.add(new ArrayList<>(List.of(w)));
            }
        }
        List<Integer> dataInputs = new ArrayList<>();
        for (int v = 0; v < variables.size(); v++) {
            if (variables.get(v).kind() == TensorKind.INPUT) {
                dataInputs.add(v);
            }
        }
        List<AutoParallelSearch.AxisMove> moves = new ArrayList<>();
        for (int g = 0; g + 1 < groups.size(); g++) {
            Map<Integer, Sbp> changes = new LinkedHashMap<>();
            for (WeightMatmul column : groups.get(g)) {
                changes.put(column.weight(), Sbp.split(1));
                for (Integer bias : biases(column.matmul().output(0), consumers, index)) {
                    changes.put(bias, Sbp.split(0));
                }
            }
            changes.put(groups.get(g + 1).get(0).weight(), Sbp.split(0));
            for (int axis = 0; axis < placement.axes(); axis++) {
                if (placement.axisSize(axis) > 1) {
                    moves.add(new AutoParallelSearch.AxisMove(axis, changes));
                    Map<Integer, Sbp> wholeBatch = new LinkedHashMap<>(changes);
                    dataInputs.forEach(v -> wholeBatch.put(v, Sbp.broadcast()));
                    moves.add(new AutoParallelSearch.AxisMove(axis, wholeBatch));
                }
            }
        }
        return moves;
    }

    /** The tensor a matmul's activation comes from, looking through a flattening reshape. */
    private static Tensor source(Tensor activation) {
        Op producer = activation.producer();
        return producer != null && producer.def() instanceof Reshape ? producer.input(0) : activation;
    }

    /** Bias variables added to a matmul's output, directly or after the reshape back to the batch shape. */
    private static List<Integer> biases(Tensor output, Map<Tensor, List<Op>> consumers, Map<Tensor, Integer> index) {
        List<Integer> found = new ArrayList<>();
        List<Tensor> outputs = new ArrayList<>(List.of(output));
        for (Op op : consumers.getOrDefault(output, List.of())) {
            if (op.def() instanceof Reshape) {
                outputs.add(op.output(0));
            }
        }
        for (Tensor t : outputs) {
            for (Op op : consumers.getOrDefault(t, List.of())) {
                if (op.def() instanceof BiasAdd && index.containsKey(op.input(1))) {
                    found.add(index.get(op.input(1)));
                }
            }
        }
        return found;
    }
}
