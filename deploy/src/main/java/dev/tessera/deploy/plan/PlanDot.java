package dev.tessera.deploy.plan;

import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.sbp.infer.SbpAssignment;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A Graphviz picture of the distributed graph: ops as boxes (forward blue, backward orange,
 * update grey), inputs, parameters and state as ellipses, each edge labelled with the tensor and
 * its NdSbp, and every inserted conversion as a red diamond on the edge it converts, labelled
 * with its kinds and bytes per iteration. With pipeline stages each op names its placement
 * ({@code p0, p1, ...}). Render with {@code dot -Tsvg plan.dot -o plan.svg}.
 */
public final class PlanDot {
    private PlanDot() {
    }

    public static String render(ParallelPlan plan) {
        StringBuilder s = new StringBuilder("digraph plan {\n");
        s.append("  label=").append(quote(plan.model() + " on " + (plan.stages().size() == 1 ? plan.placement().toString()
                : plan.stages().stream().map(p -> plan.placementId(p) + " " + p).collect(Collectors.joining(", "))))).append(";\n");
        s.append("  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
        Map<Tensor, String> source = new HashMap<>();
        for (Op op : plan.ops()) {
            String color = switch (op.phase()) {
                case FORWARD -> "lightblue";
                case BACKWARD_INPUT, BACKWARD_WEIGHT -> "orange";
                case UPDATE -> "lightgrey";
            };
            s.append("  op").append(op.id()).append(" [shape=box, style=filled, fillcolor=").append(color).append(", label=")
                    .append(quote(op.name() + "\n" + op.def().type() + " [" + op.phase().letter() + "]\n"
                            + plan.assignment().signatures().get(op)
                            + (plan.stages().size() > 1 ? " on " + plan.placementId(plan.assignment().placement(op)) : "")))
                    .append("];\n");
            for (Tensor out : op.outputs()) {
                source.put(out, "op" + op.id());
            }
        }
        // conversions in front of an op's input, by "opId:inputIndex"
        Map<String, SbpAssignment.InsertedBoxing> onInput = new HashMap<>();
        Map<String, String> onInputNode = new HashMap<>();
        int next = 0;
        for (SbpAssignment.InsertedBoxing b : plan.assignment().boxings()) {
            String id = "conversion" + next++;
            s.append("  ").append(id).append(" [shape=diamond, style=filled, fillcolor=salmon, label=")
                    .append(quote(PlanText.kinds(plan, b.plan()) + "\n" + PlanText.bytes(plan.bytesPerIteration(b)) + " / iteration"))
                    .append("];\n");
            if (b.inputIndex() < 0) {
                // A hinted output: the op's layout goes into the conversion, and every reader reads the hint.
                Tensor t = b.op().outputs().stream().filter(o -> o.name().equals(b.plan().tensor())).findFirst().orElseThrow();
                edge(s, "op" + b.op().id(), id, t.name() + "\n" + b.plan().from());
                source.put(t, id);
            } else {
                onInput.put(b.op().id() + ":" + b.inputIndex(), b);
                onInputNode.put(b.op().id() + ":" + b.inputIndex(), id);
                edge(s, id, "op" + b.op().id(), b.plan().to().toString());
            }
        }
        Set<Tensor> drawn = new HashSet<>();
        for (Op op : plan.ops()) {
            for (int i = 0; i < op.inputs().size(); i++) {
                Tensor t = op.input(i);
                String from = source.get(t);
                if (from == null) {
                    from = "tensor" + t.id();
                    if (drawn.add(t)) {
                        s.append("  ").append(from).append(" [shape=ellipse, label=")
                                .append(quote(t.name() + "\n" + t.kind().name().toLowerCase(Locale.ROOT) + " " + t.type()))
                                .append("];\n");
                    }
                }
                String conversion = onInputNode.get(op.id() + ":" + i);
                String label = t.name() + "\n" + (conversion == null ? plan.assignment().layout(t)
                        : onInput.get(op.id() + ":" + i).plan().from());
                edge(s, from, conversion == null ? "op" + op.id() : conversion, label);
            }
        }
        return s.append("}\n").toString();
    }

    private static void edge(StringBuilder s, String from, String to, String label) {
        s.append("  ").append(from).append(" -> ").append(to).append(" [label=").append(quote(label)).append("];\n");
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }
}
