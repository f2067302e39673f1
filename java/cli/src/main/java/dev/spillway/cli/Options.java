package dev.spillway.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value} and {@code --flag} options plus positional arguments. */
final class Options {
    /** Options that take no value. */
    private static final Set<String> FLAGS = Set.of("json", "csv", "quick", "progress");

    final Map<String, String> values = new HashMap<>();
    final List<String> positional = new ArrayList<>();

    static Options parse(List<String> args) {
        Options o = new Options();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.startsWith("--")) {
                String name = a.substring(2);
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    String key = name.substring(0, eq);
                    String value = name.substring(eq + 1);
                    if (FLAGS.contains(key)) {
                        value = bool(key, value);
                    }
                    o.values.put(key, value);
                } else if (FLAGS.contains(name)) {
                    o.values.put(name, "true");
                } else if (i + 1 < args.size()) {
                    o.values.put(name, args.get(++i));
                } else {
                    throw new Main.UsageException("option --" + name + " needs a value");
                }
            } else {
                o.positional.add(a);
            }
        }
        return o;
    }

    /** {@code --name=true} or {@code --name=false}, any case; anything else is a usage error, not a silent false. */
    private static String bool(String name, String value) {
        if (value.equalsIgnoreCase("true") || value.equalsIgnoreCase("false")) {
            return value.toLowerCase(java.util.Locale.ROOT);
        }
        throw new Main.UsageException("--" + name + ": '" + value + "' is not true or false (give --" + name + ", --"
                + name + "=true or --" + name + "=false)");
    }

    boolean flag(String name) {
        return Boolean.parseBoolean(bool(name, values.getOrDefault(name, "false")));
    }

    String get(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    /** A size such as 64m, 512k, 2g or plain bytes. */
    long size(String name, long dflt) {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return parseSize(v);
        } catch (NumberFormatException e) {
            throw new Main.UsageException("--" + name + ": '" + v + "' is not a size (e.g. 64m, 512k, 2g)");
        } catch (ArithmeticException e) { // the number times its unit is past Long.MAX_VALUE
            throw new Main.UsageException("--" + name + ": '" + v + "' is too large (more than " + Long.MAX_VALUE
                    + " bytes)");
        }
    }

    static long parseSize(String v) {
        String s = v.trim().toLowerCase();
        long mul = 1;
        char last = s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
        if (last == 'b') {
            s = s.substring(0, s.length() - 1);
            last = s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
        }
        switch (last) {
            case 'k': mul = 1L << 10; break;
            case 'm': mul = 1L << 20; break;
            case 'g': mul = 1L << 30; break;
            default: break;
        }
        if (mul != 1) {
            s = s.substring(0, s.length() - 1);
        }
        long n = Long.parseLong(s.trim());
        if (n <= 0) {
            throw new NumberFormatException(v);
        }
        return Math.multiplyExact(n, mul);
    }

    /** A comma-separated list such as {@code lru,clock}; empty items are an error. */
    List<String> list(String name) {
        String v = values.get(name);
        if (v == null) {
            return null;
        }
        List<String> items = new ArrayList<>();
        for (String item : v.split(",", -1)) {
            if (item.isBlank()) {
                throw new Main.UsageException("--" + name + ": '" + v + "' has an empty item");
            }
            items.add(item.strip());
        }
        return items;
    }

    /** Fails on positional arguments where a command takes none. */
    void noPositional() {
        if (!positional.isEmpty()) {
            throw new Main.UsageException("unexpected argument '" + positional.get(0) + "'");
        }
    }

    /** Fails on options nobody read, so a typo is not silently ignored. */
    void checkOnly(String... known) {
        Set<String> k = Set.of(known);
        for (String name : values.keySet()) {
            if (!k.contains(name)) {
                throw new Main.UsageException("unknown option --" + name);
            }
        }
    }
}
