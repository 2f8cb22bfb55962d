// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@d443a782c57ebd2d5dbb7bf5cb4501a91ba28eee camera/camera-core/api/1.7.0-rc01.txt
// (capability queries, background executor and deprecated setters left out: unused)
package androidx.camera.core;

public final class ImageAnalysis extends UseCase {
    public static final int COORDINATE_SYSTEM_ORIGINAL = 0;
    public static final int OUTPUT_IMAGE_FORMAT_RGBA_8888 = 2;
    public static final int OUTPUT_IMAGE_FORMAT_YUV_420_888 = 1;
    public static final int STRATEGY_BLOCK_PRODUCER = 1;
    public static final int STRATEGY_KEEP_ONLY_LATEST = 0;

    public void clearAnalyzer() { throw null; }
    public int getBackpressureStrategy() { throw null; }
    public int getImageQueueDepth() { throw null; }
    public int getOutputImageFormat() { throw null; }
    public @androidx.annotation.Nullable androidx.camera.core.resolutionselector.ResolutionSelector getResolutionSelector() { throw null; }
    public int getTargetRotation() { throw null; }
    public boolean isOutputImageRotationEnabled() { throw null; }
    public void setAnalyzer(java.util.concurrent.Executor executor, Analyzer analyzer) { throw null; }
    public void setTargetRotation(int rotation) { throw null; }

    public interface Analyzer {
        void analyze(ImageProxy image);
        default @androidx.annotation.Nullable android.util.Size getDefaultTargetResolution() { throw null; }
        default int getTargetCoordinateSystem() { throw null; }
        default void updateTransform(@androidx.annotation.Nullable android.graphics.Matrix matrix) { throw null; }
    }

    public static final class Builder {
        public Builder() { throw null; }
        public ImageAnalysis build() { throw null; }
        public Builder setBackpressureStrategy(int strategy) { throw null; }
        public Builder setImageQueueDepth(int depth) { throw null; }
        public Builder setOutputImageFormat(int format) { throw null; }
        public Builder setOutputImageRotationEnabled(boolean enabled) { throw null; }
        public Builder setResolutionSelector(androidx.camera.core.resolutionselector.ResolutionSelector selector) { throw null; }
        public Builder setTargetName(String name) { throw null; }
        public Builder setTargetRotation(int rotation) { throw null; }
    }
}
