package dev.spillway.io;

/** What the backends over libspillway (jni, ffm, jna) offer beyond the SPI, for {@link Diagnostics}. */
interface NativeBinding {
    /** spw_noop(x) through this binding: one native call that does nothing. */
    int noop(int x);
}
