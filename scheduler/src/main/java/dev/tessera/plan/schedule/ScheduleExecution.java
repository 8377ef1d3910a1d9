package dev.tessera.plan.schedule;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Executes a schedule's per-device lists against {@link Dependencies}: each device runs its actions
 * in order, an action starting once its device is free and everything it waits for has finished
 * (plus a transfer delay where that ran on another device). With zero durations this is the dry run;
 * with a cost model it is the simulator's event loop. Start times do not depend on the order in
 * which devices are visited, so the result is deterministic.
 */
public final class ScheduleExecution {
    /** Durations and transfer delays of an execution; both are in the caller's time unit. */
    public interface Timing {
        /** Device time {@code action} occupies on {@code device}. */
        double duration(int device, Action action);

        /** Delay between the end of {@code producer} on one device and {@code consumer} being able to start on another. */
        double transfer(Action producer, int fromDevice, Action consumer, int toDevice);
    }

    /** Every action takes no time: only the order matters. */
    public static final Timing ORDER_ONLY = new Timing() {
        @Override
        public double duration(int device, Action action) {
            return 0;
        }

        @Override
        public double transfer(Action producer, int fromDevice, Action consumer, int toDevice) {
            return 0;
        }
    };

    /** One executed action: the device, its position in the device's list, and when it ran. */
    public record TimedAction(int device, int position, Action action, double start, double end) {
    }

    /** A device that cannot run its next action: what it waits for and where that is. */
    public record Blocked(int device, int position, Action next, Action missing, int missingDevice, int missingPosition) {
        /** {@code missingPosition} when no device schedules the missing action. */
        public static final int NOT_SCHEDULED = -1;

        public String describe() {
            String where = missingPosition == NOT_SCHEDULED
                    ? "which no device schedules"
                    : "which is action " + missingPosition + " of device " + missingDevice + " and has not run";
            return "device " + device + " is blocked at " + next + " (its action " + position + "): it needs "
                    + missing + ", " + where;
        }
    }

    /** What an execution got to: the timeline of what ran and, if it stopped early, each blocked device. */
    public record Result(List<TimedAction> timeline, List<Blocked> blocked) {
        public boolean completed() {
            return blocked.isEmpty();
        }

        /** "not progressing: ..." naming each blocked device, its next action and the missing dependency. */
        public String describeDeadlock() {
            StringBuilder text = new StringBuilder("not progressing:");
            for (Blocked device : blocked) {
                text.append("\n  ").append(device.describe());
            }
            return text.toString();
        }
    }

    private ScheduleExecution() {
    }

    public static Result run(PipelineSchedule schedule, Timing timing) {
        Dependencies dependencies = new Dependencies(schedule);
        int devices = schedule.devices();
        int[] next = new int[devices];
        double[] free = new double[devices];
        Map<Action, Double> ends = new HashMap<>();
        List<TimedAction> timeline = new ArrayList<>();
        boolean progress = true;
        while (progress) {
            progress = false;
            for (int device = 0; device < devices; device++) {
                List<Action> actions = schedule.actions(device);
                while (next[device] < actions.size()) {
                    Action action = actions.get(next[device]);
                    double ready = free[device];
                    boolean runnable = true;
                    for (Action need : dependencies.of(action)) {
                        Double end = ends.get(need);
                        if (end == null) {
                            runnable = false;
                            break;
                        }
                        int from = schedule.deviceOf(need.stage());
                        ready = Math.max(ready, from == device ? end : end + timing.transfer(need, from, action, device));
                    }
                    if (!runnable) {
                        break;
                    }
                    double end = ready + timing.duration(device, action);
                    ends.put(action, end);
                    timeline.add(new TimedAction(device, next[device], action, ready, end));
                    free[device] = end;
                    next[device]++;
                    progress = true;
                }
            }
        }
        List<Blocked> blocked = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            List<Action> actions = schedule.actions(device);
            if (next[device] < actions.size()) {
                Action action = actions.get(next[device]);
                Action missing = dependencies.of(action).stream().filter(need -> !ends.containsKey(need)).findFirst()
                        .orElseThrow();
                int missingDevice = schedule.deviceOf(missing.stage());
                int position = schedule.actions(missingDevice).indexOf(missing);
                blocked.add(new Blocked(device, next[device], action, missing, missingDevice,
                        position < 0 ? Blocked.NOT_SCHEDULED : position));
            }
        }
        return new Result(timeline, blocked);
    }
}
