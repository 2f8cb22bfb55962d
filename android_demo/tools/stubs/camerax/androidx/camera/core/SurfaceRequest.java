// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@d443a782c57ebd2d5dbb7bf5cb4501a91ba28eee camera/camera-core/api/1.7.0-rc01.txt (members left out: the app only passes it on)
package androidx.camera.core;

public final class SurfaceRequest {
    public android.util.Size getResolution() { throw null; }
}
