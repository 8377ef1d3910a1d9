package dev.tessera.deploy.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import org.junit.jupiter.api.Test;

class TokenCountTest {
    @Test
    void shouldCountTokensOfTheFirstIntegerSequenceInput() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        g.input("tokens", DType.I32, 8, 16);
        g.input("targets", DType.I32, 8, 16);

        assertEquals(8 * 16, Trainer.tokensPerMicroBatch(g.build()));
    }

    @Test
    void shouldReportNoTokensForAClassifierWithRowLabels() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        g.input("x", DType.F32, 8, 784);
        g.input("labels", DType.I32, 8);

        assertEquals(0, Trainer.tokensPerMicroBatch(g.build()));
    }
}
