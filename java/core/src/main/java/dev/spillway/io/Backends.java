package dev.spillway.io;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Finds and opens I/O backends. {@link BackendKind#AUTO} tries jni, ffm, jna, nio in that order;
 * {@link #selection()} tells which one AUTO chose and why each one before it was passed over.
 * The system property {@code spillway.backend} overrides what a caller asks for.
 */
public final class Backends {
    private static final System.Logger LOG = System.getLogger("dev.spillway.io");
    private static final List<BackendKind> ORDER = List.of(BackendKind.JNI, BackendKind.FFM, BackendKind.JNA,
            BackendKind.NIO);

    private static final Map<BackendKind, Object> CACHE = new EnumMap<>(BackendKind.class);
    private static Selection autoSelection;

    private Backends() {
    }

    /** Which backend AUTO picked, and for each one passed over before it, the reason. */
    public record Selection(BackendKind chosen, Map<BackendKind, String> passedOver) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(chosen.name().toLowerCase());
            passedOver.forEach((k, why) -> sb.append("; ").append(k.name().toLowerCase()).append(" passed over: ").append(why));
            return sb.toString();
        }
    }

    /**
     * The backend of the given kind (shared, created once per JVM). AUTO, or the
     * {@code spillway.backend} property when set, picks as described above.
     * @throws dev.spillway.SpillwayException if the kind asked for cannot load here, saying why
     */
    public static IoBackend open(BackendKind kind) {
        String forced = System.getProperty("spillway.backend");
        if (forced != null && !forced.isBlank()) {
            kind = BackendKind.parse(forced);
        }
        if (kind == BackendKind.AUTO) {
            return open(selection().chosen());
        }
        Object r = load(kind);
        if (r instanceof IoBackend b) {
            return b;
        }
        throw new dev.spillway.SpillwayException("backend " + kind.name().toLowerCase() + " is not available: " + r);
    }

    /** AUTO's choice and reasons (computed once per JVM). */
    public static synchronized Selection selection() {
        if (autoSelection == null) {
            Map<BackendKind, String> passed = new EnumMap<>(BackendKind.class);
            for (BackendKind k : ORDER) {
                Object r = load(k);
                if (r instanceof IoBackend) {
                    autoSelection = new Selection(k, Collections.unmodifiableMap(passed));
                    if (!passed.isEmpty()) {
                        LOG.log(Level.INFO, "Spillway I/O backend: {0}", autoSelection);
                    }
                    return autoSelection;
                }
                passed.put(k, (String) r);
            }
            throw new dev.spillway.SpillwayException("no I/O backend can load here: " + passed);
        }
        return autoSelection;
    }

    /** Every backend that loads in this JVM, in AUTO's order (the conformance suite runs over these). */
    public static List<IoBackend> available() {
        List<IoBackend> list = new ArrayList<>();
        for (BackendKind k : ORDER) {
            if (load(k) instanceof IoBackend b) {
                list.add(b);
            }
        }
        return list;
    }

    /** Codecs of every backend created and not yet closed in this JVM (each holds native zstd contexts). */
    public static long liveCodecs() {
        return AbstractCodec.liveCount();
    }

    /** Why the kind cannot load here, or null if it can. */
    public static String unavailableReason(BackendKind kind) {
        Object r = load(kind);
        return r instanceof String s ? s : null;
    }

    /** The backend, or a String saying why it cannot load. */
    private static synchronized Object load(BackendKind kind) {
        return CACHE.computeIfAbsent(kind, k -> {
            try {
                return create(k);
            } catch (Throwable t) { // LinkageError from a missing library or class is expected here
                return describe(t);
            }
        });
    }

    private static IoBackend create(BackendKind kind) {
        switch (kind) {
            case JNI:
                return JniBinding.createBackend();
            case NIO:
                return new NioBackend();
            case FFM:
                return FfmBackendFactory.create();
            case JNA:
                return JnaBackendFactory.create();
            default:
                throw new IllegalArgumentException(kind.name());
        }
    }

    private static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (sb.length() > 0) {
                sb.append(" <- ");
            }
            sb.append(c.getMessage() != null ? c.getMessage() : c.getClass().getName());
        }
        return sb.toString();
    }
}
