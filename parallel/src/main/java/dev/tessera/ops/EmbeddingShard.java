package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.integer;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

/**
 * One device's part of a vocabulary-parallel {@link Embedding}: inputs (rows
 * {@code [rowOffset, rowOffset + R)} of a table of {@code vocabulary} rows, ids), output
 * {@code out[p] = table[ids[p] - rowOffset]} for ids in those rows and zeros for the others, so
 * the devices' outputs sum to the whole lookup. An id outside [0, vocabulary) is an error at run
 * time, as for the whole table. Made only by lowering; it has no gradient rule of its own.
 */
public record EmbeddingShard(int rowOffset, int vocabulary) implements OpDef {

    @Override
    public String type() {
        return "embedding_shard";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        TensorType table = in.get(0);
        floating(table, "table");
        integer(in.get(1), "ids");
        require(table.rank() == 2, "table must be a [rows, dimension] matrix, got " + table.shape());
        require(rowOffset >= 0 && rowOffset + table.shape().dim(0) <= vocabulary,
                "rows [" + rowOffset + ", " + (rowOffset + table.shape().dim(0)) + ") are not inside the vocabulary of "
                        + vocabulary);
        return List.of(new TensorType(in.get(1).shape().append(table.shape().dim(1)), table.dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = out.get(0).shape().size();
        return Cost.of(0, 2 * n * out.get(0).dtype().bytes() + in.get(1).shape().size() * 4);
    }
}
