package dev.tessera.api;

import com.typesafe.config.Config;

/**
 * Makes a model known to Tessera by name ({@code model.type = gpt} in a run config). Found with
 * {@link java.util.ServiceLoader}: list the implementation in
 * {@code META-INF/services/dev.tessera.api.ModelProvider} of your jar.
 */
public interface ModelProvider {

    /** The value of {@code model.type} that selects this model. */
    String name();

    /**
     * HOCON text declaring every key this model reads under {@code model} and {@code data}, with
     * its default value. Keys a user sets that are not declared here are rejected; a value of
     * another type than the default's is rejected too.
     */
    String referenceConfig();

    /**
     * Creates the model from the whole resolved run config (this model's reference merged under
     * the user's values).
     *
     * @throws IllegalArgumentException naming the key, when a value is out of range
     */
    Model create(Config config);
}
