package dev.tessera.plan.compile;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The plan compiler is a pure function of graph, devices and options: neither kernels nor actors are on its classpath. */
class SchedulerPurityTest {
    @ParameterizedTest
    @ValueSource(strings = {"org.nd4j.linalg.factory.Nd4j", "org.apache.pekko.actor.typed.ActorSystem",
            "dev.tessera.runtime.plan.Plan", "dev.tessera.worker.kernel.Kernel"})
    void shouldCompilePlansWithoutNd4jOrActorsOnTheClasspath(String className) {
        assertThrows(ClassNotFoundException.class, () -> Class.forName(className));
    }
}
