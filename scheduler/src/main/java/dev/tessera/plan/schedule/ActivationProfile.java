package dev.tessera.plan.schedule;

import java.util.List;

/**
 * How many micro-batches a device holds activations for as it runs its list: one more at each F,
 * one fewer at each W or BW (the inputs W needs are held until W; with BW both go at once). A device
 * runs its list sequentially, so this depends on the order alone, not on timing.
 */
public final class ActivationProfile {
    /** The largest number held, and the position of the F that first reached it (-1 for none). */
    public record Peak(int inFlight, int position) {
    }

    private ActivationProfile() {
    }

    /** The peak number of (stage, micro-batch) activations held on {@code device} at once. */
    public static Peak peak(PipelineSchedule schedule, int device) {
        List<Action> actions = schedule.actions(device);
        int live = 0;
        Peak peak = new Peak(0, -1);
        for (int position = 0; position < actions.size(); position++) {
            Action action = actions.get(position);
            if (action.kind() == ActionKind.FORWARD) {
                live++;
                if (live > peak.inFlight()) {
                    peak = new Peak(live, position);
                }
            } else if (action.kind().completesWeightGradient()) {
                live--;
            }
        }
        return peak;
    }

    /** The position of the first F after which {@code device} holds more than {@code limit}; -1 if it never does. */
    public static int firstAbove(PipelineSchedule schedule, int device, int limit) {
        List<Action> actions = schedule.actions(device);
        int live = 0;
        for (int position = 0; position < actions.size(); position++) {
            ActionKind kind = actions.get(position).kind();
            live += kind == ActionKind.FORWARD ? 1 : kind.completesWeightGradient() ? -1 : 0;
            if (live > limit) {
                return position;
            }
        }
        return -1;
    }

    /** {@link #peak}'s count for every device, in device order. */
    public static int[] peaks(PipelineSchedule schedule) {
        int[] peaks = new int[schedule.devices()];
        for (int device = 0; device < peaks.length; device++) {
            peaks[device] = peak(schedule, device).inFlight();
        }
        return peaks;
    }
}
