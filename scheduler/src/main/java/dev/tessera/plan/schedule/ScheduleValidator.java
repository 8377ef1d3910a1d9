package dev.tessera.plan.schedule;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Checks that a schedule (from a family, parsed, or written by hand) can run. Rules, each with a
 * message naming the device, the action and what is missing:
 * <ul>
 * <li>exactly one F and either one B and one W, or one BW, per (stage, micro-batch); no action twice;</li>
 * <li>on its device, F before its B (or BW), B before its W; where two neighbouring stages share a
 * device, F of stage s before F of stage s+1 and B of stage s+1 before B of stage s;</li>
 * <li>with explicit communication, a send and a matching receive for every edge between devices, and
 * none between stages of one device;</li>
 * <li>at most one optimizer step per stage;</li>
 * <li>peak activations held per device ({@link ActivationProfile}) within the limit, if one is given;</li>
 * <li>the dry run ({@link ScheduleExecution} in order only) finishes: across devices every action's
 * dependencies (F of s before F of s+1, B of s+1 before B of s, send before receive) are met by some
 * interleaving; otherwise it reports "not progressing" with each blocked device. It runs only when the
 * rules above hold, so its report is not drowned by their consequences.</li>
 * </ul>
 */
public final class ScheduleValidator {
    private ScheduleValidator() {
    }

    /** Throws {@link InvalidScheduleException} listing every problem; no activation limit. */
    public static void requireValid(PipelineSchedule schedule) {
        requireValid(schedule, OptionalInt.empty());
    }

    public static void requireValid(PipelineSchedule schedule, OptionalInt activationLimit) {
        List<String> problems = problems(schedule, activationLimit);
        if (!problems.isEmpty()) {
            throw new InvalidScheduleException(problems);
        }
    }

    /** Every problem of {@code schedule}; empty when it runs. */
    public static List<String> problems(PipelineSchedule schedule) {
        return problems(schedule, OptionalInt.empty());
    }

    /** Every problem of {@code schedule} with at most {@code activationLimit} activations held per device. */
    public static List<String> problems(PipelineSchedule schedule, OptionalInt activationLimit) {
        Map<Action, Integer> position = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (int device = 0; device < schedule.devices(); device++) {
            List<Action> actions = schedule.actions(device);
            for (int index = 0; index < actions.size(); index++) {
                if (position.putIfAbsent(actions.get(index), index) != null) {
                    problems.add("device " + device + " runs " + actions.get(index) + " twice (actions "
                            + position.get(actions.get(index)) + " and " + index + "); keep one");
                }
            }
        }
        problems.addAll(countProblems(schedule, position));
        problems.addAll(orderProblems(schedule, position));
        if (schedule.hasCommunication()) {
            problems.addAll(communicationProblems(schedule, position));
        }
        if (activationLimit.isPresent()) {
            int limit = activationLimit.getAsInt();
            for (int device = 0; device < schedule.devices(); device++) {
                ActivationProfile.Peak peak = ActivationProfile.peak(schedule, device);
                if (peak.inFlight() > limit) {
                    int first = ActivationProfile.firstAbove(schedule, device, limit);
                    problems.add("device " + device + " holds up to " + peak.inFlight() + " micro-batch activations, "
                            + "over the limit of " + limit + " from " + schedule.actions(device).get(first)
                            + " (its action " + first + ") on; run a backward before that forward or raise the limit");
                }
            }
        }
        if (problems.isEmpty()) {
            ScheduleExecution.Result dryRun = ScheduleExecution.run(schedule, ScheduleExecution.ORDER_ONLY);
            if (!dryRun.completed()) {
                problems.add(dryRun.describeDeadlock());
            }
        }
        return problems;
    }

