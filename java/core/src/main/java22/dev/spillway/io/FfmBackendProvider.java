package dev.spillway.io;

import java.lang.System.Logger.Level;

/**
 * The entry point {@link FfmBackendFactory} looks up by name on JDK 22+. It checks native access
 * before anything restricted runs ({@link FfmBinding}'s static initializer loads the library and
 * links downcalls), so a JVM started without {@code --enable-native-access} gets one log line that
 * says exactly what to pass, and a reason for {@link Backends#selection()}, instead of the JDK's
 * multi-line warning now and an {@link IllegalCallerException} in a later JDK.
 *
 * <p>One JDK subtlety: in its default mode ({@code --illegal-native-access=warn}, JDK 24+) the JDK
 * enables native access for a module once it has warned about it, so if the jni backend already
 * loaded libspillway from the same module (and the JDK printed its own warning naming the flag),
 * this check passes and ffm simply works. Either way the user is told once what to pass.
 */
final class FfmBackendProvider {
    private FfmBackendProvider() {
    }

    static IoBackend create() {
        Module m = FfmBackendProvider.class.getModule();
        if (!m.isNativeAccessEnabled()) {
            String flag = m.isNamed() ? "--enable-native-access=" + m.getName() : "--enable-native-access=ALL-UNNAMED";
            String why = "native access is not enabled for "
                    + (m.isNamed() ? "module " + m.getName() : "the class path") + "; pass " + flag
                    + " to java (or put 'Enable-Native-Access: ALL-UNNAMED' in an executable jar's manifest)";
            System.getLogger("dev.spillway.io").log(Level.WARNING, "Spillway ffm backend disabled: " + why);
            throw new UnsupportedOperationException(why);
        }
        return FfmBinding.createBackend();
    }
}
