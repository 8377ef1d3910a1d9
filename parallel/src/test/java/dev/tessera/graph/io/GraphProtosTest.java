package dev.tessera.graph.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.proto.graph.GraphProto;
import dev.tessera.proto.graph.OpProto;
import dev.tessera.proto.graph.Phase;
import java.util.List;
import org.junit.jupiter.api.Test;

class GraphProtosTest {
    @Test
    void shouldRoundTripTrainingGraphThroughBytesWithAttributesAndPhases() throws Exception {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 4, 3);
        Tensor y = g.transpose(g.linear("fc", x, 2), 1, 0);
        Tensor loss = g.reshape(g.matmul(g.reshape(y, 1, 8), g.reshape(y, 8, 1)));
        TrainingGraph t = Autodiff.build(g.build(), loss, new TrainingOptions(1, new Optimizer.Sgd(0.9, 0), 0));

        GraphProto proto = GraphProto.parseFrom(GraphProtos.encode(t).toByteArray());

        assertEquals(t.ops().size(), proto.getOpsCount());
        assertEquals(loss.id(), proto.getLoss());
        OpProto transpose = proto.getOpsList().stream().filter(o -> o.getType().equals("transpose")).findFirst().orElseThrow();
        assertEquals(List.of(1L, 0L), transpose.getAttributesOrThrow("permutation").getIntegers().getValuesList());
        OpProto weightGrad = proto.getOpsList().stream()
                .filter(o -> o.getName().startsWith("fc.matmul.grad") && o.getAttributesOrThrow("transposeA").getFlag())
                .findFirst().orElseThrow();
        assertEquals(Phase.BACKWARD_WEIGHT, weightGrad.getPhase());
        assertTrue(proto.getTensorsList().stream().anyMatch(tp -> tp.getName().equals("fc.weight")
                && tp.getShapeList().equals(List.of(3L, 2L)) && tp.getInitializer().startsWith("Uniform")));
        OpProto sgd = proto.getOpsList().stream().filter(o -> o.getType().equals("sgd_update")).findFirst().orElseThrow();
        assertEquals(0.9, sgd.getAttributesOrThrow("momentum").getReal());
    }
}
