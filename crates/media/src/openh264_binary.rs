//! Cisco's OpenH264 binary: which file is Cisco's for this platform, and installing it on the
//! user's machine with their consent. Cisco pays the H.264 patent royalties only for its own
//! binary, downloaded by the end user (docs/openh264.md); a release build loads that file at run
//! time instead of compiling OpenH264 in.
//!
//! The pin is the SHA-256 of the *decompressed library*, not of the `.bz2` download: it is the
//! file that is loaded, so the same check covers the transfer, the decompression and a cached
//! copy damaged later; and it is the hash the `openh264` crate itself checks before loading
//! (`OpenH264API::from_blob_path` refuses any library not in its list), so one published list
//! serves both. Compiled in every build so its tests run in CI.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The OpenH264 release whose binaries `openh264-sys2` 0.9.9 accepts (its `blobs/hashes.txt`
/// lists only 2.6.0 for the current ABI, soversion 8).
pub const OPENH264_VERSION: &str = "2.6.0";

/// The text Cisco's binary licence requires where the user controls the codec (condition 3 of
/// <https://www.openh264.org/BINARY_LICENSE.txt>).
pub const CISCO_NOTICE: &str = "OpenH264 Video Codec provided by Cisco Systems, Inc.";

/// Cisco's licence for the binary, to link from the consent dialog and the about page.
pub const CISCO_LICENSE_URL: &str = "https://www.openh264.org/BINARY_LICENSE.txt";

/// The most a download may be (Cisco's largest 2.6.0 `.bz2` is about 0.65 MB).
pub const MAX_DOWNLOAD_BYTES: u64 = 16 << 20;
/// The most a decompressed library may be (the largest is about 1.8 MB): a bound on a bzip2
/// bomb.
const MAX_LIBRARY_BYTES: u64 = 64 << 20;

/// One platform's Cisco binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiscoBinary {
    /// Where it is downloaded from: Cisco's host, or a mirror (`http(s)://` or `file://`).
    /// A name ending in `.bz2` is decompressed.
    pub url: String,
    /// SHA-256 (lowercase hex) of the decompressed library, the file that is installed and
    /// loaded.
    pub sha256: String,
    /// The installed library's file name in the install directory.
    pub file_name: String,
    /// The download's size, roughly, to tell the user before they agree (not checked).
    pub approx_download_bytes: u64,
}

/// Cisco's 2.6.0 libraries. Library hashes: `openh264-sys2` 0.9.9 `src/blobs/hashes.txt` (the
/// list `from_blob_path` enforces). Sizes: approximate, from public pins of the same files.
const PINS: &[(&str, &str, &str, u64)] = &[
    // (os-arch, library file name, SHA-256 of the library, approximate .bz2 size)
    (
        "linux-x86_64",
        "libopenh264-2.6.0-linux64.8.so",
        "2f0cde7c6a6abcf5cae76942894ea42897fa677bce4ed6c91a24dd1b041d5f04",
        634_000,
    ),
    (
        "linux-aarch64",
        "libopenh264-2.6.0-linux-arm64.8.so",
        "12e7b33623667cdab0e575170c147b1b36eadb77d0d2aa7ceb5afd3e58902140",
        619_000,
    ),
    (
        "macos-aarch64",
        "libopenh264-2.6.0-mac-arm64.dylib",
        "052e98bfcf7a9167d22f3bbb3f5988ef79065591f36af8b52924b22b13624551",
        482_000,
    ),
    (
        "macos-x86_64",
        "libopenh264-2.6.0-mac-x64.dylib",
        "e3dc8bc01fe69363f61fd3c02fd27798537a585eadd38cd808f303d1ee505a19",
        530_000,
    ),
    (
        "windows-x86_64",
        "openh264-2.6.0-win64.dll",
        "2076cb5675ec6c1a4c70e7a2a322552f547b6eeed649d6dfcd9e02a543b24691",
        452_000,
    ),
    (
        "windows-aarch64",
        "openh264-2.6.0-win-arm64.dll",
        "fb75103938f4f47d119b983e06334df41a803bc72fb5c46e3623f6fea5782732",
        378_000,
    ),
];

/// Cisco's download host. It serves plain HTTP; integrity comes from the pinned hash.
const CISCO_HOST: &str = "http://ciscobinary.openh264.org";

