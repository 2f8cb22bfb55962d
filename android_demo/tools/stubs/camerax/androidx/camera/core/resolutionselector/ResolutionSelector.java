// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@d443a782c57ebd2d5dbb7bf5cb4501a91ba28eee camera/camera-core/api/1.7.0-rc01.txt (ResolutionFilter left out: unused)
package androidx.camera.core.resolutionselector;

public final class ResolutionSelector {
    public static final int PREFER_CAPTURE_RATE_OVER_HIGHER_RESOLUTION = 0;
    public static final int PREFER_HIGHER_RESOLUTION_OVER_CAPTURE_RATE = 1;
    public int getAllowedResolutionMode() { throw null; }
    public AspectRatioStrategy getAspectRatioStrategy() { throw null; }
    public @androidx.annotation.Nullable ResolutionStrategy getResolutionStrategy() { throw null; }

    public static final class Builder {
        public Builder() { throw null; }
        public ResolutionSelector build() { throw null; }
        public Builder setAllowedResolutionMode(int mode) { throw null; }
        public Builder setAspectRatioStrategy(AspectRatioStrategy strategy) { throw null; }
        public Builder setResolutionStrategy(ResolutionStrategy strategy) { throw null; }
    }
}
