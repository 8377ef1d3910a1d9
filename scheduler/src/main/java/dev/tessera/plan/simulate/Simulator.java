package dev.tessera.plan.simulate;

import dev.tessera.plan.schedule.Action;
import dev.tessera.plan.schedule.ActivationProfile;
import dev.tessera.plan.schedule.InvalidScheduleException;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.ScheduleExecution;
import dev.tessera.plan.schedule.ScheduleExecution.TimedAction;
import dev.tessera.plan.schedule.ScheduleValidator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Discrete-event simulation of one training step of a schedule on modeled devices: each device runs
 * its list in order, each action starting when the device is free and its inputs have arrived (a
 * transfer across a stage boundary between devices costs {@link CostModel#transfer}; where the schedule
 * lists sends and receives the transfer runs from the send to the receive, otherwise from the producer
 * to the consumer). See {@link SimulationReport} for what it measures.
 */
public final class Simulator {
    private Simulator() {
    }

    /**
     * Simulates {@code schedule}; throws {@link InvalidScheduleException} when it is not valid (see
     * {@link ScheduleValidator}) and IllegalArgumentException when the cost model has another number
     * of stages.
     */
    public static SimulationReport simulate(PipelineSchedule schedule, CostModel costs) {
        if (costs.stages() != schedule.stages()) {
            throw new IllegalArgumentException("the schedule has " + schedule.stages() + " stages but the cost model "
                    + costs.stages() + "; give costs for every stage (V and interleaved schedules have several per device)");
        }
        ScheduleValidator.requireValid(schedule);
        ScheduleExecution.Result result = ScheduleExecution.run(schedule, new ScheduleExecution.Timing() {
            @Override
            public double duration(int device, Action action) {
                return costs.duration(action);
            }

            @Override
            public double transfer(Action producer, int fromDevice, Action consumer, int toDevice) {
                return costs.transfer(Math.min(producer.stage(), consumer.stage()));
            }
        });
        if (!result.completed()) {
            throw new InvalidScheduleException(List.of(result.describeDeadlock()));
        }
        int devices = schedule.devices();
        double[] busy = new double[devices];
        double[] firstStart = new double[devices];
        double[] lastEnd = new double[devices];
        Arrays.fill(firstStart, Double.POSITIVE_INFINITY);
        double stepTime = 0;
        for (TimedAction entry : result.timeline()) {
            int device = entry.device();
            busy[device] += entry.end() - entry.start();
            firstStart[device] = Math.min(firstStart[device], entry.start());
            lastEnd[device] = Math.max(lastEnd[device], entry.end());
            stepTime = Math.max(stepTime, entry.end());
        }
        List<SimulationReport.DeviceReport> reports = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            double first = firstStart[device] == Double.POSITIVE_INFINITY ? 0 : firstStart[device];
            reports.add(new SimulationReport.DeviceReport(device, busy[device], stepTime - busy[device], first,
                    lastEnd[device], lastEnd[device] - first - busy[device],
                    ActivationProfile.peak(schedule, device).inFlight(), peakMemory(schedule, device, costs)));
        }
        return new SimulationReport(stepTime, reports, result.timeline());
    }

    /**
     * Memory follows the device's own order, so no timing is needed: F allocates both parts, B frees one
     * and allocates the output gradients, W frees the rest.
     */
    private static double peakMemory(PipelineSchedule schedule, int device, CostModel costs) {
        double live = 0;
        double peak = 0;
        for (Action action : schedule.actions(device)) {
            int stage = action.stage();
            double activation = costs.activationMemory().get(stage);
            double weightInputs = costs.weightInputMemory().get(stage);
            double gradients = costs.gradientMemory().get(stage);
            switch (action.kind()) {
                case FORWARD -> {
                    live += activation + weightInputs;
                    peak = Math.max(peak, live);
                }
                case BACKWARD_INPUT -> {
                    live += gradients - activation;
                    peak = Math.max(peak, live);
                }
                case BACKWARD_WEIGHT -> live -= weightInputs + gradients;
                case FULL_BACKWARD -> live -= activation + weightInputs;
                default -> {
                }
            }
        }
        return peak;
    }
}
