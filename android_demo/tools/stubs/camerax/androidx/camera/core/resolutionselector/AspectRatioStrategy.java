// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@d443a782c57ebd2d5dbb7bf5cb4501a91ba28eee camera/camera-core/api/1.7.0-rc01.txt
package androidx.camera.core.resolutionselector;

public final class AspectRatioStrategy {
    public static final int FALLBACK_RULE_AUTO = 1;
    public static final int FALLBACK_RULE_NONE = 0;
    public static final AspectRatioStrategy RATIO_16_9_FALLBACK_AUTO_STRATEGY = null;
    public static final AspectRatioStrategy RATIO_4_3_FALLBACK_AUTO_STRATEGY = null;
    public AspectRatioStrategy(int preferredAspectRatio, int fallbackRule) { throw null; }
    public int getFallbackRule() { throw null; }
    public int getPreferredAspectRatio() { throw null; }
}
