package dev.tessera.runtime;

import java.util.ArrayList;
import java.util.List;

/** The runtimes a test started, to close after it. */
final class RuntimeCloser {
    private final List<ActorRuntime> started = new ArrayList<>();

    ActorRuntime add(ActorRuntime runtime) {
        started.add(runtime);
        return runtime;
    }

    void closeAll() {
        started.forEach(ActorRuntime::close);
        started.clear();
    }
}
