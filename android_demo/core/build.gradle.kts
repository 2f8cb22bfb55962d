// :core - pure Kotlin/JVM (no android.*): bundle parsing, tiling, pixels, parity, device report.
// Its sources and JUnit tests are written by the core engineer; android_demo/check runs them without Gradle.
plugins {
    alias(libs.plugins.kotlin.jvm)
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation(libs.gson)
    testImplementation(libs.junit)
}
