package dev.tessera.worker.kernel;

import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import java.util.HashMap;
import java.util.Map;

/** Finds the kernel of an op by its op type (the class of its {@link OpDef}). */
public final class KernelRegistry {
    private final Map<Class<?>, KernelFactory<?>> factories = new HashMap<>();

    /** Every kernel Tessera ships for the CPU and CUDA backends of ND4J. */
    public static KernelRegistry standard() {
        KernelRegistry r = new KernelRegistry();
        LinearAlgebraKernels.register(r);
        ShapeKernels.register(r);
        ElementwiseKernels.register(r);
        NeuralKernels.register(r);
        OptimizerKernels.register(r);
        RegionKernels.register(r);
        PostValidationKernels.register(r);
        return r;
    }

    public <D extends OpDef> KernelRegistry register(Class<D> opType, KernelFactory<D> factory) {
        if (factories.putIfAbsent(opType, factory) != null) {
            throw new IllegalStateException("two kernels registered for " + opType.getSimpleName());
        }
        return this;
    }

    /**
     * The kernel for {@code op}.
     *
     * @throws IllegalArgumentException if no kernel exists for the op's type
     */
    public Kernel create(Op op) {
        return create(op.def(), op);
    }

    /**
     * The kernel of {@code def} run as part of {@code op}: an op that wraps another op type (a
     * backed-up optimizer step) runs the wrapped type's kernel.
     *
     * @throws IllegalArgumentException if no kernel exists for {@code def}'s type
     */
    @SuppressWarnings("unchecked")
    public Kernel create(OpDef def, Op op) {
        KernelFactory<OpDef> f = (KernelFactory<OpDef>) factories.get(def.getClass());
        if (f == null) {
            throw new IllegalArgumentException("no kernel for op type '" + def.type() + "' (op '" + op.name()
                    + "'); register one in KernelRegistry.standard()");
        }
        return f.create(def, op);
    }

    public boolean supports(Class<? extends OpDef> opType) {
        return factories.containsKey(opType);
    }
}
