package dev.tessera.examples.mlp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.api.ModelProvider;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Shape;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class MlpModelTest {
    private static Config config(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.parseString(new MlpProvider().referenceConfig()));
    }

    @Test
    void shouldBuildTheDefaultNetworkWithItsParameterCount() {
        Model model = new MlpProvider().create(config(""));
        GraphBuilder g = new GraphBuilder(DType.F32);

        ModelGraph graph = model.build(g, 16);
        LogicalGraph built = g.build();

        long expected = (784 * 256 + 256) + (256 * 128 + 128) + (128 * 10 + 10);
        assertEquals(expected, built.parameterCount());
        assertEquals(Shape.of(16, 10), graph.logits().shape());
        assertEquals(Shape.scalar(), graph.loss().shape());
        assertEquals("mlp(784-256-128-10, relu)", model.describe());
    }

    @Test
    void shouldFollowTheConfiguredLayersAndActivation() {
        Model model = new MlpProvider().create(config("model { hidden = [32], activation = tanh }"));
        GraphBuilder g = new GraphBuilder(DType.F64);

        model.build(g, 4);

        assertEquals(784 * 32 + 32 + 32 * 10 + 10, g.build().parameterCount());
        assertTrue(g.build().ops().stream().anyMatch(op -> op.def().type().equals("tanh")));
    }

    @Test
    void shouldRejectAnUnknownActivationNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new MlpProvider().create(config("model.activation = sigmoid")));

        assertTrue(e.getMessage().contains("model.activation"), e.getMessage());
    }

    @Test
    void shouldBeFoundByTheServiceLoader() {
        assertTrue(ServiceLoader.load(ModelProvider.class).stream().anyMatch(p -> p.get().name().equals("mlp")));
        assertTrue(ServiceLoader.load(ModelProvider.class).stream().anyMatch(p -> p.get().name().equals("gpt")));
    }
}
