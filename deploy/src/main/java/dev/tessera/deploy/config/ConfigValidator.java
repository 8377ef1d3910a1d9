package dev.tessera.deploy.config;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks the keys a user set against the reference (framework keys merged with the model's): a
 * key the reference does not declare is unknown, and a value must have the type of its default.
 * Every problem becomes one line naming the full path, where it was set, and what is expected.
 */
final class ConfigValidator {
    private static final Set<String> BOOLEAN_WORDS = Set.of("true", "false", "yes", "no", "on", "off");
    /**
     * Sections whose keys the user chooses, with the type of every value: hints (tensor name ->
     * NdSbp text) and stages (name prefix -> stage index).
     */
    private static final java.util.Map<String, ConfigValueType> OPEN_SECTIONS = java.util.Map.of(
            "parallel.hints", ConfigValueType.STRING, "parallel.stages", ConfigValueType.NUMBER);

    /**
     * Keys that existed once and were replaced, with what to write instead: an unknown key, but
     * the user most likely follows an old config or page, so the message says how to migrate.
     */
    private static final java.util.Map<String, String> REPLACED_KEYS = java.util.Map.of(
            "runtime.placement", "runtime.placement was replaced by parallel.pipeline + parallel.stages: a split of "
                    + "the model over k devices is k pipeline stages of one device each, e.g. instead of "
                    + "runtime.devices = 2, runtime.placement = [\"block1.=1\", \"head.=1\"] write parallel { devices = 2, "
                    + "pipeline = 2, stages { \"block1.\" = 1, \"head.\" = 1 } } (op or parameter name prefix -> stage; "
                    + "'tessera plan' lists the names)",
            "runtime.devices", "runtime.devices was replaced by parallel.devices, the one device count: set "
                    + "parallel.devices (= data * tensor * pipeline), and split a model over devices with "
                    + "parallel.pipeline + parallel.stages");

    private ConfigValidator() {
    }

    /**
     * @param user the user's keys (file and overrides), substitutions already resolved
     * @param reference every declared key with its default
     * @return one message per problem, in path order; empty when the config is valid
     */
    static List<String> validate(ConfigObject user, ConfigObject reference) {
        List<String> problems = new ArrayList<>();
        check(user, reference, "", problems);
        return problems;
    }

    private static void check(ConfigObject user, ConfigObject reference, String prefix, List<String> problems) {
        for (String key : new TreeSet<>(user.keySet())) {
            String path = prefix.isEmpty() ? ConfigUtil.joinPath(key) : prefix + "." + ConfigUtil.joinPath(key);
            ConfigValue value = user.get(key);
            ConfigValue declared = reference.get(key);
            if (declared == null && REPLACED_KEYS.containsKey(path)) {
                problems.add("unknown key " + path + where(value) + "; " + REPLACED_KEYS.get(path));
            } else if (declared == null) {
                String section = prefix.isEmpty() ? "valid top-level keys: " : "valid keys of " + prefix + ": ";
                String keys = reference.isEmpty() ? "(none)" : String.join(", ", new TreeSet<>(reference.keySet()));
                problems.add("unknown key " + path + where(value) + "; " + section + keys);
            } else if (declared.valueType() == ConfigValueType.OBJECT && OPEN_SECTIONS.containsKey(path)) {
                checkLeaves(value, path, OPEN_SECTIONS.get(path), problems);
            } else if (declared.valueType() == ConfigValueType.OBJECT) {
                if (value.valueType() == ConfigValueType.OBJECT) {
                    check((ConfigObject) value, (ConfigObject) declared, path, problems);
                } else {
                    problems.add(path + ": expected a section with keys "
                            + String.join(", ", new TreeSet<>(((ConfigObject) declared).keySet()))
                            + ", got " + describe(value) + where(value));
                }
            } else {
                String expected = mismatch(value, declared);
                if (expected != null) {
                    problems.add(path + ": expected " + expected + ", got " + describe(value) + where(value));
                }
            }
        }
    }

    /** Every leaf of an open section must have the section's type; a dotted key (fc1.weight) nests, which is fine. */
    private static void checkLeaves(ConfigValue value, String path, ConfigValueType type, List<String> problems) {
        if (value.valueType() == ConfigValueType.OBJECT) {
            ConfigObject object = (ConfigObject) value;
            for (String key : new TreeSet<>(object.keySet())) {
                checkLeaves(object.get(key), path + "." + ConfigUtil.joinPath(key), type, problems);
            }
        } else if (value.valueType() != type) {
            problems.add(path + ": expected " + (type == ConfigValueType.STRING ? "a string" : "a number") + ", got "
                    + describe(value) + where(value));
        }
    }

    /** What the default's type requires, or null when {@code value} is acceptable in its place. */
    private static String mismatch(ConfigValue value, ConfigValue declared) {
        Object unwrapped = value.unwrapped();
        switch (declared.valueType()) {
            case NULL:
                return null;
            case STRING:
                // Typesafe Config reads numbers and booleans as strings where a string is asked for.
                return value.valueType() == ConfigValueType.STRING || value.valueType() == ConfigValueType.NUMBER
                        || value.valueType() == ConfigValueType.BOOLEAN ? null : "a string";
            case BOOLEAN:
                return value.valueType() == ConfigValueType.BOOLEAN
                        || value.valueType() == ConfigValueType.STRING
                        && BOOLEAN_WORDS.contains(((String) unwrapped).toLowerCase(Locale.ROOT)) ? null : "a boolean";
            case NUMBER:
                // Typesafe Config stores a default of 0.0 or 1.0 as an integer, so a default cannot say
                // whether fractions are allowed; integer keys are checked where they are read.
                return numberMismatch(value);
            case LIST:
                if (value.valueType() != ConfigValueType.LIST) {
                    return "a list";
                }
                List<? extends ConfigValue> declaredElements = (com.typesafe.config.ConfigList) declared;
                if (!declaredElements.isEmpty()) {
                    for (ConfigValue element : (com.typesafe.config.ConfigList) value) {
                        String elementProblem = mismatch(element, declaredElements.get(0));
                        if (elementProblem != null) {
                            return "a list of " + elementProblem.replaceFirst("^an? ", "") + "s";
                        }
                    }
                }
                return null;
            default:
                return "a " + declared.valueType().name().toLowerCase(Locale.ROOT);
        }
    }

    private static String numberMismatch(ConfigValue value) {
        if (value.valueType() == ConfigValueType.NUMBER) {
            return null;
        }
        if (value.valueType() == ConfigValueType.STRING) {
            try {
                Double.parseDouble(((String) value.unwrapped()).trim());
                return null;
            } catch (NumberFormatException e) {
                return "a number";
            }
        }
        return "a number";
    }

    private static String describe(ConfigValue value) {
        String type = value.valueType().name().toLowerCase(Locale.ROOT);
        if (value.valueType() == ConfigValueType.OBJECT) {
            return "a section";
        }
        return type + " " + value.render(com.typesafe.config.ConfigRenderOptions.concise());
    }

    private static String where(ConfigValue value) {
        String description = value.origin() == null ? null : value.origin().description();
        return description == null || description.isEmpty() ? "" : " (" + description + ")";
    }
}
