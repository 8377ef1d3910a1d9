package dev.tessera.sbp.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.optim.Optimizer;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.Placement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How name-prefix stage rules place the ops of a training graph (the one way to split a model by
 * hand): the longest matching prefix wins, gradient and update ops stay with their forward op,
 * an op no rule names follows what it reads, and everything else is on the default placement.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class StageRulesTest {
    private static final Placement FIRST = stage(0);
    private static final Placement SECOND = stage(1);
    private static final Placement THIRD = stage(2);

    private final TrainingGraph graph = mlp();

    @Test
    void shouldPutAnOpOnTheStageOfTheLongestPrefixMatchingItsName() {
        Map<String, Placement> rules = new LinkedHashMap<>();
        rules.put("fc", SECOND);
        rules.put("fc2.", THIRD);
        Map<Op, Placement> stages = new StageRules(rules).resolve(graph.ops(), FIRST);

        for (Op op : graph.forwardOps()) {
            Placement expected = op.name().startsWith("fc2.") ? THIRD : op.name().startsWith("fc") ? SECOND : null;
            if (expected != null) {
                assertEquals(expected, stages.get(op), op.name());
            }
        }
    }

    @Test
    void shouldKeepEveryGradientAndUpdateOpWithItsForwardOp() {
        Map<Op, Placement> stages = new StageRules(Map.of("fc2.", SECOND)).resolve(graph.ops(), FIRST);

        for (Op op : graph.ops()) {
            if (op.phase() != Phase.FORWARD && op.forwardOp().isPresent()) {
                assertEquals(stages.getOrDefault(op.forwardOp().get(), FIRST), stages.getOrDefault(op, FIRST),
                        op.name() + " runs with " + op.forwardOp().get().name());
            }
        }
        for (Op op : graph.updateOps()) {
            boolean secondStage = op.inputs().stream().anyMatch(t -> t.kind() == TensorKind.PARAMETER
                    && t.name().startsWith("fc2."));
            if (secondStage) {
                assertEquals(SECOND, stages.get(op), op.name() + " updates a parameter of the second stage");
            }
        }
    }

    @Test
    void shouldPutAnOpNoRuleNamesWithTheLatestProducerOfWhatItReads() {
        // the relu between fc1 and fc2 reads only fc1's output
        Map<Op, Placement> stages = new StageRules(Map.of("fc1.", SECOND)).resolve(graph.ops(), FIRST);

        Op relu = graph.forwardOps().stream().filter(op -> op.def().type().equalsIgnoreCase("relu")).findFirst()
                .orElseThrow();
        assertEquals(SECOND, stages.get(relu));
        // and so does fc2, which reads the relu's output and a parameter no rule names: what comes
        // after a stage stays on it until a rule names another
        assertTrue(graph.forwardOps().stream().filter(op -> op.name().startsWith("fc2."))
                .allMatch(op -> SECOND.equals(stages.get(op))), stages.toString());
    }

    @Test
    void shouldLeaveEveryOpOnTheDefaultPlacementWithoutRules() {
        assertEquals(Map.of(), new StageRules(Map.of()).resolve(graph.ops(), FIRST));
    }

    @Test
    void shouldRejectAnEmptyPrefixNamingItsPlacement() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new StageRules(Map.of("", SECOND)));
        assertTrue(e.getMessage().contains("non-empty name prefix"), e.getMessage());
        assertTrue(e.getMessage().contains(SECOND.toString()), e.getMessage());
    }

    private static Placement stage(int index) {
        return Placement.of(List.of(new DeviceId(0, index)), 1, 1);
    }

    private static TrainingGraph mlp() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 8, 4);
        Tensor labels = g.input("labels", DType.I32, 8);
        Tensor h = g.relu(g.linear("fc1", x, 6));
        g.crossEntropy(g.linear("fc2", h, 3), labels);
        LogicalGraph forward = g.build();
        Tensor loss = forward.ops().get(forward.ops().size() - 1).output(0);
        return Autodiff.build(forward, loss, new TrainingOptions(1, new Optimizer.Sgd(0.9, 0), 1.0));
    }
}
