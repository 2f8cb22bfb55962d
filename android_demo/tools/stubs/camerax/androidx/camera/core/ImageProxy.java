// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@a9b06aaf32dbcf83aa12e3f8185a109d14fbe8e9 camera/camera-core/api/1.5.0-beta01.txt
// (CameraX 1.5/1.6 shape; 1.7 moves width/height/planes' getters to androidx.camera.common.ImageWrapper/ImagePlane,
// which Kotlin property syntax such as image.width and plane.rowStride reads the same way).
package androidx.camera.core;

public interface ImageProxy extends java.lang.AutoCloseable {
    void close();
    android.graphics.Rect getCropRect();
    int getFormat();
    int getHeight();
    @androidx.annotation.Nullable android.media.Image getImage();
    ImageInfo getImageInfo();
    PlaneProxy[] getPlanes();
    int getWidth();
    void setCropRect(@androidx.annotation.Nullable android.graphics.Rect rect);
    default android.graphics.Bitmap toBitmap() { throw null; }

    interface PlaneProxy {
        java.nio.ByteBuffer getBuffer();
        int getPixelStride();
        int getRowStride();
    }
}
