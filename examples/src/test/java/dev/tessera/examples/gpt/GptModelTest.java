package dev.tessera.examples.gpt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GptModelTest {
    @TempDir
    Path dir;

    private static Config config(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.parseString(new GptProvider().referenceConfig()));
    }

    /** Embeddings, per block 2 LayerNorms + q/k/v/out (k without bias) + 4x MLP, final LayerNorm, head. */
    private static long expectedParameters(int vocabulary, int t, int d, int layers) {
        long block = 2 * (2L * d) + 4 * ((long) d * d + d) - d + ((long) d * 4 * d + 4 * d) + ((long) 4 * d * d + d);
        return (long) vocabulary * d + (long) t * d + layers * block + 2L * d + ((long) d * vocabulary + vocabulary);
    }

    @Test
    void shouldBuildTheAdditionModelWithItsParameterCount() {
        Model model = new GptProvider().create(config(""));
        GraphBuilder g = new GraphBuilder(DType.F32);

        ModelGraph graph = model.build(g, 8);
        LogicalGraph built = g.build();

        assertEquals(expectedParameters(13, 12, 64, 2), built.parameterCount());
        assertEquals(Shape.of(8, 12, 13), graph.logits().shape());
        assertEquals(Shape.scalar(), graph.loss().shape());
        assertTrue(built.tensor("block1.attention.q.weight") != null);
    }

    @Test
    void shouldBuildTheTextModelOverTheFilesVocabulary() throws Exception {
        Path text = Files.writeString(dir.resolve("t.txt"), "the quick brown fox ".repeat(40));
        Model model = new GptProvider().create(config(
                "model { layers = 1, d_model = 32, heads = 2, dropout = 0.1 }, data { task = text, seq_len = 16, text_file = \""
                        + text + "\" }"));
        GraphBuilder g = new GraphBuilder(DType.F32);

        ModelGraph graph = model.build(g, 2);

        assertEquals(expectedParameters(16, 16, 32, 1), g.build().parameterCount());
        assertEquals(Shape.of(2, 16, 16), graph.logits().shape());
        assertTrue(g.build().ops().stream().anyMatch(op -> op.def().type().equals("dropout")));
    }

    @Test
    void shouldRejectSettingsThatCannotWorkNamingTheKey() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new GptProvider().create(config("model.heads = 5")))
                .getMessage().contains("model.heads"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new GptProvider().create(config("data.task = text")))
                .getMessage().contains("data.text_file"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new GptProvider().create(config("data.task = poetry")))
                .getMessage().contains("data.task"));
    }
}
