package dev.tessera.runtime.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.Phase;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlanValidatorTest {

    @Test
    void shouldBuildAValidPlanWithConsumersAndControlSuccessors() {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(2).add();
        int relu = builder.actor("relu", "Relu", cpu0).phase(Phase.FORWARD).input(data, 0).output(1).add();
        int copy = builder.actor("copy", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(relu, 0).output(1).add();
        int loss = builder.actor("loss", "Loss", cpu1).kind(ActorKind.SINK).input(copy, 0).add();
        int after = builder.actor("tail", "Noop", cpu0).input(data, 0).after(relu).add();

        Plan plan = builder.build();

        assertEquals(List.of(new ConsumerRef(relu, 0), new ConsumerRef(after, 0)), plan.consumers(data, 0));
        assertEquals(List.of(new ConsumerRef(loss, 0)), plan.consumers(copy, 0));
        assertEquals(List.of(after), plan.controlSuccessors(relu));
        assertEquals("F", plan.actor(relu).phaseLetter());
        assertEquals("", plan.actor(data).phaseLetter());
        assertEquals(3, plan.actorCount(cpu0));
    }

    @Test
    void shouldRejectAnInputFromAnUnknownProducer() {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        builder.actor("relu", "Relu", cpu).input(7, 0).output(1).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertEquals(List.of("actor 'relu' (Relu) input 0 reads unknown producer 7 (the plan has 1 actors)"),
                error.problems());
    }

    @Test
    void shouldRejectAnInputFromAMissingOutput() {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("relu", "Relu", cpu).input(data, 1).output(1).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertEquals(List.of("actor 'relu' (Relu) input 0 reads output 1 of 'data', which has 1 outputs"),
                error.problems());
    }

    @Test
    void shouldRejectAQuotaBelowOne() {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(0).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertEquals(List.of("actor 'data' (Source) output 0 has register quota 0; a quota must be at least 1"),
                error.problems());
    }

    @Test
    void shouldRejectAControlEdgeAcrossDevices() {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int first = builder.actor("first", "Source", cpu0).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("second", "Source", cpu1).kind(ActorKind.SOURCE).output(1).after(first).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertEquals(1, error.problems().size());
        assertTrue(error.problems().get(0).startsWith(
                "control edge from 'first' on cpu:0 to 'second' on cpu:1 crosses devices"), error.getMessage());
    }

    @Test
    void shouldRejectATensorCrossingDevicesWithoutTransfer() {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("loss", "Loss", cpu1).kind(ActorKind.SINK).input(data, 0).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertEquals(List.of("actor 'loss' (Loss) on cpu:1 input 0 reads 'data' on cpu:0; a tensor crosses "
                + "devices only through a TRANSFER actor, insert one"), error.problems());
    }

    @Test
    void shouldRejectACycleNamingEveryActorOnIt() {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        builder.actor("a", "OpA", cpu).input(2, 0).output(1).add();
        builder.actor("b", "OpB", cpu).input(0, 0).output(1).add();
        builder.actor("c", "OpC", cpu).output(1).after(1).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertEquals(1, error.problems().size());
        String problem = error.problems().get(0);
        assertTrue(problem.startsWith("data and control edges form a cycle: "), problem);
        assertTrue(problem.contains("a before b before c before a") || problem.contains("b before c before a before b")
                || problem.contains("c before a before b before c"), problem);
    }

    @Test
    void shouldAcceptAnIterationEdgeClosingALoopOverDataEdges() {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int parameter = builder.actor("w", "Parameter", cpu).output(1).afterPreviousIteration(2).add();
        int forward = builder.actor("fc", "MatMul", cpu).input(parameter, 0).output(1).add();
        builder.actor("update", "Sgd", cpu).kind(ActorKind.SINK).input(forward, 0).add();

        Plan plan = builder.build();

        assertEquals(List.of(parameter), plan.controlSuccessors(2));
    }

    @Test
    void shouldRejectAnIterationEdgeAcrossDevices() {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int update = builder.actor("update", "Source", cpu1).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("w", "Parameter", cpu0).output(1).afterPreviousIteration(update).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertTrue(error.getMessage().contains("control edge from 'update' on cpu:1 to 'w' on cpu:0 crosses devices"),
                error.getMessage());
    }

    @Test
    void shouldRejectKindsWithTheWrongEdges() {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("bad-source", "Source", cpu).kind(ActorKind.SOURCE).input(data, 0).output(1).add();
        builder.actor("bad-sink", "Loss", cpu).kind(ActorKind.SINK).input(data, 0).output(1).add();
        builder.actor("bad-transfer", "Transfer", cpu).kind(ActorKind.TRANSFER).input(data, 0).output(1).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertEquals(List.of(
                "actor 'bad-source' (Source) is a SOURCE so it needs no inputs and at least one output; it has 1 inputs and 1 outputs",
                "actor 'bad-sink' (Loss) is a SINK so it needs at least one input and no outputs; it has 1 inputs and 1 outputs",
                "actor 'bad-transfer' (Transfer) is a TRANSFER but its producer 'data' is on the same device cpu:0; "
                        + "read the producer directly"), error.problems());
    }

    @Test
    void shouldRejectAPlanWithoutDevicesOrActors() {
        InvalidPlanException error = assertThrows(InvalidPlanException.class, () -> new PlanBuilder().build());

        assertEquals(List.of("the plan has no device; add at least one",
                "the plan has no actor; add at least one source"), error.problems());
    }

    @Test
    void shouldRejectDuplicateNamesAndUnknownDevices() {
        PlanBuilder builder = new PlanBuilder();
        builder.device("cpu:0");
        builder.actor("data", "Source", 0).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("data", "Source", 3).kind(ActorKind.SOURCE).output(1).add();

        InvalidPlanException error = assertThrows(InvalidPlanException.class, builder::build);

        assertEquals(List.of("two actors are named 'data'; actor names must be unique",
                "actor 'data' is placed on unknown device 3 (the plan has 1 devices)"), error.problems());
    }
}
