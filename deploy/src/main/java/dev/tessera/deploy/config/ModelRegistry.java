package dev.tessera.deploy.config;

import dev.tessera.api.ModelProvider;
import dev.tessera.deploy.InputException;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The models known by name: every {@link ModelProvider} registered on the class path. */
public final class ModelRegistry {
    private final Map<String, ModelProvider> providers = new TreeMap<>();

    public ModelRegistry(List<ModelProvider> providers) {
        for (ModelProvider p : providers) {
            ModelProvider previous = this.providers.putIfAbsent(p.name(), p);
            if (previous != null) {
                throw new IllegalStateException("two model providers register the name '" + p.name() + "': "
                        + previous.getClass().getName() + " and " + p.getClass().getName() + "; remove one from the class path");
            }
        }
    }

    /** The providers listed in {@code META-INF/services/dev.tessera.api.ModelProvider} of the class path. */
    public static ModelRegistry fromClassPath() {
        return new ModelRegistry(ServiceLoader.load(ModelProvider.class).stream().map(ServiceLoader.Provider::get).toList());
    }

    public List<String> names() {
        return List.copyOf(providers.keySet());
    }

    /** @throws InputException listing the available names when {@code name} is not registered */
    public ModelProvider provider(String name) {
        ModelProvider p = providers.get(name);
        if (p == null) {
            String available = providers.isEmpty()
                    ? "none are registered (put a jar whose META-INF/services/dev.tessera.api.ModelProvider lists one on the class path)"
                    : String.join(", ", providers.keySet());
            throw new InputException(name.isEmpty()
                    ? "model.type is not set; available models: " + available
                    : "unknown model.type '" + name + "'; available models: " + available);
        }
        return p;
    }
}
