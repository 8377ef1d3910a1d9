package dev.tessera.plan.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pipeline schedule as data: the devices, which device holds each stage, the number of
 * micro-batches, and per device the ordered list of actions it runs in one training step.
 *
 * <p>Stages are numbered in forward order 0..S-1; a device may hold several (chunks): interleaved
 * 1F1B puts stage s on device s mod p, V schedules put chunk 0 on devices 0..p-1 and chunk 1 back on
 * p-1..0 (see {@link #loopedPlacement} and {@link #vPlacement}). A stage's chunk is its position among
 * its device's stages in increasing order.
 *
 * <p>Text form ({@link #toText()}, {@link #parse}): one line per device, {@code device 0: 0F0 0F1 0B0 ...},
 * actions in the form of {@link Action}. {@code parse} infers the stage-to-device map from the actions
 * and the micro-batch count from the largest micro-batch named, so a schedule prints and parses back to
 * an equal one. This class checks only structure (stages exist and live on the device that runs their
 * actions); {@link ScheduleValidator} checks that a schedule can run.
 */
public record PipelineSchedule(List<Integer> deviceOfStage, int microBatches, List<List<Action>> actionsPerDevice) {
    private static final Pattern DEVICE_PREFIX = Pattern.compile("\\s*device\\s+(\\d+)\\s*:(.*)");

    public PipelineSchedule {
        deviceOfStage = List.copyOf(deviceOfStage);
        List<List<Action>> copy = new ArrayList<>();
        for (List<Action> actions : actionsPerDevice) {
            copy.add(List.copyOf(actions));
        }
        actionsPerDevice = List.copyOf(copy);
        if (actionsPerDevice.isEmpty()) {
            throw new IllegalArgumentException("a pipeline schedule needs at least one device");
        }
        if (deviceOfStage.isEmpty()) {
            throw new IllegalArgumentException("a pipeline schedule needs at least one stage");
        }
        if (microBatches < 1) {
            throw new IllegalArgumentException("a pipeline schedule needs at least one micro-batch, not " + microBatches);
        }
        for (int stage = 0; stage < deviceOfStage.size(); stage++) {
            int device = deviceOfStage.get(stage);
            if (device < 0 || device >= actionsPerDevice.size()) {
                throw new IllegalArgumentException("stage " + stage + " is placed on device " + device + " but the "
                        + "schedule has devices 0.." + (actionsPerDevice.size() - 1));
            }
        }
        for (int device = 0; device < actionsPerDevice.size(); device++) {
            for (Action action : actionsPerDevice.get(device)) {
                if (action.stage() >= deviceOfStage.size()) {
                    throw new IllegalArgumentException("device " + device + " runs " + action + " but the schedule has "
                            + "stages 0.." + (deviceOfStage.size() - 1));
                }
                if (deviceOfStage.get(action.stage()) != device) {
                    throw new IllegalArgumentException("device " + device + " runs " + action + " but stage "
                            + action.stage() + " is on device " + deviceOfStage.get(action.stage())
                            + "; move the action to that device");
                }
                if (action.microBatch() >= microBatches) {
                    throw new IllegalArgumentException("device " + device + " runs " + action + " but the schedule has "
                            + "micro-batches 0.." + (microBatches - 1));
                }
            }
        }
    }

    /** Stage s on device s mod p, for p devices and {@code chunks} stages per device (interleaved 1F1B). */
    public static List<Integer> loopedPlacement(int devices, int chunks) {
        List<Integer> placement = new ArrayList<>();
        for (int stage = 0; stage < devices * chunks; stage++) {
            placement.add(stage % devices);
        }
        return placement;
    }

    /** Two stages per device in a V: stage s on device s for s < p, on device 2p-1-s after (ZB-V). */
    public static List<Integer> vPlacement(int devices) {
        List<Integer> placement = new ArrayList<>();
        for (int stage = 0; stage < 2 * devices; stage++) {
            placement.add(stage < devices ? stage : 2 * devices - 1 - stage);
        }
        return placement;
    }

    public int devices() {
        return actionsPerDevice.size();
    }

    public int stages() {
        return deviceOfStage.size();
    }

    public int deviceOf(int stage) {
        return deviceOfStage.get(stage);
    }

    /** The stages of {@code device} in increasing order; index i is chunk i. */
    public List<Integer> stagesOf(int device) {
        List<Integer> stages = new ArrayList<>();
        for (int stage = 0; stage < deviceOfStage.size(); stage++) {
            if (deviceOfStage.get(stage) == device) {
                stages.add(stage);
            }
        }
        return stages;
    }

    /** The position of {@code stage} among its device's stages: 0 for the first chunk, 1 for the second, ... */
    public int chunkOf(int stage) {
        return stagesOf(deviceOf(stage)).indexOf(stage);
    }

    /** The ordered actions of {@code device}: what the plan compiler turns into the device's action order. */
    public List<Action> actions(int device) {
        return actionsPerDevice.get(device);
    }

    /** The ordered F, B, W and BW actions of {@code device}, without communication and optimizer steps. */
    public List<Action> computeActions(int device) {
        return actions(device).stream().filter(action -> action.kind().isCompute()).toList();
    }

    /** Whether the schedule lists its sends and receives; without them every cross-device edge is implicit. */
    public boolean hasCommunication() {
        return actionsPerDevice.stream().flatMap(List::stream).anyMatch(action -> action.kind().isCommunication());
    }

    /**
     * This schedule with explicit communication: a receive right before each F or B whose input comes
     * from another device and a send right after each F or B whose output goes to another device. A
     * schedule that already lists communication is returned as it is.
     */
    public PipelineSchedule withCommunication() {
        if (hasCommunication()) {
            return this;
        }
        List<List<Action>> result = new ArrayList<>();
        int last = stages() - 1;
        for (int device = 0; device < devices(); device++) {
            List<Action> actions = new ArrayList<>();
            for (Action action : actions(device)) {
                int stage = action.stage();
                int microBatch = action.microBatch();
                boolean previousElsewhere = stage > 0 && deviceOf(stage - 1) != device;
                boolean nextElsewhere = stage < last && deviceOf(stage + 1) != device;
                if (action.kind() == ActionKind.FORWARD) {
                    if (previousElsewhere) {
                        actions.add(Action.receiveActivation(stage, microBatch));
                    }
                    actions.add(action);
                    if (nextElsewhere) {
                        actions.add(Action.sendActivation(stage, microBatch));
                    }
                } else if (action.kind().producesInputGradient()) {
                    if (nextElsewhere) {
                        actions.add(Action.receiveGradient(stage, microBatch));
                    }
                    actions.add(action);
                    if (previousElsewhere) {
                        actions.add(Action.sendGradient(stage, microBatch));
                    }
                } else {
                    actions.add(action);
                }
            }
            result.add(actions);
        }
        return new PipelineSchedule(deviceOfStage, microBatches, result);
    }

    /** This schedule with each device ending in the optimizer step of each of its stages, if it has none yet. */
    public PipelineSchedule withOptimizerSteps() {
        boolean hasSteps = actionsPerDevice.stream().flatMap(List::stream)
                .anyMatch(action -> action.kind() == ActionKind.OPTIMIZER_STEP);
        if (hasSteps) {
            return this;
        }
        List<List<Action>> result = new ArrayList<>();
        for (int device = 0; device < devices(); device++) {
            List<Action> actions = new ArrayList<>(actions(device));
            for (int stage : stagesOf(device)) {
                actions.add(Action.optimizerStep(stage));
            }
            result.add(actions);
        }
        return new PipelineSchedule(deviceOfStage, microBatches, result);
    }

    /** One line per device: {@code device 0: 0F0 0F1 0B0 0W0}. */
    public String toText() {
        StringBuilder text = new StringBuilder();
        for (int device = 0; device < devices(); device++) {
            text.append("device ").append(device).append(':');
            for (Action action : actions(device)) {
                text.append(' ').append(action);
            }
            text.append('\n');
        }
        return text.toString();
    }

    /**
     * Reads the text form: one line per device, in device order, each optionally prefixed
     * {@code device N:}; blank lines and lines starting with {@code #} are skipped. Throws
     * IllegalArgumentException naming the line and what is wrong.
     */
    public static PipelineSchedule parse(String text) {
        List<List<Action>> perDevice = new ArrayList<>();
        TreeMap<Integer, Integer> deviceOfStage = new TreeMap<>();
        int maxMicroBatch = -1;
        String[] lines = text.split("\\R");
        for (int lineNumber = 1; lineNumber <= lines.length; lineNumber++) {
            String line = lines[lineNumber - 1];
            if (line.isBlank() || line.strip().startsWith("#")) {
                continue;
            }
            int device = perDevice.size();
            Matcher prefix = DEVICE_PREFIX.matcher(line);
            if (prefix.matches()) {
                if (Integer.parseInt(prefix.group(1)) != device) {
                    throw new IllegalArgumentException("line " + lineNumber + " is for device " + prefix.group(1)
                            + " but is the schedule's line for device " + device + "; list devices 0, 1, ... in order");
                }
                line = prefix.group(2);
            }
            List<Action> actions = new ArrayList<>();
            for (String token : line.strip().split("\\s+")) {
                if (token.isEmpty()) {
                    continue;
                }
                Action action;
                try {
                    action = Action.parse(token);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("line " + lineNumber + " (device " + device + "): " + e.getMessage(), e);
                }
                Integer earlier = deviceOfStage.putIfAbsent(action.stage(), device);
                if (earlier != null && earlier != device) {
                    throw new IllegalArgumentException("line " + lineNumber + ": device " + device + " runs " + action
                            + " but device " + earlier + " also runs actions of stage " + action.stage()
                            + "; a stage lives on one device");
                }
                maxMicroBatch = Math.max(maxMicroBatch, action.microBatch());
                actions.add(action);
            }
            perDevice.add(actions);
        }
        if (deviceOfStage.isEmpty() || maxMicroBatch < 0) {
            throw new IllegalArgumentException("the schedule text names no forward or backward action");
        }
        Integer[] placement = new Integer[deviceOfStage.lastKey() + 1];
        for (int stage = 0; stage < placement.length; stage++) {
            placement[stage] = deviceOfStage.get(stage);
            if (placement[stage] == null) {
                throw new IllegalArgumentException("stage " + stage + " appears on no device, but stage "
                        + deviceOfStage.lastKey() + " does; number the stages from 0 without gaps");
            }
        }
        return new PipelineSchedule(Arrays.asList(placement), maxMicroBatch + 1, perDevice);
    }
}