impl CiscoBinary {
    /// Cisco's binary for `os` and `arch` (as in `std::env::consts`), if Cisco ships one.
    pub fn for_platform(os: &str, arch: &str) -> Option<Self> {
        let key = format!("{os}-{arch}");
        PINS.iter()
            .find(|(platform, ..)| *platform == key)
            .map(|&(_, file_name, sha256, size)| Self {
                url: format!("{CISCO_HOST}/{file_name}.bz2"),
                sha256: sha256.to_owned(),
                file_name: file_name.to_owned(),
                approx_download_bytes: size,
            })
    }

    /// Cisco's binary for the platform this program was built for.
    pub fn for_this_platform() -> Option<Self> {
        Self::for_platform(std::env::consts::OS, std::env::consts::ARCH)
    }

    /// Every pinned binary, with its `os-arch`.
    pub fn all() -> Vec<(&'static str, Self)> {
        PINS.iter()
            .filter_map(|&(platform, ..)| {
                let (os, arch) = platform.split_once('-')?;
                Some((platform, Self::for_platform(os, arch)?))
            })
            .collect()
    }
}

/// What the user is asked before anything is downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    /// [`CISCO_NOTICE`]: show it where the user agrees (and can later disable the codec).
    pub notice: &'static str,
    /// [`CISCO_LICENSE_URL`].
    pub license_url: &'static str,
    /// The OpenH264 release.
    pub version: &'static str,
    /// Where the file comes from.
    pub url: String,
    /// Its size, roughly.
    pub approx_download_bytes: u64,
}

/// Why Cisco's library is not installed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The user said no; nothing was downloaded.
    #[error("the user did not agree to download Cisco's OpenH264 library; nothing was downloaded")]
    ConsentRefused,
    /// The file's hash is not the pinned one; nothing was installed.
    #[error(
        "the OpenH264 library from {url} was refused: its SHA-256 is {actual}, expected \
         {expected} — the download was damaged or is not Cisco's file; nothing was installed"
    )]
    HashMismatch {
        /// Where it came from.
        url: String,
        /// The pinned hash.
        expected: String,
        /// The hash of what arrived.
        actual: String,
    },
    /// The download failed (network, HTTP status, size, not bzip2).
    #[error("downloading {url} failed: {reason}")]
    Download {
        /// What was fetched.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// Reading or writing the install directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The verified library in `dir`, if it is there; asks nothing and downloads nothing. For the
/// app's start: a copy installed earlier is used without a question.
pub fn installed(binary: &CiscoBinary, dir: &Path) -> Option<PathBuf> {
    let path = dir.join(&binary.file_name);
    let bytes = std::fs::read(&path).ok()?;
    (sha256_hex(&bytes).eq_ignore_ascii_case(&binary.sha256)).then_some(path)
}

/// Installs Cisco's library in `dir` and returns its path. A verified copy already there is
/// returned without asking. Otherwise `consent` is asked (once) with a [`ConsentRequest`]; only
/// on `true` is the file downloaded, decompressed when its name ends in `.bz2`, checked against
/// the pinned SHA-256 and written atomically (temp file + rename). A copy in `dir` that does not
/// match the pin is deleted first, never loaded; no unverified file is ever left in `dir`.
///
/// `download(url, cap)` brings the file's bytes (at most `cap`): the crate does no networking
/// itself (the app fetches over HTTP; tests read a local file). What it brings is not trusted:
/// only the pinned hash decides.
pub fn fetch(
    binary: &CiscoBinary,
    dir: &Path,
    consent: impl FnOnce(&ConsentRequest) -> bool,
    download: impl FnOnce(&str, u64) -> Result<Vec<u8>, String>,
) -> Result<PathBuf, FetchError> {
    let path = dir.join(&binary.file_name);
    if let Some(verified) = installed(binary, dir) {
        return Ok(verified);
    }
    if path.exists() {
        tracing::warn!(path = %path.display(), "installed OpenH264 library fails its hash; removing it");
        std::fs::remove_file(&path).map_err(io_error(&path))?;
    }

    let request = ConsentRequest {
        notice: CISCO_NOTICE,
        license_url: CISCO_LICENSE_URL,
        version: OPENH264_VERSION,
        url: binary.url.clone(),
        approx_download_bytes: binary.approx_download_bytes,
    };
    if !consent(&request) {
        tracing::info!(url = %binary.url, "download of Cisco's OpenH264 refused by the user");
        return Err(FetchError::ConsentRefused);
    }

    tracing::info!(url = %binary.url, "downloading Cisco's OpenH264 library");
    let failed = |reason: String| FetchError::Download {
        url: binary.url.clone(),
        reason,
    };
    let download = download(&binary.url, MAX_DOWNLOAD_BYTES).map_err(failed)?;
    if download.len() as u64 > MAX_DOWNLOAD_BYTES {
        return Err(FetchError::Download {
            url: binary.url.clone(),
            reason: format!("larger than {MAX_DOWNLOAD_BYTES} bytes"),
        });
    }
    let library = if binary.url.ends_with(".bz2") {
        decompress(&binary.url, &download)?
    } else {
        download
    };
    let actual = sha256_hex(&library);
    if !actual.eq_ignore_ascii_case(&binary.sha256) {
        return Err(FetchError::HashMismatch {
            url: binary.url.clone(),
            expected: binary.sha256.to_ascii_lowercase(),
            actual,
        });
    }

    install(&path, dir, &library)?;
    tracing::info!(path = %path.display(), "installed Cisco's OpenH264 library");
    Ok(path)
}

/// Deletes the installed library (the user turned the codec off: Cisco's licence requires that
/// they can). Absent already is fine.
pub fn remove(binary: &CiscoBinary, dir: &Path) -> Result<(), FetchError> {
    let path = dir.join(&binary.file_name);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&path)(e)),
        _ => Ok(()),
    }
}

