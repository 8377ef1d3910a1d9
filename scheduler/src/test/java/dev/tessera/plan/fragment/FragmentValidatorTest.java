package dev.tessera.plan.fragment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.DeviceId;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FragmentValidatorTest {
    private final PlanProto plan = PlanFragmentsTest.example("mlp, data parallel 2");
    private final List<PlanFragment> fragments = PlanFragments.cut(plan, Map.of(0, 0, 1, 1));
    private final PlanFragment second = fragments.get(1);
    private final ProcessIdentity self = PlanFragmentsTest.identity(second);

    @Test
    void shouldAcceptAFragmentCutForThisProcess() {
        assertEquals(List.of(), FragmentValidator.problems(second, self));
    }

    @Test
    void shouldRejectAFragmentOfAnotherJob() {
        String error = single(second.toBuilder().setJobId("other-job").build());
        assertTrue(error.contains("is of job 'other-job' but this process runs job 'example'"), error);
    }

    @Test
    void shouldRejectAFragmentOfAnotherPlanVersion() {
        String error = single(second.toBuilder().setPlanVersion(2).build());
        assertTrue(error.contains("plan version 2 but this process expects version 3"), error);
    }

    @Test
    void shouldRejectAFragmentNamingADeviceNotInThisProcess() {
        ProcessIdentity elsewhere = new ProcessIdentity(self.jobId(), self.planVersion(), 1,
                List.of(new DeviceId(0, 2)));
        List<String> problems = FragmentValidator.problems(second, elsewhere);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).contains("names device 0:1 (plan index 1), which is not in this process (it holds "
                + "[0:2])"), problems.get(0));
    }

    @Test
    void shouldRejectAnEdgeFromAnotherProcessWithoutAPartner() {
        PlanFragment withoutReceive = second.toBuilder().removeReceives(0).build();
        String error = single(withoutReceive);
        assertTrue(error.contains("of another process without a remote receive: the edge has no partner"), error);
    }

    @Test
    void shouldRejectAnActorOfAnotherProcessesDevice() {
        PlanFragment stolen = second.toBuilder().addActors(fragments.get(0).getActors(0)).build();
        List<String> problems = FragmentValidator.problems(stolen, self);
        assertTrue(problems.stream().anyMatch(p -> p.contains("runs on device index 0, which is not one of the "
                + "fragment's devices [1]")), problems.toString());
    }

    @Test
    void shouldThrowListingEveryProblem() {
        PlanFragment broken = second.toBuilder().setJobId("other-job").setPlanVersion(9).build();
        InvalidFragmentException error = assertThrows(InvalidFragmentException.class,
                () -> FragmentValidator.requireValid(broken, self));
        assertEquals(2, error.problems().size(), error.getMessage());
    }

    private String single(PlanFragment fragment) {
        List<String> problems = FragmentValidator.problems(fragment, self);
        assertEquals(1, problems.size(), problems.toString());
        return problems.get(0);
    }
}
