package dev.spillway.io;

/**
 * Run in a child JVM by {@link BackendSelectionTest}: prints, per line, {@code kind=ok} or
 * {@code kind=<reason>}. ffm is probed first, so nothing restricted ran before its check.
 */
public final class SelectionProbe {
    private SelectionProbe() {
    }

    public static void main(String[] args) {
        for (BackendKind k : new BackendKind[] {BackendKind.FFM, BackendKind.JNA}) {
            String why = Backends.unavailableReason(k);
            System.out.println(k.name().toLowerCase() + "=" + (why == null ? "ok" : why));
        }
    }
}
