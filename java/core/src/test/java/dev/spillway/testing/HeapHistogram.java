package dev.spillway.testing;

import java.util.HashMap;
import java.util.Map;

/** The JVM's class histogram of live objects, for tests that state heap costs. */
public final class HeapHistogram {
    private HeapHistogram() {
    }

    /**
     * Live bytes per class name, after a full GC (the diagnostic command jmap -histo:live uses).
     * Through reflection: the tests compile inside module dev.spillway, which does not read
     * java.management, and run on the class path, where everything is readable.
     */
    public static Map<String, Long> live() throws Exception {
        Object server = Class.forName("java.lang.management.ManagementFactory").getMethod("getPlatformMBeanServer")
                .invoke(null);
        Class<?> objectName = Class.forName("javax.management.ObjectName");
        Object name = objectName.getConstructor(String.class).newInstance("com.sun.management:type=DiagnosticCommand");
        String text = (String) Class.forName("javax.management.MBeanServerConnection")
                .getMethod("invoke", objectName, String.class, Object[].class, String[].class)
                .invoke(server, name, "gcClassHistogram", new Object[] {new String[0]}, new String[] {String[].class.getName()});
        Map<String, Long> bytes = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] cols = line.trim().split("\\s+");
            if (cols.length >= 4 && cols[0].endsWith(":")) { // "num: instances bytes class (module)"
                bytes.merge(cols[3], Long.parseLong(cols[2]), Long::sum);
            }
        }
        return bytes;
    }
}
