package dev.tessera.deploy.train;

import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.deploy.InputException;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.LogicalGraph;

/**
 * A run config's model and the training graph of one micro-batch, built the one way both
 * {@code tessera train} and {@code tessera plan} use, so the plan shows the graph that trains.
 * Building touches no data: models load their data in {@code trainData}.
 */
public record TrainingSetup(Model model, LogicalGraph forward, TrainingGraph graph, Optimization optimization) {

    /** @throws InputException when the model rejects its keys or cannot be built at this batch size */
    public static TrainingSetup from(RunConfig config) {
        return from(config, DType.F32);
    }

    /**
     * The same graph with {@code dtype} as its floating-point type (f64 for numerical checks such
     * as the PyTorch oracle's).
     */
    public static TrainingSetup from(RunConfig config, DType dtype) {
        Model model;
        try {
            model = config.provider().create(config.config());
        } catch (IllegalArgumentException e) {
            throw new InputException("model " + config.modelType() + ": " + e.getMessage());
        }
        GraphBuilder builder = new GraphBuilder(dtype);
        ModelGraph modelGraph;
        try {
            modelGraph = model.build(builder, config.settings().batchSize());
        } catch (IllegalArgumentException e) {
            throw new InputException("model " + config.modelType() + " cannot be built: " + e.getMessage());
        }
        LogicalGraph forward = builder.build();
        Optimization optimization = Optimization.from(config.settings());
        TrainingGraph graph = Autodiff.build(forward, modelGraph.loss(), optimization.options());
        return new TrainingSetup(model, forward, graph, optimization);
    }
}
