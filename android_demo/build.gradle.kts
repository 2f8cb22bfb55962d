// Root build: plugin versions come from gradle/libs.versions.toml; nothing is applied here.
plugins {
    alias(libs.plugins.android.application) apply false
    alias(libs.plugins.kotlin.jvm) apply false
}
