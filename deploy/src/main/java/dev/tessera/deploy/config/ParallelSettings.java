package dev.tessera.deploy.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import dev.tessera.deploy.InputException;
import dev.tessera.plan.schedule.ScheduleName;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.SbpText;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The {@code parallel} keys: how many devices, arranged as a [data, tensor] hierarchy, the
 * layouts the user fixed by tensor name, and whether the rest is searched ({@code auto}, within
 * {@code memory_budget} bytes per device) or inferred greedily with the batch split over the
 * data axis. Hints are parsed here (so bad SBP text is reported with the other config problems);
 * whether their tensors exist is checked against the model's graph. With {@code pipeline = P > 1},
 * {@code stages} maps op/parameter name prefixes to stage indices 0..P-1; stage {@code s} runs on
 * its own {@code data * tensor} devices (see {@link #stagePlacement}), stage 0 also on every op no
 * prefix names. Without {@code stages} the cost model cuts the model into P balanced stages.
 *
 * {@code schedule} names the pipeline schedule every stage's devices follow ({@code none}, the
 * default: no order, each op runs as soon as its data is there).
 *
 * @param stages name prefix -> stage index; empty when {@code pipeline = 1} or the cost model cuts the stages
 * @param schedule the pipeline schedule's family; empty for {@code none}
 * @param stagesPerDevice schedule stages per pipeline position: 1, {@code parallel.chunks} for
 *     interleaved 1F1B, 2 for ZB-V; {@code stages} then names stages 0..pipeline * stagesPerDevice - 1
 *     and {@link #positionOfStage} says whose devices run each
 * @param measuredStageTimes whether {@code schedule = auto} searches with F, B and W times measured
 *     in a short traced run ({@code parallel.auto_stage_times = measured}) or with the cost model's
 * @param gradientBucketBytes {@code parallel.gradient_bucket_bytes}: most bytes of one fused
 *     data-parallel gradient reduction (0: one collective per gradient)
 */
public record ParallelSettings(int devices, int data, int tensor, int pipeline, Map<String, Integer> stages,
        Map<String, NdSbp> hints, boolean auto, long memoryBudgetBytes, Optional<ScheduleName> schedule,
        int stagesPerDevice, boolean measuredStageTimes, long gradientBucketBytes) {
    /** The value of {@code parallel.schedule} that follows no schedule. */
    public static final String NO_SCHEDULE = "none";

    /** The default memory budget of the auto mode: generous, so only real limits need a setting. */
    public static final long DEFAULT_MEMORY_BUDGET_BYTES = 16L << 30;

    /** The hierarchy axis the batch is split over. */
    public static final int DATA_AXIS = 0;
    /** The hierarchy axis tensor-parallel hints split weights over. */
    public static final int TENSOR_AXIS = 1;

    public ParallelSettings {
        stages = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(stages));
        hints = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(hints));
    }

    /** @throws InputException with one line per problem, each naming its key */
    public static ParallelSettings from(Config c) {
        List<String> problems = new ArrayList<>();
        int devices = positiveInt(c, "parallel.devices", problems);
        int data = positiveInt(c, "parallel.data", problems);
        int tensor = positiveInt(c, "parallel.tensor", problems);
        int pipeline = positiveInt(c, "parallel.pipeline", problems);
        int chunks = positiveInt(c, "parallel.chunks", problems);
        Optional<ScheduleName> schedule = schedule(c, problems);
        int stagesPerDevice = schedule.map(name -> stagesPerDevice(name, chunks)).orElse(1);
        if (chunks > 1 && schedule.map(name -> name != ScheduleName.INTERLEAVED_ONE_F_ONE_B && name
                != ScheduleName.ZB_V).orElse(true)) {
            problems.add("parallel.chunks: " + chunks + " stages per device need parallel.schedule = interleaved-1f1b"
                    + " (or zb-v, always 2); set parallel.chunks = 1 for " + schedule.map(ScheduleName::configName)
                    .orElse(NO_SCHEDULE));
        } else if (chunks > 2 && schedule.orElse(null) == ScheduleName.ZB_V) {
            problems.add("parallel.chunks: zb-v runs 2 stages per device, not " + chunks + "; set parallel.chunks = 2");
        }
        Map<String, Integer> stages = stages(c, pipeline, stagesPerDevice, problems);
        long product = (long) data * tensor * pipeline;
        if (problems.isEmpty() && product != devices) {
            problems.add("parallel.devices: " + devices + " devices do not match data * tensor * pipeline = " + data + " * "
                    + tensor + " * " + pipeline + " = " + product + "; make the product equal the device count"
                    + (data == 1 && tensor == 1 ? " (e.g. parallel.data = " + devices + " for data parallelism)" : ""));
        }
        Map<String, NdSbp> hints = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> entry : c.getConfig("parallel.hints").entrySet()) {
            // A dotted key written without quotes nests in HOCON; the tensor name is the whole path.
            String name = String.join(".", ConfigUtil.splitPath(entry.getKey()));
            try {
                hints.put(name, SbpText.parse(String.valueOf(entry.getValue().unwrapped())));
            } catch (IllegalArgumentException e) {
                problems.add("parallel.hints." + name + ": " + e.getMessage());
            }
        }
        for (Map.Entry<String, NdSbp> hint : hints.entrySet()) {
            if (hint.getValue().size() != 2) {
                problems.add("parallel.hints." + hint.getKey() + ": " + hint.getValue() + " has "
                        + hint.getValue().size() + " entries, but the devices form a [data, tensor] hierarchy; give two, e.g. (B, S(1))");
            }
        }
        boolean auto = false;
        try {
            auto = c.getBoolean("parallel.auto");
        } catch (ConfigException e) {
            problems.add("parallel.auto: must be true or false, got " + c.getValue("parallel.auto").render());
        }
        if (auto && pipeline > 1) {
            problems.add("parallel.auto: the auto search lays out one placement and cannot combine with pipeline = "
                    + pipeline + " stages; set parallel.auto = false to place the stages by parallel.stages, "
                    + "or parallel.pipeline = 1 (and no stages) to search");
        }
        long budget = DEFAULT_MEMORY_BUDGET_BYTES;
        try {
            budget = c.getMemorySize("parallel.memory_budget").toBytes();
            if (budget <= 0) {
                problems.add("parallel.memory_budget: must be positive, got " + c.getValue("parallel.memory_budget").render());
            }
        } catch (ConfigException e) {
            problems.add("parallel.memory_budget: must be a size such as \"2 GiB\" or \"512 MiB\", got "
                    + c.getValue("parallel.memory_budget").render());
        }
        if (problems.isEmpty() && schedule.isPresent() && schedule.get() != ScheduleName.AUTO) {
            int microBatches = (int) c.getDouble("train.micro_batches");
            try {
                schedule.get().build(pipeline, microBatches, stagesPerDevice);
            } catch (IllegalArgumentException e) {
                problems.add("parallel.schedule: " + e.getMessage() + " (train.micro_batches = " + microBatches
                        + ", parallel.pipeline = " + pipeline + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new InputException(problems);
        }
        String times = c.getString("parallel.auto_stage_times").trim();
        if (!times.equals("measured") && !times.equals("modeled")) {
            problems.add("parallel.auto_stage_times: must be measured or modeled, got '" + times + "'");
        }
        long bucketBytes = gradientBucketBytes(c, problems);
        if (!problems.isEmpty()) {
            throw new InputException(problems);
        }
        return new ParallelSettings(devices, data, tensor, pipeline, stages, hints, auto, budget, schedule,
                stagesPerDevice, times.equals("measured"), bucketBytes);
    }

    /** {@code parallel.gradient_bucket_bytes}: a size, 0 or more; problems are added, not thrown. */
    private static long gradientBucketBytes(Config c, List<String> problems) {
        String key = "parallel.gradient_bucket_bytes";
        try {
            long bytes = c.getMemorySize(key).toBytes();
            if (bytes < 0) {
                problems.add(key + ": must be 0 (one collective per gradient) or a size such as \"25 MiB\", got "
                        + c.getValue(key).render());
            }
            return bytes;
        } catch (ConfigException e) {
            problems.add(key + ": must be 0 (one collective per gradient) or a size such as \"25 MiB\", got "
                    + (c.hasPath(key) ? c.getValue(key).render() : "nothing"));
            return 0;
        }
    }

    /** The {@code parallel.schedule} family, checked against the layout; problems are added, not thrown. */
    private static Optional<ScheduleName> schedule(Config c, List<String> problems) {
        String text = c.getString("parallel.schedule").trim();
        if (text.equalsIgnoreCase(NO_SCHEDULE)) {
            return Optional.empty();
        }
        ScheduleName name;
        try {
            name = ScheduleName.parse(text);
        } catch (IllegalArgumentException e) {
            problems.add("parallel.schedule: unknown pipeline schedule '" + text + "'; choose one of " + NO_SCHEDULE
                    + ", " + ScheduleName.names());
            return Optional.empty();
        }
        return Optional.of(name);
    }

    /** The settings of a single-device run (the defaults). */
    public static ParallelSettings singleDevice() {
        return new ParallelSettings(1, 1, 1, 1, Map.of(), Map.of(), false, DEFAULT_MEMORY_BUDGET_BYTES,
                Optional.empty(), 1, true, dev.tessera.plan.compile.PlanOptions.DEFAULT_GRADIENT_BUCKET_BYTES);
    }

    /**
     * The pipeline position (0..pipeline-1, whose devices {@link #stagePlacement} gives) that runs
     * schedule stage {@code stage}: itself with one stage per device, {@code stage mod pipeline}
     * for interleaved 1F1B, the V ({@code 0, 1, .., p-1, p-1, .., 0}) for ZB-V.
     */
    public int positionOfStage(int stage) {
        if (stagesPerDevice == 1) {
            return stage;
        }
        List<Integer> placement = schedule.orElse(null) == ScheduleName.ZB_V
                ? dev.tessera.plan.schedule.PipelineSchedule.vPlacement(pipeline)
                : dev.tessera.plan.schedule.PipelineSchedule.loopedPlacement(pipeline, stagesPerDevice);
        return placement.get(stage);
    }

    /** Schedule stages in all: {@code pipeline * stagesPerDevice}. */
    public int scheduleStages() {
        return pipeline * stagesPerDevice;
    }

    private static int stagesPerDevice(ScheduleName name, int chunks) {
        return switch (name) {
            case ZB_V -> 2;
            case INTERLEAVED_ONE_F_ONE_B -> chunks;
            default -> 1;
        };
    }

    /** The placement of stage 0 (with one stage, of the whole run): devices 0..data*tensor-1 of node 0 as [data, tensor]. */
    public Placement placement() {
        return stagePlacement(0);
    }

    /** Stage {@code stage}'s devices [stage * data * tensor, (stage + 1) * data * tensor) of node 0 as [data, tensor]. */
    public Placement stagePlacement(int stage) {
        int size = data * tensor;
        List<DeviceId> devices = new ArrayList<>(size);
        for (int d = stage * size; d < (stage + 1) * size; d++) {
            devices.add(new DeviceId(0, d));
        }
        return Placement.of(devices, data, tensor);
    }

    /** The {@code parallel.stages} rules, checked against {@code pipeline}; problems are added, not thrown. */
    private static Map<String, Integer> stages(Config c, int pipeline, int stagesPerDevice, List<String> problems) {
        Map<String, Integer> stages = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigValue> entry : c.getConfig("parallel.stages").entrySet()) {
            // A dotted key written without quotes nests in HOCON; the prefix is the whole path.
            String prefix = String.join(".", ConfigUtil.splitPath(entry.getKey()));
            Object value = entry.getValue().unwrapped();
            if (!(value instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
                problems.add("parallel.stages.\"" + prefix + "\": must be a stage index (a whole number), got "
                        + entry.getValue().render());
                continue;
            }
            stages.put(prefix, n.intValue());
        }
        boolean emptyPrefix = stages.remove("") != null;
        if (emptyPrefix) {
            problems.add("parallel.stages: an empty prefix would name every op; give each stage the name prefix of its "
                    + "ops (e.g. \"block1.\" = 1), stage 0 already takes every op no prefix names");
        }
        if (pipeline == 1 && !stages.isEmpty()) {
            problems.add("parallel.stages: stage rules need parallel.pipeline > 1, but it is 1; set parallel.pipeline to "
                    + "the number of stages (and parallel.devices to data * tensor * pipeline) or remove parallel.stages");
            return Map.of();
        }
        int count = pipeline * stagesPerDevice;
        for (Map.Entry<String, Integer> rule : stages.entrySet()) {
            if (rule.getValue() < 0 || rule.getValue() >= count) {
                problems.add("parallel.stages.\"" + rule.getKey() + "\": stage " + rule.getValue() + " does not exist; "
                        + "parallel.pipeline = " + pipeline + (stagesPerDevice > 1 ? " with " + stagesPerDevice
                        + " stages per device" : "") + " gives stages 0.." + (count - 1)
                        + "; use one of those or raise parallel.pipeline");
            }
        }
        return stages;
    }

    private static int positiveInt(Config c, String path, List<String> problems) {
        double value = c.getDouble(path);
        if (value != Math.rint(value) || value < 1 || value > Integer.MAX_VALUE) {
            problems.add(path + ": must be a whole number of at least 1, got " + c.getValue(path).render());
            return 1;
        }
        return (int) value;
    }
}
