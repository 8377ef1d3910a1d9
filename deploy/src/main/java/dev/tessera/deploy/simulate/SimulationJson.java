package dev.tessera.deploy.simulate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.simulate.PipelineSimulation.Outcome;
import dev.tessera.plan.simulate.SimulationReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code tessera simulate --json}: one object with the inputs ({@code stages}, {@code micro_batches},
 * {@code chunks}, {@code memory_limit}, {@code source}, {@code times} with per-stage lists {@code F},
 * {@code B}, {@code W}, {@code comm} (the largest transfer) and {@code comm_per_boundary}) and {@code schedules}, one entry per simulated schedule: {@code name},
 * {@code step_time}, {@code bubble_rate}, {@code peak_memory}, {@code peak_activations} (per device),
 * {@code devices} (device, busy, idle, span_idle, peak_activations, peak_memory), for auto {@code origin},
 * with {@code --schedule} {@code text} (the schedule's text form), with {@code --out} {@code files}
 * ({@code gantt}, {@code trace}, each only where it was written); or {@code name} and {@code problem} where the family cannot run these sizes.
 */
public final class SimulationJson {
    private SimulationJson() {
    }

    /**
     * @param files per schedule name, the files written for it by kind ("gantt", "trace"); absent: none
     * @param withText whether each entry carries the schedule's text form
     */
    public static String render(PipelineSimulation simulation, String source, List<Outcome> outcomes,
            Map<String, Map<String, Path>> files, boolean withText) {
        return render(simulation, source, outcomes, files, withText, Map.of());
    }

    /** As above, with {@code extra} entries (e.g. {@code two_bp_prediction}) appended to the object. */
    public static String render(PipelineSimulation simulation, String source, List<Outcome> outcomes,
            Map<String, Map<String, Path>> files, boolean withText, Map<String, Object> extra) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("stages", simulation.stages());
        root.put("micro_batches", simulation.microBatches());
        root.put("chunks", simulation.chunks());
        root.put("memory_limit", simulation.memoryLimit());
        root.put("source", source);
        Map<String, Object> times = new LinkedHashMap<>();
        times.put("F", simulation.times().forward());
        times.put("B", simulation.times().backwardInput());
        times.put("W", simulation.times().backwardWeight());
        times.put("comm", simulation.times().transfer());
        times.put("comm_per_boundary", simulation.times().boundaryTransfers());
        root.put("times", times);
        List<Object> schedules = new ArrayList<>();
        for (Outcome outcome : outcomes) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("name", outcome.name());
            if (!outcome.simulated()) {
                entry.put("problem", outcome.problem());
                schedules.add(entry);
                continue;
            }
            SimulationReport report = outcome.report();
            entry.put("step_time", report.stepTime());
            entry.put("bubble_rate", report.bubbleRate());
            entry.put("peak_memory", outcome.peakMemory());
            entry.put("peak_activations", report.devices().stream().map(SimulationReport.DeviceReport::peakActivations).toList());
            if (outcome.origin() != null) {
                entry.put("origin", outcome.origin());
            }
            List<Object> devices = new ArrayList<>();
            for (SimulationReport.DeviceReport device : report.devices()) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("device", device.device());
                d.put("busy", device.busy());
                d.put("idle", device.idle());
                d.put("span_idle", device.spanIdle());
                d.put("peak_activations", device.peakActivations());
                d.put("peak_memory", device.peakMemory());
                devices.add(d);
            }
            entry.put("devices", devices);
            if (withText) {
                entry.put("text", outcome.schedule().toText());
            }
            Map<String, Path> written = files.get(outcome.name());
            if (written != null) {
                Map<String, String> paths = new LinkedHashMap<>();
                written.forEach((kind, path) -> paths.put(kind, path.toString()));
                entry.put("files", paths);
            }
            schedules.add(entry);
        }
        root.put("schedules", schedules);
        root.putAll(extra);
        try {
            return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the simulation as JSON: " + e.getMessage(), e);
        }
    }
}
