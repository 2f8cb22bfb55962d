// COMPILE-ONLY STAND-IN, never shipped; the Guava interface CameraX returns (com.google.guava:listenablefuture):
// a java.util.concurrent.Future with addListener(Runnable, Executor).
package com.google.common.util.concurrent;

public interface ListenableFuture<V> extends java.util.concurrent.Future<V> {
    void addListener(Runnable listener, java.util.concurrent.Executor executor);
}
