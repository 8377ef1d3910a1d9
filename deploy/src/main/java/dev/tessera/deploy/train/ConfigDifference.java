package dev.tessera.deploy.train;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Says which keys differ between a run's saved config and the one given now, for resume errors. */
final class ConfigDifference {
    private static final int MAX_LISTED = 6;

    private ConfigDifference() {
    }

    static String describe(Path savedConfig, Config current) {
        Config saved;
        try {
            saved = ConfigFactory.parseFile(savedConfig.toFile()).resolve();
        } catch (ConfigException e) {
            return "the saved " + savedConfig + " cannot be read: " + e.getMessage();
        }
        Map<String, String> a = flatten(saved);
        Map<String, String> b = flatten(current);
        List<String> differences = new ArrayList<>();
        for (String key : new TreeSet<>(union(a, b))) {
            if (key.startsWith("checkpoint.") || key.equals("train.log_every") || key.equals("train.eval_every")) {
                continue;
            }
            if (!String.valueOf(a.get(key)).equals(String.valueOf(b.get(key)))) {
                differences.add(key + " was " + a.getOrDefault(key, "unset") + ", now " + b.getOrDefault(key, "unset"));
            }
        }
        if (differences.isEmpty()) {
            return "the saved " + savedConfig + " matches, so the checkpoint belongs to another run";
        }
        String listed = String.join(", ", differences.subList(0, Math.min(MAX_LISTED, differences.size())));
        return differences.size() > MAX_LISTED ? listed + " and " + (differences.size() - MAX_LISTED) + " more" : listed;
    }

    private static TreeSet<String> union(Map<String, String> a, Map<String, String> b) {
        TreeSet<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        return keys;
    }

    private static Map<String, String> flatten(Config c) {
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> e : c.entrySet()) {
            out.put(e.getKey(), e.getValue().render(ConfigRenderOptions.concise()));
        }
        return out;
    }
}
