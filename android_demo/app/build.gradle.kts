// :app - the Android glue (Views + XML, CameraX, LiteRT CompiledModel). All logic lives in :core.
// AGP 9 compiles Kotlin itself (built-in Kotlin): no org.jetbrains.kotlin.android plugin.
plugins {
    alias(libs.plugins.android.application)
}

android {
    namespace = "dev.pocketsr.app"
    compileSdk = 36

    defaultConfig {
        applicationId = "dev.pocketsr.app"
        minSdk = 24
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0" // = APP_VERSION in Versions.kt (tools/api_check compares them)
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    androidResources {
        // LiteRT maps .tflite assets directly; compressed assets would have to be inflated first.
        noCompress += "tflite"
    }
}

dependencies {
    implementation(project(":core"))
    implementation(libs.litert)
    // Without litert-gpu (a separate artifact since LiteRT 2.3) Options(Accelerator.GPU) has no GPU
    // accelerator to load: GPU + CPU silently runs on the CPU, GPU alone throws.
    implementation(libs.litert.gpu)
    implementation(libs.camera.core)
    implementation(libs.camera.camera2)
    implementation(libs.camera.lifecycle)
    implementation(libs.camera.view)
    implementation(libs.androidx.core)
    implementation(libs.androidx.activity)
    implementation(libs.androidx.appcompat)
    implementation(libs.material)
}

// ./gradlew :app:importBundle -PbundleDir=/path/to/bundle
// Copies what the app reads from a `pocketsr convert ... --bundle B` folder into
// src/main/assets/bundle/ (replacing any previous bundle). Same job as ../import_bundle.sh.
// It writes into src/, so it declares no outputs (untracked): run it before building, not as part of it.
abstract class ImportBundle @javax.inject.Inject constructor(private val fs: FileSystemOperations) : DefaultTask() {
    @get:Input @get:Optional
    abstract val bundleDir: Property<String>

    @get:Internal abstract val assetsDir: DirectoryProperty

    @TaskAction
    fun copy() {
        val dir = File(bundleDir.orNull ?: throw GradleException("pass -PbundleDir=/path/to/bundle"))
        if (!File(dir, "bundle.json").isFile) {
            throw GradleException("$dir has no bundle.json: make one with `pocketsr convert ... --bundle $dir`")
        }
        if (dir.listFiles { f -> f.name.endsWith(".tflite") }.isNullOrEmpty()) {
            throw GradleException("$dir has no .tflite artifact: the Android app runs TFLite artifacts only")
        }
        fs.sync {
            from(dir) { include("bundle.json", "*.tflite", "*.tflite.json", "goldens/**") }
            into(assetsDir.get().asFile)
        }
    }
}

tasks.register<ImportBundle>("importBundle") {
    group = "pocketsr"
    description = "Copy a pocketsr app bundle (-PbundleDir=...) into src/main/assets/bundle"
    bundleDir.set(providers.gradleProperty("bundleDir"))
    assetsDir.set(layout.projectDirectory.dir("src/main/assets/bundle"))
    doNotTrackState("writes into src/main/assets, which the build reads")
}
