// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@0893b4f5e3f183f617f7972b948ca8a2a681672c camera/camera-view/api/current.txt
// (controller, metering and stream-state members left out: unused)
package androidx.camera.view;

public final class PreviewView extends android.widget.FrameLayout {
    public PreviewView(android.content.Context context) { super(context); }
    public PreviewView(android.content.Context context, @androidx.annotation.Nullable android.util.AttributeSet attrs) { super(context); }
    public @androidx.annotation.Nullable android.graphics.Bitmap getBitmap() { throw null; }
    public androidx.camera.core.Preview.SurfaceProvider getSurfaceProvider() { throw null; }
    public ScaleType getScaleType() { throw null; }
    public void setScaleType(ScaleType scaleType) { throw null; }

    public enum ScaleType { FILL_CENTER, FILL_END, FILL_START, FIT_CENTER, FIT_END, FIT_START }
}
