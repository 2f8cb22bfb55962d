// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@d443a782c57ebd2d5dbb7bf5cb4501a91ba28eee camera/camera-core/api/1.7.0-rc01.txt (Builder and filters left out: unused)
package androidx.camera.core;

public final class CameraSelector {
    public static final CameraSelector DEFAULT_BACK_CAMERA = null;
    public static final CameraSelector DEFAULT_FRONT_CAMERA = null;
    public static final int LENS_FACING_BACK = 1;
    public static final int LENS_FACING_FRONT = 0;
}
