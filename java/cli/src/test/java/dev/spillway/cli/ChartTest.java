package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartTest {
    @TempDir
    Path dir;

    @Test
    void lineAndBarChartsAreReadablePngs() throws Exception {
        Path line = dir.resolve("line.png");
        new Chart("hit ratio", "cache size (pages)", "hit ratio %").logX()
                .point("lru", 100, 10).point("lru", 1000, 40).point("clock", 100, 12).point("clock", 1000, 45)
                .write(line);
        BufferedImage img = ImageIO.read(line.toFile());
        assertEquals(900, img.getWidth());
        // something other than the white background was drawn in the plot area
        boolean drawn = false;
        for (int x = 100; x < 700 && !drawn; x += 3) {
            for (int y = 60; y < 480 && !drawn; y += 3) {
                drawn = img.getRGB(x, y) != 0xFFFFFFFF && img.getRGB(x, y) != 0xFFE5E5E5;
            }
        }
        assertTrue(drawn, "nothing was drawn in the plot area");
        Path bars = dir.resolve("bars.png");
        new Chart("throughput", "backend", "MB/s").bar("jni", "csv", 300).bar("jni", "random", 900)
                .bar("nio", "csv", 250).write(bars);
        assertEquals(540, ImageIO.read(bars.toFile()).getHeight());
    }
}
