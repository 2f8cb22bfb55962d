// :core - pure Kotlin/JVM (no android.*): bundle parsing, tiling, pixels, parity, device report.
// Its sources and JUnit tests are written by the core engineer; android_demo/check runs them without Gradle.
plugins {
    kotlin("jvm") // version: libs.plugins.kotlin.jvm, declared in the root build
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation(libs.gson)
    testImplementation(libs.junit)
}
