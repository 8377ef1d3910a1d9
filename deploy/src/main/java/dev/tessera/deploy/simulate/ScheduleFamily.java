package dev.tessera.deploy.simulate;

import dev.tessera.deploy.InputException;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import java.util.Arrays;
import java.util.Locale;

/**
 * The schedules {@code tessera simulate} knows, by the names {@code parallel.schedule} uses. Auto is
 * not here: it needs the costs, see {@link PipelineSimulation}.
 */
public enum ScheduleFamily {
    GPIPE("gpipe"),
    ONE_F_ONE_B("1f1b"),
    INTERLEAVED_ONE_F_ONE_B("interleaved-1f1b"),
    ONE_F_ONE_B_TWO_BP("1f1b-2bp"),
    ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END("1f1b-2bp-w-at-end"),
    ZB_H1("zb-h1"),
    ZB_H2("zb-h2"),
    ZB_V("zb-v");

    /** The name of the automatic schedule, beside the families. */
    public static final String AUTO = "auto";

    private final String label;

    ScheduleFamily(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /**
     * The family's schedule for {@code devices} devices; {@code chunks} is used by interleaved 1F1B
     * (ZB-V always has 2 per device).
     *
     * @throws IllegalArgumentException from {@link Schedules} when the family cannot take these sizes
     */
    public PipelineSchedule build(int devices, int microBatches, int chunks) {
        return switch (this) {
            case GPIPE -> Schedules.gpipe(devices, microBatches);
            case ONE_F_ONE_B -> Schedules.oneFOneB(devices, microBatches);
            case INTERLEAVED_ONE_F_ONE_B -> Schedules.interleavedOneFOneB(devices, microBatches, chunks);
            case ONE_F_ONE_B_TWO_BP -> Schedules.oneFOneBTwoBp(devices, microBatches);
            case ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END -> Schedules.oneFOneBTwoBpWeightsAtEnd(devices, microBatches);
            case ZB_H1 -> Schedules.zbH1(devices, microBatches);
            case ZB_H2 -> Schedules.zbH2(devices, microBatches);
            case ZB_V -> Schedules.zbV(devices, microBatches);
        };
    }

    /** Every name {@code --schedule} accepts, the families and then auto, joined by ", ". */
    public static String names() {
        return String.join(", ", Arrays.stream(values()).map(ScheduleFamily::label).toList()) + ", " + AUTO;
    }

    /**
     * The family called {@code name} (case-insensitive); null for auto.
     *
     * @throws InputException listing the known names when there is none of that name
     */
    public static ScheduleFamily byName(String name) {
        String wanted = name.strip().toLowerCase(Locale.ROOT);
        if (wanted.equals(AUTO)) {
            return null;
        }
        for (ScheduleFamily family : values()) {
            if (family.label.equals(wanted)) {
                return family;
            }
        }
        throw new InputException("--schedule: there is no schedule named '" + name + "'; use one of " + names());
    }
}
