// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@d443a782c57ebd2d5dbb7bf5cb4501a91ba28eee camera/camera-core/api/1.7.0-rc01.txt
// (dynamic range, stabilization and frame-rate members left out: unused)
package androidx.camera.core;

public final class Preview extends UseCase {
    public void setSurfaceProvider(@androidx.annotation.Nullable SurfaceProvider provider) { throw null; }
    public void setSurfaceProvider(java.util.concurrent.Executor executor, @androidx.annotation.Nullable SurfaceProvider provider) { throw null; }
    public void setTargetRotation(int rotation) { throw null; }
    public int getTargetRotation() { throw null; }

    public interface SurfaceProvider {
        void onSurfaceRequested(SurfaceRequest request);
    }

    public static final class Builder {
        public Builder() { throw null; }
        public Preview build() { throw null; }
        public Builder setResolutionSelector(androidx.camera.core.resolutionselector.ResolutionSelector selector) { throw null; }
        public Builder setTargetName(String name) { throw null; }
        public Builder setTargetRotation(int rotation) { throw null; }
    }
}
