package dev.tessera.examples.gpt;

import dev.tessera.api.DataSource;
import dev.tessera.api.Inference;
import java.util.Map;

/**
 * What the GPT model is trained on: a token vocabulary, a fixed sequence length, training
 * batches of "tokens" [B, T] and "targets" [B, T] (I32; target -1 is not counted by the loss),
 * and the task's own evaluation through the trained model's logits [B*T, vocabulary].
 */
public interface GptTask {
    int vocabularySize();

    /** T, the number of positions the model sees. */
    int sequenceLength();

    DataSource trainData(long seed, int batchSize);

    Map<String, Double> evaluate(Inference inference);

    String describe();
}
