package dev.spillway.cli;

import java.util.Locale;

/** A JSON object written in one line, fields in the order they are added (no library needed for this). */
final class Json {
    private final StringBuilder sb = new StringBuilder("{");
    private boolean first = true;

    private Json key(String k) {
        if (!first) {
            sb.append(',');
        }
        first = false;
        quote(k);
        sb.append(':');
        return this;
    }

    Json put(String k, String v) {
        key(k);
        if (v == null) {
            sb.append("null");
        } else {
            quote(v);
        }
        return this;
    }

    Json put(String k, long v) {
        key(k).sb.append(v);
        return this;
    }

    Json put(String k, boolean v) {
        key(k).sb.append(v);
        return this;
    }

    /** A number with up to 3 decimals; NaN and infinities (not JSON) become null. */
    Json put(String k, double v) {
        key(k);
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            sb.append("null");
        } else {
            sb.append(String.format(Locale.ROOT, "%.3f", v).replaceFirst("\\.?0+$", ""));
        }
        return this;
    }

    Json put(String k, Json nested) {
        key(k).sb.append(nested);
        return this;
    }

    private void quote(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    @Override
    public String toString() {
        return sb + "}";
    }
}
