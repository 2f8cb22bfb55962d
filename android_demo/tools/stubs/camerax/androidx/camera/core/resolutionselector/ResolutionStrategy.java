// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@d443a782c57ebd2d5dbb7bf5cb4501a91ba28eee camera/camera-core/api/1.7.0-rc01.txt
package androidx.camera.core.resolutionselector;

public final class ResolutionStrategy {
    public static final int FALLBACK_RULE_CLOSEST_HIGHER = 2;
    public static final int FALLBACK_RULE_CLOSEST_HIGHER_THEN_LOWER = 1;
    public static final int FALLBACK_RULE_CLOSEST_LOWER = 4;
    public static final int FALLBACK_RULE_CLOSEST_LOWER_THEN_HIGHER = 3;
    public static final int FALLBACK_RULE_NONE = 0;
    public static final ResolutionStrategy HIGHEST_AVAILABLE_STRATEGY = null;
    public ResolutionStrategy(android.util.Size boundSize, int fallbackRule) { throw null; }
    public @androidx.annotation.Nullable android.util.Size getBoundSize() { throw null; }
    public int getFallbackRule() { throw null; }
}
