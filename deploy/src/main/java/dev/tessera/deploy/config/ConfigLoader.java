package dev.tessera.deploy.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOriginFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import dev.tessera.api.ModelProvider;
import dev.tessera.deploy.InputException;
import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Builds a run's config from, highest priority first: the {@code --set key=value} overrides, the
 * user's file, the chosen model's reference ({@link ModelProvider#referenceConfig()}), and the
 * framework reference ({@code reference.conf} of this module). Keys the user sets must be declared
 * by one of the references, with a value of the declared type.
 */
public final class ConfigLoader {
    private final ModelRegistry models;

    public ConfigLoader(ModelRegistry models) {
        this.models = models;
    }

    /**
     * Loads {@code file} with {@code overrides} applied.
     *
     * @throws InputException with one line per problem: missing or unparsable file, malformed
     *     override, unknown model, unknown key, ill-typed or out-of-range value
     */
    public RunConfig load(Path file, List<String> overrides) {
        if (!Files.isRegularFile(file)) {
            throw new InputException("config file " + file + " does not exist"
                    + (Files.isDirectory(file) ? " (it is a directory)" : ""));
        }
        Config user;
        try {
            user = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults()
                    .setSyntax(ConfigSyntax.CONF).setAllowMissing(false));
        } catch (ConfigException e) {
            throw new InputException("cannot parse config " + file + ": " + e.getMessage());
        }
        return load(user, overrides);
    }

    /** As {@link #load(Path, List)}, for a config already parsed. */
    public RunConfig load(Config userFile, List<String> overrides) {
        Config user = parseOverrides(overrides).withFallback(expandAuto(userFile));
        Config framework = frameworkReference();
        ModelProvider provider = models.provider(modelType(user, framework));
        Config modelReference;
        try {
            modelReference = ConfigFactory.parseString(provider.referenceConfig(), ConfigParseOptions.defaults()
                    .setOriginDescription("reference config of model " + provider.name()));
        } catch (ConfigException e) {
            throw new IllegalStateException("model " + provider.name() + " (" + provider.getClass().getName()
                    + ") has an invalid referenceConfig(): " + e.getMessage(), e);
        }
        Config reference = modelReference.withFallback(framework);
        Config resolved;
        Config userResolved;
        try {
            resolved = user.withFallback(reference).resolve();
            userResolved = user.resolveWith(resolved);
        } catch (ConfigException e) {
            throw new InputException("cannot resolve config: " + e.getMessage());
        }
        List<String> problems = ConfigValidator.validate(userResolved.root(), reference.resolve().root());
        if (!problems.isEmpty()) {
            throw new InputException(problems);
        }
        ParallelSettings parallel = ParallelSettings.from(resolved);
        return new RunConfig(resolved, provider, TrainSettings.from(resolved), parallel,
                ProcessSettings.from(resolved, parallel.devices()));
    }

    /**
     * {@code parallel = auto} is short for {@code parallel.auto = true}: the other parallel keys
     * (devices, data, tensor, memory_budget) keep their values.
     */
    static Config expandAuto(Config config) {
        if (config.hasPath("parallel") && config.getValue("parallel").valueType() == ConfigValueType.STRING
                && "auto".equals(config.getString("parallel").trim())) {
            return config.withoutPath("parallel").withValue("parallel.auto",
                    ConfigValueFactory.fromAnyRef(true, "parallel = auto"));
        }
        return config;
    }

    private static String modelType(Config user, Config framework) {
        try {
            return user.withFallback(framework).resolve().getString("model.type").trim();
        } catch (ConfigException.WrongType e) {
            throw new InputException("model.type: expected a string naming a model, got " + e.getMessage());
        } catch (ConfigException e) {
            throw new InputException("cannot read model.type: " + e.getMessage());
        }
    }

    /**
     * Parses {@code key=value} overrides; later ones win. A value is parsed as HOCON ({@code 3},
     * {@code 1e-3}, {@code true}, {@code [1, 2]}, {@code "text"}); a value that is not valid HOCON,
     * or that HOCON would cut at a comment ({@code //}, {@code #}), is taken as a plain string.
     *
     * @throws InputException naming the override when it lacks {@code =} or its key is not a path
     */
    public static Config parseOverrides(List<String> overrides) {
        Config result = ConfigFactory.empty();
        for (String override : overrides) {
            int eq = override.indexOf('=');
            if (eq <= 0) {
                throw new InputException("--set expects key=value (e.g. --set train.steps=100), got '" + override + "'");
            }
            String key = override.substring(0, eq).trim();
            String text = override.substring(eq + 1).trim();
            try {
                ConfigUtil.splitPath(key);
            } catch (ConfigException e) {
                throw new InputException("--set " + override + ": '" + key + "' is not a config path (" + e.getMessage() + ")");
            }
            String origin = "--set " + override;
            Config one = expandAuto(ConfigFactory.empty().withValue(key, parseValue(text, origin)));
            result = one.withFallback(result);
        }
        return result;
    }

    private static ConfigValue parseValue(String text, String origin) {
        boolean structured = text.startsWith("\"") || text.startsWith("[") || text.startsWith("{");
        if (!structured && (text.contains("//") || text.contains("#"))) {
            return ConfigValueFactory.fromAnyRef(text, origin);
        }
        try {
            ConfigValue value = ConfigFactory.parseString("value = " + text).root().get("value");
            if (value != null) {
                return value.withOrigin(ConfigOriginFactory.newSimple(origin));
            }
        } catch (ConfigException e) {
            if (structured) {
                throw new InputException(origin + ": cannot parse the value: " + e.getMessage());
            }
        }
        return ConfigValueFactory.fromAnyRef(text, origin);
    }

    /**
     * This module's own {@code reference.conf}. Other jars (Pekko, later) ship files of the same
     * name, so the one in this module's code source is chosen rather than the merge of all.
     */
    static Config frameworkReference() {
        try {
            String ownLocation = ConfigLoader.class.getProtectionDomain().getCodeSource().getLocation().toString();
            List<URL> candidates = Collections.list(ConfigLoader.class.getClassLoader().getResources("reference.conf"));
            List<URL> own = new ArrayList<>(candidates.stream().filter(u -> u.toString().contains(ownLocation)).toList());
            URL chosen = own.isEmpty() ? ConfigLoader.class.getResource("/reference.conf") : own.get(0);
            if (chosen == null) {
                throw new IllegalStateException("reference.conf of tessera-deploy is missing from the class path");
            }
            return ConfigFactory.parseURL(chosen, ConfigParseOptions.defaults().setAllowMissing(false)
                    .setOriginDescription("tessera reference.conf"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot list reference.conf resources: " + e.getMessage(), e);
        }
    }
}