/// Writes verified bytes beside their final name and renames them into place, so the final
/// name only ever holds a whole, verified file.
fn install(path: &Path, dir: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".openh264-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    temp.write_all(bytes).map_err(io_error(temp.path()))?;
    temp.as_file().sync_all().map_err(io_error(path))?;
    // On error the temp file is deleted when `persist` hands it back and it drops.
    temp.persist(path).map_err(|e| io_error(path)(e.error))?;
    Ok(())
}

fn decompress(url: &str, compressed: &[u8]) -> Result<Vec<u8>, FetchError> {
    let decoder = bzip2::read::MultiBzDecoder::new(compressed);
    read_capped(decoder, MAX_LIBRARY_BYTES).map_err(|e| FetchError::Download {
        url: url.to_owned(),
        reason: format!("not a valid bzip2 file: {e}"),
    })
}

/// Reads all of `reader`, failing past `cap` bytes.
fn read_capped(reader: impl Read, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::other(format!("larger than {cap} bytes")));
    }
    Ok(bytes)
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pin_names_cisco_s_file_and_a_well_formed_hash() {
        let all = CiscoBinary::all();
        assert_eq!(all.len(), PINS.len());
        for (platform, bin) in all {
            assert_eq!(
                bin.url,
                format!("http://ciscobinary.openh264.org/{}.bz2", bin.file_name),
                "{platform}"
            );
            assert!(bin.file_name.contains(OPENH264_VERSION), "{platform}");
            assert_eq!(bin.sha256.len(), 64, "{platform}");
            assert!(
                bin.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{platform}"
            );
        }
        let linux = CiscoBinary::for_platform("linux", "x86_64").expect("pinned");
        assert_eq!(
            linux.url,
            "http://ciscobinary.openh264.org/libopenh264-2.6.0-linux64.8.so.bz2"
        );
        assert_eq!(
            linux.sha256,
            "2f0cde7c6a6abcf5cae76942894ea42897fa677bce4ed6c91a24dd1b041d5f04"
        );
        assert!(CiscoBinary::for_platform("freebsd", "x86_64").is_none());
    }

    #[test]
    fn sha256_of_a_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_bzip2_bomb_is_cut_off() {
        let big = vec![0u8; (MAX_LIBRARY_BYTES + 1) as usize];
        let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        encoder.write_all(&big).expect("compress to memory");
        let compressed = encoder.finish().expect("compress to memory");
        let err = decompress("file:///bomb.bz2", &compressed).expect_err("over the cap");
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
