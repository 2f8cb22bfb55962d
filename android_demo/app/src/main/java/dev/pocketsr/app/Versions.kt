package dev.pocketsr.app

/** Kept equal to gradle/libs.versions.toml (litert) and versionName in app/build.gradle.kts:
 *  android_demo/tools/api_check fails when they drift. Device reports carry both. */
const val LITERT_VERSION = "2.3.2"
const val APP_VERSION = "0.1.0"
const val APP_NAME = "pocketsr-android"
