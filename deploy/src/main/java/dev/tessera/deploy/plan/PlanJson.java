package dev.tessera.deploy.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.graph.Op;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.BoxingStep;
import dev.tessera.sbp.boxing.CollectiveStep;
import dev.tessera.sbp.boxing.SendRecvStep;
import dev.tessera.sbp.infer.SbpAssignment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The same content as {@link PlanText}, as one JSON object: {@code placements}, {@code tensors}
 * (name, kind, dtype, shape, placement id, sbp, local_shape on the first device of its placement,
 * hint), {@code ops} (name, type, phase, placement id, signature), {@code conversions} (tensor,
 * op, input, from, to, steps (a send/recv between stages with from_placement and to_placement),
 * bytes_per_iteration) and {@code devices} (per-device memory, FLOPs and bytes sent per
 * iteration), {@code estimate} (the cost model's iteration time and peak memory of the busiest
 * device) and, with {@code parallel.auto}, {@code auto} (plans searched, seconds, memory budget).
 * NdSbps are in the text form {@code (S(0), B)}.
 */
public final class PlanJson {
    private PlanJson() {
    }

    public static String render(ParallelPlan plan) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model", plan.model());
        root.put("description", plan.description());
        root.put("devices", plan.devices().size());
        root.put("micro_batches", plan.graph().options().microBatches());
        List<Object> placements = new ArrayList<>();
        for (Placement stage : plan.stages()) {
            Map<String, Object> placement = new LinkedHashMap<>();
            placement.put("id", plan.placementId(stage));
            placement.put("devices", stage.devices().stream().map(DeviceId::toString).toList());
            placement.put("hierarchy", Arrays.stream(stage.hierarchy()).boxed().toList());
            placement.put("axes", ParallelPlan.AXIS_NAMES);
            placements.add(placement);
        }
        root.put("placements", placements);
        Map<String, Object> estimate = new LinkedHashMap<>();
        estimate.put("iteration_seconds", plan.estimate().iterationSeconds());
        estimate.put("compute_seconds", plan.estimate().computeSeconds());
        estimate.put("communication_seconds", plan.estimate().communicationSeconds());
        estimate.put("peak_memory_bytes", plan.estimate().peakMemoryBytes());
        estimate.put("persistent_bytes", plan.estimate().persistentBytes());
        estimate.put("activation_bytes", plan.estimate().activationBytes());
        estimate.put("conversion_bytes", plan.estimate().boxingBytes());
        root.put("estimate", estimate);
        if (plan.search() != null) {
            root.put("auto", Map.of("plans_searched", plan.search().plans(), "search_seconds", plan.search().seconds(),
                    "memory_budget_bytes", plan.search().memoryBudgetBytes()));
        }

        List<Object> tensors = new ArrayList<>();
        for (Tensor t : plan.tensors()) {
            NdSbp sbp = plan.assignment().layout(t);
            Placement placement = plan.assignment().placement(t);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", t.name());
            m.put("kind", t.kind().name().toLowerCase(Locale.ROOT));
            m.put("dtype", t.dtype().name().toLowerCase(Locale.ROOT));
            m.put("shape", dims(t.shape()));
            m.put("placement", plan.placementId(placement));
            m.put("sbp", sbp.toString());
            m.put("local_shape", dims(Sharding.localShape(t.shape(), placement, sbp, 0)));
            m.put("hint", plan.hints().containsKey(t));
            tensors.add(m);
        }
        root.put("tensors", tensors);

        List<Object> ops = new ArrayList<>();
        for (Op op : plan.ops()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", op.name());
            m.put("type", op.def().type());
            m.put("phase", op.phase().letter());
            m.put("placement", plan.placementId(plan.assignment().placement(op)));
            m.put("signature", plan.assignment().signatures().get(op).toString());
            ops.add(m);
        }
        root.put("ops", ops);

        List<Object> conversions = new ArrayList<>();
        double total = 0;
        for (SbpAssignment.InsertedBoxing b : plan.assignment().boxings()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tensor", b.plan().tensor());
            m.put("op", b.op().name());
            m.put("input", b.inputIndex() < 0 ? null : b.inputIndex());
            m.put("from", b.plan().from().toString());
            m.put("to", b.plan().to().toString());
            List<Object> steps = new ArrayList<>();
            for (BoxingStep step : b.plan().steps()) {
                Map<String, Object> st = new LinkedHashMap<>();
                st.put("kind", step.conversion().toString());
                if (step instanceof CollectiveStep c) {
                    st.put("axis", ParallelPlan.AXIS_NAMES.get(c.hierarchyAxis()));
                }
                if (step instanceof SendRecvStep send) {
                    st.put("from_placement", plan.placementId(send.from()));
                    st.put("to_placement", plan.placementId(send.to()));
                }
                st.put("bytes", step.totalBytes());
                steps.add(st);
            }
            m.put("steps", steps);
            m.put("shared", b.shared());
            m.put("bytes_per_iteration", plan.bytesPerIteration(b));
            total += plan.bytesPerIteration(b);
            conversions.add(m);
        }
        root.put("conversions", conversions);
        root.put("communication_bytes_per_iteration", total);

        List<Object> devices = new ArrayList<>();
        for (DeviceTotals d : DeviceTotals.of(plan)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("device", d.device().toString());
            m.put("parameter_bytes", d.parameterBytes());
            m.put("optimizer_state_bytes", d.optimizerStateBytes());
            m.put("gradient_bytes", d.gradientBytes());
            m.put("activation_bytes", d.activationBytes());
            m.put("memory_bytes", d.memoryBytes());
            m.put("flops_per_iteration", d.flops());
            m.put("sent_bytes_per_iteration", d.sentBytes());
            devices.add(m);
        }
        root.put("per_device", devices);
        try {
            return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the plan as JSON: " + e.getMessage(), e);
        }
    }

    private static List<Integer> dims(Shape shape) {
        return Arrays.stream(shape.toArray()).boxed().toList();
    }
}
