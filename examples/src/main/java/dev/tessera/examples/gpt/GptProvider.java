package dev.tessera.examples.gpt;

import com.typesafe.config.Config;
import dev.tessera.api.Model;
import dev.tessera.api.ModelProvider;
import java.nio.file.Path;

/** {@code model.type = gpt}: the decoder-only transformer on the addition or text task. */
public final class GptProvider implements ModelProvider {

    @Override
    public String name() {
        return "gpt";
    }

    @Override
    public String referenceConfig() {
        return """
                model {
                  type = gpt
                  layers = 2
                  d_model = 64
                  heads = 4
                  # drop probability after the embeddings, attention and MLP; 0 = off
                  dropout = 0.0
                }
                data {
                  # addition: generated problems "a+b=c" (no download); text: a character model of data.text_file
                  task = addition
                  # addition: operands of up to this many digits
                  digits = 3
                  # addition: size of a fixed pool of training problems; 0 = fresh problems every batch
                  train_examples = 0
                  # addition: held-out problems decoded by evaluation
                  test_examples = 1000
                  # text: a UTF-8 text file
                  text_file = ""
                  # text: characters per training window
                  seq_len = 64
                }
                """;
    }

    @Override
    public Model create(Config config) {
        String taskName = config.getString("data.task");
        GptTask task = switch (taskName) {
            case "addition" -> new AdditionTask(config.getInt("data.digits"), config.getInt("data.train_examples"),
                    config.getInt("data.test_examples"));
            case "text" -> {
                String file = config.getString("data.text_file");
                if (file.isBlank()) {
                    throw new IllegalArgumentException("data.text_file must name a UTF-8 text file when data.task = text");
                }
                yield new TextTask(Path.of(file), config.getInt("data.seq_len"));
            }
            default -> throw new IllegalArgumentException("data.task must be addition or text, got '" + taskName + "'");
        };
        return new GptModel(task, config.getInt("model.layers"), config.getInt("model.d_model"),
                config.getInt("model.heads"), config.getDouble("model.dropout"));
    }
}
