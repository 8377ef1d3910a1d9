package dev.tessera.deploy.simulate;

import dev.tessera.deploy.InputException;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.auto.AutoScheduler;
import dev.tessera.plan.simulate.SimulationReport;
import dev.tessera.plan.simulate.Simulator;
import java.util.ArrayList;
import java.util.List;

/**
 * Simulates the schedule families and auto on one set of stage times: what {@code tessera simulate}
 * prints. One stage per device; {@code chunks} is interleaved 1F1B's number of chunks per device.
 *
 * @param memoryLimit auto's limit on the activations a device holds, in micro-batches of one stage
 */
public record PipelineSimulation(StageTimes times, int microBatches, int chunks, int memoryLimit) {

    /**
     * One simulated schedule, or why its family cannot run these sizes ({@code problem}, with
     * {@code schedule} and {@code report} null).
     *
     * @param origin for auto, the candidate it chose; else null
     */
    public record Outcome(String name, PipelineSchedule schedule, SimulationReport report, String origin,
            String problem) {
        public boolean simulated() {
            return report != null;
        }

        /** The largest peak memory of a device, in micro-batches of one device's whole activations. */
        public double peakMemory() {
            return report.devices().stream().mapToDouble(SimulationReport.DeviceReport::peakMemory).max().orElse(0);
        }
    }

    public PipelineSimulation {
        if (microBatches < 1) {
            throw new InputException("--micro-batches: " + microBatches + " micro-batches cannot fill a step; give at least 1");
        }
        if (chunks < 1) {
            throw new InputException("--chunks: " + chunks + " chunks per device; give at least 1");
        }
        if (memoryLimit < 1) {
            throw new InputException("--memory-limit: " + memoryLimit + " activations per device leave no room for a "
                    + "forward; give at least 1 (1F1B needs as many as there are stages)");
        }
    }

    public int stages() {
        return times.stages();
    }

    /** Every family, then auto; a family that cannot take these sizes is an outcome with its problem. */
    public List<Outcome> compare() {
        List<Outcome> outcomes = new ArrayList<>();
        for (ScheduleFamily family : ScheduleFamily.values()) {
            try {
                outcomes.add(family(family));
            } catch (IllegalArgumentException e) {
                outcomes.add(new Outcome(family.label(), null, null, null, e.getMessage()));
            }
        }
        try {
            outcomes.add(auto());
        } catch (IllegalArgumentException e) {
            outcomes.add(new Outcome(ScheduleFamily.AUTO, null, null, null, e.getMessage()));
        }
        return outcomes;
    }

    /**
     * The schedule called {@code name} (a family or auto), simulated.
     *
     * @throws InputException when there is no such schedule or it cannot take these sizes, saying what to change
     */
    public Outcome one(String name) {
        ScheduleFamily family = ScheduleFamily.byName(name);
        try {
            return family == null ? auto() : family(family);
        } catch (IllegalArgumentException e) {
            throw new InputException("--schedule " + name + ": " + e.getMessage());
        }
    }

    private Outcome family(ScheduleFamily family) {
        PipelineSchedule schedule = family.build(stages(), microBatches, chunks);
        SimulationReport report = Simulator.simulate(schedule, times.costModel(schedule));
        return new Outcome(family.label(), schedule, report, null, null);
    }

    private Outcome auto() {
        PipelineSchedule oneStagePerDevice = ScheduleFamily.GPIPE.build(stages(), microBatches, 1);
        AutoScheduler.Choice choice;
        try {
            choice = AutoScheduler.schedule(microBatches, times.costModel(oneStagePerDevice), memoryLimit);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + "; raise --memory-limit", e);
        }
        return new Outcome(ScheduleFamily.AUTO, choice.schedule(), choice.report(), choice.origin(), null);
    }
}
