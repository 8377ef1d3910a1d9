package dev.tessera.examples.mlp;

import com.typesafe.config.Config;
import dev.tessera.api.Model;
import dev.tessera.api.ModelProvider;
import dev.tessera.examples.data.FashionMnist;
import java.nio.file.Path;
import java.util.Locale;

/** {@code model.type = mlp}: the Fashion-MNIST classifier. */
public final class MlpProvider implements ModelProvider {

    @Override
    public String name() {
        return "mlp";
    }

    @Override
    public String referenceConfig() {
        return """
                model {
                  type = mlp
                  # widths of the hidden layers, input side first
                  hidden = [256, 128]
                  # relu, gelu or tanh
                  activation = relu
                }
                data {
                  # directory with the four gzipped IDX files (Debian: apt-get install dataset-fashion-mnist)
                  path = "%s"
                  # use only the first N training / test examples; 0 = all
                  train_limit = 0
                  test_limit = 0
                }
                """.formatted(FashionMnist.DEFAULT_PATH);
    }

    @Override
    public Model create(Config config) {
        String activation = config.getString("model.activation");
        MlpModel.Activation parsed;
        try {
            parsed = MlpModel.Activation.valueOf(activation.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model.activation must be relu, gelu or tanh, got '" + activation + "'");
        }
        return new MlpModel(config.getIntList("model.hidden"), parsed, Path.of(config.getString("data.path")),
                config.getInt("data.train_limit"), config.getInt("data.test_limit"));
    }
}
