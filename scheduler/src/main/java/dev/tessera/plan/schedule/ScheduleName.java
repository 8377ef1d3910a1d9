package dev.tessera.plan.schedule;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The schedule families by the name a config gives them ({@code parallel.schedule}). Each builds
 * its schedule for p devices and m micro-batches; {@link #AUTO} needs stage costs and is built by
 * {@code AutoScheduler} instead. {@link #INTERLEAVED_ONE_F_ONE_B} and {@link #ZB_V} run several
 * stages per device, so the plan compiler needs each op's stage for them.
 */
public enum ScheduleName {
    GPIPE("gpipe"),
    ONE_F_ONE_B("1f1b"),
    ONE_F_ONE_B_TWO_BP("1f1b-2bp"),
    ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END("1f1b-2bp-weights-at-end"),
    ZB_H1("zb-h1"),
    ZB_H2("zb-h2"),
    INTERLEAVED_ONE_F_ONE_B("interleaved-1f1b"),
    ZB_V("zb-v"),
    AUTO("auto");

    private final String configName;

    ScheduleName(String configName) {
        this.configName = configName;
    }

    /** The name a config uses, e.g. {@code 1f1b-2bp}. */
    public String configName() {
        return configName;
    }

    /** Every config name, comma-separated, for messages. */
    public static String names() {
        return Arrays.stream(values()).map(ScheduleName::configName).collect(Collectors.joining(", "));
    }

    /**
     * @throws IllegalArgumentException naming every valid name when {@code name} is none of them
     */
    public static ScheduleName parse(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        for (ScheduleName value : values()) {
            if (value.configName.equals(wanted)) {
                return value;
            }
        }
        throw new IllegalArgumentException("unknown pipeline schedule '" + name + "'; choose one of " + names());
    }

    /** Whether training can follow it: one stage per device. */
    public boolean oneStagePerDevice() {
        return this != INTERLEAVED_ONE_F_ONE_B && this != ZB_V;
    }

    /**
     * The schedule for {@code devices} devices, one stage each ({@code chunks} for interleaved
     * 1F1B; ZB-V always has two), and {@code microBatches} micro-batches.
     *
     * @throws IllegalArgumentException for {@link #AUTO}, or when the family rejects the sizes
     */
    public PipelineSchedule build(int devices, int microBatches, int chunks) {
        return switch (this) {
            case GPIPE -> Schedules.gpipe(devices, microBatches);
            case ONE_F_ONE_B -> Schedules.oneFOneB(devices, microBatches);
            case ONE_F_ONE_B_TWO_BP -> Schedules.oneFOneBTwoBp(devices, microBatches);
            case ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END -> Schedules.oneFOneBTwoBpWeightsAtEnd(devices, microBatches);
            case ZB_H1 -> Schedules.zbH1(devices, microBatches);
            case ZB_H2 -> Schedules.zbH2(devices, microBatches);
            case INTERLEAVED_ONE_F_ONE_B -> Schedules.interleavedOneFOneB(devices, microBatches, chunks);
            case ZB_V -> Schedules.zbV(devices, microBatches);
            case AUTO -> throw new IllegalArgumentException("the auto schedule is searched from stage costs; "
                    + "use AutoScheduler.schedule");
        };
    }
}
