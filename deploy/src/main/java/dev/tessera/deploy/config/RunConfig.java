package dev.tessera.deploy.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import dev.tessera.api.ModelProvider;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** A validated, fully resolved run config and the provider of its model. */
public record RunConfig(Config config, ModelProvider provider, TrainSettings settings, ParallelSettings parallel,
                        ProcessSettings processes) {
    /**
     * Keys that change what is logged or saved, or how a step is spread over devices, not the
     * numbers it computes (up to rounding); a resume may change them.
     */
    private static final String[] NOT_TRAJECTORY = {"checkpoint", "train.log_every", "train.eval_every", "runtime", "parallel", "transport"};

    public String modelType() {
        return provider.name();
    }

    /** The resolved config as HOCON, for {@code config.conf} of the run directory. */
    public String render() {
        return config.root().render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
    }

    /**
     * SHA-256 over the keys that determine the loss trajectory, in a canonical form (sorted keys),
     * so a resume can tell whether it continues the same run.
     */
    public String trajectoryHash() {
        Config c = config;
        for (String path : NOT_TRAJECTORY) {
            c = c.withoutPath(path);
        }
        try {
            byte[] canonical = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
                    .writeValueAsString(c.root().unwrapped()).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot hash the run config", e);
        }
    }
}