    private static List<String> countProblems(PipelineSchedule schedule, Map<Action, Integer> position) {
        List<String> problems = new ArrayList<>();
        for (int stage = 0; stage < schedule.stages(); stage++) {
            String device = "device " + schedule.deviceOf(stage);
            for (int microBatch = 0; microBatch < schedule.microBatches(); microBatch++) {
                boolean forward = position.containsKey(Action.forward(stage, microBatch));
                boolean input = position.containsKey(Action.backwardInput(stage, microBatch));
                boolean weight = position.containsKey(Action.backwardWeight(stage, microBatch));
                boolean full = position.containsKey(Action.fullBackward(stage, microBatch));
                String which = " for stage " + stage + " micro-batch " + microBatch;
                if (!forward) {
                    problems.add(device + " has no F" + which + "; add " + Action.forward(stage, microBatch));
                }
                if (full && (input || weight)) {
                    problems.add(device + " runs both " + Action.fullBackward(stage, microBatch) + " and its split "
                            + "parts" + which + "; run either BW or B and W");
                } else if (!full && !input && !weight) {
                    problems.add(device + " has no backward" + which + "; add " + Action.fullBackward(stage, microBatch)
                            + " or " + Action.backwardInput(stage, microBatch) + " and "
                            + Action.backwardWeight(stage, microBatch));
                } else if (input != weight && !full) {
                    problems.add(device + (input ? " runs " + Action.backwardInput(stage, microBatch) + " but no "
                            + Action.backwardWeight(stage, microBatch) : " runs " + Action.backwardWeight(stage, microBatch)
                            + " but no " + Action.backwardInput(stage, microBatch)) + which
                            + "; a split backward needs both");
                }
            }
        }
        return problems;
    }

    private static List<String> orderProblems(PipelineSchedule schedule, Map<Action, Integer> position) {
        List<String> problems = new ArrayList<>();
        Dependencies dependencies = new Dependencies(schedule);
        for (int device = 0; device < schedule.devices(); device++) {
            List<Action> actions = schedule.actions(device);
            for (int index = 0; index < actions.size(); index++) {
                Action action = actions.get(index);
                for (Action need : dependencies.of(action)) {
                    Integer at = position.get(need);
                    if (at != null && schedule.deviceOf(need.stage()) == device && at > index) {
                        problems.add("device " + device + " runs " + action + " (its action " + index + ") before "
                                + need + " (its action " + at + "), which " + action + " needs; move " + need
                                + " earlier");
                    }
                }
            }
        }
        return problems;
    }

    private static List<String> communicationProblems(PipelineSchedule schedule, Map<Action, Integer> position) {
        List<String> problems = new ArrayList<>();
        int last = schedule.stages() - 1;
        for (int device = 0; device < schedule.devices(); device++) {
            for (Action action : schedule.actions(device)) {
                if (!action.kind().isCommunication()) {
                    continue;
                }
                int peer = switch (action.kind()) {
                    case SEND_ACTIVATION, RECEIVE_GRADIENT -> action.stage() + 1;
                    default -> action.stage() - 1;
                };
                if (peer < 0 || peer > last) {
                    problems.add("device " + device + " runs " + action + " but stage " + action.stage()
                            + " has no neighbour stage " + peer + " to exchange with; remove it");
                } else if (schedule.deviceOf(peer) == device) {
                    problems.add("device " + device + " runs " + action + " but stages " + action.stage() + " and "
                            + peer + " are both on device " + device + "; remove it, the data stays on the device");
                } else {
                    Action partner = partnerOf(action);
                    if (!position.containsKey(partner)) {
                        problems.add("device " + device + " runs " + action + " but device " + schedule.deviceOf(peer)
                                + " has no matching " + partner + "; add it there");
                    }
                }
            }
        }
        for (int stage = 0; stage < last; stage++) {
            if (schedule.deviceOf(stage) == schedule.deviceOf(stage + 1)) {
                continue;
            }
            for (int microBatch = 0; microBatch < schedule.microBatches(); microBatch++) {
                for (Action send : List.of(Action.sendActivation(stage, microBatch),
                        Action.sendGradient(stage + 1, microBatch))) {
                    Action receive = partnerOf(send);
                    if (!position.containsKey(send) && !position.containsKey(receive)) {
                        problems.add("stages " + stage + " and " + (stage + 1) + " are on different devices but "
                                + "there is neither " + send + " on device " + schedule.deviceOf(send.stage()) + " nor "
                                + receive + " on device " + schedule.deviceOf(receive.stage()) + "; add both");
                    }
                }
            }
        }
        return problems;
    }

    /** The receive of a send and the send of a receive. */
    static Action partnerOf(Action action) {
        int microBatch = action.microBatch();
        return switch (action.kind()) {
            case SEND_ACTIVATION -> Action.receiveActivation(action.stage() + 1, microBatch);
            case RECEIVE_ACTIVATION -> Action.sendActivation(action.stage() - 1, microBatch);
            case SEND_GRADIENT -> Action.receiveGradient(action.stage() - 1, microBatch);
            case RECEIVE_GRADIENT -> Action.sendGradient(action.stage() + 1, microBatch);
            default -> throw new IllegalArgumentException(action + " is not a send or a receive");
        };
    }
}
