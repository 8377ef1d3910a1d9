package dev.tessera.examples.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.deploy.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code tessera plan} on the shipped example configs, through the real CLI: with the batch split
 * over the data axis, the planner finds data parallelism (weights replicated, activations split by
 * rows, weight gradients all-reduced before they are accumulated). Planning reads no data, so
 * these run without the Fashion-MNIST files.
 */
@Timeout(120)
class ExamplesPlanTest {

    private static String plan(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The tensor table's line for {@code name}. */
    private static String tensor(String plan, String name) {
        return plan.lines().filter(l -> l.startsWith("  " + name + " ")).findFirst()
                .orElseThrow(() -> new AssertionError("no tensor " + name + " in\n" + plan));
    }

    private static boolean allReducedBeforeAccumulating(String plan, String parameter) {
        return plan.lines().anyMatch(l -> l.contains("(P, B) -> (B, B)") && l.contains("all-reduce on data")
                && l.contains("into " + parameter + ".accumulate"));
    }

    @Test
    void shouldPlanTheMlpDataParallelOnFourDevices() {
        String plan = plan("plan", "configs/mlp-fashion.conf", "--set", "parallel.devices=4", "--set", "parallel.data=4");

        assertTrue(plan.contains("4 device(s) as [data 4, tensor 1]"), plan);
        assertTrue(tensor(plan, "x").contains("(S(0), B)*") && tensor(plan, "x").contains("[32, 784]"), plan);
        for (String weight : List.of("fc1.weight", "fc2.weight", "out.weight")) {
            assertTrue(tensor(plan, weight).contains("(B, B)"), weight + " replicated:\n" + plan);
            assertTrue(allReducedBeforeAccumulating(plan, weight), weight + " gradient all-reduced:\n" + plan);
        }
        for (String activation : List.of("fc1.matmul", "relu", "fc2.matmul", "relu_1", "out.matmul")) {
            assertTrue(tensor(plan, activation).contains("(S(0), B)"), activation + " split by rows:\n" + plan);
        }
        long deviceRows = plan.lines().filter(l -> l.matches("  0:[0-3] .*")).count();
        assertEquals(4, deviceRows, plan);
    }

    @Test
    void shouldPlanTheGptDataParallelOnTwoDevices() {
        String plan = plan("plan", "configs/gpt-addition.conf", "--set", "parallel.devices=2", "--set", "parallel.data=2");

        assertTrue(tensor(plan, "tokens").contains("(S(0), B)*") && tensor(plan, "tokens").contains("[32, 12]"), plan);
        for (String weight : List.of("token_embedding.weight", "block0.attention.q.weight", "block1.fc.weight", "head.weight")) {
            assertTrue(tensor(plan, weight).contains("(B, B)"), weight + " replicated:\n" + plan);
            assertTrue(allReducedBeforeAccumulating(plan, weight), weight + " gradient all-reduced:\n" + plan);
        }
        assertTrue(tensor(plan, "block0.fc.matmul").contains("(S(0), B)"), plan);
    }

    /**
     * Two pipeline stages of two data-parallel devices each: the second block, the final layer
     * norm and the head (with the loss after it) on devices 0:2-0:3, the rest on 0:0-0:1. Each
     * stage all-reduces its own weights' gradients; activations cross forward and their gradients
     * back by send/recv.
     */
    @Test
    void shouldPlanTheGptOnTwoDataParallelPipelineStages() {
        String plan = plan("plan", "configs/gpt-addition.conf", "--set", "parallel.devices=4", "--set", "parallel.data=2",
                "--set", "parallel.pipeline=2", "--set", "parallel.stages.\"block1.\"=1",
                "--set", "parallel.stages.\"ln_final.\"=1", "--set", "parallel.stages.\"head.\"=1");

        assertTrue(plan.contains("4 device(s) as 2 pipeline stages of [data 2, tensor 1]"), plan);
        assertTrue(plan.contains("placement p1: [0:2, 0:3] as [2, 1]"), plan);
        for (String weight : List.of("token_embedding.weight", "block0.attention.q.weight")) {
            assertTrue(tensor(plan, weight).contains(" p0  (B, B)"), weight + " on stage 0:\n" + plan);
            assertTrue(allReducedBeforeAccumulating(plan, weight), weight + " gradient all-reduced:\n" + plan);
        }
        for (String weight : List.of("block1.attention.q.weight", "block1.fc.weight", "head.weight")) {
            assertTrue(tensor(plan, weight).contains(" p1  (B, B)"), weight + " on stage 1:\n" + plan);
            assertTrue(allReducedBeforeAccumulating(plan, weight), weight + " gradient all-reduced:\n" + plan);
        }
        assertTrue(tensor(plan, "block0.fc.matmul").contains(" p0  (S(0), B)"), plan);
        assertTrue(tensor(plan, "block1.fc.matmul").contains(" p1  (S(0), B)"), plan);
        assertTrue(plan.lines().anyMatch(l -> l.contains("send/recv p0 -> p1")), plan);
        assertTrue(plan.lines().anyMatch(l -> l.contains("send/recv p1 -> p0")), plan);
        List<String> rows = plan.lines().filter(l -> l.matches("  0:[0-3] .*")).toList();
        assertEquals(4, rows.size(), plan);
        for (String row : rows) {
            assertTrue(!row.matches("  0:\\d\\s+0 B .*"), "every device holds parameters:\n" + plan);
        }
    }

    /**
     * The loss splits by rows (a summed loss and a label count, divided after both are reduced),
     * so neither model gathers its logits or labels for the loss: the only conversions around it
     * are all-reduces of scalars (3 conversions and 15 KiB of gathered MLP logits before).
     */
    @Test
    void shouldKeepTheLogitsAndLabelsSplitIntoTheLoss() {
        String mlp = plan("plan", "configs/mlp-fashion.conf", "--set", "parallel.devices=4", "--set", "parallel.data=4");
        String gpt = plan("plan", "configs/gpt-addition.conf", "--set", "parallel.devices=2", "--set", "parallel.data=2");
        assertLossSplitByRows(mlp, "out.bias_add", "labels");
        assertLossSplitByRows(gpt, "head.bias_add", "targets");
    }

    private static void assertLossSplitByRows(String plan, String logits, String labels) {
        assertTrue(tensor(plan, logits).contains("(S(0), B)"), logits + " split by rows:\n" + plan);
        assertTrue(tensor(plan, "softmax_cross_entropy_sum:0").contains("(P, B)"), "partial loss sum:\n" + plan);
        assertTrue(tensor(plan, "divide_by_count").contains("(B, B)"), "the loss is broadcast:\n" + plan);
        List<String> conversions = conversions(plan);
        assertTrue(conversions.stream().noneMatch(l -> l.startsWith("  " + logits + " ") || l.startsWith("  " + labels + " ")),
                "no conversion of " + logits + " or " + labels + ":\n" + plan);
        List<String> intoLoss = conversions.stream().filter(l -> l.contains("into divide_by_count")).toList();
        assertEquals(3, intoLoss.size(), plan);
        assertTrue(intoLoss.stream().allMatch(l -> l.contains("all-reduce on data")), plan);
    }

    private static List<String> conversions(String plan) {
        return plan.lines().dropWhile(l -> !l.startsWith("conversions")).skip(1).takeWhile(l -> !l.isBlank()).toList();
    }

    /**
     * Reshapes around the linear layers merge [B, T, D] into [B*T, D] and back; with a batch
     * that divides over the data axis they keep the row split, so no conversion feeds them or
     * zero-pads their outputs into partial sums (199 conversions before reshape declared the
     * split on leading-axis merges).
     */
    @Test
    void shouldKeepTheGptReshapesSplitByRowsWithoutConversions() {
        String plan = plan("plan", "configs/gpt-addition.conf", "--set", "parallel.devices=2", "--set", "parallel.data=2");

        Matcher count = Pattern.compile("(\\d+) conversions").matcher(plan);
        assertTrue(count.find(), plan);
        assertTrue(Integer.parseInt(count.group(1)) < 199, "fewer conversions than before:\n" + plan);
        for (String reshape : List.of("block0.fc.reshape", "block0.fc.reshape_1", "block1.attention.q.reshape",
                "block1.proj.reshape_1")) {
            assertTrue(tensor(plan, reshape).contains("(S(0), B)"), reshape + " split by rows:\n" + plan);
        }
        List<String> conversions = conversions(plan);
        assertTrue(conversions.stream().noneMatch(l -> l.matches("  \\S*reshape\\S* .*zero-pad.*")),
                "no reshape output zero-padded into a partial sum:\n" + plan);
        assertTrue(conversions.stream().noneMatch(l -> l.matches(".* into \\S*reshape\\S* \\(reshape input 0\\).*")
                && !l.contains("local-slice")), "no communication into a reshape:\n" + plan);
    }
}
