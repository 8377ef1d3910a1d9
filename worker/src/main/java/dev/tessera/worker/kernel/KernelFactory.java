package dev.tessera.worker.kernel;

import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;

/** Makes the kernel for one op instance; {@code op} gives its attributes and tensor types. */
@FunctionalInterface
public interface KernelFactory<D extends OpDef> {
    Kernel create(D def, Op op);
}
