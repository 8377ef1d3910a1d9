package dev.tessera.plan.compile;

import dev.tessera.autodiff.MiniatureModels;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.Optimizer;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.StageRules;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The plans of the examples' architectures in miniature (an MLP and a GPT-like stack) on the
 * layouts Tessera trains them with: one device, data parallel on 2 and 4 devices, Megatron-style
 * tensor parallel on 2, and two pipeline stages of one device each.
 */
public final class ExamplePlans {
    private static final Optimizer ADAM = new Optimizer.AdamW(0.9, 0.95, 1e-8, 0.1);

    private ExamplePlans() {
    }

    /** A named example plan. */
    public record Example(String name, TrainingGraph graph, DistributedTraining distributed, PlanProto plan) {
        @Override
        public String toString() {
            return name;
        }
    }

    public static List<Example> all() {
        return List.of(
                single("mlp, 1 device", mlp()),
                single("gpt, 1 device", gpt(2)),
                distributed("mlp, data parallel 2", mlp(), Placement.onNode(0, 2), Map.of(), dataParallel("x", "labels")),
                distributed("mlp, data parallel 4", mlp(4), Placement.onNode(0, 4), Map.of(),
                        dataParallel("x", "labels")),
                distributed("gpt, data parallel 2", gpt(2), Placement.onNode(0, 2), Map.of(),
                        dataParallel("tokens", "targets")),
                distributed("gpt, data parallel 4", gpt(4), Placement.onNode(0, 4), Map.of(),
                        dataParallel("tokens", "targets")),
                distributed("mlp, Megatron 2", mlp(), Placement.onNode(0, 2), Map.of(),
                        Map.of("fc1.weight", Sbp.split(1), "fc1.bias", Sbp.split(0), "fc2.weight", Sbp.split(0))),
                distributed("gpt, Megatron 2", gpt(2), Placement.onNode(0, 2), Map.of(), megatronGpt()),
                twoStages("mlp, two stages", mlp(), List.of("fc2.", "head.")),
                twoStages("gpt, two stages", gpt(2), List.of("block1.", "ln_final.", "head.")));
    }

    static TrainingGraph mlp() {
        return mlp(6);
    }

    /** {@link MiniatureModels#mlp}, two micro-batches, AdamW, clipped. */
    static TrainingGraph mlp(int rows) {
        return MiniatureModels.mlp(rows, 2, ADAM, 0.5);
    }

    /** {@link MiniatureModels#gpt}, one micro-batch, SGD with momentum, clipped. */
    static TrainingGraph gpt(int batch) {
        return MiniatureModels.gpt(batch, 1, new Optimizer.Sgd(0.9, 0.01), 1.0);
    }

    private static Map<String, Sbp> dataParallel(String... inputs) {
        Map<String, Sbp> hints = new LinkedHashMap<>();
        for (String input : inputs) {
            hints.put(input, Sbp.split(0));
        }
        return hints;
    }

    private static Map<String, Sbp> megatronGpt() {
        Map<String, Sbp> hints = new LinkedHashMap<>();
        for (int block = 0; block < 2; block++) {
            String prefix = "block" + block + ".";
            for (String column : List.of("attention.q", "attention.k", "attention.v", "fc")) {
                hints.put(prefix + column + ".weight", Sbp.split(1));
            }
            hints.put(prefix + "attention.proj.weight", Sbp.split(0));
            hints.put(prefix + "proj.weight", Sbp.split(0));
        }
        return hints;
    }

    private static Example single(String name, TrainingGraph graph) {
        return new Example(name, graph, null,
                PlanCompiler.compile(graph, List.of(new DeviceId(0, 0)), op -> new DeviceId(0, 0), PlanOptions.of(1, 2)));
    }

    private static Example distributed(String name, TrainingGraph graph, Placement placement,
                                       Map<Op, Placement> stages, Map<String, Sbp> hints) {
        Map<Tensor, NdSbp> byTensor = new LinkedHashMap<>();
        hints.forEach((tensor, sbp) -> byTensor.put(graph.forward().store().tensor(tensor), NdSbp.of(sbp)));
        DistributedTraining distributed = DistributedTraining.plan(graph, placement, stages, byTensor,
                CostModel.standard());
        return new Example(name, graph, distributed,
                PlanCompiler.compile(distributed, PlanOptions.of(1, 2).withJob("example", 3)));
    }

    private static Example twoStages(String name, TrainingGraph graph, List<String> secondStagePrefixes) {
        Placement first = Placement.of(List.of(new DeviceId(0, 0)), 1);
        Placement second = Placement.of(List.of(new DeviceId(1, 0)), 1);
        Map<String, Placement> rules = new LinkedHashMap<>();
        secondStagePrefixes.forEach(prefix -> rules.put(prefix, second));
        Map<Op, Placement> stages = new StageRules(rules).resolve(graph.ops(), first);
        return distributed(name, graph, first, stages, Map.of());
    }
}
