package dev.tessera.plan.schedule;

import java.util.ArrayList;
import java.util.List;

/**
 * The fixed schedule families. Each takes the number of devices p and of micro-batches m (and the
 * chunks per device where it has them) and returns the per-device action lists; every family accepts
 * any m >= 1, including m < p and m not divisible by p, except interleaved 1F1B (see there).
 *
 * <p>Several families are written in one form: device i, at step x = 0, 1, ..., runs F of micro-batch
 * x, then the backward of micro-batch x - bLag(i), then the W of micro-batch x - wLag(i), skipping
 * those outside 0..m-1. The lags say how far each device lets its backward and its W trail its
 * forward; they are given at each family.
 */
public final class Schedules {
    private static final int FUSED = -1;

    private Schedules() {
    }

    /** GPipe: every device runs all its forwards, then all its fused backwards, micro-batch 0 first. */
    public static PipelineSchedule gpipe(int devices, int microBatches) {
        requireBasics("GPipe", devices, microBatches);
        List<List<Action>> perDevice = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            List<Action> actions = new ArrayList<>();
            for (int m = 0; m < microBatches; m++) {
                actions.add(Action.forward(device, m));
            }
            for (int m = 0; m < microBatches; m++) {
                actions.add(Action.fullBackward(device, m));
            }
            perDevice.add(actions);
        }
        return new PipelineSchedule(PipelineSchedule.loopedPlacement(devices, 1), microBatches, perDevice);
    }

    /** 1F1B (PipeDream-flush): device i warms up with p-1-i forwards, then alternates F and BW; bLag = p-1-i, fused. */
    public static PipelineSchedule oneFOneB(int devices, int microBatches) {
        requireBasics("1F1B", devices, microBatches);
        return lagged(devices, microBatches, device -> devices - 1 - device, device -> FUSED);
    }

    /**
     * 1F1B with 2BP (backward split into B and W, W deferred): the order of 1F1B with each BW split, and
     * each W run after the next B of its device (bLag = p-1-i, wLag = p-i), so no B waits for the W of
     * the micro-batch before it; the last W runs at the end. Holds one micro-batch more than 1F1B.
     */
    public static PipelineSchedule oneFOneBTwoBp(int devices, int microBatches) {
        requireBasics("1F1B-2BP", devices, microBatches);
        return lagged(devices, microBatches, device -> devices - 1 - device, device -> devices - device);
    }

    /**
     * 1F1B with 2BP, all W at the end: the order of 1F1B with B in place of BW, and every W after the
     * device's last B, micro-batch 0 first (2BP's variant that runs the remaining weight gradients
     * together). Holds the inputs of every W until the end: m micro-batches per device.
     */
    public static PipelineSchedule oneFOneBTwoBpWeightsAtEnd(int devices, int microBatches) {
        requireBasics("1F1B-2BP (W at end)", devices, microBatches);
        PipelineSchedule split = lagged(devices, microBatches, device -> devices - 1 - device,
                device -> devices - 1 - device);
        List<List<Action>> perDevice = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            List<Action> actions = new ArrayList<>();
            for (Action action : split.actions(device)) {
                if (action.kind() != ActionKind.BACKWARD_WEIGHT) {
                    actions.add(action);
                }
            }
            for (int m = 0; m < microBatches; m++) {
                actions.add(Action.backwardWeight(device, m));
            }
            perDevice.add(actions);
        }
        return new PipelineSchedule(split.deviceOfStage(), microBatches, perDevice);
    }

    /**
     * ZB-H1 (Qi et al., Zero Bubble Pipeline Parallelism): 1F1B's forwards and B, with W of device i
     * trailing its B by i micro-batches (bLag = p-1-i, wLag = p-1), so the B of the cool-down run back to
     * back and the W fill the gaps. Same peak activations as 1F1B: p on device 0.
     */
    public static PipelineSchedule zbH1(int devices, int microBatches) {
        requireBasics("ZB-H1", devices, microBatches);
        return lagged(devices, microBatches, device -> devices - 1 - device, device -> devices - 1);
    }

    /**
     * ZB-H2: twice 1F1B's warm-up, bLag = 2(p-1-i), wLag = 2(p-1): device i runs 2(p-1-i)+1 forwards
     * before its first B, which fills the warm-up bubble, and W trail far enough to fill the cool-down;
     * the layout is a parallelogram. Peak activations 2p-1 on device 0.
     */
    public static PipelineSchedule zbH2(int devices, int microBatches) {
        requireBasics("ZB-H2", devices, microBatches);
        return lagged(devices, microBatches, device -> 2 * (devices - 1 - device), device -> 2 * (devices - 1));
    }

    /**
     * Interleaved 1F1B (Narayanan et al., Megatron-LM): {@code chunks} stages per device, stage s on
     * device s mod p. Forwards go in rounds of g micro-batches through chunk 0, then chunk 1, ...; the
     * backwards in the same rounds from the last chunk back. Device i warms up with (v-1)g + 2(p-1-i)
     * forwards, then alternates F and BW. The rounds: max(1, m / p) of them, g = m / rounds micro-batches
     * each, so m must divide into equal rounds (any m <= p does; for m > p, e.g. 8 or 10 with 4 devices
     * but not 9).
     */
    public static PipelineSchedule interleavedOneFOneB(int devices, int microBatches, int chunks) {
        requireBasics("interleaved 1F1B", devices, microBatches);
        if (chunks < 1) {
            throw new IllegalArgumentException("interleaved 1F1B needs at least 1 chunk per device, not " + chunks);
        }
        int rounds = Math.max(1, microBatches / devices);
        if (microBatches % rounds != 0) {
            throw new IllegalArgumentException("interleaved 1F1B with " + devices + " devices runs micro-batches in "
                    + rounds + " equal rounds of at least " + devices + ", which " + microBatches + " micro-batches "
                    + "cannot fill; use " + (microBatches - microBatches % rounds) + " or "
                    + nextDivisible(microBatches, devices) + " micro-batches, or another schedule");
        }
        int perRound = microBatches / rounds;
        int total = microBatches * chunks;
        List<List<Action>> perDevice = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            int warmup = Math.min((chunks - 1) * perRound + 2 * (devices - 1 - device), total);
            List<Action> actions = new ArrayList<>();
            for (int k = 0; k < warmup; k++) {
                actions.add(Action.forward(interleavedStage(k, perRound, chunks, devices, device, false),
                        interleavedMicroBatch(k, perRound, chunks)));
            }
            for (int k = 0; k < total; k++) {
                if (warmup + k < total) {
                    int forward = warmup + k;
                    actions.add(Action.forward(interleavedStage(forward, perRound, chunks, devices, device, false),
                            interleavedMicroBatch(forward, perRound, chunks)));
                }
                actions.add(Action.fullBackward(interleavedStage(k, perRound, chunks, devices, device, true),
                        interleavedMicroBatch(k, perRound, chunks)));
            }
            perDevice.add(actions);
        }
        return new PipelineSchedule(PipelineSchedule.loopedPlacement(devices, chunks), microBatches, perDevice);
    }

    /**
     * ZB-V: two stages per device in a V (chunk 0 on devices 0..p-1, chunk 1 back from p-1 to 0), split
     * backward, the handcrafted order of the zero-bubble paper (section 6) for T_F = T_B = T_W: device i
     * runs 2(p-i)-1 chunk-0 forwards, then i pairs (chunk-1 F, chunk-0 F), then p-i triples (chunk-1 F,
     * B, W), then the steady state (chunk-0 F, B, W, chunk-1 F, B, W), then i pairs of B (chunk 0, then
     * chunk 1) and p-i pairs (chunk-0 B, oldest chunk-0 W), then the remaining W of chunk 1 and chunk 0.
     * The order is laid out for max(m, 2p-1) micro-batches and those of m and above are dropped.
     */
    public static PipelineSchedule zbV(int devices, int microBatches) {
        requireBasics("ZB-V", devices, microBatches);
        int laidOut = Math.max(microBatches, 2 * devices - 1);
        List<List<Action>> perDevice = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            VDevice v = new VDevice(device, 2 * devices - 1 - device);
            for (int i = 0; i < 2 * (devices - device) - 1; i++) {
                v.forward(0);
            }
            for (int i = 0; i < device; i++) {
                v.forward(1);
                v.forward(0);
            }
            for (int i = 0; i < devices - device; i++) {
                v.forward(1);
                v.backwardAndWeight(1);
            }
            while (v.forwards[1] < v.forwards[0] || v.forwards[0] < laidOut) {
                if (v.forwards[0] < laidOut) {
                    v.forward(0);
                }
                v.backwardAndWeight(0);
                v.forward(1);
                v.backwardAndWeight(1);
            }
            for (int i = 0; i < device; i++) {
                v.backward(0);
                v.backward(1);
            }
            for (int i = 0; i < devices - device; i++) {
                v.backward(0);
                v.weight(0);
            }
            while (v.weights[1] < v.backwards[1]) {
                v.weight(1);
            }
            while (v.weights[0] < v.backwards[0]) {
                v.weight(0);
            }
            perDevice.add(v.actions.stream().filter(action -> action.microBatch() < microBatches).toList());
        }
        return new PipelineSchedule(PipelineSchedule.vPlacement(devices), microBatches, perDevice);
    }

    /** The per-chunk counters of one device while ZB-V's order is laid out. */
    private static final class VDevice {
        final int[] stage;
        final int[] forwards = new int[2];
        final int[] backwards = new int[2];
        final int[] weights = new int[2];
        final List<Action> actions = new ArrayList<>();

        VDevice(int chunk0, int chunk1) {
            stage = new int[] {chunk0, chunk1};
        }

        void forward(int chunk) {
            actions.add(Action.forward(stage[chunk], forwards[chunk]++));
        }

        void backward(int chunk) {
            actions.add(Action.backwardInput(stage[chunk], backwards[chunk]++));
        }

        void weight(int chunk) {
            actions.add(Action.backwardWeight(stage[chunk], weights[chunk]++));
        }

        /** B and its W right after, as the steady state runs them (W is caught up first if it trails). */
        void backwardAndWeight(int chunk) {
            backward(chunk);
            weight(chunk);
        }
    }

    private interface Lag {
        int of(int device);
    }

    /** The step form of the class comment; {@code weightLag} {@link #FUSED} runs BW instead of B and W. */
    private static PipelineSchedule lagged(int devices, int microBatches, Lag backwardLag, Lag weightLag) {
        List<List<Action>> perDevice = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            int bLag = backwardLag.of(device);
            int wLag = weightLag.of(device);
            boolean fused = wLag == FUSED;
            int lastStep = microBatches - 1 + Math.max(bLag, fused ? 0 : wLag);
            List<Action> actions = new ArrayList<>();
            for (int x = 0; x <= lastStep; x++) {
                if (x < microBatches) {
                    actions.add(Action.forward(device, x));
                }
                int b = x - bLag;
                if (b >= 0 && b < microBatches) {
                    actions.add(fused ? Action.fullBackward(device, b) : Action.backwardInput(device, b));
                }
                int w = x - wLag;
                if (!fused && w >= 0 && w < microBatches) {
                    actions.add(Action.backwardWeight(device, w));
                }
            }
            perDevice.add(actions);
        }
        return new PipelineSchedule(PipelineSchedule.loopedPlacement(devices, 1), microBatches, perDevice);
    }

    private static int interleavedStage(int op, int perRound, int chunks, int devices, int device, boolean backward) {
        int chunk = (op / perRound) % chunks;
        return (backward ? chunks - 1 - chunk : chunk) * devices + device;
    }

    private static int interleavedMicroBatch(int op, int perRound, int chunks) {
        return (op / (perRound * chunks)) * perRound + op % perRound;
    }

    private static int nextDivisible(int microBatches, int devices) {
        int candidate = microBatches + 1;
        while (candidate % Math.max(1, candidate / devices) != 0) {
            candidate++;
        }
        return candidate;
    }

    private static void requireBasics(String family, int devices, int microBatches) {
        if (devices < 1) {
            throw new IllegalArgumentException(family + " needs at least 1 device, not " + devices);
        }
        if (microBatches < 1) {
            throw new IllegalArgumentException(family + " needs at least 1 micro-batch, not " + microBatches);
        }
    }
}
