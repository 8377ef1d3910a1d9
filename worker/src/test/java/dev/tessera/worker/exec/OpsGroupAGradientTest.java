package dev.tessera.worker.exec;

import static dev.tessera.worker.GradientCheck.check;
import static dev.tessera.worker.GradientCheck.project;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.BroadcastAxis;
import dev.tessera.ops.DropoutGrad;
import dev.tessera.ops.GeluGrad;
import dev.tessera.ops.Pad;
import dev.tessera.ops.ReluGrad;
import dev.tessera.ops.TanhGrad;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.GradientCheck;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * F64 central finite differences for every op of group A, forward ops and the backward ops they
 * emit (whose own gradients are checked by differentiating them directly).
 */
class OpsGroupAGradientTest {
    private static Tensor param(GraphBuilder g, String name, int... dims) {
        return g.parameter(name, Initializer.normal(1), dims);
    }

    /** A data input (no gradient flows into it) with fixed random values. */
    private static Tensor data(GraphBuilder g, Map<String, HostTensor> in, String name, int... dims) {
        in.put(name, GradientCheck.random(Shape.of(dims), name.hashCode()));
        return g.input(name, DType.F64, dims);
    }

    private static Named<BiFunction<GraphBuilder, Map<String, HostTensor>, Tensor>> named(String name,
            BiFunction<GraphBuilder, Map<String, HostTensor>, Tensor> body) {
        return Named.of(name, body);
    }

    static Stream<Named<BiFunction<GraphBuilder, Map<String, HostTensor>, Tensor>>> models() {
        return Stream.of(
                named("mul", (g, in) -> project(g, in, g.mul(param(g, "a", 3, 4), param(g, "b", 3, 4)))),
                named("mul of a tensor by itself", (g, in) -> {
                    Tensor a = param(g, "a", 2, 3);
                    return project(g, in, g.mul(a, a));
                }),
                named("scale", (g, in) -> project(g, in, g.scale(param(g, "a", 3, 4), -2.5))),
                named("relu", (g, in) -> project(g, in, g.relu(param(g, "a", 4, 5)))),
                named("gelu", (g, in) -> project(g, in, g.gelu(param(g, "a", 4, 5)))),
                named("tanh", (g, in) -> project(g, in, g.tanh(param(g, "a", 4, 5)))),
                named("slice of middle axis", (g, in) -> project(g, in, g.slice(param(g, "a", 2, 5, 3), 1, 1, 4))),
                named("slice of last axis", (g, in) -> project(g, in, g.slice(param(g, "a", 3, 4), -1, 0, 2))),
                named("concat of three", (g, in) -> project(g, in, g.concat(1,
                        param(g, "a", 2, 1, 3), param(g, "b", 2, 2, 3), param(g, "c", 2, 3, 3)))),
                named("concat with data input", (g, in) -> project(g, in, g.concat(0,
                        data(g, in, "x", 2, 3), param(g, "b", 1, 3)))),
                named("sum over middle axis", (g, in) -> project(g, in, g.sum(param(g, "a", 2, 3, 4), 1))),
                named("sum to scalar", (g, in) -> g.sum(g.mul(param(g, "a", 5), data(g, in, "w", 5)), 0)),
                named("mean over first axis", (g, in) -> project(g, in, g.mean(param(g, "a", 3, 2, 2), 0))),
                named("mean over last axis", (g, in) -> project(g, in, g.mean(param(g, "a", 3, 4), -1))),
                named("dropout", (g, in) -> project(g, in, g.dropout(param(g, "a", 4, 5), 0.3, 11))),
                named("dropout with p = 0", (g, in) -> project(g, in, g.dropout(param(g, "a", 4, 5), 0.0, 11))),
                named("pad", (g, in) -> project(g, in, g.apply(new Pad(1, 2, 1), param(g, "a", 2, 3)))),
                named("broadcast_axis", (g, in) -> project(g, in, g.apply(new BroadcastAxis(1, 3), param(g, "a", 2, 4)))),
                named("relu_grad into dy", (g, in) -> project(g, in,
                        g.apply(new ReluGrad(), param(g, "dy", 3, 4), data(g, in, "x", 3, 4)))),
                named("gelu_grad into dy", (g, in) -> project(g, in,
                        g.apply(new GeluGrad(), param(g, "dy", 3, 4), data(g, in, "x", 3, 4)))),
                named("tanh_grad into dy and y", (g, in) -> project(g, in,
                        g.apply(new TanhGrad(), param(g, "dy", 3, 4), param(g, "y", 3, 4)))),
                named("dropout_grad", (g, in) -> project(g, in, g.apply(new DropoutGrad(0.5, 3), param(g, "dy", 4, 5)))),
                named("composed block", (g, in) -> {
                    Tensor x = param(g, "x", 2, 3, 4);
                    Tensor h = g.gelu(g.linear("fc", x, 6));
                    Tensor parts = g.concat(-1, g.tanh(g.slice(h, -1, 0, 3)), g.relu(g.slice(h, -1, 3, 6)));
                    Tensor mixed = g.mul(g.dropout(parts, 0.2, 5), g.scale(parts, 0.5));
                    return g.mean(g.sum(g.mean(mixed, 1), 1), 0);
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void shouldMatchFiniteDifferences(BiFunction<GraphBuilder, Map<String, HostTensor>, Tensor> model) {
        check(model);
    }
}
