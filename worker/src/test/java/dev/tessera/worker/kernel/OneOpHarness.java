package dev.tessera.worker.kernel;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorType;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Builds a graph holding one op and runs that op's registered kernel on given arrays. */
final class OneOpHarness {
    private static final KernelRegistry REGISTRY = KernelRegistry.standard();

    private final Op op;
    private final Kernel kernel;

    private OneOpHarness(Op op) {
        this.op = op;
        this.kernel = REGISTRY.create(op);
    }

    /** An op of {@code def} whose inputs have these shapes, all in {@code dtype}. */
    static OneOpHarness of(OpDef def, DType dtype, int[]... inputShapes) {
        GraphBuilder g = new GraphBuilder(dtype);
        Tensor[] inputs = new Tensor[inputShapes.length];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = g.input("in" + i, dtype, inputShapes[i]);
        }
        g.applyAll(def, inputs);
        List<Op> ops = g.build().ops();
        return new OneOpHarness(ops.get(ops.size() - 1));
    }

    Op op() {
        return op;
    }

    /** Runs the kernel once into NaN-filled outputs, so an element the kernel skips shows up. */
    INDArray[] run(KernelContext context, INDArray... inputs) {
        INDArray[] outputs = new INDArray[op.outputs().size()];
        for (int i = 0; i < outputs.length; i++) {
            TensorType t = op.output(i).type();
            outputs[i] = Nd4j.createUninitialized(nd4j(t.dtype()), t.shape().toLongArray(), 'c').assign(Double.NaN);
        }
        kernel.run(inputs, outputs, context);
        return outputs;
    }

    INDArray run(INDArray... inputs) {
        return run(new KernelContext(0, 0), inputs)[0];
    }

    static INDArray array(DType dtype, int[] shape, double... values) {
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            dims[i] = shape[i];
        }
        return Nd4j.createFromArray(values).reshape('c', dims).castTo(nd4j(dtype));
    }

    static int[] shape(int... dims) {
        return dims;
    }

    static DataType nd4j(DType dtype) {
        return switch (dtype) {
            case F32 -> DataType.FLOAT;
            case F64 -> DataType.DOUBLE;
            case I32 -> DataType.INT;
        };
    }

    /** The elements of {@code a} in C order, as doubles. */
    static double[] values(INDArray a) {
        return a.dup('c').castTo(DataType.DOUBLE).reshape(a.length()).toDoubleVector();
    }
}
