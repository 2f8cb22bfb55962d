// COMPILE-ONLY STAND-IN, never shipped; signatures from androidx/androidx@c1a5d115194986fd15364f51f8ee8261cfbeb20e camera/camera-lifecycle/api/1.7.0-rc01.txt
// (a Kotlin class there: getInstance is on its Companion, which Kotlin callers write as ProcessCameraProvider.getInstance;
// SessionConfig/UseCaseGroup/concurrent-camera overloads left out: unused)
package androidx.camera.lifecycle;

public final class ProcessCameraProvider {
    public static com.google.common.util.concurrent.ListenableFuture<ProcessCameraProvider> getInstance(android.content.Context context) { throw null; }
    public androidx.camera.core.Camera bindToLifecycle(androidx.lifecycle.LifecycleOwner lifecycleOwner,
            androidx.camera.core.CameraSelector cameraSelector, androidx.camera.core.UseCase... useCases) { throw null; }
    public boolean isBound(androidx.camera.core.UseCase useCase) { throw null; }
    public void unbind(androidx.camera.core.UseCase... useCases) { throw null; }
    public void unbindAll() { throw null; }
}
