// :core - pure Kotlin/JVM (no android.*): bundle parsing, tiling, pixels, parity, device report.
// Its sources and JUnit tests are written by the core engineer; android_demo/check runs them without Gradle.
plugins {
    kotlin("jvm") // version: libs.plugins.kotlin.jvm, declared in the root build
}

// Java 17 bytecode like :app, compiled by whatever JDK runs Gradle (Android Studio's own): a
// jvmToolchain(17) would fail on machines without a JDK 17 installed.
java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}
kotlin {
    compilerOptions {
        jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17)
    }
}

dependencies {
    implementation(libs.gson)
    testImplementation(libs.junit)
}
