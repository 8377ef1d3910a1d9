package dev.tessera.runtime.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.graph.Phase;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Action orders follow the rule of {@link ActionOrder}; every breach is named with what to change. */
class ActionOrderValidationTest {
    private final PlanBuilder builder = new PlanBuilder();
    private final int cpu0 = builder.device("cpu:0");
    private final int cpu1 = builder.device("cpu:1");
    private final int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(2).add();
    private final int relu = builder.actor("relu", "Relu", cpu0).phase(Phase.FORWARD).input(data, 0).output(1).add();
    private final int moved = builder.actor("relu->cpu:1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(relu, 0)
            .output(1).add();
    private final int loss = builder.actor("loss", "Loss", cpu1).kind(ActorKind.SINK).input(moved, 0).add();

    @Test
    void shouldKeepAValidOrderAndLeaveOtherDevicesUnordered() {
        List<OrderedAction> order = List.of(action(data, 0), action(data, 1), action(relu, 0), action(relu, 1));
        Plan plan = builder.order(cpu0, order).build();

        assertEquals(order, plan.order(cpu0).orElseThrow().actions());
        assertEquals(2, plan.order(cpu0).orElseThrow().microBatches());
        assertEquals(List.of(), plan.order(cpu1).map(ActionOrder::actions).orElse(List.of()));
        assertEquals(1, plan.orders().size());
    }

    @Test
    void shouldRejectAnActorOfAnotherDevice() {
        builder.order(cpu0, List.of(action(data, 0), action(relu, 0), action(loss, 0)));

        assertEquals(List.of("action 2 of the order of cpu:0 lists 'loss', which runs on another device; an order "
                + "lists only actors of its own device"), problems());
    }

    @Test
    void shouldRejectAnActionListedTwice() {
        builder.order(cpu0, List.of(action(data, 0), action(relu, 0), action(relu, 0)));

        assertEquals(List.of("action 2 of the order of cpu:0 lists 'relu' for micro-batch 0 a second time; list each "
                + "action once per iteration"), problems().subList(0, 1));
    }

    @Test
    void shouldRejectAnActorMissingAMicroBatch() {
        builder.order(cpu0, List.of(action(data, 0), action(data, 1), action(relu, 1)));

        assertEquals(List.of("the action order of cpu:0 lists 'relu' for micro-batches [1] but every actor of an "
                + "ordered device acts once for each of the 2 micro-batches 0 to 1; list the missing ones "
                + "(update ops and sinks too)"), problems());
    }

    @Test
    void shouldRejectAnActorLeftOutOfItsDevicesOrder() {
        builder.order(cpu1, List.of(action(loss, 0)));

        assertEquals(List.of("the action order of cpu:1 lists 'relu->cpu:1' for micro-batches [] but every actor of "
                + "an ordered device acts once for each of the 1 micro-batches 0 to 0; list the missing ones "
                + "(update ops and sinks too)"), problems());
    }

    @Test
    void shouldRejectMicroBatchesOfOneActorOutOfOrder() {
        builder.order(cpu0, List.of(action(data, 0), action(data, 1), action(relu, 1), action(relu, 0)));

        assertEquals(List.of("action 3 of the order of cpu:0 lists 'relu' for micro-batch 0 after micro-batch 1; an "
                + "actor acts for its micro-batches in increasing order"), problems());
    }

    @Test
    void shouldRejectOrdersOfDifferentMicroBatchCountsAndTwoOrdersForOneDevice() {
        builder.order(cpu0, List.of(action(data, 0), action(relu, 0)));
        builder.order(cpu1, List.of(action(moved, 0), action(moved, 1), action(loss, 0), action(loss, 1)));
        builder.order(cpu1, List.of(action(moved, 0), action(loss, 0)));

        assertEquals(List.of("the action order of cpu:1 lists 2 micro-batches but that of cpu:0 lists 1; every order "
                        + "lists the run's micro-batches",
                "device cpu:1 has two action orders; give each device at most one"), problems());
    }

    @Test
    void shouldRejectAnEmptyOrder() {
        builder.order(cpu1, List.of());

        assertEquals(List.of("the action order of cpu:1 is empty; list every action of its actors, or give the device "
                + "no order to run its actors as their data arrives"), problems());
    }

    private List<String> problems() {
        return assertThrows(InvalidPlanException.class, builder::build).problems();
    }

    private static OrderedAction action(int actor, int microBatch) {
        return new OrderedAction(actor, microBatch);
    }
}
