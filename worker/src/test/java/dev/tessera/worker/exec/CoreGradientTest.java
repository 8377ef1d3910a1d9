package dev.tessera.worker.exec;

import static dev.tessera.worker.GradientCheck.check;
import static dev.tessera.worker.GradientCheck.project;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.graph.DType;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Add;
import dev.tessera.worker.GradientCheck;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;

class CoreGradientTest {
    @Test
    void shouldDifferentiateMatMulInEveryTransposeCombination() {
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                check((g, in) -> {
                    Tensor a = g.parameter("a", Initializer.normal(1), ta ? 4 : 3, ta ? 3 : 4);
                    Tensor b = g.parameter("b", Initializer.normal(1), tb ? 5 : 4, tb ? 4 : 5);
                    return project(g, in, g.matmul(a, b, ta, tb));
                });
            }
        }
    }

    @Test
    void shouldDifferentiateBatchedMatMul() {
        check((g, in) -> {
            Tensor a = g.parameter("a", Initializer.normal(1), 2, 3, 3, 4);
            Tensor b = g.parameter("b", Initializer.normal(1), 2, 3, 5, 4);
            return project(g, in, g.matmul(a, b, false, true));
        });
    }

    @Test
    void shouldDifferentiateLinearLayerOnDataInput() {
        check((g, in) -> {
            Tensor x = g.input("x", DType.F64, 6, 5);
            in.put("x", GradientCheck.random(Shape.of(6, 5), 3));
            Tensor h = g.linear("fc", x, 4);
            Tensor bias = g.parameter("extra_bias", Initializer.normal(1), 4);
            return project(g, in, g.biasAdd(h, bias));
        });
    }

    @Test
    void shouldDifferentiateReshapeTransposeAndSharedUse() {
        check((g, in) -> {
            Tensor a = g.parameter("a", Initializer.normal(1), 2, 3, 4);
            Tensor t = g.transpose(a, 2, 0, 1);
            Tensor r = g.reshape(t, 4, 6);
            Tensor back = g.reshape(g.transpose(g.reshape(r, 4, 2, 3), 1, 2, 0), 2, 3, 4);
            return project(g, in, g.add(back, a));
        });
    }

    @Test
    void shouldDifferentiateRank3Linear() {
        check((g, in) -> {
            Tensor x = g.parameter("x", Initializer.normal(1), 2, 3, 4);
            return project(g, in, g.linear("fc", x, 5));
        });
    }

    /** The checker itself must catch a wrong rule: here, a gradient twice too large. */
    @Test
    void shouldCatchAWrongGradientRule() {
        KernelRegistry kernels = KernelRegistry.standard()
                .register(DoublingIdentity.class, (def, op) -> (in, out, ctx) -> out[0].assign(in[0]));
        assertThrows(AssertionError.class, () -> check((g, in) -> {
            Tensor a = g.parameter("a", Initializer.normal(1), 3, 3);
            return project(g, in, g.apply(new DoublingIdentity(), a));
        }, kernels));
    }

    /** Identity whose gradient rule is wrong on purpose. */
    record DoublingIdentity() implements OpDef {
        @Override
        public String type() {
            return "wrong_identity";
        }

        @Override
        public List<TensorType> inferOutputs(List<TensorType> in) {
            return List.of(in.get(0));
        }

        @Override
        public void gradient(GradientBuilder g) {
            g.inputGrad(0, g.emit(new Add(), g.outputGrad(0), g.outputGrad(0)));
        }
    }
}
